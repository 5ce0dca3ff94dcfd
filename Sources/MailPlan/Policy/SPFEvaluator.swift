import Foundation

/// A DNS lookup as SPF evaluation needs it: the rdata of `type` at a name. An empty list is
/// an answer with no records (NOERROR/NODATA or NXDOMAIN: a "void lookup", RFC 7208 §4.6.4).
/// Throws for a failed query (SERVFAIL, timeout): a temperror, never an empty answer.
public typealias SPFDNSLookup = (DomainName, RRType) throws -> [RData]

/// One SPF term that costs a DNS lookup (RFC 7208 §4.6.4): `include`, `a`, `mx`, `ptr`,
/// `exists` and the `redirect` modifier, with the chain of records that led to it.
public struct SPFLookup: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The term as written (`include:_spf.example.net`, `mx`, `redirect=…`).
    public let term: String
    /// The domain whose SPF record holds the term.
    public let foundIn: DomainName
    /// The records walked to reach it, outermost first: the evaluated domain, then each
    /// include/redirect term followed.
    public let chain: [String]
    /// True when the lookup was void: NXDOMAIN or no record of the type asked for.
    public let void: Bool
    public init(term: String, foundIn: DomainName, chain: [String], void: Bool) {
        self.term = term; self.foundIn = foundIn; self.chain = chain; self.void = void
    }
    /// `mx (in example.com)`, `a:gone.example.net (in _spf.example.net) void`.
    public var description: String { "\(term) (in \(foundIn.withoutTrailingDot))\(void ? " void" : "")" }
    /// `example.com → include:a.example → include:b.example → mx`.
    public var path: String { (chain + [term]).joined(separator: " → ") }
}

/// The lookups one top-level term of a record costs, including everything it includes.
public struct SPFTermCount: Sendable, Hashable, Codable {
    public let term: String
    public let lookups: Int
    public init(term: String, lookups: Int) { self.term = term; self.lookups = lookups }
}

/// The result of walking an SPF record and everything it includes (RFC 7208 §4.6.4).
public struct SPFEvaluation: Sendable, Hashable, Codable {
    public static let maxLookups = 10
    public static let maxVoidLookups = 2
    /// The domain the record is published at.
    public let domain: DomainName
    /// The record evaluated; nil when the domain serves none.
    public let record: String?
    /// Every term that cost a lookup, in evaluation order (depth first, `redirect=` last).
    public var lookups: [SPFLookup] = []
    /// Per top-level term, in record order.
    public var perTerm: [SPFTermCount] = []
    /// Problems met on the way: include targets without SPF, loops, bad records, failed
    /// lookups, `ptr`, `+all`. The limits are not in here (see ``problems``).
    public var errors: [String] = []

    /// The number of DNS lookups the record costs; more than 10 is a permerror.
    public var lookupCount: Int { lookups.count }
    public var voidLookups: [SPFLookup] { lookups.filter(\.void) }
    /// The number of void lookups; more than 2 is a permerror.
    public var voidCount: Int { voidLookups.count }
    /// True when the record breaks a limit of RFC 7208 §4.6.4.
    public var overLimits: Bool { lookupCount > Self.maxLookups || voidCount > Self.maxVoidLookups }

    /// ``errors`` plus the limits broken: more than 10 lookups (naming the chain of the 11th)
    /// and more than 2 void lookups (naming each).
    public var problems: [String] {
        var out = errors
        if lookupCount > Self.maxLookups {
            out.append("\(lookupCount) DNS lookups, more than the \(Self.maxLookups) allowed (RFC 7208 §4.6.4); lookup 11 is \(lookups[Self.maxLookups].path)")
        }
        if voidCount > Self.maxVoidLookups {
            out.append("\(voidCount) void lookups, more than the \(Self.maxVoidLookups) allowed (RFC 7208 §4.6.4): \(voidLookups.map(\.path).joined(separator: "; "))")
        }
        return out
    }

    /// `mx 1, include:_spf.example.net 4, -all 0 = 5`
    public var perTermSummary: String {
        perTerm.map { "\($0.term) \($0.lookups)" }.joined(separator: ", ") + " = \(lookupCount)"
    }
}

/// The result of `check_host()` (RFC 7208 §2.6).
public enum SPFResult: String, Sendable, Hashable, Codable {
    case none, neutral, pass, fail, softfail, temperror, permerror
}

/// An IP address as SPF matches it (`ip4`, `ip6`, `a`, `mx`).
public enum SPFAddress: Sendable, Hashable, CustomStringConvertible {
    case v4(IPv4Address), v6(IPv6Address)
    public init?(_ text: String) {
        if let a = IPv4Address(text) { self = .v4(a) } else if let a = IPv6Address(text) { self = .v6(a) } else { return nil }
    }
    public var bytes: [UInt8] { switch self { case .v4(let a): a.octets; case .v6(let a): a.bytes } }
    public var isV4: Bool { if case .v4 = self { return true }; return false }
    public var description: String { switch self { case .v4(let a): a.description; case .v6(let a): a.description } }
    /// True when the first `prefix` bits equal those of `network` (same family only).
    public func isIn(_ network: SPFAddress, prefix: Int) -> Bool {
        guard isV4 == network.isV4 else { return false }
        let a = bytes, b = network.bytes
        var left = prefix
        for i in a.indices where left > 0 {
            let bits = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - bits))
            if a[i] & mask != b[i] & mask { return false }
            left -= bits
        }
        return true
    }
}

/// A flattening that cannot be done without changing what the record means.
public struct SPFFlattenError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The one SPF evaluator (RFC 7208): lookup counting with chains and per-term totals, void
/// lookup detection (include/redirect, a, mx, exists), loops, `check_host()`, and
/// flattening of an include into its ip4/ip6 set. Works over any ``SPFDNSLookup``:
/// ``SPFEvaluator/live(_:)`` in production (through ``LiveDNS``, the resolver layer), a map
/// in tests, or a ``SPFLookupCache`` shared by one run. Terms whose domain holds a macro
/// (RFC 7208 §7) are counted but not followed when counting.
public struct SPFEvaluator {
    public let lookup: SPFDNSLookup

    public init(lookup: @escaping SPFDNSLookup) { self.lookup = lookup }

    /// The production lookup: queries the plan's resolvers through ``LiveDNS``.
    /// NXDOMAIN and NODATA are empty answers; other rcodes throw ``LiveDNSError``.
    public static func live(_ live: LiveDNS) -> SPFDNSLookup {
        { name, type in
            let a = try live.lookup(name, type)
            guard a.rcode == .noError || a.rcode == .nxDomain else {
                throw LiveDNSError("\(name.fqdn) \(type) answered \(a.rcode.rawValue) from \(a.server)")
            }
            return a.answerRecords.filter { $0.rdata.type == type }.map(\.rdata)
        }
    }

    /// The SPF values among the TXT records at `name`, and whether the TXT answer was void.
    func spfValues(_ name: DomainName) throws -> (spf: [String], void: Bool) {
        let values = try lookup(name, .txt).compactMap(\.txtValue)
        return (values.filter(SPF.isSPF), values.isEmpty)
    }

    // MARK: lookup counting

    /// Evaluates the SPF record served at `domain`.
    /// - Throws: when the TXT lookup of `domain` itself fails (no finding can be made on it).
    /// - Returns: an evaluation with `record == nil` and an error when there is no single SPF record.
    public func evaluate(_ domain: DomainName) throws -> SPFEvaluation {
        let (spf, _) = try spfValues(domain)
        guard spf.count == 1 else {
            var e = SPFEvaluation(domain: domain, record: nil)
            if spf.count > 1 { e.errors.append("\(domain.withoutTrailingDot) has \(spf.count) SPF records; a name must have exactly one (RFC 7208 §4.5, permerror)") }
            return e
        }
        do { return evaluate(try SPFRecord.parse(spf[0]), at: domain) } catch {
            var e = SPFEvaluation(domain: domain, record: spf[0])
            e.errors.append("\(domain.withoutTrailingDot): \(error) (permerror)")
            return e
        }
    }

    /// Counts the lookups `record`, published at `domain`, costs: every term is visited (no
    /// IP is matched), so the count is the worst case a receiver can reach.
    /// - Returns: lookups with chains, per-term totals and errors; lookup failures are
    ///   errors (temperror), never thrown.
    public func evaluate(_ record: SPFRecord, at domain: DomainName) -> SPFEvaluation {
        var counter = SPFLookupCounter(evaluator: self, e: SPFEvaluation(domain: domain, record: record.description), visiting: [domain])
        // The counter throws nothing: every failure is an error in the evaluation.
        try? SPFWalk.walk(record, at: SPFPlace(domain: domain, chain: [domain.withoutTrailingDot]), &counter)
        return counter.e
    }

    // MARK: check_host (RFC 7208 §4, §5)

    struct Stop: Error { let result: SPFResult; let why: String }

    /// `check_host()` for `ip`, as a receiver evaluates it (RFC 7208 §4–§5): ip4, ip6, a, mx,
    /// include, exists, redirect and qualifiers, with the 10-lookup and 2-void limits. `ptr`
    /// is counted but never matches (mailplan does not do reverse lookups for it, and §5.5
    /// says not to use it). Macros (§7) are expanded with `sender` (default
    /// `postmaster@<domain>`) and HELO `domain`.
    /// - Parameters:
    ///   - record: the record to evaluate at `domain` (the planned one); nil: look it up.
    /// - Returns: the result and why (the term that matched, or the error).
    public func checkHost(_ ip: SPFAddress, domain: DomainName, record: SPFRecord? = nil, sender: String? = nil) -> (result: SPFResult, why: String) {
        var check = SPFHostCheck(evaluator: self, ip: ip, sender: sender ?? "postmaster@\(domain.withoutTrailingDot)")
        let d = domain.withoutTrailingDot
        do {
            let top: SPFRecord
            if let record { top = record } else {
                let spf = try check.q(domain, .txt).compactMap(\.txtValue).filter(SPF.isSPF)
                if spf.isEmpty { return (.none, "\(d) has no SPF record") }
                if spf.count > 1 { throw Stop(result: .permerror, why: "\(d) has \(spf.count) SPF records") }
                do { top = try SPFRecord.parse(spf[0]) } catch { throw Stop(result: .permerror, why: "\(d): \(error)") }
            }
            return try SPFWalk.walk(top, at: SPFPlace(domain: domain, chain: [d]), &check)
        } catch let stop as Stop {
            return (stop.result, stop.why)
        } catch { return (.temperror, "\(error)") }
    }

    // MARK: flattening

    /// The ip4/ip6 set an include stands for now: the pass-qualified `ip4:`/`ip6:` terms of
    /// the record at `include`, of the records it includes or redirects to, and the addresses
    /// of its `a`/`mx` terms, canonical (`ip4:192.0.2.0/24`, a single address without
    /// prefix), de-duplicated and sorted (IPv4 first).
    /// - Throws: ``SPFFlattenError`` when the record holds something a flat list cannot
    ///   express (`exists`, `ptr`, macros, a non-pass qualifier before its `all`), has no
    ///   single SPF record, or a lookup fails.
    public func flatten(_ include: DomainName) throws -> [String] {
        var f = SPFFlattener(evaluator: self)
        _ = try SPFWalk.descend(include, "include:\(include.withoutTrailingDot)", SPFPlace(domain: include, chain: []), &f)
        let out = f.out
        var unique: [String] = []
        let sorted = out.sorted { a, b in
            if a.0.isV4 != b.0.isV4 { return a.0.isV4 }
            return (a.0.bytes, a.1).0.lexicographicallyPrecedes(b.0.bytes) || (a.0.bytes == b.0.bytes && a.1 < b.1)
        }
        for (addr, p) in sorted {
            let full = addr.isV4 ? 32 : 128
            let t = (addr.isV4 ? "ip4:" : "ip6:") + addr.description + (p == full ? "" : "/\(p)")
            if !unique.contains(t) { unique.append(t) }
        }
        return unique
    }
}

/// SPF macro expansion (RFC 7208 §7) for `check_host()`: `%{s}`, `%{l}`, `%{o}`, `%{d}`,
/// `%{i}`, `%{v}`, `%{h}` with digit and `r` transformers and delimiters; `%%`, `%_`, `%-`.
public enum SPFMacro {
    /// - Throws: a permerror stop when the macro string is malformed.
    static func expand(_ spec: String, ip: SPFAddress, domain: DomainName, sender: String) throws -> String {
        let local = sender.split(separator: "@").first.map(String.init) ?? "postmaster"
        let senderDomain = sender.split(separator: "@").last.map(String.init) ?? domain.withoutTrailingDot
        let ipText: String
        switch ip {
        case .v4(let a): ipText = a.description
        case .v6(let a): ipText = a.bytes.flatMap { [String($0 >> 4, radix: 16), String($0 & 0xf, radix: 16)] }.joined(separator: ".")
        }
        var out = ""
        var i = spec.startIndex
        func bad() -> SPFEvaluator.Stop { SPFEvaluator.Stop(result: .permerror, why: "'\(spec)' is not a valid macro string (RFC 7208 §7.1)") }
        while i < spec.endIndex {
            let c = spec[i]
            guard c == "%" else { out.append(c); i = spec.index(after: i); continue }
            i = spec.index(after: i)
            guard i < spec.endIndex else { throw bad() }
            switch spec[i] {
            case "%": out += "%"; i = spec.index(after: i); continue
            case "_": out += " "; i = spec.index(after: i); continue
            case "-": out += "%20"; i = spec.index(after: i); continue
            case "{": break
            default: throw bad()
            }
            guard let close = spec[i...].firstIndex(of: "}") else { throw bad() }
            var body = spec[spec.index(after: i)..<close]
            i = spec.index(after: close)
            guard let letter = body.first?.lowercased() else { throw bad() }
            body = body.dropFirst()
            let value: String
            switch letter {
            case "s": value = sender
            case "l": value = local
            case "o": value = senderDomain
            case "d", "h": value = domain.withoutTrailingDot
            case "i": value = ipText
            case "v": value = ip.isV4 ? "in-addr" : "ip6"
            default: throw bad()
            }
            let digits = body.prefix { $0.isNumber }
            body = body.dropFirst(digits.count)
            var reverse = false
            if body.first == "r" || body.first == "R" { reverse = true; body = body.dropFirst() }
            let delims = body.isEmpty ? Set<Character>(["."]) : Set(body)
            guard delims.isSubset(of: Set(".-+,/_=")) else { throw bad() }
            var parts = value.split(whereSeparator: { delims.contains($0) }).map(String.init)
            if reverse { parts.reverse() }
            if let n = Int(digits), n > 0 { parts = Array(parts.suffix(n)) } else if !digits.isEmpty { throw bad() }
            out += parts.joined(separator: ".")
        }
        return out
    }
}

/// A lookup cache for one run: each (name, type) is asked once, failures included.
/// Thread-safe.
public final class SPFLookupCache: @unchecked Sendable {
    private let base: SPFDNSLookup
    private let lock = NSLock()
    private var answers: [String: Result<[RData], any Error>] = [:]
    /// - Parameter base: the real lookup (``SPFEvaluator/live(_:)``).
    public init(_ base: @escaping SPFDNSLookup) { self.base = base }

    /// The same cached answers, except that the RRsets in `overlay` (the planned records of
    /// names the plan manages) answer from there instead of DNS.
    public func with(overlay: [RRsetKey: [RData]]) -> SPFDNSLookup {
        { name, type in
            if let o = overlay[RRsetKey(name, type)] { return o }
            return try self.lookup(name, type)
        }
    }

    /// Looks `name` `type` up once per run.
    public func lookup(_ name: DomainName, _ type: RRType) throws -> [RData] {
        let key = "\(name.fqdn) \(type)"
        lock.lock()
        if let r = answers[key] { lock.unlock(); return try r.get() }
        lock.unlock()
        let r = Result { try base(name, type) }
        lock.lock(); answers[key] = r; lock.unlock()
        return try r.get()
    }
}
