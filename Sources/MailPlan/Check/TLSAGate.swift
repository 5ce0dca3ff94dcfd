import Foundation

/// The `tlsa-mismatch` gate of `plan`/`apply` (with `check.smtp`): DANE rollover as a checked
/// sequence — publish the next key, renew, drop the old one. A TLSA change is gated when the
/// RRset it leaves matches neither the chain the mail server presents now nor
/// `server.dane.next_public_key_file`, or when it removes the record that matches the
/// presented chain (RFC 7672 §2.2: DANE senders then refuse to deliver).
public enum TLSAGate {
    /// The chains served for each TLSA owner name `_PORT._tcp.<host>` of the changes, probed
    /// on the services of `check.smtp` at the host's addresses (``ServerCheck/endpoints()``).
    /// - Returns: the chains per owner, and a warning for each owner that could not be probed.
    public static func servedChains(for changes: [Change], plan: MailPlan, live: LiveDNS, settings: SMTPCheckSettings, now: Date) -> (chains: [DomainName: [[ServedCertificate]]], warnings: [Diagnostic]) {
        let owners = Array(Set(changes.filter { $0.type == .tlsa }.map(\.name))).sorted()
        guard !owners.isEmpty else { return ([:], []) }
        let check = ServerCheck(plan: plan, live: live, settings: settings, now: now)
        let eps = check.endpoints().endpoints
        var chains: [DomainName: [[ServedCertificate]]] = [:]
        var warnings: [Diagnostic] = []
        for owner in owners {
            let l = owner.labels
            guard l.count > 2, l[1] == "_tcp", let port = UInt16(l[0].dropFirst()), l[0].hasPrefix("_"),
                  let svc = settings.services.first(where: { $0.standardPort == port }) else { continue }
            let host = DomainName(uncheckedFQDN: l.dropFirst(2).joined(separator: ".") + ".")
            let at = eps.filter { $0.hosts.contains(host) }
            if at.isEmpty {
                warnings.append(Diagnostic(.warning, at: nil, "tlsa-mismatch not checked for \(owner.fqdn): \(host.fqdn) is neither server.hostname nor a planned MX host with an address")); continue
            }
            for ep in at {
                do {
                    let hs = try check.probe.handshake(host: host, address: ep.address, port: svc.port, mode: svc.mode)
                    chains[owner, default: []].append(try hs.chain.map { try ServedCertificate(der: $0) })
                } catch {
                    warnings.append(Diagnostic(.warning, at: nil, "tlsa-mismatch not checked for \(owner.fqdn) at \(ep.subject(svc.port)): \(error)"))
                }
            }
        }
        return (chains, warnings)
    }

    /// Why a TLSA change needs the gate, or nil when it does not.
    /// - Parameters:
    ///   - chains: the chains served for the change's owner name (leaf first), one per address.
    ///   - next: SHA-256 hex of the next key's SubjectPublicKeyInfo (`server.dane.next_public_key_file`).
    public static func reason(_ c: Change, chains: [[ServedCertificate]], next: String?) -> String? {
        guard c.type == .tlsa, !chains.isEmpty else { return nil }
        func matchesServed(_ r: RData) -> Bool {
            guard case .tlsa(let u, let s, let m, let d) = r else { return false }
            return chains.allSatisfy { chain in
                if case .matches = TLSAMatcher.match(usage: u, selector: s, matchingType: m, data: d, chain: chain) { return true }
                return false
            }
        }
        func isNext(_ r: RData) -> Bool {
            guard let next, case .tlsa(let u, let s, let m, let d) = r else { return false }
            return u == 3 && s == 1 && m == 1 && d.lowercased() == next
        }
        let served = chains.first.flatMap { $0.first.map { "3 1 1 " + TLSAMatcher.associationData($0, selector: 1, matchingType: 1) } } ?? "?"
        let after = c.after?.rdata ?? []
        if let before = c.before?.rdata {
            let dropped = before.filter { matchesServed($0) && !after.contains($0) }
            if !dropped.isEmpty {
                return "deletes the TLSA record that matches the key the mail server presents (\(served)); publish its replacement first"
            }
        }
        if c.after != nil, !after.contains(where: { matchesServed($0) || isNext($0) }) {
            return "no planned TLSA record matches the key the mail server presents (\(served)) or server.dane.next_public_key_file; DANE senders will not deliver"
        }
        return nil
    }

    /// `result` with the `tlsa-mismatch` gate (and a note saying why) on each TLSA change
    /// that needs it, plus the warnings of owners that could not be probed.
    public static func mark(_ result: PlanResult, plan: MailPlan, live: LiveDNS, settings: SMTPCheckSettings, now: Date) -> PlanResult {
        let changes = result.zones.flatMap(\.changeset.changes)
        let (chains, warnings) = servedChains(for: changes, plan: plan, live: live, settings: settings, now: now)
        let next = plan.server.dane?.next
        let zones = result.zones.map { z -> ZonePlan in
            let marked = z.changeset.changes.map { c -> Change in
                guard let why = reason(c, chains: chains[c.name] ?? [], next: next) else { return c }
                var g = c
                if !g.gates.contains(.tlsaMismatch) { g.gates.append(.tlsaMismatch) }
                g.notes.append("tlsa-mismatch: " + why)
                return g
            }
            let cs = ZoneChangeset(zone: z.changeset.zone, provider: z.changeset.provider, providerType: z.changeset.providerType, changes: marked)
            return z.with(changeset: cs)
        }
        var r = PlanResult(planFile: result.planFile, zones: zones, warnings: result.warnings + warnings)
        r.files = result.files; r.rotation = result.rotation; r.reverse = result.reverse; r.reverseConfigured = result.reverseConfigured
        return r
    }
}
