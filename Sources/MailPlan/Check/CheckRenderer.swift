import Foundation

/// Renders `mailplan check` findings as a table for people and as JSON for machines.
public enum CheckRenderer {
    /// A table `STATUS  CHECK  SUBJECT  MESSAGE` (expected/served values on indented lines
    /// under a problem), then a summary line. Ends in a newline.
    public static func table(_ findings: [Finding], style: Style = Style(enabled: false)) -> String {
        let rows = findings.map { ($0.severity.rawValue.uppercased(), $0.check, $0.subject, $0) }
        let w0 = max(6, rows.map(\.0.count).max() ?? 0), w1 = max(5, rows.map(\.1.count).max() ?? 0), w2 = max(7, rows.map(\.2.count).max() ?? 0)
        func pad(_ s: String, _ w: Int) -> String { s + String(repeating: " ", count: max(0, w - s.count)) }
        var out = pad("STATUS", w0) + "  " + pad("CHECK", w1) + "  " + pad("SUBJECT", w2) + "  MESSAGE\n"
        for (sev, check, subject, f) in rows {
            let status: String
            switch f.severity {
            case .ok: status = style.green(pad(sev, w0))
            case .info: status = style.dim(pad(sev, w0))
            case .warning: status = style.yellow(pad(sev, w0))
            case .error: status = style.red(pad(sev, w0))
            }
            out += status + "  " + pad(check, w1) + "  " + pad(subject, w2) + "  " + f.message + "\n"
            if f.isProblem {
                let indent = String(repeating: " ", count: w0 + w1 + w2 + 6)
                // A multi-line value (an MTA-STS policy) stays under its own row: each
                // further line is indented past the "expected: " label.
                func block(_ label: String, _ value: String) -> String {
                    let cont = "\n" + indent + String(repeating: " ", count: label.count)
                    return indent + label + value.trimmingTrailingNewlines.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).joined(separator: cont) + "\n"
                }
                if let e = f.expected { out += block("expected: ", e) }
                if let a = f.actual { out += block("served:   ", a) }
            }
        }
        let e = findings.filter { $0.severity == .error }.count, w = findings.filter { $0.severity == .warning }.count
        let ok = findings.filter { $0.severity == .ok }.count
        out += "\nCheck: \(ok) ok, \(w) warning\(w == 1 ? "" : "s"), \(e) error\(e == 1 ? "" : "s").\n"
        return out
    }
}

/// The `--json` document of `mailplan check` (`format_version` "1"): every finding with its
/// severity, check, subject, message, expected and served values, and the counts.
public struct CheckDocument: Codable, Sendable {
    public struct Counts: Codable, Sendable, Hashable { public var ok = 0, info = 0, warning = 0, error = 0 }
    public var formatVersion = "1"
    public var mailplanVersion: String
    public var planFile: String
    public var findings: [Finding]
    public var counts: Counts

    public init(planFile: String, findings: [Finding], version: String = MailPlanVersion.current) {
        self.mailplanVersion = version; self.planFile = planFile; self.findings = findings
        var c = Counts()
        for f in findings {
            switch f.severity { case .ok: c.ok += 1; case .info: c.info += 1; case .warning: c.warning += 1; case .error: c.error += 1 }
        }
        counts = c
    }
    enum CodingKeys: String, CodingKey { case formatVersion = "format_version", mailplanVersion = "mailplan_version", planFile = "plan_file", findings, counts }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }
}

extension String {
    /// The text without its final line breaks (`\n`, `\r\n`).
    var trimmingTrailingNewlines: Substring {
        var s = Substring(self)
        while let last = s.last, last.isNewline { s.removeLast() }
        return s
    }
}
