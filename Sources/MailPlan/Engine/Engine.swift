import Foundation

/// The plan for one zone: what the plan wants, what the provider holds, and the changes.
public struct ZonePlan: Sendable {
    public let desired: DesiredZone
    public let live: [RRset]
    public let changeset: ZoneChangeset
}

/// The result of `mailplan plan`: every zone's Changeset and the warnings found on the way.
public struct PlanResult: Sendable {
    public let planFile: String
    public let zones: [ZonePlan]
    public let warnings: [Diagnostic]
    public var changesets: [ZoneChangeset] { zones.map(\.changeset) }
    public var summary: ChangeSummary { ChangeSummary(zones.flatMap(\.changeset.changes)) }
}

/// What an apply did, zone by zone.
public struct ApplyReport: Sendable {
    public struct ZoneOutcome: Sendable {
        public let changeset: ZoneChangeset
        public let applied: [Change]
        public let failed: [Change]
        public let notAttempted: [Change]
        public let error: String?
    }
    public let zones: [ZoneOutcome]
    public var succeeded: Bool { zones.allSatisfy { $0.error == nil && $0.failed.isEmpty && $0.notAttempted.isEmpty } }
    public var appliedSummary: ChangeSummary { ChangeSummary(zones.flatMap(\.applied)) }
}

/// Runs the flow of DESIGN.md: compile the plan, read each zone through its provider,
/// diff, and apply. Knows providers only through ``DNSProvider``.
public final class Engine {
    public let plan: MailPlan
    let makeProvider: (ProviderConfig) throws -> any DNSProvider
    private var cache: [String: any DNSProvider] = [:]

    /// - Parameters:
    ///   - plan: a loaded plan.
    ///   - makeProvider: builds an adapter from its configuration (the Providers registry).
    public init(plan: MailPlan, makeProvider: @escaping (ProviderConfig) throws -> any DNSProvider) {
        self.plan = plan
        self.makeProvider = makeProvider
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

    /// Offline checks, no API call: compile, build every used adapter from its settings, and
    /// audit the desired records against each provider's capabilities.
    /// - Returns: the desired zones (TTLs clamped to provider limits, with notes) and warnings.
    /// - Throws: ``DiagnosticsError`` listing every problem.
    public func validate() throws -> (zones: [DesiredZone], warnings: [Diagnostic]) {
        var zones = try Compiler.compile(plan)
        var problems: [Diagnostic] = []
        var warnings: [Diagnostic] = []
        for p in plan.providers {
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
    public func makePlan() throws -> PlanResult {
        let (zones, offlineWarnings) = try validate()
        var warnings = offlineWarnings
        var out: [ZonePlan] = []
        var problems: [Diagnostic] = []
        for z in zones {
            let prov = try provider(z.provider)
            let live = try prov.readZone(z.zone)
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
        return PlanResult(planFile: plan.file, zones: out, warnings: warnings)
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
                } else {
                    changes.append(.update(from: have, to: d.rrset, notes: d.notes + [f.note]))
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
        var outcomes: [ApplyReport.ZoneOutcome] = []
        var stopped: String? = nil
        for z in result.zones where !z.changeset.changes.isEmpty {
            let cs = z.changeset
            if let stopped {
                outcomes.append(.init(changeset: cs, applied: [], failed: [], notAttempted: cs.changes, error: "not attempted: \(stopped)"))
                continue
            }
            progress("\(cs.zone.fqdn): applying \(cs.changes.count) change\(cs.changes.count == 1 ? "" : "s") at \(cs.provider) (\(cs.providerType))")
            do {
                try provider(cs.provider).apply(cs)
                outcomes.append(.init(changeset: cs, applied: cs.changes, failed: [], notAttempted: [], error: nil))
            } catch let e as ApplyError {
                outcomes.append(.init(changeset: cs, applied: e.applied, failed: e.failed, notAttempted: e.notAttempted, error: e.description))
                stopped = "zone \(cs.zone.fqdn) failed"
            } catch {
                outcomes.append(.init(changeset: cs, applied: [], failed: cs.changes, notAttempted: [], error: "\(error)"))
                stopped = "zone \(cs.zone.fqdn) failed"
            }
        }
        return ApplyReport(zones: outcomes)
    }
}
