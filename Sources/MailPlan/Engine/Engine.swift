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
    /// Policy files (MTA-STS) that `apply` writes, before any DNS change.
    public var files: [PolicyFileChange] = []
    /// The stage of every DKIM selector in rotation, shown even when nothing changes.
    public var rotation: [RotationStatus] = []
    public var changesets: [ZoneChangeset] { zones.map(\.changeset) }
    public var summary: ChangeSummary { ChangeSummary(zones.flatMap(\.changeset.changes)) }
    /// True when apply would change anything: an RRset or a policy file.
    public var hasChanges: Bool { !summary.isEmpty || !files.isEmpty }
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
    /// Policy files written.
    public var filesWritten: [PolicyFileChange] = []
    /// Why writing a policy file failed (then no DNS change was attempted).
    public var fileError: String? = nil
    public var succeeded: Bool { fileError == nil && zones.allSatisfy { $0.error == nil && $0.failed.isEmpty && $0.notAttempted.isEmpty } }
    public var appliedSummary: ChangeSummary { ChangeSummary(zones.flatMap(\.applied)) }
}

/// Runs the flow of DESIGN.md: compile the plan, read each zone through its provider,
/// diff, and apply. Knows providers only through ``DNSProvider``.
public final class Engine {
    public let plan: MailPlan
    /// The instant the plan is evaluated at (DKIM rotation stages).
    public let now: Date
    let makeProvider: (ProviderConfig) throws -> any DNSProvider
    private var cache: [String: any DNSProvider] = [:]
    private var rotation: [RotationStatus] = []

    /// - Parameters:
    ///   - plan: a loaded plan.
    ///   - now: the instant to evaluate date-dependent parts at (the CLI passes the real time,
    ///     or `MAILPLAN_NOW`, see ``PlanClock``).
    ///   - makeProvider: builds an adapter from its configuration (the Providers registry).
    public init(plan: MailPlan, now: Date = Date(), makeProvider: @escaping (ProviderConfig) throws -> any DNSProvider) {
        self.plan = plan
        self.now = now
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
        let compiled = try Compiler.compilePlan(plan, now: now)
        var zones = compiled.zones
        rotation = compiled.rotation
        var problems: [Diagnostic] = []
        var warnings: [Diagnostic] = plan.warnings + compiled.warnings
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
                if !caps.ttlRange.contains(r.ttl) {
                    let clamped = Swift.min(Swift.max(r.ttl, caps.ttlRange.lowerBound), caps.ttlRange.upperBound)
                    let note = "TTL \(r.ttl) is outside what \(prov.typeName) accepts (\(caps.ttlRange.lowerBound)–\(caps.ttlRange.upperBound) s); using \(clamped)"
                    zones[zi].rrsets[ri].rrset = r.with(ttl: clamped)
                    zones[zi].rrsets[ri].notes.append(note)
                    warnings.append(Diagnostic(.warning, at: d.location, "\(r.key): \(note)"))
                }
            }
        }
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
                let (cs, w) = try Differ.diff(z, live: live, providerType: prov.typeName)
                warnings += w
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
        var result = PlanResult(planFile: plan.file, zones: out, warnings: warnings)
        result.rotation = rotation
        result.files = try policyFileChanges()
        return result
    }

    /// The MTA-STS policy files that differ from what the plan derives (RFC 8461 §3.2).
    func policyFileChanges() throws -> [PolicyFileChange] {
        var out: [PolicyFileChange] = []
        for d in plan.domains {
            guard let sts = d.mtaSTS, let path = sts.policyFile else { continue }
            if let c = try PolicyFiles.change(path: path, content: Compiler.mtaSTSPolicy(sts, mx: d.mx),
                                              purpose: "mta_sts policy for \(d.name.withoutTrailingDot)", location: d.location) {
                out.append(c)
            }
        }
        return out
    }

    /// Applies every zone's Changeset in order, stopping at the first zone that fails.
    /// - Parameter progress: called with a line before each zone is written.
    /// - Returns: exactly what was applied, what failed and what was not attempted.
    public func apply(_ result: PlanResult, progress: (String) -> Void = { _ in }) -> ApplyReport {
        var outcomes: [ApplyReport.ZoneOutcome] = []
        var stopped: String? = nil
        // Policy files first: RFC 8461 §3.3 has senders fetch the policy when the _mta-sts id
        // changes, so the new policy must be served before the new id is published.
        var written: [PolicyFileChange] = []
        for f in result.files {
            progress("\(f.path): writing the \(f.purpose)")
            do { try PolicyFiles.write(f.after, to: f.path); written.append(f) } catch {
                var report = ApplyReport(zones: result.zones.filter { !$0.changeset.changes.isEmpty }.map {
                    .init(changeset: $0.changeset, applied: [], failed: [], notAttempted: $0.changeset.changes, error: "not attempted: a policy file could not be written")
                })
                report.filesWritten = written
                report.fileError = "\(error)"
                return report
            }
        }
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
        var report = ApplyReport(zones: outcomes)
        report.filesWritten = written
        return report
    }
}
