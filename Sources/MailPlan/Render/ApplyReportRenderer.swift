import Foundation

/// Renders what an apply did (``ApplyReport``), beside ``PlanRenderer``: the lines for
/// standard output (files written, the reverse step, the closing summary) and for standard
/// error (each failed zone's error and exactly which changes were applied, failed, not known
/// or not attempted). The CLI prints them; it renders nothing itself.
public enum ApplyReportRenderer {
    /// The rendered report.
    public struct Text: Sendable, Equatable {
        /// Lines for standard output, in order.
        public var stdout: [String] = []
        /// Lines for standard error, in order.
        public var stderr: [String] = []
    }

    /// - Returns: the lines of `report`; the last standard-output line is "Apply complete! …"
    ///   or "Apply failed. Applied: …; run 'mailplan plan' to see what is left."
    public static func render(_ report: ApplyReport) -> Text {
        var t = Text()
        for f in report.filesWritten { t.stdout.append("Wrote \(f.path) (\(f.purpose)).") }
        if let e = report.fileError {
            // A pipelined apply may have written earlier zones before the file failed.
            let before = report.zones.contains { !$0.applied.isEmpty }
            t.stderr.append("error: \(e); " + (before ? "no zone after it was written" : "no DNS change was made"))
        }
        for z in report.zones where z.error != nil {
            t.stderr.append("error: \(z.error!)")
            for c in z.applied { t.stderr.append("  applied:       \(c.action.rawValue) \(c.key)") }
            for c in z.failed { t.stderr.append("  failed:        \(c.action.rawValue) \(c.key)") }
            for c in z.unknown { t.stderr.append("  unknown, check: \(c.action.rawValue) \(c.key)") }
            for c in z.notAttempted { t.stderr.append("  not attempted: \(c.action.rawValue) \(c.key)") }
        }
        if let s = report.stopped { t.stderr.append("error: \(s)") }
        if let r = report.reverse {
            // PTRs (server.reverse): set after the zones, once forward DNS is served.
            t.stdout += r.lines
            if let e = r.error {
                for l in e.split(separator: "\n") { t.stderr.append("error: \(l)") }
                func ptr(_ c: PTRChange) -> String { "PTR \(c.name.fqdn) -> \(c.after.fqdn) (\(c.ip))" }
                for c in r.applied { t.stderr.append("  applied:       " + ptr(c)) }
                for c in r.failed { t.stderr.append("  failed:        " + ptr(c)) }
                for c in r.notAttempted { t.stderr.append("  not attempted: " + ptr(c)) }
            }
        }
        let s = report.appliedSummary
        if report.succeeded {
            let ptr = report.reverse.map { " PTR records: \($0.applied.count) set." } ?? ""
            t.stdout.append("Apply complete! Records: \(s.add) added, \(s.change) changed, \(s.destroy) destroyed.\(ptr)")
        } else {
            let ptr = report.reverse.map { ", \($0.applied.count) PTR record\($0.applied.count == 1 ? "" : "s") set" } ?? ""
            t.stdout.append("Apply failed. Applied: \(s.add) added, \(s.change) changed, \(s.destroy) destroyed\(ptr); run 'mailplan plan' to see what is left.")
        }
        return t
    }
}
