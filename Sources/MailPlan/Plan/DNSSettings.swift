import Foundation

/// The plan file's `dns:` block: which name servers mailplan asks to see what the world is
/// served. Absent means "not configured": `plan` and `apply` then make no DNS query at all,
/// and `check` falls back to the `nameserver` lines of `/etc/resolv.conf`.
public struct DNSSettings: Sendable {
    /// Recursive resolvers (`dns.resolvers`), asked for names outside the plan's zones (PTR,
    /// DNSBL, SPF includes) and used to discover authoritative servers.
    public var resolvers: [NameServer]
    /// Authoritative servers per zone (`dns.authoritative`); a zone not listed is discovered
    /// through ``resolvers`` (its NS, then their A/AAAA, port 53).
    public var authoritative: [DomainName: [NameServer]]
    /// Seconds to wait for each attempt of a query (`dns.timeout`, default 3).
    public var timeout: Double
    /// Attempts per query (`dns.attempts`, default 2).
    public var attempts: Int
    /// Validating resolvers (`dns.validating_resolvers`) asked for the DNSSEC status of TLSA
    /// and MX host records (the AD bit, RFC 4035 §3.2.3); empty: DNSSEC is not checked.
    public var validatingResolvers: [NameServer] = []
    /// True when the plan file has a `dns:` block.
    public var configured: Bool
    public var location: SourceLocation?

    public init(resolvers: [NameServer] = [], authoritative: [DomainName: [NameServer]] = [:], timeout: Double = 3,
                attempts: Int = 2, configured: Bool = false, location: SourceLocation? = nil) {
        self.resolvers = resolvers; self.authoritative = authoritative; self.timeout = timeout
        self.attempts = attempts; self.configured = configured; self.location = location
    }

    /// No `dns:` block.
    public static let notConfigured = DNSSettings()

    /// The configured servers of `zone` or of the closest enclosing zone listed; nil when none is.
    public func configuredServers(for zone: DomainName) -> (zone: DomainName, servers: [NameServer])? {
        var z: DomainName? = zone
        while let cur = z {
            if let s = authoritative[cur] { return (cur, s) }
            z = cur.parent
        }
        return nil
    }
}

/// The plan file's `check:` block (settings of `mailplan check`).
public struct CheckSettings: Sendable {
    /// IP blocklists (`check.dnsbl.ip`), queried as `<reversed address>.<list>` A.
    public var ipLists: [DomainName]
    /// Domain blocklists (`check.dnsbl.domain`), queried as `<domain>.<list>` A.
    public var domainLists: [DomainName]
    /// `check.mta_sts`: how the MTA-STS policy is fetched; nil: the defaults (system CAs, DNS).
    public var mtaSTS: MTASTSFetchSettings? = nil
    /// `check.smtp`: probe the mail server (greeting, STARTTLS, certificate, TLSA); nil: not probed.
    public var smtp: SMTPCheckSettings? = nil
    /// `check.ca_file`: CA certificates (PEM, absolute path) the served chain is verified
    /// against instead of the system store.
    public var caFile: String? = nil
    /// `check.cert_warn_days`: a served certificate expiring within this many days is a
    /// warning (default 21).
    public var certWarnDays: Int = 21
    public init(ipLists: [DomainName], domainLists: [DomainName]) { self.ipLists = ipLists; self.domainLists = domainLists }

    /// The default lists: Spamhaus ZEN and SpamCop for addresses, Spamhaus DBL for domains.
    /// Spamhaus refuses queries that come through large public resolvers (it answers
    /// 127.255.255.254), which `check` reports as "not checked", never as listed.
    public static let defaults = CheckSettings(
        ipLists: [DomainName(uncheckedFQDN: "zen.spamhaus.org."), DomainName(uncheckedFQDN: "bl.spamcop.net.")],
        domainLists: [DomainName(uncheckedFQDN: "dbl.spamhaus.org.")])
}

extension PlanReader {
    static let dnsKeys = ["resolvers", "authoritative", "timeout", "attempts", "validating_resolvers"]

    mutating func nameServers(_ node: YAMLNode, _ path: String) -> [NameServer] {
        var out: [NameServer] = []
        guard case .sequence(let seq) = node else {
            error(node, "\(path) must be a list of name servers such as [\"127.0.0.1:5353\"], found \(Self.kind(node))"); return []
        }
        for (s, sn) in stringList(node, path) {
            guard let v = substitute(s, node: sn, path: path) else { continue }
            do { out.append(try NameServer(parsing: v.text)) } catch let e as NameServerSyntaxError {
                error(sn, "\(path): \(e.description)")
            } catch { self.error(sn, "\(path): \(error)") }
        }
        if seq.isEmpty { error(node, "\(path) is empty") }
        return out
    }

    /// Reads `dns: {resolvers: [...], authoritative: {zone: [...]}, timeout: s, attempts: n}`.
    mutating func readDNS(_ node: YAMLNode) -> DNSSettings {
        var settings = DNSSettings(configured: true, location: loc(node))
        guard let m = mapping(node, "dns", allowed: Self.dnsKeys) else { return settings }
        if let n = m["resolvers"]?.value { settings.resolvers = nameServers(n, "dns.resolvers") }
        if let n = m["validating_resolvers"]?.value { settings.validatingResolvers = nameServers(n, "dns.validating_resolvers") }
        if let n = m["authoritative"]?.value {
            if case .mapping(let zm) = n {
                for (k, v) in zm {
                    guard let zname = hostname(k, "dns.authoritative") else { continue }
                    if settings.authoritative[zname] != nil { error(k, "dns.authoritative.\(zname.withoutTrailingDot) is given twice"); continue }
                    settings.authoritative[zname] = nameServers(v, "dns.authoritative.\(zname.withoutTrailingDot)")
                }
            } else {
                error(n, "dns.authoritative must be a mapping from a zone to its name servers ({example.com: [\"192.0.2.53\"]}), found \(Self.kind(n))")
            }
        }
        if let n = m["timeout"]?.value {
            if case .scalar(let s) = n, let t = Double(s.string), t >= 0.1, t <= 60 { settings.timeout = t }
            else { error(n, "dns.timeout must be a number of seconds from 0.1 to 60, found \(Self.describe(n))") }
        }
        if let n = m["attempts"]?.value, let a = int(n, "dns.attempts", in: 1...10) { settings.attempts = a }
        return settings
    }

    /// Reads `check: {mta_sts: {ca_file: path, resolve: {host: "address:port"}}}`.
    mutating func readMTASTSFetch(_ node: YAMLNode) -> MTASTSFetchSettings? {
        guard let m = mapping(node, "check.mta_sts", allowed: ["ca_file", "resolve"]) else { return nil }
        var s = MTASTSFetchSettings()
        if let n = m["ca_file"]?.value, let path = string(n, "check.mta_sts.ca_file") {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
            if FileManager.default.fileExists(atPath: url.path) { s.caFile = url.path }
            else { error(n, "check.mta_sts.ca_file: \(url.path) does not exist") }
        }
        if let n = m["resolve"]?.value {
            guard case .mapping(let rm) = n else {
                error(n, "check.mta_sts.resolve must map a host to \"address:port\" ({mta-sts.example.com: \"127.0.0.1:8443\"}), found \(Self.kind(n))"); return s
            }
            for (k, v) in rm {
                guard let host = hostname(k, "check.mta_sts.resolve"), let target = string(v, "check.mta_sts.resolve.\(k.scalar?.string ?? "")") else { continue }
                guard let colon = target.lastIndex(of: ":"), let port = UInt16(target[target.index(after: colon)...]),
                      SPFAddress(String(target[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil else {
                    error(v, "check.mta_sts.resolve.\(host.withoutTrailingDot): '\(target)' must be an IP address and port (\"127.0.0.1:8443\")"); continue
                }
                s.resolve[host] = (String(target[..<colon]), port)
            }
        }
        return s
    }

    /// Reads `check: {dnsbl: {ip: [...], domain: [...]}, mta_sts: {...}}`.
    mutating func readCheck(_ node: YAMLNode) -> CheckSettings {
        var settings = CheckSettings.defaults
        guard let m = mapping(node, "check", allowed: ["dnsbl", "mta_sts", "smtp", "ca_file", "cert_warn_days"]) else { return settings }
        if let n = m["mta_sts"]?.value { settings.mtaSTS = readMTASTSFetch(n) }
        if let n = m["smtp"]?.value { settings.smtp = readSMTPCheck(n) }
        if let n = m["ca_file"]?.value { settings.caFile = readCAFile(n, "check.ca_file") }
        if let n = m["cert_warn_days"]?.value, let d = int(n, "check.cert_warn_days", in: 0...3650) { settings.certWarnDays = d }
        guard let b = m["dnsbl"]?.value, let bm = mapping(b, "check.dnsbl", allowed: ["ip", "domain"]) else { return settings }
        func lists(_ key: String) -> [DomainName]? {
            guard let n = bm[key]?.value else { return nil }
            if case .sequence(let seq) = n, seq.isEmpty { return [] }
            return stringList(n, "check.dnsbl.\(key)").compactMap { (s, sn) in
                do { return try DomainName(s) } catch { self.error(sn, "check.dnsbl.\(key): \(error)"); return nil }
            }
        }
        if let l = lists("ip") { settings.ipLists = l }
        if let l = lists("domain") { settings.domainLists = l }
        return settings
    }
}
