import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// `--shard K/N` through the real binary: plan, apply, saved plans and check over zone files
/// (and PowerDNS for check), with exact exit codes and messages.
final class ShardCLITests: XCTestCase {
    /// Five zones a…e.example, each its own zone file; a.example also holds shop.a.example.
    /// Shards (SHA-256 of the apex): N=2 {a, c} {b, d, e}; N=3 {a, b, c, d} {} {e};
    /// N=4 {c} {d, e} {a} {b}.
    func writePlan() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-shard-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("zones"), withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        var providers = "", domains = ""
        for z in ["a", "b", "c", "d", "e"] {
            try """
            $ORIGIN \(z).example.
            $TTL 3600
            @ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600
            @ IN NS ns1.example.net.

            """.write(to: dir.appendingPathComponent("zones/\(z).zone"), atomically: true, encoding: .utf8)
            providers += "  z\(z): {type: zonefile, path: zones/\(z).zone}\n"
            domains += "  - {name: \(z).example, provider: z\(z), dmarc: {policy: none}}\n"
            if z == "a" { domains += "  - {name: shop.a.example, zone: a.example, provider: za}\n" }
        }
        let plan = dir.appendingPathComponent("plan.yaml")
        try "version: 1\nserver: {hostname: mail.a.example, ipv4: 192.0.2.25}\nproviders:\n\(providers)domains:\n\(domains)"
            .write(to: plan, atomically: true, encoding: .utf8)
        return plan
    }

    func zonesJSON(_ stdout: String) throws -> [NSDictionary] {
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
        return try XCTUnwrap(doc["zones"] as? [NSDictionary])
    }

    func testTheShardsOfAPlanAreTheWholePlanWithNoOverlap() throws {
        let plan = try writePlan().path
        let whole = try runMailplan(["plan", plan, "--json", "--detailed-exitcode"])
        XCTAssertEqual(whole.status, 2, whole.stderr)
        let all = try zonesJSON(whole.stdout)
        XCTAssertEqual(all.map { $0["zone"] as? String }, ["a.example.", "b.example.", "c.example.", "d.example.", "e.example."])
        let expected: [Int: [[String]]] = [2: [["a", "c"], ["b", "d", "e"]], 3: [["a", "b", "c", "d"], [], ["e"]], 4: [["c"], ["d", "e"], ["a"], ["b"]]]
        for (n, parts) in expected {
            var union: [NSDictionary] = []
            for k in 1...n {
                let r = try runMailplan(["plan", plan, "--json", "--detailed-exitcode", "--shard", "\(k)/\(n)"])
                let zones = try zonesJSON(r.stdout)
                XCTAssertEqual(zones.map { $0["zone"] as? String }, parts[k - 1].map { "\($0).example." }, "\(k)/\(n)")
                XCTAssertEqual(r.status, parts[k - 1].isEmpty ? 0 : 2, "\(k)/\(n): \(r.stderr)")
                XCTAssertEqual(r.stderr, parts[k - 1].isEmpty ? "note: no zones in shard \(k)/\(n) (the plan's 5 zones are in the other shards)\n" : "", "\(k)/\(n)")
                union += zones
            }
            XCTAssertEqual(union.count, all.count, "no zone in two of \(n) shards")
            XCTAssertEqual(union.sorted { ($0["zone"] as! String) < ($1["zone"] as! String) }, all, "the \(n) shards are the whole plan")
        }
        // The text plan of a shard without zones.
        let empty = try runMailplan(["plan", plan, "--shard", "2/3", "--no-color"])
        XCTAssertEqual(empty.status, 0)
        XCTAssertEqual(empty.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(empty.stderr, "note: no zones in shard 2/3 (the plan's 5 zones are in the other shards)\n")
        // --shard 1/1 is the whole plan, byte for byte.
        let one = try runMailplan(["plan", plan, "--json", "--shard", "1/1"])
        XCTAssertEqual(one.stdout, whole.stdout)
    }

    func testApplyWritesOnlyTheZonesOfItsShard() throws {
        let plan = try writePlan()
        let zones = plan.deletingLastPathComponent().appendingPathComponent("zones")
        func bytes(_ z: String) throws -> Data { try Data(contentsOf: zones.appendingPathComponent("\(z).zone")) }
        let before = try ["a", "b", "c", "d", "e"].map(bytes)
        let empty = try runMailplan(["apply", plan.path, "--shard", "2/3", "--auto-approve", "--no-color"])
        XCTAssertEqual(empty.status, 0, empty.stderr)
        XCTAssertEqual(empty.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(empty.stderr, "note: no zones in shard 2/3 (the plan's 5 zones are in the other shards)\n")
        XCTAssertEqual(try ["a", "b", "c", "d", "e"].map(bytes), before)

        let two = try runMailplan(["apply", plan.path, "--shard", "2/4", "--auto-approve", "--no-color"])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stdout.hasSuffix("Apply complete! Records: 4 added, 0 changed, 0 destroyed.\n"), two.stdout)
        let after = try ["a", "b", "c", "d", "e"].map(bytes)
        XCTAssertEqual([0, 1, 2, 3, 4].map { after[$0] == before[$0] }, [true, true, true, false, false], "only d and e (shard 2/4) were written")
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--shard", "2/4", "--detailed-exitcode"]).status, 0)
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--shard", "1/4", "--detailed-exitcode"]).status, 2)
    }

    func testASavedPlanKeepsItsShard() throws {
        let plan = try writePlan()
        let saved = plan.deletingLastPathComponent().appendingPathComponent("saved.json").path
        let made = try runMailplan(["plan", plan.path, "--shard", "4/4", "--out", saved, "--no-color"])
        XCTAssertEqual(made.status, 0, made.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: saved))) as? [String: Any])
        XCTAssertEqual(doc["shard"] as? String, "4/4")
        XCTAssertEqual((doc["zones"] as? [[String: Any]])?.count, 1)
        let show = try runMailplan(["show", saved, "--no-color"])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.hasPrefix("Saved plan of \(plan.standardizedFileURL.path), made "), show.stdout)
        XCTAssertTrue(show.stdout.split(separator: "\n").first?.hasSuffix(" for --shard 4/4.") == true, show.stdout)

        let again = try runMailplan(["apply", saved, "--shard", "4/4"])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stderr, "error: --shard cannot be used with a saved plan: it applies the zones of the shard it was made for (4/4)\n")
        let b = plan.deletingLastPathComponent().appendingPathComponent("zones/b.zone")
        let bBefore = try Data(contentsOf: b)
        let apply = try runMailplan(["apply", saved, "--no-color"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stderr.split(separator: "\n").filter { $0.hasPrefix("note:") }, [])
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 2 added, 0 changed, 0 destroyed.\n"), apply.stdout)
        XCTAssertNotEqual(try Data(contentsOf: b), bBefore)
        // Only b.example (shard 4/4) changed: the rest still plans changes.
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--shard", "4/4", "--detailed-exitcode"]).status, 0)
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--shard", "3/4", "--detailed-exitcode"]).status, 2)

        // A saved plan of a shard without zones applies nothing, and says why.
        let none = plan.deletingLastPathComponent().appendingPathComponent("none.json").path
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--shard", "2/3", "--out", none]).status, 0)
        let nothing = try runMailplan(["apply", none, "--no-color"])
        XCTAssertEqual(nothing.status, 0, nothing.stderr)
        XCTAssertEqual(nothing.stderr, "note: no zones in shard 2/3 (the plan's 5 zones are in the other shards)\n")
        // A saved plan of every zone refuses --shard too.
        let every = plan.deletingLastPathComponent().appendingPathComponent("every.json").path
        XCTAssertEqual(try runMailplan(["plan", plan.path, "--out", every]).status, 0)
        XCTAssertEqual(try runMailplan(["apply", every, "--shard", "1/2"]).stderr,
                       "error: --shard cannot be used with a saved plan: it applies the zones of the shard it was made for (every zone)\n")
    }

    func testABadShardIsAUsageErrorForPlanApplyAndCheck() throws {
        let plan = try writePlan().path
        let cases: [(String, String)] = [
            ("0/4", "'0/4': K must be from 1 to 4 (shard K of N)"),
            ("5/4", "'5/4': K must be from 1 to 4 (shard K of N)"),
            ("1/0", "'1/0': N (the number of shards) must be from 1 to 10000"),
            ("two", "'two': expected K/N, shard K of N with 1 ≤ K ≤ N (e.g. 1/4)"),
            ("1/2/3", "'1/2/3': expected K/N, shard K of N with 1 ≤ K ≤ N (e.g. 1/4)"),
        ]
        for cmd in ["plan", "apply", "check"] {
            for (value, message) in cases {
                let r = try runMailplan([cmd, plan, "--shard", value])
                XCTAssertEqual(r.status, 1, "\(cmd) --shard \(value)")
                XCTAssertEqual(r.stdout, "")
                XCTAssertEqual(r.stderr, "error: --shard \(message)\nRun 'mailplan --help' for usage.\n", "\(cmd) --shard \(value)")
            }
        }
    }
}

/// `check --shard` against the real PowerDNS: the domains of each shard, the server checks in
/// exactly one shard, and together exactly the findings of the whole check.
final class ShardCheckCLITests: XCTestCase {
    var pdns: PDNSServer!
    var zones: [DomainName] = []
    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    func testCheckShardsSplitTheDomainFindingsAndRunTheServerChecksOnce() throws {
        // Two mail zones in different shards of 2 (names are random: draw until they differ).
        let z1 = uniqueZone()
        var z2 = uniqueZone()
        while Shard.number(ofZone: z2, count: 2) == Shard.number(ofZone: z1, count: 2) { z2 = uniqueZone() }
        let rev = try DomainName("2.0.192.in-addr.arpa")
        let host = "mail.\(z1.fqdn)"
        for z in [z1, z2] {
            try pdns.createZone(z, [rrset("@", z, .mx, 300, ["10 \(host)"]), rrset("@", z, .txt, 300, ["v=spf1 mx -all"]),
                                    rrset("_dmarc", z, .txt, 300, ["v=DMARC1; p=reject"])]
                                   + (z == z1 ? [rrset("mail", z, .a, 300, ["192.0.2.25"])] : []))
        }
        try pdns.createZone(rev, [rrset("25", rev, .ptr, 300, [host])])
        zones += [z1, z2, rev]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-shard-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: \(host), ipv4: 192.0.2.25}
        providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
        dns: {resolvers: ["${MAILPLAN_PDNS_DNS}"], timeout: 1}
        check: {dnsbl: {ip: [], domain: []}}
        domains:
          - {name: \(z1.withoutTrailingDot), spf: {senders: [mx]}, dmarc: {policy: reject}}
          - {name: \(z2.withoutTrailingDot), spf: {senders: [mx]}, dmarc: {policy: reject}}
        """.write(to: plan, atomically: true, encoding: .utf8)

        func findings(_ extra: [String]) throws -> [Finding] {
            let r = try runMailplan(["check", plan.path, "--json"] + extra)
            XCTAssertEqual(r.status, 0, "\(extra): \(r.stdout)\(r.stderr)")
            XCTAssertEqual(r.stderr, "")
            return try JSONDecoder().decode(CheckDocument.self, from: Data(r.stdout.utf8)).findings
        }
        let whole = try findings([])
        let serverShard = Shard.number(ofZone: z1, count: 2)
        func subjects(_ f: [Finding]) -> [String] { f.map { "\($0.check) \($0.subject)" } }
        XCTAssertEqual(subjects(whole), ["fcrdns 192.0.2.25", "dnsbl resolvers",
                                         "mx \(z1.withoutTrailingDot)", "spf \(z1.withoutTrailingDot)", "dmarc _dmarc.\(z1.fqdn)",
                                         "mx \(z2.withoutTrailingDot)", "spf \(z2.withoutTrailingDot)", "dmarc _dmarc.\(z2.fqdn)",
                                         "delegation \(z1.fqdn)", "delegation \(z2.fqdn)"])
        var union: [Finding] = []
        for k in 1...2 {
            let part = try findings(["--shard", "\(k)/2"])
            let z = k == serverShard ? z1 : z2
            let server = k == serverShard ? ["fcrdns 192.0.2.25"] : []
            XCTAssertEqual(subjects(part), server + ["dnsbl resolvers", "mx \(z.withoutTrailingDot)", "spf \(z.withoutTrailingDot)",
                                                     "dmarc _dmarc.\(z.fqdn)", "delegation \(z.fqdn)"], "\(k)/2")
            union += part
        }
        // Together exactly the whole check's findings (the informational resolver line is in both).
        let info = whole.first { $0.subject == "resolvers" }!
        XCTAssertEqual(Set(union), Set(whole))
        XCTAssertEqual(union.count, whole.count + 1)
        XCTAssertEqual(union.filter { $0 == info }.count, 2)
    }
}
