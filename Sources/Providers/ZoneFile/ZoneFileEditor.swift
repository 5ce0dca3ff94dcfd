import Foundation
import MailPlan

/// Edits a master file in place (RFC 1035 §5): only the lines of the records a Changeset
/// changes are touched; every comment, directive, blank line and every other record keeps its
/// bytes and its place.
///
/// - A changed record is replaced on its own line(s), keeping the line's owner field (or the
///   leading white space of an inherited owner), its TTL and class fields as written, and a
///   trailing comment of a one-line record.
/// - A new record goes after the last record of the same RRset, else after the last record of
///   the same owner name (written in the style of that line), else at the end of the file
///   with an absolute owner name.
/// - A removed record's lines are removed. When the next record took its owner from the
///   removed line (a line starting with white space), that record's line gets the owner field
///   of the removed line, so it keeps its owner.
/// - The SOA serial is replaced in place, wherever it stands in a parenthesised SOA.
///
/// Records of files read through `$INCLUDE` are never edited: a change to one is an error
/// naming the file. The caller parses the result again through ldns and compares it with the
/// planned RRsets before anything is written (``ZoneFileProvider/apply(_:)``).
enum ZoneFileEditor {
    /// A change the editor cannot make; nothing is written.
    struct Failure: Error {
        let message: String
        let keys: [RRsetKey]
    }

    /// One field of a record's text: its bytes as written and where they stand.
    struct Field {
        let range: Range<Int>
    }

    /// The fields of the record text `bytes[range]`: white-space separated, a quoted string
    /// (with `\` escapes) one field, parentheses and `;` comments not fields.
    /// - Returns: the fields, the range of the first comment with the white space before it
    ///   (nil when there is none), and whether the text spans several lines (parentheses).
    static func fields(_ bytes: [UInt8], _ range: Range<Int>) -> (fields: [Field], comment: Range<Int>?, multiLine: Bool) {
        var out: [Field] = []
        var comment: Range<Int>? = nil
        var multiLine = false
        var i = range.lowerBound
        let end = range.upperBound
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0d || b == 0x0a }
        while i < end {
            let b = bytes[i]
            if b == 0x0a { if i + 1 < end { multiLine = true }; i += 1; continue }
            if isSpace(b) || b == 0x28 || b == 0x29 { i += 1; continue }
            if b == 0x3b {
                var s = i
                while s > range.lowerBound, bytes[s - 1] == 0x20 || bytes[s - 1] == 0x09 { s -= 1 }
                var j = i
                while j < end, bytes[j] != 0x0a { j += 1 }
                var k = j
                if k > i, bytes[k - 1] == 0x0d { k -= 1 }
                if comment == nil { comment = s..<k }
                i = j
                continue
            }
            let start = i
            if b == 0x22 {
                i += 1
                while i < end, bytes[i] != 0x22 { i += bytes[i] == 0x5c ? 2 : 1 }
                i = min(i + 1, end)
            } else {
                while i < end, !isSpace(bytes[i]), bytes[i] != 0x3b, bytes[i] != 0x28, bytes[i] != 0x29 {
                    i += bytes[i] == 0x5c ? 2 : 1
                }
                i = min(i, end)
            }
            out.append(Field(range: start..<i))
        }
        return (out, comment, multiLine)
    }

    static let classes: Set<String> = ["IN", "CH", "HS", "CS", "ANY"]

    /// True when the record text `bytes[range]` states a TTL (a field before the type that
    /// starts with a digit).
    static func statesTTL(_ bytes: [UInt8], _ range: Range<Int>, ownerInherited: Bool) -> Bool {
        let f = fields(bytes, range).fields
        let first = ownerInherited ? 0 : 1
        for k in first..<max(first, min(f.count, first + 2)) {
            let text = bytes[f[k].range]
            if let c = text.first, (0x30...0x39).contains(c) { return true }
            if !classes.contains(String(decoding: text, as: UTF8.self).uppercased()) { return false }
        }
        return false
    }

    /// A TTL field's value in seconds, with BIND's units (`1h30m`, `2d`, `1w`).
    static func ttlValue(_ text: [UInt8]) -> UInt32? {
        var total: UInt64 = 0, n: UInt64 = 0, digits = false
        for b in text {
            switch b {
            case 0x30...0x39: n = n * 10 + UInt64(b - 0x30); digits = true
            default:
                let unit: UInt64
                switch b | 0x20 { case 0x73: unit = 1; case 0x6d: unit = 60; case 0x68: unit = 3600; case 0x64: unit = 86400; case 0x77: unit = 604800; default: return nil }
                guard digits else { return nil }
                total += n * unit; n = 0; digits = false
            }
            if total + n > UInt64(UInt32.max) { return nil }
        }
        return UInt32(exactly: total + n)
    }

    /// The parts of a record line: where the owner field ends (with its white space), the TTL
    /// and class fields as written, and the type field.
    struct Layout {
        /// Bytes from the line start up to the first field after the owner.
        let prefix: [UInt8]
        /// The TTL and class fields before the type, in order, each with the white space after it.
        let middle: [(text: [UInt8], isTTL: Bool, space: [UInt8])]
        let type: [UInt8]
        /// The white space between the type and the rdata.
        let typeSpace: [UInt8]
        /// A trailing comment with the white space before it (one-line records only).
        let comment: [UInt8]
        /// How the record's text ends: LF, CRLF, or nothing (the end of the file).
        let newline: [UInt8]
    }

    static func layout(_ bytes: [UInt8], _ e: ZoneFileConvert.Entry) -> Layout? {
        let (f, comment, multi) = fields(bytes, e.range)
        var k = e.ownerInherited ? 0 : 1
        guard f.count > k else { return nil }
        // White space as written, unless it holds a parenthesis (or a line break): then one
        // space, so the new line is balanced and on one line.
        func space(_ r: Range<Int>) -> [UInt8] {
            let s = Array(bytes[r])
            return s.contains(where: { $0 == 0x28 || $0 == 0x29 || $0 == 0x0a || $0 == 0x0d }) || s.isEmpty ? [0x20] : s
        }
        let prefix = e.ownerInherited ? space(e.range.lowerBound..<f[0].range.lowerBound)
            : Array(bytes[f[0].range]) + space(f[0].range.upperBound..<f[1].range.lowerBound)
        var middle: [(text: [UInt8], isTTL: Bool, space: [UInt8])] = []
        while k + 1 < f.count, middle.count < 2 {
            let text = Array(bytes[f[k].range])
            let upper = String(decoding: text, as: UTF8.self).uppercased()
            let isTTL = text.first.map { (0x30...0x39).contains($0) } ?? false
            guard isTTL || classes.contains(upper) else { break }
            middle.append((text, isTTL, space(f[k].range.upperBound..<f[k + 1].range.lowerBound)))
            k += 1
        }
        let type = Array(bytes[f[k].range])
        let typeSpace = k + 1 < f.count && !multi ? space(f[k].range.upperBound..<f[k + 1].range.lowerBound) : [0x20]
        let crlf = e.range.upperBound >= 2 && bytes[e.range.upperBound - 1] == 0x0a && bytes[e.range.upperBound - 2] == 0x0d
        let newline: [UInt8] = bytes[e.range.upperBound - 1] != 0x0a ? [] : crlf ? [0x0d, 0x0a] : [0x0a]
        return Layout(prefix: prefix, middle: middle, type: type, typeSpace: typeSpace,
                      comment: !multi ? comment.map { Array(bytes[$0]) } ?? [] : [], newline: newline)
    }

    /// One record line in the layout of `template`: its owner field (or `prefix` when given),
    /// its TTL field with `ttl` (added when the template has none and `ttl` is not the default
    /// TTL there), its class field, the type, `rdata` in presentation form, and with
    /// `keepComment` the template's trailing comment.
    static func line(like template: ZoneFileConvert.Entry, in bytes: [UInt8], prefix: [UInt8]? = nil,
                     rdata: RData, ttl: UInt32, keepComment: Bool = false) -> [UInt8]? {
        guard let l = layout(bytes, template) else { return nil }
        var out = prefix ?? l.prefix
        if !l.middle.contains(where: \.isTTL), ttl != template.defaultTTL { out += Array("\(ttl) ".utf8) }
        // A TTL field keeps its text (`1h`) when its value stays.
        for m in l.middle { out += (m.isTTL && ttlValue(m.text) != ttl ? Array(String(ttl).utf8) : m.text) + m.space }
        let type = String(decoding: l.type, as: UTF8.self).uppercased() == rdata.type.rawValue ? l.type : Array(rdata.type.rawValue.utf8)
        // A comment belongs to the record it was written for: kept on a replaced line, not
        // copied to a new one. A new line always ends with a line break.
        out += type + l.typeSpace + Array(rdata.presentation.utf8) + (keepComment ? l.comment : [])
        out += keepComment ? l.newline : (l.newline.isEmpty ? [0x0a] : l.newline)
        return out
    }

    /// The new bytes of the zone file `file` (whose bytes are `bytes`) with `changes` made and
    /// the SOA serial `serial.old` replaced by `serial.new`. `entries` must hold every record
    /// at the changed owner names and the SOA (``ZoneFileConvert/Selection``); every byte
    /// outside their text is copied as it is.
    /// - Throws: ``Failure`` for a change to a record of an included file, a record whose line
    ///   cannot be laid out, or a SOA whose serial cannot be found.
    static func edit(_ bytes: [UInt8], entries: [ZoneFileConvert.Entry], file: URL, changes: [Change],
                     zone: DomainName, serial: (old: UInt32, new: UInt32)) throws -> [UInt8] {
        enum Action: Equatable { case keep, replace(RData, UInt32), delete }
        var action = Array(repeating: Action.keep, count: entries.count)
        var inserts: [(position: Int, line: [UInt8])] = []
        // A file written with CRLF line breaks gets CRLF on the lines added at its end too.
        let newline: [UInt8] = (bytes.firstIndex(of: 0x0a).map { $0 > 0 && bytes[$0 - 1] == 0x0d } ?? false) ? [0x0d, 0x0a] : [0x0a]

        for c in changes {
            let ttl = c.after?.ttl ?? 0
            // In a shared RRset (the apex TXT) every line holding a value mailplan does not own
            // stays as it is, TTL and duplicates included; only the plan's own values are edited.
            func owned(_ r: RData) -> Bool { !c.shared || (r.txtValue.map(SPF.isSPF) ?? false) }
            let idx = entries.indices.filter { entries[$0].key == c.key && owned(entries[$0].record.rdata) }
            var wanted = (c.after?.rdata ?? []).filter(owned)
            var unmatched: [Int] = []
            // A line keeps its value when the plan keeps it (only its TTL may change); lines
            // whose value goes are reused, in order, for the values that come.
            for i in idx {
                if let j = wanted.firstIndex(of: entries[i].record.rdata) {
                    wanted.remove(at: j)
                    if entries[i].record.ttl != ttl { action[i] = .replace(entries[i].record.rdata, ttl) }
                } else { unmatched.append(i) }
            }
            for i in unmatched { action[i] = wanted.isEmpty ? .delete : .replace(wanted.removeFirst(), ttl) }
            if let i = idx.first(where: { entries[$0].file != file && action[$0] != .keep }) {
                throw Failure(message: "\(c.key): a record to change is in the included file \(entries[i].file.path); mailplan does not edit included files: move it into \(file.path) or keep it out of the plan", keys: [c.key])
            }
            guard !wanted.isEmpty else { continue }
            let anchor = idx.last(where: { entries[$0].file == file && action[$0] != .delete })
                ?? entries.indices.last(where: { entries[$0].file == file && entries[$0].record.name == c.name })
            for rd in wanted {
                if let a = anchor {
                    guard let l = line(like: entries[a], in: bytes, rdata: rd, ttl: ttl) else {
                        throw Failure(message: "cannot lay out a new \(c.key) record after line text '\(String(decoding: bytes[entries[a].range], as: UTF8.self))'", keys: [c.key])
                    }
                    inserts.append((entries[a].range.upperBound, l))
                } else {
                    inserts.append((bytes.count, Array("\(c.name.fqdn) \(ttl) IN \(c.type.rawValue) \(rd.presentation)".utf8) + newline))
                }
            }
        }

        // A removed line whose owner the next record inherits hands its owner field on. The
        // entries hold the records of the changed names only: a record of the file that is not
        // among them ends the run (an inherited owner is the owner of the record before it).
        var prefixOverride: [Int: [UInt8]] = [:]
        var pending: (prefix: [UInt8], origin: String, name: DomainName)? = nil
        var previous = 0
        for i in entries.indices where entries[i].file == file {
            let e = entries[i]
            if e.fileOrdinal != previous + 1 { pending = nil }
            previous = e.fileOrdinal
            if action[i] == .delete {
                if !e.ownerInherited, let l = layout(bytes, e) { pending = (l.prefix, e.origin, e.record.name) }
                continue
            }
            if e.ownerInherited, let p = pending {
                prefixOverride[i] = p.origin == e.origin ? p.prefix : Array("\(p.name.fqdn) ".utf8)
            }
            pending = nil
        }

        var edits: [(range: Range<Int>, bytes: [UInt8], insert: Bool)] = []
        for i in entries.indices where entries[i].file == file {
            let e = entries[i]
            switch action[i] {
            case .delete:
                edits.append((e.range, [], false))
            case .replace(let rd, let ttl):
                guard let l = line(like: e, in: bytes, prefix: prefixOverride[i], rdata: rd, ttl: ttl, keepComment: true) else {
                    throw Failure(message: "cannot lay out the new \(e.key) record in place of '\(String(decoding: bytes[e.range], as: UTF8.self))'", keys: [e.key])
                }
                edits.append((e.range, l, false))
            case .keep:
                if let p = prefixOverride[i] {
                    var j = e.range.lowerBound
                    while j < e.range.upperBound, bytes[j] == 0x20 || bytes[j] == 0x09 { j += 1 }
                    edits.append((e.range.lowerBound..<j, p, false))
                }
            }
        }
        for ins in inserts {
            let needsNewline = ins.position > 0 && bytes[ins.position - 1] != 0x0a
            edits.append((ins.position..<ins.position, (needsNewline ? newline : []) + ins.line, true))
        }

        // The SOA serial, in place.
        guard let soa = entries.firstIndex(where: { $0.file == file && $0.record.rdata.type == .soa && $0.record.name == zone }) else {
            let inc = entries.first { $0.record.rdata.type == .soa }?.file.path
            throw Failure(message: inc.map { "the SOA is in the included file \($0); mailplan cannot bump its serial" } ?? "the zone file has no SOA record", keys: [])
        }
        let f = fields(bytes, entries[soa].range).fields
        guard let t = f.firstIndex(where: { String(decoding: bytes[$0.range], as: UTF8.self).uppercased() == "SOA" }), t + 3 < f.count,
              UInt32(String(decoding: bytes[f[t + 3].range], as: UTF8.self)) == serial.old else {
            throw Failure(message: "the SOA serial \(serial.old) cannot be found in the SOA's text", keys: [RRsetKey(zone, .soa)])
        }
        edits.append((f[t + 3].range, Array(String(serial.new).utf8), false))

        edits.sort { a, b in
            a.range.lowerBound != b.range.lowerBound ? a.range.lowerBound < b.range.lowerBound : (a.insert && !b.insert)
        }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 256)
        var cursor = 0
        for e in edits {
            guard e.range.lowerBound >= cursor else {
                throw Failure(message: "two edits overlap at byte \(e.range.lowerBound) of \(file.path)", keys: [])
            }
            out += bytes[cursor..<e.range.lowerBound]
            out += e.bytes
            cursor = e.range.upperBound
        }
        out += bytes[cursor...]
        return out
    }
}
