import Foundation
import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

/// `--shard K/N` (``Shard``): a stable partition of a plan's zones by zone name, honoured by
/// the engine's selection, the policy files, the PTRs, the saved plan and `check`.
final class ShardTests: XCTestCase {
    /// 26 one-domain zones d01…d26.example and, between d13 and d14, the zone big.example
    /// holding four domains: 30 domains in 27 zones. The server host is in d01.example.
    static func planText(extra: [String] = [], dropping: Set<String> = []) -> String {
        var domains = (1...13).map { "  - {name: d\(String(format: "%02d", $0)).example}\n" }
        domains += ["big.example", "sales.big.example", "eu.big.example", "us.big.example"].map { "  - {name: \($0), zone: big.example}\n" }
        domains += (14...26).map { "  - {name: d\(String(format: "%02d", $0)).example}\n" }
        domains = domains.filter { line in !dropping.contains { line.contains("{name: \($0)") } }
        return "version: 1\nserver: {hostname: mail.d01.example, ipv4: 192.0.2.25}\nproviders: {mem: {type: memory}}\ndomains:\n"
            + domains.joined() + extra.joined()
    }

    static let allZones = (1...13).map { "d\(String(format: "%02d", $0)).example" } + ["big.example"]
        + (14...26).map { "d\(String(format: "%02d", $0)).example" }

    /// An engine over the plan with every zone empty at an in-memory provider.
    func engine(_ text: String = ShardTests.planText(), shard: String? = nil,
                reverse: (any ReverseDNSProvider)? = nil) throws -> (Engine, InMemoryProvider) {
        let plan = try loadPlan(text)
        var zones: [DomainName: [RRset]] = [:]
        for d in plan.domains { zones[d.zone] = [] }
        let mem = InMemoryProvider(name: "mem", zones: zones)
        let e = Engine(plan: plan, now: Date(timeIntervalSince1970: 0), makeProvider: { _ in mem },
                       makeReverseProvider: reverse.map { r in { _ in r } })
        e.shard = try shard.map { try Shard(parsing: $0) }
        return (e, mem)
    }

    func zones(_ r: PlanResult) -> [String] { r.zones.map(\.changeset.zone.withoutTrailingDot) }

    func testParsingAndItsErrors() throws {
        XCTAssertEqual(try Shard(parsing: "1/1"), try Shard(index: 1, count: 1))
        let s = try Shard(parsing: "3/7")
        XCTAssertEqual([s.index, s.count], [3, 7])
        XCTAssertEqual(s.description, "3/7")
        XCTAssertEqual(try Shard(parsing: "10000/10000").count, 10_000)
        func message(_ text: String) -> String {
            do { _ = try Shard(parsing: text); return "parsed" } catch { return error.description }
        }
        let form = "expected K/N, shard K of N with 1 ≤ K ≤ N (e.g. 1/4)"
        XCTAssertEqual(message(""), "'': " + form)
        XCTAssertEqual(message("2"), "'2': " + form)
        XCTAssertEqual(message("abc"), "'abc': " + form)
        XCTAssertEqual(message("1/"), "'1/': " + form)
        XCTAssertEqual(message("/4"), "'/4': " + form)
        XCTAssertEqual(message("1/4/5"), "'1/4/5': " + form)
        XCTAssertEqual(message("-1/4"), "'-1/4': " + form)
        XCTAssertEqual(message("+1/4"), "'+1/4': " + form)
        XCTAssertEqual(message(" 1/4"), "' 1/4': " + form)
        XCTAssertEqual(message("1.5/4"), "'1.5/4': " + form)
        XCTAssertEqual(message("1/99999999999"), "'1/99999999999': " + form)
        XCTAssertEqual(message("0/4"), "'0/4': K must be from 1 to 4 (shard K of N)")
        XCTAssertEqual(message("5/4"), "'5/4': K must be from 1 to 4 (shard K of N)")
        XCTAssertEqual(message("1/0"), "'1/0': N (the number of shards) must be from 1 to 10000")
        XCTAssertEqual(message("1/10001"), "'1/10001': N (the number of shards) must be from 1 to 10000")
        XCTAssertEqual(message("04/07"), "parsed")
    }

    /// The documented formula, against values computed outside Swift
    /// (`printf %s example.com | sha256sum`: a379a6f6eeafb9a5…).
    func testTheShardOfAZoneIsTheDocumentedSHA256Formula() throws {
        XCTAssertEqual(UInt64("a379a6f6eeafb9a5", radix: 16)! % 7 + 1, 6)
        XCTAssertEqual([1, 2, 3, 7].map { Shard.number(ofZone: dn("example.com"), count: $0) }, [1, 2, 2, 6])
        // The apex as written in the plan does not matter: lower-case A-labels, no trailing dot.
        XCTAssertEqual([2, 3, 7].map { Shard.number(ofZone: dn("Example.COM."), count: $0) }, [2, 2, 6])
        XCTAssertEqual([2, 3, 7].map { Shard.number(ofZone: dn("bücher.example"), count: $0) }, [1, 2, 4])
        XCTAssertEqual([2, 3, 7].map { Shard.number(ofZone: dn("xn--bcher-kva.example"), count: $0) }, [1, 2, 4])
        XCTAssertTrue(try Shard(parsing: "6/7").contains(zone: dn("example.com")))
        XCTAssertFalse(try Shard(parsing: "5/7").contains(zone: dn("example.com")))
    }

    func testTheShardsPartitionThePlanExactlyWithNoOverlap() throws {
        let (whole, wholeMem) = try engine()
        let all = try whole.makePlan()
        XCTAssertEqual(zones(all), Self.allZones)
        XCTAssertEqual(wholeMem.reads, 27)
        let allChanges = Dictionary(uniqueKeysWithValues: all.zones.map { ($0.changeset.zone, $0.changeset.changes) })
        // Exact parts (computed with Python's hashlib), each in plan order.
        let expected: [Int: [[String]]] = [
            1: [Self.allZones],
            3: [["d03", "d05", "d07", "d09", "d13", "big", "d14", "d19", "d25"],
                ["d02", "d04", "d08", "d10", "d12", "d17", "d18", "d26"],
                ["d01", "d06", "d11", "d15", "d16", "d20", "d21", "d22", "d23", "d24"]].map { $0.map { $0 + ".example" } },
            7: [["d05", "d06", "d07", "d16", "d17", "d24"], ["d10", "d14", "d21", "d22"], ["d12", "d20"], ["d03", "d13"],
                ["d18", "d19", "d25", "d26"], ["d01", "d04", "big"], ["d02", "d08", "d09", "d11", "d15", "d23"]].map { $0.map { $0 + ".example" } },
        ]
        for n in [1, 2, 3, 7] {
            var union: [String] = []
            for k in 1...n {
                let (e, mem) = try engine(shard: "\(k)/\(n)")
                let r = try e.makePlan()
                if let parts = expected[n] { XCTAssertEqual(zones(r), parts[k - 1], "\(k)/\(n)") }
                XCTAssertEqual(mem.reads, r.zones.count, "\(k)/\(n) reads only its own zones")
                for z in r.zones { XCTAssertEqual(z.changeset.changes, allChanges[z.changeset.zone], "\(k)/\(n) \(z.changeset.zone)") }
                union += zones(r)
            }
            XCTAssertEqual(union.count, 27, "no zone in two shards of \(n)")
            XCTAssertEqual(union.sorted(), Self.allZones.sorted(), "the \(n) shards together are the whole plan")
        }
        XCTAssertEqual(try (1...2).map { try engine(shard: "\($0)/2").0.makePlan().zones.count }, [15, 12])
        // The four domains of big.example travel together: its MX for each of them.
        let (six, _) = try engine(shard: "6/7")
        let big = try six.makePlan().zones.first { $0.changeset.zone == dn("big.example") }
        XCTAssertEqual(big?.changeset.changes.filter { $0.key.type == .mx }.map(\.key.name.fqdn),
                       ["big.example.", "eu.big.example.", "sales.big.example.", "us.big.example."])
    }

    func testTargetsAndShardTogether() throws {
        let (e, _) = try engine(shard: "6/7")
        XCTAssertEqual(zones(try e.makePlan(targets: ["sales.big.example", "d05.example", "d04.example"])), ["d04.example", "big.example"])
        // A target is checked against the whole plan, not the shard.
        XCTAssertThrowsError(try e.makePlan(targets: ["d99.example"])) { err in
            XCTAssertTrue("\(err)".hasPrefix("error: --target d99.example: not a domain or zone of test.yaml; did you mean '"), "\(err)")
        }
    }

    func testAddingOrRemovingDomainsMovesNoOtherZone() throws {
        func assignment(_ text: String, _ n: Int) throws -> [String: Int] {
            var out: [String: Int] = [:]
            for k in 1...n { for z in zones(try engine(text, shard: "\(k)/\(n)").0.makePlan()) { out[z] = k } }
            return out
        }
        let grown = Self.planText(extra: ["  - {name: d27.example}\n", "  - {name: new.example}\n", "  - {name: extra.big.example, zone: big.example}\n"])
        let shrunk = Self.planText(dropping: ["d02.example", "sales.big.example", "d20.example"])
        for n in [2, 3, 7] {
            let before = try assignment(Self.planText(), n)
            let after = try assignment(grown, n)
            XCTAssertEqual(after.filter { before[$0.key] != nil }, before, "adding moved a zone (N = \(n))")
            XCTAssertEqual(after.count, 29)
            let placed: [Int: [Int]] = [2: [2, 1], 3: [1, 3], 7: [5, 5]]
            XCTAssertEqual([after["d27.example"] ?? 0, after["new.example"] ?? 0], placed[n], "d27.example and new.example (N = \(n))")
            let less = try assignment(shrunk, n)
            XCTAssertEqual(before.filter { less[$0.key] != nil }, less, "removing moved a zone (N = \(n))")
            XCTAssertEqual(less.count, 25)
        }
    }

    func testAShardWithoutZonesPlansNothingAndSaysSo() throws {
        let (e, mem) = try engine(shard: "1/11")
        let r = try e.makePlan()
        XCTAssertEqual(r.zones.count, 0)
        XCTAssertFalse(r.hasChanges)
        XCTAssertEqual(mem.reads, 0)
        XCTAssertEqual(e.emptyShardNote, "no zones in shard 1/11 (the plan's 27 zones are in the other shards)")
        XCTAssertNil(try engine(shard: "2/11").0.emptyShardNote)
        XCTAssertNil(try engine().0.emptyShardNote)
        let one = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {mem: {type: memory}}\ndomains:\n  - {name: example.com}\n"
        XCTAssertEqual(try engine(one, shard: "1/2").0.emptyShardNote, "no zones in shard 1/2 (the plan's 1 zone is in the other shards)")
        XCTAssertNil(try engine(one, shard: "2/2").0.emptyShardNote)
    }

    /// The server-wide parts (PTRs, the server checks) run in exactly one shard: that of
    /// server.hostname's zone (d01.example: 3/3, 6/7), else shard 1.
    func testServerPartsRunInExactlyOneShard() throws {
        for (n, owner) in [(1, 1), (3, 3), (7, 6)] {
            let owners = try (1...n).filter { try engine(shard: "\($0)/\(n)").0.runsServerParts(targets: [], zones: []) }
            XCTAssertEqual(owners, [owner], "N = \(n)")
        }
        let elsewhere = Self.planText().replacingOccurrences(of: "hostname: mail.d01.example", with: "hostname: mail.example.net")
        XCTAssertEqual(try (1...7).filter { try engine(elsewhere, shard: "\($0)/7").0.runsServerParts(targets: [], zones: []) }, [1])
        XCTAssertTrue(try engine().0.runsServerParts(targets: [], zones: []))

        // The PTRs of server.reverse are read (and so set) only by that shard.
        final class PTRs: ReverseDNSProvider, @unchecked Sendable {
            let instanceName = "rev", typeName = "memory-ptr"
            var reads = 0
            func readPTR(_ ip: IPAddress) throws -> DomainName? { reads += 1; return nil }
            func setPTR(_ ip: IPAddress, to name: DomainName) throws {}
        }
        let withReverse = Self.planText()
            .replacingOccurrences(of: "ipv4: 192.0.2.25}", with: "ipv4: 192.0.2.25, reverse: {provider: rev}}")
            .replacingOccurrences(of: "providers: {mem: {type: memory}}", with: "providers: {mem: {type: memory}, rev: {type: memory-ptr}}")
            .replacingOccurrences(of: "example}\n", with: "example, provider: mem}\n")
        for k in 1...7 {
            let ptrs = PTRs()
            let r = try engine(withReverse, shard: "\(k)/7", reverse: ptrs).0.makePlan()
            XCTAssertEqual(r.reverseConfigured, k == 6, "\(k)/7")
            XCTAssertEqual(r.reverse.map(\.ip.description), k == 6 ? ["192.0.2.25"] : [], "\(k)/7")
            XCTAssertEqual(ptrs.reads, k == 6 ? 1 : 0, "\(k)/7")
        }
    }

    func testPolicyFilesBelongToTheShardOfTheirDomain() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let text = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {mem: {type: memory}}\ndomains:\n"
            + ["d01", "d02", "d03"].map { "  - {name: \($0).example, mta_sts: {mode: testing, policy_file: \($0).txt}}\n" }.joined()
        let plan = try PlanLoader(environment: [:]).load(text: text, file: "test.yaml", baseDirectory: dir)
        let mem = InMemoryProvider(name: "mem", zones: Dictionary(uniqueKeysWithValues: plan.domains.map { ($0.zone, []) }))
        // d03 is in shard 1/3, d02 in 2/3, d01 in 3/3.
        for (k, files) in [(1, ["d03.txt"]), (2, ["d02.txt"]), (3, ["d01.txt"])] {
            let e = Engine(plan: plan, now: Date(timeIntervalSince1970: 0), makeProvider: { _ in mem })
            e.shard = try Shard(index: k, count: 3)
            let r = try e.makePlan()
            XCTAssertEqual(r.files.map { URL(fileURLWithPath: $0.path).lastPathComponent }, files, "\(k)/3")
        }
    }

    func testASavedPlanRecordsItsShardAndIsCheckedAgainstIt() throws {
        let (e, mem) = try engine(shard: "6/7")
        let result = try e.makePlan()
        let saved = try SavedPlan(result: result, plan: e.plan, targets: [], shard: e.shard, allowed: [], now: Date(timeIntervalSince1970: 0))
        let json = try saved.json()
        XCTAssertTrue(json.contains("\n  \"shard\" : \"6/7\",\n"), json)
        let decoded = try XCTUnwrap(try SavedPlan.detect(Data(json.utf8), file: "plan.json"))
        XCTAssertEqual(decoded.shard, try Shard(parsing: "6/7"))
        XCTAssertEqual(decoded.zones.map(\.changeset.zone.withoutTrailingDot), ["d01.example", "d04.example", "big.example"])
        // Checked with the saved shard whatever the engine's, which is left as it was.
        let (other, _) = try engine(shard: "1/7")
        XCTAssertEqual(try other.staleness(of: decoded), [])
        XCTAssertEqual(other.shard, try Shard(parsing: "1/7"))
        let (unsharded, _) = try engine()
        XCTAssertEqual(try unsharded.staleness(of: decoded), [])
        XCTAssertNil(unsharded.shard)
        XCTAssertEqual(mem.reads, 3)
        // Without a shard there is no key at all (saved plans of every zone are as before).
        let whole = try SavedPlan(result: try unsharded.makePlan(), plan: unsharded.plan, targets: [], allowed: [], now: Date(timeIntervalSince1970: 0))
        XCTAssertFalse(try whole.json().contains("\"shard\""))
        XCTAssertNil(try SavedPlan.detect(Data(try whole.json().utf8), file: "plan.json")?.shard)
        // A saved shard that is not K/N does not decode.
        let bad = json.replacingOccurrences(of: "\"6/7\"", with: "\"8/7\"")
        XCTAssertThrowsError(try SavedPlan.detect(Data(bad.utf8), file: "plan.json")) { err in
            XCTAssertTrue("\(err)".contains("plan.json: the saved plan does not decode: "), "\(err)")
            XCTAssertTrue("\(err)".contains("'8/7': K must be from 1 to 7 (shard K of N)"), "\(err)")
        }
    }

    func testCheckLooksAtTheDomainsOfItsShard() throws {
        let plan = try loadPlan(Self.planText())
        var c = Checker(plan: plan, live: LiveDNS(settings: plan.dns), now: Date())
        XCTAssertEqual(c.domains.count, 30)
        c.shard = try Shard(parsing: "6/7")
        XCTAssertEqual(c.domains.map(\.name.withoutTrailingDot),
                       ["d01.example", "d04.example", "big.example", "sales.big.example", "eu.big.example", "us.big.example"])
        var union: [String] = []
        for k in 1...7 { c.shard = try Shard(index: k, count: 7); union += c.domains.map(\.name.withoutTrailingDot) }
        XCTAssertEqual(union.sorted(), plan.domains.map(\.name.withoutTrailingDot).sorted())
    }
}
