import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Issue 3's end-to-end proof: `plans/powerdns.yaml` against the real PowerDNS through the
/// real binary, then what PowerDNS serves, read back over DNS through the ldns resolver.
final class PowerDNSCLITests: XCTestCase {
    var pdns: PDNSServer!
    let com = try! DomainName("example.com"), org = try! DomainName("example.org")

    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { pdns?.deleteZone(com); pdns?.deleteZone(org) }

    /// ~30 records mailplan does not manage: web, apex verification TXT, ACME, a wildcard, …
    func unrelated(_ z: DomainName) -> [RRset] {
        var sets = [
            rrset("@", z, .a, 3600, ["192.0.2.10"]),
            rrset("@", z, .aaaa, 3600, ["2001:db8::10"]),
            rrset("@", z, .txt, 3600, ["google-site-verification=abc123XYZ", "MS=ms12345678"]),
            rrset("@", z, .caa, 3600, ["0 issue \"letsencrypt.org\""]),
            rrset("www", z, .a, 300, ["192.0.2.10", "192.0.2.11"]),
            rrset("www", z, .aaaa, 300, ["2001:db8::10"]),
            rrset("blog", z, .cname, 300, ["www.\(z.fqdn)"]),
            rrset("_acme-challenge", z, .txt, 120, ["xQz-token_1234567890abcdef"]),
            rrset("_acme-challenge.www", z, .txt, 120, ["another-token"]),
            rrset("*.apps", z, .a, 600, ["192.0.2.50"]),
            rrset("_sip._tcp", z, .srv, 3600, ["10 60 5060 sip.example.net."]),
            rrset("api", z, .a, 60, ["192.0.2.20", "192.0.2.21", "192.0.2.22"]),
            rrset("shop", z, .cname, 3600, ["shops.example.net."]),
        ]
        for i in 1...17 { sets.append(rrset("host\(i)", z, .a, 3600, ["198.51.100.\(i)"])) }
        return sets
    }

    func testPlanApplyReplanAndServedRecords() throws {
        try pdns.createZone(com, unrelated(com))
        try pdns.createZone(org, [rrset("@", org, .txt, 3600, ["v=spf1 a -all", "keep-me=1"]), rrset("www", org, .a, 300, ["192.0.2.80"])])
        let planFile = repoRoot.appendingPathComponent("plans/powerdns.yaml").path

        let first = try runMailplan(["plan", planFile, "--detailed-exitcode", "--no-color"])
        XCTAssertEqual(first.status, 2, first.stderr)
        let key = try DKIMKeyParser.parse(String(contentsOfFile: repoRoot.appendingPathComponent("plans/keys/pdns2026.pub").path, encoding: .utf8)).record
        let loaded = try PlanLoader().load(path: planFile)
        let sts = loaded.domains.map { Compiler.mtaSTSRecord($0.mtaSTS!, mx: $0.mx) }
        XCTAssertEqual(first.stdout, expectedPlan(dkim: key, mtaSTS: sts))
        XCTAssertEqual(first.stderr, """
        \(planFile):33:5: warning: domains[example.com].spf: example.com → include:_spf.example.net: lookup failed: _spf.example.net. TXT answered REFUSED from \(pdns.dns) (temperror)
        \(planFile):9:3: warning: PTR of 192.0.2.25 not checked: 25.2.0.192.in-addr.arpa. answered REFUSED from \(pdns.dns)
        \(planFile):9:3: warning: PTR of 2001:db8::25 not checked: 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. answered REFUSED from \(pdns.dns)

        """)

        let apply = try runMailplan(["apply", planFile, "--auto-approve", "--no-color", "--wait-timeout", "20"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("""
        Apply complete! Records: 13 added, 2 changed, 0 destroyed.
        Verified over DNS: every changed RRset is served as planned by every authoritative server (1 poll, 0 s).

        """), apply.stdout)

        let again = try runMailplan(["plan", planFile, "--detailed-exitcode", "--no-color"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")

        // What PowerDNS serves, over DNS through ldns.
        let r = Resolver(options: ResolverOptions(timeout: 2, attempts: 2, recursionDesired: false))
        let plan = try PlanLoader().load(path: planFile)
        for zone in try Compiler.compile(plan, now: Date()) {
            for d in zone.rrsets {
                let a = try r.query(d.rrset.name, d.rrset.type, at: pdns.dns)
                var want = d.rrset
                if d.ownership == .spfValues {
                    let kept = (zone.zone == com ? ["google-site-verification=abc123XYZ", "MS=ms12345678"] : ["keep-me=1"]).map { RData.txt($0) }
                    want = want.with(rdata: want.rdata + kept)
                }
                XCTAssertEqual(a.rrset, want, "\(d.rrset.key)")
            }
        }
        let dkim = try r.query(try DomainName("pdns2026._domainkey.example.com"), .txt, at: pdns.dns)
        XCTAssertEqual(dkim.answerRecords.count, 1)
        XCTAssertEqual(dkim.answerRecords[0].txtStrings.count, 2)
        XCTAssertEqual(dkim.answerRecords[0].txtStrings.map(\.utf8.count), [255, key.utf8.count - 255])
        XCTAssertEqual(dkim.answerRecords[0].txtStrings.joined(), key)
        for u in unrelated(com) where !(u.name == com && u.type == .txt) {
            XCTAssertEqual(try r.query(u.name, u.type, at: pdns.dns).rrset, u, "\(u.key) changed")
        }
        XCTAssertEqual(try r.query(org.prepending("www"), .a, at: pdns.dns).rrset, rrset("www", org, .a, 300, ["192.0.2.80"]))
    }

    func expectedPlan(dkim: String, mtaSTS: [String]) -> String {
        let q = TXTCodec.quote
        return """
        mailplan will perform the following actions:

          # zone example.com. (provider pdns, powerdns)
          + example.com. MX ttl 3600
              + 10 mail.example.com.
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
          + example.org._report._dmarc.example.com. TXT ttl 3600
              + "v=DMARC1"
          + pdns2026._domainkey.example.com. TXT ttl 3600
              + \(q(dkim))
          + _mta-sts.example.com. TXT ttl 3600
              + \(q(mtaSTS[0]))
          + _smtp._tls.example.com. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25
          ~ example.com. TXT ttl 3600
                "MS=ms12345678"
                "google-site-verification=abc123XYZ"
              + "v=spf1 mx include:_spf.example.net -all"
              # only the v=spf1 value is managed; the other 2 TXT values are kept
              # SPF DNS lookups none → 2 (limit 10), void none → 0 (limit 2): mx 1, include:_spf.example.net 1, -all 0 = 2

          # zone example.org. (provider pdns, powerdns)
          + example.org. MX ttl 3600
              + 10 mail.example.com.
          + _dmarc.example.org. TXT ttl 3600
              + "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
          + pdns2026._domainkey.example.org. TXT ttl 3600
              + \(q(dkim))
          + _mta-sts.example.org. TXT ttl 3600
              + \(q(mtaSTS[1]))
          + _smtp._tls.example.org. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          ~ example.org. TXT ttl 3600
                "keep-me=1"
              - "v=spf1 a -all"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept
              # SPF DNS lookups 1 → 1 (limit 10), void 1 → 0 (limit 2): mx 1, -all 0 = 1

        Plan: 13 to add, 2 to change, 0 to destroy.

        """
    }
}
