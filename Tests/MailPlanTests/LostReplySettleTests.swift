import XCTest
@testable import MailPlan

/// A lost reply from an atomic adapter: the engine reads the zone again and settles the
/// outcome (docs/architecture.md, "Lost replies"), instead of leaving "may or may not".
final class LostReplySettleTests: XCTestCase {
    let yaml = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers:
      p: {type: fake}
    domains:
      - {name: example.com, dmarc: {policy: none}}
    """

    /// An atomic adapter whose write is applied (or not) and whose reply is then lost.
    final class LossyAtomic: DNSProvider {
        let instanceName = "p", typeName = "fake"
        let capabilities: ProviderCapabilities
        var live: [RRset] = []
        let applies: Bool
        init(applies: Bool, mode: ApplyMode = .atomic) {
            self.applies = applies
            capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), applyMode: mode)
        }
        func readZone(_ zone: DomainName) throws -> [RRset] { live }
        func apply(_ changeset: ZoneChangeset) throws {
            if applies {
                var sets = Dictionary(live.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
                for c in changeset.changes { sets[c.key] = c.after }
                live = Array(sets.values)
            }
            throw ApplyError.outcomeUnknown(provider: instanceName, zone: changeset.zone, changeset.changes,
                                            reason: "PATCH failed: Empty reply from server; it may or may not have been applied")
        }
    }

    func run(_ p: LossyAtomic) throws -> ApplyReport {
        let engine = Engine(plan: try loadPlan(yaml), now: Date(timeIntervalSince1970: 0), makeProvider: { _ in p })
        let plan = try engine.makePlan()
        XCTAssertEqual(plan.summary.add, 3)
        var lines: [String] = []
        let report = engine.apply(plan) { lines.append($0) }
        if p.applies && p.capabilities.applyMode == .atomic {
            XCTAssertEqual(lines.last, "example.com.: the reply was lost; read again, every change is applied")
        }
        return report
    }

    func testAppliedWriteWithALostReplyIsASuccess() throws {
        let report = try run(LossyAtomic(applies: true))
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.zones[0].applied.count, 3)
        XCTAssertEqual(report.zones[0].unknown, [])
        XCTAssertNil(report.zones[0].error)
    }

    func testWriteThatDidNotLandIsAFailureSayingNothingWasApplied() throws {
        let report = try run(LossyAtomic(applies: false))
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones[0].applied, [])
        XCTAssertEqual(report.zones[0].failed.count, 3)
        XCTAssertEqual(report.zones[0].unknown, [])
        XCTAssertEqual(report.zones[0].error, "provider p, zone example.com.: PATCH failed: Empty reply from server; it may or may not have been applied; read again: nothing of it was applied")
    }

    /// A record-by-record adapter settles lost replies itself (DigitalOcean): the engine leaves
    /// the outcome as the adapter reported it.
    func testRecordByRecordAdaptersAreLeftAsTheyReport() throws {
        let report = try run(LossyAtomic(applies: true, mode: .recordByRecord))
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones[0].unknown.count, 3)
    }
}
