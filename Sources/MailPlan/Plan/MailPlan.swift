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

    public func provider(named name: String) -> ProviderConfig? { providers.first { $0.name == name } }
}

/// The mail host: its name and the addresses it sends from and receives on.
public struct ServerPlan: Sendable {
    /// The host name; it gets A/AAAA records and must be the PTR of each address.
    public let hostname: DomainName
    public let ipv4: [IPv4Address]
    public let ipv6: [IPv6Address]
    public let location: SourceLocation?
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
}

/// A DKIM public key published under `<selector>._domainkey.<domain>` (RFC 6376 §3.6).
public struct DKIMSelectorPlan: Sendable, Hashable {
    public let selector: String
    /// The TXT value, `v=DKIM1; k=…; p=…` with no whitespace inside `p=`.
    public let record: String
    public let key: DKIMKeyInfo
    public let location: SourceLocation?
}

/// DMARC policy (RFC 7489 §6.3).
public struct DMARCPolicy: Sendable, Hashable {
    public let policy: String
    public let subdomainPolicy: String?
    public let rua: [String]
    public let ruf: [String]
    public let adkim: String?
    public let aspf: String?
    public let pct: Int?
    public let fo: String?
    /// The TXT value at `_dmarc.<domain>`, tags in a fixed order: v, p, sp, adkim, aspf, pct, fo, rua, ruf.
    public var record: String {
        var tags = ["v=DMARC1", "p=\(policy)"]
        if let subdomainPolicy { tags.append("sp=\(subdomainPolicy)") }
        if let adkim { tags.append("adkim=\(adkim)") }
        if let aspf { tags.append("aspf=\(aspf)") }
        if let pct { tags.append("pct=\(pct)") }
        if let fo { tags.append("fo=\(fo)") }
        if !rua.isEmpty { tags.append("rua=" + rua.joined(separator: ",")) }
        if !ruf.isEmpty { tags.append("ruf=" + ruf.joined(separator: ",")) }
        return tags.joined(separator: "; ")
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
    public let mode: String
    /// `max_age` in seconds.
    public let maxAge: Int
}

/// A record the plan declares explicitly (SRV, TLSA, CAA, …); the whole RRset is managed.
public struct ExplicitRecord: Sendable, Hashable {
    public let rrset: RRset
    public let location: SourceLocation?
}

/// One mail domain of the plan.
public struct DomainPlan: Sendable {
    public let name: DomainName
    /// The zone that holds the domain's records (the domain itself unless `zone:` says otherwise).
    public let zone: DomainName
    /// The provider instance name.
    public let provider: String
    /// TTL in seconds for this domain's generated RRsets.
    public let ttl: UInt32
    public let mx: [MXTarget]
    public let spf: SPFPolicy?
    public let dkim: [DKIMSelectorPlan]
    public let dmarc: DMARCPolicy?
    public let tlsRPT: TLSRPTPolicy?
    public let mtaSTS: MTASTSPolicy?
    public let records: [ExplicitRecord]
    public let location: SourceLocation?
}

/// A file a plan reads (a DKIM key file): the path as written in the plan and where it is.
public struct PlanKeyFile: Sendable, Hashable {
    /// The path as written in the plan file (relative to the plan file's directory, or absolute).
    public let path: String
    /// The resolved location.
    public let url: URL
    public init(path: String, url: URL) { self.path = path; self.url = url }
}
