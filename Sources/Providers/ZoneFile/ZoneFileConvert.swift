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
        var key: RRsetKey { RRsetKey(record.name, record.rdata.type) }
    }

    /// A master file read record by record, with the files it includes.
    struct Text {
        /// The records of the file and of its included files, in reading order.
        let entries: [Entry]
        /// The files read through `$INCLUDE`, in order.
        let includes: [URL]
        /// What a reader that goes on after this file (an including file) starts from.
        var after = TTLState()
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
    ///   - defaultTTL: the TTL of records without one before any `$TTL`, in seconds.
    ///   - depth: how many `$INCLUDE`s deep this file is (at most 8).
    /// - Throws: ``ParseFailure``: a syntax error with its line, a record the model refuses,
    ///   or an `$INCLUDE` that cannot be followed.
    static func read(_ text: Data, file: URL, origin: DomainName, includeDirectory: URL?,
                     defaultTTL: UInt32 = 3600, depth: Int = 0, ttlState: TTLState = TTLState()) throws -> Text {
        guard !text.isEmpty else { return Text(entries: [], includes: [], after: ttlState) }
        let bytes = [UInt8](text)
        // ldns replaces (and frees) both on `$ORIGIN` and on each owner it reads.
        var optionalOrigin: UnsafeMutablePointer<ldns_rdf>? = ldns_dname_new_frm_str(origin.fqdn)
        guard optionalOrigin != nil else { throw ParseFailure.record("cannot use \(origin.fqdn) as origin") }
        var prev: UnsafeMutablePointer<ldns_rdf>? = nil
        defer {
            if let o = optionalOrigin { ldns_rdf_deep_free(o) }
            if let p = prev { ldns_rdf_deep_free(p) }
        }
        let where_ = depth == 0 ? "" : "included file \(file.path), "
        var entries: [Entry] = []
        var includes: [URL] = []
        // A private copy: fmemopen wants a mutable buffer, and the bytes must outlive the FILE.
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        defer { copy.deallocate() }
        copy.copyBytes(from: bytes)
        guard let fp = fmemopen(copy.baseAddress, bytes.count, "r") else {
            throw ParseFailure.record("cannot open the zone text for reading (errno \(errno))")
        }
        defer { fclose(fp) }
        var ttl = ttlState.dollarTTL ?? defaultTTL
        var state = ttlState
        // ldns counts the newlines it has read: after a record, the number of its last line.
        var line: Int32 = 0
        while true {
            let start = ftell(fp)
            if start >= bytes.count { break }
            var rr: UnsafeMutablePointer<ldns_rr>? = nil
            let ttlHere = ttl
            let originHere = optionalOrigin.flatMap { LDNSText.take(ldns_rdf2str($0)) } ?? origin.fqdn
            let status = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &optionalOrigin, &prev, &line)
            let end = ftell(fp)
            defer { if let rr { ldns_rr_free(rr) } }
            switch status {
            case LDNS_STATUS_OK:
                guard let rr else { continue }
                let first = firstRecordLine(bytes, from: start, to: end)
                // ldns reads past the blank and comment lines after a record: they are not its text.
                let range = first..<lastRecordLineEnd(bytes, from: first, to: end)
                let inherited = first < end && (bytes[first] == 0x20 || bytes[first] == 0x09)
                let stated = ZoneFileEditor.statesTTL(bytes, range, ownerInherited: inherited)
                var rec = try record(from: rr, origin: origin)
                let implicitTTL = state.dollarTTL ?? state.lastStated ?? ttlHere
                if stated { state.lastStated = rec.ttl } else { rec.ttl = implicitTTL }
                entries.append(Entry(record: rec, file: file, range: range, ownerInherited: inherited,
                                     defaultTTL: implicitTTL, explicitTTL: stated, origin: originHere))
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
                let base: DomainName
                do { base = try DomainName(includeOrigin ?? originHere, relativeTo: (try? DomainName(originHere)) ?? origin) } catch {
                    throw ParseFailure.syntax(line: Int(line), message: "\(where_)$INCLUDE origin '\(includeOrigin ?? "")': \(error)")
                }
                let inner = try read(data, file: target, origin: base, includeDirectory: dir, defaultTTL: ttl, depth: depth + 1,
                                     ttlState: state)
                state = inner.after
                if let t = state.dollarTTL { ttl = t }
                // Records of an included file are still records of this zone: rebase nothing,
                // the included origin only resolves its relative names.
                entries += inner.entries
                includes += [target] + inner.includes
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
        return Text(entries: entries, includes: includes, after: state)
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
