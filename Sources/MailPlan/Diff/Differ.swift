import Foundation

/// Compares a zone's desired RRsets with its live RRsets under the ownership rules of
/// docs/architecture.md and produces the Changeset. Only RRsets the plan manages are ever
/// touched, and values the plan does not own are carried into the new RRset exactly as read.
public enum Differ {
    /// Canonical form of one managed rdata for comparison: TXT as its logical value (the
    /// character-strings joined, then split the standard way, so a DKIM key stored as 255+155
    /// or in three strings compares equal to the planned value), with whitespace inside a DKIM
    /// `p=` tag removed (RFC 6376 §3.6.1 allows it; providers insert it). TXT bytes are
    /// otherwise compared exactly: never case-folded (a DKIM key is base64).
    public static func comparable(_ r: RData, at name: DomainName) -> RData {
        guard case .txt(let t) = r else { return r }
        guard name.labels.contains("_domainkey") else { return t.isStandardSplit ? r : .txt(TXTData(strings: TXTCodec.chunks(bytes: t.bytes))) }
        // A key record is a tag list (RFC 6376 §3.6.1): compared tag by tag; one that is not a
        // valid tag list is compared as it is.
        guard let list = try? TagList.parse(t.value) else { return .txt(TXTData(strings: TXTCodec.chunks(bytes: t.bytes))) }
        return .txt(list.tags.map { $0.name == "p" ? "p=" + TagList.compact($0.value) : "\($0.name)=\($0.value)" }.joined(separator: "; "))
    }

    static func sameData(_ a: [RData], _ b: [RData], at name: DomainName) -> Bool {
        Set(a.map { comparable($0, at: name) }) == Set(b.map { comparable($0, at: name) })
    }

    /// Diffs one zone.
    /// - Parameters:
    ///   - desired: the zone's desired RRsets.
    ///   - live: every RRset the provider holds for the zone.
    ///   - providerType: the adapter's type name, recorded in the Changeset.
    /// - Returns: the Changeset (creates, updates, deletes) and warnings about live data
    ///   that breaks mail but is not managed.
    /// - Throws: ``DiagnosticsError`` for a CNAME where the plan needs another type (or the
    ///   reverse): a conflict, never a silent delete.
    public static func diff(_ desired: DesiredZone, live: [RRset], providerType: String) throws -> (ZoneChangeset, [Diagnostic]) {
        var liveByKey: [RRsetKey: RRset] = [:]
        var liveTypesByName: [DomainName: [RRset]] = [:]
        for r in live {
            liveByKey[r.key] = r
            liveTypesByName[r.name, default: []].append(r)
        }
        var changes: [Change] = []
        var problems: [Diagnostic] = []
        var warnings: [Diagnostic] = []

        for d in desired.rrsets {
            let want = d.rrset
            if d.ownership == .absent {
                // Deleted only because the plan says so (a removed DKIM selector).
                // The plan itself says so, so the delete-dkim gate (an accidental delete) does not apply.
                if let have = liveByKey[want.key] {
                    var c = Change.delete(have, notes: d.notes)
                    c.gates.removeAll { $0 == .deleteDKIM }
                    changes.append(c)
                }
                continue
            }
            let atName = liveTypesByName[want.name] ?? []
            if want.type != .cname, let cname = atName.first(where: { $0.type == .cname }) {
                problems.append(Diagnostic(at: d.location, "\(want.name.fqdn): the provider holds a CNAME (→ \(cname.rdata.first?.presentation ?? "?")) where the plan needs \(want.type) for \(d.purpose); remove the CNAME at provider '\(desired.provider)' or change the plan (mailplan never deletes it silently)"))
                continue
            }
            if want.type == .cname, let other = atName.first(where: { $0.type != .cname && $0.type != .soa && $0.type != .ns }) {
                problems.append(Diagnostic(at: d.location, "\(want.name.fqdn): the plan wants a CNAME but the provider holds \(other.type) records there; a CNAME must be alone at its name (RFC 2181 §10.1)"))
                continue
            }
            let have = liveByKey[want.key]
            switch d.ownership {
            case .full:
                guard let have else { changes.append(.create(want, notes: d.notes)); continue }
                if have.ttl == want.ttl && sameData(have.rdata, want.rdata, at: want.name) { continue }
                var notes = d.notes
                var breaking = false
                if want.name.labels.contains("_domainkey"),
                   let odd = have.rdata.compactMap(\.txtValue).first(where: { !$0.lowercased().hasPrefix("v=dkim1") }) {
                    notes.append("the live RRset holds a value that does not start with v=DKIM1: \"\(odd.prefix(40))…\"")
                    breaking = true
                }
                let liveDMARC = have.rdata.compactMap(\.txtValue).filter { $0.lowercased().hasPrefix("v=dmarc1") }
                if want.type == .txt, want.name.labels.first == "_dmarc", liveDMARC.count > 1 {
                    notes.append("replaces \(liveDMARC.count) DMARC records with one (RFC 7489 §6.6.3: with more than one, no policy applies)")
                    breaking = true
                } else if want.type == .txt, have.rdata.count > 1, want.rdata.count == 1 {
                    notes.append("\(have.rdata.count) live TXT records become one record (a value split across records is read as separate records)")
                    breaking = true
                }
                changes.append(.update(from: have, to: want, notes: notes, driftClass: breaking ? .mailBreaking : nil))
            case .absent:
                continue
            case .spfValues:
                guard let have else { changes.append(.create(want, notes: d.notes)); continue }
                let foreign = have.rdata.filter { !($0.txtValue.map(SPF.isSPF) ?? false) }
                let ours = have.rdata.filter { $0.txtValue.map(SPF.isSPF) ?? false }
                if ours.count == want.rdata.count, sameData(ours, want.rdata, at: want.name) { continue }
                var notes = d.notes
                if !foreign.isEmpty { notes.append("only the v=spf1 value is managed; the other \(foreign.count) TXT value\(foreign.count == 1 ? " is" : "s are") kept") }
                if ours.count > 1 { notes.append("replaces \(ours.count) SPF values with one (RFC 7208 §4.5: more than one is a permerror)") }
                changes.append(.update(from: have, to: RRset(name: want.name, type: .txt, ttl: have.ttl, rdata: foreign + want.rdata), notes: notes,
                                       driftClass: ours.count > 1 ? .mailBreaking : nil, shared: !foreign.isEmpty))
            }
        }

        // Live data the plan does not manage but that breaks mail: report, never touch.
        let managed = Set(desired.rrsets.filter { $0.ownership != .absent }.map(\.rrset.key))
        for r in live where r.type == .txt && !managed.contains(r.key) {
            let spfs = r.rdata.compactMap(\.txtValue).filter(SPF.isSPF)
            let dmarcs = r.rdata.compactMap(\.txtValue).filter { $0.lowercased().hasPrefix("v=dmarc1") }
            if r.name.labels.first == "_dmarc", dmarcs.count > 1 {
                warnings.append(Diagnostic(.warning, at: nil, "\(r.name.fqdn) TXT holds \(dmarcs.count) DMARC records; receivers then apply no DMARC policy at all (RFC 7489 §6.6.3). Add dmarc: for this domain to let mailplan manage it."))
            }
            if spfs.count > 1 {
                warnings.append(Diagnostic(.warning, at: nil, "\(r.name.fqdn) TXT holds \(spfs.count) SPF records (\(spfs.map { "\"\($0)\"" }.joined(separator: ", "))); receivers treat that as a permerror (RFC 7208 §4.5). Add spf: for this domain to let mailplan manage it."))
            }
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
        return (ZoneChangeset(zone: desired.zone, provider: desired.provider, providerType: providerType, changes: changes), warnings)
    }
}
