import Foundation

/// A DNS RR type mnemonic (`A`, `MX`, `TXT`, …), upper-case. Types mailplan does not model
/// are carried as their mnemonic with their rdata in presentation form.
public struct RRType: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
    public init(_ s: String) { self.init(rawValue: s) }
    public static let a = RRType("A"), aaaa = RRType("AAAA"), mx = RRType("MX"), txt = RRType("TXT")
    public static let cname = RRType("CNAME"), ns = RRType("NS"), srv = RRType("SRV"), caa = RRType("CAA")
    public static let tlsa = RRType("TLSA"), ptr = RRType("PTR"), soa = RRType("SOA")
    /// The types with typed rdata in mailplan (everything else is opaque text).
    public static let modelled: [RRType] = [.a, .aaaa, .mx, .txt, .cname, .ns, .srv, .caa, .tlsa, .ptr]
    public var description: String { rawValue }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public init(from decoder: Decoder) throws { self.init(rawValue: try decoder.singleValueContainer().decode(String.self)) }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(rawValue) }
}

/// The data of one resource record, typed for the record types mail needs.
///
/// TXT is held as its character-strings, byte for byte as read (``TXTData``), so a value
/// mailplan does not own is written back exactly as it was; values mailplan builds are split
/// into ≤255-byte strings. Managed values are compared by their *logical* value, the
/// concatenation of the strings (RFC 7208 §3.3, RFC 6376 §3.6.2.2; see ``Differ``).
/// Equality and hashing are exact: `"a" "b"` and `"ab"` are different rdata, as on the wire.
/// Names inside rdata are absolute ``DomainName``s; addresses are canonical.
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    /// MX preference and exchange; the null MX of RFC 7505 is preference 0, exchange `.`.
    case mx(preference: UInt16, exchange: DomainName)
    case txt(TXTData)
    case cname(DomainName)
    case ns(DomainName)
    case ptr(DomainName)
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DomainName)
    case caa(flags: UInt8, tag: String, value: String)
    /// TLSA (RFC 6698): usage, selector, matching type, association data as lower-case hex.
    case tlsa(usage: UInt8, selector: UInt8, matchingType: UInt8, data: String)
    /// Any other type, kept as its presentation text so it round-trips untouched.
    case other(type: RRType, presentation: String)

    /// The RR type of this rdata.
    public var type: RRType {
        switch self {
        case .a: .a
        case .aaaa: .aaaa
        case .mx: .mx
        case .txt: .txt
        case .cname: .cname
        case .ns: .ns
        case .ptr: .ptr
        case .srv: .srv
        case .caa: .caa
        case .tlsa: .tlsa
        case .other(let t, _): t
        }
    }

    /// Zone-file presentation (RFC 1035 §5.1): absolute names with trailing dot, TXT as
    /// quoted ≤255-byte strings separated by one space.
    public var presentation: String {
        switch self {
        case .a(let ip): ip.description
        case .aaaa(let ip): ip.description
        case .mx(let p, let x): "\(p) \(x.fqdn)"
        case .txt(let t): t.presentation
        case .cname(let n), .ns(let n), .ptr(let n): n.fqdn
        case .srv(let p, let w, let port, let t): "\(p) \(w) \(port) \(t.fqdn)"
        case .caa(let f, let tag, let v): "\(f) \(tag) \(TXTCodec.quote(v))"
        case .tlsa(let u, let s, let m, let d): "\(u) \(s) \(m) \(d)"
        case .other(_, let p): p
        }
    }

    /// The value as a person reads it in a plan: TXT as one quoted logical string when its
    /// strings are the standard ≤255-byte split of that value (``TXTData/display``), else as
    /// its strings; everything else as ``presentation``.
    public var display: String {
        if case .txt(let t) = self { return t.display }
        return presentation
    }

    /// TXT rdata from a logical value, split into ≤255-byte character-strings
    /// (``TXTData/init(_:)``).
    public static func txt(_ value: String) -> RData { .txt(TXTData(value)) }

    /// The logical TXT string (the character-strings joined, decoded as UTF-8), or nil for
    /// other types.
    public var txtValue: String? { if case .txt(let t) = self { return t.value }; return nil }

    /// Parses rdata in presentation form, as a zone file or an API such as PowerDNS holds it.
    /// Relative names inside the rdata are resolved against `origin`.
    /// - Parameters:
    ///   - type: the RR type.
    ///   - text: rdata text, e.g. `10 mail.example.com.` or `"v=spf1 " "mx -all"`.
    ///   - origin: the zone origin for relative names (defaults to the root).
    /// - Throws: ``RDataError`` naming the type and the reason.
    public static func parse(type: RRType, _ text: String, origin: DomainName = .root) throws -> RData {
        let tokens: [PresentationToken]
        do { tokens = try PresentationToken.tokenize(text) } catch let e as RDataError {
            throw RDataError(type: type, text: text, reason: e.reason)
        }
        func fail(_ why: String) -> RDataError { RDataError(type: type, text: text, reason: why) }
        func count(_ n: Int) throws {
            if tokens.count != n { throw fail("expected \(n) field\(n == 1 ? "" : "s"), found \(tokens.count)") }
        }
        func name(_ t: PresentationToken) throws -> DomainName {
            do { return try DomainName(t.text, relativeTo: origin) } catch let e as DNSNameError { throw fail(e.reason) }
        }
        func uint<T: FixedWidthInteger>(_ t: PresentationToken, _ what: String) throws -> T {
            guard let v = T(t.text) else { throw fail("\(what) '\(t.text)' is not a number from 0 to \(T.max)") }
            return v
        }
        switch type {
        case .a:
            try count(1)
            guard let ip = IPv4Address(tokens[0].text) else { throw fail("'\(tokens[0].text)' is not an IPv4 address") }
            return .a(ip)
        case .aaaa:
            try count(1)
            guard let ip = IPv6Address(tokens[0].text) else { throw fail("'\(tokens[0].text)' is not an IPv6 address") }
            return .aaaa(ip)
        case .mx:
            try count(2)
            return .mx(preference: try uint(tokens[0], "preference"), exchange: try name(tokens[1]))
        case .txt:
            guard !tokens.isEmpty else { throw fail("a TXT record needs at least one string") }
            return .txt(TXTData(strings: tokens.map(\.bytes)))
        case .cname: try count(1); return .cname(try name(tokens[0]))
        case .ns: try count(1); return .ns(try name(tokens[0]))
        case .ptr: try count(1); return .ptr(try name(tokens[0]))
        case .srv:
            try count(4)
            return .srv(priority: try uint(tokens[0], "priority"), weight: try uint(tokens[1], "weight"),
                        port: try uint(tokens[2], "port"), target: try name(tokens[3]))
        case .caa:
            try count(3)
            let tag = tokens[1].text.lowercased()
            guard !tag.isEmpty, tag.allSatisfy({ $0.isLetter || $0.isNumber }) else { throw fail("CAA tag '\(tokens[1].text)' must be letters and digits") }
            return .caa(flags: try uint(tokens[0], "flags"), tag: tag, value: tokens[2].text)
        case .tlsa:
            guard tokens.count >= 4 else { throw fail("expected usage, selector, matching type and data") }
            let hex = tokens[3...].map(\.text).joined().lowercased()
            guard !hex.isEmpty, hex.count % 2 == 0, hex.allSatisfy(\.isHexDigit) else { throw fail("TLSA data must be hexadecimal") }
            return .tlsa(usage: try uint(tokens[0], "usage"), selector: try uint(tokens[1], "selector"),
                         matchingType: try uint(tokens[2], "matching type"), data: hex)
        default:
            return .other(type: type, presentation: text.trimmingASCIIWhitespace)
        }
    }
}

/// Rdata that could not be parsed.
public struct RDataError: Error, CustomStringConvertible, Equatable {
    public let type: RRType
    public let text: String
    public let reason: String
    public var description: String { "invalid \(type) rdata '\(text)': \(reason)" }
}

/// One field of presentation-form rdata; `quoted` tells whether it was a "…" string.
struct PresentationToken: Equatable {
    /// The field's bytes, escapes decoded.
    var bytes: [UInt8]
    var quoted: Bool
    /// The bytes as UTF-8 text (invalid sequences replaced), for fields that are text.
    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Splits presentation text into fields, decoding quoted strings and the escapes
    /// `\"`, `\\`, `\X` and `\DDD` (decimal byte) of RFC 1035 §5.1.
    static func tokenize(_ s: String) throws -> [PresentationToken] {
        var out: [PresentationToken] = []
        let bytes = Array(s.utf8)
        var i = 0
        func err(_ r: String) -> RDataError { RDataError(type: RRType("?"), text: s, reason: r) }
        while i < bytes.count {
            let c = bytes[i]
            if c == 0x20 || c == 0x09 || c == 0x0a || c == 0x0d { i += 1; continue }
            var buf: [UInt8] = []
            let quoted = c == 0x22
            if quoted { i += 1 }
            var closed = !quoted
            while i < bytes.count {
                let b = bytes[i]
                if quoted && b == 0x22 { closed = true; i += 1; break }
                if !quoted && (b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d) { break }
                if b == 0x5c {
                    guard i + 1 < bytes.count else { throw err("dangling backslash") }
                    let n = bytes[i + 1]
                    if n >= 0x30 && n <= 0x39 {
                        guard i + 3 < bytes.count,
                              let v = Int(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self)), v <= 255
                        else { throw err("bad \\DDD escape") }
                        buf.append(UInt8(v)); i += 4
                    } else { buf.append(n); i += 2 }
                    continue
                }
                buf.append(b); i += 1
            }
            if !closed { throw err("unterminated quoted string") }
            out.append(PresentationToken(bytes: buf, quoted: quoted))
        }
        return out
    }
}

/// TXT rdata: its character-strings (RFC 1035 §3.3.14), each kept as the exact bytes read.
///
/// A value mailplan builds (``init(_:)``) is split into 255-byte strings, the standard split.
/// A value read from a provider keeps the strings it had, so writing it back changes no byte
/// and no string boundary (DNS-SD and others give the boundaries meaning, RFC 6763 §6).
/// Equality is exact (strings and bytes); compare logical values with ``bytes`` or ``value``.
public struct TXTData: Hashable, Sendable {
    /// The character-strings, in order, as bytes (a string read from an API may exceed 255
    /// bytes when that is how the provider stores it; see case C01 in the tests).
    public let strings: [[UInt8]]

    /// TXT rdata with exactly these character-strings; no strings at all is one empty string.
    public init(strings: [[UInt8]]) { self.strings = strings.isEmpty ? [[]] : strings }

    /// TXT rdata for a logical value: its UTF-8 bytes split into ≤255-byte strings
    /// (``TXTCodec/chunks(_:limit:)``); the empty value is one empty string.
    public init(_ value: String) { self.strings = TXTCodec.chunks(value) }

    /// The logical value as bytes: the strings concatenated.
    public var bytes: [UInt8] { strings.count == 1 ? strings[0] : Array(strings.joined()) }

    /// The logical value as text (UTF-8; an invalid sequence reads as U+FFFD, so compare
    /// ``bytes`` where that matters).
    public var value: String { String(decoding: bytes, as: UTF8.self) }

    /// True when the strings are the standard split of the value: every string 255 bytes
    /// but the last (what ``init(_:)`` builds).
    public var isStandardSplit: Bool {
        strings.dropLast().allSatisfy { $0.count == 255 } && (strings.last?.count ?? 0) <= 255 && (strings.count == 1 || !strings.last!.isEmpty)
    }

    /// Zone-file presentation: each string quoted (``TXTCodec/quote(_:)``), separated by one space.
    public var presentation: String { strings.map { TXTCodec.quoteBytes($0) }.joined(separator: " ") }

    /// As shown in a plan: the logical value as one quoted string when the strings are the
    /// standard split (a long DKIM key reads as one value), else every string as it is.
    public var display: String { isStandardSplit ? TXTCodec.quoteBytes(bytes) : presentation }
}

/// TXT encoding rules shared by every adapter (docs/architecture.md, "TXT values").
public enum TXTCodec {
    /// Splits the UTF-8 bytes of a logical TXT value into character-strings of at most
    /// `limit` bytes (255 on the wire, RFC 1035 §3.3). An empty value is one empty string.
    public static func chunks(_ value: String, limit: Int = 255) -> [[UInt8]] {
        chunks(bytes: Array(value.utf8), limit: limit)
    }

    /// Splits bytes into character-strings of at most `limit` bytes (see ``chunks(_:limit:)``).
    public static func chunks(bytes: [UInt8], limit: Int = 255) -> [[UInt8]] {
        if bytes.isEmpty { return [[]] }
        return stride(from: 0, to: bytes.count, by: limit).map { Array(bytes[$0..<min($0 + limit, bytes.count)]) }
    }

    /// Quotes one string for presentation, escaping `"` and `\` and writing bytes outside
    /// printable ASCII as `\DDD`.
    public static func quote(_ s: String) -> String { quoteBytes(Array(s.utf8)) }

    /// Quotes one character-string given as bytes (see ``quote(_:)``). `radix` 8 writes the
    /// three-digit escapes in octal, as Route 53 does; RFC 1035 §5.1's are decimal.
    public static func quoteBytes(_ bytes: [UInt8], radix: Int = 10) -> String {
        var out = "\""
        for b in bytes {
            switch b {
            case 0x22: out += "\\\""
            case 0x5c: out += "\\\\"
            case 0x20...0x7e: out.unicodeScalars.append(UnicodeScalar(b))
            default:
                let d = String(b, radix: radix)
                out += "\\" + String(repeating: "0", count: 3 - d.count) + d
            }
        }
        return out + "\""
    }

    /// The zone-file form of a logical TXT value: ≤255-byte chunks, each quoted (escaping
    /// after splitting, so an escape never counts toward the limit), joined by one space.
    public static func quotedChunks(_ value: String, limit: Int = 255) -> String {
        chunks(value, limit: limit).map { quoteBytes($0) }.joined(separator: " ")
    }

    /// Decodes a TXT value as an API returns it, keeping its character-strings: when it starts
    /// and ends with `"`, the quoted strings unescaped (whitespace between and around them
    /// ignored); otherwise the raw text as one logical value (split as ``TXTData/init(_:)``).
    public static func decodeStrings(_ text: String) -> TXTData {
        let t = text.trimmingASCIIWhitespace
        guard t.count >= 2, t.hasPrefix("\""), t.hasSuffix("\""),
              let tokens = try? PresentationToken.tokenize(t), tokens.allSatisfy(\.quoted)
        else { return TXTData(text) }
        return TXTData(strings: tokens.map(\.bytes))
    }
}
