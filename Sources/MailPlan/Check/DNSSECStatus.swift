import Foundation

/// What a validating resolver says about an answer (RFC 4035 §4.3).
public enum DNSSECState: String, Sendable, Hashable, Codable {
    /// Validated: the AD bit is set.
    case secure
    /// Answered without AD: the zone is not signed, or not under a trust anchor.
    case insecure
    /// SERVFAIL that goes away with checking disabled (CD): the signatures or the DS are wrong.
    case bogus
}

/// Asks validating resolvers (`dns.validating_resolvers`) for the DNSSEC state of an RRset.
public struct DNSSECProbe: Sendable {
    /// The validating resolvers asked, in turn.
    public let servers: [NameServer]
    let validating: Resolver
    let unchecked: Resolver

    /// - Parameters:
    ///   - servers: validating resolvers, asked in turn.
    ///   - timeout/attempts: per query, as `dns.timeout` (seconds) and `dns.attempts`.
    public init(servers: [NameServer], timeout: Double, attempts: Int) {
        self.servers = servers
        var o = ResolverOptions(timeout: timeout, attempts: attempts, recursionDesired: true)
        o.dnssecOK = true
        validating = Resolver(options: o)
        o.checkingDisabled = true
        unchecked = Resolver(options: o)
    }

    /// The state of `name`/`type` and the answer it was read from.
    /// - Throws: ``ResolverError`` when no validating resolver answers, or ``LiveDNSError``
    ///   for a SERVFAIL that stays with checking disabled (the zone itself is broken).
    public func state(_ name: DomainName, _ type: RRType) throws -> (state: DNSSECState, answer: DNSAnswer) {
        let a = try validating.query(name, type, servers: servers)
        if a.rcode == .servFail {
            let cd = try unchecked.query(name, type, servers: servers)
            if cd.rcode == .noError || cd.rcode == .nxDomain { return (.bogus, a) }
            throw LiveDNSError("\(name.fqdn) \(type): \(a.server) answers SERVFAIL, even with checking disabled (the zone's servers do not answer)")
        }
        return (a.authenticData ? .secure : .insecure, a)
    }
}
