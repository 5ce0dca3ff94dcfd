import Foundation

/// One PTR that `apply` sets through the reverse provider: the server address, its PTR
/// owner name, the PTR the provider holds now and the server host name it will hold.
public struct PTRChange: Codable, Sendable, Hashable {
    public enum Action: String, Codable, Sendable { case create, update }
    /// `create` when the provider holds no PTR for the address, `update` otherwise.
    public let action: Action
    public let ip: IPAddress
    /// The PTR owner name (`25.2.0.192.in-addr.arpa.`).
    public let name: DomainName
    /// The PTR the provider holds now, nil when none.
    public let before: DomainName?
    /// The PTR to set: `server.hostname`.
    public let after: DomainName
    /// The reverse provider instance name and its adapter type.
    public let provider: String
    public let providerType: String

    public init(ip: IPAddress, before: DomainName?, after: DomainName, provider: String, providerType: String) {
        self.action = before == nil ? .create : .update
        self.ip = ip; self.name = ip.reverseName; self.before = before; self.after = after
        self.provider = provider; self.providerType = providerType
    }
    enum CodingKeys: String, CodingKey { case action, ip, name, before, after, provider, providerType = "provider_type" }
}

/// What the reverse step of an apply did: the PTRs set, the one that failed, the ones not
/// attempted, and the lines that say what was waited for and verified.
public struct ReverseApplyReport: Sendable {
    public let provider: String
    public let providerType: String
    public var applied: [PTRChange] = []
    public var failed: [PTRChange] = []
    public var notAttempted: [PTRChange] = []
    /// Why the step stopped (forward DNS not served in time, the provider refused, FCrDNS
    /// not verified), naming the address, the provider and what was seen; nil on success.
    public var error: String? = nil
    /// What was set and verified, one line each, for standard output.
    public var lines: [String] = []
    public var succeeded: Bool { error == nil && failed.isEmpty && notAttempted.isEmpty }

    public init(provider: String, providerType: String) { self.provider = provider; self.providerType = providerType }
}

/// What a forward lookup of the server host name saw for one address.
struct ForwardObservation {
    /// True when the host's A/AAAA holds the address (everywhere it was asked).
    let holds: Bool
    /// What was seen, for messages: `192.0.2.99 (via provider 'local' read-back)`.
    let seen: String
}

extension Engine {
    /// The reverse adapter of `server.reverse.provider`, built once.
    /// - Throws: ``DiagnosticsError`` when the plan has no `server.reverse`, the provider is
    ///   not defined, or its type cannot set PTR records.
    public func reverseProvider() throws -> any ReverseDNSProvider {
        if let r = reverseCache { return r }
        guard let settings = plan.server.reverse else {
            throw DiagnosticsError(Diagnostic(at: plan.server.location, "server.reverse is not set"))
        }
        guard let config = plan.provider(named: settings.provider) else {
            throw DiagnosticsError(Diagnostic(at: settings.location, "server.reverse.provider: '\(settings.provider)' is not defined"))
        }
        guard let make = makeReverseProvider else {
            throw DiagnosticsError(Diagnostic(at: settings.location, "server.reverse: no reverse-DNS adapters are available"))
        }
        let r = try make(config)
        reverseCache = r
        return r
    }

    /// The zone of the plan that holds `server.hostname` (the longest match) and its
    /// provider instance, nil when no planned zone does.
    var hostZone: (zone: DomainName, provider: String)? {
        let host = plan.server.hostname
        return plan.domains.filter { host.isSubdomain(of: $0.zone) }
            .max { $0.zone.labels.count < $1.zone.labels.count }.map { ($0.zone, $0.provider) }
    }

    /// The server addresses in plan order (IPv4 first).
    var serverAddresses: [IPAddress] { plan.server.ipv4.map { .v4($0) } + plan.server.ipv6.map { .v6($0) } }

    /// Reads the PTR of every server address through the reverse provider.
    /// - Returns: one change per address whose PTR is not `server.hostname`.
    /// - Throws: ``ProviderError`` when a PTR cannot be read (the plan is aborted).
    func planReverse() throws -> [PTRChange] {
        let rp = try reverseProvider()
        let host = plan.server.hostname
        var out: [PTRChange] = []
        for ip in serverAddresses {
            let have = try rp.readPTR(ip)
            if have != host {
                out.append(PTRChange(ip: ip, before: have, after: host, provider: rp.instanceName, providerType: rp.typeName))
            }
        }
        return out
    }

    /// What the world (or the DNS provider) holds for the host's A/AAAA now, for `ip`:
    /// the zone's authoritative servers when the `dns:` block gives or can discover them,
    /// otherwise the DNS provider's read-back of the host's zone, otherwise the resolvers.
    /// Nil when there is no way to look (no `dns:` block and no planned zone holds the host).
    func forwardObservation(_ ip: IPAddress) -> ForwardObservation? {
        let host = plan.server.hostname, type = ip.forwardType
        func show(_ rdata: [RData]) -> String { rdata.isEmpty ? "no \(type) records" : rdata.map(\.display).joined(separator: ", ") }
        let live = plan.dns.configured ? LiveDNS(settings: plan.dns) : nil
        let zone = hostZone?.zone ?? plan.dns.configuredServers(for: host)?.zone
        if let live, let zone, let servers = try? live.authoritativeServers(for: zone), !servers.isEmpty {
            var holds = true
            var seen: [String] = []
            for s in servers {
                do {
                    let a = try live.authoritative.query(host, type, at: s)
                    let recs = a.answerRecords.filter { $0.name == host }.map(\.rdata)
                    if !recs.contains(where: ip.matches) { holds = false }
                    seen.append("\(show(recs)) at \(s)")
                } catch { holds = false; seen.append("no answer from \(s): \(error)") }
            }
            return ForwardObservation(holds: holds, seen: seen.joined(separator: "; "))
        }
        if let hz = hostZone {
            do {
                let recs = try provider(forZone: hz.zone, instance: hz.provider).readZone(hz.zone, managed: [RRsetKey(host, type)])
                    .first { $0.key == RRsetKey(host, type) }?.rdata ?? []
                return ForwardObservation(holds: recs.contains(where: ip.matches), seen: "\(show(recs)) (provider '\(hz.provider)' read-back)")
            } catch { return ForwardObservation(holds: false, seen: "provider '\(hz.provider)' read-back failed: \(error)") }
        }
        if let live, live.canResolve {
            do {
                let recs = try live.lookup(host, type).answerRecords.filter { $0.name == host }.map(\.rdata)
                return ForwardObservation(holds: recs.contains(where: ip.matches), seen: "\(show(recs)) (resolvers)")
            } catch { return ForwardObservation(holds: false, seen: "resolver lookup failed: \(error)") }
        }
        return nil
    }

    /// Polls `check` for every address until it holds or `timeout` seconds pass.
    /// - Returns: the addresses still not satisfied with what was seen last (empty on success).
    func poll(_ ips: [IPAddress], timeout: Double, what: String, progress: (String) -> Void,
              _ check: (IPAddress) -> (holds: Bool, seen: String)?) -> [(IPAddress, String)] {
        let start = waitClock.now()
        var pending = ips
        while true {
            var failing: [(IPAddress, String)] = []
            for ip in pending {
                guard let r = check(ip) else { continue }
                if !r.holds { failing.append((ip, r.seen)) }
            }
            if failing.isEmpty { return [] }
            pending = failing.map(\.0)
            let elapsed = waitClock.now() - start
            if elapsed + waitInterval > timeout { return failing }
            progress("waiting for \(what) (\(Resolver.seconds(elapsed.rounded())) s of \(Resolver.seconds(timeout)) s)")
            waitClock.sleep(waitInterval)
        }
    }

    /// The reverse step of `apply`, run after every zone change is applied: waits until the
    /// host's A/AAAA holding each address is served (providers check forward DNS before
    /// they accept a PTR), sets each PTR in order, then verifies forward-confirmed reverse
    /// DNS: the provider reads back the PTR, the host name's A/AAAA holds the address, and,
    /// when `dns.resolvers` is configured, the resolvers serve both.
    /// - Parameter changes: the PTRs to set (``PlanResult/reverse``).
    /// - Returns: what was set, what failed, what was not attempted, and why.
    public func applyReverse(_ changes: [PTRChange], progress: (String) -> Void = { _ in }) -> ReverseApplyReport {
        let rp: any ReverseDNSProvider
        do { rp = try reverseProvider() } catch {
            var r = ReverseApplyReport(provider: plan.server.reverse?.provider ?? "?", providerType: "?")
            r.notAttempted = changes; r.error = "\(error)"
            return r
        }
        var report = ReverseApplyReport(provider: rp.instanceName, providerType: rp.typeName)
        guard !changes.isEmpty else { return report }
        let host = plan.server.hostname
        let timeout = plan.server.reverse?.waitTimeout ?? 300
        let who = "provider '\(rp.instanceName)' (\(rp.typeName))"
        let ips = changes.map(\.ip)

        // 1. Forward DNS first: the host's A/AAAA must hold each address.
        if !plan.dns.configured && hostZone == nil {
            report.lines.append("Forward DNS of \(host.fqdn) not checked before setting PTRs: no dns: block and no planned zone holds it.")
        } else {
            let still = poll(ips, timeout: timeout, what: "\(host.fqdn) A/AAAA to be served", progress: progress) { ip in
                forwardObservation(ip).map { ($0.holds, $0.seen) }
            }
            if !still.isEmpty {
                report.notAttempted = changes
                report.error = still.map { ip, seen in
                    "forward DNS not ready after \(Resolver.seconds(timeout)) s: \(host.fqdn) \(ip.forwardType) does not hold \(ip) (seen: \(seen)); PTR not set at \(who), which checks forward DNS"
                }.joined(separator: "\n")
                return report
            }
        }

        // 2. Set each PTR in order.
        for (i, c) in changes.enumerated() {
            progress("\(c.name.fqdn): setting PTR \(c.after.fqdn) at \(who)")
            do {
                try rp.setPTR(c.ip, to: c.after)
                report.applied.append(c)
                report.lines.append("Set PTR \(c.name.fqdn) -> \(c.after.fqdn) (\(c.ip) at \(who)).")
            } catch {
                report.failed = [c]
                report.notAttempted = Array(changes.dropFirst(i + 1))
                report.error = error is ProviderError ? "\(error)" : "setting the PTR of \(c.ip) to \(c.after.fqdn) at \(who) failed: \(error)"
                return report
            }
        }

        // 3. Verify FCrDNS.
        var problems: [String] = []
        for c in changes {
            do {
                let back = try rp.readPTR(c.ip)
                if back != c.after {
                    problems.append("FCrDNS not verified for \(c.ip): \(who) reads back PTR \(back?.fqdn ?? "(none)"), not \(c.after.fqdn)")
                    continue
                }
            } catch {
                problems.append("FCrDNS not verified for \(c.ip): reading the PTR back from \(who) failed: \(error)")
                continue
            }
            if let f = forwardObservation(c.ip), !f.holds {
                problems.append("FCrDNS not verified for \(c.ip): PTR is \(c.after.fqdn) but \(c.after.fqdn) \(c.ip.forwardType) does not hold \(c.ip) (seen: \(f.seen))")
            }
        }
        if problems.isEmpty, plan.dns.configured, LiveDNS(settings: plan.dns).canResolve {
            let live = LiveDNS(settings: plan.dns)
            let still = poll(ips, timeout: timeout, what: "the PTRs to be served", progress: progress) { ip in
                do {
                    let a = try live.lookup(ip.reverseName, .ptr)
                    let names: [DomainName] = a.answerRecords.compactMap { if case .ptr(let n) = $0.rdata { return n }; return nil }
                    guard names.contains(host) else {
                        return (false, "\(ip.reverseName.fqdn) PTR \(names.isEmpty ? a.rcode.rawValue : names.map(\.fqdn).joined(separator: ", ")) at the resolvers")
                    }
                    let fwd = try live.lookup(host, ip.forwardType).answerRecords.filter { $0.name == host }.map(\.rdata)
                    return (fwd.contains(where: ip.matches), "\(host.fqdn) \(ip.forwardType) \(fwd.map(\.display).joined(separator: ", ")) at the resolvers")
                } catch { return (false, "resolver lookup failed: \(error)") }
            }
            for (ip, seen) in still {
                problems.append("FCrDNS not verified for \(ip) after \(Resolver.seconds(timeout)) s: the resolvers serve \(seen); the PTR was set at \(who)")
            }
        }
        if problems.isEmpty {
            for c in changes { report.lines.append("Verified FCrDNS: \(c.ip) -> \(c.after.fqdn) -> \(c.ip).") }
        } else {
            report.error = problems.joined(separator: "\n")
        }
        return report
    }
}
