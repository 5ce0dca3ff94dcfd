import Foundation
import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

/// The streaming engine and the pipelined apply (docs/architecture.md, "Streaming" and
/// "Pipelined apply"). Every wait is on a condition with a 10 s ceiling; none sleeps.
final class StreamingPipelineTests: XCTestCase {
    /// Six zones d0…d5.example; each lacks its MX, so each zone's plan is one create.
    func sixZones(_ extra: String = "") throws -> (MailPlan, InMemoryProvider) {
        let yaml = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p: {type: memory}}\ndomains:\n"
            + (0..<6).map { "  - {name: d\($0).example, provider: p\($0 == 1 ? extra : "")}\n" }.joined()
        let zones = Dictionary(uniqueKeysWithValues: (0..<6).map { (dn("d\($0).example"), [rr("d\($0).example", .a, 3600, ["192.0.2.80"])]) })
        return (try loadPlan(yaml), InMemoryProvider(name: "p", zones: zones))
    }

    func testStreamedPlanHandsZonesOutInPlanFileOrderAndKeepsOnlyChangesets() throws {
        let (plan, mem) = try sixZones()
        let seenBy = Marks()
        // d0 answers last: it waits until the five others have started their reads.
        mem.onRead = { zone in
            if zone.fqdn != "d0.example." { seenBy.mark("read \(zone.fqdn)"); return }
            XCTAssertTrue(seenBy.wait { $0.count == 5 }, "the other five reads ran beside d0")
        }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        var seen: [String] = []
        let result = try engine.streamPlan(PlanRun(parallelism: 8, fingerprints: false, keepZones: false), events: { (event: PlanEvent) in
            if case .zone(let z) = event {
                seen.append("\(z.desired.zone.fqdn) desired \(z.desired.rrsets.map(\.rrset.key.description)) live \(z.live.map(\.key.description))")
            }
        })
        // In plan-file order although d0 was read last; each zone complete when handed out.
        XCTAssertEqual(seen, ["d0.example. desired [\"d0.example. MX\"] live []"] + (1..<6).map { "d\($0).example. desired [\"d\($0).example. MX\"] live []" })
        XCTAssertEqual(mem.reads, 6)
        // What the run keeps: the Changeset alone, no desired or live RRsets, no fingerprint.
        XCTAssertEqual(result.zones.map { $0.desired.rrsets.count + $0.live.count }, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(result.zones.map { $0.fingerprint == nil }, [true, true, true, true, true, true])
        XCTAssertEqual(result.changesets.map { (cs: ZoneChangeset) in cs.changes.map { $0.key.description } }, (0..<6).map { ["d\($0).example. MX"] })
        XCTAssertEqual(result.requests.map { "\($0.provider) \($0.requests)" }, ["p 0"])
    }

    func testPipelinedApplyWritesEarlierZonesWhileLaterOnesAreRead() throws {
        let (plan, mem) = try sixZones()
        let marks = Marks()
        // d5's read answers only once d0 is being written: an engine that read every zone
        // before writing any would wait here for nothing.
        mem.onWrite = { cs in marks.mark("write \(cs.zone.fqdn)") }
        mem.onRead = { zone in
            guard zone.fqdn == "d5.example." else { return }
            XCTAssertTrue(marks.wait { $0.contains("write d0.example.") }, "d0 is written while d5 is read")
        }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        var lines: [String] = []
        let out = engine.planAndApply(PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false), allowed: [],
                                      applyProgress: { lines.append($0) })
        XCTAssertNil(out.error)
        XCTAssertTrue(out.report.succeeded)
        XCTAssertEqual(out.report.zones.map { "\($0.changeset.zone.fqdn) \($0.applied.count)" }, (0..<6).map { "d\($0).example. 1" })
        XCTAssertEqual(lines, (0..<6).map { "d\($0).example.: applying 1 change at p (memory)" })
        XCTAssertTrue(mem.writes.prefix(1).map(\.zone.fqdn) == ["d0.example."])
        XCTAssertEqual(Set(mem.zones.values.map { $0.contains { $0.type == .mx } }), [true])
    }

    func testPipelinedApplyStopsAtAGateAndReportsWhatWasApplied() throws {
        // d1 sends no mail: its live MX is removed (the remove-last-mx gate).
        let (plan, mem) = try sixZones(", no_mail: true")
        var zones = mem.zones
        zones[dn("d1.example")] = [rr("d1.example", .mx, 3600, ["10 mail.example.com."])]
        mem.zones = zones
        let marks = Marks()
        mem.onWrite = { cs in marks.mark("write \(cs.zone.fqdn)") }
        // d1 is planned only after d0's write started, so the outcome does not depend on timing.
        mem.onRead = { zone in
            guard zone.fqdn == "d1.example." else { return }
            XCTAssertTrue(marks.wait { !$0.isEmpty })
        }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let out = engine.planAndApply(PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false), allowed: [])
        XCTAssertNil(out.error)
        XCTAssertEqual(out.refused.map { "\($0.change.key) \($0.gates.map(\.rawValue))" }, ["d1.example. MX [\"remove-last-mx\"]"])
        XCTAssertEqual(out.report.zones.map { "\($0.changeset.zone.fqdn) applied \($0.applied.count), not attempted \($0.notAttempted.count): \($0.error ?? "ok")" }, [
            "d0.example. applied 1, not attempted 0: ok",
            "d1.example. applied 0, not attempted 3: not attempted: a change needs an explicit --allow",
        ] + (2..<6).map { "d\($0).example. applied 0, not attempted 1: not attempted: a change needs an explicit --allow" })
        XCTAssertEqual(mem.writes.map(\.zone.fqdn), ["d0.example."])
        XCTAssertTrue(out.wroteAnything)
        // The plan itself is complete: every zone was planned.
        XCTAssertEqual(out.result?.zones.count, 6)
    }

    func testPipelinedApplyStopsWritingWhenAZoneCannotBeRead() throws {
        let (plan, mem) = try sixZones()
        let marks = Marks()
        mem.onWrite = { cs in marks.mark("write \(cs.zone.fqdn)") }
        mem.onRead = { zone in
            guard zone.fqdn == "d2.example." else { return }
            XCTAssertTrue(marks.wait { $0.count == 2 })
            throw ProviderError(provider: "p", "zone d2.example. cannot be read")
        }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let out = engine.planAndApply(PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false), allowed: [])
        XCTAssertEqual(out.error.map { "\($0)" }, "provider p: zone d2.example. cannot be read")
        XCTAssertNil(out.result)
        XCTAssertEqual(out.report.zones.map { "\($0.changeset.zone.fqdn) \($0.applied.count)" }, ["d0.example. 1", "d1.example. 1"])
        XCTAssertEqual(mem.writes.map(\.zone.fqdn), ["d0.example.", "d1.example."])
    }

    func testWritesRunUpToTheDeclaredWriteConcurrency() throws {
        let (plan, _) = try sixZones()
        let caps = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 60...86400, applyMode: .atomic, writeConcurrency: 2)
        let zones = Dictionary(uniqueKeysWithValues: (0..<6).map { (dn("d\($0).example"), [RRset]()) })
        let mem = InMemoryProvider(name: "p", zones: zones, capabilities: caps)
        let gauge = WriteGauge()
        // Each write waits until a second one has run beside it (or 10 s): with a limit of 2
        // and six zones, two run at a time and never three.
        mem.onWrite = { _ in gauge.write() }
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let report = engine.apply(try engine.makePlan())
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(gauge.most, 2)
        XCTAssertEqual(report.zones.map(\.changeset.zone.fqdn), (0..<6).map { "d\($0).example." })
    }
}

/// Counts writes running at the same time; each waits (up to 10 s) until two have overlapped.
final class WriteGauge: @unchecked Sendable {
    private let cond = NSCondition()
    private var now = 0
    private(set) var most = 0
    func write() {
        cond.lock()
        now += 1; most = max(most, now); cond.broadcast()
        let deadline = Date(timeIntervalSinceNow: 10)
        while most < 2 { if !cond.wait(until: deadline) { break } }
        now -= 1
        cond.unlock()
    }
}

/// Named events from several threads, and waiting (up to 10 s) until they satisfy a condition.
final class Marks: @unchecked Sendable {
    private let cond = NSCondition()
    private var marks = Set<String>()
    func mark(_ m: String) { cond.lock(); marks.insert(m); cond.broadcast(); cond.unlock() }
    /// - Returns: whether `condition` held within 10 s.
    func wait(_ condition: (Set<String>) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: 10)
        cond.lock(); defer { cond.unlock() }
        while !condition(marks) { if !cond.wait(until: deadline) { return condition(marks) } }
        return true
    }
}
