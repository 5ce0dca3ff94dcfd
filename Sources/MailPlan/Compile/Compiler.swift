import Crypto
import Foundation

/// How much of a live RRset mailplan owns.
public enum Ownership: String, Sendable, Codable, Hashable {
    /// The whole RRset: it is replaced to match the plan.
    case full
    /// Only TXT values that start with `v=spf1` (any case): other values (verification
    /// tokens) are kept as they are.
    case spfValues = "spf_values"
}

/// One RRset the plan wants, how much of the live set it owns, and why it exists.
public struct DesiredRRset: Sendable, Hashable {
    public var rrset: RRset
    public let ownership: Ownership
    /// What produced it, for messages: `mx`, `spf`, `dkim selector mail2026`, …
    public let purpose: String
    public let location: SourceLocation?
    /// Notes shown with any change to it (TTL clamped, …).
    public var notes: [String] = []
}

/// The desired state of one zone at one provider.
public struct DesiredZone: Sendable {
    public let zone: DomainName
    /// The provider instance name.
    public let provider: String
    /// Desired RRsets in canonical order.
    public var rrsets: [DesiredRRset]
}

/// Compiles a ``MailPlan`` into desired RRsets per zone (DESIGN.md "Ownership").
public enum Compiler {
    /// The MTA-STS policy file text (RFC 8461 §3.2) for a domain: `mx` lines cover every
    /// planned MX host.
    public static func mtaSTSPolicy(_ policy: MTASTSPolicy, mx: [MXTarget]) -> String {
        var lines = ["version: STSv1", "mode: \(policy.mode)"]
        for m in mx.sorted(by: { ($0.preference, $0.exchange) < ($1.preference, $1.exchange) }) where m.exchange != .root {
            lines.append("mx: \(m.exchange.withoutTrailingDot)")
        }
        lines.append("max_age: \(policy.maxAge)")
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// The `_mta-sts` TXT value: `v=STSv1; id=<first 20 hex digits of SHA-256(policy)>`.
    public static func mtaSTSRecord(_ policy: MTASTSPolicy, mx: [MXTarget]) -> String {
        let digest = SHA256.hash(data: Data(mtaSTSPolicy(policy, mx: mx).utf8))
        return "v=STSv1; id=" + digest.prefix(10).map { String(format: "%02x", $0) }.joined()
    }

    /// Produces the desired zones of a plan.
    /// - Returns: one ``DesiredZone`` per (zone, provider), in plan order.
    /// - Throws: ``DiagnosticsError`` when two parts of the plan want the same RRset, two SPF
    ///   values share a name (RFC 7208 §4.5), a zone is planned at two providers, or a
    ///   CNAME shares its name with other data (RFC 2181 §10.1).
    public static func compile(_ plan: MailPlan) throws -> [DesiredZone] {
        var zones: [DesiredZone] = []
        var zoneProvider: [DomainName: (String, SourceLocation?)] = [:]
        var problems: [Diagnostic] = []

        for d in plan.domains {
            if let (p, at) = zoneProvider[d.zone], p != d.provider {
                problems.append(Diagnostic(at: d.location, "zone \(d.zone.fqdn) is planned at provider '\(d.provider)' here and at '\(p)' at \(at.map(\.description) ?? "?")"))
                continue
            }
            zoneProvider[d.zone] = (d.provider, d.location)
            if !zones.contains(where: { $0.zone == d.zone }) { zones.append(DesiredZone(zone: d.zone, provider: d.provider, rrsets: [])) }
        }

        func add(_ zone: DomainName, _ desired: DesiredRRset) {
            guard let zi = zones.firstIndex(where: { $0.zone == zone }) else { return }
            if let prev = zones[zi].rrsets.first(where: { $0.rrset.key == desired.rrset.key }) {
                problems.append(Diagnostic(at: desired.location, "\(desired.rrset.key) is wanted by \(desired.purpose) and by \(prev.purpose) (at \(prev.location.map(\.description) ?? "?")); declare it once"))
                return
            }
            zones[zi].rrsets.append(desired)
        }

        // A/AAAA of the mail host, in the planned zone that contains it (the longest match).
        let host = plan.server.hostname
        if let hostZone = zones.map(\.zone).filter({ host.isSubdomain(of: $0) }).max(by: { $0.labels.count < $1.labels.count }) {
            let ttl = plan.domains.first { $0.zone == hostZone }?.ttl ?? plan.defaults.ttl
            if !plan.server.ipv4.isEmpty {
                add(hostZone, DesiredRRset(rrset: RRset(name: host, type: .a, ttl: ttl, rdata: plan.server.ipv4.map { .a($0) }),
                                           ownership: .full, purpose: "server.ipv4", location: plan.server.location))
            }
            if !plan.server.ipv6.isEmpty {
                add(hostZone, DesiredRRset(rrset: RRset(name: host, type: .aaaa, ttl: ttl, rdata: plan.server.ipv6.map { .aaaa($0) }),
                                           ownership: .full, purpose: "server.ipv6", location: plan.server.location))
            }
        }

        for d in plan.domains where zoneProvider[d.zone]?.0 == d.provider {
            let z = d.zone
            if !d.mx.isEmpty {
                add(z, DesiredRRset(rrset: RRset(name: d.name, type: .mx, ttl: d.ttl, rdata: d.mx.map { .mx(preference: $0.preference, exchange: $0.exchange) }),
                                    ownership: .full, purpose: "\(d.name.withoutTrailingDot) mx", location: d.location))
            }
            var explicitTXT = d.records.filter { $0.rrset.type == .txt }
            if let spf = d.spf {
                let clashing = explicitTXT.filter { $0.rrset.name == d.name }.flatMap { $0.rrset.rdata.compactMap(\.txtValue) }.filter(SPF.isSPF)
                if let other = clashing.first {
                    problems.append(Diagnostic(at: d.location, "\(d.name.fqdn) TXT: two SPF records, \"\(spf.record)\" (spf:) and \"\(other)\" (records:); a name must have exactly one (RFC 7208 §4.5)"))
                } else {
                    if let i = explicitTXT.firstIndex(where: { $0.rrset.name == d.name }) {
                        // Merge explicit apex TXT values into the SPF-owning set.
                        let e = explicitTXT.remove(at: i)
                        problems.append(Diagnostic(at: e.location, "\(d.name.fqdn) TXT: the apex TXT RRset is shared with spf:; mailplan owns only its v=spf1 value, so declare other apex TXT values outside the plan"))
                    }
                    add(z, DesiredRRset(rrset: RRset(name: d.name, type: .txt, ttl: d.ttl, rdata: [.txt(spf.record)]),
                                        ownership: .spfValues, purpose: "\(d.name.withoutTrailingDot) spf", location: d.location))
                }
            }
            for k in d.dkim {
                add(z, DesiredRRset(rrset: RRset(name: d.name.prepending("_domainkey").prepending(k.selector), type: .txt, ttl: d.ttl, rdata: [.txt(k.record)]),
                                    ownership: .full, purpose: "dkim selector \(k.selector)", location: k.location))
            }
            if let dmarc = d.dmarc {
                add(z, DesiredRRset(rrset: RRset(name: d.name.prepending("_dmarc"), type: .txt, ttl: d.ttl, rdata: [.txt(dmarc.record)]),
                                    ownership: .full, purpose: "\(d.name.withoutTrailingDot) dmarc", location: d.location))
            }
            if let t = d.tlsRPT {
                add(z, DesiredRRset(rrset: RRset(name: d.name.prepending("_tls").prepending("_smtp"), type: .txt, ttl: d.ttl, rdata: [.txt(t.record)]),
                                    ownership: .full, purpose: "\(d.name.withoutTrailingDot) tls_rpt", location: d.location))
            }
            if let s = d.mtaSTS {
                add(z, DesiredRRset(rrset: RRset(name: d.name.prepending("_mta-sts"), type: .txt, ttl: d.ttl, rdata: [.txt(mtaSTSRecord(s, mx: d.mx))]),
                                    ownership: .full, purpose: "\(d.name.withoutTrailingDot) mta_sts", location: d.location))
            }
            for r in d.records {
                if r.rrset.type == .txt && r.rrset.name == d.name && d.spf != nil { continue }
                let spfs = r.rrset.rdata.compactMap(\.txtValue).filter(SPF.isSPF)
                if spfs.count > 1 {
                    problems.append(Diagnostic(at: r.location, "\(r.rrset.name.fqdn) TXT: two SPF records, \(spfs.map { "\"\($0)\"" }.joined(separator: " and ")); a name must have exactly one (RFC 7208 §4.5)"))
                    continue
                }
                add(z, DesiredRRset(rrset: r.rrset, ownership: .full, purpose: "records (\(r.rrset.key))", location: r.location))
            }
        }

        // A CNAME must be alone at its name (RFC 2181 §10.1).
        for z in zones {
            let byName = Dictionary(grouping: z.rrsets, by: { $0.rrset.name })
            for (name, sets) in byName where sets.count > 1 && sets.contains(where: { $0.rrset.type == .cname }) {
                let cname = sets.first { $0.rrset.type == .cname }!
                problems.append(Diagnostic(at: cname.location, "\(name.fqdn) CNAME: a CNAME cannot share its name with \(sets.filter { $0.rrset.type != .cname }.map { $0.rrset.type.rawValue }.joined(separator: ", ")) (RFC 2181 §10.1)"))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return zones.map { z in
            var z = z
            z.rrsets.sort { $0.rrset.key < $1.rrset.key }
            return z
        }
    }
}

/// SPF record recognition (RFC 7208 §4.5).
public enum SPF {
    /// True when a TXT value is an SPF record: it starts with `v=spf1` (any case) followed by
    /// a space or the end of the value.
    public static func isSPF(_ txt: String) -> Bool {
        let l = txt.lowercased()
        return l == "v=spf1" || l.hasPrefix("v=spf1 ")
    }
}
