import Foundation

/// What a pipelined apply (``Engine/planAndApply(_:allowed:progress:applyProgress:events:)``) did.
public struct PipelinedApply {
    /// The whole plan; nil when planning stopped (``error``).
    public var result: PlanResult?
    /// Exactly what was applied, failed and not attempted, zone by zone in plan-file order.
    public var report: ApplyReport
    /// Changes a safety gate refused (`--allow` not given): their zone and every zone after
    /// were not written.
    public var refused: [(change: Change, gates: [SafetyGate])]
    /// Why planning stopped part-way (a zone could not be read, a plan problem): the zones
    /// written before are in ``report``.
    public var error: (any Error)?
    /// True when anything at all was written (a zone change or a policy file).
    public var wroteAnything: Bool {
        !report.filesWritten.isEmpty || report.zones.contains { !$0.applied.isEmpty || !$0.unknown.isEmpty }
    }
    /// True when a write was tried at all: something was written, or a zone or policy file
    /// failed (zones only recorded as not attempted do not count). The report is then worth
    /// showing even after a refusal.
    public var triedAnything: Bool {
        wroteAnything || report.fileError != nil || report.zones.contains { !$0.failed.isEmpty }
    }
}

extension Engine {
    /// `apply --auto-approve`: plans and writes in one pass, so zone reads go on while earlier
    /// zones are written (docs/architecture.md, "Pipelined apply"). Each zone, once planned
    /// and handed to `events`, has its safety gates checked against `allowed` and is queued
    /// for writing (``apply(changesets:files:progress:)``'s rules: compare before write,
    /// per-provider write concurrency, no zone started after a failure). A domain's policy
    /// file is written just before its zone, the files of domains whose zones change nothing
    /// once every zone applied, none after a refusal or a failure. PTRs (`server.reverse`) are
    /// set last, when every zone applied.
    ///
    /// A gate refusal stops the writes of that zone and every zone after it (the zones planned
    /// before it are written); a zone that fails stops every zone not started yet. Planning
    /// still runs to the end so the plan and the report are complete. A plan problem or a
    /// failed read stops planning; the zones planned before it are written, and the report
    /// says so.
    /// - Parameters:
    ///   - run: what to plan (``PlanRun/keepZones`` is off: memory stays flat).
    ///   - progress: read progress (from any thread); `applyProgress`: one line per zone
    ///     written (one call at a time).
    ///   - events: the plan as it is made, to render.
    public func planAndApply(_ run: PlanRun, allowed: Set<SafetyGate>, progress: (@Sendable (String) -> Void)? = nil,
                             applyProgress: @escaping (String) -> Void = { _ in },
                             events: ((PlanEvent) throws -> Void)? = nil) -> PipelinedApply {
        let serial = SerialProgress(applyProgress)
        let writer = zoneWriter(serial)
        var refused: [(change: Change, gates: [SafetyGate])] = []
        var pendingFiles: [(zone: DomainName, change: PolicyFileChange)] = []
        var written: [PolicyFileChange] = []
        var fileError: String? = nil
        // Policy files go out just before the first zone of their domain is written (RFC
        // 8461 §3.3: the policy before the new id), and only while nothing has stopped.
        func writeFiles(where wanted: (DomainName) -> Bool) {
            guard fileError == nil else { return }
            let now = pendingFiles.filter { wanted($0.zone) }
            pendingFiles.removeAll { wanted($0.zone) }
            if let f = writePolicyFiles(now.map(\.change), written: &written, progress: serial.call) {
                fileError = f
                writer.stop("a policy file could not be written")
            }
        }
        var result: PlanResult? = nil
        var failure: (any Error)? = nil
        do {
            pendingFiles = try policyFileChangesByZone()
            let files = pendingFiles.map(\.change)
            result = try streamPlan(run, progress: progress, files: files) { event in
                try events?(event)
                guard case .zone(let zp) = event, !zp.changeset.changes.isEmpty else { return }
                let blocked = SafetyGate.blocked([zp.changeset], allowed: allowed)
                if !blocked.isEmpty {
                    refused += blocked
                    writer.stop("a change needs an explicit --allow")
                } else if refused.isEmpty {
                    writeFiles { $0 == zp.changeset.zone }
                }
                self.submit(zp.changeset, to: writer)
            }
        } catch {
            failure = error
            writer.stop("planning stopped: \(error)")
        }
        var report = ApplyReport(zones: writer.finish())
        // The files of domains whose zones had nothing to write, once everything applied.
        if failure == nil && refused.isEmpty && report.succeeded { writeFiles { _ in true } }
        report.filesWritten = written
        report.fileError = fileError
        if failure != nil {
            report.stopped = "planning stopped before every zone was planned: the zones after it were neither planned nor written"
        }
        if let result, !result.reverse.isEmpty {
            if report.succeeded && refused.isEmpty {
                report.reverse = applyReverse(result.reverse, progress: serial.call)
            } else {
                var r = ReverseApplyReport(provider: result.reverse[0].provider, providerType: result.reverse[0].providerType)
                r.notAttempted = result.reverse
                r.error = "not attempted: the zone changes did not all apply"
                report.reverse = r
            }
        }
        return PipelinedApply(result: result, report: report, refused: refused, error: failure)
    }
}
