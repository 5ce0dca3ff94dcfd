import CLDNS
import Foundation
import MailPlan
#if canImport(Glibc)
import Glibc
#endif


/// The ldns side of the zone-file adapter: parsing master-file text (RFC 1035 §5) into
/// model records, and building/printing single RRs. Every C string ldns returns is copied
/// into a Swift `String` and freed here; nothing ldns allocates leaves this file.
enum ZoneFileConvert {
    /// Why a master file could not be turned into records.
    enum ParseFailure: Error {
        /// ldns refused the text: its status text and the line it reports (1-based).
        case syntax(line: Int, message: String)
        /// ldns read the RR but the model refused it (bad name or rdata).
        case record(String)
    }

    /// One record of a master file and where its text stands.
    struct Entry {
        /// The record as ldns read it (absolute owner, TTL in seconds, typed rdata).
        let record: ZoneRecord
        /// The file it was read from: the zone file itself or a file it includes.
        let file: URL
        /// Byte range of the record's text in `file`: from the start of its first line to just
        /// after the newline of its last line (a parenthesised record spans several lines).
        let range: Range<Int>
        /// True when the record's line starts with white space: its owner is the previous
        /// record's (RFC 1035 §5.1).
        let ownerInherited: Bool
        /// The TTL (seconds) a record without one gets where this record stands: the `$TTL`
        /// in force, or without any `$TTL` the last TTL stated (RFC 1035 §5.1).
        let defaultTTL: UInt32
        /// True when the record's text states its TTL.
        let explicitTTL: Bool
        /// The `$ORIGIN` in force where the record stands.
        let origin: String
        /// The record's place among all records read, in reading order (the records of an
        /// included file count where the `$INCLUDE` stands), from 1.
        let ordinal: Int
        /// The record's place among the records of `file` alone, from 1: two entries of one
        /// file follow each other there when these differ by one.
        let fileOrdinal: Int
        var key: RRsetKey { RRsetKey(record.name, record.rdata.type) }
    }

    /// Which records a read keeps as ``Entry``s. Every record is still read by ldns, its class
    /// (IN only) and owner (inside the zone) checked and, with ``digestExcept``, its digest
    /// kept; only the kept ones become model records. So a large zone is read with memory for
    /// the records a plan manages, not for the whole zone.
    struct Selection {
        /// Owner names all of whose records are kept; nil keeps every record.
        var names: Set<DomainName>?
        /// Also kept: the TXT records at names whose first label begins with one of these
        /// (lower-case ASCII), such as `_spf` (the SPF records a live SPF value includes).
        var txtLabelPrefixes: [String] = []
        /// Count, at the names not kept, the TXT values that are SPF records (RFC 7208 §4.5)
        /// and, at names whose first label is `_dmarc`, DMARC records (RFC 7489 §6.6.3), for
        /// ``Text/crowded``.
        var countPolicyValues = false
        /// When set, a digest of every record (``Text/digests``) except the kept records of
        /// these RRsets. Each key's owner name must be in ``names``.
        var digestExcept: Set<RRsetKey>? = nil
        /// Also kept: the records whose RRset has one of these ``Reader/keyHash``es.
        var keyHashes: Set<Int> = []
        /// Whether every SOA record is kept whatever its name (the zone checks need them).
        var keepSOA = true

        /// Every record, as a model record.
        static let everything = Selection(names: nil)
    }

    /// A master file read record by record, with the files it includes.
    struct Text {
        /// The kept records of the file and of its included files, in reading order.
        let entries: [Entry]
        /// The files read through `$INCLUDE`, in order.
        let includes: [URL]
        /// What a reader that goes on after this file (an including file) starts from.
        var after = TTLState()
        /// With ``Selection/countPolicyValues``: the names not kept whose TXT RRset holds more
        /// than one SPF value, or (first label `_dmarc`) more than one DMARC value.
        var crowded: [DomainName] = []
        /// With ``Selection/digestExcept``: per RRset (``Reader/keyHash``), the wrapping sum
        /// of its records' hashes (owner, type, TTL, rdata), or the previous digests minus
        /// this text's when the reader was given them to compare with.
        var digests: [Int: UInt64] = [:]
        /// The first record (in reading order) whose owner is outside the zone.
        var firstOutside: RRsetKey? = nil
        /// How many records were read, kept or not.
        var recordCount = 0
    }

    /// How a record without a TTL gets one: from the last `$TTL` (RFC 2308 §4), or, while no
    /// `$TTL` has been seen, from the last TTL stated on a record (RFC 1035 §5.1), as BIND
    /// reads a master file. Both carry on past an `$INCLUDE`.
    struct TTLState {
        var dollarTTL: UInt32? = nil
        var lastStated: UInt32? = nil
    }

    /// Reads master-file bytes record by record (RFC 1035 §5), keeping where each record
    /// stands so that a record can be replaced in place.
    ///
    /// `$INCLUDE file [origin]` (RFC 1035 §5.1) is read when `includeDirectory` is given and
    /// the file, with symbolic links resolved, lies inside that directory; the including
    /// file's `$ORIGIN` is unchanged after it. Any other `$INCLUDE` is refused.
    /// - Parameters:
    ///   - text: the file's bytes.
    ///   - file: the file's path, recorded in each entry and used in messages.
    ///   - origin: the initial `$ORIGIN` (the zone apex).
    ///   - includeDirectory: the directory included files must lie in; nil refuses `$INCLUDE`.
    ///   - selection: which records become entries (default: all).
    ///   - compareWith: digests of an earlier read (``Text/digests``): this read's digests are
    ///     subtracted from them, so the RRsets whose records differ are the non-zero ones.
    /// - Throws: ``ParseFailure``: a syntax error with its line, a kept record the model
    ///   refuses, a record of a class other than IN, or an `$INCLUDE` that cannot be followed.
    static func read(_ text: [UInt8], file: URL, origin: DomainName, includeDirectory: URL?,
                     selection: Selection = .everything, compareWith: consuming [Int: UInt64]? = nil) throws -> Text {
        let subtract = compareWith != nil
        let reader = Reader(selection: selection, zone: origin, digests: (consume compareWith) ?? [:], subtract: subtract)
        let after = try reader.read(text, file: file, origin: origin, includeDirectory: includeDirectory,
                                    defaultTTL: 3600, depth: 0, ttlState: TTLState())
        return reader.text(after: after)
    }

    /// One pass over a master file and the files it includes: ldns reads each record, the
    /// reader keeps what its ``Selection`` asks for.
    final class Reader {
        let selection: Selection
        let zone: DomainName
        private(set) var entries: [Entry] = []
        private(set) var includes: [URL] = []
        private var digests: [Int: UInt64]
        private let subtract: Bool
        private var policyCounts: [[UInt8]: (name: DomainName?, spf: Int, dmarc: Int)] = [:]
        private var ordinal = 0
        private var firstOutside: RRsetKey? = nil
        /// The wanted owner names made of plain labels (``isPlain(_:)``) in wire form, by
        /// ``hash(_:)``.
        private var wantedWires: [Int: [[UInt8]]] = [:]
        private let zoneWire: [UInt8]?
        private let txtPrefixes: [[UInt8]]

        init(selection: Selection, zone: DomainName, digests: consuming [Int: UInt64], subtract: Bool) {
            self.selection = selection
            self.zone = zone
            self.digests = consume digests
            self.subtract = subtract
            zoneWire = Self.wire(zone)
            txtPrefixes = selection.txtLabelPrefixes.map { Array($0.utf8) }
            for n in selection.names ?? [] {
                if let w = Self.wire(n) { wantedWires[Self.hash(w[...]), default: []].append(w) }
            }
        }

        func text(after: TTLState) -> Text {
            var crowded: [DomainName] = []
            for c in policyCounts.values {
                guard let n = c.name, c.spf > 1 || c.dmarc > 1 else { continue }
                crowded.append(n)
            }
            return Text(entries: entries, includes: includes, after: after, crowded: crowded.sorted(),
                        digests: digests, firstOutside: firstOutside, recordCount: ordinal)
        }

        /// The wire form (RFC 1035 §3.1) of a name made only of plain labels (lower-case
        /// letters, digits, `-`, `_`, `*`), else nil.
        static func wire(_ name: DomainName) -> [UInt8]? {
            var out: [UInt8] = []
            for label in name.labels {
                let b = Array(label.utf8)
                guard !b.isEmpty, b.count <= 63, b.allSatisfy(isPlain) else { return nil }
                out.append(UInt8(b.count))
                out += b
            }
            out.append(0)
            return out
        }

        static func isPlain(_ b: UInt8) -> Bool {
            (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f || b == 0x2a
        }

        static func hash(_ bytes: ArraySlice<UInt8>) -> Int {
            var h = Hasher()
            bytes.withUnsafeBytes { h.combine(bytes: $0) }
            return h.finalize()
        }

        static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
            var h = Hasher()
            h.combine(bytes: UnsafeRawBufferPointer(bytes))
            return h.finalize()
        }

        /// The hash that identifies an RRset in ``Text/digests``: its owner's wire-form hash and
        /// its type (``Text/digests`` is only compared within one process).
        static func keyHash(nameHash: Int, type: UInt16) -> Int {
            var h = Hasher()
            h.combine(nameHash)
            h.combine(type)
            return h.finalize()
        }

        /// Reads one file; returns the TTL state after it.
        func read(_ bytes: [UInt8], file: URL, origin: DomainName, includeDirectory: URL?,
                  defaultTTL: UInt32, depth: Int, ttlState: TTLState) throws -> TTLState {
            guard !bytes.isEmpty else { return ttlState }
            // ldns replaces (and frees) both on `$ORIGIN` and on each owner it reads.
            var optionalOrigin: UnsafeMutablePointer<ldns_rdf>? = ldns_dname_new_frm_str(origin.fqdn)
            guard optionalOrigin != nil else { throw ParseFailure.record("cannot use \(origin.fqdn) as origin") }
            var prev: UnsafeMutablePointer<ldns_rdf>? = nil
            defer {
                if let o = optionalOrigin { ldns_rdf_deep_free(o) }
                if let p = prev { ldns_rdf_deep_free(p) }
            }
            let where_ = depth == 0 ? "" : "included file \(file.path), "
            // glibc's fmemopen in mode "r" only reads the buffer; the bytes outlive the FILE.
            let fp: UnsafeMutablePointer<FILE>? = bytes.withUnsafeBufferPointer { fmemopen(UnsafeMutableRawPointer(mutating: $0.baseAddress), $0.count, "r") }
            guard let fp else { throw ParseFailure.record("cannot open the zone text for reading (errno \(errno))") }
            defer { fclose(fp) }
            #if canImport(Glibc)
            // Only this reader uses the stream: no lock for each character ldns reads (getc).
            _ = __fsetlocking(fp, Int32(FSETLOCKING_BYCALLER))
            #endif
            var ttl = ttlState.dollarTTL ?? defaultTTL
            var state = ttlState
            var fileOrdinal = 0
            let names = selection.names
            let digesting = selection.digestExcept != nil
            // ldns counts the newlines it has read: after a record, the number of its last line.
            var line: Int32 = 0
            // The owner in wire form, lower-cased (at most 255 bytes, RFC 1035 §2.3.4).
            let owner = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 256)
            defer { owner.deallocate() }
            while true {
                let start = ftell(fp)
                if start >= bytes.count { break }
                var rr: UnsafeMutablePointer<ldns_rr>? = nil
                let ttlHere = ttl
                let status = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &optionalOrigin, &prev, &line)
                let end = ftell(fp)
                defer { if let rr { ldns_rr_free(rr) } }
                switch status {
                case LDNS_STATUS_OK:
                    guard let rr else { continue }
                    ordinal += 1
                    fileOrdinal += 1
                    // The class first, as converting the record would: only IN is supported.
                    if ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN { _ = try record(from: rr, origin: origin) }
                    let rtype = ldns_rr_get_type(rr)
                    guard let ownerRDF = ldns_rr_owner(rr), let data = ldns_rdf_data(ownerRDF) else {
                        throw ParseFailure.record("\(where_)line \(line): a record without an owner name")
                    }
                    let size = min(ldns_rdf_size(ownerRDF), 256)
                    var plain = true
                    var i = 0
                    while i < size {
                        var b = data[i]
                        if b >= 0x41 && b <= 0x5a { b |= 0x20 }
                        owner[i] = b
                        i += 1
                    }
                    // Labels are plain when every byte but the length bytes is.
                    var p = 0
                    while p < size, plain {
                        let n = Int(owner[p])
                        if n == 0 { break }
                        if p + n >= size { plain = false; break }
                        for k in (p + 1)...(p + n) where !Self.isPlain(owner[k]) { plain = false; break }
                        p += n + 1
                    }
                    let wire = UnsafeBufferPointer(rebasing: owner[0..<size])
                    let nameHash = Self.hash(wire)
                    // The name as the model reads it, only when the wire form cannot tell.
                    var modelName: DomainName?? = nil
                    func name() -> DomainName? {
                        if let n = modelName { return n }
                        let n = LDNSText.take(ldns_rdf2str(ownerRDF)).flatMap { try? DomainName($0, relativeTo: origin) }
                        modelName = .some(n)
                        return n
                    }

                    // Plain names are matched in wire form; any other (UTF-8 or escaped bytes) as
                    // the model reads it, so `bücher` matches the A-label a plan names.
                    var keep = names == nil || (selection.keepSOA && rtype == LDNS_RR_TYPE_SOA)
                    if !keep, plain, let ws = wantedWires[nameHash] { keep = ws.contains { $0.elementsEqual(wire) } }
                    if !keep, !plain, let n = name() { keep = names?.contains(n) ?? true }
                    if !keep, rtype == LDNS_RR_TYPE_TXT, !txtPrefixes.isEmpty, size > 1 {
                        let first = UnsafeBufferPointer(rebasing: owner[1..<min(size, 1 + Int(owner[0]))])
                        keep = txtPrefixes.contains { first.starts(with: $0) }
                    }
                    let keyHash = Self.keyHash(nameHash: nameHash, type: UInt16(rtype.rawValue))
                    if !keep, selection.keyHashes.contains(keyHash) { keep = true }

                    // Inside the zone: the owner's wire form ends with the zone's, at a label.
                    var inside = false
                    if plain, let z = zoneWire {
                        var q = 0
                        while q < size {
                            if size - q == z.count { inside = UnsafeBufferPointer(rebasing: owner[q..<size]).elementsEqual(z); break }
                            q += Int(owner[q]) + 1
                        }
                    } else if let n = name() { inside = n.isSubdomain(of: zone) }
                    if !inside, firstOutside == nil {
                        let r = try record(from: rr, origin: origin)
                        firstOutside = RRsetKey(r.name, r.rdata.type)
                    }

                    // A record's TTL as BIND reads it (TTLState). While a $TTL is in force, a
                    // record without a TTL has ldns's, which is that $TTL.
                    let stateless = state.dollarTTL != nil && !keep
                    var modelTTL = ldns_rr_ttl(rr)
                    var range = 0..<0, inherited = false, stated = true
                    let implicitTTL = state.dollarTTL ?? state.lastStated ?? ttlHere
                    if !stateless {
                        let first = firstRecordLine(bytes, from: start, to: end)
                        // ldns reads past the blank and comment lines after a record: they are not its text.
                        range = first..<lastRecordLineEnd(bytes, from: first, to: end)
                        inherited = first < end && (bytes[first] == 0x20 || bytes[first] == 0x09)
                        stated = ZoneFileEditor.statesTTL(bytes, range, ownerInherited: inherited)
                        if stated { state.lastStated = modelTTL } else { modelTTL = implicitTTL }
                    }

                    var excluded = false
                    if keep {
                        var rec = try record(from: rr, origin: origin)
                        rec.ttl = modelTTL
                        let originText = optionalOrigin.flatMap { LDNSText.take(ldns_rdf2str($0)) } ?? origin.fqdn
                        let e = Entry(record: rec, file: file, range: range, ownerInherited: inherited, defaultTTL: implicitTTL,
                                      explicitTTL: stated, origin: originText, ordinal: ordinal, fileOrdinal: fileOrdinal)
                        excluded = selection.digestExcept?.contains(e.key) ?? false
                        entries.append(e)
                    } else if selection.countPolicyValues, rtype == LDNS_RR_TYPE_TXT {
                        let dmarcName = size > 7 && owner[0] == 6 && UnsafeBufferPointer(rebasing: owner[1..<7]).elementsEqual("_dmarc".utf8)
                        let (spf, dmarc) = Self.policyValue(rr, dmarcName: dmarcName)
                        if spf || dmarc {
                            let w = Array(wire)
                            if policyCounts[w] == nil { policyCounts[w] = (name(), 0, 0) }
                            if spf { policyCounts[w]!.spf += 1 }
                            if dmarc { policyCounts[w]!.dmarc += 1 }
                        }
                    }
                    if digesting && !excluded {
                        let h = Self.recordHash(rr, keyHash: keyHash, ttl: modelTTL)
                        if subtract { digests[keyHash, default: 0] &-= h } else { digests[keyHash, default: 0] &+= h }
                    }
                case LDNS_STATUS_SYNTAX_INCLUDE:
                    let first = firstRecordLine(bytes, from: start, to: end)
                    let directive = String(decoding: bytes[first..<end], as: UTF8.self)
                    guard let dir = includeDirectory else {
                        throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE is not supported here")
                    }
                    guard depth < 8 else { throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE nested more than 8 deep") }
                    let (path, includeOrigin) = try includeTarget(directive, line: Int(line), in: where_)
                    let target = (path.hasPrefix("/") ? URL(fileURLWithPath: path) : dir.appendingPathComponent(path)).resolvingSymlinksInPath()
                    let root = dir.resolvingSymlinksInPath().path
                    guard target.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
                        throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE \(path) is outside \(root); mailplan reads included files only from the zone file's directory")
                    }
                    let data: Data
                    do { data = try FileKind.readRegular(target.path) } catch {
                        throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE \(path): cannot read \(target.path)")
                    }
                    let originHere = optionalOrigin.flatMap { LDNSText.take(ldns_rdf2str($0)) } ?? origin.fqdn
                    let base: DomainName
                    do { base = try DomainName(includeOrigin ?? originHere, relativeTo: (try? DomainName(originHere)) ?? origin) } catch {
                        throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE origin '\(includeOrigin ?? "")': \(error)")
                    }
                    includes.append(target)
                    // Records of an included file are still records of this zone: rebase nothing,
                    // the included origin only resolves its relative names.
                    state = try read([UInt8](data), file: target, origin: base, includeDirectory: dir, defaultTTL: ttl,
                                     depth: depth + 1, ttlState: state)
                    if let t = state.dollarTTL { ttl = t }
                case LDNS_STATUS_SYNTAX_TTL:
                    state.dollarTTL = ttl
                case LDNS_STATUS_SYNTAX_ORIGIN, LDNS_STATUS_SYNTAX_EMPTY:
                    if end <= start { break }
                default:
                    let message = LDNSText.errorText(status)
                    if depth > 0 { throw ParseFailure.record("\(where_)line \(line): \(message)") }
                    throw ParseFailure.syntax(line: Int(line), message: message)
                }
                if end <= start || feof(fp) != 0 { break }
            }
            return state
        }

        /// Whether a TXT record's value (its strings joined) is an SPF record (`v=spf1` alone
        /// or followed by a space, RFC 7208 §4.5) and, at a `_dmarc` name, a DMARC record
        /// (starts `v=DMARC1`, RFC 7489 §6.6.3), as ``SPF/isSPF(_:)`` and the differ read them
        /// (ASCII case-insensitive).
        static func policyValue(_ rr: UnsafeMutablePointer<ldns_rr>, dmarcName: Bool) -> (spf: Bool, dmarc: Bool) {
            var head: [UInt8] = []
            var total = 0
            for i in 0..<ldns_rr_rd_count(rr) {
                guard let rdf = ldns_rr_rdf(rr, i), let d = ldns_rdf_data(rdf) else { continue }
                let n = ldns_rdf_size(rdf)
                guard n > 0 else { continue }
                let len = min(Int(d[0]), n - 1)
                total += len
                var k = 1
                while head.count < 8, k <= len { head.append(d[k] >= 0x41 && d[k] <= 0x5a ? d[k] | 0x20 : d[k]); k += 1 }
            }
            let spf = head.starts(with: "v=spf1".utf8) && (total == 6 || (head.count > 6 && head[6] == 0x20))
            return (spf, dmarcName && head.starts(with: "v=dmarc1".utf8))
        }

        /// A record's hash for ``Text/digests``: its RRset, its TTL (as the model reads it) and
        /// each rdata field's type and bytes.
        static func recordHash(_ rr: UnsafeMutablePointer<ldns_rr>, keyHash: Int, ttl: UInt32) -> UInt64 {
            var h = Hasher()
            h.combine(keyHash)
            h.combine(ttl)
            let n = ldns_rr_rd_count(rr)
            h.combine(n)
            for i in 0..<n {
                guard let rdf = ldns_rr_rdf(rr, i) else { continue }
                let size = ldns_rdf_size(rdf)
                h.combine(ldns_rdf_get_type(rdf).rawValue)
                h.combine(size)
                if let d = ldns_rdf_data(rdf) { h.combine(bytes: UnsafeRawBufferPointer(start: d, count: size)) }
            }
            return UInt64(bitPattern: Int64(h.finalize()))
        }
    }

    /// The end of the last line in `bytes[from..<to]` that is not blank or only a comment.
    static func lastRecordLineEnd(_ bytes: [UInt8], from: Int, to: Int) -> Int {
        var end = to, i = from, lineStart = from
        while i < to {
            if bytes[i] == 0x0a || i == to - 1 {
                let lineEnd = i + 1
                var j = lineStart
                while j < lineEnd, bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0d || bytes[j] == 0x0a { j += 1 }
                if j < lineEnd, bytes[j] != 0x3b { end = lineEnd }
                lineStart = lineEnd
            }
            i += 1
        }
        return end
    }

    /// The offset of the first line in `bytes[from..<to]` that is not blank or only a
    /// comment: where the record (or directive) itself begins.
    static func firstRecordLine(_ bytes: [UInt8], from: Int, to: Int) -> Int {
        var i = from
        while i < to {
            var j = i
            while j < to, bytes[j] == 0x20 || bytes[j] == 0x09 || bytes[j] == 0x0d { j += 1 }
            guard j < to, bytes[j] == 0x0a || bytes[j] == 0x3b else { return i }
            // blank or comment line: skip to after its newline
            while j < to, bytes[j] != 0x0a { j += 1 }
            i = j + 1
        }
        return min(i, to)
    }

    /// The file name and optional origin of an `$INCLUDE` line.
    static func includeTarget(_ directive: String, line: Int, in where_: String) throws -> (String, String?) {
        let body = directive.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? directive
        let fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        guard fields.count >= 2, fields[0].uppercased() == "$INCLUDE" else {
            throw ParseFailure.syntax(line: line, message: "\(where_)$INCLUDE needs a file name")
        }
        var path = fields[1]
        if path.count >= 2, path.hasPrefix("\""), path.hasSuffix("\"") { path = String(path.dropFirst().dropLast()) }
        return (path, fields.count >= 3 ? fields[2] : nil)
    }

    /// Converts one ldns RR to the model (``LDNSText/record(from:origin:)``).
    static func record(from rr: UnsafeMutablePointer<ldns_rr>, origin: DomainName) throws -> ZoneRecord {
        do { return try LDNSText.record(from: rr, origin: origin) } catch { throw ParseFailure.record("\(error)") }
    }

    /// Builds one RR from its presentation line with `ldns_rr_new_frm_str` and prints it back
    /// with `ldns_rr2str`, which is how every line of a written zone file is produced.
    /// - Returns: the line as ldns prints it, without the trailing newline.
    /// - Throws: a message with ldns's status text when ldns refuses the line.
    static func canonicalLine(_ line: String) throws -> String {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let status = ldns_rr_new_frm_str(&rr, line, 0, nil, nil)
        guard status == LDNS_STATUS_OK, let rr else {
            if let rr { ldns_rr_free(rr) }
            throw ParseFailure.record(LDNSText.errorText(status))
        }
        defer { ldns_rr_free(rr) }
        guard let printed = LDNSText.take(ldns_rr2str(rr)) else { throw ParseFailure.record("ldns cannot print the record") }
        return printed.trimmingCharacters(in: .newlines)
    }

}
