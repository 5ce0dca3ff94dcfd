import Foundation

/// Where an SPF walk stands: the domain whose record holds the current term and the chain of
/// records walked to reach it (the evaluated domain first, then each `include:`/`redirect=`).
struct SPFPlace {
    let domain: DomainName
    let chain: [String]
    /// 0 for the evaluated record, 1 inside its includes, …
    var depth: Int { chain.count - 1 }
    /// The place of the record a term here names.
    func inner(_ name: DomainName, via text: String) -> SPFPlace { SPFPlace(domain: name, chain: chain + [text]) }
}

/// What an ``SPFVisitor`` says at one term.
enum SPFStep<Outcome> {
    /// Go on with the next term.
    case next
    /// Walk the record at this domain, which the term (`include:…` or `redirect=…`) names;
    /// then ``SPFVisitor/returned(_:from:for:at:)`` decides how to go on.
    case descend(DomainName, text: String)
    /// Stop walking this record, with this outcome.
    case finish(Outcome)
}

/// One consumer of the SPF tree walk: the lookup count, `check_host()` or flattening
/// (``SPFEvaluator``). The walk is the same for all three; what each term means is the
/// visitor's.
protocol SPFVisitor {
    associatedtype Outcome
    /// A directive (`[qualifier] mechanism`), in record order (RFC 7208 §4.6.2).
    mutating func directive(_ q: SPFQualifier, _ m: SPFMechanism, _ text: String, at p: SPFPlace) throws -> SPFStep<Outcome>
    /// The record a descended term names: resolved (and counted, and checked for loops) by
    /// the visitor; nil leaves it unwalked.
    mutating func open(_ name: DomainName, for text: String, at p: SPFPlace) throws -> SPFRecord?
    /// After a descended term: the outcome of the record it named (nil: not walked).
    mutating func returned(_ outcome: Outcome?, from name: DomainName, for text: String, at p: SPFPlace) throws -> SPFStep<Outcome>
    /// After the directives, when none finished: `redirect=` (RFC 7208 §6.1) or the end.
    mutating func end(_ record: SPFRecord, at p: SPFPlace) throws -> SPFStep<Outcome>
    /// A term is done (with everything it descended into).
    mutating func done(_ text: String, at p: SPFPlace)
    /// The outcome of a record walked to its end without finishing.
    func exhausted(at p: SPFPlace) -> Outcome
}

extension SPFVisitor {
    mutating func done(_ text: String, at p: SPFPlace) {}
}

/// The one depth-first walk of an SPF record and the records its `include:` and `redirect=`
/// terms name: directives in order, then `redirect=` only when no directive finished.
enum SPFWalk {
    static func walk<V: SPFVisitor>(_ record: SPFRecord, at p: SPFPlace, _ v: inout V) throws -> V.Outcome {
        for (q, m, text) in record.directives {
            var step = try v.directive(q, m, text, at: p)
            if case .descend(let name, let t) = step { step = try descend(name, t, p, &v) }
            v.done(text, at: p)
            if case .finish(let o) = step { return o }
        }
        var step = try v.end(record, at: p)
        if case .descend(let name, let t) = step {
            step = try descend(name, t, p, &v)
            v.done(t, at: p)
        }
        if case .finish(let o) = step { return o }
        return v.exhausted(at: p)
    }

    static func descend<V: SPFVisitor>(_ name: DomainName, _ text: String, _ p: SPFPlace, _ v: inout V) throws -> SPFStep<V.Outcome> {
        let inner = try v.open(name, for: text, at: p)
        let outcome = try inner.map { try walk($0, at: p.inner(name, via: text), &v) }
        return try v.returned(outcome, from: name, for: text, at: p)
    }
}

// MARK: - lookup counting (RFC 7208 §4.6.4)

/// Counts every term that costs a lookup, with its chain, and notes what a receiver would
/// refuse (loops, a name without SPF, `ptr`, `+all`); visits every term (no address is
/// matched), so the count is the worst case.
struct SPFLookupCounter: SPFVisitor {
    typealias Outcome = Void
    let evaluator: SPFEvaluator
    var e: SPFEvaluation
    var visiting: [DomainName]
    var termStart = 0

    mutating func count(_ text: String, at p: SPFPlace, void: Bool) {
        e.lookups.append(SPFLookup(term: text, foundIn: p.domain, chain: p.chain, void: void))
    }

    /// True when every type asked at `name` answered no records; a failed lookup is an error
    /// (temperror), not void.
    mutating func empty(_ name: DomainName, _ types: [RRType], _ text: String, at p: SPFPlace) -> Bool {
        do { return try types.allSatisfy { try evaluator.lookup(name, $0).isEmpty } } catch {
            e.errors.append("\((p.chain + [text]).joined(separator: " → ")): lookup failed: \(error) (temperror)")
            return false
        }
    }

    /// The domain of a term; nil for a macro (only a receiver can expand it) or a bad name.
    func target(_ spec: String?, at p: SPFPlace) -> DomainName? {
        guard let spec else { return p.domain }
        if spec.contains("%") { return nil }
        return try? DomainName(spec)
    }

    mutating func directive(_ q: SPFQualifier, _ m: SPFMechanism, _ text: String, at p: SPFPlace) throws -> SPFStep<Void> {
        if p.depth == 0 { termStart = e.lookups.count }
        switch m {
        case .all:
            if q == .pass { e.errors.append("\(p.domain.withoutTrailingDot): '\(text)' lets any host send as this domain") }
        case .ip4, .ip6: break
        case .include(let spec):
            guard let name = target(spec, at: p) else { count(text, at: p, void: false); break }
            return .descend(name, text: text)
        case .a(let spec, _, _), .mx(let spec, _, _):
            guard let t = target(spec, at: p) else { count(text, at: p, void: false); break }
            if case .a = m { count(text, at: p, void: empty(t, [.a, .aaaa], text, at: p)) } else { count(text, at: p, void: empty(t, [.mx], text, at: p)) }
        case .exists(let spec):
            guard let t = target(spec, at: p) else { count(text, at: p, void: false); break }
            count(text, at: p, void: empty(t, [.a], text, at: p))
        case .ptr:
            count(text, at: p, void: false)
            e.errors.append("\(p.domain.withoutTrailingDot): '\(text)' is slow and unreliable and must not be used (RFC 7208 §5.5)")
        }
        return .next
    }

    mutating func open(_ name: DomainName, for text: String, at p: SPFPlace) throws -> SPFRecord? {
        let path = (p.chain + [text]).joined(separator: " → ")
        if visiting.contains(name) {
            count(text, at: p, void: false)
            e.errors.append("\(path): loops back to \(name.withoutTrailingDot)")
            return nil
        }
        let spf: [String], void: Bool
        do { (spf, void) = try evaluator.spfValues(name) } catch {
            count(text, at: p, void: false)
            e.errors.append("\(path): lookup failed: \(error) (temperror)")
            return nil
        }
        count(text, at: p, void: void)
        guard spf.count == 1 else {
            e.errors.append("\(path): \(name.withoutTrailingDot) has \(spf.isEmpty ? "no SPF record" : "\(spf.count) SPF records") (a permerror, RFC 7208 §5.2)")
            return nil
        }
        let inner: SPFRecord
        do { inner = try SPFRecord.parse(spf[0]) } catch {
            e.errors.append("\(path): \(error)")
            return nil
        }
        // Past 30 lookups a receiver has long given up; stop so fan-out cannot run away.
        if e.lookups.count > 30 { return nil }
        visiting.append(name)
        return inner
    }

    mutating func returned(_ outcome: Void?, from name: DomainName, for text: String, at p: SPFPlace) throws -> SPFStep<Void> {
        if outcome != nil { visiting.removeLast() }
        return .next
    }

    mutating func end(_ record: SPFRecord, at p: SPFPlace) throws -> SPFStep<Void> {
        guard let r = record.redirect else { return .next }
        if p.depth == 0 { termStart = e.lookups.count }
        guard !r.contains("%"), let name = try? DomainName(r) else {
            count("redirect=\(r)", at: p, void: false)
            done("redirect=\(r)", at: p)
            return .next
        }
        return .descend(name, text: "redirect=\(r)")
    }

    mutating func done(_ text: String, at p: SPFPlace) {
        if p.depth == 0 { e.perTerm.append(SPFTermCount(term: text, lookups: e.lookups.count - termStart)) }
    }

    func exhausted(at p: SPFPlace) {}
}

// MARK: - check_host (RFC 7208 §4, §5)

/// `check_host()` for one address: a term that matches finishes with its qualifier's result;
/// `include:` matches when the included record passes (§5.2); `redirect=` gives the result
/// of the record it names (§6.1); the 10-lookup and 2-void limits end the walk (§4.6.4).
struct SPFHostCheck: SPFVisitor {
    typealias Outcome = (result: SPFResult, why: String)
    let evaluator: SPFEvaluator
    let ip: SPFAddress
    let sender: String
    var lookups = 0, voids = 0
    /// Per depth: the qualifier of the include being walked, nil for a redirect.
    var pending: [Int: SPFQualifier?] = [:]

    mutating func counted() throws {
        lookups += 1
        if lookups > SPFEvaluation.maxLookups { throw SPFEvaluator.Stop(result: .permerror, why: "more than \(SPFEvaluation.maxLookups) DNS lookups (RFC 7208 §4.6.4)") }
    }
    func q(_ name: DomainName, _ t: RRType) throws -> [RData] {
        do { return try evaluator.lookup(name, t) } catch { throw SPFEvaluator.Stop(result: .temperror, why: "\(name.fqdn) \(t): \(error)") }
    }
    mutating func voidCheck(_ r: [RData]) throws {
        if r.isEmpty { voids += 1 }
        if voids > SPFEvaluation.maxVoidLookups { throw SPFEvaluator.Stop(result: .permerror, why: "more than \(SPFEvaluation.maxVoidLookups) void lookups (RFC 7208 §4.6.4)") }
    }
    func name(_ spec: String?, at p: SPFPlace) throws -> DomainName {
        guard let spec else { return p.domain }
        let expanded = spec.contains("%") ? try SPFMacro.expand(spec, ip: ip, domain: p.domain, sender: sender) : spec
        guard let n = try? DomainName(expanded) else { throw SPFEvaluator.Stop(result: .permerror, why: "'\(expanded)' is not a domain name") }
        return n
    }
    mutating func addresses(_ n: DomainName) throws -> [SPFAddress] {
        let r = try q(n, ip.isV4 ? .a : .aaaa)
        try voidCheck(r)
        return r.compactMap { rd in
            switch rd { case .a(let a): .v4(a); case .aaaa(let a): .v6(a); default: nil }
        }
    }
    func within(_ addrs: [SPFAddress], _ p4: Int?, _ p6: Int?) -> Bool {
        addrs.contains { ip.isIn($0, prefix: ip.isV4 ? (p4 ?? 32) : (p6 ?? 128)) }
    }
    static func result(_ q: SPFQualifier) -> SPFResult {
        switch q { case .pass: .pass; case .fail: .fail; case .softfail: .softfail; case .neutral: .neutral }
    }

    mutating func directive(_ qual: SPFQualifier, _ mech: SPFMechanism, _ text: String, at p: SPFPlace) throws -> SPFStep<Outcome> {
        let d = p.domain.withoutTrailingDot
        var match = false
        switch mech {
        case .all: match = true
        case .ip4(let a, let pl): match = ip.isIn(.v4(a), prefix: pl ?? 32)
        case .ip6(let a, let pl): match = ip.isIn(.v6(a), prefix: pl ?? 128)
        case .a(let spec, let p4, let p6):
            try counted(); match = within(try addresses(try name(spec, at: p)), p4, p6)
        case .mx(let spec, let p4, let p6):
            try counted()
            let mx = try q(try name(spec, at: p), .mx)
            try voidCheck(mx)
            let hosts = mx.compactMap { if case .mx(_, let h) = $0 { return h }; return nil }
            if hosts.count > 10 { throw SPFEvaluator.Stop(result: .permerror, why: "'\(text)' in \(d): more than 10 MX hosts (RFC 7208 §4.6.4)") }
            for h in hosts where h != .root { if within(try addresses(h), p4, p6) { match = true; break } }
        case .ptr: try counted()
        case .exists(let spec):
            try counted()
            let r = try q(try name(spec, at: p), .a)
            try voidCheck(r)
            match = !r.isEmpty
        case .include(let spec):
            try counted()
            pending[p.depth] = .some(qual)
            return .descend(try name(spec, at: p), text: text)
        }
        return match ? .finish((Self.result(qual), "matched '\(text)' in \(d)")) : .next
    }

    mutating func open(_ name: DomainName, for text: String, at p: SPFPlace) throws -> SPFRecord? {
        let t = name.withoutTrailingDot
        let spf = try q(name, .txt).compactMap(\.txtValue).filter(SPF.isSPF)
        if spf.isEmpty { throw SPFEvaluator.Stop(result: .permerror, why: "'\(text)' in \(p.domain.withoutTrailingDot): \(t) has no SPF record") }
        if spf.count > 1 { throw SPFEvaluator.Stop(result: .permerror, why: "\(t) has \(spf.count) SPF records") }
        let record: SPFRecord
        do { record = try SPFRecord.parse(spf[0]) } catch { throw SPFEvaluator.Stop(result: .permerror, why: "\(t): \(error)") }
        if p.depth + 1 > 20 { throw SPFEvaluator.Stop(result: .permerror, why: "include/redirect nesting too deep at \(t)") }
        return record
    }

    mutating func returned(_ outcome: Outcome?, from name: DomainName, for text: String, at p: SPFPlace) throws -> SPFStep<Outcome> {
        guard let (r, why) = outcome else { return .next }
        guard case .some(let qual)? = pending[p.depth] else { return .finish((r, why)) }   // redirect: its result
        switch r {
        case .pass: return .finish((Self.result(qual), "matched '\(text)' in \(p.domain.withoutTrailingDot)"))
        case .fail, .softfail, .neutral: return .next
        case .temperror, .permerror, .none: throw SPFEvaluator.Stop(result: r == .temperror ? .temperror : .permerror, why: why)
        }
    }

    mutating func end(_ record: SPFRecord, at p: SPFPlace) throws -> SPFStep<Outcome> {
        guard let r = record.redirect else { return .next }
        try counted()
        pending[p.depth] = .some(nil)
        return .descend(try name(r, at: p), text: "redirect=\(r)")
    }

    func exhausted(at p: SPFPlace) -> Outcome { (.neutral, "no term matched in \(p.domain.withoutTrailingDot)") }
}

// MARK: - flattening

/// The address ranges a record stands for now: pass-qualified `ip4:`/`ip6:`, the addresses
/// of `a`/`mx`, through includes and redirects; anything a flat list cannot say is an error.
struct SPFFlattener: SPFVisitor {
    typealias Outcome = Void
    let evaluator: SPFEvaluator
    var out: [(SPFAddress, Int)] = []
    var seen: [DomainName] = []

    func fail(_ why: String, at p: SPFPlace) -> SPFFlattenError {
        SPFFlattenError(message: "cannot flatten \(p.chain.joined(separator: " → ")): \(why)")
    }
    func domain(_ spec: String?, _ text: String, at p: SPFPlace) throws -> DomainName {
        guard let spec else { return p.domain }
        if spec.contains("%") { throw fail("'\(text)' uses a macro, which only a receiver can expand", at: p) }
        guard let n = try? DomainName(spec) else { throw fail("'\(text)' does not name a domain", at: p) }
        return n
    }
    mutating func addrs(_ n: DomainName, _ p4: Int?, _ p6: Int?, at p: SPFPlace) throws {
        for t in [RRType.a, .aaaa] {
            let records: [RData]
            do { records = try evaluator.lookup(n, t) } catch { throw fail("lookup failed: \(error)", at: p) }
            for r in records {
                switch r {
                case .a(let a): out.append((.v4(a), p4 ?? 32))
                case .aaaa(let a): out.append((.v6(a), p6 ?? 128))
                default: break
                }
            }
        }
    }

    mutating func directive(_ q: SPFQualifier, _ m: SPFMechanism, _ text: String, at p: SPFPlace) throws -> SPFStep<Void> {
        let name = p.domain.withoutTrailingDot
        if case .all = m { return .finish(()) }  // terms after all are never reached, nor is redirect=
        guard q == .pass else { throw fail("'\(text)' in \(name) has a \(q) qualifier; a list of passing ranges cannot say that", at: p) }
        switch m {
        case .all: break
        case .ip4(let a, let pl): out.append((SPFAddress.v4(a), pl ?? 32))
        case .ip6(let a, let pl): out.append((SPFAddress.v6(a), pl ?? 128))
        case .include(let spec): return .descend(try domain(spec, text, at: p), text: text)
        case .a(let spec, let p4, let p6): try addrs(try domain(spec, text, at: p), p4, p6, at: p)
        case .mx(let spec, let p4, let p6):
            let target = try domain(spec, text, at: p)
            let mx: [RData]
            do { mx = try evaluator.lookup(target, .mx) } catch { throw fail("lookup failed: \(error)", at: p) }
            for case .mx(_, let h) in mx where h != .root { try addrs(h, p4, p6, at: p) }
        case .exists, .ptr: throw fail("'\(text)' in \(name) depends on the connecting host", at: p)
        }
        return .next
    }

    mutating func open(_ name: DomainName, for text: String, at p: SPFPlace) throws -> SPFRecord? {
        let inner = p.inner(name, via: text)
        if seen.contains(name) { throw fail("loops back to \(name.withoutTrailingDot)", at: inner) }
        if seen.count > 30 { throw fail("more than 30 records deep", at: inner) }
        seen.append(name)
        let spf: [String]
        do { spf = try evaluator.spfValues(name).spf } catch { throw fail("lookup failed: \(error)", at: inner) }
        guard spf.count == 1 else { throw fail("\(name.withoutTrailingDot) has \(spf.isEmpty ? "no SPF record" : "\(spf.count) SPF records")", at: inner) }
        do { return try SPFRecord.parse(spf[0]) } catch { throw fail("\(error)", at: inner) }
    }

    mutating func returned(_ outcome: Void?, from name: DomainName, for text: String, at p: SPFPlace) throws -> SPFStep<Void> {
        seen.removeLast()
        return .next
    }

    mutating func end(_ record: SPFRecord, at p: SPFPlace) throws -> SPFStep<Void> {
        guard let r = record.redirect else { return .next }
        return .descend(try domain(r, "redirect=\(r)", at: p), text: "redirect=\(r)")
    }

    func exhausted(at p: SPFPlace) {}
}
