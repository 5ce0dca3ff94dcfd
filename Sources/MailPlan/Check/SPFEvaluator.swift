import Foundation

/// One SPF term that costs a DNS lookup (RFC 7208 §4.6.4): `include`, `a`, `mx`, `ptr`,
/// `exists` and the `redirect` modifier.
public struct SPFLookup: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The term as written (`include:_spf.example.net`, `mx`, `redirect=…`).
    public let term: String
    /// The domain whose SPF record holds the term.
    public let foundIn: DomainName
    /// True when the lookup was void: NXDOMAIN or no record of the type asked for.
    public let void: Bool
    public init(term: String, foundIn: DomainName, void: Bool) { self.term = term; self.foundIn = foundIn; self.void = void }
    public var description: String { "\(term) (in \(foundIn.withoutTrailingDot))\(void ? " void" : "")" }
}

/// The result of walking a domain's SPF record and everything it includes.
public struct SPFEvaluation: Sendable, Hashable, Codable {
    public let domain: DomainName
    /// The SPF record served at the domain, nil when there is none.
    public let record: String?
    /// Every term that cost a lookup, in evaluation order (depth first).
    public let lookups: [SPFLookup]
    /// Problems found on the way (`ptr`, `+all`, missing included records, loops, errors).
    public let problems: [String]
    /// The number of DNS lookups the record costs; more than 10 is a permerror (RFC 7208 §4.6.4).
    public var lookupCount: Int { lookups.count }
    /// The number of void lookups; more than 2 is a permerror (RFC 7208 §4.6.4).
    public var voidCount: Int { lookups.filter(\.void).count }
    public static let maxLookups = 10
    public static let maxVoidLookups = 2
}

/// Walks SPF records through live DNS and counts lookups the way a receiver's SPF
/// evaluation does (RFC 7208 §4.6.4, §5, §6.1), without an IP to match: every term is
/// visited, so the count is the worst case a receiver can reach.
public struct SPFEvaluator {
    /// Answers a query; ``LiveDNS/lookup(_:_:)`` in production.
    public let lookup: (DomainName, RRType) throws -> DNSAnswer

    public init(lookup: @escaping (DomainName, RRType) throws -> DNSAnswer) { self.lookup = lookup }

    /// Evaluates the SPF record served at `domain`.
    /// - Throws: ``ResolverError`` when a resolver does not answer (a finding cannot be made
    ///   on a query that failed).
    public func evaluate(_ domain: DomainName) throws -> SPFEvaluation {
        var lookups: [SPFLookup] = []
        var problems: [String] = []
        var visiting: [DomainName] = []
        let (record, err) = try spfRecord(domain)
        if let err { problems.append(err) }
        if let record { try walk(record, at: domain, lookups: &lookups, problems: &problems, visiting: &visiting) }
        return SPFEvaluation(domain: domain, record: record, lookups: lookups, problems: problems)
    }

    /// The one `v=spf1` TXT value at `name`, or why there is none.
    func spfRecord(_ name: DomainName) throws -> (String?, String?) {
        let a = try lookup(name, .txt)
        if a.rcode != .noError && a.rcode != .nxDomain {
            return (nil, "\(name.withoutTrailingDot): TXT lookup answered \(a.rcode.rawValue) from \(a.server)")
        }
        let spf = a.answerRecords.filter { $0.name == name }.compactMap(\.rdata.txtValue).filter(SPF.isSPF)
        if spf.count > 1 { return (nil, "\(name.withoutTrailingDot) has \(spf.count) SPF records; a name must have exactly one (RFC 7208 §4.5, permerror)") }
        return (spf.first, nil)
    }

    func walk(_ record: String, at domain: DomainName, lookups: inout [SPFLookup], problems: inout [String], visiting: inout [DomainName]) throws {
        visiting.append(domain)
        defer { visiting.removeLast() }
        let d = domain.withoutTrailingDot
        var redirect: String? = nil
        for raw in record.split(separator: " ").dropFirst().map(String.init) where !raw.isEmpty {
            var term = raw
            var qualifier: Character = "+"
            if let q = term.first, "+-~?".contains(q) { qualifier = q; term.removeFirst() }
            let lower = term.lowercased()
            func target(_ prefix: String) -> DomainName? {
                guard lower.hasPrefix(prefix) else { return domain }
                let spec = String(term.dropFirst(prefix.count)).split(separator: "/").first.map(String.init) ?? ""
                if spec.contains("%{") { return nil }
                return try? DomainName(spec)
            }
            if lower == "all" {
                if qualifier == "+" { problems.append("\(d): '\(raw)' lets any host send as this domain") }
                continue
            }
            if lower.hasPrefix("redirect=") { redirect = raw; continue }
            if lower.hasPrefix("ip4:") || lower.hasPrefix("ip6:") || lower.hasPrefix("exp=") || lower.contains("=") { continue }
            let mechanism = lower.split(whereSeparator: { $0 == ":" || $0 == "/" }).first.map(String.init) ?? lower
            switch mechanism {
            case "include":
                guard let t = target("include:") else { lookups.append(SPFLookup(term: raw, foundIn: domain, void: false)); continue }
                try include(raw, t, from: domain, lookups: &lookups, problems: &problems, visiting: &visiting)
            case "a", "mx", "exists":
                guard let t = target(mechanism + ":") else { lookups.append(SPFLookup(term: raw, foundIn: domain, void: false)); continue }
                var void: Bool
                switch mechanism {
                case "a": void = try lookup(t, .a).isEmpty && lookup(t, .aaaa).isEmpty
                case "mx": void = try lookup(t, .mx).isEmpty
                default: void = try lookup(t, .a).isEmpty
                }
                lookups.append(SPFLookup(term: raw, foundIn: domain, void: void))
            case "ptr":
                lookups.append(SPFLookup(term: raw, foundIn: domain, void: false))
                problems.append("\(d): '\(raw)' is slow and unreliable and must not be used (RFC 7208 §5.5)")
            default:
                problems.append("\(d): '\(raw)' is not an SPF mechanism (permerror)")
            }
        }
        if let redirect {
            let spec = String(redirect.dropFirst("redirect=".count))
            if spec.contains("%{") { lookups.append(SPFLookup(term: redirect, foundIn: domain, void: false)) }
            else if let t = try? DomainName(spec) { try include(redirect, t, from: domain, lookups: &lookups, problems: &problems, visiting: &visiting) }
            else { problems.append("\(d): '\(redirect)' does not name a domain") }
        }
    }

    func include(_ raw: String, _ t: DomainName, from domain: DomainName, lookups: inout [SPFLookup], problems: inout [String], visiting: inout [DomainName]) throws {
        if visiting.contains(t) {
            lookups.append(SPFLookup(term: raw, foundIn: domain, void: false))
            problems.append("\(domain.withoutTrailingDot): '\(raw)' includes a record already being evaluated (loop)")
            return
        }
        let (rec, err) = try spfRecord(t)
        lookups.append(SPFLookup(term: raw, foundIn: domain, void: rec == nil && err == nil))
        if let err { problems.append(err); return }
        guard let rec else {
            problems.append("\(domain.withoutTrailingDot): '\(raw)': \(t.withoutTrailingDot) has no SPF record (permerror)")
            return
        }
        // Past 30 lookups a receiver has long given up; stop walking so a loop of includes cannot run away.
        if lookups.count > 30 { return }
        try walk(rec, at: t, lookups: &lookups, problems: &problems, visiting: &visiting)
    }
}
