import Foundation

/// How a run honours ``Engine/shard`` (`--shard K/N`): which zones, domains and server-wide
/// parts belong to it.
extension Engine {
    /// True when `zone` is in ``shard`` (always, without a shard).
    func inShard(_ zone: DesiredZone) -> Bool { shard?.contains(zone: zone.zone) ?? true }

    /// True when the zone of domain `d` is in ``shard`` (always, without a shard).
    func inShard(_ d: DomainPlan) -> Bool { shard?.contains(zone: d.zone) ?? true }

    /// Whether a run over `zones` (the apexes selected by `targets` and ``shard``) includes the
    /// server-wide parts (the PTRs of `server.reverse` and their served-PTR warnings; in
    /// `check`, the server checks): with
    /// `--target`, when the zone holding `server.hostname` is selected (or no planned zone
    /// holds it); otherwise when ``shard`` runs them (``Shard/runsServerParts(hostZone:)``),
    /// or always without a shard.
    func runsServerParts(targets: [String], zones: [DomainName]) -> Bool {
        if !targets.isEmpty, let hz = hostZone { return zones.contains(hz.zone) }
        return shard?.runsServerParts(hostZone: hostZone?.zone) ?? true
    }

    /// The line to show when ``shard`` holds none of the plan's zones (then the run plans,
    /// applies or checks nothing and exits 0): `no zones in shard 3/7 (the plan's 5 zones are
    /// in the other shards)`; nil without a shard or when the shard holds a zone.
    public var emptyShardNote: String? {
        guard let shard else { return nil }
        var zones = Set<DomainName>()
        for d in plan.domains { zones.insert(d.zone) }
        guard !zones.contains(where: shard.contains(zone:)) else { return nil }
        return "no zones in shard \(shard) (the plan's \(zones.count) zone\(zones.count == 1 ? " is" : "s are") in the other shards)"
    }
}
