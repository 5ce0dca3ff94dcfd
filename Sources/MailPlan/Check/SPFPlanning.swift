import Foundation

/// The live-DNS parts of SPF at plan time (run only when the plan has `dns.resolvers`):
/// flattening of `{include: …, flatten: true}` senders, the lookup budget of the planned
/// record against the live one (RFC 7208 §4.6.4), and `senders_expected` coverage with
/// `check_host()` (RFC 7208 §4–§5). Every query goes through one ``SPFLookupCache`` per run.
public final class SPFPlanning {
    /// The address checked to make sure the planned record does not pass everyone:
    /// 192.0.2.254, in TEST-NET-1 (RFC 5737), which no real sender uses.
    public static let outsideAddress = SPFAddress("192.0.2.254")!
    /// Flattened parts of a record are published at `_spf1.<domain>`, `_spf2.<domain>`, … when
    /// one record would be longer than this many bytes (RFC 7208 §3.4: fit one UDP answer).
    public static let maxRecordBytes = 450

    let plan: MailPlan
    let cache: SPFLookupCache
    /// Per domain: the ranges each flattened include stands for now.
    private(set) var flattened: [DomainName: [(include: String, ranges: [String])]] = [:]

    /// - Parameters:
    ///   - lookup: the live lookup (``SPFEvaluator/live(_:)``); cached here for the run.
    public init(plan: MailPlan, lookup: @escaping SPFDNSLookup) {
        self.plan = plan
        self.cache = SPFLookupCache(lookup)
    }

    /// The record layout after flattening: the apex value and the parts.
    /// - Parameters:
    ///   - terms: the planned terms, with each flattened include replaced by its ranges.
    ///   - at: the index in `terms` where the ranges begin, `count` of them.
    /// - Returns: one record when it fits ``maxRecordBytes``; otherwise the apex with
    ///   `include:_spf1.<domain>` in place of the ranges and a chain of parts, each ≤ the limit,
    ///   each but the last ending in `include:` of the next.
    public static func layout(domain: DomainName, before: [String], ranges: [String], after: [String], all: String?) -> (apex: String, parts: [(name: DomainName, value: String)]) {
        let tail = after + (all.map { [$0] } ?? [])
        let single = (["v=spf1"] + before + ranges + tail).joined(separator: " ")
        if single.utf8.count <= maxRecordBytes || ranges.isEmpty { return (single, []) }
        func part(_ i: Int) -> DomainName { domain.prepending("_spf\(i)") }
        let apex = (["v=spf1"] + before + ["include:\(part(1).withoutTrailingDot)"] + tail).joined(separator: " ")
        var parts: [(DomainName, String)] = []
        var current: [String] = ["v=spf1"]
        var rest = ranges[...]
        while let r = rest.first {
            let next = " include:\(part(parts.count + 2).withoutTrailingDot)"
            let len = current.joined(separator: " ").utf8.count
            if current.count > 1 && len + 1 + r.utf8.count + next.utf8.count > maxRecordBytes {
                parts.append((part(parts.count + 1), (current + [String(next.dropFirst())]).joined(separator: " ")))
                current = ["v=spf1"]
                continue
            }
            current.append(r)
            rest = rest.dropFirst()
        }
        parts.append((part(parts.count + 1), current.joined(separator: " ")))
        return (apex, parts)
    }

    /// Replaces flattened includes in the desired apex TXT by their current ranges, adding
    /// `_spfN.<domain>` TXT RRsets (fully managed) when the record must be split.
    /// - Throws: ``DiagnosticsError`` naming the domain when an include cannot be flattened.
    public func flatten(_ zones: [DesiredZone]) throws -> [DesiredZone] {
        var zones = zones
        var problems: [Diagnostic] = []
        let ev = SPFEvaluator(lookup: cache.lookup)
        for d in plan.domains {
            guard let spf = d.spf, !spf.flatten.isEmpty,
                  let zi = zones.firstIndex(where: { $0.zone == d.zone && $0.provider == d.provider }),
                  let ri = zones[zi].rrsets.firstIndex(where: { $0.rrset.key == RRsetKey(d.name, .txt) }) else { continue }
            var before: [String] = [], after: [String] = [], ranges: [String] = []
            var seenFlat = false
            var sources: [(String, [String])] = []
            do {
                for t in spf.terms {
                    let target = t.lowercased().hasPrefix("include:") ? String(t.dropFirst(8)).lowercased() : nil
                    if let target, let inc = spf.flatten.first(where: { $0.lowercased() == target }) {
                        let r = try ev.flatten(try DomainName(inc))
                        sources.append((inc, r))
                        for x in r where !ranges.contains(x) { ranges.append(x) }
                        seenFlat = true
                    } else if seenFlat { after.append(t) } else { before.append(t) }
                }
            } catch {
                problems.append(Diagnostic(at: d.location, "domains[\(d.name.withoutTrailingDot)].spf: \(error)"))
                continue
            }
            flattened[d.name] = sources
            let (apex, parts) = Self.layout(domain: d.name, before: before, ranges: ranges, after: after, all: spf.all)
            var desired = zones[zi].rrsets[ri]
            desired.rrset = RRset(name: desired.rrset.name, type: .txt, ttl: desired.rrset.ttl,
                                  rdata: desired.rrset.rdata.map { $0.txtValue == spf.record ? .txt(apex) : $0 })
            desired.notes += sources.map { "include:\($0.0) flattened to \($0.1.count) range\($0.1.count == 1 ? "" : "s") resolved at plan time" }
            if !parts.isEmpty { desired.notes.append("flattened record split into \(parts.map(\.name.withoutTrailingDot).joined(separator: ", ")) to stay within \(Self.maxRecordBytes) bytes") }
            zones[zi].rrsets[ri] = desired
            for (i, p) in parts.enumerated() {
                zones[zi].rrsets.append(DesiredRRset(rrset: RRset(name: p.name, type: .txt, ttl: desired.rrset.ttl, rdata: [.txt(p.value)]),
                                                     ownership: .full, purpose: .spfPart(d.name, i + 1),
                                                     location: d.location))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return zones
    }

    /// The planned records of `desired`, by RRset key: what SPF lookups into planned zones
    /// answer with.
    public static func overlay(_ desired: [DesiredZone]) -> [RRsetKey: [RData]] {
        var overlay: [RRsetKey: [RData]] = [:]
        for z in desired { for r in z.rrsets { overlay[r.rrset.key] = r.rrset.rdata } }
        return overlay
    }

    /// The planned and live SPF values of each domain: lookup budget before → after as a note
    /// on the apex TXT change, flattened ranges changed upstream, and `senders_expected`.
    /// - Returns: the zones with notes added, and warnings (an outside address that passes,
    ///   `ptr` in the chain).
    /// - Throws: ``DiagnosticsError``: the planned record needs more than 10 lookups or more
    ///   than 2 void lookups (naming the chain), meets a permerror, or an expected sender
    ///   does not get `pass` (naming the address and the result).
    /// - Parameter overlay: the planned records of every desired zone of the run
    ///   (``overlay(_:)``), when `zones` is only part of it (the engine audits zone by zone):
    ///   a lookup into another planned zone answers with its planned records. Nil: the
    ///   desired RRsets of `zones`.
    public func audit(_ zones: [ZonePlan], overlay: [RRsetKey: [RData]]? = nil) throws -> (zones: [ZonePlan], warnings: [Diagnostic]) {
        var zones = zones
        var problems: [Diagnostic] = [], warnings: [Diagnostic] = []
        // RRsets the plan manages answer with their planned records (a new MX or _spf1 part
        // is not live yet).
        let overlay = overlay ?? Self.overlay(zones.map(\.desired))
        let planned = SPFEvaluator(lookup: cache.with(overlay: overlay))
        let live = SPFEvaluator(lookup: cache.lookup)
        for d in plan.domains {
            guard let spf = d.spf, let zi = zones.firstIndex(where: { $0.desired.zone == d.zone && $0.desired.provider == d.provider }),
                  let want = zones[zi].desired.rrsets.first(where: { $0.rrset.key == RRsetKey(d.name, .txt) })?.rrset.rdata
                    .compactMap(\.txtValue).first(where: SPF.isSPF) else { continue }
            let dn = "domains[\(d.name.withoutTrailingDot)].spf"
            let record: SPFRecord
            do { record = try SPFRecord.parse(want) } catch { problems.append(Diagnostic(at: d.location, "\(dn): \(error)")); continue }
            let after = planned.evaluate(record, at: d.name)
            let liveValues = zones[zi].live.first { $0.key == RRsetKey(d.name, .txt) }?.rdata.compactMap(\.txtValue).filter(SPF.isSPF) ?? []
            let before = liveValues.count == 1 ? (try? SPFRecord.parse(liveValues[0])).map { live.evaluate($0, at: d.name) } : nil
            var notes: [String] = []
            notes.append("SPF DNS lookups \(before.map { String($0.lookupCount) } ?? "none") → \(after.lookupCount) (limit \(SPFEvaluation.maxLookups)), void \(before.map { String($0.voidCount) } ?? "none") → \(after.voidCount) (limit \(SPFEvaluation.maxVoidLookups)): \(after.perTermSummary)")
            // A lookup that failed (temperror) or ptr is a warning: the budget could not be
            // fully checked, which is not proof the record is wrong.
            let soft = { (p: String) in p.hasSuffix("(RFC 7208 §5.5)") || p.hasSuffix("(temperror)") }
            let fatal = after.problems.filter { !soft($0) }
            for p in after.problems where soft(p) { warnings.append(Diagnostic(.warning, at: d.location, "\(dn): \(p)")) }
            for p in fatal { problems.append(Diagnostic(at: d.location, "\(dn): the planned record \"\(want)\": \(p)")) }

            // Upstream ranges of flattened includes, against what the live record holds.
            if let sources = flattened[d.name], !sources.isEmpty, liveValues.count == 1 {
                let literal = Set(spf.terms.map { $0.lowercased() })
                var liveRanges = Set<String>()
                var name: DomainName? = nil
                var value: String? = liveValues[0]
                var hops = 0
                while let v = value, hops < 20 {
                    hops += 1
                    let words = v.split(separator: " ").map(String.init)
                    for w in words where (w.hasPrefix("ip4:") || w.hasPrefix("ip6:")) && !literal.contains(w.lowercased()) { liveRanges.insert(w) }
                    name = words.first { $0.hasPrefix("include:_spf") && $0.contains(".\(d.name.withoutTrailingDot)") }.flatMap { try? DomainName(String($0.dropFirst(8))) }
                    value = name.flatMap { n in zones[zi].live.first { $0.key == RRsetKey(n, .txt) }?.rdata.compactMap(\.txtValue).first(where: SPF.isSPF) }
                }
                let now = Set(sources.flatMap(\.1))
                let added = now.subtracting(liveRanges).sorted(), removed = liveRanges.subtracting(now).sorted()
                if !added.isEmpty || !removed.isEmpty {
                    notes.append("flattened ranges changed upstream (\(sources.map { "include:\($0.0)" }.joined(separator: ", "))): added \(added.isEmpty ? "none" : added.joined(separator: " ")); removed \(removed.isEmpty ? "none" : removed.joined(separator: " "))")
                }
            }

            // senders_expected: each must pass; the outside address must not.
            if !spf.sendersExpected.isEmpty {
                var results: [String] = []
                for ip in spf.sendersExpected {
                    let (r, why) = planned.checkHost(ip, domain: d.name, record: record)
                    results.append("\(ip) \(r.rawValue)")
                    if r != .pass {
                        problems.append(Diagnostic(at: d.location, "\(dn).senders_expected: \(ip) gets \(r.rawValue) from the planned record \"\(want)\" (\(why)), not pass"))
                    }
                }
                let outside = Self.outsideAddress
                if !spf.sendersExpected.contains(outside) {
                    let (r, why) = planned.checkHost(outside, domain: d.name, record: record)
                    results.append("outside \(outside) \(r.rawValue)")
                    if r == .pass {
                        warnings.append(Diagnostic(.warning, at: d.location, "\(dn): the planned record passes \(outside) (TEST-NET-1, RFC 5737; \(why)), an address no sender should have: it is too broad"))
                    }
                }
                notes.append("SPF check_host: " + results.joined(separator: ", "))
            }

            let cs = zones[zi].changeset
            var changes = cs.changes
            if let ci = changes.firstIndex(where: { $0.name == d.name && $0.type == .txt }) {
                changes[ci].notes += notes
                zones[zi] = zones[zi].with(changeset: ZoneChangeset(zone: cs.zone, provider: cs.provider, providerType: cs.providerType, changes: changes))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return (zones, warnings)
    }
}
