import Foundation

/// ANSI styling, used only when writing to a terminal and `NO_COLOR` is unset
/// (https://no-color.org).
public struct Style: Sendable {
    public let enabled: Bool
    public init(enabled: Bool) { self.enabled = enabled }
    /// Colour when `isTerminal` and `NO_COLOR` is absent or empty.
    public static func auto(isTerminal: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
        Style(enabled: isTerminal && (environment["NO_COLOR"] ?? "").isEmpty)
    }
    func wrap(_ s: String, _ code: String) -> String { enabled ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
    func green(_ s: String) -> String { wrap(s, "32") }
    func red(_ s: String) -> String { wrap(s, "31") }
    func yellow(_ s: String) -> String { wrap(s, "33") }
    func bold(_ s: String) -> String { wrap(s, "1") }
    func dim(_ s: String) -> String { wrap(s, "2") }
}

/// Renders a plan as Terraform-like text: `+` create, `~` update (values kept, removed
/// with `-`, added with `+`), `-` delete, then `Plan: N to add, N to change, N to destroy.`
/// It reads only the Changeset data, the same data `--json` prints.
public enum PlanRenderer {
    /// - Returns: the full text, ending in a newline.
    public static func text(_ changesets: [ZoneChangeset], style: Style = Style(enabled: false)) -> String {
        let all = changesets.flatMap(\.changes)
        if all.isEmpty { return "No changes. The live DNS matches the plan.\n" }
        var out = "mailplan will perform the following actions:\n"
        for cs in changesets where !cs.changes.isEmpty {
            out += "\n" + style.bold("  # zone \(cs.zone.fqdn) (provider \(cs.provider), \(cs.providerType))") + "\n"
            for c in cs.changes { out += render(c, style: style) }
        }
        let s = ChangeSummary(all)
        out += "\n" + style.bold("Plan: \(s.add) to add, \(s.change) to change, \(s.destroy) to destroy.") + "\n"
        return out
    }

    static func render(_ c: Change, style: Style) -> String {
        var out = ""
        switch c.action {
        case .create:
            let a = c.after!
            out += style.green("  + \(c.name.fqdn) \(c.type) ttl \(a.ttl)") + "\n"
            for v in a.rdata { out += style.green("      + \(v.display)") + "\n" }
        case .delete:
            let b = c.before!
            out += style.red("  - \(c.name.fqdn) \(c.type) ttl \(b.ttl)") + "\n"
            for v in b.rdata { out += style.red("      - \(v.display)") + "\n" }
        case .update:
            let b = c.before!, a = c.after!
            let ttl = a.ttl == b.ttl ? "ttl \(a.ttl)" : "ttl \(b.ttl) -> \(a.ttl)"
            out += style.yellow("  ~ \(c.name.fqdn) \(c.type) \(ttl)") + "\n"
            let before = b.rdata.map { Differ.comparable($0, at: c.name) }
            let after = a.rdata.map { Differ.comparable($0, at: c.name) }
            for (i, v) in b.rdata.enumerated() where after.contains(before[i]) { out += "        \(v.display)\n" }
            for (i, v) in b.rdata.enumerated() where !after.contains(before[i]) { out += style.red("      - \(v.display)") + "\n" }
            for (i, v) in a.rdata.enumerated() where !before.contains(after[i]) { out += style.green("      + \(v.display)") + "\n" }
        }
        for n in c.notes { out += style.dim("      # \(n)") + "\n" }
        // The common classes (missing, changed, unwanted) are plain from the marker; the
        // others get a line so drift reports can tell them apart.
        if [.ttlOnly, .mailBreaking, .servedMismatch].contains(c.driftClass) {
            out += style.dim("      # class \(c.driftClass.rawValue): \(c.driftClass.explanation)") + "\n"
        }
        for g in c.gates { out += style.yellow("      # apply needs --allow=\(g.rawValue): \(g.explanation)") + "\n" }
        return out
    }

    /// The summary line alone: `Plan: 1 to add, 0 to change, 0 to destroy.`
    public static func summaryLine(_ s: ChangeSummary) -> String {
        "Plan: \(s.add) to add, \(s.change) to change, \(s.destroy) to destroy."
    }
}

/// The `--json` document of a plan (`docs/json-output.md`, `format_version` "1").
public struct PlanDocument: Codable, Sendable {
    public var formatVersion = "1"
    public var mailplanVersion: String
    public var planFile: String
    public var zones: [ZoneChangeset]
    public var warnings: [String]
    public var summary: ChangeSummary

    public init(result: PlanResult, version: String) {
        mailplanVersion = version
        planFile = result.planFile
        zones = result.changesets
        warnings = result.warnings.map(\.description)
        summary = result.summary
    }
    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", mailplanVersion = "mailplan_version", planFile = "plan_file", zones, warnings, summary
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }
}

/// mailplan's version string.
public enum MailPlanVersion {
    public static let current = "0.1.0"
}
