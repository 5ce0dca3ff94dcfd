import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

/// Compiling zone by zone (Compiler.compileZone, Engine.validateZoneByZone) gives exactly what
/// compiling the whole plan gives (docs/architecture.md, "Streaming").
final class ZoneByZoneCompileTests: XCTestCase {
    /// Three zones: a CNAME not alone in the first and the third, two SPF values in a TXT RRset
    /// of the first two, and a report authorization of example.org into example.net that
    /// example.net also lists under records:.
    let conflicts = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers:
      p: {type: fake}
    domains:
      - name: example.com
        records:
          - {name: www, type: CNAME, values: [web.example.net.]}
          - {name: www, type: A, values: [192.0.2.80]}
          - {name: spf, type: TXT, values: ["v=spf1 -all", "v=spf1 a -all"]}
      - name: example.org
        dmarc: {policy: none, rua: ["mailto:d@example.net"]}
        records:
          - {name: spf, type: TXT, values: ["v=spf1 -all", "v=spf1 mx -all"]}
      - name: example.net
        records:
          - {name: example.org._report._dmarc, type: TXT, values: ["v=DMARC1"]}
          - {name: www, type: CNAME, values: [web.example.com.]}
          - {name: www, type: TXT, values: ["hello"]}
    """

    let clean = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25, helo_spf: true}
    providers:
      p: {type: fake}
    defaults: {ttl: 30}
    domains:
      - name: example.org
        dmarc: {policy: none, rua: ["mailto:d@example.com"]}
      - name: example.com
        dmarc: {policy: none}
    """

    func fake() -> InMemoryProvider {
        InMemoryProvider(name: "p", type: "fake", zones: [:],
                         capabilities: ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 60...86400,
                                                            applyMode: .atomic, autoTTL: nil))
    }

    func testProblemsKeepTheWholePlanOrderAcrossZones() throws {
        let plan = try loadPlan(conflicts)
        // The compiler's problems, and the same through the engine, which compiles zone by zone.
        var compiled: [String] = [], whole: [String] = [], streamed: [String] = []
        XCTAssertThrowsError(try Compiler.compilePlan(plan, now: Date())) { compiled = ($0 as? DiagnosticsError)?.diagnostics.map(\.description) ?? [] }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in self.fake() })
        XCTAssertThrowsError(try engine.validate()) { whole = ($0 as? DiagnosticsError)?.diagnostics.map(\.description) ?? [] }
        XCTAssertThrowsError(try engine.validateZoneByZone()) { streamed = ($0 as? DiagnosticsError)?.diagnostics.map(\.description) ?? [] }
        // The domains in plan order, then the report authorizations, then the CNAME checks zone by zone.
        XCTAssertEqual(compiled, [
            "test.yaml:10:9: error: spf.example.com. TXT: two SPF records, \"v=spf1 -all\" and \"v=spf1 a -all\"; a name must have exactly one (RFC 7208 §4.5)",
            "test.yaml:14:9: error: spf.example.org. TXT: two SPF records, \"v=spf1 -all\" and \"v=spf1 mx -all\"; a name must have exactly one (RFC 7208 §4.5)",
            "test.yaml:11:5: error: example.org._report._dmarc.example.net. TXT is wanted by dmarc report authorization of example.org by example.net and by records (example.org._report._dmarc.example.net. TXT) (at test.yaml:17:9); declare it once",
            "test.yaml:8:9: error: www.example.com. CNAME: a CNAME cannot share its name with A (RFC 2181 §10.1)",
            "test.yaml:18:9: error: www.example.net. CNAME: a CNAME cannot share its name with TXT (RFC 2181 §10.1)",
        ])
        XCTAssertEqual(whole, compiled)
        XCTAssertEqual(streamed, compiled)
    }

    func testAZonePlannedAtTwoProvidersNamesTheZonesLatestDomainAtTheOther() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {p: {type: fake}, q: {type: fake}}
        domains:
          - {name: example.com, provider: p}
          - {name: sub.example.com, zone: example.com, provider: p}
          - {name: other.example.com, zone: example.com, provider: q, dmarc: {policy: none, rua: ["mailto:d@example.net"]}}
          - {name: example.net, provider: q}
        """)
        let index = CompileIndex(plan, now: Date())
        XCTAssertEqual(index.zones.map { "\($0.zone.fqdn) \($0.provider)" }, ["example.com. p", "example.net. q"])
        XCTAssertEqual(index.domainsOfZone, [[0, 1], [3]])
        // The refused domain's DMARC asks for no report authorization in example.net.
        XCTAssertEqual(index.reportAuthorizations.map(\.count), [0, 0])
        XCTAssertEqual(index.problems.map(\.1.description), [
            "test.yaml:7:5: error: zone example.com. is planned at provider 'q' here and at 'p' at test.yaml:6:5",
        ])
        var streamed: [String] = []
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in self.fake() })
        XCTAssertThrowsError(try engine.validateZoneByZone()) { streamed = ($0 as? DiagnosticsError)?.diagnostics.map(\.description) ?? [] }
        XCTAssertEqual(streamed, index.problems.map(\.1.description))
    }

    func testZonesHoldTheHostRecordsAndTheReportAuthorizations() throws {
        let plan = try loadPlan(clean)
        let index = CompileIndex(plan, now: Date())
        XCTAssertEqual(index.zones.map(\.zone), [dn("example.org"), dn("example.com")])
        XCTAssertEqual(index.hostZone, 1)
        let org = Compiler.compileZone(plan, index: index, zone: 0)
        let com = Compiler.compileZone(plan, index: index, zone: 1)
        XCTAssertEqual(org.zone.rrsets.map { "\($0.rrset.key)" }, ["example.org. MX", "_dmarc.example.org. TXT"])
        XCTAssertEqual(com.zone.rrsets.map { "\($0.rrset.key)" }, [
            "example.com. MX", "_dmarc.example.com. TXT", "example.org._report._dmarc.example.com. TXT",
            "mail.example.com. A", "mail.example.com. TXT",
        ])
        XCTAssertTrue(org.problems.isEmpty && com.problems.isEmpty)
        let compiled = try Compiler.compilePlan(plan, now: Date())
        XCTAssertEqual(compiled.zones.map { $0.rrsets.map(\.rrset) }, [org.zone.rrsets.map(\.rrset), com.zone.rrsets.map(\.rrset)])
    }

    func testTTLClampNotesAndWarningsAreTheSameZoneByZone() throws {
        let plan = try loadPlan(clean)
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in self.fake() })
        let (zones, warnings) = try engine.validate()
        let summary = try engine.validateZoneByZone()
        XCTAssertEqual(summary.zones, zones.count)
        XCTAssertEqual(summary.rrsets, zones.reduce(0) { $0 + $1.rrsets.count })
        XCTAssertEqual(summary.warnings.map(\.description), warnings.map(\.description))
        XCTAssertEqual(warnings.filter { $0.message.contains("TTL 30 is outside") }.count, 7)
        let (index, _) = try engine.validatedIndex()
        for zi in index.zones.indices {
            let z = try engine.validatedZone(index, zone: zi)
            XCTAssertEqual(z.rrsets.map(\.rrset), zones[zi].rrsets.map(\.rrset))
            XCTAssertEqual(z.rrsets.map(\.notes), zones[zi].rrsets.map(\.notes))
            XCTAssertTrue(z.rrsets.allSatisfy { $0.rrset.ttl == 60 && $0.notes == ["TTL 30 is outside what fake accepts (60–86400 s); using 60"] })
        }
    }
}
