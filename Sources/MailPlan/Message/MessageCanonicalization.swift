import Foundation

// The one place where mailplan reads an RFC 5322 message and canonicalizes it for DKIM:
// the header section (RFC 5322 §2.2, §3.6.8), header canonicalization "simple" and "relaxed"
// (RFC 6376 §3.4.1, §3.4.2) and body canonicalization "simple" and "relaxed" (RFC 6376
// §3.4.3, §3.4.4), streamed so a large body is never held in memory. Line ends are taken as
// CRLF whether the file holds CRLF or bare LF (messages stored in a mailbox or a queue file
// are usually LF; RFC 6376 §5.3 signs the CRLF form).

/// One header field as the message holds it.
public struct MessageHeaderField: Sendable {
    /// The field name as written (case kept, whitespace before the colon removed).
    public let name: String
    /// The field exactly as in the message, with CRLF line ends: name, colon, value, any
    /// folding, and the final CRLF. This is the "simple" header canonical form (RFC 6376 §3.4.1).
    public let raw: [UInt8]
    /// The 1-based line of the message the field starts on.
    public let line: Int

    /// The value after the colon, unfolded (CRLFs removed, RFC 5322 §2.2.3), as text
    /// (bytes that are not UTF-8 are shown as U+FFFD).
    public var value: String {
        let colon = raw.firstIndex(of: UInt8(ascii: ":")).map { $0 + 1 } ?? raw.count
        let bytes = raw[colon...].filter { $0 != 0x0d && $0 != 0x0a }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespaces)
    }

    /// The lower-case name, for matching (field names are case-insensitive, RFC 5322 §1.2.2).
    public var key: String { name.lowercased() }
}

/// Why a message's header section cannot be read.
public struct MessageFormatError: Error, Sendable, CustomStringConvertible, Equatable {
    public let line: Int
    public let reason: String
    public var description: String { "line \(line): \(reason)" }
}

/// A message file that cannot be opened.
public struct MessageInputError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// The header section of a message, read from a byte stream, and the reader left positioned
/// at the first body byte.
public struct MessageHeaderSection: Sendable {
    /// Most header bytes read before the message is refused (real header sections are a few
    /// KiB; this bounds memory for a file that is not a message).
    public static let maxBytes = 4 << 20
    /// Most header fields read.
    public static let maxFields = 10_000

    public var fields: [MessageHeaderField]
    /// Set instead of ``fields`` being complete when the section does not parse.
    public var error: MessageFormatError?
    /// True when the message had a blank line (a body may follow).
    public var hasBody: Bool

    /// The fields named `name` (case-insensitive), top to bottom.
    public func fields(named name: String) -> [MessageHeaderField] {
        let k = name.lowercased()
        return fields.filter { $0.key == k }
    }
}

/// Reads a message from chunks of bytes: first the header section, then the body line by line.
public final class MessageReader {
    private let nextChunk: () throws -> [UInt8]?
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    /// Bytes of `buffer` already searched for a LF.
    private var scanned = 0
    /// 1-based number of the next line to be read.
    private(set) var lineNumber = 1
    /// Body bytes read so far (as in the file).
    public private(set) var bodyBytesRead = 0

    /// - Parameter nextChunk: returns the next bytes of the message, nil at the end.
    public init(nextChunk: @escaping () throws -> [UInt8]?) { self.nextChunk = nextChunk }

    /// Reads a whole file or standard input (`path == "-"`) chunk by chunk.
    /// - Throws: when the file cannot be opened.
    public static func file(_ path: String) throws -> MessageReader {
        let handle: FileHandle
        if path == "-" { handle = FileHandle.standardInput } else {
            guard let h = FileHandle(forReadingAtPath: path) else {
                throw MessageInputError(message: "cannot read \(path): no such file, or not readable")
            }
            handle = h
        }
        return MessageReader {
            let d = try handle.read(upToCount: 1 << 16) ?? Data()
            return d.isEmpty ? nil : [UInt8](d)
        }
    }

    /// Reads the message from memory.
    public static func bytes(_ bytes: [UInt8]) -> MessageReader {
        var done = false
        return MessageReader { if done { return nil }; done = true; return bytes }
    }

    /// The next line without its line end (LF or CRLF), and whether it had one. Nil at the end.
    /// - Parameter limit: a line longer than this is returned in pieces (each unterminated
    ///   but the last).
    func nextLine(limit: Int = 1 << 20) throws -> (bytes: ArraySlice<UInt8>, terminated: Bool)? {
        while true {
            if let lf = buffer[max(position, scanned)...].firstIndex(of: 0x0a) {
                scanned = 0
                var end = lf
                if end > position, buffer[end - 1] == 0x0d { end -= 1 }
                let line = buffer[position..<end]
                position = lf + 1
                lineNumber += 1
                return (line, true)
            }
            if buffer.count - position > limit {
                // Keep a trailing CR back: it may start the CRLF of the next chunk.
                var end = buffer.count
                if buffer[end - 1] == 0x0d { end -= 1 }
                let line = buffer[position..<end]
                position = end
                return (line, false)
            }
            if atEnd {
                guard position < buffer.count else { return nil }
                let line = buffer[position...]
                position = buffer.count
                return (line, false)
            }
            scanned = buffer.count
            if position > 0 { buffer.removeSubrange(0..<position); scanned -= position; position = 0 }
            if let chunk = try nextChunk() { buffer += chunk } else { atEnd = true }
        }
    }

    /// Reads the header section (RFC 5322 §2.2): fields up to the first empty line, folded
    /// lines joined to their field. A leading mbox `From ` line is skipped. A field without a
    /// colon, a name with bytes outside printable ASCII, more than ``MessageHeaderSection/maxBytes``
    /// or ``MessageHeaderSection/maxFields`` stop the reading with an error.
    public func readHeaderSection() throws -> MessageHeaderSection {
        var fields: [MessageHeaderField] = []
        var current: (name: String, raw: [UInt8], line: Int)? = nil
        var total = 0
        var section = MessageHeaderSection(fields: [], error: nil, hasBody: false)
        func flush() { if let c = current { fields.append(MessageHeaderField(name: c.name, raw: c.raw, line: c.line)); current = nil } }
        func fail(_ line: Int, _ why: String) -> MessageHeaderSection {
            flush()
            section.fields = fields
            section.error = MessageFormatError(line: line, reason: why)
            return section
        }
        var first = true
        while let (bytes, terminated) = try nextLine(limit: MessageHeaderSection.maxBytes) {
            let line = lineNumber - (terminated ? 1 : 0)
            total += bytes.count + 2
            if total > MessageHeaderSection.maxBytes {
                return fail(line, "the header section is longer than \(MessageHeaderSection.maxBytes >> 20) MiB (no blank line ends it)")
            }
            if bytes.isEmpty && terminated {
                flush(); section.fields = fields; section.hasBody = true; return section
            }
            if bytes.isEmpty { break }
            defer { first = false }
            if bytes.first == 0x20 || bytes.first == 0x09 {
                // A folded line continues the field before it (RFC 5322 §2.2.3).
                guard current != nil else { return fail(line, "the message starts with a folded (indented) line, not a header field") }
                current!.raw += bytes
                current!.raw += [0x0d, 0x0a]
                continue
            }
            if first, bytes.starts(with: Array("From ".utf8)) { continue }
            guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else {
                return fail(line, "a header line without a colon (\(MessageReader.preview(bytes))); a header field is 'Name: value' (RFC 5322 §2.2)")
            }
            var nameEnd = colon
            while nameEnd > bytes.startIndex, bytes[nameEnd - 1] == 0x20 || bytes[nameEnd - 1] == 0x09 { nameEnd -= 1 }
            let name = bytes[bytes.startIndex..<nameEnd]
            guard !name.isEmpty, name.allSatisfy({ $0 >= 33 && $0 <= 126 }) else {
                return fail(line, "'\(MessageReader.preview(name))' is not a header field name (printable ASCII without spaces, RFC 5322 §3.6.8)")
            }
            flush()
            if fields.count >= MessageHeaderSection.maxFields {
                return fail(line, "more than \(MessageHeaderSection.maxFields) header fields")
            }
            current = (String(decoding: name, as: UTF8.self), Array(bytes) + [0x0d, 0x0a], line)
            if !terminated { break }
        }
        flush()
        section.fields = fields
        return section
    }

    /// Feeds the rest of the message, the body, to `body` line by line.
    public func readBody(into body: BodyCanonicalizers) throws {
        while let (bytes, terminated) = try nextLine(limit: 1 << 16) {
            bodyBytesRead += bytes.count + (terminated ? 1 : 0)
            body.line(bytes, terminated: terminated)
        }
        body.finish()
    }

    /// At most 40 characters of `bytes`, control bytes escaped, for an error message.
    static func preview<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = ""
        for b in bytes.prefix(40) {
            if b >= 0x20 && b < 0x7f { out.unicodeScalars.append(Unicode.Scalar(b)) } else { out += String(format: "\\x%02x", b) }
        }
        return out + (bytes.count > 40 ? "…" : "")
    }
}

/// DKIM canonicalization algorithms (RFC 6376 §3.4).
public enum DKIMCanonicalization: String, Sendable, Codable, Hashable {
    case simple, relaxed

    /// The header field in this canonical form, CRLF at the end.
    /// - simple (§3.4.1): unchanged.
    /// - relaxed (§3.4.2): name lower-cased; the value unfolded, runs of WSP made one SP,
    ///   WSP at the end of the value and around the colon removed.
    public func header(_ field: MessageHeaderField) -> [UInt8] {
        switch self {
        case .simple: return field.raw
        case .relaxed: return DKIMCanonicalization.relaxedHeader(name: field.name, raw: field.raw)
        }
    }

    static func relaxedHeader(name: String, raw: [UInt8]) -> [UInt8] {
        var out = Array(name.lowercased().utf8)
        out.append(UInt8(ascii: ":"))
        let colon = (raw.firstIndex(of: UInt8(ascii: ":")) ?? raw.count - 1) + 1
        var pendingSpace = false
        var started = false
        for b in raw[colon...] {
            if b == 0x0d || b == 0x0a { continue }
            if b == 0x20 || b == 0x09 { pendingSpace = true; continue }
            if pendingSpace && started { out.append(0x20) }
            pendingSpace = false
            started = true
            out.append(b)
        }
        out += [0x0d, 0x0a]
        return out
    }
}

/// Where canonical body bytes go: a hash, cut at `l=` when the signature has one.
public final class BodyHashSink {
    public let algorithm: DKIMHashAlgorithm
    /// `l=`: the number of canonical body bytes signed; nil for all.
    public let limit: Int?
    private var hasher: DKIMHasher
    /// Canonical body bytes seen (all of them, also past `limit`).
    public private(set) var canonicalLength = 0
    private var digestValue: [UInt8]? = nil

    init(algorithm: DKIMHashAlgorithm, limit: Int?) {
        self.algorithm = algorithm; self.limit = limit
        hasher = DKIMHasher(algorithm)
    }

    func write(_ bytes: UnsafeBufferPointer<UInt8>) {
        var n = bytes.count
        if let limit { n = max(0, min(n, limit - canonicalLength)) }
        if n > 0 { hasher.update(UnsafeBufferPointer(rebasing: bytes[0..<n])) }
        canonicalLength += bytes.count
    }

    /// The body hash (computed once).
    public var digest: [UInt8] {
        if let d = digestValue { return d }
        let d = hasher.finalize()
        digestValue = d
        return d
    }
}

/// The two body canonicalizations (RFC 6376 §3.4.3, §3.4.4), run side by side over one
/// pass of the body, each writing to the hash sinks of the signatures that use it. Lines
/// arrive in pieces (a line longer than the read buffer comes in several), so each keeps the
/// state it needs between pieces: the empty lines not yet known to be inside the body, and
/// (relaxed) a run of WSP not yet known not to end its line.
public final class BodyCanonicalizers {
    private struct State { var pendingEmpty = 0; var inLine = false; var pendingSpace = false; var wrote = false }
    private var sinks: [DKIMCanonicalization: [BodyHashSink]] = [:]
    private var simple = State(), relaxed = State()
    private var scratch: [UInt8] = []

    public init() {}

    /// The sink for body canonicalization `c`, hash `algorithm` and length `limit`; one per
    /// distinct triple, shared by the signatures that ask for the same.
    public func sink(_ c: DKIMCanonicalization, _ algorithm: DKIMHashAlgorithm, limit: Int?) -> BodyHashSink {
        if let s = sinks[c]?.first(where: { $0.algorithm == algorithm && $0.limit == limit }) { return s }
        let s = BodyHashSink(algorithm: algorithm, limit: limit)
        sinks[c, default: []].append(s)
        return s
    }

    private static let crlf: [UInt8] = [0x0d, 0x0a]
    private func emit(_ c: DKIMCanonicalization, _ bytes: UnsafeBufferPointer<UInt8>) {
        guard let list = sinks[c], !bytes.isEmpty else { return }
        for s in list { s.write(bytes) }
    }
    private func emit(_ c: DKIMCanonicalization, _ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { emit(c, $0) } }
    private func emitCRLFs(_ c: DKIMCanonicalization, _ n: Int) { for _ in 0..<n { emit(c, Self.crlf) } }

    /// A piece of a body line (its bytes without the line end) and whether the line ends here.
    func line(_ bytes: ArraySlice<UInt8>, terminated: Bool) {
        if sinks[.simple] != nil {
            // simple (§3.4.3): lines unchanged; empty lines at the end of the body ignored.
            if !bytes.isEmpty {
                if !simple.inLine { emitCRLFs(.simple, simple.pendingEmpty); simple.pendingEmpty = 0; simple.inLine = true }
                bytes.withUnsafeBufferPointer { emit(.simple, $0) }
                simple.wrote = true
            }
            if terminated {
                if simple.inLine { emitCRLFs(.simple, 1); simple.inLine = false } else { simple.pendingEmpty += 1 }
            }
        }
        if sinks[.relaxed] != nil {
            // relaxed (§3.4.4): WSP at the end of a line removed, runs of WSP made one SP,
            // empty lines at the end of the body ignored.
            scratch.removeAll(keepingCapacity: true)
            bytes.withUnsafeBufferPointer { buf in
                for b in buf {
                    if b == 0x20 || b == 0x09 { relaxed.pendingSpace = true; continue }
                    if !relaxed.inLine {
                        for _ in 0..<relaxed.pendingEmpty { scratch += Self.crlf }
                        relaxed.pendingEmpty = 0
                        relaxed.inLine = true
                    }
                    if relaxed.pendingSpace { scratch.append(0x20); relaxed.pendingSpace = false }
                    scratch.append(b)
                }
            }
            if terminated {
                relaxed.pendingSpace = false
                if relaxed.inLine { scratch += Self.crlf; relaxed.inLine = false } else { relaxed.pendingEmpty += 1 }
            }
            if !scratch.isEmpty { relaxed.wrote = true; emit(.relaxed, scratch) }
        }
    }

    func finish() {
        // A last line without a line end gets one (§3.4.3, §3.4.4).
        if simple.inLine { emitCRLFs(.simple, 1) }
        if relaxed.inLine { emitCRLFs(.relaxed, 1) }
        // simple: an empty body is one CRLF (§3.4.3); relaxed: an empty body is empty (§3.4.4).
        if sinks[.simple] != nil, !simple.wrote { emitCRLFs(.simple, 1) }
    }
}
