import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Values mailplan does not own stay exactly as they were (issue 12), against the real
/// PowerDNS through the real binary: TXT character-strings byte for byte next to the SPF
/// value, and a colleague's edit made while `apply` waits at its prompt.
final class ForeignValuesPowerDNSTests: XCTestCase {
    var pdns: PDNSServer!
    var zones: [DomainName] = []
    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    static let foreign = ForeignTXT.values

    func makeZone(_ prefix: String, extra: [RData] = []) throws -> DomainName {
        let z = uniqueZone(prefix)
        zones.append(z)
        try pdns.createZone(z, [RRset(name: z, type: .txt, ttl: 3600, rdata: Self.foreign.map(RData.txt) + extra + [.txt("v=spf1 a -all")])])
        return z
    }

    func planFile(_ domains: [DomainName], writeConcurrency: Int? = nil) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("foreign-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("plan.yaml").path
        try """
        version: 1
        server: {hostname: mail.\(domains[0].withoutTrailingDot), ipv4: 192.0.2.25}
        providers:
          pdns: {type: powerdns, url: "\(pdns.url.absoluteString)", api_key: "${PDNS_KEY}"\(writeConcurrency.map { ", write_concurrency: \($0)" } ?? "")}
        domains:
        \(domains.map { "  - {name: \($0.withoutTrailingDot), provider: pdns, spf: {senders: [mx]}}" }.joined(separator: "\n"))

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    var env: [String: String] { ["PDNS_KEY": pdns.key] }

    /// The apex TXT as PowerDNS serves it, over DNS: each value as its wire strings.
    func served(_ z: DomainName) throws -> Set<TXTData> {
        let r = Resolver(options: ResolverOptions(timeout: 2, attempts: 2, recursionDesired: false))
        let a = try r.query(z, .txt, at: pdns.dns)
        return Set(a.answerRecords.compactMap { if case .txt(let t) = $0.rdata { return t } else { return nil } })
    }

    func testForeignValuesAreByteIdenticalOnTheWireAfterAnSPFChange() throws {
        let z = try makeZone("fv")
        let plan = try planFile([z])
        let first = try runMailplan(["plan", plan, "--no-color"], env: env)
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(first.stdout, """
        mailplan will perform the following actions:

          # zone \(z.fqdn) (provider pdns, powerdns)
          + \(z.fqdn) MX ttl 3600
              + 10 mail.\(z.fqdn)
          + mail.\(z.fqdn) A ttl 3600
              + 192.0.2.25
          ~ \(z.fqdn) TXT ttl 3600
        \(ForeignTXT.planLines)

        Plan: 2 to add, 1 to change, 0 to destroy.

        """)
        let apply = try runMailplan(["apply", plan, "--auto-approve", "--no-color"], env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        try pdns.flushCache(z)
        XCTAssertEqual(try served(z), Set(Self.foreign + [TXTData("v=spf1 mx -all")]))
        let again = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
    }

    /// A colleague adds a verification token at the apex while apply waits for "yes": that
    /// zone is not written (PowerDNS's REPLACE would have deleted the token), the other zone
    /// is, apply exits 1 naming the RRset and both values, and a new plan keeps the token.
    func testAColleaguesEditDuringThePromptIsNotLost() throws {
        let a = try makeZone("ca"), b = try makeZone("cb")
        // Two zones at a time, so zone b is being written when zone a fails (one at a time,
        // the default, would leave b not attempted).
        let plan = try planFile([a, b], writeConcurrency: 2)
        let p = Process()
        p.executableURL = mailplanBinary()
        p.arguments = ["apply", plan, "--no-color"]
        p.environment = ProcessInfo.processInfo.environment.merging(env) { _, n in n }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        // Read until the prompt, then edit the zone as a colleague would, then answer.
        var shown = Data()
        let deadline = Date().addingTimeInterval(30)
        while !String(decoding: shown, as: UTF8.self).contains("Enter a value: "), Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            shown += chunk
        }
        XCTAssertTrue(String(decoding: shown, as: UTF8.self).contains("Enter a value: "))
        let withToken = RRset(name: a, type: .txt, ttl: 3600,
                              rdata: Self.foreign.map(RData.txt) + [.txt("colleague-verification=42"), .txt("v=spf1 a -all")])
        try pdns.replace(a, [withToken])
        inp.fileHandleForWriting.write(Data("yes\n".utf8))
        try inp.fileHandleForWriting.close()
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 1, stderr)
        XCTAssertTrue(String(decoding: rest, as: UTF8.self).hasSuffix("Apply failed. Applied: 1 added, 1 changed, 0 destroyed; run 'mailplan plan' to see what is left.\n"),
                      String(decoding: rest, as: UTF8.self))
        let shownA = "ttl 3600 \"\", \"a\\000b\", \"caf\\195\\169\" \"\\255\\128\" \"\", \"google-site-verification=tok123\", \"txtvers=1\" \"path=/x\" \"k=v\", \"v=spf1 a -all\""
        // Two zones at a time: the two progress lines come in either order.
        let lines = stderr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(Set(lines.prefix(2)), ["\(a.fqdn): applying 3 changes at pdns (powerdns)", "\(b.fqdn): applying 2 changes at pdns (powerdns)"])
        XCTAssertEqual(lines.dropFirst(2).joined(separator: "\n"), """
        error: provider pdns, zone \(a.fqdn): changed since the plan was made: \(a.fqdn) TXT is now ttl 3600 "", "a\\000b", "caf\\195\\169" "\\255\\128" "", "colleague-verification=42", "google-site-verification=tok123", "txtvers=1" "path=/x" "k=v", "v=spf1 a -all" (the plan was made from \(shownA)); nothing was written to this zone: re-run mailplan plan
          failed:        update \(a.fqdn) TXT
          not attempted: create \(a.fqdn) MX
          not attempted: create mail.\(a.fqdn) A

        """)
        // Zone a is exactly as the colleague left it; zone b got its changes.
        try pdns.flushCache(a); try pdns.flushCache(b)
        XCTAssertEqual(try served(a), Set(Self.foreign + [TXTData("colleague-verification=42"), TXTData("v=spf1 a -all")]))
        XCTAssertEqual(try served(b), Set(Self.foreign + [TXTData("v=spf1 mx -all")]))
        // A new plan shows the change with the colleague's value kept.
        let again = try runMailplan(["plan", plan, "--no-color"], env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("""
          ~ \(a.fqdn) TXT ttl 3600
                ""
                "a\\000b"
                "caf\\195\\169" "\\255\\128" ""
                "colleague-verification=42"
                "google-site-verification=tok123"
                "txtvers=1" "path=/x" "k=v"
              - "v=spf1 a -all"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 6 TXT values are kept
        """), again.stdout)
        XCTAssertTrue(again.stdout.hasSuffix("Plan: 2 to add, 1 to change, 0 to destroy.\n"), again.stdout)
    }
}
