import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

/// `ttl: auto` (capability autoTTL) and ProviderFix folding, without any adapter.
final class ProviderHooksTests: XCTestCase {
    let yaml = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers:
      p: {type: fake}
    defaults: {ttl: auto}
    domains:
      - name: example.com
        dmarc: {policy: none}
        records: [{name: www, type: A, ttl: 300, values: [192.0.2.80]}]
    """

    /// The in-memory provider as type `fake`, instance `p`, with `autoTTL`.
    func makeFake(autoTTL: UInt32?) -> InMemoryProvider {
        InMemoryProvider(name: "p", type: "fake", zones: [dn("example.com"): []],
                         capabilities: ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 60...86400,
                                                            applyMode: .atomic, autoTTL: autoTTL))
    }

    func testAutoIsKeptByTheLoaderAndMappedToTheProvidersValue() throws {
        let plan = try loadPlan(yaml)
        XCTAssertEqual(plan.defaults.ttl, Defaults.automaticTTL)
        XCTAssertEqual(plan.domains[0].ttl, UInt32.max)
        let fake = makeFake(autoTTL: 1)
        let (zones, warnings) = try Engine(plan: plan, now: Date(), makeProvider: { _ in fake }).validate()
        XCTAssertEqual(warnings.count, 0)
        XCTAssertEqual(zones[0].rrsets.map { "\($0.rrset.key) \($0.rrset.ttl) \($0.notes)" }, [
            "example.com. MX 1 [\"ttl auto is fake ttl 1 (automatic)\"]",
            "_dmarc.example.com. TXT 1 [\"ttl auto is fake ttl 1 (automatic)\"]",
            "mail.example.com. A 1 [\"ttl auto is fake ttl 1 (automatic)\"]",
            "www.example.com. A 300 []",
        ])
    }

    func testAutoWithoutProviderSupportIsAnError() throws {
        let plan = try loadPlan(yaml)
        XCTAssertThrowsError(try Engine(plan: plan, now: Date(), makeProvider: { _ in self.makeFake(autoTTL: nil) }).validate()) { e in
            XCTAssertEqual((e as? DiagnosticsError)?.diagnostics.map(\.description), [
                "test.yaml:7:5: error: example.com. MX: ttl: auto is not supported by provider 'p' (fake); give a TTL in seconds (60–86400)",
                "test.yaml:7:5: error: _dmarc.example.com. TXT: ttl: auto is not supported by provider 'p' (fake); give a TTL in seconds (60–86400)",
                "test.yaml:2:9: error: mail.example.com. A: ttl: auto is not supported by provider 'p' (fake); give a TTL in seconds (60–86400)",
            ])
        }
    }

    func testFixOnManagedRRsetBecomesUpdateAndOnUnmanagedMailHostAWarning() throws {
        let plan = try loadPlan(yaml.replacingOccurrences(of: "defaults: {ttl: auto}", with: "defaults: {ttl: 3600}"))
        let fake = makeFake(autoTTL: nil)
        let host = dn("mail.example.com")
        let a = RRset(name: host, type: .a, ttl: 3600, rdata: [.a(IPv4Address("192.0.2.25")!)])
        let www = RRset(name: dn("www.example.com"), type: .a, ttl: 300, rdata: [.a(IPv4Address("192.0.2.80")!)])
        fake.zones[dn("example.com")] = [a, www, RRset(name: dn("example.com"), type: .mx, ttl: 3600, rdata: [.mx(preference: 10, exchange: host)]),
                     RRset(name: dn("_dmarc.example.com"), type: .txt, ttl: 3600, rdata: [.txt("v=DMARC1; p=none")])]
        fake.fixes = [ProviderFix(key: a.key, note: "mail-safety fix: proxied → false", mailSafety: true),
                      ProviderFix(key: RRsetKey(dn("mx9.example.com"), .a), note: "mail-safety fix: proxied → false", mailSafety: true),
                      ProviderFix(key: RRsetKey(dn("blog.example.com"), .a), note: "mail-safety fix: proxied → false", mailSafety: true)]
        let result = try Engine(plan: plan, now: Date(), makeProvider: { _ in fake }).makePlan()
        XCTAssertEqual(result.changesets[0].changes, [.update(from: a, to: a, notes: ["mail-safety fix: proxied → false"], driftClass: .mailBreaking)])
        XCTAssertEqual(result.warnings.count, 0, "mx9 is no MX target here and blog is no mail host: left alone")
    }
}
