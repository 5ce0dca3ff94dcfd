import Foundation

/// What a change does to one RRset.
public enum ChangeAction: String, Sendable, Codable, Hashable {
    case create, update, delete
}

/// One change to one RRset. `before` is the live RRset (nil for a create) and `after` the
/// RRset to write (nil for a delete). Both are whole RRsets, including records that
/// mailplan keeps but does not own (the apex TXT), so an RRset-level provider can replace
/// the set and a record-level provider can diff the values.
public struct Change: Sendable, Hashable, Codable {
    public let action: ChangeAction
    public let name: DomainName
    public let type: RRType
    public let before: RRset?
    public let after: RRset?
    /// Human notes explaining the change (ownership, TTL clamping, mail-safety fixes).
    public var notes: [String]
    /// What kind of difference this change repairs (`class` in JSON). Defaults from the
    /// data: create → `missing`, delete → `unwanted`, update → `ttl-only` when only the TTL
    /// differs, else `changed`; the differ marks `mail-breaking` where live data breaks mail.
    public var driftClass: DriftClass
    /// The safety gates (`--allow=<gate>`) apply needs for this change; empty for most.
    public var gates: [SafetyGate]
    /// True when the RRset also holds values mailplan does not own (the apex TXT next to the
    /// SPF value): `after` carries them exactly as read, and apply re-reads the RRset just
    /// before writing it, refusing when it changed since the plan (`shared` in JSON, present
    /// only when true).
    public let shared: Bool

    public init(action: ChangeAction, name: DomainName, type: RRType, before: RRset?, after: RRset?, notes: [String] = [],
                driftClass: DriftClass? = nil, shared: Bool = false) {
        self.action = action; self.name = name; self.type = type
        self.before = before; self.after = after; self.notes = notes; self.shared = shared
        self.driftClass = driftClass ?? DriftClass.of(action: action, name: name, before: before, after: after)
        self.gates = []
        self.gates = SafetyGate.needed(by: self)
    }
    public var key: RRsetKey { RRsetKey(name, type) }

    enum CodingKeys: String, CodingKey { case action, name, type, before, after, notes, driftClass = "class", gates, shared }
    /// `before` and `after` are always present in JSON, `null` when absent, so the schema is stable.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(action, forKey: .action)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encode(before, forKey: .before)
        try c.encode(after, forKey: .after)
        try c.encode(notes, forKey: .notes)
        try c.encode(driftClass, forKey: .driftClass)
        try c.encode(gates, forKey: .gates)
        if shared { try c.encode(true, forKey: .shared) }
    }
    /// Decodes the JSON written by ``encode(to:)`` (saved plans); `class` and `gates` are
    /// recomputed from the data when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(action: try c.decode(ChangeAction.self, forKey: .action), name: try c.decode(DomainName.self, forKey: .name),
                  type: try c.decode(RRType.self, forKey: .type), before: try c.decodeIfPresent(RRset.self, forKey: .before),
                  after: try c.decodeIfPresent(RRset.self, forKey: .after), notes: try c.decodeIfPresent([String].self, forKey: .notes) ?? [],
                  driftClass: try c.decodeIfPresent(DriftClass.self, forKey: .driftClass),
                  shared: try c.decodeIfPresent(Bool.self, forKey: .shared) ?? false)
        if let stored = try c.decodeIfPresent([SafetyGate].self, forKey: .gates) { gates = stored }
    }

    public static func create(_ rrset: RRset, notes: [String] = [], driftClass: DriftClass? = nil) -> Change {
        Change(action: .create, name: rrset.name, type: rrset.type, before: nil, after: rrset, notes: notes, driftClass: driftClass)
    }
    public static func update(from before: RRset, to after: RRset, notes: [String] = [], driftClass: DriftClass? = nil,
                              shared: Bool = false) -> Change {
        Change(action: .update, name: after.name, type: after.type, before: before, after: after, notes: notes,
               driftClass: driftClass, shared: shared)
    }

    /// True when apply must re-read the RRset just before writing it on a provider without
    /// conditional writes: a create (someone may have created the RRset since the plan) or a
    /// change to an RRset that holds values mailplan does not own (``shared``). An RRset that
    /// is wholly mailplan's is overwritten as the plan says, without a read.
    public var needsLiveCheck: Bool { action == .create || shared }
    public static func delete(_ rrset: RRset, notes: [String] = []) -> Change {
        Change(action: .delete, name: rrset.name, type: rrset.type, before: rrset, after: nil, notes: notes)
    }
}

/// The changes for one zone at one provider, ordered so that additions come before
/// removals (creates, then updates, then deletes), so mail never has a window without
/// a record.
public struct ZoneChangeset: Sendable, Hashable, Codable {
    /// The zone apex.
    public let zone: DomainName
    /// The provider instance name from the plan file (`providers:` key).
    public let provider: String
    /// The provider's `type:` (`zonefile`, `powerdns`, …).
    public let providerType: String
    public let changes: [Change]

    public init(zone: DomainName, provider: String, providerType: String, changes: [Change]) {
        self.zone = zone; self.provider = provider; self.providerType = providerType
        let rank: [ChangeAction: Int] = [.create: 0, .update: 1, .delete: 2]
        self.changes = changes.sorted { a, b in
            rank[a.action]! != rank[b.action]! ? rank[a.action]! < rank[b.action]! : a.key < b.key
        }
    }
    enum CodingKeys: String, CodingKey { case zone, provider, providerType = "provider_type", changes }
}

/// Counts used in the summary line `Plan: N to add, N to change, N to destroy.`
public struct ChangeSummary: Sendable, Hashable, Codable {
    public var add = 0, change = 0, destroy = 0
    /// PTRs to set (`--json` only, present when the plan has `server.reverse`).
    public var ptr: Int? = nil
    public init(_ changes: [Change]) {
        for c in changes {
            switch c.action { case .create: add += 1; case .update: change += 1; case .delete: destroy += 1 }
        }
    }
    public var isEmpty: Bool { add + change + destroy == 0 }
}
