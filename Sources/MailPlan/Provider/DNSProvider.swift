import Foundation

/// How an adapter's writes of one zone land.
public enum ApplyMode: String, Sendable, Codable {
    /// The zone's whole Changeset is one all-or-nothing write (a PowerDNS PATCH, a Route 53
    /// change batch, a Cloudflare batch, a deSEC bulk request, an RFC 2136 UPDATE, a zone file
    /// replaced whole). When its reply is lost, the engine reads the zone again and finds it
    /// either all applied or not at all (``Engine/apply(changesets:files:progress:)``).
    case atomic
    /// One write per change (or per record): a failure leaves the earlier writes applied,
    /// and the adapter reports which (DigitalOcean, Hetzner, Gandi).
    case recordByRecord
}

/// One setting of an adapter's plan-file entry (`providers.<name>.<setting>`): the settings
/// test and `docs/plan-file.md` read these.
public struct ProviderSetting: Sendable, Hashable {
    public let name: String
    public let required: Bool
    /// A credential: written as `${ENV_VAR}` and never printed.
    public let secret: Bool
    /// What the setting means, as the docs table says.
    public let meaning: String
    public init(_ name: String, required: Bool = false, secret: Bool = false, _ meaning: String) {
        self.name = name; self.required = required; self.secret = secret; self.meaning = meaning
    }
}

/// What a provider can hold, declared by each adapter and checked offline before any API
/// call (`mailplan validate`).
public struct ProviderCapabilities: Sendable, Hashable {
    /// RR types the provider can write.
    public var supportedTypes: Set<RRType>
    /// Lowest and highest TTL in seconds the provider accepts; desired TTLs outside are
    /// clamped with a note in the plan.
    public var ttlRange: ClosedRange<UInt32>
    /// Whether a zone's Changeset is one all-or-nothing write or one write per change.
    public var applyMode: ApplyMode
    /// How many zones may be written to one server at the same time (PowerDNS with sqlite: 2).
    public var writeConcurrency: Int
    /// Largest logical TXT value in bytes the provider accepts, if it has a limit.
    public var maxTXTLength: Int?
    /// The TTL value (seconds field) the provider uses to mean "automatic" (Cloudflare: `1`),
    /// or nil when it has none. A plan's `ttl: auto` (``Defaults/automaticTTL``) becomes
    /// this value; on a provider without it, `ttl: auto` is a validation error.
    public var autoTTL: UInt32?
    /// True when the adapter's write itself refuses to overwrite an RRset that changed since
    /// the plan was read (the zone file compares the file, RFC 2136 sends prerequisites).
    /// For every other adapter the engine re-reads, just before writing a zone, the RRsets
    /// whose change ``Change/needsLiveCheck`` and refuses the zone when one differs from what
    /// the plan was made from (docs/architecture.md, "Concurrent edits").
    public var conditionalWrites: Bool
    /// The provider's documented rate limit, which a ``TokenBucket`` on the provider
    /// instance's session keeps (``ProviderSession/pace(_:)``), or nil when none is documented
    /// (a server the user runs: PowerDNS, an RFC 2136 primary, a zone file).
    public var rateLimit: RateLimit?

    public init(supportedTypes: Set<RRType>, ttlRange: ClosedRange<UInt32> = 1...2_147_483_647,
                applyMode: ApplyMode, maxTXTLength: Int? = nil, autoTTL: UInt32? = nil,
                conditionalWrites: Bool = false, writeConcurrency: Int = 1, rateLimit: RateLimit? = nil) {
        self.supportedTypes = supportedTypes; self.ttlRange = ttlRange
        self.applyMode = applyMode; self.maxTXTLength = maxTXTLength
        self.autoTTL = autoTTL; self.conditionalWrites = conditionalWrites; self.writeConcurrency = writeConcurrency
        self.rateLimit = rateLimit
    }
}

/// A live RRset whose records equal what the plan wants but whose provider-side form must
/// be rewritten: a provider attribute that breaks mail (Cloudflare `proxied: true` on the
/// mail host, case C13) or a stored form the provider should not keep (one TXT string over
/// 255 bytes, case C01). Reported by an adapter after ``DNSProvider/readZone(_:)``; the engine
/// turns it into an update (with ``note``) when the plan fully manages the RRset, and into a
/// warning when ``mailSafety`` is set and the name is a mail host the plan does not manage.
public struct ProviderFix: Sendable, Hashable {
    public let key: RRsetKey
    /// Shown under the change, e.g. `mail-safety fix: proxied → false`.
    public let note: String
    /// True when the live form breaks mail delivery (not only style).
    public let mailSafety: Bool
    public init(key: RRsetKey, note: String, mailSafety: Bool) {
        self.key = key; self.note = note; self.mailSafety = mailSafety
    }
}

/// An adapter to one DNS hosting API or store. The engine knows providers only through
/// this protocol; providers know nothing of the CLI.
public protocol DNSProvider: AnyObject {
    /// The instance name from the plan file's `providers:` map (e.g. `local`).
    var instanceName: String { get }
    /// The adapter's `type:` name (e.g. `zonefile`).
    var typeName: String { get }
    var capabilities: ProviderCapabilities { get }

    /// Reads every RRset of `zone` as the provider holds it now.
    /// - Returns: all RRsets, including ones mailplan does not manage.
    /// - Throws: ``ProviderError`` when the zone is missing or cannot be read completely. A
    ///   failed or partial read must throw: it is never an empty zone.
    func readZone(_ zone: DomainName) throws -> [RRset]

    /// Reads `zone` for a plan that manages the RRsets `managed` (owner name, type). An
    /// adapter that can read the whole zone returns the same as ``readZone(_:)`` (the
    /// default); one that sometimes cannot (an RFC 2136 primary refusing AXFR) may instead
    /// read just these RRsets, plus a CNAME found at any of their names, and say so in
    /// ``readWarnings(_:)``.
    /// - Parameters:
    ///   - zone: the zone apex.
    ///   - managed: the keys of the desired RRsets (including ones the plan deletes) and any
    ///     other key the engine inspects, such as the mail host's AAAA.
    /// - Returns: every RRset read; at least every live RRset among `managed`.
    /// - Throws: ``ProviderError``, as ``readZone(_:)``: a failed read is never absent data.
    func readZone(_ zone: DomainName, managed: [RRsetKey]) throws -> [RRset]

    /// Warnings about how the last ``readZone(_:managed:)`` of `zone` read it (e.g. "zone
    /// transfer refused: read by query instead"), shown with the plan. Default: none.
    func readWarnings(_ zone: DomainName) -> [Diagnostic]

    /// Writes one zone's Changeset.
    /// - Throws: ``ApplyError`` saying which changes were applied, which failed and which
    ///   were not attempted; an atomic provider reports nothing applied on failure.
    func apply(_ changeset: ZoneChangeset) throws

    /// Offline, provider-specific checks of one zone's desired RRsets that
    /// ``ProviderCapabilities`` cannot express (e.g. "no null MX", "no proxying of a mail
    /// host"), run by `mailplan validate` before any API call. Default: none.
    /// - Returns: error diagnostics naming the RRset and the provider.
    func audit(_ zone: DesiredZone) -> [Diagnostic]

    /// Fixes to the provider-side form of live RRsets found by the last
    /// ``readZone(_:)`` of `zone` (see ``ProviderFix``). Default: none.
    func providerFixes(_ zone: DomainName) -> [ProviderFix]
}

extension DNSProvider {
    public func audit(_ zone: DesiredZone) -> [Diagnostic] { [] }
    public func providerFixes(_ zone: DomainName) -> [ProviderFix] { [] }
    public func readZone(_ zone: DomainName, managed: [RRsetKey]) throws -> [RRset] { try readZone(zone) }
    public func readWarnings(_ zone: DomainName) -> [Diagnostic] { [] }
}

/// An adapter type: its plan-file `type:` name, the settings it takes, what it can hold, and
/// how to build one from a plan file's provider entry (DNSControl registers providers with a
/// capability table; octoDNS providers declare `SUPPORTS`). The registry is a list of these.
public protocol DNSProviderType: DNSProvider {
    /// The plan file's `type:` (e.g. `powerdns`).
    static var typeName: String { get }
    /// Every setting the adapter accepts.
    static var settings: [ProviderSetting] { get }
    /// What the adapter can hold and how it writes (an instance may narrow it from its
    /// settings, e.g. deSEC's account minimum TTL).
    static var capabilities: ProviderCapabilities { get }
    /// Builds the adapter from its settings, offline.
    /// - Throws: ``DiagnosticsError`` naming file:line:column for a missing or invalid setting.
    init(config: ProviderConfig) throws
    /// Builds the adapter with `environment` in place of the process environment, for the
    /// adapters whose credentials come from it (Route 53's AWS variables). Default: ``init(config:)``.
    init(config: ProviderConfig, environment: [String: String]) throws
}

extension DNSProviderType {
    public init(config: ProviderConfig, environment: [String: String]) throws { try self.init(config: config) }
    public var typeName: String { Self.typeName }
    public var capabilities: ProviderCapabilities { Self.capabilities }
    /// The names of ``settings``, for ``ProviderConfig/checkKeys(allowed:)``.
    public static var settingNames: [String] { settings.map(\.name) }
}

/// A provider failure, naming the provider and what it was doing. Never contains a secret.
public struct ProviderError: Error, CustomStringConvertible, Sendable {
    public let provider: String
    public let message: String
    public init(provider: String, _ message: String) { self.provider = provider; self.message = message }
    public var description: String { "provider \(provider): \(message)" }
}

/// A failed apply: exactly what was applied before the failure, the change that failed and
/// the changes that were not attempted.
public struct ApplyError: Error, CustomStringConvertible, Sendable {
    public let provider: String
    public let zone: DomainName
    public let applied: [Change]
    public let failed: [Change]
    public let notAttempted: [Change]
    /// Changes whose outcome is not known (a reply was lost and the result could not be
    /// seen): to be checked with `mailplan plan` before applying again.
    public let unknown: [Change]
    public let reason: String
    public init(provider: String, zone: DomainName, applied: [Change], failed: [Change], notAttempted: [Change],
                unknown: [Change] = [], reason: String) {
        self.provider = provider; self.zone = zone; self.applied = applied
        self.failed = failed; self.notAttempted = notAttempted; self.unknown = unknown; self.reason = reason
    }
    public var description: String { "provider \(provider), zone \(zone.fqdn): \(reason)" }

    /// A failure part-way through a record-by-record write: `applied` went through, `failed`
    /// (and `unknown`, whose outcome is not known) did not or may not have; every other change
    /// of `changes` was not attempted.
    public static func partial(provider: String, zone: DomainName, _ changes: [Change], applied: [Change], failed: [Change],
                               unknown: [Change] = [], reason: String) -> ApplyError {
        let rest = changes.filter { c in !applied.contains(c) && !failed.contains(c) && !unknown.contains(c) }
        return ApplyError(provider: provider, zone: zone, applied: applied, failed: failed, notAttempted: rest, unknown: unknown, reason: reason)
    }

    /// A refused all-or-nothing write: nothing was applied; `failed` are the changes the
    /// provider named (all of them when it named none), the others were not attempted.
    public static func nothingApplied(provider: String, zone: DomainName, _ changes: [Change], failed: [Change], reason: String) -> ApplyError {
        let f = failed.isEmpty ? changes : failed
        return ApplyError(provider: provider, zone: zone, applied: [], failed: f,
                          notAttempted: changes.filter { c in !f.contains { $0.key == c.key } }, reason: reason)
    }

    /// The error of an all-or-nothing write whose request failed in transport (`error`, as
    /// text): when the reply was lost (`outcomeUnknown`) the write may have landed
    /// (``outcomeUnknown(provider:zone:applied:_:notAttempted:reason:)``, settled by the engine),
    /// else nothing was applied.
    /// - Parameter write: what was sent, e.g. "the PATCH"; `vendor`: who applies it whole.
    public static func transport(provider: String, zone: DomainName, _ changes: [Change], error: String, outcomeUnknown: Bool,
                                 write: String, vendor: String) -> ApplyError {
        outcomeUnknown
            ? .outcomeUnknown(provider: provider, zone: zone, changes, reason: "\(error); \(write) may or may not have been applied (\(vendor) applies it whole or not at all)")
            : .nothingApplied(provider: provider, zone: zone, changes, failed: [], reason: "\(error); nothing was applied")
    }

    /// A write whose reply was lost: `changes` may or may not have been applied. The engine
    /// reads the zone again to tell (``ApplyMode/atomic`` adapters).
    public static func outcomeUnknown(provider: String, zone: DomainName, applied: [Change] = [], _ changes: [Change],
                                      notAttempted: [Change] = [], reason: String) -> ApplyError {
        ApplyError(provider: provider, zone: zone, applied: applied, failed: [], notAttempted: notAttempted, unknown: changes, reason: reason)
    }
}
