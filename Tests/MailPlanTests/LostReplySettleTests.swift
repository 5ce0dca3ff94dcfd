import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

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

    /// An adapter whose write is applied (or not) and whose reply is then lost.
    func lossy(applies: Bool, mode: ApplyMode = .atomic) -> InMemoryProvider {
        let p = InMemoryProvider(name: "p", type: "fake", zones: [dn("example.com"): []],
                                 capabilities: ProviderCapabilities(supportedTypes: Set(RRType.modelled), applyMode: mode))
        p.lostReply = (written: applies, reason: "PATCH failed: Empty reply from server; it may or may not have been applied")
        return p
    }

    func run(_ p: InMemoryProvider) throws -> ApplyReport {
        let engine = Engine(plan: try loadPlan(yaml), now: Date(timeIntervalSince1970: 0), makeProvider: { _ in p })
        let plan = try engine.makePlan()
        XCTAssertEqual(plan.summary.add, 3)
        var lines: [String] = []
        let report = engine.apply(plan) { lines.append($0) }
        if p.lostReply?.written == true && p.capabilities.applyMode == .atomic {
            XCTAssertEqual(lines.last, "example.com.: the reply was lost; read again, every change is applied")
        }
        return report
    }

    func testAppliedWriteWithALostReplyIsASuccess() throws {
        let report = try run(lossy(applies: true))
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.zones[0].applied.count, 3)
        XCTAssertEqual(report.zones[0].unknown, [])
        XCTAssertNil(report.zones[0].error)
    }

    func testWriteThatDidNotLandIsAFailureSayingNothingWasApplied() throws {
        let report = try run(lossy(applies: false))
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones[0].applied, [])
        XCTAssertEqual(report.zones[0].failed.count, 3)
        XCTAssertEqual(report.zones[0].unknown, [])
        XCTAssertEqual(report.zones[0].error, "provider p, zone example.com.: PATCH failed: Empty reply from server; it may or may not have been applied; read again: nothing of it was applied")
    }

    /// A record-by-record adapter settles lost replies itself (DigitalOcean): the engine leaves
    /// the outcome as the adapter reported it.
    func testRecordByRecordAdaptersAreLeftAsTheyReport() throws {
        let report = try run(lossy(applies: true, mode: .recordByRecord))
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones[0].unknown.count, 3)
    }
}
