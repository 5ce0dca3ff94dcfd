import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// `mailplan plan` with a `dns:` block, through the real binary against the real PowerDNS
/// (as provider and as the resolver that serves the includes): lookup budget, flattening,
/// `senders_expected`.
final class SPFPlanLiveTests: XCTestCase {
    var pdns: PDNSServer!
    var zones: [DomainName] = []
    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    func writePlan(_ z: DomainName, spf: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-spf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: mail.\(z.fqdn), ipv4: 192.0.2.25}
        providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
        dns: {resolvers: ["${MAILPLAN_PDNS_DNS}"], timeout: 1}
        domains:
          - name: \(z.withoutTrailingDot)
            spf: \(spf)
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    /// Eleven lookups through a chain of includes served by PowerDNS: plan fails (exit 1)
    /// naming the chain to the 11th; with ten it passes and shows the count before → after.
    func testElevenLookupChainFailsPlan() throws {
        let z = uniqueZone(), inc = uniqueZone("inc")
        let i = inc.withoutTrailingDot, d = z.withoutTrailingDot
        let names = "abcdefghij".map { "\($0)" }
        var rr: [RRset] = []
        for (k, n) in names.enumerated() {
            rr.append(rrset(n, inc, .txt, 60, [k + 1 < names.count ? "v=spf1 include:\(names[k + 1]).\(i) -all" : "v=spf1 mx -all"]))
        }
        try pdns.createZone(inc, rr)
        try pdns.createZone(z, [rrset("@", z, .txt, 300, ["v=spf1 mx -all"])])
        zones += [z, inc]

        let plan = try writePlan(z, spf: "{senders: [\"include:a.\(i)\"]}")
        let bad = try runMailplan(["plan", plan.path, "--no-color"])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        let chain = names.map { "include:\($0).\(i)" }.joined(separator: " → ")
        XCTAssertEqual(bad.stderr, "\(plan.path):6:5: error: domains[\(d)].spf: the planned record \"v=spf1 include:a.\(i) -all\": 11 DNS lookups, more than the 10 allowed (RFC 7208 §4.6.4); lookup 11 is \(d) → \(chain) → mx\n")

        // Ten lookups: allowed; the note shows the live record's count and the planned one's.
        try pdns.replace(inc, [rrset("j", inc, .txt, 60, ["v=spf1 ip4:203.0.113.0/24 -all"])])
        let ok = try runMailplan(["plan", plan.path, "--no-color", "--detailed-exitcode"])
        XCTAssertEqual(ok.status, 2, ok.stdout + ok.stderr)
        XCTAssertTrue(ok.stdout.contains("# SPF DNS lookups 1 → 10 (limit 10), void 1 → 0 (limit 2): include:a.\(i) 10, -all 0 = 10\n"), ok.stdout)
    }

    /// A flattened include, and a sender the planned record leaves out.
    func testFlattenedIncludeAndSenderCoverage() throws {
        let z = uniqueZone(), inc = uniqueZone("inc")
        let i = inc.withoutTrailingDot, d = z.withoutTrailingDot
        try pdns.createZone(inc, [
            rrset("_spf", inc, .txt, 60, ["v=spf1 ip4:198.51.100.0/24 include:_n.\(i) a:out.\(i) ~all"]),
            rrset("_n", inc, .txt, 60, ["v=spf1 ip6:2001:db8:5::/48 ip4:203.0.113.7 -all"]),
            rrset("out", inc, .a, 60, ["192.0.2.99"]),
        ])
        try pdns.createZone(z, [rrset("@", z, .txt, 300, ["google-site-verification=abc", "v=spf1 ip4:198.51.100.0/24 ip4:203.0.113.8 -all"])])
        zones += [z, inc]

        // 203.0.113.99 is in no range: plan fails naming the address and the result.
        let missing = try writePlan(z, spf: "{senders: [{include: _spf.\(i), flatten: true}], senders_expected: [198.51.100.7, \"2001:db8:5::1\", 203.0.113.99]}")
        let bad = try runMailplan(["plan", missing.path, "--no-color"])
        XCTAssertEqual(bad.status, 1, bad.stdout + bad.stderr)
        let flat = "v=spf1 ip4:192.0.2.99 ip4:198.51.100.0/24 ip4:203.0.113.7 ip6:2001:db8:5::/48 -all"
        XCTAssertEqual(bad.stderr, "\(missing.path):6:5: error: domains[\(d)].spf.senders_expected: 203.0.113.99 gets fail from the planned record \"\(flat)\" (matched '-all' in \(d)), not pass\n")

        let good = try writePlan(z, spf: "{senders: [{include: _spf.\(i), flatten: true}], senders_expected: [198.51.100.7, \"2001:db8:5::1\", 192.0.2.99]}")
        let ok = try runMailplan(["plan", good.path, "--no-color", "--detailed-exitcode"])
        XCTAssertEqual(ok.status, 2, ok.stdout + ok.stderr)
        XCTAssertTrue(ok.stdout.contains("+ \"\(flat)\""), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("# include:_spf.\(i) flattened to 4 ranges resolved at plan time\n"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("# SPF DNS lookups 0 → 0 (limit 10), void 0 → 0 (limit 2): ip4:192.0.2.99 0, ip4:198.51.100.0/24 0, ip4:203.0.113.7 0, ip6:2001:db8:5::/48 0, -all 0 = 0\n"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("# flattened ranges changed upstream (include:_spf.\(i)): added ip4:192.0.2.99 ip4:203.0.113.7 ip6:2001:db8:5::/48; removed ip4:203.0.113.8\n"), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("# SPF check_host: 198.51.100.7 pass, 2001:db8:5::1 pass, 192.0.2.99 pass, outside 192.0.2.254 fail\n"), ok.stdout)
    }
}
