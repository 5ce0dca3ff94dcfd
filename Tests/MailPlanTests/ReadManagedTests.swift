import XCTest
@testable import MailPlan

/// ``DNSProvider/readZone(_:managed:)`` and ``DNSProvider/readWarnings(_:)`` through the
/// engine: the keys a plan hands the adapter, and the adapter's read warning in the plan.
final class ReadManagedTests: XCTestCase {
    let yaml = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers:
      p: {type: fake}
    defaults: {ttl: 3600}
    domains:
      - name: example.com
        spf: {senders: [mx], all: "-all"}
        dmarc: {policy: none}
    """

    /// Reads like an adapter whose transfer is refused: only the managed keys it is given.
    final class QueryingFake: DNSProvider, @unchecked Sendable {
        let instanceName = "p", typeName = "fake"
        let capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), applyMode: .atomic)
        var zone: [RRset] = []
        var asked: [[RRsetKey]] = []
        func readZone(_ zone: DomainName) throws -> [RRset] { XCTFail("the engine must pass the managed keys"); return [] }
        func readZone(_ zone: DomainName, managed: [RRsetKey]) throws -> [RRset] {
            asked.append(managed)
            return self.zone.filter { managed.contains($0.key) }
        }
        func readWarnings(_ zone: DomainName) -> [Diagnostic] {
            [Diagnostic(.warning, at: nil, "provider p: read \(asked.last?.count ?? 0) RRsets by query")]
        }
        func apply(_ changeset: ZoneChangeset) throws {}
    }

    func testEngineHandsTheManagedKeysAndShowsTheReadWarning() throws {
        let plan = try loadPlan(yaml)
        let fake = QueryingFake()
        let host = dn("mail.example.com")
        fake.zone = [
            RRset(name: dn("example.com"), type: .txt, ttl: 300, rdata: [.txt("token=1"), .txt("v=spf1 a -all")]),
            RRset(name: host, type: .aaaa, ttl: 300, rdata: [.aaaa(IPv6Address("2001:db8::25")!)]),
            RRset(name: dn("www.example.com"), type: .a, ttl: 300, rdata: [.a(IPv4Address("192.0.2.80")!)]),
        ]
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in fake })
        let result = try engine.makePlan()
        XCTAssertEqual(fake.asked, [[
            RRsetKey(dn("example.com"), .mx), RRsetKey(dn("example.com"), .txt), RRsetKey(dn("_dmarc.example.com"), .txt),
            RRsetKey(host, .a), RRsetKey(host, .aaaa),
        ]])
        XCTAssertEqual(result.warnings.map(\.description), [
            "warning: provider p: read 5 RRsets by query",
            "test.yaml:2:9: warning: mail.example.com. has AAAA 2001:db8::25 at the provider but server.ipv6 is not set: senders will try that address; add it to the plan or remove it",
        ])
        XCTAssertEqual(result.changesets[0].changes.map { "\($0.action) \($0.key)" }, [
            "create example.com. MX", "create _dmarc.example.com. TXT", "create mail.example.com. A", "update example.com. TXT",
        ])
        XCTAssertEqual(result.zones[0].live.map(\.key), [RRsetKey(dn("example.com"), .txt), RRsetKey(host, .aaaa)])
    }
}
