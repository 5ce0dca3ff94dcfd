import Foundation

/// The one way to build an engine, and the stages around the core plan that need live DNS:
/// the CLI's commands read parse → engine → render → exit code, and nothing of the pipeline
/// lives in them (docs/architecture.md, "The flow").
extension Engine {
    /// Loads the plan file at `path` and builds the engine for it: the one factory every
    /// command uses.
    /// - Parameters:
    ///   - path: the plan file.
    ///   - now: the instant the plan is evaluated at (the CLI passes ``PlanClock/now(environment:default:)``).
    ///   - unsetSecretsAreWarnings: `validate` without `--strict-env` (see ``PlanLoader``).
    ///   - makeProvider: the DNS adapter registry; `makeReverseProvider`: the reverse one.
    /// - Throws: ``DiagnosticsError`` naming file:line:column for a plan file that does not load.
    public static func load(path: String, now: Date, unsetSecretsAreWarnings: Bool = false,
                            makeProvider: @escaping (ProviderConfig) throws -> any DNSProvider,
                            makeReverseProvider: ((ProviderConfig) throws -> any ReverseDNSProvider)? = nil) throws -> Engine {
        var loader = PlanLoader()
        loader.unsetSecretsAreWarnings = unsetSecretsAreWarnings
        return Engine(plan: try loader.load(path: path), now: now, makeProvider: makeProvider, makeReverseProvider: makeReverseProvider)
    }

    /// The plan as `plan` and `apply` show it: ``makePlan(parallelism:targets:progress:)``, then
    /// the live stages the plan file asks for: the `tlsa-mismatch` gate against the key the
    /// mail server presents (with `check.smtp`), and, when `servedDrift` and a `dns:` block is
    /// configured, the served-drift, delegation and PTR warnings. The same as
    /// ``streamPlan(_:progress:events:)`` with every zone kept.
    /// - Throws: as ``makePlan(parallelism:targets:progress:)``.
    public func plan(parallelism: Int = 8, targets: [String] = [], servedDrift: Bool = true,
                     progress: (@Sendable (String) -> Void)? = nil) throws -> PlanResult {
        try streamPlan(PlanRun(parallelism: parallelism, targets: targets, servedDrift: servedDrift), progress: progress)
    }

    /// Why `check` cannot run at all (exit 1, not a finding).
    public struct CheckCannotRun: Error, CustomStringConvertible {
        public let description: String
    }

    /// `mailplan check`: what the world sees, as ``Checker`` findings. The resolvers are
    /// `dns.resolvers`, or else the name servers of `resolvConf` (the text of
    /// /etc/resolv.conf); each zone's name servers at its provider are read for the
    /// delegation check. With ``shard``, only the domains of that shard are checked, and the
    /// server checks only in the one shard that runs them (``Shard/runsServerParts(hostZone:)``).
    /// - Throws: ``CheckCannotRun`` when there is no resolver or none answers;
    ///   ``DiagnosticsError`` for a plan that does not validate.
    public func check(resolvConf: String) throws -> [Finding] {
        var settings = plan.dns
        if settings.resolvers.isEmpty {
            settings.resolvers = LiveDNS.resolvConfServers(resolvConf)
            if settings.resolvers.isEmpty {
                throw CheckCannotRun(description: "no resolver to ask: set dns.resolvers in \(plan.file) (no nameserver in /etc/resolv.conf either)")
            }
        }
        let (zones, _) = try validate()
        let live = LiveDNS(settings: settings)
        if let first = plan.domains.first {
            do { _ = try live.lookup(first.name, .soa) } catch {
                throw CheckCannotRun(description: "could not run the checks: no resolver answered (\(error)); check dns.resolvers in \(plan.file)")
            }
        }
        var checker = Checker(plan: plan, live: live, now: now, providerNS: { zone in
            guard let z = zones.first(where: { $0.zone == zone }) else { return nil }
            let sets = try self.provider(z.provider).readZone(zone, managed: [RRsetKey(zone, .ns)])
            let ns = sets.first { $0.key == RRsetKey(zone, .ns) }?.rdata.compactMap { r -> DomainName? in if case .ns(let n) = r { return n }; return nil }
            return ns.map(Set.init)
        })
        checker.shard = shard
        checker.serverChecks = runsServerParts(targets: [], zones: [])
        return checker.run()
    }
}
