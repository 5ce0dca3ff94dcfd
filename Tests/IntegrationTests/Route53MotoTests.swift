import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Route 53 against moto's server (`MAILPLAN_MOTO_URL`, started by `scripts/servers start`),
/// which implements the REST/XML API and routes requests by their SigV4 credential scope,
/// so every request here is signed. Each test makes its own hosted zone.
final class Route53MotoTests: XCTestCase {
    var endpoint: URL!
    let env = MotoServer.environment

    override func setUpWithError() throws {
        endpoint = try MotoServer.fromEnvironment().endpoint
    }

    func provider() -> Route53Provider {
        Route53Provider(name: "aws", endpoint: endpoint, credentials: AWSCredentials.fromEnvironment(env)!,
                        client: HTTPClient(options: HTTPClientOptions(totalTimeout: 20)))
    }
    func n(_ s: String) -> DomainName { try! DomainName(s) }
    func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
    }

    /// Creates a uniquely named hosted zone holding `seed` (CREATE batch); returns its name and ID.
    func createZone(seed: (String) -> [RRset]) throws -> (zone: String, id: String) {
        let zone = "r53-\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example"
        let id = try MotoServer(endpoint: endpoint).createZone(zone, seed: seed(zone))
        return (zone, id)
    }

    var dkimValue: String {
        let body = try! String(contentsOf: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return "v=DKIM1; k=rsa; p=" + body
    }

    func writePlan(_ zone: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-r53-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"), to: dir.appendingPathComponent("keys/mail2026.pub"))
        let plan = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server:
          hostname: mail.\(zone)
          ipv4: 192.0.2.25
          ipv6: 2001:db8::25
        providers:
          aws:
            type: route53
            endpoint: \(endpoint.absoluteString)
        defaults:
          ttl: 3600
        domains:
          - name: \(zone)
            provider: aws
            spf: {senders: [mx, "include:_spf.example.net"], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: reject, rua: ["mailto:dmarc@\(zone)"]}

        """.write(to: plan, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return plan
    }

    /// The must-show round trip at the CLI: plan → apply → plan no-op, with a 2048-bit DKIM
    /// key (one record of two strings), an apex TXT shared with a token, and an MX change.
    func testCLIPlanApplyPlanRoundTrip() throws {
        let (z, id) = try createZone { z in [
            self.rr("\(z).", .mx, 300, ["10 old-mx.example.net."]),
            self.rr("\(z).", .txt, 300, ["\"google-site-verification=tok123\"", "\"v=spf1 a -all\""]),
            self.rr("www.\(z).", .a, 300, ["192.0.2.80"]),
        ] }
        let plan = try writePlan(z).path
        let expected = """
        mailplan will perform the following actions:

          # zone \(z). (provider aws, route53)
          + _dmarc.\(z). TXT ttl 3600
              + "v=DMARC1; p=reject; rua=mailto:dmarc@\(z)"
          + mail2026._domainkey.\(z). TXT ttl 3600
              + "\(dkimValue)"
          + mail.\(z). A ttl 3600
              + 192.0.2.25
          + mail.\(z). AAAA ttl 3600
              + 2001:db8::25
          ~ \(z). MX ttl 300 -> 3600
              - 10 old-mx.example.net.
              + 10 mail.\(z).
          ~ \(z). TXT ttl 300
                "google-site-verification=tok123"
              - "v=spf1 a -all"
              + "v=spf1 mx include:_spf.example.net -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 4 to add, 2 to change, 0 to destroy.

        """
        let first = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, expected)
        XCTAssertEqual(first.stderr, "")

        let apply = try runMailplan(["apply", plan, "--auto-approve"], env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, expected + "\nApply complete! Records: 4 added, 2 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, "\(z).: applying 6 changes at aws (route53)\n")
        XCTAssertFalse((apply.stdout + apply.stderr).contains("mailplan/test+secret"))

        let second = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "No changes. The live DNS matches the plan.\n")

        // Read back: exact RRsets, and the DKIM value stored as ONE record of two quoted strings.
        let k = dkimValue
        let sets = try provider().readZone(n(z)).filter { $0.type != .soa && $0.type != .ns }
        XCTAssertEqual(Set(sets), [
            rr("\(z).", .mx, 3600, ["10 mail.\(z)."]),
            RRset(name: n(z), type: .txt, ttl: 300, rdata: [.txt("google-site-verification=tok123"), .txt("v=spf1 mx include:_spf.example.net -all")]),
            RRset(name: n("_dmarc.\(z)"), type: .txt, ttl: 3600, rdata: [.txt("v=DMARC1; p=reject; rua=mailto:dmarc@\(z)")]),
            RRset(name: n("mail2026._domainkey.\(z)"), type: .txt, ttl: 3600, rdata: [.txt(k)]),
            rr("mail.\(z).", .a, 3600, ["192.0.2.25"]),
            rr("mail.\(z).", .aaaa, 3600, ["2001:db8::25"]),
            rr("www.\(z).", .a, 300, ["192.0.2.80"]),
        ])
        let (_, raw) = try provider().call(.get, "/2013-04-01/hostedzone/\(id)/rrset", query: [("name", "mail2026._domainkey.\(z)."), ("type", "TXT"), ("maxitems", "1")])
        XCTAssertTrue(raw.text.contains("<ResourceRecord><Value>&quot;\(k.prefix(255))&quot; &quot;\(k.dropFirst(255))&quot;</Value></ResourceRecord>")
                      || raw.text.contains("<ResourceRecord><Value>\"\(k.prefix(255))\" \"\(k.dropFirst(255))\"</Value></ResourceRecord>"), raw.text)
    }

    /// A create goes out as CREATE, so an RRset made by someone else since the plan read the
    /// zone makes Route 53 refuse the whole batch (InvalidChangeBatch): the error names the
    /// RRset and the DELETE in the same batch is not applied. (moto checks this only when the
    /// other CREATE was identical; Route 53 checks it for any existing set.)
    func testConcurrentCreateRefusesTheWholeBatch() throws {
        let (z, _) = try createZone { z in [self.rr("old.\(z).", .a, 60, ["192.0.2.9", "192.0.2.10"])] }
        let p = provider()
        let live = try p.readZone(n(z))
        let old = live.first { $0.key == RRsetKey(n("old.\(z)"), .a) }!
        let create = Change.create(rr("mail.\(z).", .a, 3600, ["192.0.2.25"]))

        let other = provider()
        _ = try other.readZone(n(z))
        try other.apply(ZoneChangeset(zone: n(z), provider: "aws", providerType: "route53", changes: [create]))

        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: n(z), provider: "aws", providerType: "route53", changes: [create, .delete(old)]))) {
            let e = $0 as! ApplyError
            XCTAssertEqual(e.applied, [])
            XCTAssertEqual(e.failed.map(\.key.description), ["mail.\(z). A"], e.reason)
            XCTAssertEqual(e.notAttempted.map(\.key.description), ["old.\(z). A"], e.reason)
            XCTAssertTrue(e.reason.hasPrefix("Route 53 refused the change to mail.\(z). A (HTTP 400 InvalidChangeBatch): \"Tried to create resource record set [name='mail.\(z)."), e.reason)
            XCTAssertTrue(e.reason.hasSuffix("but it already exists\"; nothing was applied (the batch is atomic)"), e.reason)
        }
        XCTAssertTrue(try p.readZone(n(z)).contains(old), "the DELETE in the refused batch must not have happened")

        // DELETE carries the RRset exactly as read, and goes through on its own.
        _ = try p.readZone(n(z))
        try p.apply(ZoneChangeset(zone: n(z), provider: "aws", providerType: "route53", changes: [.delete(old)]))
        XCTAssertFalse(try p.readZone(n(z)).contains { $0.key == old.key })
    }

    /// Values mailplan does not own at the apex (DNS-SD strings, a NUL, bytes that are not
    /// UTF-8, empty strings, a token) stay exactly as they were after an apply that changes the
    /// SPF value (issue 12); and a colleague's edit between plan and apply makes apply refuse
    /// the zone, naming the RRset, instead of overwriting it (the engine re-reads before it
    /// writes; Route 53 itself would also refuse the DELETE of values that are no longer there).
    func testForeignApexValuesKeptAndAConcurrentEditRefused() throws {
        let foreign: [RData] = [
            .txt(TXTData(strings: [Array("txtvers=1".utf8), Array("path=/x".utf8), Array("k=v".utf8)])),
            .txt(TXTData(strings: [[0x61, 0x00, 0x62]])),
            .txt(TXTData(strings: [[0x63, 0x61, 0x66, 0xc3, 0xa9], [0xff, 0x80], []])),
            .txt(TXTData(strings: [[]])),
            .txt("google-site-verification=tok123"),
        ]
        let (z, _) = try createZone { z in [RRset(name: self.n(z), type: .txt, ttl: 300, rdata: foreign + [.txt("v=spf1 a -all")])] }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-r53-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let planText = """
            version: 1
            server: {hostname: mail.\(z), ipv4: 192.0.2.25}
            providers:
              aws: {type: route53, endpoint: "\(endpoint.absoluteString)"}
            domains:
              - {name: \(z), provider: aws, spf: {senders: [mx]}}

            """
        let plan = dir.appendingPathComponent("plan.yaml")
        try planText.write(to: plan, atomically: true, encoding: .utf8)
        let apply = try runMailplan(["apply", plan.path, "--auto-approve"], env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        let apex = try provider().readZone(n(z)).first { $0.key == RRsetKey(n(z), .txt) }
        XCTAssertEqual(apex, RRset(name: n(z), type: .txt, ttl: 300, rdata: foreign + [.txt("v=spf1 mx -all")]))

        // Between plan and apply a colleague adds a value at the apex.
        try planText.replacingOccurrences(of: "senders: [mx]", with: "senders: [mx, \"ip4:198.51.100.0/24\"]")
            .write(to: plan, atomically: true, encoding: .utf8)
        let engine = Engine(plan: try PlanLoader(environment: env).load(path: plan.path), now: Date(), makeProvider: { _ in self.provider() })
        let result = try engine.makePlan()
        let colleague = RRset(name: n(z), type: .txt, ttl: 300, rdata: foreign + [.txt("colleague=1"), .txt("v=spf1 mx -all")])
        let other = provider()
        _ = try other.readZone(n(z))
        try other.apply(ZoneChangeset(zone: n(z), provider: "aws", providerType: "route53",
                                      changes: [.update(from: apex!, to: colleague)]))
        let report = engine.apply(result)
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones.map(\.applied), [[]])
        XCTAssertEqual(report.zones.first?.failed.map(\.key), [RRsetKey(n(z), .txt)])
        XCTAssertTrue(report.zones.first?.error?.hasPrefix("provider aws, zone \(z).: changed since the plan was made: \(z). TXT is now ttl 300 ") ?? false,
                      report.zones.first?.error ?? "")
        XCTAssertEqual(try provider().readZone(n(z)).first { $0.key == colleague.key }, colleague, "the colleague's value is kept")
    }

    func testMissingZoneIsAClearErrorAtTheCLI() throws {
        let z = "absent-\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example"
        let r = try runMailplan(["plan", try writePlan(z).path], env: env)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "error: provider aws: no hosted zone named \(z). at \(endpoint.absoluteString) (create it in Route 53 first)\n")
        let noCreds = try runMailplan(["validate", try writePlan(z).path], env: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        XCTAssertEqual(noCreds.status, 1)
        XCTAssertTrue(noCreds.stderr.hasSuffix("error: providers.aws: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)\n"), noCreds.stderr)
    }
}
