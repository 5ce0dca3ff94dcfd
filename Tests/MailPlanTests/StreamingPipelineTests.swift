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
        // One zone at a time, in plan-file order; each zone now holds exactly its planned MX.
        XCTAssertEqual(mem.writes.map(\.zone.fqdn), (0..<6).map { "d\($0).example." })
        for i in 0..<6 {
            XCTAssertEqual(mem.zones[dn("d\(i).example")], [rr("d\(i).example", .a, 3600, ["192.0.2.80"]), rr("d\(i).example", .mx, 3600, ["10 mail.example.com."])])
        }
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

    func testAZoneChangedSinceThePlanDoesNotStopTheZonesAfterIt() throws {
        let (plan, mem) = try sixZones()
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let result = try engine.makePlan()
        // A colleague creates d0's MX after the plan: d0 is refused, d1…d5 are still written.
        var zones = mem.zones
        zones[dn("d0.example")]!.append(rr("d0.example", .mx, 3600, ["20 other.example.net."]))
        mem.zones = zones
        let report = engine.apply(result)
        XCTAssertEqual(report.zones.map { "\($0.changeset.zone.fqdn) applied \($0.applied.count) failed \($0.failed.count)" },
                       ["d0.example. applied 0 failed 1"] + (1..<6).map { "d\($0).example. applied 1 failed 0" })
        XCTAssertEqual(report.zones[0].error, "provider p, zone d0.example.: changed since the plan was made: d0.example. MX is now ttl 3600 20 other.example.net. (the plan was made from absent); nothing was written to this zone: re-run mailplan plan")
        XCTAssertEqual(mem.writes.map(\.zone.fqdn), (1..<6).map { "d\($0).example." })
    }

    /// d0's write fails while d1 waits behind it and d2 is refused by a gate: d1 must not be
    /// written after d0 failed, whichever of the two stops came first (review finding).
    func testAFailureAfterAGateRefusalStillStopsTheZonesQueuedBehindIt() throws {
        let yaml = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p: {type: memory}}\ndomains:\n"
            + "  - {name: d0.example, provider: p}\n  - {name: d1.example, provider: p}\n  - {name: d2.example, provider: p, no_mail: true}\n"
        let zones: [DomainName: [RRset]] = [dn("d0.example"): [], dn("d1.example"): [],
                                            dn("d2.example"): [rr("d2.example", .mx, 3600, ["10 mail.example.com."])]]
        let mem = InMemoryProvider(name: "p", zones: zones)
        mem.failingWrites = [RRsetKey(dn("d0.example"), .mx)]
        let marks = Marks()
        // d0's write waits until d2 has been planned (its gate refusal follows at once).
        mem.onWrite = { cs in if cs.zone.fqdn == "d0.example." { XCTAssertTrue(marks.wait { $0.contains("planned d2.example.") }) } }
        let engine = Engine(plan: try loadPlan(yaml), now: Date(), makeProvider: { _ in mem })
        let out = engine.planAndApply(PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false), allowed: [],
                                      events: { (e: PlanEvent) in if case .zone(let z) = e { marks.mark("planned \(z.desired.zone.fqdn)") } })
        XCTAssertEqual(mem.writes.map(\.zone.fqdn), ["d0.example."])
        XCTAssertEqual(out.report.zones.map { "\($0.changeset.zone.fqdn) applied \($0.applied.count) failed \($0.failed.count) not attempted \($0.notAttempted.count)" },
                       ["d0.example. applied 0 failed 1 not attempted 0", "d1.example. applied 0 failed 0 not attempted 1",
                        "d2.example. applied 0 failed 0 not attempted 3"])
        XCTAssertEqual(out.report.zones[1].error, "not attempted: zone d0.example. failed")
    }

    /// A plan whose first zone is refused by a gate writes no policy file, even when a later
    /// zone passes its gates (review finding); with the gate allowed, the file is written.
    func testNoPolicyFileIsWrittenAfterAGateRefusal() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let yaml = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p: {type: memory}}\ndomains:\n"
            + "  - {name: d0.example, provider: p, no_mail: true}\n"
            + "  - {name: d1.example, provider: p, mta_sts: {mode: testing, policy_file: d1.txt}}\n"
        let zones: [DomainName: [RRset]] = [dn("d0.example"): [rr("d0.example", .mx, 3600, ["10 mail.example.com."])], dn("d1.example"): []]
        let mem = InMemoryProvider(name: "p", zones: zones)
        let plan = try PlanLoader(environment: [:]).load(text: yaml, file: "test.yaml", baseDirectory: dir)
        let run = PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false)
        let refused = Engine(plan: plan, now: Date(), makeProvider: { _ in mem }).planAndApply(run, allowed: [])
        XCTAssertEqual(refused.refused.count, 1)
        XCTAssertEqual(refused.report.filesWritten.map(\.path), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("d1.txt").path))
        XCTAssertEqual(mem.writes.count, 0)
        let allowed = Engine(plan: plan, now: Date(), makeProvider: { _ in mem }).planAndApply(run, allowed: [.removeLastMX])
        XCTAssertTrue(allowed.report.succeeded)
        XCTAssertEqual(allowed.report.filesWritten.map(\.path), [dir.appendingPathComponent("d1.txt").path])
    }

    /// A zone that cannot be read after earlier zones were written: the report is not
    /// "complete" (review finding).
    func testAPlanningStopMakesTheReportIncomplete() throws {
        let (plan, mem) = try sixZones()
        mem.onRead = { zone in if zone.fqdn == "d5.example." { throw ProviderError(provider: "p", "zone d5.example. cannot be read") } }
        let out = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
            .planAndApply(PlanRun(parallelism: 8, servedDrift: false, fingerprints: false, keepZones: false), allowed: [])
        XCTAssertNotNil(out.error)
        XCTAssertFalse(out.report.succeeded)
        let text = ApplyReportRenderer.render(out.report)
        XCTAssertEqual(text.stderr.last, "error: planning stopped before every zone was planned: the zones after it were neither planned nor written")
        XCTAssertTrue(text.stdout.last!.hasPrefix("Apply failed. Applied: "), text.stdout.last!)
    }

    /// A policy file that fails after earlier zones were written (pipelined apply): the
    /// report must not claim that no DNS change was made.
    func testAPolicyFileFailureAfterWrittenZonesIsReportedAsSuch() throws {
        let (plan, mem) = try sixZones()
        let result = try Engine(plan: plan, now: Date(), makeProvider: { _ in mem }).makePlan()
        let cs = result.changesets[0]
        var report = ApplyReport(zones: [.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil)])
        report.fileError = "cannot write /srv/mta-sts/d1.txt: permission denied"
        XCTAssertEqual(ApplyReportRenderer.render(report).stderr, ["error: cannot write /srv/mta-sts/d1.txt: permission denied; no zone after it was written"])
        report = ApplyReport(zones: [.init(changeset: cs, applied: [], failed: [], notAttempted: cs.changes, error: "not attempted: a policy file could not be written")])
        report.fileError = "cannot write /srv/mta-sts/d1.txt: permission denied"
        XCTAssertEqual(ApplyReportRenderer.render(report).stderr.first, "error: cannot write /srv/mta-sts/d1.txt: permission denied; no DNS change was made")
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

    /// One MX create in `zone` at provider `provider`.
    func mxCreate(_ zone: String, provider: String = "p") -> ZoneChangeset {
        ZoneChangeset(zone: dn(zone), provider: provider, providerType: "memory",
                      changes: [Change(action: .create, name: dn(zone), type: .mx, before: nil, after: rr(zone, .mx, 3600, ["10 mail.example.com."]))])
    }

    func testWhenNoWriterThreadCanBeStartedNoZoneIsWrittenAndEachSaysWhy() throws {
        let mem = InMemoryProvider(name: "p", zones: [:])
        let written = Tally()
        let writer = ZoneWriter(write: { cs, _ in _ = written.next(); return (.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil), false) },
                                startThread: { _ throws(ThreadStartError) in throw ThreadStartError(code: EAGAIN) })
        writer.submit(mxCreate("d0.example")) { .success(mem) }
        writer.submit(mxCreate("d1.example")) { .success(mem) }
        // Another provider instance has its own writers; none is started after the failure either.
        writer.submit(mxCreate("d2.example", provider: "q")) { .success(mem) }
        let outcomes = writer.finish()
        let why = "not attempted: no thread could be started to write zone d0.example. (pthread_create: \(String(cString: strerror(EAGAIN))))"
        XCTAssertEqual(outcomes.map { "\($0.changeset.zone.fqdn) applied \($0.applied.count) not attempted \($0.notAttempted.count): \($0.error ?? "-")" },
                       ["d0.example. applied 0 not attempted 1: \(why)",
                        "d1.example. applied 0 not attempted 1: \(why)",
                        "d2.example. applied 0 not attempted 1: \(why)"])
        XCTAssertEqual(written.count, 0, "nothing was written")
    }

    func testASecondWriterThreadThatCannotStartLeavesItsZoneToTheFirst() throws {
        let caps = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 60...86400, applyMode: .atomic, writeConcurrency: 2)
        let mem = InMemoryProvider(name: "p", zones: [:], capabilities: caps)
        let gate = Marks()
        let written = Marks()
        let starts = Tally()
        let refused = Marks()
        // The first thread starts; every later one fails. d0's write waits until d1 has been
        // submitted, so d1 finds the first writer busy and asks for a second thread.
        let writer = ZoneWriter(write: { cs, _ in
            if cs.zone.fqdn == "d0.example." { XCTAssertTrue(gate.wait { $0.contains("d1 submitted") }) }
            written.mark("wrote \(cs.zone.fqdn)")
            return (.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil), false)
        }, startThread: { body throws(ThreadStartError) in
            if starts.next() == 0 { try startDetachedThread(body); return }
            refused.mark("refused")
            throw ThreadStartError(code: EAGAIN)
        })
        writer.submit(mxCreate("d0.example")) { .success(mem) }
        writer.submit(mxCreate("d1.example")) { .success(mem) }
        gate.mark("d1 submitted")
        let outcomes = writer.finish()
        XCTAssertEqual(outcomes.map { "\($0.changeset.zone.fqdn) applied \($0.applied.count) \($0.error ?? "ok")" },
                       ["d0.example. applied 1 ok", "d1.example. applied 1 ok"])
        XCTAssertEqual(starts.count, 2)
        XCTAssertTrue(refused.wait { $0 == ["refused"] })
        XCTAssertTrue(written.wait { $0 == ["wrote d0.example.", "wrote d1.example."] })
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

/// A count several threads add to.
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    /// The count before this call, then one more.
    func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n - 1 }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
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
