import Foundation

/// The plan for one zone: what the plan wants, what the provider holds, and the changes.
public struct ZonePlan: Sendable {
    public let desired: DesiredZone
    public let live: [RRset]
    public let changeset: ZoneChangeset
    /// The fingerprint of the live RRsets read (``LiveFingerprint``).
    public var fingerprint: LiveFingerprint { LiveFingerprint(live) }
}

/// The result of `mailplan plan`: every zone's Changeset and the warnings found on the way.
public struct PlanResult: Sendable {
    public let planFile: String
    public let zones: [ZonePlan]
    public let warnings: [Diagnostic]
    /// Policy files (MTA-STS) that `apply` writes, before any DNS change.
    public var files: [PolicyFileChange] = []
    /// The stage of every DKIM selector in rotation, shown even when nothing changes.
    public var rotation: [RotationStatus] = []
    public var changesets: [ZoneChangeset] { zones.map(\.changeset) }
    public var summary: ChangeSummary { ChangeSummary(zones.flatMap(\.changeset.changes)) }
    /// PTRs the reverse provider (`server.reverse`) would set; empty when in sync or not configured.
    public var reverse: [PTRChange] = []
    /// True when the plan has `server.reverse` (the PTRs were read).
    public var reverseConfigured = false
    /// True when apply would change anything: an RRset, a policy file or a PTR.
    public var hasChanges: Bool { !summary.isEmpty || !files.isEmpty || !reverse.isEmpty }
}

/// What an apply did, zone by zone.
public struct ApplyReport: Sendable {
    public struct ZoneOutcome: Sendable {
        public let changeset: ZoneChangeset
        public var applied: [Change]
        public var failed: [Change]
        public var notAttempted: [Change]
        public var error: String?
        /// Changes whose outcome is not known (``ApplyError/unknown``).
        public var unknown: [Change] = []
    }
    public let zones: [ZoneOutcome]
    /// Policy files written.
    public var filesWritten: [PolicyFileChange] = []
    /// Why writing a policy file failed (then no DNS change was attempted).
    public var fileError: String? = nil
    /// The reverse step (PTRs), when the plan had PTRs to set.
    public var reverse: ReverseApplyReport? = nil
    public var succeeded: Bool {
        fileError == nil && zones.allSatisfy { $0.error == nil && $0.failed.isEmpty && $0.notAttempted.isEmpty } && (reverse?.succeeded ?? true)
    }
    public var appliedSummary: ChangeSummary { ChangeSummary(zones.flatMap(\.applied)) }
}

/// Runs the flow of docs/architecture.md: compile the plan, read each zone through its provider,
/// diff, and apply. Knows providers only through ``DNSProvider``.
public final class Engine {
    public let plan: MailPlan
    /// The instant the plan is evaluated at (DKIM rotation stages).
    public let now: Date
    let makeProvider: (ProviderConfig) throws -> any DNSProvider
    /// Builds the reverse adapter of `server.reverse` (the Providers reverse registry).
    let makeReverseProvider: ((ProviderConfig) throws -> any ReverseDNSProvider)?
    var reverseCache: (any ReverseDNSProvider)? = nil
    /// The clock of the reverse step's waits (forward DNS served, PTR served); injectable for tests.
    public var waitClock: any WaitClock = SystemWaitClock()
    /// Seconds between two polls of the reverse step's waits.
    public var waitInterval: Double = 2
    private var cache: [String: any DNSProvider] = [:]
    /// One adapter instance per zone, so zones can be read concurrently without asking
    /// adapters to be thread-safe.
    private var zoneCache: [DomainName: any DNSProvider] = [:]
    private var rotation: [RotationStatus] = []
    /// The DNS lookup SPF planning uses (flattening, lookup budget, `senders_expected`);
    /// nil: ``SPFEvaluator/live(_:)`` over the plan's `dns:` settings.
    public var spfLookup: SPFDNSLookup? = nil
    /// The shard a run is limited to (`--shard K/N`, ``Shard``), applied by ``select(_:targets:)``
    /// after `--target`; nil: every zone.
    public var shard: Shard? = nil

    /// - Parameters:
    ///   - plan: a loaded plan.
    ///   - now: the instant to evaluate date-dependent parts at (the CLI passes the real time,
    ///     or `MAILPLAN_NOW`, see ``PlanClock``).
    ///   - makeProvider: builds an adapter from its configuration (the Providers registry).
    ///   - makeReverseProvider: builds the reverse adapter named by `server.reverse` (the
    ///     Providers reverse registry); needed only for plans with `server.reverse`.
    public init(plan: MailPlan, now: Date, makeProvider: @escaping (ProviderConfig) throws -> any DNSProvider,
                makeReverseProvider: ((ProviderConfig) throws -> any ReverseDNSProvider)? = nil) {
        self.plan = plan
        self.now = now
        self.makeProvider = makeProvider
        self.makeReverseProvider = makeReverseProvider
    }

    /// The adapter for a provider instance, built once.
    public func provider(_ name: String) throws -> any DNSProvider {
        if let p = cache[name] { return p }
        guard let config = plan.provider(named: name) else {
            throw DiagnosticsError(Diagnostic(at: nil, "provider '\(name)' is not defined"))
        }
        let p = try makeProvider(config)
        cache[name] = p
        return p
    }

    /// The adapter instance that reads and writes `zone`, built once per zone from the
    /// settings of provider instance `name`.
    func provider(forZone zone: DomainName, instance name: String) throws -> any DNSProvider {
        if let p = zoneCache[zone] { return p }
        guard let config = plan.provider(named: name) else {
            throw DiagnosticsError(Diagnostic(at: nil, "provider '\(name)' is not defined"))
        }
        let p = try makeProvider(config)
        zoneCache[zone] = p
        return p
    }

    /// The zones a run is limited to by `--target`: a target names a domain of the plan (its
    /// zone is selected) or a zone apex. No targets selects every zone. Then only the zones
    /// of ``shard`` are kept.
    /// - Throws: ``DiagnosticsError`` naming each target that is neither, with a did-you-mean.
    public func select(_ zones: [DesiredZone], targets: [String]) throws -> [DesiredZone] {
        guard !targets.isEmpty else { return zones.filter(inShard) }
        var wanted = Set<DomainName>()
        var problems: [Diagnostic] = []
        let known = plan.domains.map(\.name.withoutTrailingDot) + zones.map(\.zone.withoutTrailingDot)
        for t in targets {
            guard let n = try? DomainName(t) else {
                problems.append(Diagnostic(at: nil, "--target \(t): not a domain name")); continue
            }
            if let d = plan.domains.first(where: { $0.name == n }) { wanted.insert(d.zone) }
            else if zones.contains(where: { $0.zone == n }) { wanted.insert(n) }
            else {
                let hint = Suggest.closest(to: n.withoutTrailingDot, in: known).map { "did you mean '\($0)'? " } ?? ""
                problems.append(Diagnostic(at: nil, "--target \(t): not a domain or zone of \(plan.file); \(hint)(domains: \(plan.domains.map(\.name.withoutTrailingDot).joined(separator: ", ")))"))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return zones.filter { wanted.contains($0.zone) && inShard($0) }
    }

    /// Reads the live RRsets of `zones` (zone apex, provider instance name), at most
    /// `parallelism` at a time. Results come back in the order given, whatever order the
    /// reads finish in; the first failure in that order is thrown (a failed read is never an
    /// empty zone).
    /// - Parameters:
    ///   - managed: per zone, the RRset keys the plan manages (``readKeys(_:)``), handed to
    ///     ``DNSProvider/readZone(_:managed:)``; a zone without an entry is read whole.
    ///   - parallelism: the most zones read at the same time (at least 1).
    ///   - progress: called (from any thread) as each read starts, e.g. `reading example.com. (1/3)`.
    /// - Throws: ``ProviderError`` or ``DiagnosticsError`` from the first zone that failed.
    public func readLive(_ zones: [(zone: DomainName, provider: String)], managed: [DomainName: [RRsetKey]] = [:],
                         parallelism: Int = 8, progress: (@Sendable (String) -> Void)? = nil) throws -> [[RRset]] {
        // Adapters are built here, serially; each zone gets its own instance.
        let adapters = try zones.map { try provider(forZone: $0.zone, instance: $0.provider) }
        let results = ReadSlots(count: zones.count)
        let box = AdapterBox(adapters)
        let limit = DispatchSemaphore(value: Swift.max(1, parallelism))
        let group = DispatchGroup()
        let total = zones.count
        for (i, z) in zones.enumerated() {
            limit.wait()
            group.enter()
            let zone = z.zone
            let keys = managed[zone] ?? []
            // A thread per read, not the GCD pool: reads block on I/O, and the pool is only
            // as wide as the CPU count on Linux.
            let t = Thread {
                defer { limit.signal(); group.leave() }
                progress?("reading \(zone.fqdn) (\(i + 1)/\(total))")
                results.set(i, Result { try box.adapters[i].readZone(zone, managed: keys) })
            }
            t.start()
        }
        group.wait()
        return try results.all().map { try $0.get() }
    }

    /// The RRset keys a plan needs to see in `zone`: every desired RRset (including ones the
    /// plan deletes) and the mail host's AAAA when the plan sets its A (the "AAAA not in the
    /// plan" warning). An adapter that cannot transfer the zone reads just these
    /// (``DNSProvider/readZone(_:managed:)``).
    /// - Returns: the keys in desired order, without duplicates.
    public func readKeys(_ zone: DesiredZone) -> [RRsetKey] {
        var keys: [RRsetKey] = []
        var seen = Set<RRsetKey>()
        for k in zone.rrsets.map(\.rrset.key) where seen.insert(k).inserted { keys.append(k) }
        let host = plan.server.hostname
        if seen.contains(RRsetKey(host, .a)), seen.insert(RRsetKey(host, .aaaa)).inserted { keys.append(RRsetKey(host, .aaaa)) }
        return keys
    }

    /// Offline checks, no API call: compile, build every used adapter from its settings, and
    /// audit the desired records against each provider's capabilities.
    /// - Returns: the desired zones (TTLs clamped to provider limits, with notes) and warnings.
    /// - Throws: ``DiagnosticsError`` listing every problem.
    public func validate() throws -> (zones: [DesiredZone], warnings: [Diagnostic]) {
        let compiled = try Compiler.compilePlan(plan, now: now)
        var zones = compiled.zones
        rotation = compiled.rotation
        var problems: [Diagnostic] = []
        var warnings: [Diagnostic] = plan.warnings + compiled.warnings
        for p in plan.providers {
            // The reverse provider is built by the reverse registry; it is also a DNS
            // provider only when a domain uses it (a `hetzner` entry can be both).
            if p.name == plan.server.reverse?.provider {
                do { _ = try reverseProvider() } catch let e as DiagnosticsError { problems += e.diagnostics }
                catch { problems.append(Diagnostic(at: p.location, "providers.\(p.name): \(error)")) }
                if !plan.domains.contains(where: { $0.provider == p.name }) { continue }
            }
            do { _ = try provider(p.name) } catch let e as DiagnosticsError { problems += e.diagnostics }
            catch { problems.append(Diagnostic(at: p.location, "providers.\(p.name): \(error)")) }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        for zi in zones.indices {
            let prov = try provider(zones[zi].provider)
            let caps = prov.capabilities
            for ri in zones[zi].rrsets.indices {
                let d = zones[zi].rrsets[ri]
                let r = d.rrset
                if !caps.supportedTypes.contains(r.type) {
                    problems.append(Diagnostic(at: d.location, "\(r.key): provider '\(prov.instanceName)' (\(prov.typeName)) cannot hold \(r.type) records"))
                }
                if let max = caps.maxTXTLength, let long = r.rdata.compactMap(\.txtValue).first(where: { $0.utf8.count > max }) {
                    problems.append(Diagnostic(at: d.location, "\(r.key): a \(long.utf8.count)-byte TXT value exceeds what provider '\(prov.instanceName)' (\(prov.typeName)) accepts (\(max) bytes)"))
                }
                if r.ttl == Defaults.automaticTTL {
                    if let auto = caps.autoTTL {
                        zones[zi].rrsets[ri].rrset = r.with(ttl: auto)
                        zones[zi].rrsets[ri].notes.append("ttl auto is \(prov.typeName) ttl \(auto) (automatic)")
                    } else {
                        problems.append(Diagnostic(at: d.location, "\(r.key): ttl: auto is not supported by provider '\(prov.instanceName)' (\(prov.typeName)); give a TTL in seconds (\(caps.ttlRange.lowerBound)–\(caps.ttlRange.upperBound))"))
                    }
                    continue
                }
                if !caps.ttlRange.contains(r.ttl) {
                    let clamped = Swift.min(Swift.max(r.ttl, caps.ttlRange.lowerBound), caps.ttlRange.upperBound)
                    let note = "TTL \(r.ttl) is outside what \(prov.typeName) accepts (\(caps.ttlRange.lowerBound)–\(caps.ttlRange.upperBound) s); using \(clamped)"
                    zones[zi].rrsets[ri].rrset = r.with(ttl: clamped)
                    zones[zi].rrsets[ri].notes.append(note)
                    warnings.append(Diagnostic(.warning, at: d.location, "\(r.key): \(note)"))
                }
            }
        }
        for z in zones { problems += try provider(z.provider).audit(z) }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return (zones, warnings)
    }

    /// Reads live state and computes the Changeset for every zone.
    /// - Throws: ``DiagnosticsError`` for plan problems and conflicts, ``ProviderError`` when a
    ///   zone cannot be read (the plan is aborted: a failed read is never an empty zone).
    /// - Parameters:
    ///   - parallelism: the most zones read at the same time (default 8).
    ///   - targets: limit the run to the zones of these domains (`--target`); empty: all.
    ///   - progress: called as each zone read starts (from any thread).
    public func makePlan(parallelism: Int = 8, targets: [String] = [],
                         progress: (@Sendable (String) -> Void)? = nil) throws -> PlanResult {
        let (allZones, offlineWarnings) = try validate()
        var zones = try select(allZones, targets: targets)
        var warnings = offlineWarnings
        // SPF flattening, lookup budget and sender coverage need live DNS: only with dns.resolvers.
        let spf = plan.dns.resolvers.isEmpty ? nil : SPFPlanning(plan: plan, lookup: spfLookup ?? SPFEvaluator.live(LiveDNS(settings: plan.dns)))
        if spf == nil {
            let needs = plan.domains.filter { !($0.spf?.flatten.isEmpty ?? true) || !($0.spf?.sendersExpected.isEmpty ?? true) }
            if !needs.isEmpty {
                throw DiagnosticsError(needs.map { Diagnostic(at: $0.location, "domains[\($0.name.withoutTrailingDot)].spf: flatten and senders_expected resolve includes at plan time; add dns: {resolvers: [...]} to the plan file") })
            }
        }
        if let spf { zones = try spf.flatten(zones) }
        var out: [ZonePlan] = []
        var problems: [Diagnostic] = []
        let managed = Dictionary(zones.map { ($0.zone, readKeys($0)) }, uniquingKeysWith: { a, b in a + b })
        let lives = try readLive(zones.map { ($0.zone, $0.provider) }, managed: managed, parallelism: parallelism, progress: progress)
        for (z, live) in zip(zones, lives) {
            let prov = try provider(forZone: z.zone, instance: z.provider)
            warnings += prov.readWarnings(z.zone)
            do {
                let (diffed, w) = try Differ.diff(z, live: live, providerType: prov.typeName)
                warnings += w
                let (cs, fixWarnings) = Self.applyFixes(prov.providerFixes(z.zone), to: diffed, desired: z, live: live,
                                                       mailHosts: [plan.server.hostname], provider: prov)
                warnings += fixWarnings
                out.append(ZonePlan(desired: z, live: live, changeset: cs))
            } catch let e as DiagnosticsError { problems += e.diagnostics }
            // The mail host's AAAA is managed only when the plan lists IPv6.
            let host = plan.server.hostname
            if plan.server.ipv6.isEmpty, host.isSubdomain(of: z.zone),
               z.rrsets.contains(where: { $0.rrset.key == RRsetKey(host, .a) }),
               let aaaa = live.first(where: { $0.key == RRsetKey(host, .aaaa) }) {
                warnings.append(Diagnostic(.warning, at: plan.server.location, "\(host.fqdn) has AAAA \(aaaa.rdata.map(\.presentation).joined(separator: ", ")) at the provider but server.ipv6 is not set: senders will try that address; add it to the plan or remove it"))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        if let spf {
            let (audited, w) = try spf.audit(out)
            out = audited
            warnings += w
        }
        // MTA-STS enforce is refused while the served policy does not cover the planned MX
        // (only when the plan sets check.mta_sts: the opt-in to fetch policies at plan time).
        if let fetch = plan.check.mtaSTS {
            let sts = MTASTSCheck(settings: fetch)
            let refused = plan.domains.filter { $0.mtaSTS?.mode == .enforce && inShard($0) }.flatMap { d in
                sts.findings(d, compareContent: false).filter { $0.severity == .error }
                    .map { Diagnostic(at: d.location, "domains[\(d.name.withoutTrailingDot)].mta_sts: \($0.message)") }
            }
            if !refused.isEmpty { throw DiagnosticsError(refused) }
        }
        var result = PlanResult(planFile: plan.file, zones: out, warnings: warnings)
        result.rotation = rotation
        result.files = try policyFileChanges()
        // PTRs belong to the server host: read them unless --target or --shard leaves out its zone.
        if plan.server.reverse != nil, runsServerParts(targets: targets, zones: zones) {
            progress?("reading the PTR of \(serverAddresses.count) address\(serverAddresses.count == 1 ? "" : "es")")
            result.reverse = try planReverse()
            result.reverseConfigured = true
        }
        return result
    }

    /// The MTA-STS policy files that differ from what the plan derives (RFC 8461 §3.2).
    func policyFileChanges() throws -> [PolicyFileChange] {
        var out: [PolicyFileChange] = []
        for d in plan.domains where inShard(d) {
            guard let sts = d.mtaSTS, let path = sts.policyFile else { continue }
            if let c = try PolicyFiles.change(path: path, content: Compiler.mtaSTSPolicy(sts, mx: d.mx),
                                              purpose: "mta_sts policy for \(d.name.withoutTrailingDot)", location: d.location) {
                out.append(c)
            }
        }
        return out
    }

    /// Folds an adapter's ``ProviderFix``es into a zone's Changeset: a fix to an RRset the
    /// plan fully manages adds its note to that RRset's change, or becomes an update whose
    /// records stay the same (the adapter rewrites the provider-side form). A mail-safety fix
    /// on an unmanaged RRset at a mail host name (the server host or an MX target) becomes a
    /// warning; anything else the plan does not manage is left alone.
    static func applyFixes(_ fixes: [ProviderFix], to cs: ZoneChangeset, desired: DesiredZone, live: [RRset],
                           mailHosts: Set<DomainName>, provider: any DNSProvider) -> (ZoneChangeset, [Diagnostic]) {
        guard !fixes.isEmpty else { return (cs, []) }
        var changes = cs.changes
        var warnings: [Diagnostic] = []
        var hosts = mailHosts
        for d in desired.rrsets where d.rrset.type == .mx {
            for case .mx(_, let x) in d.rrset.rdata where x != .root { hosts.insert(x) }
        }
        for f in fixes {
            if let d = desired.rrsets.first(where: { $0.rrset.key == f.key }), d.ownership == .full,
               let have = live.first(where: { $0.key == f.key }) {
                if let i = changes.firstIndex(where: { $0.key == f.key }) {
                    if !changes[i].notes.contains(f.note) { changes[i].notes.append(f.note) }
                    if f.mailSafety { changes[i].driftClass = .mailBreaking }
                } else {
                    changes.append(.update(from: have, to: d.rrset, notes: d.notes + [f.note],
                                           driftClass: f.mailSafety ? .mailBreaking : nil))
                }
            } else if f.mailSafety && hosts.contains(f.key.name) {
                warnings.append(Diagnostic(.warning, at: nil, "\(f.key) at provider '\(provider.instanceName)' (\(provider.typeName)) needs a \(f.note), but the plan does not manage it; fix it at the provider"))
            }
        }
        return (ZoneChangeset(zone: cs.zone, provider: cs.provider, providerType: cs.providerType, changes: changes), warnings)
    }

    /// Applies every zone's Changeset in order, stopping at the first zone that fails.
    /// - Parameter progress: called with a line before each zone is written.
    /// - Returns: exactly what was applied, what failed and what was not attempted.
    public func apply(_ result: PlanResult, progress: (String) -> Void = { _ in }) -> ApplyReport {
        var report = apply(changesets: result.changesets, files: result.files, progress: progress)
        // PTRs last: the hosting provider checks that the forward records are served.
        if !result.reverse.isEmpty {
            if report.succeeded {
                report.reverse = applyReverse(result.reverse, progress: progress)
            } else {
                var r = ReverseApplyReport(provider: result.reverse[0].provider, providerType: result.reverse[0].providerType)
                r.notAttempted = result.reverse
                r.error = "not attempted: the zone changes did not all apply"
                report.reverse = r
            }
        }
        return report
    }

    /// Applies Changesets (from a fresh plan or a saved plan) zone by zone, in order,
    /// through the adapter instance of each zone, stopping at the first zone that fails.
    ///
    /// On an adapter without conditional writes (``ProviderCapabilities/conditionalWrites``),
    /// the RRsets of a zone whose change ``Change/needsLiveCheck`` are read again just before
    /// the zone is written; when one is not what the plan was made from (a colleague added a
    /// value, or created the RRset, since), that zone is not written and the error names the
    /// RRset and both values. The other zones are still written.
    /// - Returns: exactly what was applied, what failed and what was not attempted.
    /// - Parameter files: MTA-STS policy files to write first (none for a saved plan).
    public func apply(changesets: [ZoneChangeset], files: [PolicyFileChange] = [], progress: (String) -> Void = { _ in }) -> ApplyReport {
        var outcomes: [ApplyReport.ZoneOutcome] = []
        var stopped: String? = nil
        // Policy files first: RFC 8461 §3.3 has senders fetch the policy when the _mta-sts id
        // changes, so the new policy must be served before the new id is published.
        var written: [PolicyFileChange] = []
        for f in files {
            progress("\(f.path): writing the \(f.purpose)")
            do { try PolicyFiles.write(f.after, to: f.path); written.append(f) } catch {
                var report = ApplyReport(zones: changesets.filter { !$0.changes.isEmpty }.map {
                    .init(changeset: $0, applied: [], failed: [], notAttempted: $0.changes, error: "not attempted: a policy file could not be written")
                })
                report.filesWritten = written
                report.fileError = "\(error)"
                return report
            }
        }
        for cs in changesets where !cs.changes.isEmpty {
            if let stopped {
                outcomes.append(.init(changeset: cs, applied: [], failed: [], notAttempted: cs.changes, error: "not attempted: \(stopped)"))
                continue
            }
            progress("\(cs.zone.fqdn): applying \(cs.changes.count) change\(cs.changes.count == 1 ? "" : "s") at \(cs.provider) (\(cs.providerType))")
            do {
                let prov = try provider(forZone: cs.zone, instance: cs.provider)
                if let refused = try changedSincePlan(cs, provider: prov) {
                    outcomes.append(refused)
                    continue
                }
                try prov.apply(cs)
                outcomes.append(.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil))
            } catch let e as ApplyError {
                var outcome = ApplyReport.ZoneOutcome(changeset: cs, applied: e.applied, failed: e.failed, notAttempted: e.notAttempted,
                                                      error: e.description, unknown: e.unknown)
                if !e.unknown.isEmpty, let prov = try? provider(forZone: cs.zone, instance: cs.provider), prov.capabilities.applyMode == .atomic {
                    outcome = settle(outcome, provider: prov, progress: progress)
                }
                outcomes.append(outcome)
                if outcome.error == nil { continue }
                stopped = "zone \(cs.zone.fqdn) failed"
            } catch {
                outcomes.append(.init(changeset: cs, applied: [], failed: cs.changes, notAttempted: [], error: "\(error)"))
                stopped = "zone \(cs.zone.fqdn) failed"
            }
        }
        var report = ApplyReport(zones: outcomes)
        report.filesWritten = written
        return report
    }

    /// After a lost reply from an ``ApplyMode/atomic`` adapter: reads the zone again and
    /// tells, change by change, whether the write landed (the live RRset is the planned one),
    /// did not (it is still what the plan was made from), or cannot be told. All landed: the
    /// zone succeeded. None landed: those changes failed and nothing of them was applied.
    func settle(_ o: ApplyReport.ZoneOutcome, provider prov: any DNSProvider, progress: (String) -> Void) -> ApplyReport.ZoneOutcome {
        let cs = o.changeset
        guard let read = try? prov.readZone(cs.zone, managed: o.unknown.map(\.key)) else { return o }
        let live = Dictionary(read.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        func planned(_ c: Change) -> RRset? { (c.after?.rdata.isEmpty ?? true) ? nil : c.after }
        let landed = o.unknown.filter { live[$0.key] == planned($0) }
        let notLanded = o.unknown.filter { live[$0.key] == $0.before && live[$0.key] != planned($0) }
        var s = o
        if landed.count == o.unknown.count {
            progress("\(cs.zone.fqdn): the reply was lost; read again, every change is applied")
            s.applied += landed; s.unknown = []
            if s.failed.isEmpty && s.notAttempted.isEmpty { s.error = nil } else { s.error = (o.error ?? "") + "; read again: the changes of the lost reply are applied" }
        } else if notLanded.count == o.unknown.count {
            s.failed += notLanded; s.unknown = []
            s.error = (o.error ?? "") + "; read again: nothing of it was applied"
        } else {
            s.error = (o.error ?? "") + "; read again: \(landed.count) of \(o.unknown.count) changes are as planned, so the outcome is unclear: check with mailplan plan"
        }
        return s
    }

    /// The compare-before-write check of ``apply(changesets:files:progress:)``: nil when the
    /// zone may be written, else the outcome of a zone refused because an RRset it replaces
    /// or creates changed since the plan was made.
    /// - Throws: ``ProviderError`` when the zone cannot be read again (then nothing is written).
    func changedSincePlan(_ cs: ZoneChangeset, provider prov: any DNSProvider) throws -> ApplyReport.ZoneOutcome? {
        guard !prov.capabilities.conditionalWrites else { return nil }
        let guarded = cs.changes.filter(\.needsLiveCheck)
        guard !guarded.isEmpty else { return nil }
        let live = Dictionary(try prov.readZone(cs.zone, managed: guarded.map(\.key)).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let moved = guarded.filter { live[$0.key] != $0.before }
        guard !moved.isEmpty else { return nil }
        func show(_ s: RRset?) -> String {
            guard let s else { return "absent" }
            return "ttl \(s.ttl) " + s.rdata.map(\.display).joined(separator: ", ")
        }
        let what = moved.map { "\($0.key) is now \(show(live[$0.key])) (the plan was made from \(show($0.before)))" }.joined(separator: "; ")
        return .init(changeset: cs, applied: [], failed: moved, notAttempted: cs.changes.filter { c in !moved.contains { $0.key == c.key } },
                     error: "provider \(cs.provider), zone \(cs.zone.fqdn): changed since the plan was made: \(what); nothing was written to this zone: re-run mailplan plan")
    }
}

/// Adapters handed to the read threads; each index is used by exactly one thread.
private final class AdapterBox: @unchecked Sendable {
    let adapters: [any DNSProvider]
    init(_ adapters: [any DNSProvider]) { self.adapters = adapters }
}

/// Per-zone read results, filled from several threads under a lock.
private final class ReadSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<[RRset], any Error>?]
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<[RRset], any Error>) { lock.lock(); slots[i] = r; lock.unlock() }
    func all() -> [Result<[RRset], any Error>] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
}
