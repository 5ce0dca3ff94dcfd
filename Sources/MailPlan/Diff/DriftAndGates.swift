import Foundation

/// What kind of difference between the plan and the live DNS a ``Change`` repairs. It is
/// the `class` of each change in `--json`, in saved plans and in the Markdown summary, so a
/// scheduled `mailplan plan` in CI can tell drift apart from new work.
///
/// `--detailed-exitcode` stays Terraform-compatible: any pending change, of any class,
/// exits 2.
public enum DriftClass: String, Sendable, Codable, Hashable, CaseIterable {
    /// The plan wants an RRset the provider does not hold.
    case missing
    /// A managed RRset exists but its records differ from the plan: changed outside
    /// mailplan (or the plan changed since the last apply).
    case changed
    /// A managed RRset holds the planned records and only its TTL (seconds) differs.
    case ttlOnly = "ttl-only"
    /// Live data that breaks mail delivery or authentication: a second SPF value
    /// (RFC 7208 §4.5), a second DMARC record (RFC 7489 §6.6.3), a DKIM name holding a value
    /// that is not `v=DKIM1` or a key split across several records.
    case mailBreaking = "mail-breaking"
    /// An RRset the plan no longer wants is deleted.
    case unwanted

    /// The default class of a change from its data alone.
    public static func of(action: ChangeAction, name: DomainName, before: RRset?, after: RRset?) -> DriftClass {
        switch action {
        case .create: return .missing
        case .delete: return .unwanted
        case .update:
            guard let b = before, let a = after else { return .changed }
            return b.ttl != a.ttl && Differ.sameData(b.rdata, a.rdata, at: name) ? .ttlOnly : .changed
        }
    }

    /// A short human explanation, used in the text and Markdown renderers.
    public var explanation: String {
        switch self {
        case .missing: "not at the provider"
        case .changed: "managed records differ from the plan"
        case .ttlOnly: "only the TTL differs"
        case .mailBreaking: "live data breaks mail"
        case .unwanted: "no longer in the plan"
        }
    }
}

/// A risky kind of change that `apply` performs only when the user names it with
/// `--allow=<gate>` (repeatable). Each gate is computed from the change data alone.
public enum SafetyGate: String, Sendable, Codable, Hashable, CaseIterable, Comparable {
    /// The change leaves a domain without MX (deleted, or replaced by a null MX `0 .`,
    /// RFC 7505): the domain stops receiving mail.
    case removeLastMX = "remove-last-mx"
    /// The change deletes a DKIM selector (`<selector>._domainkey`): mail still in flight
    /// signed with it fails DKIM. Retire a key with `revoked: true` first.
    case deleteDKIM = "delete-dkim"
    /// A published DMARC policy moves to `p=reject` (RFC 7489 §6.3): failing mail is refused.
    /// Publishing a first DMARC record needs no gate.
    case dmarcReject = "dmarc-reject"
    /// A published SPF record moves to `-all` (RFC 7208 §5.1): unlisted senders hard-fail.
    /// Publishing a first SPF record needs no gate.
    case spfFailAll = "spf-fail-all"
    /// With `check.smtp`: the change publishes a TLSA RRset that matches neither the chain
    /// the mail server presents now nor `server.dane.next_public_key_file`, or deletes the
    /// TLSA record that matches the presented key: DANE senders stop delivering (RFC 7672
    /// §2.2). Set by ``TLSAGate``, not from the change data alone.
    case tlsaMismatch = "tlsa-mismatch"

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// Why the gate exists, for `--help` and error messages.
    public var explanation: String {
        switch self {
        case .removeLastMX: "removes the last MX of a domain (it stops receiving mail)"
        case .deleteDKIM: "deletes a DKIM selector (mail signed with it fails DKIM)"
        case .dmarcReject: "moves DMARC to p=reject for the first time (receivers refuse failing mail)"
        case .spfFailAll: "moves SPF to -all for the first time (unlisted senders hard-fail)"
        case .tlsaMismatch: "publishes TLSA that matches neither the key the mail server presents nor the next key, or deletes the TLSA of the presented key (DANE senders stop delivering)"
        }
    }

    /// The gates one change needs.
    public static func needed(by c: Change) -> [SafetyGate] {
        var out: [SafetyGate] = []
        if c.type == .mx, let before = c.before, before.rdata.contains(where: { !isNullMX($0) }),
           c.after.map({ $0.rdata.allSatisfy(isNullMX) }) ?? true {
            out.append(.removeLastMX)
        }
        if c.type == .txt, c.action == .delete, c.name.labels.count >= 2, c.name.labels[1] == "_domainkey" {
            out.append(.deleteDKIM)
        }
        // The policy gates guard a *move* of a published policy; a first record (a new
        // domain) is a create and needs no gate.
        if c.type == .txt, c.name.labels.first == "_dmarc", let after = c.after, let before = c.before,
           after.rdata.contains(where: { dmarcPolicy($0) == "reject" }),
           before.rdata.contains(where: { dmarcPolicy($0) != nil }),
           !before.rdata.contains(where: { dmarcPolicy($0) == "reject" }) {
            out.append(.dmarcReject)
        }
        if c.type == .txt, let after = c.after, let before = c.before, after.rdata.contains(where: spfFailsAll),
           before.rdata.contains(where: { $0.txtValue.map(SPF.isSPF) ?? false }),
           !before.rdata.contains(where: spfFailsAll) {
            out.append(.spfFailAll)
        }
        return out
    }

    static func isNullMX(_ r: RData) -> Bool {
        if case .mx(_, let x) = r { return x == .root }
        return false
    }

    /// The `p=` tag of a DMARC record, lower-cased; nil for other values.
    static func dmarcPolicy(_ r: RData) -> String? {
        guard let v = r.txtValue, v.lowercased().hasPrefix("v=dmarc1") else { return nil }
        return TagList.lenient(v).value(caseInsensitive: "p")?.lowercased()
    }


    static func spfFailsAll(_ r: RData) -> Bool {
        guard let v = r.txtValue, SPF.isSPF(v) else { return false }
        return v.split(separator: " ").last.map { $0.lowercased() == "-all" } ?? false
    }

    /// The changes of `changesets` that need a gate not in `allowed`, with the missing gates.
    public static func blocked(_ changesets: [ZoneChangeset], allowed: Set<SafetyGate>) -> [(change: Change, gates: [SafetyGate])] {
        changesets.flatMap(\.changes).compactMap { c in
            let missing = c.gates.filter { !allowed.contains($0) }
            return missing.isEmpty ? nil : (c, missing)
        }
    }

    /// The refusal message for blocked changes: one line per change naming the gate and
    /// the flag to pass.
    public static func refusal(_ blocked: [(change: Change, gates: [SafetyGate])]) -> String {
        var lines = ["refusing to apply: \(blocked.count) change\(blocked.count == 1 ? " needs" : "s need") an explicit --allow:"]
        for (c, gates) in blocked {
            for g in gates { lines.append("  \(c.key): \(g.explanation); rerun with --allow=\(g.rawValue)") }
        }
        return lines.joined(separator: "\n")
    }
}
