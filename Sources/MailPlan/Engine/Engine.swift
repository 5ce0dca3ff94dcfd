import Foundation

/// The plan for one zone: what the plan wants, what the provider holds, and the changes.
public struct ZonePlan: Sendable {
    public let desired: DesiredZone
    /// The live RRsets the plan looks at (``Engine/retained(_:zone:keys:)``): those at the keys it
    /// reads (``Engine/readKeys(_:)``), the apex NS and the TXT RRsets at `_spf` names. The
    /// rest of the zone as read is dropped once the zone is diffed, so a run holds the whole
    /// live state of only the zones being read (docs/architecture.md, "Streaming").
    public let live: [RRset]
    public let changeset: ZoneChangeset
    /// The fingerprint of every live RRset read (``LiveFingerprint``), when the run keeps
    /// fingerprints (``PlanRun/fingerprints``: saved plans and their staleness check).
    public let fingerprint: LiveFingerprint?

    public init(desired: DesiredZone, live: [RRset], changeset: ZoneChangeset, fingerprint: LiveFingerprint? = nil) {
        self.desired = desired; self.live = live; self.changeset = changeset; self.fingerprint = fingerprint
    }

    /// The same zone with another Changeset (a later stage added notes or gates).
    public func with(changeset: ZoneChangeset) -> ZonePlan {
        ZonePlan(desired: desired, live: live, changeset: changeset, fingerprint: fingerprint)
    }

    /// What a streamed run keeps of a zone once it is rendered: the Changeset and the
    /// fingerprint (``PlanRun/keepZones`` false).
    var slim: ZonePlan {
        ZonePlan(desired: DesiredZone(zone: desired.zone, provider: desired.provider, rrsets: []), live: [], changeset: changeset, fingerprint: fingerprint)
    }
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
    /// Requests sent per provider instance by the run so far (``ProviderSession/requests``),
    /// for the providers the run used, in plan-file order.
    public var requests: [(provider: String, requests: Int)] = []
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
    /// Why a pipelined apply stopped before every zone was planned (a zone could not be read,
    /// a plan problem): the zones after it were neither planned nor written.
    public var stopped: String? = nil
    public var succeeded: Bool {
        stopped == nil && fileError == nil && zones.allSatisfy { $0.error == nil && $0.failed.isEmpty && $0.notAttempted.isEmpty } && (reverse?.succeeded ?? true)
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
    private let zoneLock = NSLock()
    var rotation: [RotationStatus] = []
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
        let p = try makeAdapter(instance: name)
        cache[name] = p
        return p
    }

    /// A new adapter instance from the settings of provider instance `name`.
    /// - Throws: ``DiagnosticsError`` when the plan defines no such provider, or its settings are invalid.
    func makeAdapter(instance name: String) throws -> any DNSProvider {
        guard let config = plan.provider(named: name) else {
            throw DiagnosticsError(Diagnostic(at: nil, "provider '\(name)' is not defined"))
        }
        return try makeProvider(config)
    }

    /// The adapter instance that reads and writes `zone`, built once per zone from the
    /// settings of provider instance `name`.
    func provider(forZone zone: DomainName, instance name: String) throws -> any DNSProvider {
        zoneLock.lock(); defer { zoneLock.unlock() }
        if let p = zoneCache[zone] { return p }
        let p = try makeAdapter(instance: name)
        zoneCache[zone] = p
        return p
    }

    /// Drops the adapter instance of `zone` (a streamed run, once the zone needs no write).
    func forgetAdapter(forZone zone: DomainName) {
        zoneLock.lock(); zoneCache[zone] = nil; zoneLock.unlock()
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
        let reader = ZoneReader(count: zones.count, parallelism: parallelism, progress: progress) { [self] i in
            let z = zones[i]
            return ZoneReader.Job(zone: z.zone, adapter: try provider(forZone: z.zone, instance: z.provider), managed: managed[z.zone] ?? [])
        }
        var out: [[RRset]] = []
        var first: (any Error)? = nil
        for _ in zones {
            do { out.append(try reader.next()) } catch { if first == nil { first = error }; out.append([]) }
        }
        if let first { throw first }
        return out
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
        var zones: [DesiredZone] = []
        let summary = try validatedIndex(keeping: { zones.append($0) }).summary
        return (zones, summary.warnings)
    }

    /// What ``validateZoneByZone()`` found: counts, not the zones.
    public struct ValidationSummary: Sendable {
        /// The planned zones.
        public let zones: Int
        /// The desired RRsets of every zone.
        public let rrsets: Int
        /// The warnings, exactly those of ``Engine/validate()``.
        public let warnings: [Diagnostic]
    }

    /// ``validate()`` zone by zone, keeping nothing of a zone once it is checked, so memory
    /// does not grow with the number of zones (docs/architecture.md, "Streaming"): each zone is
    /// compiled once and, while no compile problem has turned up, checked at once.
    /// - Returns: the number of zones and desired RRsets, and the warnings of ``validate()``.
    /// - Throws: ``DiagnosticsError`` with exactly the problems of ``validate()``, in its order:
    ///   compile problems, else adapters that cannot be built, else the checks' problems.
    public func validateZoneByZone() throws -> ValidationSummary {
        try validatedIndex().summary
    }

    /// ``validateZoneByZone()`` with the index it compiled from, for a run that compiles each
    /// zone again when it needs it (``validatedZone(_:zone:)``).
    /// - Parameter keeping: receives each checked zone, in plan order (``validate()`` keeps
    ///   them); nothing is called once a compile problem or an adapter problem has turned up.
    func validatedIndex(keeping: ((DesiredZone) -> Void)? = nil) throws -> (index: CompileIndex, summary: ValidationSummary) {
        let index = CompileIndex(plan, now: now)
        var compileProblems = CompileProblems(index)
        // Every adapter is built first (what validate() reports after the compile problems);
        // the zones are checked only while both are clean.
        let providers = Result { try validatedProviders(index) }
        let adaptersBuilt = (try? providers.get()) != nil
        var problems: [Diagnostic] = []
        var audits: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        var rrsets = 0
        for zi in index.zones.indices {
            let compiled = Compiler.compileZone(plan, index: index, zone: zi)
            compileProblems.add(compiled)
            guard compileProblems.isEmpty, adaptersBuilt else { continue }
            var zone = compiled.zone
            let checked = try check(&zone)
            problems += checked.problems
            audits += checked.audit
            warnings += checked.warnings
            rrsets += zone.rrsets.count
            keeping?(zone)
        }
        if !compileProblems.isEmpty { throw DiagnosticsError(compileProblems.ordered) }
        warnings = try providers.get() + warnings
        problems += audits
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return (index, ValidationSummary(zones: index.zones.count, rrsets: rrsets, warnings: warnings))
    }

    /// One zone of a plan that ``validatedIndex()`` accepted, compiled and checked again
    /// (TTLs clamped, with their notes), as ``validate()`` returns it.
    /// - Throws: only when the zone's adapter cannot be built (it was built by validation).
    func validatedZone(_ index: CompileIndex, zone zi: Int) throws -> DesiredZone {
        var zone = Compiler.compileZone(plan, index: index, zone: zi).zone
        _ = try check(&zone)
        return zone
    }

    /// The validation steps between compiling and checking zones: records the rotation,
    /// builds every used adapter (and the reverse one) from its settings.
    /// - Returns: the plan's warnings and those of compiling.
    /// - Throws: ``DiagnosticsError`` with every adapter that cannot be built.
    private func validatedProviders(_ index: CompileIndex) throws -> [Diagnostic] {
        rotation = index.rotation
        var problems: [Diagnostic] = []
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
        return plan.warnings + index.warnings
    }

    /// The offline checks of one compiled zone against its provider's capabilities: types it
    /// can hold, TXT length, `ttl: auto` (replaced by the provider's automatic TTL, with a
    /// note) and the TTL range (clamped, with a note and a warning), then the adapter's
    /// ``DNSProvider/audit(_:)`` of the checked zone.
    /// - Parameter zone: the zone, changed in place (TTLs and notes).
    /// - Returns: the capability problems, the audit's problems (``validate()`` lists every
    ///   zone's capability problems before the audits) and the clamp warnings.
    /// - Throws: when the zone's adapter cannot be built.
    func check(_ zone: inout DesiredZone) throws -> (problems: [Diagnostic], audit: [Diagnostic], warnings: [Diagnostic]) {
        let prov = try provider(zone.provider)
        let caps = prov.capabilities
        var problems: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        for ri in zone.rrsets.indices {
            let d = zone.rrsets[ri]
            let r = d.rrset
            if !caps.supportedTypes.contains(r.type) {
                problems.append(Diagnostic(at: d.location, "\(r.key): provider '\(prov.instanceName)' (\(prov.typeName)) cannot hold \(r.type) records"))
            }
            if let max = caps.maxTXTLength, let long = r.rdata.compactMap(\.txtValue).first(where: { $0.utf8.count > max }) {
                problems.append(Diagnostic(at: d.location, "\(r.key): a \(long.utf8.count)-byte TXT value exceeds what provider '\(prov.instanceName)' (\(prov.typeName)) accepts (\(max) bytes)"))
            }
            if r.ttl == Defaults.automaticTTL {
                if let auto = caps.autoTTL {
                    zone.rrsets[ri].rrset = r.with(ttl: auto)
                    zone.rrsets[ri].notes.append("ttl auto is \(prov.typeName) ttl \(auto) (automatic)")
                } else {
                    problems.append(Diagnostic(at: d.location, "\(r.key): ttl: auto is not supported by provider '\(prov.instanceName)' (\(prov.typeName)); give a TTL in seconds (\(caps.ttlRange.lowerBound)–\(caps.ttlRange.upperBound))"))
                }
                continue
            }
            if !caps.ttlRange.contains(r.ttl) {
                let clamped = Swift.min(Swift.max(r.ttl, caps.ttlRange.lowerBound), caps.ttlRange.upperBound)
                let note = "TTL \(r.ttl) is outside what \(prov.typeName) accepts (\(caps.ttlRange.lowerBound)–\(caps.ttlRange.upperBound) s); using \(clamped)"
                zone.rrsets[ri].rrset = r.with(ttl: clamped)
                zone.rrsets[ri].notes.append(note)
                warnings.append(Diagnostic(.warning, at: d.location, "\(r.key): \(note)"))
            }
        }
        return (problems, prov.audit(zone), warnings)
    }

    /// Reads live state and computes the Changeset for every zone, keeping every zone's
    /// desired RRsets and the live RRsets the plan looks at (``ZonePlan``).
    /// - Throws: ``DiagnosticsError`` for plan problems and conflicts, ``ProviderError`` when a
    ///   zone cannot be read (the plan is aborted: a failed read is never an empty zone).
    /// - Parameters:
    ///   - parallelism: the most zones read at the same time (default 8).
    ///   - targets: limit the run to the zones of these domains (`--target`); empty: all.
    ///   - progress: called as each zone read starts (from any thread).
    public func makePlan(parallelism: Int = 8, targets: [String] = [],
                         progress: (@Sendable (String) -> Void)? = nil) throws -> PlanResult {
        try streamPlan(PlanRun(parallelism: parallelism, targets: targets, liveStages: false, keepZones: true), progress: progress)
    }

    /// The MTA-STS policy files that differ from what the plan derives (RFC 8461 §3.2).
    func policyFileChanges() throws -> [PolicyFileChange] { try policyFileChangesByZone().map(\.change) }

    /// ``policyFileChanges()`` with the zone of each file's domain.
    func policyFileChangesByZone() throws -> [(zone: DomainName, change: PolicyFileChange)] {
        var out: [(zone: DomainName, change: PolicyFileChange)] = []
        for d in plan.domains where inShard(d) {
            guard let sts = d.mtaSTS, let path = sts.policyFile else { continue }
            if let c = try PolicyFiles.change(path: path, content: Compiler.mtaSTSPolicy(sts, mx: d.mx),
                                              purpose: "mta_sts policy for \(d.name.withoutTrailingDot)", location: d.location) {
                out.append((d.zone, c))
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
    public func apply(_ result: PlanResult, progress: @escaping (String) -> Void = { _ in }) -> ApplyReport {
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

    /// Applies Changesets (from a fresh plan or a saved plan) zone by zone, through the
    /// adapter instance of each zone: per provider instance up to
    /// ``ProviderCapabilities/writeConcurrency`` zones at the same time (one at a time for
    /// most adapters), no zone started after the first zone that fails.
    ///
    /// On an adapter without conditional writes (``ProviderCapabilities/conditionalWrites``),
    /// the RRsets of a zone whose change ``Change/needsLiveCheck`` are read again just before
    /// the zone is written; when one is not what the plan was made from (a colleague added a
    /// value, or created the RRset, since), that zone is not written and the error names the
    /// RRset and both values. The other zones are still written.
    /// - Returns: exactly what was applied, what failed and what was not attempted, zones in
    ///   the order given.
    /// - Parameter files: MTA-STS policy files to write first (none for a saved plan).
    /// - Parameter progress: called with a line before each zone is written (one call at a
    ///   time, from the writer threads).
    public func apply(changesets: [ZoneChangeset], files: [PolicyFileChange] = [], progress: @escaping (String) -> Void = { _ in }) -> ApplyReport {
        let serial = SerialProgress(progress)
        // Policy files first: RFC 8461 §3.3 has senders fetch the policy when the _mta-sts id
        // changes, so the new policy must be served before the new id is published.
        var written: [PolicyFileChange] = []
        if let failure = writePolicyFiles(files, written: &written, progress: serial.call) {
            var report = ApplyReport(zones: changesets.filter { !$0.changes.isEmpty }.map {
                .init(changeset: $0, applied: [], failed: [], notAttempted: $0.changes, error: "not attempted: a policy file could not be written")
            })
            report.filesWritten = written
            report.fileError = failure
            return report
        }
        let writer = zoneWriter(serial)
        for cs in changesets where !cs.changes.isEmpty { submit(cs, to: writer) }
        var report = ApplyReport(zones: writer.finish())
        report.filesWritten = written
        return report
    }

    /// Writes `files` in order; returns why the first that failed could not be written.
    func writePolicyFiles(_ files: [PolicyFileChange], written: inout [PolicyFileChange], progress: (String) -> Void) -> String? {
        for f in files {
            progress("\(f.path): writing the \(f.purpose)")
            do { try PolicyFiles.write(f.after, to: f.path); written.append(f) } catch { return "\(error)" }
        }
        return nil
    }

    /// A writer whose zones go through ``writeZone(_:provider:progress:)``; each zone's
    /// adapter instance is let go once the zone is written.
    func zoneWriter(_ progress: SerialProgress) -> ZoneWriter {
        // The writer threads touch no engine state: writeZone works on the adapter it is given.
        let engine = Unchecked(self)
        // Once written, a zone's adapter (and what it holds of the zone) can go; forgetAdapter
        // locks the cache.
        return ZoneWriter(write: { cs, prov in engine.value.writeZone(cs, provider: prov, progress: progress.call) },
                          done: { cs in engine.value.forgetAdapter(forZone: cs.zone) })
    }

    /// Queues `cs` on `writer` through the adapter instance of its zone (built on this
    /// thread; when it cannot be built the zone fails with why).
    func submit(_ cs: ZoneChangeset, to writer: ZoneWriter) {
        writer.submit(cs) { Result { try provider(forZone: cs.zone, instance: cs.provider) } }
    }

    /// Writes one zone: the compare-before-write check, the adapter's write, and, after a lost
    /// reply from an ``ApplyMode/atomic`` adapter, the settling read.
    /// - Returns: the outcome, and whether it stops the zones after it (any failure except a
    ///   zone refused because it changed since the plan: the other zones are still written).
    func writeZone(_ cs: ZoneChangeset, provider prov: any DNSProvider, progress: (String) -> Void) -> (outcome: ApplyReport.ZoneOutcome, stops: Bool) {
        progress("\(cs.zone.fqdn): applying \(cs.changes.count) change\(cs.changes.count == 1 ? "" : "s") at \(cs.provider) (\(cs.providerType))")
        do {
            if let refused = try changedSincePlan(cs, provider: prov) { return (refused, false) }
            try prov.apply(cs)
            return (.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil), false)
        } catch let e as ApplyError {
            let outcome = ApplyReport.ZoneOutcome(changeset: cs, applied: e.applied, failed: e.failed, notAttempted: e.notAttempted,
                                                  error: e.description, unknown: e.unknown)
            if !e.unknown.isEmpty, prov.capabilities.applyMode == .atomic { return (settle(outcome, provider: prov, progress: progress), true) }
            return (outcome, true)
        } catch {
            return (.init(changeset: cs, applied: [], failed: cs.changes, notAttempted: [], error: "\(error)"), true)
        }
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
