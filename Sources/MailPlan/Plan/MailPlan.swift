import Foundation

/// A parsed, validated plan file (`docs/plan-file.md`). Build one with ``PlanLoader``.
public struct MailPlan: Sendable {
    /// The plan file's path as the user gave it (used in messages).
    public let file: String
    /// The directory relative paths (zone files, key files) resolve against.
    public let baseDirectory: URL
    /// SHA-256 (hex) of the plan file's bytes.
    public let sha256: String
    public let server: ServerPlan
    /// Provider instances in the order written.
    public let providers: [ProviderConfig]
    public let defaults: Defaults
    public let domains: [DomainPlan]
    /// The `dns:` block: name servers for live checks (``DNSSettings/notConfigured`` when absent).
    public var dns: DNSSettings = .notConfigured
    /// The `check:` block: DNSBLs for `mailplan check`.
    public var check: CheckSettings = .defaults
    /// Files the plan read besides itself (DKIM `public_key_file`s), in plan order; saved
    /// plans record their SHA-256 so a changed key makes the saved plan stale.
    public internal(set) var keyFiles: [PlanKeyFile] = []
    /// Warnings found while loading (weak keys, deprecated tags, long records); never fatal.
    public var warnings: [Diagnostic] = []

    public func provider(named name: String) -> ProviderConfig? { providers.first { $0.name == name } }
}

/// The mail host: its name and the addresses it sends from and receives on.
public struct ServerPlan: Sendable {
    /// The host name; it gets A/AAAA records and must be the PTR of each address.
    public let hostname: DomainName
    public let ipv4: [IPv4Address]
    public let ipv6: [IPv6Address]
    public let location: SourceLocation?
    /// `helo_spf: true`: publish `v=spf1 a -all` at the host name for the HELO identity
    /// (RFC 7208 §2.3), managed like an apex SPF (only the `v=spf1` value is owned).
    public var heloSPF: Bool = false
    /// `dane:` → TLSA `_25._tcp.<hostname>` (RFC 7672).
    public var dane: DANEPlan? = nil
    /// `reverse:` → the provider that sets the PTR of each address (``ReverseSettings``).
    public var reverse: ReverseSettings? = nil
}

/// DANE for the mail host: TLSA `3 1 1` (DANE-EE, SubjectPublicKeyInfo, SHA-256) values at
/// `_25._tcp.<server.hostname>`, the current key and optionally the next one (rollover:
/// publish the next key at least two TTLs before the certificate switches to it).
public struct DANEPlan: Sendable, Hashable {
    /// SHA-256 of the current SubjectPublicKeyInfo, lower-case hex.
    public let current: String
    /// SHA-256 of the next key's SubjectPublicKeyInfo, when a rollover is prepared.
    public let next: String?
    public let location: SourceLocation?
    /// The TLSA rdata: one record per key.
    public var rdata: [RData] {
        ([current] + (next.map { [$0] } ?? [])).map { .tlsa(usage: 3, selector: 1, matchingType: 1, data: $0) }
    }
}

/// Plan-wide defaults.
public struct Defaults: Sendable {
    /// TTL in seconds for every generated RRset without its own; 3600 when unset.
    public let ttl: UInt32

    /// The TTL a plan holds for `ttl: auto` ("let the provider choose"). It is above the
    /// largest TTL RFC 2181 §8 allows, so it never collides with a real TTL; the engine
    /// replaces it with the provider's ``ProviderCapabilities/autoTTL`` or rejects it.
    public static let automaticTTL: UInt32 = .max
}

/// One MX target.
public struct MXTarget: Sendable, Hashable {
    public let preference: UInt16
    /// The exchange host; `.` for a null MX (RFC 7505).
    public let exchange: DomainName
}

/// SPF policy for a domain (RFC 7208).
public struct SPFPolicy: Sendable, Hashable {
    /// Terms in order, e.g. `mx`, `ip4:192.0.2.0/24`, `include:_spf.example.net`, `redirect=…`.
    public let terms: [String]
    /// The closing `all` term (`-all`, `~all`, `?all`), or nil when the record ends in `redirect=`.
    public let all: String?
    /// The TXT value: `v=spf1 <terms> <all>`.
    public var record: String { (["v=spf1"] + terms + (all.map { [$0] } ?? [])).joined(separator: " ") }
    /// Include targets (`_spf.example.net`, no trailing dot) whose current ip4/ip6 set is
    /// published instead of the include (`senders: [{include: …, flatten: true}]`), resolved
    /// at plan time; needs `dns.resolvers`.
    public var flatten: [String] = []
    /// `senders_expected`: addresses that must get `pass` from the planned record
    /// (checked at plan time with `check_host()`, RFC 7208 §4; needs `dns.resolvers`).
    public var sendersExpected: [SPFAddress] = []
}

/// A DKIM public key published under `<selector>._domainkey.<domain>` (RFC 6376 §3.6).
public struct DKIMSelectorPlan: Sendable, Hashable {
    public let selector: String
    /// The TXT value, `v=DKIM1; k=…; p=…` with no whitespace inside `p=` (empty for a
    /// CNAME-delegated selector or a removed one without a key).
    public let record: String
    public let key: DKIMKeyInfo
    public let location: SourceLocation?
    /// `cname:`: the selector is delegated to a host (a mail provider that rotates its own
    /// keys); a CNAME RRset is published instead of a TXT.
    public var cname: DomainName? = nil
    /// Where the selector is in its rotation lifecycle.
    public var lifecycle: DKIMLifecycle = .active

    /// The stage at `now`.
    public func stage(at now: Date) -> DKIMStage { lifecycle.stage(at: now) }

    /// The revoked form of ``record``: every tag kept, `p=` emptied (RFC 6376 §3.6.1).
    public var revokedRecord: String {
        let kept = TagList.lenient(record).tags.filter { $0.name != "p" }.map { "\($0.name)=\($0.value)" }
        return (kept.isEmpty ? ["v=DKIM1"] : kept).joined(separator: "; ") + "; p="
    }
}

/// The rotation lifecycle a plan declares for a DKIM selector. Only an explicit statement
/// (`state: removed`, or `remove_after:` once passed) ever deletes a selector's RRset.
public enum DKIMLifecycle: Sendable, Hashable {
    /// `state: active` (default): published as given.
    case active
    /// `state: retiring, until: D[, remove_after: R]`: published as given through D (UTC),
    /// published revoked (`p=` empty) from the day after D, deleted from the day after R.
    case retiring(until: PlanDate, removeAfter: PlanDate?)
    /// `state: revoked[, remove_after: R]` (or `revoked: true`): published with an empty `p=`.
    case revoked(removeAfter: PlanDate?)
    /// `state: removed`: the RRset is deleted if it exists.
    case removed

    /// The stage at `now` (dates are whole UTC days).
    public func stage(at now: Date) -> DKIMStage {
        switch self {
        case .active: return .active
        case .retiring(let until, let removeAfter):
            if now < until.end { return .retiring(until: until, removeAfter: removeAfter) }
            if let r = removeAfter, now >= r.end { return .removed(since: r.next) }
            return .revoked(since: until.next, removeAfter: removeAfter)
        case .revoked(let removeAfter):
            if let r = removeAfter, now >= r.end { return .removed(since: r.next) }
            return .revoked(since: nil, removeAfter: removeAfter)
        case .removed: return .removed(since: nil)
        }
    }

    /// True for every state but `active`: such selectors get a line in `plan` output.
    public var isRotating: Bool { self != .active }
}

/// What is published for a selector on a given day.
public enum DKIMStage: Sendable, Hashable, CustomStringConvertible {
    case active
    case retiring(until: PlanDate, removeAfter: PlanDate?)
    case revoked(since: PlanDate?, removeAfter: PlanDate?)
    case removed(since: PlanDate?)

    public var description: String {
        switch self {
        case .active: return "active"
        case .retiring(let until, let r):
            return "retiring: published until \(until), revoked from \(until.next)" + (r.map { ", removed from \($0.next)" } ?? "")
        case .revoked(let since, let r):
            return "revoked" + (since.map { " since \($0)" } ?? "") + " (p= empty)" + (r.map { ", removed from \($0.next)" } ?? "")
        case .removed(let since):
            return "removed" + (since.map { " since \($0)" } ?? "")
        }
    }
}

/// A DMARC policy value: what a receiver does with mail that fails (RFC 7489 §6.3 `p=`).
public enum DMARCPolicyValue: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case none, quarantine, reject
    public var description: String { rawValue }
}

/// An MTA-STS policy mode (RFC 8461 §3.2).
public enum MTASTSMode: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case enforce, testing, none
    public var description: String { rawValue }
}

/// DMARC policy (RFC 7489 §6.3; `np` from DMARCbis).
public struct DMARCPolicy: Sendable, Hashable {
    public let policy: DMARCPolicyValue
    public let subdomainPolicy: DMARCPolicyValue?
    public let rua: [String]
    public let ruf: [String]
    public let adkim: String?
    public let aspf: String?
    public let pct: Int?
    public let fo: String?
    /// `np=`: policy for non-existent subdomains (DMARCbis).
    public var nonexistentPolicy: DMARCPolicyValue? = nil
    /// `rf=`: failure report format (`afrf`; deprecated by DMARCbis).
    public var rf: String? = nil
    /// `ri=`: aggregate report interval in seconds (deprecated by DMARCbis).
    public var ri: Int? = nil
    /// The TXT value at `_dmarc.<domain>`, tags in a fixed order: v, p, sp, np, adkim, aspf,
    /// pct, fo, rf, ri, rua, ruf.
    public var record: String {
        var tags = ["v=DMARC1", "p=\(policy)"]
        if let subdomainPolicy { tags.append("sp=\(subdomainPolicy)") }
        if let nonexistentPolicy { tags.append("np=\(nonexistentPolicy)") }
        if let adkim { tags.append("adkim=\(adkim)") }
        if let aspf { tags.append("aspf=\(aspf)") }
        if let pct { tags.append("pct=\(pct)") }
        if let fo { tags.append("fo=\(fo)") }
        if let rf { tags.append("rf=\(rf)") }
        if let ri { tags.append("ri=\(ri)") }
        if !rua.isEmpty { tags.append("rua=" + rua.joined(separator: ",")) }
        if !ruf.isEmpty { tags.append("ruf=" + ruf.joined(separator: ",")) }
        return tags.joined(separator: "; ")
    }
}

/// A DMARC report URI's parts (RFC 7489 §6.2: `mailto:` address, optional `!size`), read the
/// same way by the plan reader (which checks the domain) and the compiler (which authorizes
/// external report domains, RFC 7489 §7.1).
enum MailtoURI {
    /// The domain of the address in `uri`, a `mailto:` URI: after `mailto:`, the first
    /// non-empty '!'-separated run must be two non-empty '@'-separated parts (empty runs are
    /// skipped, as `split` does); the second is returned as written, nil otherwise.
    static func domain(_ uri: String) -> String? {
        if let ascii = uri.utf8.withContiguousStorageIfAvailable({ asciiDomain($0) }), let found = ascii { return found }
        let addr = uri.dropFirst(7).split(separator: "!").first.map(String.init) ?? ""
        let parts = addr.split(separator: "@")
        return parts.count == 2 ? String(parts[1]) : nil
    }

    /// ``domain(_:)`` of an ASCII URI in one pass over its bytes (bytes and characters are
    /// one to one): `.some(nil)` when it has no domain, nil when the text is not ASCII.
    private static func asciiDomain(_ b: UnsafeBufferPointer<UInt8>) -> String?? {
        var i = min(7, b.count)
        for j in 0..<i where b[j] >= 0x80 { return nil }     // `dropFirst(7)` counts characters
        while i < b.count && b[i] == 0x21 { i += 1 }        // empty '!' runs
        var parts = 0, second = 0..<0, start = i
        while i <= b.count {
            let c: UInt8 = i < b.count ? b[i] : 0x21
            if c >= 0x80 { return nil }
            if c == 0x40 || c == 0x21 {
                if i > start { parts += 1; if parts == 2 { second = start..<i } }
                start = i + 1
                if c == 0x21 { break }
            }
            i += 1
        }
        // The rest after the first run must still be ASCII for the fast answer to stand.
        while i < b.count { if b[i] >= 0x80 { return nil }; i += 1 }
        return .some(parts == 2 ? String(decoding: UnsafeBufferPointer(rebasing: b[second]), as: UTF8.self) : nil)
    }
}

/// SMTP TLS reporting (RFC 8460 §3).
public struct TLSRPTPolicy: Sendable, Hashable {
    public let rua: [String]
    /// The TXT value at `_smtp._tls.<domain>`.
    public var record: String { "v=TLSRPTv1; rua=" + rua.joined(separator: ",") }
}

/// MTA-STS (RFC 8461). The policy file is derived from the planned MX hosts; the `_mta-sts`
/// TXT `id` is derived from the policy text, so it changes exactly when the policy changes.
public struct MTASTSPolicy: Sendable, Hashable {
    public let mode: MTASTSMode
    /// `max_age` in seconds.
    public let maxAge: Int
    /// `policy_file:` (absolute path): mailplan writes the policy there on `apply`.
    public var policyFile: String? = nil
}

/// RFC 6186 / RFC 8314 client service discovery: SRV records for mail clients, and optional
/// `autoconfig`/`autodiscover` names (CNAME to the mail host).
public struct AutoconfigPlan: Sendable, Hashable {
    public struct Service: Sendable, Hashable {
        /// `_submissions._tcp`, `_imaps._tcp`, `_submission._tcp` or `_pop3s._tcp`.
        public let label: String
        public let port: UInt16
        /// The host; nil publishes `0 0 0 .` ("not offered", RFC 6186 §3.4).
        public let target: DomainName?
    }
    public let services: [Service]
    /// Labels under the domain that become CNAMEs to the mail host: `autoconfig`, `autodiscover`.
    public let cnames: [String]
    public let location: SourceLocation?
}

/// CAA for the domain's apex (RFC 8659): which CAs may issue certificates.
public struct CAAPolicy: Sendable, Hashable {
    /// `issue` values (CA domain, optionally with `; parameters`); empty = `0 issue ";"` (no CA).
    public let issue: [String]
    /// `issuewild` values; nil = not published (wildcards follow `issue`), empty = `";"`.
    public let issuewild: [String]?
    /// `iodef` URIs (`mailto:`, `https:`).
    public let iodef: [String]
    public let location: SourceLocation?
    /// The CAA rdata, flags 0.
    public var rdata: [RData] {
        (issue.isEmpty ? [";"] : issue).map { .caa(flags: 0, tag: "issue", value: $0) }
            + (issuewild.map { $0.isEmpty ? [";"] : $0 } ?? []).map { .caa(flags: 0, tag: "issuewild", value: $0) }
            + iodef.map { .caa(flags: 0, tag: "iodef", value: $0) }
    }
}

/// A record the plan declares explicitly (SRV, TLSA, CAA, …); the whole RRset is managed.
public struct ExplicitRecord: Sendable, Hashable {
    public let rrset: RRset
    public let location: SourceLocation?
}

/// One mail domain of the plan.
///
/// Its values live in one immutable object the struct refers to: a plan of 100,000 domains
/// holds one reference per domain in ``MailPlan/domains`` instead of ~430-byte elements that
/// the array copies as it grows while the plan file is read, and copying a `DomainPlan` is
/// one retain (bench/results.md, "validate at 10,000 domains").
public struct DomainPlan: Sendable {
    private final class Storage: Sendable {
        let name: DomainName, zone: DomainName, provider: String, ttl: UInt32, mx: [MXTarget], spf: SPFPolicy?
        let dkim: [DKIMSelectorPlan], dmarc: DMARCPolicy?, tlsRPT: TLSRPTPolicy?
        let records: [ExplicitRecord], location: SourceLocation?, noMail: Bool
        /// `mta_sts:`, `autoconfig:` and `caa:` (136 bytes inline), in an object of their own
        /// only when the domain has one of them.
        let rare: Rare?
        init(name: DomainName, zone: DomainName, provider: String, ttl: UInt32, mx: [MXTarget], spf: SPFPolicy?, dkim: [DKIMSelectorPlan],
             dmarc: DMARCPolicy?, tlsRPT: TLSRPTPolicy?, mtaSTS: MTASTSPolicy?, records: [ExplicitRecord], location: SourceLocation?,
             noMail: Bool, autoconfig: AutoconfigPlan?, caa: CAAPolicy?) {
            self.name = name; self.zone = zone; self.provider = provider; self.ttl = ttl; self.mx = mx; self.spf = spf
            self.dkim = dkim; self.dmarc = dmarc; self.tlsRPT = tlsRPT; self.records = records
            self.location = location; self.noMail = noMail
            rare = mtaSTS == nil && autoconfig == nil && caa == nil ? nil : Rare(mtaSTS: mtaSTS, autoconfig: autoconfig, caa: caa)
        }
    }
    private final class Rare: Sendable {
        let mtaSTS: MTASTSPolicy?, autoconfig: AutoconfigPlan?, caa: CAAPolicy?
        init(mtaSTS: MTASTSPolicy?, autoconfig: AutoconfigPlan?, caa: CAAPolicy?) {
            self.mtaSTS = mtaSTS; self.autoconfig = autoconfig; self.caa = caa
        }
    }
    private let storage: Storage

    /// A domain as the plan reader read it (the parameters are the properties below).
    init(name: DomainName, zone: DomainName, provider: String, ttl: UInt32, mx: [MXTarget], spf: SPFPolicy?, dkim: [DKIMSelectorPlan],
         dmarc: DMARCPolicy?, tlsRPT: TLSRPTPolicy?, mtaSTS: MTASTSPolicy?, records: [ExplicitRecord], location: SourceLocation?,
         noMail: Bool = false, autoconfig: AutoconfigPlan? = nil, caa: CAAPolicy? = nil) {
        storage = Storage(name: name, zone: zone, provider: provider, ttl: ttl, mx: mx, spf: spf, dkim: dkim, dmarc: dmarc, tlsRPT: tlsRPT,
                          mtaSTS: mtaSTS, records: records, location: location, noMail: noMail, autoconfig: autoconfig, caa: caa)
    }

    public var name: DomainName { storage.name }
    /// The zone that holds the domain's records (the domain itself unless `zone:` says otherwise).
    public var zone: DomainName { storage.zone }
    /// The provider instance name.
    public var provider: String { storage.provider }
    /// TTL in seconds for this domain's generated RRsets.
    public var ttl: UInt32 { storage.ttl }
    public var mx: [MXTarget] { storage.mx }
    public var spf: SPFPolicy? { storage.spf }
    public var dkim: [DKIMSelectorPlan] { storage.dkim }
    public var dmarc: DMARCPolicy? { storage.dmarc }
    public var tlsRPT: TLSRPTPolicy? { storage.tlsRPT }
    public var mtaSTS: MTASTSPolicy? { storage.rare?.mtaSTS }
    public var records: [ExplicitRecord] { storage.records }
    public var location: SourceLocation? { storage.location }
    /// `no_mail: true`: null MX, `v=spf1 -all`, DMARC `p=reject` (RFC 7505, RFC 7208, RFC 7489).
    public var noMail: Bool { storage.noMail }
    public var autoconfig: AutoconfigPlan? { storage.rare?.autoconfig }
    public var caa: CAAPolicy? { storage.rare?.caa }
}

/// A file a plan reads (a DKIM key file): the path as written in the plan and where it is.
public struct PlanKeyFile: Sendable, Hashable {
    /// The path as written in the plan file (relative to the plan file's directory, or absolute).
    public let path: String
    /// The resolved location.
    public let url: URL
    public init(path: String, url: URL) { self.path = path; self.url = url }
}
