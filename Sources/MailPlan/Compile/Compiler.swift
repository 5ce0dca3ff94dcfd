import Crypto
import Foundation

/// How much of a live RRset mailplan owns.
public enum Ownership: String, Sendable, Codable, Hashable {
    /// The whole RRset: it is replaced to match the plan.
    case full
    /// Only TXT values that start with `v=spf1` (any case): other values (verification
    /// tokens) are kept as they are.
    case spfValues = "spf_values"
    /// The RRset must not exist: deleted when the provider holds it. Only an explicit plan
    /// statement produces this (a DKIM selector with `state: removed` or past `remove_after`).
    case absent
}

/// Where one DKIM selector is in its rotation, for the `plan` output.
public struct RotationStatus: Sendable, Hashable, Codable {
    /// The mail domain, without trailing dot.
    public let domain: String
    public let selector: String
    /// The stage in words: `active`, `retiring: published until 2026-12-31, revoked from 2027-01-01`, …
    public let stage: String
    /// `<domain> dkim selector <selector>: <stage>`
    public var line: String { "\(domain) dkim selector \(selector): \(stage)" }
}

/// The result of compiling a plan at a given instant.
public struct CompiledPlan: Sendable {
    public var zones: [DesiredZone]
    /// Warnings that do not stop a plan (report addresses outside the plan, names outside every zone).
    public var warnings: [Diagnostic]
    /// One entry per DKIM selector whose plan entry is not plain `active` (in rotation).
    public var rotation: [RotationStatus]
}

/// What a desired RRset is for, in the plan file's terms. Messages show it
/// (``description``: `server.ipv4`, `example.com mx`, `dkim selector mail2026`, …); adapters'
/// audits ask it (``isServerAddress``), never its text.
public enum RecordPurpose: Sendable, Hashable, CustomStringConvertible {
    /// `server.ipv4` / `server.ipv6`: the mail host's A or AAAA.
    case serverAddress(RRType)
    /// `server.helo_spf`, `server.dane`.
    case heloSPF, dane
    /// A domain's `mx`, `spf`, `dmarc`, `tls_rpt`, `mta_sts`, `caa`.
    case domain(DomainName, String)
    /// Part `n` (1-based) of a flattened SPF record.
    case spfPart(DomainName, Int)
    /// `dkim selector <selector>`.
    case dkim(selector: String)
    /// An `autoconfig` SRV or CNAME of a domain.
    case autoconfig(DomainName, String)
    /// The `<domain>._report._dmarc.<target>` authorization (RFC 7489 §7.1).
    case reportAuthorization(DomainName, by: DomainName)
    /// A record listed under `records:`.
    case explicit(RRsetKey)

    public var description: String {
        switch self {
        case .serverAddress(let t): t == .aaaa ? "server.ipv6" : "server.ipv4"
        case .heloSPF: "server.helo_spf"
        case .dane: "server.dane"
        case .domain(let d, let what): "\(d.withoutTrailingDot) \(what)"
        case .spfPart(let d, let n): "\(d.withoutTrailingDot) spf flattened part \(n)"
        case .dkim(let s): "dkim selector \(s)"
        case .autoconfig(let d, let what): "\(d.withoutTrailingDot) autoconfig \(what)"
        case .reportAuthorization(let d, let t): "dmarc report authorization of \(d.withoutTrailingDot) by \(t.withoutTrailingDot)"
        case .explicit(let k): "records (\(k))"
        }
    }

    /// True for the mail host's own A/AAAA (`server.ipv4`, `server.ipv6`).
    public var isServerAddress: Bool { if case .serverAddress = self { return true }; return false }
}

/// One RRset the plan wants, how much of the live set it owns, and why it exists.
public struct DesiredRRset: Sendable, Hashable {
    public var rrset: RRset
    public let ownership: Ownership
    /// What produced it, shown in messages.
    public let purpose: RecordPurpose
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

/// Compiles a ``MailPlan`` into desired RRsets per zone (docs/architecture.md, "Ownership").
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
        // A pure function of (mode, max_age, MX set): thousands of domains on one mail host
        // repeat the same inputs, so the last answer is kept.
        if let hit = lastMTASTSRecord.get(policy.mode, policy.maxAge, mx) { return hit }
        let digest = SHA256.hash(data: Data(mtaSTSPolicy(policy, mx: mx).utf8))
        let record = "v=STSv1; id=" + hexString(digest.prefix(10))
        lastMTASTSRecord.set(policy.mode, policy.maxAge, mx, record)
        return record
    }

    /// The last ``mtaSTSRecord(_:mx:)`` computed and its inputs (compiles run on several threads).
    private final class LastMTASTSRecord: @unchecked Sendable {
        private let lock = NSLock()
        private var last: (mode: MTASTSMode, maxAge: Int, mx: [MXTarget], record: String)?
        func get(_ mode: MTASTSMode, _ maxAge: Int, _ mx: [MXTarget]) -> String? {
            lock.lock(); defer { lock.unlock() }
            guard let l = last, l.mode == mode, l.maxAge == maxAge, l.mx == mx else { return nil }
            return l.record
        }
        func set(_ mode: MTASTSMode, _ maxAge: Int, _ mx: [MXTarget], _ record: String) {
            lock.lock(); last = (mode, maxAge, mx, record); lock.unlock()
        }
    }
    private static let lastMTASTSRecord = LastMTASTSRecord()

    /// Produces the desired zones of a plan evaluated at `now` (see ``compilePlan(_:now:)``).
    /// - Returns: one ``DesiredZone`` per (zone, provider), in plan order.
    /// - Throws: as ``compilePlan(_:now:)``.
    public static func compile(_ plan: MailPlan, now: Date) throws -> [DesiredZone] {
        try compilePlan(plan, now: now).zones
    }

    /// Produces the desired zones of a plan at the instant `now`, which decides the stage of
    /// each DKIM selector in rotation (``DKIMLifecycle``).
    /// - Parameters:
    ///   - plan: a loaded plan.
    ///   - now: the instant to evaluate dates against (the CLI passes the real time or `MAILPLAN_NOW`).
    /// - Returns: the desired zones, warnings, and the rotation stage of each rotating selector.
    /// - Throws: ``DiagnosticsError`` when two parts of the plan want the same RRset, two SPF
    ///   values share a name (RFC 7208 §4.5), a zone is planned at two providers, or a
    ///   CNAME shares its name with other data (RFC 2181 §10.1).
    public static func compilePlan(_ plan: MailPlan, now: Date) throws -> CompiledPlan {
        let index = CompileIndex(plan, now: now)
        var problems = CompileProblems(index)
        var zones: [DesiredZone] = []
        zones.reserveCapacity(index.zones.count)
        for zi in index.zones.indices {
            let c = compileZone(plan, index: index, zone: zi)
            problems.add(c)
            zones.append(c.zone)
        }
        if !problems.isEmpty { throw DiagnosticsError(problems.ordered) }
        return CompiledPlan(zones: zones, warnings: index.warnings, rotation: index.rotation)
    }

    /// Compiles ONE zone of the plan (docs/architecture.md, "Streaming"): the mail host's
    /// records when `zone` holds `server.hostname`, the RRsets of the zone's domains in plan
    /// order, the DMARC report authorizations (RFC 7489 §7.1) the zone holds, and the check
    /// that a CNAME is alone at its name (RFC 2181 §10.1).
    /// - Parameters:
    ///   - plan: the plan `index` was built from.
    ///   - index: ``CompileIndex`` of `plan`.
    ///   - zone: the position of the zone in ``CompileIndex/zones``.
    /// - Returns: the zone's desired RRsets sorted by key, and its problems (the plan-wide ones
    ///   are in ``CompileIndex/problems``; ``CompileProblems`` orders both as ``compilePlan(_:now:)``).
    public static func compileZone(_ plan: MailPlan, index: CompileIndex, zone zi: Int) -> ZoneCompilation {
        let zoneName = index.zones[zi].zone
        var rrsets: [DesiredRRset] = []
        var problems: [(CompileProblems.Order, Diagnostic)] = []
        var order = CompileProblems.Order(phase: 1, major: 0, minor: 0)
        // Where each key is in `rrsets`: a zone of a few RRsets is searched, a large one indexed.
        var rrsetIndex: [RRsetKey: Int] = [:]
        func problem(_ d: Diagnostic) { problems.append((order, d)) }
        func position(_ key: RRsetKey) -> Int? {
            if rrsets.count <= 16 { return rrsets.firstIndex { $0.rrset.key == key } }
            if rrsetIndex.isEmpty { for (i, r) in rrsets.enumerated() { rrsetIndex[r.rrset.key] = i } }
            return rrsetIndex[key]
        }
        func add(_ desired: DesiredRRset) {
            if let pi = position(desired.rrset.key) {
                let prev = rrsets[pi]
                problem(Diagnostic(at: desired.location, "\(desired.rrset.key) is wanted by \(desired.purpose) and by \(prev.purpose) (at \(prev.location.map(\.description) ?? "?")); declare it once"))
                return
            }
            if !rrsetIndex.isEmpty { rrsetIndex[desired.rrset.key] = rrsets.count }
            rrsets.append(desired)
        }

        // A/AAAA of the mail host, in the planned zone that contains it (the longest match).
        let host = plan.server.hostname
        if index.hostZone == zi {
            let ttl = index.zoneTTL[zi]
            if !plan.server.ipv4.isEmpty {
                add(DesiredRRset(rrset: RRset(name: host, type: .a, ttl: ttl, rdata: plan.server.ipv4.map { .a($0) }),
                                 ownership: .full, purpose: .serverAddress(.a), location: plan.server.location))
            }
            if !plan.server.ipv6.isEmpty {
                add(DesiredRRset(rrset: RRset(name: host, type: .aaaa, ttl: ttl, rdata: plan.server.ipv6.map { .aaaa($0) }),
                                 ownership: .full, purpose: .serverAddress(.aaaa), location: plan.server.location))
            }
            if plan.server.heloSPF && !index.heloSPFRefused {
                // The HELO identity's SPF (RFC 7208 §2.3). Owned like an apex SPF: only the v=spf1
                // value; other TXT values at the host name are kept. (A host name that is itself a
                // planned domain with spf: is refused in CompileIndex.)
                add(DesiredRRset(rrset: RRset(name: host, type: .txt, ttl: ttl, rdata: [.txt("v=spf1 a -all")]),
                                 ownership: .spfValues, purpose: .heloSPF, location: plan.server.location))
            }
            if let dane = plan.server.dane {
                add(DesiredRRset(rrset: RRset(name: host.prepending("_tcp").prepending("_25"), type: .tlsa, ttl: ttl, rdata: dane.rdata),
                                 ownership: .full, purpose: .dane, location: dane.location,
                                 notes: dane.next == nil ? [] : ["DANE rollover: the current and the next key are both published"]))
            }
        }

        for di in index.domainsOfZone[zi] {
            let d = plan.domains[di]
            order = CompileProblems.Order(phase: 2, major: di, minor: 0)
            if !d.mx.isEmpty {
                add(DesiredRRset(rrset: RRset(name: d.name, type: .mx, ttl: d.ttl, rdata: d.mx.map { .mx(preference: $0.preference, exchange: $0.exchange) }),
                                 ownership: .full, purpose: .domain(d.name, "mx"), location: d.location))
            }
            var explicitTXT = d.records.filter { $0.rrset.type == .txt }
            if let spf = d.spf {
                let clashing = explicitTXT.filter { $0.rrset.name == d.name }.flatMap { $0.rrset.rdata.compactMap(\.txtValue) }.filter(SPF.isSPF)
                if let other = clashing.first {
                    problem(Diagnostic(at: d.location, "\(d.name.fqdn) TXT: two SPF records, \"\(spf.record)\" (spf:) and \"\(other)\" (records:); a name must have exactly one (RFC 7208 §4.5)"))
                } else {
                    if let i = explicitTXT.firstIndex(where: { $0.rrset.name == d.name }) {
                        // Merge explicit apex TXT values into the SPF-owning set.
                        let e = explicitTXT.remove(at: i)
                        problem(Diagnostic(at: e.location, "\(d.name.fqdn) TXT: the apex TXT RRset is shared with spf:; mailplan owns only its v=spf1 value, so declare other apex TXT values outside the plan"))
                    }
                    add(DesiredRRset(rrset: RRset(name: d.name, type: .txt, ttl: d.ttl, rdata: [.txt(spf.record)]),
                                     ownership: .spfValues, purpose: .domain(d.name, "spf"), location: d.location))
                }
            }
            for k in d.dkim {
                let name = d.name.prepending("_domainkey").prepending(k.selector)
                let stage = k.stage(at: index.now)
                var notes: [String] = []
                if k.lifecycle.isRotating { notes.append("dkim selector \(k.selector): \(stage)") }
                let purpose = RecordPurpose.dkim(selector: k.selector)
                switch (stage, k.cname) {
                case (.removed, _):
                    // Explicitly removed: whichever of TXT or CNAME the provider holds goes.
                    for type in [RRType.txt, .cname] {
                        add(DesiredRRset(rrset: RRset(name: name, type: type, ttl: d.ttl, rdata: []), ownership: .absent,
                                         purpose: purpose, location: k.location, notes: notes))
                    }
                case (_, let target?):
                    add(DesiredRRset(rrset: RRset(name: name, type: .cname, ttl: d.ttl, rdata: [.cname(target)]),
                                     ownership: .full, purpose: purpose, location: k.location, notes: notes))
                case (.revoked, nil):
                    add(DesiredRRset(rrset: RRset(name: name, type: .txt, ttl: d.ttl, rdata: [.txt(k.revokedRecord)]),
                                     ownership: .full, purpose: purpose, location: k.location, notes: notes))
                case (.active, nil), (.retiring, nil):
                    add(DesiredRRset(rrset: RRset(name: name, type: .txt, ttl: d.ttl, rdata: [.txt(k.record)]),
                                     ownership: .full, purpose: purpose, location: k.location, notes: notes))
                }
            }
            if let dmarc = d.dmarc {
                add(DesiredRRset(rrset: RRset(name: d.name.prepending("_dmarc"), type: .txt, ttl: d.ttl, rdata: [.txt(dmarc.record)]),
                                 ownership: .full, purpose: .domain(d.name, "dmarc"), location: d.location))
            }
            if let t = d.tlsRPT {
                add(DesiredRRset(rrset: RRset(name: d.name.prepending("_tls").prepending("_smtp"), type: .txt, ttl: d.ttl, rdata: [.txt(t.record)]),
                                 ownership: .full, purpose: .domain(d.name, "tls_rpt"), location: d.location))
            }
            if let s = d.mtaSTS {
                add(DesiredRRset(rrset: RRset(name: d.name.prepending("_mta-sts"), type: .txt, ttl: d.ttl, rdata: [.txt(mtaSTSRecord(s, mx: d.mx))]),
                                 ownership: .full, purpose: .domain(d.name, "mta_sts"), location: d.location))
            }
            if let a = d.autoconfig {
                for s in a.services {
                    let rdata: RData = s.target.map { .srv(priority: 0, weight: 1, port: s.port, target: $0) }
                        ?? .srv(priority: 0, weight: 0, port: 0, target: .root)
                    let labels = s.label.split(separator: ".").map(String.init)
                    add(DesiredRRset(rrset: RRset(name: d.name.prepending(labels[1]).prepending(labels[0]), type: .srv, ttl: d.ttl, rdata: [rdata]),
                                     ownership: .full, purpose: .autoconfig(d.name, s.label), location: a.location))
                }
                for c in a.cnames {
                    add(DesiredRRset(rrset: RRset(name: d.name.prepending(c), type: .cname, ttl: d.ttl, rdata: [.cname(host)]),
                                     ownership: .full, purpose: .autoconfig(d.name, c), location: a.location))
                }
            }
            if let caa = d.caa {
                add(DesiredRRset(rrset: RRset(name: d.name, type: .caa, ttl: d.ttl, rdata: caa.rdata),
                                 ownership: .full, purpose: .domain(d.name, "caa"), location: caa.location))
            }
            for r in d.records {
                if r.rrset.type == .txt && r.rrset.name == d.name && d.spf != nil { continue }
                let spfs = r.rrset.rdata.compactMap(\.txtValue).filter(SPF.isSPF)
                if spfs.count > 1 {
                    problem(Diagnostic(at: r.location, "\(r.rrset.name.fqdn) TXT: two SPF records, \(spfs.map { "\"\($0)\"" }.joined(separator: " and ")); a name must have exactly one (RFC 7208 §4.5)"))
                    continue
                }
                add(DesiredRRset(rrset: r.rrset, ownership: .full, purpose: .explicit(r.rrset.key), location: r.location))
            }
        }

        // External report authorizations (RFC 7489 §7.1) this zone holds (CompileIndex).
        for a in index.reportAuthorizations[zi] {
            order = CompileProblems.Order(phase: 3, major: a.domain, minor: a.target)
            let d = plan.domains[a.domain]
            add(DesiredRRset(rrset: RRset(name: a.name, type: .txt, ttl: index.zoneTTL[zi], rdata: [.txt("v=DMARC1")]),
                             ownership: .full, purpose: .reportAuthorization(d.name, by: a.by), location: d.location))
        }

        // A CNAME must be alone at its name (RFC 2181 §10.1).
        order = CompileProblems.Order(phase: 4, major: zi, minor: 0)
        let hasCNAME = rrsets.contains { $0.rrset.type == .cname && $0.ownership != .absent }
        let byName = hasCNAME ? Dictionary(grouping: rrsets.filter { $0.ownership != .absent }, by: { $0.rrset.name }) : [:]
        for (name, sets) in byName where sets.count > 1 && sets.contains(where: { $0.rrset.type == .cname }) {
            let cname = sets.first { $0.rrset.type == .cname }!
            problem(Diagnostic(at: cname.location, "\(name.fqdn) CNAME: a CNAME cannot share its name with \(sets.filter { $0.rrset.type != .cname }.map { $0.rrset.type.rawValue }.joined(separator: ", ")) (RFC 2181 §10.1)"))
        }
        rrsetIndex = [:]
        rrsets.sort { $0.rrset.key < $1.rrset.key }
        return ZoneCompilation(zone: DesiredZone(zone: zoneName, provider: index.zones[zi].provider, rrsets: rrsets),
                               ordered: problems)
    }
}

/// What compiling needs to know of the whole plan before it compiles one zone
/// (``Compiler/compileZone(_:index:zone:)``): built once, in time linear in the plan.
public struct CompileIndex: Sendable {
    /// One DMARC external report authorization (RFC 7489 §7.1): `<domain>._report._dmarc.<target>`.
    struct ReportAuthorization: Sendable {
        /// The position in `plan.domains` of the domain whose reports go out.
        let domain: Int
        /// The position of the target among that domain's targets.
        let target: Int
        /// The owner name of the TXT RRset.
        let name: DomainName
        /// The report domain.
        let by: DomainName
    }
    /// The instant the plan is evaluated at (DKIM rotation stages).
    public let now: Date
    /// Every planned zone and its provider instance, in plan order (the first domain of a zone
    /// decides its provider).
    public let zones: [(zone: DomainName, provider: String)]
    /// The position of each zone in ``zones``.
    public let zoneIndex: [DomainName: Int]
    /// Per zone, the positions in `plan.domains` of its domains (those at the zone's provider).
    let domainsOfZone: [[Int]]
    /// Per zone, the TTL of its first domain (host records, report authorizations).
    let zoneTTL: [UInt32]
    /// The position of the zone that holds `server.hostname`, if any.
    public let hostZone: Int?
    /// True when `server.helo_spf` is refused: the host name is a planned domain with `spf:`.
    let heloSPFRefused: Bool
    /// Per zone, the report authorizations it holds, in plan order of their domains.
    let reportAuthorizations: [[ReportAuthorization]]
    /// Problems of the plan as a whole: a zone planned at two providers, `server.helo_spf`
    /// on a host name that is a planned domain with `spf:`.
    let problems: [(CompileProblems.Order, Diagnostic)]
    /// The warnings of compiling (``CompiledPlan/warnings``).
    public let warnings: [Diagnostic]
    /// ``CompiledPlan/rotation``.
    public let rotation: [RotationStatus]

    /// Indexes `plan` evaluated at `now`.
    public init(_ plan: MailPlan, now: Date) {
        self.now = now
        var zones: [(zone: DomainName, provider: String)] = []
        // One dictionary only: a zone's provider is that of its entry in `zones`, and "planned
        // at another provider at …" names the zone's latest domain (the last of domainsOfZone).
        var zoneIndex: [DomainName: Int] = [:]
        var domainsOfZone: [[Int]] = []
        var zoneTTL: [UInt32] = []
        var problems: [(CompileProblems.Order, Diagnostic)] = []
        for di in plan.domains.indices {
            // Fields read in place: a DomainPlan copy retains every one of its values.
            let zone = plan.domains[di].zone, provider = plan.domains[di].provider
            if let zi = zoneIndex[zone], zones[zi].provider != provider {
                let d = plan.domains[di], p = zones[zi].provider
                let at = domainsOfZone[zi].last.flatMap { plan.domains[$0].location }
                problems.append((CompileProblems.Order(phase: 0, major: di, minor: 0), Diagnostic(at: d.location, "zone \(d.zone.fqdn) is planned at provider '\(d.provider)' here and at '\(p)' at \(at.map(\.description) ?? "?")")))
                continue
            }
            if let zi = zoneIndex[zone] {
                domainsOfZone[zi].append(di)
            } else {
                zoneIndex[zone] = zones.count
                zones.append((zone, provider))
                domainsOfZone.append([di])
                zoneTTL.append(plan.domains[di].ttl)
            }
        }
        /// The planned zone that contains a name (the longest match): walk up its labels.
        func zoneContaining(_ name: DomainName) -> Int? {
            var n: DomainName? = name
            while let c = n {
                if let zi = zoneIndex[c] { return zi }
                n = c.parent
            }
            return nil
        }
        var warnings: [Diagnostic] = []
        let host = plan.server.hostname
        let hostZone = zoneContaining(host)
        var heloSPFRefused = false
        if hostZone != nil {
            if plan.server.heloSPF, let d = plan.domains.first(where: { $0.name == host && $0.spf != nil }) {
                // When the host name is itself a planned domain with spf:, that record already
                // answers for HELO (RFC 7208 §2.3): refuse both.
                heloSPFRefused = true
                problems.append((CompileProblems.Order(phase: 1, major: 0, minor: 0), Diagnostic(at: plan.server.location, "server.helo_spf: \(host.withoutTrailingDot) is also the planned domain at \(d.location.map(\.description) ?? "?") with spf:, which is the HELO record too; remove helo_spf and list 'a' in that domain's spf.senders")))
            }
        } else if plan.server.heloSPF || plan.server.dane != nil {
            warnings.append(Diagnostic(.warning, at: plan.server.location, "\(host.fqdn) is in no planned zone: its \([plan.server.heloSPF ? "HELO SPF" : nil, plan.server.dane != nil ? "TLSA" : nil].compactMap { $0 }.joined(separator: " and ")) record\(plan.server.heloSPF && plan.server.dane != nil ? "s are" : " is") not managed; publish \(plan.server.heloSPF && plan.server.dane != nil ? "them" : "it") where the host name is hosted"))
        }

        var rotation: [RotationStatus] = []
        var reports = Array(repeating: [ReportAuthorization](), count: zones.count)
        for di in plan.domains.indices where plan.domains[di].dkim.contains(where: { $0.lifecycle.isRotating }) {
            let d = plan.domains[di]
            guard zoneIndex[d.zone].map({ zones[$0].provider }) == d.provider else { continue }
            for k in d.dkim where k.lifecycle.isRotating {
                rotation.append(RotationStatus(domain: d.name.withoutTrailingDot, selector: k.selector, stage: k.stage(at: now).description))
            }
        }
        // External report authorization (RFC 7489 §7.1): a domain whose DMARC reports go to an
        // address in another domain needs `<domain>._report._dmarc.<target>` TXT "v=DMARC1" there.
        // Without a public-suffix list, "another domain" means neither is inside the other;
        // an authorization record that turns out unnecessary is harmless.
        for di in plan.domains.indices where plan.domains[di].dmarc != nil {
            let d = plan.domains[di]
            guard zoneIndex[d.zone].map({ zones[$0].provider }) == d.provider, let dmarc = d.dmarc else { continue }
            var targets: [DomainName] = []
            for uri in dmarc.rua + dmarc.ruf {
                guard let t = MailtoURI.domain(uri).flatMap({ try? DomainName($0) }) else { continue }
                if t.isSubdomain(of: d.name) || d.name.isSubdomain(of: t) || targets.contains(t) { continue }
                targets.append(t)
            }
            for (ti, t) in targets.enumerated() {
                let name = t.prepending("_dmarc").prepending("_report").prepending(d.name.withoutTrailingDot)
                if let tz = zoneContaining(t) {
                    reports[tz].append(ReportAuthorization(domain: di, target: ti, name: name, by: t))
                } else {
                    warnings.append(Diagnostic(.warning, at: d.location, "\(d.name.withoutTrailingDot) dmarc: reports go to \(t.withoutTrailingDot), which is not in this plan; receivers send them only if \(name.fqdn) TXT \"v=DMARC1\" exists there (RFC 7489 §7.1)"))
                }
            }
        }
        self.zones = zones; self.zoneIndex = zoneIndex; self.domainsOfZone = domainsOfZone; self.zoneTTL = zoneTTL
        self.hostZone = hostZone; self.heloSPFRefused = heloSPFRefused; self.reportAuthorizations = reports
        self.problems = problems; self.warnings = warnings; self.rotation = rotation
    }
}

/// One zone compiled by ``Compiler/compileZone(_:index:zone:)``.
public struct ZoneCompilation: Sendable {
    /// The zone's desired RRsets, sorted by key.
    public let zone: DesiredZone
    /// The zone's problems, each with its place in the order of ``Compiler/compilePlan(_:now:)``.
    let ordered: [(CompileProblems.Order, Diagnostic)]
    /// The zone's problems (conflicts, two SPF records, a CNAME not alone).
    public var problems: [Diagnostic] { ordered.map(\.1) }
}

/// The problems of a plan compiled zone by zone, in the order ``Compiler/compilePlan(_:now:)``
/// reports them: the zones planned at two providers, the mail host's records, the domains in
/// plan order, the report authorizations, then the CNAME checks zone by zone.
public struct CompileProblems: Sendable {
    /// The place of a problem: its phase, then the domain (or zone) and the position within it.
    struct Order: Sendable, Comparable {
        let phase: Int, major: Int, minor: Int
        static func < (a: Order, b: Order) -> Bool { (a.phase, a.major, a.minor) < (b.phase, b.major, b.minor) }
    }
    private var all: [(Order, Diagnostic)]

    /// Starts with the plan-wide problems of `index`.
    public init(_ index: CompileIndex) { all = index.problems }

    /// Adds the problems of one compiled zone (zones added in ``CompileIndex/zones`` order).
    public mutating func add(_ zone: ZoneCompilation) { all += zone.ordered }

    /// True when no problem was found.
    public var isEmpty: Bool { all.isEmpty }

    /// Every problem, in ``Compiler/compilePlan(_:now:)`` order (a stable sort: problems of
    /// the same place keep the order they were found in).
    public var ordered: [Diagnostic] {
        all.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
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
