import Foundation

/// An SPF qualifier (RFC 7208 §4.6.2).
public enum SPFQualifier: String, Sendable, Hashable, CaseIterable {
    case pass = "+", fail = "-", softfail = "~", neutral = "?"
}

/// An SPF mechanism (RFC 7208 §5). Domain specs are kept as written, because they may hold
/// macros (§7) that only a check_host evaluation can expand.
public enum SPFMechanism: Sendable, Hashable {
    case all
    case include(String)
    /// `a[:domain][/ip4-cidr][//ip6-cidr]`
    case a(domain: String?, ip4Prefix: Int?, ip6Prefix: Int?)
    /// `mx[:domain][/ip4-cidr][//ip6-cidr]`
    case mx(domain: String?, ip4Prefix: Int?, ip6Prefix: Int?)
    case ptr(String?)
    case ip4(IPv4Address, prefix: Int?)
    case ip6(IPv6Address, prefix: Int?)
    case exists(String)

    /// True for the mechanisms that cost one DNS lookup against the limit of 10
    /// (RFC 7208 §4.6.4): include, a, mx, ptr, exists.
    public var needsLookup: Bool {
        switch self { case .include, .a, .mx, .ptr, .exists: true; case .all, .ip4, .ip6: false }
    }
}

/// One term of an SPF record: a directive (qualifier + mechanism) or a modifier.
public enum SPFRecordTerm: Sendable, Hashable, CustomStringConvertible {
    case directive(SPFQualifier, SPFMechanism, text: String)
    /// `redirect=`, `exp=` or an unknown modifier (kept, RFC 7208 §6).
    case modifier(name: String, value: String)

    public var description: String {
        switch self {
        case .directive(_, _, let text): text
        case .modifier(let n, let v): "\(n)=\(v)"
        }
    }
}

/// A record that is not valid SPF, with the offending term.
public struct SPFParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let term: String
    public let reason: String
    public var description: String { term.isEmpty ? reason : "'\(term)': \(reason)" }
}

/// A parsed SPF record (RFC 7208 §4.5, §12 ABNF): the model the lookup budget, flattening
/// and check_host work on.
public struct SPFRecord: Sendable, Hashable, CustomStringConvertible {
    public let terms: [SPFRecordTerm]

    public init(terms: [SPFRecordTerm]) { self.terms = terms }

    /// The TXT value: `v=spf1` followed by the terms, one space apart.
    public var description: String { (["v=spf1"] + terms.map(\.description)).joined(separator: " ") }

    /// The directives in order.
    public var directives: [(qualifier: SPFQualifier, mechanism: SPFMechanism, text: String)] {
        terms.compactMap { if case .directive(let q, let m, let t) = $0 { return (q, m, t) }; return nil }
    }
    /// The `redirect=` target, if any.
    public var redirect: String? { modifier("redirect") }
    /// The `exp=` target, if any.
    public var explanation: String? { modifier("exp") }
    func modifier(_ name: String) -> String? {
        for t in terms { if case .modifier(let n, let v) = t, n == name { return v } }
        return nil
    }

    /// Parses a TXT value that starts `v=spf1` (any case).
    /// - Throws: ``SPFParseError`` naming the first bad term: unknown mechanisms, bad CIDR
    ///   lengths, addresses that do not parse, empty domain specs, duplicate `redirect=`/`exp=`.
    public static func parse(_ text: String) throws -> SPFRecord {
        let words = text.split(whereSeparator: { $0 == " " }).map(String.init)
        guard let v = words.first, v.lowercased() == "v=spf1" else {
            throw SPFParseError(term: "", reason: "an SPF record starts with v=spf1 (RFC 7208 §4.5)")
        }
        var terms: [SPFRecordTerm] = []
        for w in words.dropFirst() {
            let t = try parseTerm(w)
            if case .modifier(let n, _) = t, n == "redirect" || n == "exp",
               terms.contains(where: { if case .modifier(let m, _) = $0 { return m == n }; return false }) {
                throw SPFParseError(term: w, reason: "\(n)= may appear only once (RFC 7208 §6)")
            }
            terms.append(t)
        }
        return SPFRecord(terms: terms)
    }

    /// Parses one term (`-include:_spf.example.net`, `ip4:192.0.2.0/24`, `redirect=example.net`).
    public static func parseTerm(_ word: String) throws -> SPFRecordTerm {
        func fail(_ r: String) -> SPFParseError { SPFParseError(term: word, reason: r) }
        var body = Substring(word)
        var qualifier = SPFQualifier.pass
        if let f = body.first, let q = SPFQualifier(rawValue: String(f)) { qualifier = q; body = body.dropFirst() }
        let lower = body.lowercased()
        // Modifier: name "=" value, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
        if let eq = lower.firstIndex(of: "="), !lower[..<eq].contains(":"), !lower[..<eq].contains("/") {
            let name = String(lower[..<eq])
            let value = String(body[body.index(body.startIndex, offsetBy: lower.distance(from: lower.startIndex, to: eq) + 1)...])
            if word.first.map({ "+-~?".contains($0) }) == true { throw fail("a modifier takes no qualifier") }
            guard let c = name.first, c.isLetter, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw fail("not a valid modifier name")
            }
            if name == "redirect" || name == "exp" { try checkDomainSpec(value, word) }
            return .modifier(name: name, value: value)
        }
        func split(_ rest: Substring) throws -> (domain: String?, p4: Int?, p6: Int?) {
            // [":" domain-spec] [ip4-cidr-length] ["/" ip6-cidr-length]
            var r = rest
            var domain: String? = nil
            if r.hasPrefix(":") {
                r = r.dropFirst()
                let end = r.firstIndex(of: "/") ?? r.endIndex
                domain = String(r[..<end]); r = r[end...]
                try checkDomainSpec(domain!, word)
            }
            var p4: Int? = nil, p6: Int? = nil
            if r.hasPrefix("//") {
                p6 = try prefix(r.dropFirst(2), max: 128, word)
            } else if r.hasPrefix("/") {
                let parts = r.dropFirst().components(separatedBy: "//")
                p4 = try prefix(Substring(parts[0]), max: 32, word)
                if parts.count == 2 { p6 = try prefix(Substring(parts[1]), max: 128, word) }
                if parts.count > 2 { throw fail("bad CIDR length") }
            } else if !r.isEmpty { throw fail("unexpected '\(r)'") }
            return (domain, p4, p6)
        }
        let mech: SPFMechanism
        if lower == "all" { mech = .all }
        else if lower.hasPrefix("include:") {
            let d = String(body.dropFirst(8)); try checkDomainSpec(d, word); mech = .include(d)
        } else if lower.hasPrefix("exists:") {
            let d = String(body.dropFirst(7)); try checkDomainSpec(d, word); mech = .exists(d)
        } else if lower == "a" || lower.hasPrefix("a:") || lower.hasPrefix("a/") {
            let s = try split(body.dropFirst(1)); mech = .a(domain: s.domain, ip4Prefix: s.p4, ip6Prefix: s.p6)
        } else if lower == "mx" || lower.hasPrefix("mx:") || lower.hasPrefix("mx/") {
            let s = try split(body.dropFirst(2)); mech = .mx(domain: s.domain, ip4Prefix: s.p4, ip6Prefix: s.p6)
        } else if lower == "ptr" || lower.hasPrefix("ptr:") {
            let d = lower == "ptr" ? nil : String(body.dropFirst(4))
            if let d { try checkDomainSpec(d, word) }
            mech = .ptr(d)
        } else if lower.hasPrefix("ip4:") {
            let parts = body.dropFirst(4).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let ip = IPv4Address(String(parts[0])) else { throw fail("not an IPv4 address or network (ip4:192.0.2.0/24)") }
            mech = .ip4(ip, prefix: parts.count == 2 ? try prefix(parts[1], max: 32, word) : nil)
        } else if lower.hasPrefix("ip6:") {
            let rest = body.dropFirst(4)
            let slash = rest.lastIndex(of: "/")
            let addr = slash.map { rest[..<$0] } ?? rest
            guard let ip = IPv6Address(String(addr)) else { throw fail("not an IPv6 address or network (ip6:2001:db8::/32)") }
            var p6: Int? = nil
            if let slash { p6 = try prefix(rest[rest.index(after: slash)...], max: 128, word) }
            mech = .ip6(ip, prefix: p6)
        } else {
            throw fail("not an SPF mechanism (valid: all, include:, a, mx, ptr, ip4:, ip6:, exists:, redirect=, exp=)")
        }
        return .directive(qualifier, mech, text: word)
    }

    static func prefix(_ s: Substring, max: Int, _ word: String) throws -> Int {
        guard !s.isEmpty, s.allSatisfy(\.isASCII), let n = Int(s), (0...max).contains(n), !(s.count > 1 && s.hasPrefix("0")) else {
            throw SPFParseError(term: word, reason: "prefix length must be 0 to \(max)")
        }
        return n
    }

    static func checkDomainSpec(_ spec: String, _ word: String) throws {
        if spec.isEmpty {
            let what = word.drop { "+-~?".contains($0) }.prefix { $0.isLetter }.lowercased()
            throw SPFParseError(term: word, reason: "\(what.isEmpty ? "the term" : what) needs a domain")
        }
        if spec.contains("%") { return }  // macro-string (RFC 7208 §7): expanded at evaluation time
        guard let n = try? DomainName(spec), n.labels.count >= 2 else {
            throw SPFParseError(term: word, reason: "'\(spec)' is not a domain name")
        }
    }

    /// The host bits set below the prefix of an `ip4:`/`ip6:` network, as the network the user
    /// probably meant (`ip4:192.0.2.1/24` → `192.0.2.0/24`); nil when the network is exact.
    public static func canonicalNetwork(_ m: SPFMechanism) -> String? {
        func mask(_ bytes: [UInt8], _ p: Int) -> [UInt8] {
            bytes.enumerated().map { i, b in
                let bitsHere = max(0, min(8, p - i * 8))
                return bitsHere == 8 ? b : b & UInt8(truncatingIfNeeded: 0xff << (8 - bitsHere))
            }
        }
        switch m {
        case .ip4(let ip, let p?):
            let m = mask(ip.octets, p)
            return m == ip.octets ? nil : "\(m.map(String.init).joined(separator: "."))/\(p)"
        case .ip6(let ip, let p?):
            let m = mask(ip.bytes, p)
            guard m != ip.bytes, let net = IPv6Address.fromBytes(m) else { return nil }
            return "\(net)/\(p)"
        default: return nil
        }
    }
}

extension IPv6Address {
    /// An address from its 16 bytes.
    static func fromBytes(_ b: [UInt8]) -> IPv6Address? {
        guard b.count == 16 else { return nil }
        let groups = stride(from: 0, to: 16, by: 2).map { String(UInt16(b[$0]) << 8 | UInt16(b[$0 + 1]), radix: 16) }
        return IPv6Address(groups.joined(separator: ":"))
    }
}
