import Foundation

/// Time for the propagation wait, injectable so tests need not sleep.
public protocol WaitClock: Sendable {
    /// Seconds since an arbitrary fixed point.
    func now() -> Double
    /// Waits `seconds`.
    func sleep(_ seconds: Double)
}

/// The real clock (monotonic) and `Thread.sleep`.
public struct SystemWaitClock: WaitClock {
    public init() {}
    public func now() -> Double { ProcessInfo.processInfo.systemUptime }
    public func sleep(_ seconds: Double) { if seconds > 0 { Thread.sleep(forTimeInterval: seconds) } }
}

/// One RRset that must be served as planned at a zone's authoritative servers after apply.
public struct ServedExpectation: Sendable, Hashable {
    public let zone: DomainName
    public let servers: [NameServer]
    public let key: RRsetKey
    /// The RRset as planned (the whole set, including values mailplan keeps but does not
    /// own); nil when the RRset was deleted and must no longer be served.
    public let rrset: RRset?
    public init(zone: DomainName, servers: [NameServer], key: RRsetKey, rrset: RRset?) {
        self.zone = zone; self.servers = servers; self.key = key; self.rrset = rrset
    }
}

/// An RRset that one server does not serve as planned, with both values.
public struct ServedMismatch: Sendable, Hashable, CustomStringConvertible {
    public let key: RRsetKey
    public let server: NameServer
    /// The planned records (`ttl 3600: "v=spf1 mx -all"`), or `(deleted)`.
    public let planned: String
    /// What the server answered: its records, `no records`, or the error.
    public let served: String
    public init(key: RRsetKey, server: NameServer, planned: String, served: String) {
        self.key = key; self.server = server; self.planned = planned; self.served = served
    }
    public var description: String { "\(key) at \(server): planned \(planned); served \(served)" }
}

/// What the propagation wait found.
public struct PropagationReport: Sendable {
    /// True when every expectation was met at every server before the timeout.
    public let succeeded: Bool
    /// How many rounds of queries were made.
    public let polls: Int
    /// Seconds waited.
    public let elapsed: Double
    /// What was still not served as planned at the last poll (empty on success).
    public let mismatches: [ServedMismatch]
    public let timeout: Double

    /// One paragraph for the terminal.
    public var message: String {
        if succeeded {
            return "Verified over DNS: every changed RRset is served as planned by every authoritative server (\(polls) poll\(polls == 1 ? "" : "s"), \(Resolver.seconds((elapsed * 10).rounded() / 10)) s)."
        }
        var s = "error: after \(Resolver.seconds(timeout)) s (\(polls) poll\(polls == 1 ? "" : "s")), \(mismatches.count) RRset\(mismatches.count == 1 ? " is" : "s are") not served as planned:\n"
        for m in mismatches { s += "  \(m)\n" }
        s += "A value that differs (not just missing) means the provider changed it on the way: fix the plan or the provider; a missing one may still be propagating (raise --wait-timeout)."
        return s
    }
}

/// After `apply`, polls every authoritative server of each changed zone until each changed
/// RRset is served as planned, or the timeout passes.
public struct PropagationWaiter {
    public let resolver: Resolver
    public let clock: WaitClock
    /// Seconds between polls.
    public let interval: Double

    /// - Parameters:
    ///   - resolver: sends the queries (RD clear: these are authoritative servers).
    ///   - clock: the time source and sleep; ``SystemWaitClock`` outside tests.
    ///   - interval: seconds between two polls (default 1).
    public init(resolver: Resolver, clock: WaitClock = SystemWaitClock(), interval: Double = 1) {
        self.resolver = resolver; self.clock = clock; self.interval = interval
    }

    /// The served form of records for messages: `ttl 300: "a", "b"`.
    static func show(_ records: [ServedRecord], ttl: UInt32?) -> String {
        records.isEmpty ? "no records" : "ttl \(ttl ?? 0): " + records.map(\.rdata.display).joined(separator: ", ")
    }
    static func show(_ r: RRset?) -> String {
        guard let r else { return "(deleted)" }
        return "ttl \(r.ttl): " + r.rdata.map(\.display).joined(separator: ", ")
    }

    /// The mismatch of one expectation at one server, nil when served as planned.
    public func mismatch(_ e: ServedExpectation, at server: NameServer) -> ServedMismatch? {
        let planned = Self.show(e.rrset)
        do {
            let a = try resolver.query(e.key.name, e.key.type, at: server)
            if a.rcode != .noError && a.rcode != .nxDomain {
                return ServedMismatch(key: e.key, server: server, planned: planned, served: "\(a.rcode.rawValue)\(a.rcode == .refused ? " (the server does not serve zone \(e.zone.fqdn))" : "")")
            }
            let recs = a.answerRecords.filter { $0.name == e.key.name && $0.rdata.type == e.key.type }
            let servedText = Self.show(recs, ttl: recs.map(\.ttl).min())
            guard let want = e.rrset else {
                return recs.isEmpty ? nil : ServedMismatch(key: e.key, server: server, planned: planned, served: servedText)
            }
            if Differ.sameData(recs.map(\.rdata), want.rdata, at: e.key.name) && recs.map(\.ttl).min() == want.ttl { return nil }
            return ServedMismatch(key: e.key, server: server, planned: planned, served: servedText)
        } catch {
            return ServedMismatch(key: e.key, server: server, planned: planned, served: "no answer: \(error)")
        }
    }

    /// Polls until every expectation is met at every one of its servers or `timeout`
    /// seconds have passed (a poll never starts after the deadline; each query is bounded
    /// by the resolver's timeout × attempts).
    /// - Parameter progress: called with one line before each poll after the first.
    public func wait(_ expectations: [ServedExpectation], timeout: Double, progress: (String) -> Void = { _ in }) -> PropagationReport {
        let start = clock.now()
        var polls = 0
        var pending = expectations
        var last: [ServedMismatch] = []
        while true {
            polls += 1
            last = []
            var still: [ServedExpectation] = []
            for e in pending {
                let ms = e.servers.compactMap { mismatch(e, at: $0) }
                if !ms.isEmpty { still.append(e); last += ms }
            }
            pending = still
            let elapsed = clock.now() - start
            if pending.isEmpty { return PropagationReport(succeeded: true, polls: polls, elapsed: elapsed, mismatches: [], timeout: timeout) }
            if elapsed + interval > timeout {
                return PropagationReport(succeeded: false, polls: polls, elapsed: elapsed, mismatches: last, timeout: timeout)
            }
            progress("waiting for \(pending.count) RRset\(pending.count == 1 ? "" : "s") to be served (\(Resolver.seconds(elapsed.rounded())) s of \(Resolver.seconds(timeout)) s)")
            clock.sleep(interval)
        }
    }

    /// The expectations of an apply: every applied change, at the zone's authoritative servers.
    /// - Parameter servers: the servers of a zone (configured or discovered); a zone with
    ///   none is left out.
    public static func expectations(_ report: ApplyReport, servers: (DomainName) throws -> [NameServer]) rethrows -> [ServedExpectation] {
        var out: [ServedExpectation] = []
        for z in report.zones {
            let s = try servers(z.changeset.zone)
            if s.isEmpty { continue }
            for c in z.applied { out.append(ServedExpectation(zone: z.changeset.zone, servers: s, key: c.key, rrset: c.after)) }
        }
        return out
    }
}

/// What `plan` adds when the plan file has a `dns:` block: served drift (the provider's
/// data and what its authoritative servers serve disagree), the delegation check, and the
/// PTR of each server address as an item to act on.
public enum ServedDrift {
    /// - Parameter fcrdns: also check the PTR of each server address (once per run: the
    ///   engine calls this zone by zone with it off, then once with no zones).
    /// - Returns: warnings, one per disagreement; none when everything agrees.
    public static func warnings(_ result: PlanResult, plan: MailPlan, live: LiveDNS, now: Date, fcrdns: Bool = true) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let resolver = live.authoritative
        for z in result.zones {
            let zone = z.desired.zone
            let servers: [NameServer]
            do { servers = try live.authoritativeServers(for: zone) } catch {
                out.append(Diagnostic(.warning, at: plan.dns.location, "served drift not checked for \(zone.fqdn): \(error)")); continue
            }
            if servers.isEmpty { continue }
            let providerNS = Set(z.live.first { $0.key == RRsetKey(zone, .ns) }?.rdata.compactMap { r -> DomainName? in if case .ns(let n) = r { return n }; return nil } ?? [])
            if !providerNS.isEmpty {
                let checker = Checker(plan: plan, live: live, now: now, providerNS: { _ in providerNS })
                for f in checker.delegation(zone) where f.isProblem { out.append(Diagnostic(.warning, at: plan.dns.location, "\(zone.fqdn): \(f.message)")) }
            }
            let waiter = PropagationWaiter(resolver: resolver)
            for d in z.desired.rrsets {
                let held = z.live.first { $0.key == d.rrset.key }
                for s in servers {
                    if let m = waiter.mismatch(ServedExpectation(zone: zone, servers: [s], key: d.rrset.key, rrset: held), at: s) {
                        out.append(Diagnostic(.warning, at: d.location, "served drift: \(d.rrset.key) at \(s) serves \(m.served); provider '\(z.desired.provider)' holds \(held.map { PropagationWaiter.show($0) } ?? "no records") (propagation pending, or the zone is not served from this provider)"))
                    }
                }
            }
        }
        // With server.reverse the plan itself shows and sets the PTRs.
        if fcrdns && live.canResolve && plan.server.reverse == nil {
            for f in Checker(plan: plan, live: live, now: now).fcrdns() where f.isProblem {
                out.append(Diagnostic(.warning, at: plan.server.location, (f.severity == .error ? "act on this: " : "") + f.message))
            }
        }
        return out
    }
}

extension PlanResult {
    /// The same result with more warnings.
    public func adding(warnings extra: [Diagnostic]) -> PlanResult {
        var r = PlanResult(planFile: planFile, zones: zones, warnings: warnings + extra)
        r.files = files; r.rotation = rotation; r.reverse = reverse; r.reverseConfigured = reverseConfigured
        return r
    }
}
