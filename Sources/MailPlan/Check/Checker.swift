import Foundation

/// One result of `mailplan check`: what was checked, on what, and what was found, with the
/// exact values compared.
public struct Finding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Codable, Hashable, Comparable {
        case ok, info, warning, error
        static let order: [Severity] = [.ok, .info, .warning, .error]
        public static func < (a: Self, b: Self) -> Bool { order.firstIndex(of: a)! < order.firstIndex(of: b)! }
    }
    public let severity: Severity
    /// The check's name: `fcrdns`, `dnsbl`, `mx`, `spf`, `dkim`, `dmarc`, `mta-sts`, `delegation`, `served`.
    public let check: String
    /// What was checked: an address, a domain, an owner name.
    public let subject: String
    public let message: String
    /// The value the plan or the standard requires, when there is one.
    public let expected: String?
    /// The value served, when there is one.
    public let actual: String?

    public init(_ severity: Severity, _ check: String, _ subject: String, _ message: String, expected: String? = nil, actual: String? = nil) {
        self.severity = severity; self.check = check; self.subject = subject; self.message = message
        self.expected = expected; self.actual = actual
    }
    /// True for warnings and errors: the things `check` exits 2 for.
    public var isProblem: Bool { severity >= .warning }
}

/// The checks of `mailplan check` (issue 4), run against live DNS. Each returns findings; a
/// query that fails is a finding naming the server and the name, never a crash or a hang
/// past `dns.timeout × dns.attempts` per query.
public struct Checker {
    public let plan: MailPlan
    public let live: LiveDNS
    /// The provider's apex NS for a zone (for the delegation check); nil when unknown.
    public let providerNS: (DomainName) throws -> Set<DomainName>?
    /// The instant served certificates are checked at (``ServerCheck``).
    /// The instant certificates and rotation stages are judged at (the engine's clock).
    public var now: Date
    /// The shard whose domains are checked (`--shard K/N`); nil: every domain of the plan.
    public var shard: Shard? = nil
    /// Whether the server-wide checks run (forward-confirmed reverse DNS, the address
    /// blocklists, the `check.smtp` probe); with a shard, exactly one shard runs them
    /// (``Shard/runsServerParts(hostZone:)``).
    public var serverChecks = true

    /// The domains checked: the plan's, in plan order, limited to ``shard``.
    public var domains: [DomainPlan] {
        guard let shard else { return plan.domains }
        return plan.domains.filter { shard.contains(zone: $0.zone) }
    }

    public init(plan: MailPlan, live: LiveDNS, now: Date, providerNS: @escaping (DomainName) throws -> Set<DomainName>? = { _ in nil }) {
        self.plan = plan; self.live = live; self.now = now; self.providerNS = providerNS
    }

    /// Every check, server first, then each domain in plan order (the server checks only with
    /// ``serverChecks``, the domains of ``shard``).
    public func run() -> [Finding] {
        let domains = self.domains
        var out = (serverChecks ? fcrdns() : []) + dnsbl()
        if serverChecks, let smtp = plan.check.smtp { out += ServerCheck(plan: plan, live: live, settings: smtp, now: now).run() }
        if serverChecks || !domains.isEmpty {
            out.append(Finding(.info, "dnsbl", "resolvers", "blocklist operators may refuse queries that come through large public resolvers; such answers are reported as not checked, never as listed"))
        }
        let stsPolicy = MTASTSCheck(settings: plan.check.mtaSTS)
        for d in domains {
            out += mx(d) + spf(d) + dkim(d) + dmarc(d) + mtaSTS(d) + stsPolicy.findings(d)
        }
        var zones: [DomainName] = []
        for d in domains where !zones.contains(d.zone) { zones.append(d.zone) }
        for z in zones { out += delegation(z) }
        return out
    }

    func failed(_ check: String, _ subject: String, _ error: Error) -> Finding {
        Finding(.error, check, subject, "\(error)")
    }

    /// A short text of what an answer holds, for `actual`.
    static func served(_ a: DNSAnswer) -> String {
        if a.rcode != .noError { return a.rcode.rawValue }
        let vals = a.answerRecords.filter { $0.name == a.name }.map(\.rdata.display)
        return vals.isEmpty ? "no \(a.type) record" : vals.joined(separator: ", ")
    }

    // MARK: server

    /// Forward-confirmed reverse DNS for each server address: the PTR names
    /// `server.hostname`, and that name's A/AAAA holds the address (RFC 8601 §3.5 "iprev").
    public func fcrdns() -> [Finding] {
        let host = plan.server.hostname
        var out: [Finding] = []
        let addrs: [(String, DomainName, RRType)] = plan.server.ipv4.map { ($0.description, $0.reverseName, .a) } + plan.server.ipv6.map { ($0.description, $0.reverseName, .aaaa) }
        for (ip, rev, fwdType) in addrs {
            do {
                let p = try live.lookup(rev, .ptr)
                let ptrs: [DomainName] = p.answerRecords.compactMap { if case .ptr(let n) = $0.rdata, $0.name == rev { return n }; return nil }
                if p.rcode != .noError && p.rcode != .nxDomain {
                    out.append(Finding(.warning, "fcrdns", ip, "PTR of \(ip) not checked: \(rev.fqdn) answered \(p.rcode.rawValue) from \(p.server)", expected: host.fqdn, actual: p.rcode.rawValue))
                    continue
                }
                guard p.rcode == .noError, !ptrs.isEmpty else {
                    out.append(Finding(.error, "fcrdns", ip, "no PTR for \(ip) (\(rev.fqdn) answered \(Self.served(p)) from \(p.server)); set PTR for \(ip) to \(host.fqdn) at your IP provider", expected: host.fqdn, actual: Self.served(p)))
                    continue
                }
                guard ptrs.contains(host) else {
                    out.append(Finding(.error, "fcrdns", ip, "PTR of \(ip) is \(ptrs.map(\.fqdn).joined(separator: ", ")), not \(host.fqdn); set PTR for \(ip) to \(host.fqdn) at your IP provider", expected: host.fqdn, actual: ptrs.map(\.fqdn).joined(separator: ", ")))
                    continue
                }
                let f = try live.lookup(host, fwdType)
                let addrsServed = f.answerRecords.filter { $0.name == host || f.cname != nil }.compactMap { r -> String? in
                    switch r.rdata { case .a(let a): a.description; case .aaaa(let a): a.description; default: nil }
                }.sorted()
                if addrsServed.contains(ip) {
                    out.append(Finding(.ok, "fcrdns", ip, "PTR is \(host.fqdn) and \(host.fqdn) \(fwdType) holds \(ip)", expected: host.fqdn, actual: host.fqdn))
                } else {
                    let now = addrsServed.isEmpty ? Self.served(f) : addrsServed.joined(separator: ", ")
                    out.append(Finding(.error, "fcrdns", ip, "PTR of \(ip) is \(host.fqdn) but \(host.fqdn) \(fwdType) does not hold \(ip) (served: \(now)); forward-confirmed reverse DNS fails", expected: ip, actual: now))
                }
                if ptrs.count > 1 {
                    out.append(Finding(.warning, "fcrdns", ip, "\(ip) has \(ptrs.count) PTR records; receivers may pick any of them", expected: host.fqdn, actual: ptrs.map(\.fqdn).joined(separator: ", ")))
                }
            } catch { out.append(failed("fcrdns", ip, error)) }
        }
        return out
    }

    /// The DNSBL query name of an address: reversed octets (IPv4) or nibbles (IPv6) under the list.
    public static func dnsblName(_ reverse: DomainName, list: DomainName) -> DomainName {
        let l = reverse.labels
        let prefix = l.prefix(l.count - 2)   // drop in-addr.arpa / ip6.arpa
        return DomainName(uncheckedFQDN: prefix.joined(separator: ".") + "." + list.fqdn)
    }

    /// Each address against each IP list (with ``serverChecks``), each domain (of ``shard``)
    /// against each domain list. An A answer
    /// in 127.0.0.0/8 means listed, except 127.255.255.0/24, the operators' "query refused"
    /// codes (Spamhaus: 127.255.255.252–255).
    public func dnsbl() -> [Finding] {
        var out: [Finding] = []
        var items: [(String, DomainName, [DomainName])] = []
        if serverChecks {
            for ip in plan.server.ipv4 { items.append((ip.description, ip.reverseName, plan.check.ipLists)) }
            for ip in plan.server.ipv6 { items.append((ip.description, ip.reverseName, plan.check.ipLists)) }
        }
        for d in domains { items.append((d.name.withoutTrailingDot, d.name, plan.check.domainLists)) }
        for (subject, base, lists) in items {
            for list in lists {
                let q = base.fqdn.hasSuffix(".arpa.") ? Self.dnsblName(base, list: list) : DomainName(uncheckedFQDN: base.fqdn + list.fqdn)
                do {
                    let a = try live.lookup(q, .a)
                    let codes = a.answerRecords.compactMap { r -> String? in if case .a(let ip) = r.rdata { return ip.description }; return nil }
                    if a.rcode == .nxDomain || (a.rcode == .noError && codes.isEmpty) {
                        out.append(Finding(.ok, "dnsbl", subject, "not listed on \(list.withoutTrailingDot)", expected: "NXDOMAIN", actual: Self.served(a)))
                    } else if a.rcode != .noError {
                        out.append(Finding(.warning, "dnsbl", subject, "not checked on \(list.withoutTrailingDot): \(q.fqdn) answered \(a.rcode.rawValue) from \(a.server)", actual: a.rcode.rawValue))
                    } else if codes.allSatisfy({ $0.hasPrefix("127.255.255.") }) {
                        out.append(Finding(.warning, "dnsbl", subject, "not checked on \(list.withoutTrailingDot): the list refused the query (\(codes.joined(separator: ", "))); use a resolver of your own, not a public one", actual: codes.joined(separator: ", ")))
                    } else {
                        var why = ""
                        if let t = try? live.lookup(q, .txt), let txt = t.answerRecords.compactMap(\.rdata.txtValue).first { why = ": \(txt)" }
                        out.append(Finding(.error, "dnsbl", subject, "listed on \(list.withoutTrailingDot) (\(q.fqdn) A \(codes.joined(separator: ", ")))\(why)", expected: "NXDOMAIN", actual: codes.joined(separator: ", ")))
                    }
                } catch { out.append(failed("dnsbl", subject, error)) }
            }
        }
        return out
    }

    // MARK: domains

    /// MX targets resolve to addresses, are host names (not IP literals) and are not CNAMEs (RFC 5321 §5.1, RFC 2181 §10.3).
    public func mx(_ d: DomainPlan) -> [Finding] {
        let subject = d.name.withoutTrailingDot
        do {
            let a = try live.lookup(d.name, .mx)
            let targets: [(UInt16, DomainName)] = a.answerRecords.compactMap { if case .mx(let p, let x) = $0.rdata, $0.name == d.name { return (p, x) }; return nil }
            guard a.rcode == .noError, !targets.isEmpty else {
                return [Finding(.error, "mx", subject, "no MX served for \(d.name.fqdn) (\(Self.served(a)) from \(a.server))", expected: d.mx.map { "\($0.preference) \($0.exchange.fqdn)" }.joined(separator: ", "), actual: Self.served(a))]
            }
            var out: [Finding] = []
            for (pref, x) in targets.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
                if x == .root { out.append(Finding(.ok, "mx", subject, "null MX (RFC 7505): the domain receives no mail", actual: "0 .")); continue }
                if x.labels.allSatisfy({ $0.allSatisfy(\.isNumber) }) || IPv6Address(x.withoutTrailingDot) != nil {
                    out.append(Finding(.error, "mx", subject, "MX \(pref) \(x.fqdn) is an IP address, not a host name (RFC 5321 §5.1)", actual: "\(pref) \(x.fqdn)")); continue
                }
                let v4 = try live.lookup(x, .a), v6 = try live.lookup(x, .aaaa)
                if let c = v4.cname ?? v6.cname {
                    out.append(Finding(.error, "mx", subject, "MX target \(x.fqdn) is a CNAME to \(c.fqdn); an MX must name a host with A/AAAA (RFC 2181 §10.3)", actual: "CNAME \(c.fqdn)")); continue
                }
                let addrs = (v4.answerRecords + v6.answerRecords).filter { $0.name == x }.map(\.rdata.presentation)
                if addrs.isEmpty {
                    out.append(Finding(.error, "mx", subject, "MX target \(x.fqdn) has no A or AAAA (A: \(Self.served(v4)), AAAA: \(Self.served(v6)))", actual: "\(Self.served(v4)); \(Self.served(v6))"))
                } else {
                    out.append(Finding(.ok, "mx", subject, "MX \(pref) \(x.fqdn) resolves", actual: addrs.joined(separator: ", ")))
                }
            }
            return out
        } catch { return [failed("mx", subject, error)] }
    }

    /// Walks the served SPF record: at most 10 lookups, at most 2 void lookups, no `ptr`, no `+all`.
    public func spf(_ d: DomainPlan) -> [Finding] {
        let subject = d.name.withoutTrailingDot
        guard d.spf != nil else { return [] }
        do {
            let e = try SPFEvaluator(lookup: SPFEvaluator.live(live)).evaluate(d.name)
            guard let record = e.record else {
                return [Finding(.error, "spf", subject, "no SPF record served at \(d.name.fqdn)" + (e.errors.isEmpty ? "" : ": " + e.errors.joined(separator: "; ")), expected: d.spf?.record, actual: nil)]
            }
            var out: [Finding] = []
            let per = e.lookups.map(\.description).joined(separator: ", ")
            let sev: Finding.Severity = e.lookupCount > SPFEvaluation.maxLookups ? .error : .ok
            out.append(Finding(sev, "spf", subject, "\(e.lookupCount) DNS lookup\(e.lookupCount == 1 ? "" : "s") (limit \(SPFEvaluation.maxLookups))\(e.lookupCount > SPFEvaluation.maxLookups ? ": receivers return permerror" : "")" + (per.isEmpty ? "" : ": " + per),
                               expected: "<= \(SPFEvaluation.maxLookups)", actual: String(e.lookupCount)))
            if e.voidCount > SPFEvaluation.maxVoidLookups {
                out.append(Finding(.error, "spf", subject, "\(e.voidCount) void lookups (limit \(SPFEvaluation.maxVoidLookups)): " + e.lookups.filter(\.void).map(\.description).joined(separator: ", "),
                                   expected: "<= \(SPFEvaluation.maxVoidLookups)", actual: String(e.voidCount)))
            }
            for p in e.errors { out.append(Finding(.error, "spf", subject, p)) }
            if let planned = d.spf?.record, planned != record {
                out.append(Finding(.error, "spf", subject, "served SPF differs from the plan", expected: planned, actual: record))
            }
            return out
        } catch { return [failed("spf", subject, error)] }
    }

    /// Each planned selector is served, parses, and equals the plan; reports the key size.
    public func dkim(_ d: DomainPlan) -> [Finding] {
        d.dkim.map { k in
            let name = d.name.prepending("_domainkey").prepending(k.selector)
            do {
                let a = try live.lookup(name, .txt)
                let values = a.answerRecords.filter { $0.name == name }.compactMap(\.rdata.txtValue)
                guard let v = values.first(where: { $0.lowercased().contains("p=") }) ?? values.first else {
                    return Finding(.error, "dkim", name.fqdn, "no DKIM record served for selector \(k.selector) (\(Self.served(a)) from \(a.server))", expected: k.record, actual: Self.served(a))
                }
                do {
                    let (record, info) = try DKIMKeyParser.parse(v, allowRevoked: k.key.revoked)
                    if record != k.record { return Finding(.error, "dkim", name.fqdn, "served DKIM record differs from the plan", expected: k.record, actual: v) }
                    let sev: Finding.Severity = info.algorithm == "rsa" && info.bits < 2048 && !info.revoked ? .warning : .ok
                    return Finding(sev, "dkim", name.fqdn, "selector \(k.selector): \(info.description) key" + (sev == .warning ? "; use 2048 bits or more (RFC 8301 §3.2)" : ""), expected: k.key.description, actual: info.description)
                } catch { return Finding(.error, "dkim", name.fqdn, "served DKIM record does not parse: \(error)", expected: k.record, actual: v) }
            } catch { return failed("dkim", name.fqdn, error) }
        }
    }

    /// Parses the served DMARC record and checks every tag (RFC 7489 §6.3).
    public func dmarc(_ d: DomainPlan) -> [Finding] {
        guard let planned = d.dmarc else { return [] }
        let name = d.name.prepending("_dmarc")
        do {
            let a = try live.lookup(name, .txt)
            let values = a.answerRecords.filter { $0.name == name }.compactMap(\.rdata.txtValue).filter { $0.lowercased().hasPrefix("v=dmarc1") }
            guard values.count == 1, let v = values.first else {
                return [Finding(.error, "dmarc", name.fqdn, values.isEmpty ? "no DMARC record served (\(Self.served(a)) from \(a.server))" : "\(values.count) DMARC records served; receivers ignore them all (RFC 7489 §6.6.3)", expected: planned.record, actual: Self.served(a))]
            }
            var out: [Finding] = []
            let problems = Self.dmarcProblems(v)
            for p in problems { out.append(Finding(.error, "dmarc", name.fqdn, p, actual: v)) }
            if v != planned.record { out.append(Finding(.error, "dmarc", name.fqdn, "served DMARC record differs from the plan", expected: planned.record, actual: v)) }
            if out.isEmpty { out.append(Finding(.ok, "dmarc", name.fqdn, "valid, p=\(planned.policy)", expected: planned.record, actual: v)) }
            return out
        } catch { return [failed("dmarc", name.fqdn, error)] }
    }

    /// Tag problems of a DMARC record text (RFC 7489 §6.3, §6.4).
    public static func dmarcProblems(_ v: String) -> [String] {
        var problems: [String] = []
        var seen: [String: String] = [:]
        for (i, part) in TagList.parts(v).enumerated() {
            guard case .tag(let name, let val) = part else {
                if case .malformed(let t) = part { problems.append("tag '\(t)' is not name=value") }
                continue
            }
            let k = name.lowercased()
            if i == 0 && !(k == "v" && val == "DMARC1") { problems.append("the record must start with v=DMARC1") }
            if i == 1 && k != "p" { problems.append("p= must directly follow v=DMARC1") }
            seen[k] = val
            switch k {
            case "v": break
            case "p", "sp": if !["none", "quarantine", "reject"].contains(val) { problems.append("\(k)=\(val) must be none, quarantine or reject") }
            case "adkim", "aspf": if !["r", "s"].contains(val) { problems.append("\(k)=\(val) must be r or s") }
            case "pct": if Int(val).map({ (0...100).contains($0) }) != true { problems.append("pct=\(val) must be 0 to 100") }
            case "ri": if UInt32(val) == nil { problems.append("ri=\(val) must be a number of seconds") }
            case "fo": if !val.split(separator: ":").allSatisfy({ ["0", "1", "d", "s"].contains($0) }) { problems.append("fo=\(val) must be 0, 1, d or s joined by ':'") }
            case "rf": break
            case "rua", "ruf":
                for uri in val.split(separator: ",") where !uri.trimmingCharacters(in: .whitespaces).lowercased().hasPrefix("mailto:") {
                    problems.append("\(k): '\(uri)' is not a mailto: URI")
                }
            default: problems.append("unknown tag '\(k)'")
            }
        }
        if seen["p"] == nil { problems.append("p= is missing") }
        return problems
    }

    /// The `_mta-sts` TXT is served when MTA-STS is planned, and equals the plan (RFC 8461 §3.1).
    public func mtaSTS(_ d: DomainPlan) -> [Finding] {
        guard let s = d.mtaSTS else { return [] }
        let name = d.name.prepending("_mta-sts")
        let planned = Compiler.mtaSTSRecord(s, mx: d.mx)
        do {
            let a = try live.lookup(name, .txt)
            let values = a.answerRecords.filter { $0.name == name }.compactMap(\.rdata.txtValue).filter { $0.hasPrefix("v=STSv1") }
            guard let v = values.first else {
                return [Finding(.error, "mta-sts", name.fqdn, "no MTA-STS record served (\(Self.served(a)) from \(a.server))", expected: planned, actual: Self.served(a))]
            }
            if values.count > 1 { return [Finding(.error, "mta-sts", name.fqdn, "\(values.count) MTA-STS records served; senders then ignore MTA-STS (RFC 8461 §3.1)", expected: planned, actual: values.joined(separator: " | "))] }
            if v != planned { return [Finding(.error, "mta-sts", name.fqdn, "served MTA-STS record differs from the plan", expected: planned, actual: v)] }
            return [Finding(.ok, "mta-sts", name.fqdn, "served as planned", expected: planned, actual: v)]
        } catch { return [failed("mta-sts", name.fqdn, error)] }
    }

    /// The parent's delegation (NS it hands out for the zone) equals the provider's apex NS.
    public func delegation(_ zone: DomainName) -> [Finding] {
        let subject = zone.fqdn
        do {
            guard let provider = try providerNS(zone) else { return [] }
            guard let (servers, parentNS, answer) = try live.delegation(of: zone) else {
                return [Finding(.info, "delegation", subject, "not checked: no server for the parent zone is configured (dns.authoritative) or discoverable (dns.resolvers)")]
            }
            let p = parentNS.sorted().map(\.fqdn).joined(separator: ", "), v = provider.sorted().map(\.fqdn).joined(separator: ", ")
            if parentNS.isEmpty {
                return [Finding(.error, "delegation", subject, "the parent's servers (\(servers.map(\.description).joined(separator: ", "))) serve no NS for \(zone.fqdn) (\(answer.rcode.rawValue)): the zone is not delegated", expected: v, actual: answer.rcode.rawValue)]
            }
            if parentNS != provider {
                return [Finding(.error, "delegation", subject, "the zone is not delegated to this provider: the parent serves NS \(p); the provider holds NS \(v)", expected: v, actual: p)]
            }
            return [Finding(.ok, "delegation", subject, "parent NS equals the provider's NS", expected: v, actual: p)]
        } catch { return [failed("delegation", subject, error)] }
    }
}
