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

/// Writes a plan's text as its zones are planned (``Engine/streamPlan(_:progress:events:)``):
/// each zone with changes as soon as it arrives, the rest when the run ends. What it writes
/// in all is exactly ``PlanRenderer/text(_:style:)`` of the whole result.
public final class PlanTextStream {
    private let style: Style
    private let write: (String) -> Void
    private var started = false

    /// - Parameter write: receives the text piece by piece (e.g. prints it).
    public init(style: Style = Style(enabled: false), write: @escaping (String) -> Void) {
        self.style = style; self.write = write
    }

    /// Writes one zone's changes (nothing for a zone without changes).
    public func zone(_ cs: ZoneChangeset) {
        guard !cs.changes.isEmpty else { return }
        if !started { started = true; write(PlanRenderer.header) }
        write(PlanRenderer.zoneSection(cs, style: style))
    }

    /// Writes what follows the zones, from the whole result of the run.
    public func finish(_ result: PlanResult) {
        if result.hasChanges && !started { started = true; write(PlanRenderer.header) }
        write(PlanRenderer.tail(result, style: style))
    }
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

    /// The whole plan: DNS changes as ``text(_:style:)``, then policy files to write, the
    /// stage of each DKIM selector in rotation, and the summary. A plan without policy files
    /// and without rotation renders exactly as ``text(_:style:)``.
    /// - Returns: the full text, ending in a newline.
    public static func text(_ result: PlanResult, style: Style = Style(enabled: false)) -> String {
        var out = ""
        let stream = PlanTextStream(style: style) { out += $0 }
        for cs in result.changesets { stream.zone(cs) }
        stream.finish(result)
        return out
    }

    /// The first line of a plan with changes.
    static let header = "mailplan will perform the following actions:\n"

    /// One zone's changes, or nothing when it has none.
    static func zoneSection(_ cs: ZoneChangeset, style: Style) -> String {
        guard !cs.changes.isEmpty else { return "" }
        var out = "\n" + style.bold("  # zone \(cs.zone.fqdn) (provider \(cs.provider), \(cs.providerType))") + "\n"
        for c in cs.changes { out += render(c, style: style) }
        return out
    }

    /// What follows the zones: PTRs, policy files, DKIM rotation and the summary line; for a
    /// plan without changes, "No changes." and the rotation.
    static func tail(_ result: PlanResult, style: Style) -> String {
        let rotation = result.rotation.isEmpty ? "" :
            "\nDKIM selectors in rotation:\n" + result.rotation.map { "  \($0.line)\n" }.joined()
        if !result.hasChanges { return "No changes. The live DNS matches the plan.\n" + rotation }
        var out = reverseSection(result.reverse, style: style)
        for f in result.files {
            out += "\n" + style.bold("  # file \(f.path) (\(f.purpose))") + "\n"
            let after = f.after.split(whereSeparator: \.isNewline).map(String.init)
            switch f.action {
            case .create:
                out += style.green("  + \(f.path)") + "\n"
                for l in after { out += style.green("      + \(l)") + "\n" }
            case .update:
                let before = (f.before ?? "").split(whereSeparator: \.isNewline).map(String.init)
                out += style.yellow("  ~ \(f.path)") + "\n"
                for l in before where after.contains(l) { out += "        \(l)\n" }
                for l in before where !after.contains(l) { out += style.red("      - \(l)") + "\n" }
                for l in after where !before.contains(l) { out += style.green("      + \(l)") + "\n" }
            }
        }
        out += rotation
        var line = summaryLine(result.summary)
        if !result.files.isEmpty {
            line = String(line.dropLast()) + ", \(result.files.count) policy file\(result.files.count == 1 ? "" : "s") to write."
        }
        if !result.reverse.isEmpty {
            line = String(line.dropLast()) + ", \(result.reverse.count) PTR record\(result.reverse.count == 1 ? "" : "s") to set."
        }
        out += "\n" + style.bold(line) + "\n"
        return out
    }

    /// The PTRs to set, grouped per reverse provider:
    /// `  ~ 25.2.0.192.in-addr.arpa. PTR old.example.net. -> mail.example.com.` (`+` when none is set).
    static func reverseSection(_ changes: [PTRChange], style: Style) -> String {
        var out = ""
        var groups: [(String, String, [PTRChange])] = []
        for c in changes {
            if let i = groups.firstIndex(where: { $0.0 == c.provider }) { groups[i].2.append(c) } else { groups.append((c.provider, c.providerType, [c])) }
        }
        for (name, type, list) in groups {
            out += "\n" + style.bold("  # reverse DNS (provider \(name), \(type))") + "\n"
            for c in list {
                if let b = c.before {
                    out += style.yellow("  ~ \(c.name.fqdn) PTR \(b.fqdn) -> \(c.after.fqdn)") + "\n"
                } else {
                    out += style.green("  + \(c.name.fqdn) PTR \(c.after.fqdn)") + "\n"
                }
                out += style.dim("      # \(c.ip): set after \(c.after.fqdn) \(c.ip.forwardType) is served (the provider checks forward DNS)") + "\n"
            }
        }
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
        if [.ttlOnly, .mailBreaking].contains(c.driftClass) {
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
    /// Policy files `apply` would write; absent when none.
    public var files: [PolicyFileChange]?
    /// DKIM selectors in rotation and their stage; absent when none.
    public var rotation: [RotationStatus]?
    /// PTRs to set through `server.reverse`; absent when the plan has no `server.reverse`.
    public var reverse: [PTRChange]?
    /// Requests the plan sent to each DNS provider instance it read (HTTP requests with
    /// every retry, DNS messages for RFC 2136; 0 for a zone file), by instance name.
    public var requests: [String: Int]?

    public init(result: PlanResult, version: String) {
        mailplanVersion = version
        planFile = result.planFile
        zones = result.changesets
        warnings = result.warnings.map(\.description)
        summary = result.summary
        files = result.files.isEmpty ? nil : result.files
        rotation = result.rotation.isEmpty ? nil : result.rotation
        if result.reverseConfigured {
            reverse = result.reverse
            summary.ptr = result.reverse.count
        }
        requests = result.requests.isEmpty ? nil : Dictionary(result.requests.map { ($0.provider, $0.requests) }, uniquingKeysWith: +)
    }
    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", mailplanVersion = "mailplan_version", planFile = "plan_file", zones, warnings, summary, files, rotation, reverse, requests
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

/// Renders a plan as GitHub-flavoured Markdown, fit for `$GITHUB_STEP_SUMMARY` or a merge
/// request comment: a headline, a table per zone with each change's class and gates, the
/// warnings, and the full text plan in a collapsed block. Reads only Changeset data.
public enum MarkdownRenderer {
    /// - Parameters:
    ///   - changesets: the zones' Changesets (zones without changes are left out).
    ///   - warnings: warning lines shown under the tables.
    ///   - title: the heading, e.g. the plan file name.
    /// - Returns: the Markdown text, ending in a newline.
    public static func render(_ changesets: [ZoneChangeset], warnings: [String] = [], title: String) -> String {
        let all = changesets.flatMap(\.changes)
        var out = "## mailplan: \(escape(title))\n\n"
        if all.isEmpty {
            out += "**No changes.** The live DNS matches the plan.\n"
        } else {
            out += "**\(PlanRenderer.summaryLine(ChangeSummary(all)))**"
            let counts = DriftClass.allCases.compactMap { c -> String? in
                let n = all.filter { $0.driftClass == c }.count
                return n == 0 ? nil : "\(n) \(c.rawValue)"
            }
            out += " Classes: " + counts.joined(separator: ", ") + ".\n"
            let gates = Set(all.flatMap(\.gates)).sorted()
            if !gates.isEmpty {
                out += "\n> [!WARNING]\n> apply needs " + gates.map { "`--allow=\($0.rawValue)`" }.joined(separator: ", ") + "\n"
            }
            for cs in changesets where !cs.changes.isEmpty {
                out += "\n### zone `\(cs.zone.fqdn)` (provider `\(escape(cs.provider))`, \(escape(cs.providerType)))\n\n"
                out += "| | RRset | TTL | class | records |\n|---|---|---|---|---|\n"
                for c in cs.changes {
                    let sign = ["create": "+", "update": "~", "delete": "-"][c.action.rawValue]!
                    let ttl: String
                    switch (c.before?.ttl, c.after?.ttl) {
                    case (let b?, let a?) where a != b: ttl = "\(b) → \(a)"
                    case (_, let a?): ttl = "\(a)"
                    case (let b?, nil): ttl = "\(b)"
                    default: ttl = ""
                    }
                    out += "| \(sign) | `\(c.key)` | \(ttl) | \(c.driftClass.rawValue)\(c.gates.map { " ⚠ `--allow=\($0.rawValue)`" }.joined()) | \(records(c)) |\n"
                }
            }
        }
        if !warnings.isEmpty {
            out += "\n**Warnings**\n\n" + warnings.map { "- \(escape($0))\n" }.joined()
        }
        if !all.isEmpty {
            out += "\n<details><summary>Full plan</summary>\n\n```\n" + PlanRenderer.text(changesets) + "```\n\n</details>\n"
        }
        return out
    }

    static func records(_ c: Change) -> String {
        let before = Set(c.before?.rdata ?? []), after = Set(c.after?.rdata ?? [])
        var parts: [String] = []
        for v in c.before?.rdata ?? [] where !after.contains(v) { parts.append("− " + code(v.display)) }
        for v in c.after?.rdata ?? [] where !before.contains(v) { parts.append("+ " + code(v.display)) }
        if parts.isEmpty { parts = (c.after?.rdata ?? []).map { code($0.display) } }
        return parts.joined(separator: "<br>")
    }

    /// A value as inline code, shortened to 60 characters, with `|` and backticks made safe.
    static func code(_ s: String) -> String {
        let short = s.count > 60 ? String(s.prefix(57)) + "…" : s
        return "`" + short.replacingOccurrences(of: "`", with: "'").replacingOccurrences(of: "|", with: "\\|") + "`"
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "<", with: "&lt;")
    }
}
