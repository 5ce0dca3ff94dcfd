import Foundation
import MailPlan
#if canImport(Glibc)
import Glibc
#endif

/// The RFC 1035 master-file adapter (`type: zonefile`): one zone held in one zone file on
/// disk, read and written through ldns.
///
/// Settings:
/// - `path` (required): the zone file; a relative path resolves against the plan file's
///   directory.
/// - `backup` (optional, default `true`): keep the previous file as `<path>.bak` on apply.
///
/// Reading parses the file as an RFC 1035 §5 master file (`$ORIGIN`, `$TTL`, `@`, relative
/// names, `$INCLUDE` of files in the zone file's directory), with the zone apex as the
/// initial origin. Applying edits the file in place (``ZoneFileEditor``): only the lines of
/// the records that change are replaced, added or removed and the SOA serial is bumped where
/// it stands; every comment, directive, blank line and other record keeps its bytes. The
/// result is parsed again through ldns and must hold exactly the planned RRsets before it
/// replaces the file atomically. Records in included files are read, never written.
public final class ZoneFileProvider: DNSProviderType {
    /// The instance name from the plan file's `providers:` map.
    public let instanceName: String
    /// Always `zonefile`.
    public static let typeName = "zonefile"
    /// Every modelled type, TTL 0…2147483647 s, whole-RRset writes, all-or-nothing apply.
    public static let capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 0...2_147_483_647,
                                                   applyMode: .atomic, conditionalWrites: true)
    /// The settings this adapter accepts.
    public static let settings = [
        ProviderSetting("path", required: true, "the zone file"),
        ProviderSetting("backup", "keep the previous file as <path>.bak on apply (default true)"),
    ]
    /// The zone file, absolute.
    public let path: URL
    /// Whether ``apply(_:)`` keeps the previous file as `<path>.bak`.
    public let backup: Bool

    /// Builds the adapter from its plan-file settings.
    /// - Throws: ``DiagnosticsError`` for an unknown setting, a missing `path` or a `backup`
    ///   that is not a boolean. The file itself is not opened here.
    public init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: Self.settingNames)
        instanceName = config.name
        path = try config.path("path", required: true)!
        backup = try config.bool("backup") ?? true
        pathLocation = config.settings["path"]?.location
    }

    /// Where the plan file sets `path`, for offline messages.
    private let pathLocation: SourceLocation?

    /// Offline check (`mailplan validate`): the zone file exists and is a file.
    public func audit(_ zone: DesiredZone) -> [Diagnostic] {
        guard let kind = FileKind.notRegular(path.path) else { return [] }
        return [Diagnostic(at: pathLocation, "providers.\(instanceName).path: \(path.path) \(kind == "missing" ? "does not exist" : "is \(kind)"); give the master file of zone \(zone.zone.fqdn) (RFC 1035 §5)")]
    }

    /// Reads every RRset of `zone` from the zone file, including the SOA and NS and any
    /// type mailplan does not model (kept as presentation text). TTLs are in seconds; a set
    /// whose records disagree on TTL gets the lowest.
    /// - Parameter zone: the zone apex, used as the initial `$ORIGIN`.
    /// - Returns: the RRsets in file order of their first record.
    /// - Throws: ``ProviderError`` naming the file when it is missing or unreadable, when
    ///   ldns reports a syntax error (with the line number and ldns's message), when a record
    ///   cannot be converted, when there is not exactly one SOA at `zone`, or when a record
    ///   lies outside `zone`.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        try load(zone, selection: .everything).rrsets
    }

    /// Reads what a plan that manages `managed` needs from the zone file, streaming: ldns
    /// reads every record one at a time and every record is checked as ``readZone(_:)``
    /// checks it (syntax, class IN, inside `zone`, one SOA), but only these are kept and
    /// returned, so memory follows the managed names, not the size of the file:
    /// - every RRset at the owner names of `managed` and at the apex (the SOA and NS, a
    ///   CNAME where the plan needs another type, the records a new one is written next to);
    /// - the TXT RRsets at names whose first label begins `_spf` (the SPF records a live SPF
    ///   value includes, `SPFPlanning`);
    /// - any other TXT RRset that holds more than one SPF value, or at a `_dmarc` name more
    ///   than one DMARC value, which the differ warns about (RFC 7208 §4.5, RFC 7489
    ///   §6.6.3); when there is one, the file's bytes are read a second time for these names.
    /// Records at other names are not converted to the model, so one the model would refuse
    /// there does not fail the read.
    /// - Parameters:
    ///   - zone: the zone apex, used as the initial `$ORIGIN`.
    ///   - managed: the RRset keys the plan manages or inspects.
    /// - Returns: those RRsets, in file order of their first record.
    /// - Throws: ``ProviderError``, as ``readZone(_:)``.
    public func readZone(_ zone: DomainName, managed: [RRsetKey]) throws -> [RRset] {
        var selection = ZoneFileConvert.Selection(names: Set(managed.map(\.name)).union([zone]))
        selection.txtLabelPrefixes = ["_spf"]
        selection.countPolicyValues = true
        let first = try load(zone, selection: selection)
        guard !first.text.crowded.isEmpty else { return first.rrsets }
        let second = try parse(first.bytes, zone: zone, selection: ZoneFileConvert.Selection(names: Set(first.text.crowded)))
        var seen = Set(first.text.entries.map(\.ordinal))
        let extra = second.entries.filter { seen.insert($0.ordinal).inserted }
        let merged = (first.text.entries + extra).sorted { $0.ordinal < $1.ordinal }
        return Self.rrsets(merged.map(\.record))
    }

    /// Writes one zone's Changeset to the file, all or nothing.
    ///
    /// The file is re-read first, and every change's `before` must equal the RRset now in
    /// the file (nil: absent); otherwise nothing is written. The changed RRsets are replaced,
    /// created or deleted, every other RRset is written back unchanged, and the SOA serial
    /// is bumped (``nextSerial(after:now:)``). Each record is built with ldns before anything
    /// is written, the new text is parsed back and compared with the intended RRsets (the
    /// RRsets at the changed names and the apex record by record, every other RRset by a
    /// digest of its records taken when the file was read), and the file is replaced with
    /// `rename(2)` from a temporary file in the same directory. An empty Changeset writes
    /// nothing.
    /// - Throws: ``ApplyError`` with nothing applied: when the file changed since the plan
    ///   was made (the stale changes are `failed`), when a change is invalid for a zone file
    ///   (SOA, outside the zone, repeated, or refused by ldns), or when writing fails. The
    ///   original file is untouched in every case.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        let zone = changeset.zone
        func failure(_ reason: String, failed: [Change] = []) -> ApplyError {
            let failedKeys = Set(failed.map(\.key))
            return ApplyError(provider: instanceName, zone: zone, applied: [], failed: failed,
                              notAttempted: changes.filter { !failedKeys.contains($0.key) },
                              reason: reason + "; nothing was applied and \(path.path) is unchanged")
        }

        // Only the names the changes touch (and the apex, for the SOA) are read as records;
        // every other record is kept as a digest, to compare the edited text with.
        let soaKey = RRsetKey(zone, .soa)
        var selection = ZoneFileConvert.Selection(names: Set(changes.map(\.name)).union([zone]))
        selection.digestExcept = Set(changes.map(\.key)).union([soaKey])
        var current: Loaded
        do { current = try load(zone, selection: selection) } catch let e as ProviderError {
            throw failure("cannot re-read the zone file: \(e.message)")
        }

        // Structural checks: what a zone file cannot hold from a Changeset.
        var seen = Set<RRsetKey>()
        for c in changes {
            if !seen.insert(c.key).inserted { throw failure("\(c.key) appears in more than one change", failed: [c]) }
            if c.type == .soa { throw failure("\(c.key): the SOA is maintained by the zone file adapter, not by a plan", failed: [c]) }
            if !c.name.isSubdomain(of: zone) { throw failure("\(c.key) is outside zone \(zone.fqdn)", failed: [c]) }
            if let after = c.after {
                if after.key != c.key { throw failure("\(c.key): its new RRset is \(after.key)", failed: [c]) }
                if after.rdata.isEmpty { throw failure("\(c.key): the new RRset has no records (use a delete)", failed: [c]) }
                if let bad = after.rdata.first(where: { $0.type != c.type }) {
                    throw failure("\(c.key): record '\(bad.presentation)' is of type \(bad.type)", failed: [c])
                }
            }
        }

        // Optimistic check: the file must still hold exactly what the plan saw.
        var sets = Dictionary(current.rrsets.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        let stale = changes.filter { sets[$0.key] != $0.before }
        if !stale.isEmpty {
            let what = stale.map { c in
                c.before == nil ? "\(c.key) exists now (it was absent when the plan was made)"
                    : sets[c.key] == nil ? "\(c.key) is gone" : "\(c.key) holds other records than when the plan was made"
            }.joined(separator: "; ")
            throw failure("the zone file \(path.path) changed since the plan was made: \(what); make a new plan", failed: stale)
        }

        for c in changes { sets[c.key] = c.after }
        guard let soa = sets[soaKey], soa.rdata.count == 1, let serial = Self.serial(of: soa.rdata[0]),
              let bumped = Self.bumpingSerial(soa.rdata[0], now: Date()), let newSerial = Self.serial(of: bumped) else {
            throw failure("the SOA serial in \(path.path) cannot be read")
        }
        sets[soaKey] = soa.with(rdata: [bumped])

        // Each new record must be one ldns accepts, so a refusal names its change.
        for c in changes {
            for rd in c.after?.rdata ?? [] {
                let input = "\(c.name.fqdn) \(c.after!.ttl) IN \(c.type.rawValue) \(rd.presentation)"
                do { _ = try ZoneFileConvert.canonicalLine(input) } catch ZoneFileConvert.ParseFailure.record(let msg) {
                    throw failure("ldns refuses '\(input)': \(msg)", failed: [c])
                }
            }
        }

        // Edit the text in place, then parse it back: what we write must read as planned.
        let edited: [UInt8]
        do {
            edited = try ZoneFileEditor.edit(current.bytes, entries: current.text.entries, file: path, changes: changes,
                                             zone: zone, serial: (serial, newSerial))
        } catch let e as ZoneFileEditor.Failure {
            throw failure(e.message, failed: changes.filter { e.keys.contains($0.key) })
        }
        do {
            // The records read as records must be the planned RRsets; every other record must
            // read exactly as before (its digest, per RRset, subtracted from the first read's).
            // Handed over, not copied: the reader subtracts in place (one table for a large zone).
            let expected = current.text.digests
            current.text.digests = [:]
            let reread = try parse(edited, zone: zone, selection: selection, compareWith: consume expected)
            let back = Dictionary(Self.rrsets(reread.entries.map(\.record)).map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
            var keys = Set(back.keys).union(sets.keys).filter { back[$0] != sets[$0] }
            let moved = Set(reread.digests.filter { $0.value != 0 }.map(\.key))
            if !moved.isEmpty { keys.formUnion(try names(of: moved, in: [current.bytes, edited], zone: zone)) }
            if !keys.isEmpty {
                let keys = keys.sorted()
                let changed = Set(changes.map(\.key))
                let others = keys.filter { !changed.contains($0) && $0.type != .soa }
                let why = others.isEmpty ? "" : "; the edit would also change \(others.map(\.description).joined(separator: ", ")), which the plan does not manage"
                    + (current.text.after.dollarTTL == nil ? " (the file has no $TTL, so a record without a TTL takes the last TTL stated before it, RFC 1035 §5.1: add a $TTL line)" : "")
                throw failure("the edited zone text would not read back as planned at \(keys.map(\.description).joined(separator: ", "))\(why)",
                              failed: changes.filter { keys.contains($0.key) })
            }
        } catch let e as ZoneFileConvert.ParseFailure {
            throw failure("the edited zone text does not parse: \(describe(e))")
        }

        do {
            try ZoneFileWriter.replace(path, with: edited, expecting: current.bytes, backup: backup)
        } catch ZoneFileWriter.Failure.changed {
            throw failure("the zone file \(path.path) changed while the changes were being written; make a new plan",
                          failed: changes)
        } catch {
            throw failure("cannot write \(path.path): \(error)", failed: changes)
        }
    }

    /// The serial that follows `serial` (RFC 1982 arithmetic). A serial that reads as a date
    /// counter `YYYYMMDDnn` becomes today's `YYYYMMDD00` (UTC) when that is larger, else
    /// serial + 1, like ldns's `ldns_soa_serial_datecounter`; any other serial becomes
    /// serial + 1 (wrapping at 2³²).
    public static func nextSerial(after serial: UInt32, now: Date) -> UInt32 {
        let s = String(serial)
        if s.count == 10,
           let y = Int(s.prefix(4)), let m = Int(s.dropFirst(4).prefix(2)), let d = Int(s.dropFirst(6).prefix(2)),
           (1970...2099).contains(y), (1...12).contains(m), (1...31).contains(d) {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: "UTC")!
            let c = cal.dateComponents([.year, .month, .day], from: now)
            let today = UInt32((c.year! * 10000 + c.month! * 100 + c.day!) * 100)
            return today > serial ? today : serial &+ 1
        }
        return serial &+ 1
    }

    // MARK: - Internals

    /// The directory `$INCLUDE`d files must lie in: the zone file's own.
    var includeDirectory: URL { path.resolvingSymlinksInPath().deletingLastPathComponent() }

    /// A zone file as read: its exact bytes, the RRsets of the records kept and where each
    /// kept record stands.
    struct Loaded {
        let rrsets: [RRset]
        let bytes: [UInt8]
        var text: ZoneFileConvert.Text
    }

    /// Reads and checks the file (``readZone(_:)``); keeps the records `selection` asks for.
    func load(_ zone: DomainName, selection: ZoneFileConvert.Selection) throws -> Loaded {
        let file = path.path
        if let kind = FileKind.notRegular(file) {
            throw ProviderError(provider: instanceName, kind == "missing" ? "zone file \(file) does not exist"
                                : "zone file \(file) is \(kind), not a zone file (give the path of an RFC 1035 master file)")
        }
        let bytes: [UInt8]
        do { bytes = try ZoneFileWriter.contents(of: file) } catch {
            throw ProviderError(provider: instanceName, "cannot read zone file \(file): \(FileKind.reason(error, path: file))")
        }
        let text: ZoneFileConvert.Text
        do { text = try parse(bytes, zone: zone, selection: selection) } catch let e as ZoneFileConvert.ParseFailure {
            throw ProviderError(provider: instanceName, "zone file \(file)\(describe(e))")
        }
        let rrsets = Self.rrsets(text.entries.map(\.record))
        let soas = rrsets.filter { $0.type == .soa }
        guard soas.count == 1, soas[0].rdata.count == 1 else {
            throw ProviderError(provider: instanceName, soas.isEmpty
                ? "zone file \(file) has no SOA record (RFC 1035 §5.2: a zone file starts with one)"
                : "zone file \(file) has more than one SOA record")
        }
        guard soas[0].name == zone else {
            throw ProviderError(provider: instanceName, "zone file \(file) holds zone \(soas[0].name.fqdn), not \(zone.fqdn)")
        }
        if let outside = text.firstOutside {
            throw ProviderError(provider: instanceName, "zone file \(file): \(outside) is outside zone \(zone.fqdn)")
        }
        return Loaded(rrsets: rrsets, bytes: bytes, text: text)
    }

    /// Parses zone-file bytes read from ``path`` (``ZoneFileConvert/read(_:file:origin:includeDirectory:selection:compareWith:)``).
    func parse(_ bytes: [UInt8], zone: DomainName, selection: ZoneFileConvert.Selection,
               compareWith: consuming [Int: UInt64]? = nil) throws -> ZoneFileConvert.Text {
        try ZoneFileConvert.read(bytes, file: path, origin: zone, includeDirectory: includeDirectory,
                                 selection: selection, compareWith: consume compareWith)
    }

    /// The RRset keys of the records whose RRset has one of `hashes` (``ZoneFileConvert/Reader/keyHash(nameHash:type:)``)
    /// in any of `texts`: what a digest comparison found changed, by name.
    func names(of hashes: Set<Int>, in texts: [[UInt8]], zone: DomainName) throws -> Set<RRsetKey> {
        var selection = ZoneFileConvert.Selection(names: [])
        selection.keyHashes = hashes
        selection.keepSOA = false
        var keys = Set<RRsetKey>()
        for t in texts { keys.formUnion(try parse(t, zone: zone, selection: selection).entries.map(\.key)) }
        return keys
    }

    func describe(_ e: ZoneFileConvert.ParseFailure) -> String {
        switch e {
        case .syntax(let line, let message): ", line \(line): \(message)"
        case .record(let message): ": \(message)"
        }
    }

    static func rrsets(_ records: [ZoneRecord]) -> [RRset] {
        [RRset].grouping(records.map { (name: $0.name, ttl: $0.ttl, rdata: $0.rdata) })
    }

    /// The serial (third field) of SOA rdata, or nil.
    static func serial(of soa: RData) -> UInt32? {
        guard case .other(let type, let text) = soa, type == .soa else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        return fields.count == 7 ? UInt32(fields[2]) : nil
    }

    /// The SOA rdata with its serial (third field) replaced by ``nextSerial(after:now:)``.
    static func bumpingSerial(_ soa: RData, now: Date) -> RData? {
        guard case .other(let type, let text) = soa, type == .soa else { return nil }
        var fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 7, let serial = UInt32(fields[2]) else { return nil }
        fields[2] = String(nextSerial(after: serial, now: now))
        return .other(type: .soa, presentation: fields.joined(separator: " "))
    }
}
