import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// `mailplan check` through the real binary against the real PowerDNS: exit 0 when all
/// passes, 2 with findings (table and --json), 1 when it cannot run.
final class CheckCLITests: XCTestCase {
    var pdns: PDNSServer!
    var zones: [DomainName] = []
    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    func writePlan(_ z: DomainName, bl: DomainName, dmarc: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-check-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: mail.\(z.fqdn), ipv4: 192.0.2.25}
        providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
        dns: {resolvers: ["${MAILPLAN_PDNS_DNS}"], timeout: 1}
        check: {dnsbl: {ip: [\(bl.withoutTrailingDot)], domain: []}}
        domains:
          - name: \(z.withoutTrailingDot)
            spf: {senders: [mx]}
            dmarc: {policy: \(dmarc)}
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// A mail zone whose check passes (MX, A, SPF, DMARC p=reject), an empty blocklist zone,
    /// and the PTR of 192.0.2.25; removed in tearDown.
    func healthyZones() throws -> (zone: DomainName, blocklist: DomainName, host: String) {
        let z = uniqueZone(), bl = uniqueZone("bl"), rev = try DomainName("2.0.192.in-addr.arpa")
        let host = "mail.\(z.fqdn)"
        try pdns.createZone(z, [rrset("@", z, .mx, 300, ["10 \(host)"]), rrset("mail", z, .a, 300, ["192.0.2.25"]),
                                rrset("@", z, .txt, 300, ["v=spf1 mx -all"]), rrset("_dmarc", z, .txt, 300, ["v=DMARC1; p=reject"])])
        try pdns.createZone(bl, [])
        try pdns.createZone(rev, [rrset("25", rev, .ptr, 300, [host])])
        zones += [z, bl, rev]
        return (z, bl, host)
    }

    func testCheckExitCodesTableAndJSON() throws {
        let (z, bl, host) = try healthyZones()

        let good = try runMailplan(["check", try writePlan(z, bl: bl, dmarc: "reject").path, "--no-color"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        let d = z.withoutTrailingDot
        let w = z.fqdn.count + 7   // the widest subject is _dmarc.<zone>
        func row(_ status: String, _ check: String, _ subject: String, _ message: String) -> String {
            status.padding(toLength: 6, withPad: " ", startingAt: 0) + "  " + check.padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                + subject.padding(toLength: w, withPad: " ", startingAt: 0) + "  " + message + "\n"
        }
        XCTAssertEqual(good.stdout, row("STATUS", "CHECK", "SUBJECT", "MESSAGE")
            + row("OK", "fcrdns", "192.0.2.25", "PTR is \(host) and \(host) A holds 192.0.2.25")
            + row("OK", "dnsbl", "192.0.2.25", "not listed on \(bl.withoutTrailingDot)")
            + row("INFO", "dnsbl", "resolvers", "blocklist operators may refuse queries that come through large public resolvers; such answers are reported as not checked, never as listed")
            + row("OK", "mx", d, "MX 10 \(host) resolves")
            + row("OK", "spf", d, "1 DNS lookup (limit 10): mx (in \(d))")
            + row("OK", "dmarc", "_dmarc.\(z.fqdn)", "valid, p=reject")
            + row("INFO", "delegation", z.fqdn, "not checked: no server for the parent zone is configured (dns.authoritative) or discoverable (dns.resolvers)")
            + "\nCheck: 5 ok, 0 warnings, 0 errors.\n")

        let bad = try runMailplan(["check", try writePlan(z, bl: bl, dmarc: "quarantine").path, "--json"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        let doc = try JSONDecoder().decode(CheckDocument.self, from: Data(bad.stdout.utf8))
        XCTAssertEqual([doc.counts.ok, doc.counts.info, doc.counts.warning, doc.counts.error], [4, 2, 0, 1])
        XCTAssertEqual(doc.findings.filter(\.isProblem), [
            Finding(.error, "dmarc", "_dmarc.\(z.fqdn)", "served DMARC record differs from the plan", expected: "v=DMARC1; p=quarantine", actual: "v=DMARC1; p=reject"),
        ])

        let broken = try runMailplan(["check", "/nonexistent/plan.yaml"])
        XCTAssertEqual(broken.status, 1)
        XCTAssertEqual(broken.stderr, "error: /nonexistent/plan.yaml: cannot read the plan file (No such file or directory)\n")
    }

    /// `--verbose`: each DNS query with its server on stderr; stdout is the same table; the API key never appears.
    func testVerboseCheckLogsEachDNSQueryWithItsServer() throws {
        let (z, bl, host) = try healthyZones()
        let plan = try writePlan(z, bl: bl, dmarc: "reject").path
        let quiet = try runMailplan(["check", plan, "--no-color"])
        let loud = try runMailplan(["check", plan, "--no-color", "--verbose"])
        XCTAssertEqual(loud.status, 0, loud.stderr)
        XCTAssertEqual(loud.stdout, quiet.stdout)
        XCTAssertEqual(quiet.stderr, "")
        let server = pdns.dns.description
        let lines = loud.stderr.split(separator: "\n").map(String.init)
        let dns = lines.filter { $0.hasPrefix("debug mailplan.dns: ") }
        let shape = try NSRegularExpression(pattern: #"^debug mailplan\.dns: query (\S+) ([A-Z]+) @(\S+) \((udp|tcp)\) → ([A-Z]+)( aa)?( tc)?, [0-9]+ answers? in [0-9]+ ms$"#)
        var asked: [String] = []
        for l in dns {
            guard let m = shape.firstMatch(in: l, range: NSRange(l.startIndex..., in: l)) else { XCTFail("unexpected line: \(l)"); continue }
            func g(_ i: Int) -> String { String(l[Range(m.range(at: i), in: l)!]) }
            XCTAssertEqual(g(3), server, l)
            asked.append("\(g(1)) \(g(2)) \(g(5))")
        }
        // The first query is the probe that tells "could not run" (exit 1) from findings.
        XCTAssertEqual(asked.first, "\(z.fqdn) SOA NOERROR")
        for q in ["\(z.fqdn) MX NOERROR", "25.2.0.192.in-addr.arpa. PTR NOERROR", "\(host) A NOERROR",
                  "\(z.fqdn) TXT NOERROR", "_dmarc.\(z.fqdn) TXT NOERROR", "25.2.0.192.\(bl.fqdn) A NXDOMAIN"] {
            XCTAssertTrue(asked.contains(q), "no query \(q) in:\n" + asked.joined(separator: "\n"))
        }
        XCTAssertFalse(loud.stderr.contains(pdns.key), "the API key leaked")
        XCTAssertFalse(loud.stderr.contains("trace "), "answer records are logged at trace level only")
        // MAILPLAN_LOG=trace adds each answer record under its query.
        let trace = try runMailplan(["check", plan, "--no-color"], env: ["MAILPLAN_LOG": "trace"])
        XCTAssertEqual(trace.status, 0, trace.stderr)
        let mx = trace.stderr.split(separator: "\n").map(String.init)
        guard let i = mx.firstIndex(where: { $0.hasPrefix("debug mailplan.dns: query \(z.fqdn) MX @\(server) (udp) → NOERROR aa, 1 answer in ") }) else {
            return XCTFail("no MX query in:\n" + trace.stderr)
        }
        XCTAssertEqual(mx[i + 1], "trace mailplan.dns:    \(z.fqdn) 300 MX 10 \(host)")
    }

}

/// With no resolver answering, `check` exited 2 ("findings") instead of 1 ("could not run").
final class CheckUnreachableCLITests: XCTestCase {
    func testNoResolverAnsweringExitsOne() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("chk.yaml")
        try """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: zones/example.com.zone}}
        dns: {resolvers: ["127.0.0.1:9"], timeout: 0.2, attempts: 1}
        domains: [{name: example.com}]
        """.write(to: plan, atomically: true, encoding: .utf8)
        let r = try runMailplan(["check", plan.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "error: could not run the checks: no resolver answered (DNS query example.com. SOA to 127.0.0.1:9: no answer within 0.2 s per attempt, 1 attempt (server unreachable or not answering)); check dns.resolvers in \(plan.path)\n")
    }
}
