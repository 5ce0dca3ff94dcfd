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
        var e = SPFEvaluation(domain: domain, record: record.description)
        var visiting: [DomainName] = [domain]
        walk(record, at: domain, chain: [domain.withoutTrailingDot], into: &e, visiting: &visiting)
        return e
    }

    func walk(_ record: SPFRecord, at domain: DomainName, chain: [String], into e: inout SPFEvaluation, visiting: inout [DomainName]) {
        let d = domain.withoutTrailingDot
        let top = chain.count == 1
        func count(_ text: String, void: Bool) { e.lookups.append(SPFLookup(term: text, foundIn: domain, chain: chain, void: void)) }
        func target(_ spec: String?) -> DomainName? {
            guard let spec else { return domain }
            if spec.contains("%") { return nil }
            return try? DomainName(spec)
        }
        func empty(_ name: DomainName, _ types: [RRType], _ text: String) -> Bool {
            do { return try types.allSatisfy { try lookup(name, $0).isEmpty } } catch {
                e.errors.append("\((chain + [text]).joined(separator: " → ")): lookup failed: \(error) (temperror)")
                return false
            }
        }
        for term in record.terms {
            let before = e.lookups.count
            switch term {
            case .directive(let q, let m, let text):
                switch m {
                case .all:
                    if q == .pass { e.errors.append("\(d): '\(text)' lets any host send as this domain") }
                case .ip4, .ip6: break
                case .include(let spec):
                    follow(spec, text, from: domain, chain: chain, into: &e, visiting: &visiting)
                case .a(let spec, _, _), .mx(let spec, _, _):
                    guard let t = target(spec) else { count(text, void: false); break }
                    if case .a = m { count(text, void: empty(t, [.a, .aaaa], text)) } else { count(text, void: empty(t, [.mx], text)) }
                case .exists(let spec):
                    guard let t = target(spec) else { count(text, void: false); break }
                    count(text, void: empty(t, [.a], text))
                case .ptr:
                    count(text, void: false)
                    e.errors.append("\(d): '\(text)' is slow and unreliable and must not be used (RFC 7208 §5.5)")
                }
            case .modifier: break
            }
            if top, case .directive = term { e.perTerm.append(SPFTermCount(term: term.description, lookups: e.lookups.count - before)) }
        }
        // redirect= is used only when no mechanism matched, so it comes last (RFC 7208 §6.1).
        if let r = record.redirect {
            let before = e.lookups.count
            follow(r, "redirect=\(r)", from: domain, chain: chain, into: &e, visiting: &visiting)
            if top { e.perTerm.append(SPFTermCount(term: "redirect=\(r)", lookups: e.lookups.count - before)) }
        }
    }

    func follow(_ spec: String, _ text: String, from domain: DomainName, chain: [String], into e: inout SPFEvaluation, visiting: inout [DomainName]) {
        let path = (chain + [text]).joined(separator: " → ")
        guard !spec.contains("%"), let name = try? DomainName(spec) else {
            e.lookups.append(SPFLookup(term: text, foundIn: domain, chain: chain, void: false))
            return
        }
        if visiting.contains(name) {
            e.lookups.append(SPFLookup(term: text, foundIn: domain, chain: chain, void: false))
            e.errors.append("\(path): loops back to \(name.withoutTrailingDot)")
            return
        }
        let spf: [String], void: Bool
        do { (spf, void) = try spfValues(name) } catch {
            e.lookups.append(SPFLookup(term: text, foundIn: domain, chain: chain, void: false))
            e.errors.append("\(path): lookup failed: \(error) (temperror)")
            return
        }
        e.lookups.append(SPFLookup(term: text, foundIn: domain, chain: chain, void: void))
        guard spf.count == 1 else {
            e.errors.append("\(path): \(name.withoutTrailingDot) has \(spf.isEmpty ? "no SPF record" : "\(spf.count) SPF records") (a permerror, RFC 7208 §5.2)")
            return
        }
        let inner: SPFRecord
        do { inner = try SPFRecord.parse(spf[0]) } catch {
            e.errors.append("\(path): \(error)")
            return
        }
        // Past 30 lookups a receiver has long given up; stop so fan-out cannot run away.
        if e.lookups.count > 30 { return }
        visiting.append(name)
        walk(inner, at: name, chain: chain + [text], into: &e, visiting: &visiting)
        visiting.removeLast()
    }

    // MARK: check_host (RFC 7208 §4, §5)

    struct Stop: Error { let result: SPFResult; let why: String }
    final class HostState { var lookups = 0; var voids = 0 }

    /// `check_host()` for `ip`, as a receiver evaluates it (RFC 7208 §4–§5): ip4, ip6, a, mx,
    /// include, exists, redirect and qualifiers, with the 10-lookup and 2-void limits. `ptr`
    /// is counted but never matches (mailplan does not do reverse lookups for it, and §5.5
    /// says not to use it). Macros (§7) are expanded with `sender` (default
    /// `postmaster@<domain>`) and HELO `domain`.
    /// - Parameters:
    ///   - record: the record to evaluate at `domain` (the planned one); nil: look it up.
    /// - Returns: the result and why (the term that matched, or the error).
    public func checkHost(_ ip: SPFAddress, domain: DomainName, record: SPFRecord? = nil, sender: String? = nil) -> (result: SPFResult, why: String) {
        let state = HostState()
        let s = sender ?? "postmaster@\(domain.withoutTrailingDot)"
        do { return try host(ip, domain, record, sender: s, state: state, depth: 0) } catch let stop as Stop {
            return (stop.result, stop.why)
        } catch { return (.temperror, "\(error)") }
    }

    func host(_ ip: SPFAddress, _ domain: DomainName, _ given: SPFRecord?, sender: String, state: HostState, depth: Int) throws -> (result: SPFResult, why: String) {
        let d = domain.withoutTrailingDot
        func counted() throws {
            state.lookups += 1
            if state.lookups > SPFEvaluation.maxLookups { throw Stop(result: .permerror, why: "more than \(SPFEvaluation.maxLookups) DNS lookups (RFC 7208 §4.6.4)") }
        }
        func q(_ name: DomainName, _ t: RRType) throws -> [RData] {
            let r: [RData]
            do { r = try lookup(name, t) } catch { throw Stop(result: .temperror, why: "\(name.fqdn) \(t): \(error)") }
            return r
        }
        func voidCheck(_ r: [RData]) throws {
            if r.isEmpty { state.voids += 1 }
            if state.voids > SPFEvaluation.maxVoidLookups { throw Stop(result: .permerror, why: "more than \(SPFEvaluation.maxVoidLookups) void lookups (RFC 7208 §4.6.4)") }
        }
        func name(_ spec: String?) throws -> DomainName {
            guard let spec else { return domain }
            let expanded = spec.contains("%") ? try SPFMacro.expand(spec, ip: ip, domain: domain, sender: sender) : spec
            guard let n = try? DomainName(expanded) else { throw Stop(result: .permerror, why: "'\(expanded)' is not a domain name") }
            return n
        }
        func addresses(_ n: DomainName) throws -> [SPFAddress] {
            let r = try q(n, ip.isV4 ? .a : .aaaa)
            try voidCheck(r)
            return r.compactMap { rd in
                switch rd { case .a(let a): .v4(a); case .aaaa(let a): .v6(a); default: nil }
            }
        }
        func within(_ addrs: [SPFAddress], _ p4: Int?, _ p6: Int?) -> Bool {
            addrs.contains { ip.isIn($0, prefix: ip.isV4 ? (p4 ?? 32) : (p6 ?? 128)) }
        }
        let record: SPFRecord
        if let given { record = given } else {
            let spf = try q(domain, .txt).compactMap(\.txtValue).filter(SPF.isSPF)
            if spf.isEmpty { return (.none, "\(d) has no SPF record") }
            if spf.count > 1 { throw Stop(result: .permerror, why: "\(d) has \(spf.count) SPF records") }
            do { record = try SPFRecord.parse(spf[0]) } catch { throw Stop(result: .permerror, why: "\(d): \(error)") }
        }
        if depth > 20 { throw Stop(result: .permerror, why: "include/redirect nesting too deep at \(d)") }
        for (qual, mech, text) in record.directives {
            var match = false
            switch mech {
            case .all: match = true
            case .ip4(let a, let p): match = ip.isIn(.v4(a), prefix: p ?? 32)
            case .ip6(let a, let p): match = ip.isIn(.v6(a), prefix: p ?? 128)
            case .a(let spec, let p4, let p6):
                try counted(); match = within(try addresses(try name(spec)), p4, p6)
            case .mx(let spec, let p4, let p6):
                try counted()
                let mx = try q(try name(spec), .mx)
                try voidCheck(mx)
                let hosts = mx.compactMap { if case .mx(_, let h) = $0 { return h }; return nil }
                if hosts.count > 10 { throw Stop(result: .permerror, why: "'\(text)' in \(d): more than 10 MX hosts (RFC 7208 §4.6.4)") }
                for h in hosts where h != .root { if within(try addresses(h), p4, p6) { match = true; break } }
            case .ptr: try counted()
            case .exists(let spec):
                try counted()
                let r = try q(try name(spec), .a)
                try voidCheck(r)
                match = !r.isEmpty
            case .include(let spec):
                try counted()
                let t = try name(spec)
                let (r, why) = try host(ip, t, nil, sender: sender, state: state, depth: depth + 1)
                switch r {
                case .pass: match = true
                case .fail, .softfail, .neutral: match = false
                case .temperror: throw Stop(result: .temperror, why: why)
                case .permerror: throw Stop(result: .permerror, why: why)
                case .none: throw Stop(result: .permerror, why: "'\(text)' in \(d): \(t.withoutTrailingDot) has no SPF record")
                }
            }
            if match {
                let result: SPFResult = switch qual { case .pass: .pass; case .fail: .fail; case .softfail: .softfail; case .neutral: .neutral }
                return (result, "matched '\(text)' in \(d)")
            }
        }
        if let r = record.redirect {
            try counted()
            let t = try name(r)
            let (res, why) = try host(ip, t, nil, sender: sender, state: state, depth: depth + 1)
            if res == .none { throw Stop(result: .permerror, why: "'redirect=\(r)' in \(d): \(t.withoutTrailingDot) has no SPF record") }
            return (res, why)
        }
        return (.neutral, "no term matched in \(d)")
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
        var out: [(SPFAddress, Int)] = []
        var seen: [DomainName] = []
        try flattenWalk(include, chain: ["include:\(include.withoutTrailingDot)"], into: &out, seen: &seen)
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

    func flattenWalk(_ name: DomainName, chain: [String], into out: inout [(SPFAddress, Int)], seen: inout [DomainName]) throws {
        let path = chain.joined(separator: " → ")
        func fail(_ why: String) -> SPFFlattenError { SPFFlattenError(message: "cannot flatten \(path): \(why)") }
        if seen.contains(name) { throw fail("loops back to \(name.withoutTrailingDot)") }
        if seen.count > 30 { throw fail("more than 30 records deep") }
        seen.append(name)
        let spf: [String]
        do { spf = try spfValues(name).spf } catch { throw fail("lookup failed: \(error)") }
        guard spf.count == 1 else { throw fail("\(name.withoutTrailingDot) has \(spf.isEmpty ? "no SPF record" : "\(spf.count) SPF records")") }
        let rec: SPFRecord
        do { rec = try SPFRecord.parse(spf[0]) } catch { throw fail("\(error)") }
        func addrs(_ n: DomainName, _ p4: Int?, _ p6: Int?) throws {
            for t in [RRType.a, .aaaa] {
                for r in try lookup(n, t) {
                    switch r {
                    case .a(let a): out.append((.v4(a), p4 ?? 32))
                    case .aaaa(let a): out.append((.v6(a), p6 ?? 128))
                    default: break
                    }
                }
            }
        }
        func domain(_ spec: String?, _ text: String) throws -> DomainName {
            guard let spec else { return name }
            if spec.contains("%") { throw fail("'\(text)' uses a macro, which only a receiver can expand") }
            guard let n = try? DomainName(spec) else { throw fail("'\(text)' does not name a domain") }
            return n
        }
        do {
            for (q, m, text) in rec.directives {
                if case .all = m { break }  // terms after all are never reached
                guard q == .pass else { throw fail("'\(text)' in \(name.withoutTrailingDot) has a \(q) qualifier; a list of passing ranges cannot say that") }
                switch m {
                case .all: break
                case .ip4(let a, let p): out.append((SPFAddress.v4(a), p ?? 32))
                case .ip6(let a, let p): out.append((SPFAddress.v6(a), p ?? 128))
                case .include(let spec):
                    try flattenWalk(try domain(spec, text), chain: chain + [text], into: &out, seen: &seen)
                case .a(let spec, let p4, let p6): try addrs(try domain(spec, text), p4, p6)
                case .mx(let spec, let p4, let p6):
                    for case .mx(_, let h) in try lookup(try domain(spec, text), .mx) where h != .root { try addrs(h, p4, p6) }
                case .exists, .ptr: throw fail("'\(text)' in \(name.withoutTrailingDot) depends on the connecting host")
                }
            }
            if let r = rec.redirect, !rec.directives.contains(where: { if case .all = $0.mechanism { return true }; return false }) {
                try flattenWalk(try domain(r, "redirect=\(r)"), chain: chain + ["redirect=\(r)"], into: &out, seen: &seen)
            }
        } catch let e as SPFFlattenError { throw e } catch { throw fail("lookup failed: \(error)") }
        seen.removeLast()
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
