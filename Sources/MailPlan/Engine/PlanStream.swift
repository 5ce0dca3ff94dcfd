import Foundation

/// How one plan run goes (``Engine/streamPlan(_:progress:events:)``).
public struct PlanRun: Sendable {
    /// The most zones read at the same time (at least 1).
    public var parallelism: Int
    /// `--target`: limit the run to the zones of these domains; empty: all.
    public var targets: [String]
    /// Add the live stages of `plan` and `apply`: the `tlsa-mismatch` gate (with
    /// `check.smtp`) and, with ``servedDrift``, the served-drift and PTR warnings (with a
    /// `dns:` block).
    public var liveStages: Bool
    public var servedDrift: Bool
    /// Keep each zone's ``LiveFingerprint`` (a saved plan and its staleness check need it).
    public var fingerprints: Bool
    /// Keep each zone's desired RRsets and the live RRsets the plan looks at in the result.
    /// False (a streamed CLI run): the result keeps only each zone's Changeset and
    /// fingerprint, so memory does not grow with the number of zones beyond them.
    public var keepZones: Bool
    /// The run may write the zones afterwards (`apply`): a streamed run then keeps the adapter
    /// instance of each zone with changes, which may hold what it read (record IDs) for the
    /// write. False (`plan`): every adapter is let go once its zone is diffed.
    public var writes: Bool

    public init(parallelism: Int = 8, targets: [String] = [], liveStages: Bool = true, servedDrift: Bool = true,
                fingerprints: Bool = true, keepZones: Bool = true, writes: Bool = true) {
        self.parallelism = parallelism; self.targets = targets; self.liveStages = liveStages
        self.servedDrift = servedDrift; self.fingerprints = fingerprints; self.keepZones = keepZones; self.writes = writes
    }
}

/// What a streamed plan run reports as it goes, in this order: the offline warnings, then
/// per zone (in plan-file order) its warnings and the zone, then the warnings of the whole run.
public enum PlanEvent {
    case warnings([Diagnostic])
    /// One zone planned, complete with its notes and gates; every earlier zone came before.
    case zone(ZonePlan)
}

extension Engine {
    /// The plan, zone by zone (docs/architecture.md, "Streaming"): compile and validate the
    /// whole plan offline, then read zones ahead (at most `run.parallelism` at a time) and,
    /// in plan-file order, diff each zone, run the per-zone stages (provider fixes, SPF audit,
    /// `tlsa-mismatch`, served drift), hand it to `events`, and keep only what `run` asks for.
    /// The live RRsets of a zone are dropped once it is diffed.
    ///
    /// After the first zone with a plan problem (a conflict, an SPF budget over the limit)
    /// no further zone is handed to `events`; every zone is still planned so that all
    /// problems are reported together.
    /// - Parameters:
    ///   - run: what to plan and keep.
    ///   - progress: called (from any thread) as each read starts.
    ///   - events: receives warnings and zones as they are ready (from the calling thread).
    /// - Returns: the whole result: every zone (slim unless ``PlanRun/keepZones``), all
    ///   warnings, policy files, rotation, PTRs and request counts.
    /// - Throws: ``DiagnosticsError`` for plan problems, ``ProviderError`` when a zone cannot
    ///   be read (a failed read is never an empty zone), or what `events` throws.
    public func streamPlan(_ run: PlanRun, progress: (@Sendable (String) -> Void)? = nil,
                           events: ((PlanEvent) throws -> Void)? = nil) throws -> PlanResult {
        try streamPlan(run, progress: progress, files: nil, events: events)
    }

    /// ``streamPlan(_:progress:events:)`` with the policy file changes already read (`files`;
    /// nil: read them), so a pipelined apply writes exactly the files the plan shows.
    func streamPlan(_ run: PlanRun, progress: (@Sendable (String) -> Void)?, files given: [PolicyFileChange]?,
                    events: ((PlanEvent) throws -> Void)?) throws -> PlanResult {
        // Without SPF planning (no dns.resolvers) each zone is compiled again when it is read and
        // when it is diffed, so the run never holds every zone's desired RRsets; SPF flattening
        // and its overlay work on the whole plan, so with resolvers the zones are compiled at once.
        let wholePlan = !plan.dns.resolvers.isEmpty
        var index: CompileIndex? = nil
        var zones: [DesiredZone]
        let offlineWarnings: [Diagnostic]
        if wholePlan {
            var (compiled, w) = try validate()
            zones = try select(compiled, targets: run.targets)
            compiled = []
            offlineWarnings = w
        } else {
            let (ix, summary) = try validatedIndex()
            index = ix
            // Only each zone's name and provider until it is needed.
            zones = try select(ix.zones.map { DesiredZone(zone: $0.zone, provider: $0.provider, rrsets: []) }, targets: run.targets)
            offlineWarnings = summary.warnings
        }
        var warnings = offlineWarnings
        try events?(.warnings(offlineWarnings))
        // SPF flattening, lookup budget and sender coverage need live DNS: only with dns.resolvers.
        let spf = plan.dns.resolvers.isEmpty ? nil : SPFPlanning(plan: plan, lookup: spfLookup ?? SPFEvaluator.live(LiveDNS(settings: plan.dns)))
        if spf == nil {
            let needs = plan.domains.filter { !($0.spf?.flatten.isEmpty ?? true) || !($0.spf?.sendersExpected.isEmpty ?? true) }
            if !needs.isEmpty {
                throw DiagnosticsError(needs.map { Diagnostic(at: $0.location, "domains[\($0.name.withoutTrailingDot)].spf: flatten and senders_expected resolve includes at plan time; add dns: {resolvers: [...]} to the plan file") })
            }
        }
        if let spf { zones = try spf.flatten(zones) }
        // MTA-STS enforce is refused while the served policy does not cover the planned MX
        // (only when the plan sets check.mta_sts: the opt-in to fetch policies at plan time).
        // Checked before any zone is read, so a pipelined apply never starts.
        if let fetch = plan.check.mtaSTS {
            let sts = MTASTSCheck(settings: fetch)
            let refused = plan.domains.filter { $0.mtaSTS?.mode == .enforce && inShard($0) }.flatMap { d in
                sts.findings(d, compareContent: false).filter { $0.severity == .error }
                    .map { Diagnostic(at: d.location, "domains[\(d.name.withoutTrailingDot)].mta_sts: \($0.message)") }
            }
            if !refused.isEmpty { throw DiagnosticsError(refused) }
        }
        let files = try given ?? policyFileChanges()
        for (name, n) in Dictionary(zones.map { ($0.provider, 1) }, uniquingKeysWith: +) {
            plan.provider(named: name)?.session.plannedZoneCount = n
        }
        // The RRset keys each zone's read asks for (readKeys), computed in its read job.
        let managed: [DomainName: [RRsetKey]] = wholePlan ? Dictionary(zones.map { ($0.zone, readKeys($0)) }, uniquingKeysWith: { a, b in a + b }) : [:]
        let names = zones.map { (zone: $0.zone, provider: $0.provider) }
        let plan = self.plan
        let reader = ZoneReader(count: names.count, parallelism: run.parallelism, progress: progress) { [self] i in
            let z = names[i]
            let keys: [RRsetKey]
            if let index, let zi = index.zoneIndex[z.zone] {
                keys = readKeys(Compiler.compileZone(plan, index: index, zone: zi).zone)
            } else {
                keys = managed[z.zone] ?? []
            }
            return ZoneReader.Job(zone: z.zone, adapter: try provider(forZone: z.zone, instance: z.provider), managed: keys)
        }
        // However this run ends, no further zone is read for it.
        defer { reader.cancel() }
        let dns = LiveDNS(settings: plan.dns)
        let overlay = spf == nil ? [:] : SPFPlanning.overlay(zones)
        var kept: [ZonePlan] = []
        kept.reserveCapacity(zones.count)
        var problems: [Diagnostic] = []
        for zi in zones.indices {
            // Compiled again here when the run does not hold the zones (checked: TTLs clamped).
            let z = try index.map { try validatedZone($0, zone: $0.zoneIndex[zones[zi].zone]!) } ?? zones[zi]
            // A streamed run lets go of each zone's desired RRsets once it is planned.
            if !run.keepZones && wholePlan { zones[zi] = DesiredZone(zone: z.zone, provider: z.provider, rrsets: []) }
            let read = try reader.next()
            let prov = try provider(forZone: z.zone, instance: z.provider)
            var zoneWarnings = prov.readWarnings(z.zone)
            do {
                let (diffed, w) = try Differ.diff(z, live: read, providerType: prov.typeName)
                zoneWarnings += w
                let (cs, fixWarnings) = Self.applyFixes(prov.providerFixes(z.zone), to: diffed, desired: z, live: read,
                                                       mailHosts: [plan.server.hostname], provider: prov)
                zoneWarnings += fixWarnings
                zoneWarnings += unplannedAAAA(z, live: read)
                var zp = ZonePlan(desired: z, live: retained(read, zone: z.zone, keys: readKeys(z)), changeset: cs,
                                  fingerprint: run.fingerprints ? LiveFingerprint(read) : nil)
                if let spf {
                    let (audited, w) = try spf.audit([zp], overlay: overlay)
                    zp = audited[0]
                    zoneWarnings += w
                }
                if run.liveStages {
                    let one = PlanResult(planFile: plan.file, zones: [zp], warnings: [])
                    if let smtp = plan.check.smtp {
                        let marked = TLSAGate.mark(one, plan: plan, live: dns, settings: smtp, now: now)
                        zp = marked.zones[0]
                        zoneWarnings += marked.warnings
                    }
                    if run.servedDrift && plan.dns.configured {
                        zoneWarnings += ServedDrift.warnings(PlanResult(planFile: plan.file, zones: [zp], warnings: []),
                                                             plan: plan, live: dns, now: now, fcrdns: false)
                    }
                }
                warnings += zoneWarnings
                if problems.isEmpty {
                    try events?(.warnings(zoneWarnings))
                    try events?(.zone(zp))
                }
                kept.append(run.keepZones ? zp : zp.slim)
                // Nothing to write: the adapter (and what it holds of the zone) can go.
                if !run.keepZones && (!run.writes || zp.changeset.changes.isEmpty) { forgetAdapter(forZone: z.zone) }
            } catch let e as DiagnosticsError {
                warnings += zoneWarnings
                problems += e.diagnostics
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        var result = PlanResult(planFile: plan.file, zones: kept, warnings: warnings)
        result.rotation = rotation
        result.files = files
        // PTRs belong to the server host: read them unless --target or --shard leaves out its zone.
        if plan.server.reverse != nil, runsServerParts(targets: run.targets, zones: names.map(\.zone)) {
            progress?("reading the PTR of \(serverAddresses.count) address\(serverAddresses.count == 1 ? "" : "es")")
            result.reverse = try planReverse()
            result.reverseConfigured = true
        }
        if run.liveStages && run.servedDrift && plan.dns.configured && (shard?.runsServerParts(hostZone: hostZone?.zone) ?? true) {
            let ptr = ServedDrift.warnings(PlanResult(planFile: plan.file, zones: [], warnings: []), plan: plan, live: dns, now: now)
            result = result.adding(warnings: ptr)
            try events?(.warnings(ptr))
        }
        result.requests = requestCounts(names.map(\.provider))
        return result
    }

    /// Requests sent so far by the run, per provider instance among `used`, in plan-file order.
    public func requestCounts(_ used: [String]) -> [(provider: String, requests: Int)] {
        let names = Set(used)
        return plan.providers.filter { names.contains($0.name) }.map { ($0.name, $0.session.requests) }
    }

    /// The live RRsets a plan keeps of a zone once it is diffed: those at the keys it reads
    /// (`keys`, ``readKeys(_:)``), the apex NS (served drift, delegation) and TXT RRsets at
    /// `_spf` names (the flattening audit follows the live `include:_spf…` chain).
    func retained(_ live: [RRset], zone: DomainName, keys read: [RRsetKey]) -> [RRset] {
        let keys = Set(read).union([RRsetKey(zone, .ns)])
        return live.filter { keys.contains($0.key) || ($0.type == .txt && ($0.name.labels.first ?? "").lowercased().hasPrefix("_spf")) }
    }

    /// The "AAAA not in the plan" warning: the mail host's AAAA is managed only when the plan
    /// lists IPv6.
    func unplannedAAAA(_ z: DesiredZone, live: [RRset]) -> [Diagnostic] {
        let host = plan.server.hostname
        guard plan.server.ipv6.isEmpty, host.isSubdomain(of: z.zone),
              z.rrsets.contains(where: { $0.rrset.key == RRsetKey(host, .a) }),
              let aaaa = live.first(where: { $0.key == RRsetKey(host, .aaaa) }) else { return [] }
        return [Diagnostic(.warning, at: plan.server.location, "\(host.fqdn) has AAAA \(aaaa.rdata.map(\.presentation).joined(separator: ", ")) at the provider but server.ipv6 is not set: senders will try that address; add it to the plan or remove it")]
    }
}
