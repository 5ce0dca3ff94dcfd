import Foundation

/// What the world is served: lookups through the plan's resolvers and queries to a zone's
/// authoritative servers (configured in `dns.authoritative` or discovered from NS). Built
/// from ``DNSSettings``; every query goes through ``Resolver``.
public struct LiveDNS: Sendable {
    public let settings: DNSSettings
    /// Queries with RD set, for recursive resolvers.
    public let recursive: Resolver
    /// Queries with RD clear, for authoritative servers.
    public let authoritative: Resolver

    public init(settings: DNSSettings) {
        self.settings = settings
        let o = ResolverOptions(timeout: settings.timeout, attempts: settings.attempts, recursionDesired: true)
        var a = o; a.recursionDesired = false
        recursive = Resolver(options: o)
        authoritative = Resolver(options: a)
    }

    /// The nameserver lines of a resolv.conf text (`nameserver 192.0.2.53`), as servers on port 53.
    public static func resolvConfServers(_ text: String) -> [NameServer] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2, f[0] == "nameserver" else { return nil }
            return try? NameServer(parsing: String(f[1]).split(separator: "%").first.map(String.init) ?? "")
        }
    }

    /// True when lookups of names outside the plan's zones are possible (resolvers are configured).
    public var canResolve: Bool { !settings.resolvers.isEmpty }

    /// Looks a name up through the configured resolvers.
    /// - Throws: ``ResolverError`` when no resolver answered, or ``LiveDNSError`` when none is configured.
    public func lookup(_ name: DomainName, _ type: RRType) throws -> DNSAnswer {
        guard canResolve else { throw LiveDNSError("no resolver configured for \(name.fqdn) \(type): set dns.resolvers in the plan file") }
        return try recursive.query(name, type, servers: settings.resolvers)
    }

    /// The authoritative servers of `zone`: `dns.authoritative[zone]` when given, otherwise
    /// discovered through the resolvers (NS of the zone, then the A/AAAA of each NS host;
    /// port 53). Empty when neither is configured.
    /// - Throws: ``LiveDNSError`` when discovery fails (no NS, an NS host without address).
    public func authoritativeServers(for zone: DomainName) throws -> [NameServer] {
        if let s = settings.authoritative[zone] { return s }
        guard canResolve else { return [] }
        let ns = try lookup(zone, .ns)
        guard ns.rcode == .noError, let set = ns.rrset else {
            throw LiveDNSError("cannot discover the name servers of \(zone.fqdn): the resolvers answered \(ns.rcode.rawValue) with no NS records")
        }
        var out: [NameServer] = []
        for case .ns(let host) in set.rdata {
            for t in [RRType.a, .aaaa] {
                let a = try lookup(host, t)
                for r in a.answerRecords where r.name == host {
                    switch r.rdata {
                    case .a(let ip): out.append(NameServer(address: ip.description))
                    case .aaaa(let ip): out.append(NameServer(address: ip.description))
                    default: break
                    }
                }
            }
        }
        if out.isEmpty { throw LiveDNSError("cannot discover the name servers of \(zone.fqdn): no NS host has an address") }
        return out
    }

    /// The NS RRset the parent zone's servers hand out for `zone` (the delegation), asked of
    /// the closest configured enclosing zone in `dns.authoritative`, or of the parent's
    /// discovered servers. Nil when neither is available.
    /// - Throws: ``ResolverError``/``LiveDNSError`` when the parent's servers cannot be asked.
    public func delegation(of zone: DomainName) throws -> (servers: [NameServer], ns: Set<DomainName>, answer: DNSAnswer)? {
        guard let parent = zone.parent else { return nil }
        var servers: [NameServer] = []
        if let c = settings.configuredServers(for: parent) { servers = c.servers }
        else if canResolve {
            // The parent zone is the zone holding the SOA for the parent name.
            let soa = try lookup(parent, .soa)
            let apex = soa.answerRecords.first { $0.rdata.type == .soa }?.name ?? soa.authorityRecords.first { $0.rdata.type == .soa }?.name
            guard let apex else { return nil }
            servers = try authoritativeServers(for: apex)
        }
        guard !servers.isEmpty else { return nil }
        let a = try authoritative.query(zone, .ns, servers: servers)
        var ns = Set<DomainName>()
        for r in a.answerRecords + a.authorityRecords where r.name == zone {
            if case .ns(let h) = r.rdata { ns.insert(h) }
        }
        return (servers, ns, a)
    }
}

/// A live-DNS problem that is not one query's failure (nothing configured, discovery failed).
public struct LiveDNSError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
