import CIDN2
import Foundation

/// An absolute DNS owner name in canonical form: lower-case, IDN labels as A-labels
/// (RFC 5891), always with a trailing dot (`mail.example.com.`). The root is `.`.
///
/// Comparison is case-insensitive by construction, because the stored form is lower-case
/// (RFC 4343). Build one with ``DomainName/init(_:)`` for absolute text or
/// ``DomainName/init(_:relativeTo:)`` for provider-relative names (`@`, `""`, `www`).
public struct DomainName: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The canonical absolute text, lower-case with a trailing dot.
    public let fqdn: String

    /// The root name `.`.
    public static let root = DomainName(uncheckedFQDN: ".")

    init(uncheckedFQDN: String) { self.fqdn = uncheckedFQDN }

    /// Parses an absolute name. A missing trailing dot is accepted (the text is taken as
    /// absolute). Unicode labels are converted to A-labels with libidn2 (IDNA2008,
    /// non-transitional).
    /// - Throws: ``DNSNameError`` when a label is empty, longer than 63 bytes, the name is
    ///   longer than 253 bytes, or a Unicode label cannot be converted.
    public init(_ text: String) throws {
        let trimmed = text.trimmingASCIIWhitespace
        if trimmed == "." { self = .root; return }
        if trimmed.isEmpty { throw DNSNameError(name: text, reason: "empty name") }
        var body = trimmed
        if body.hasSuffix(".") { body.removeLast() }
        self.fqdn = try DomainName.canonicalize(body, original: text) + "."
    }

    /// Resolves a name as a provider or zone file writes it, relative to `origin`.
    ///
    /// `@`, `""` and the origin itself (with or without a trailing dot) are the apex. A
    /// name with a trailing dot is absolute. A name without one that already ends in the
    /// origin (`mail.example.com` in zone `example.com.`) is taken as absolute rather than
    /// producing `mail.example.com.example.com.` (case C09); anything else is relative.
    /// - Throws: ``DNSNameError`` for an invalid name.
    public init(_ text: String, relativeTo origin: DomainName) throws {
        let t = text.trimmingASCIIWhitespace
        if t.isEmpty || t == "@" { self = origin; return }
        if t.hasSuffix(".") { try self.init(t); return }
        let lowered = t.lowercased()
        let originBody = origin.withoutTrailingDot
        if origin == .root { try self.init(t); return }
        if lowered == originBody || lowered.hasSuffix("." + originBody) {
            try self.init(t)
            return
        }
        try self.init(t + "." + origin.fqdn)
    }

    /// The name without its trailing dot (`mail.example.com`); the root gives `""`.
    public var withoutTrailingDot: String {
        // The canonical text ends in the one-byte ".", so dropping the last byte is exact.
        fqdn == "." ? "" : String(Substring(fqdn.utf8.dropLast()))
    }

    /// The labels, left to right, without the root (`["mail", "example", "com"]`).
    public var labels: [String] {
        fqdn == "." ? [] : withoutTrailingDot.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    }

    /// The parent name (`example.com.` for `mail.example.com.`); nil for the root.
    public var parent: DomainName? {
        guard fqdn != "." else { return nil }
        let l = labels
        if l.count == 1 { return .root }
        return DomainName(uncheckedFQDN: l.dropFirst().joined(separator: ".") + ".")
    }

    /// True when `self` equals `zone` or lies below it.
    public func isSubdomain(of zone: DomainName) -> Bool {
        if zone.fqdn == "." || fqdn == zone.fqdn { return true }
        // Canonical names are compared as bytes: this one ends in "." + the zone's text.
        let a = fqdn.utf8, b = zone.fqdn.utf8
        guard a.count > b.count else { return false }
        let start = a.index(a.endIndex, offsetBy: -b.count)
        return a[a.index(before: start)] == 0x2e && a[start...].elementsEqual(b)
    }

    /// The name relative to `zone` as a provider expects it: `@` for the apex, `www` for
    /// `www.example.com.`. Names outside the zone are returned absolute.
    public func relative(to zone: DomainName, apex: String = "@") -> String {
        if self == zone { return apex }
        guard isSubdomain(of: zone), zone != .root else { return fqdn }
        return String(fqdn.dropLast(zone.fqdn.count + 1))
    }

    /// Prepends labels: `DomainName("example.com").prepending("_dmarc")` is `_dmarc.example.com.`.
    public func prepending(_ label: String) -> DomainName {
        DomainName(uncheckedFQDN: label.lowercased() + (fqdn == "." ? "." : "." + fqdn))
    }

    /// True when every label is a valid host name label (letters, digits, hyphen; not
    /// starting or ending with a hyphen; RFC 952/1123), as required of a mail host, an MX
    /// exchange or a CNAME target that receives SMTP.
    public var isValidHostname: Bool {
        guard fqdn != "." else { return false }
        // One pass over the bytes of the canonical (lower-case) text, labels split at the dots.
        var length = 0
        var previous: UInt8 = 0x2e
        for ch in fqdn.utf8 {
            if ch == 0x2e {
                if length == 0 || length > 63 || previous == 0x2d { return false }
                length = 0
            } else {
                let ok = (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || ch == 0x2d
                if !ok || (length == 0 && ch == 0x2d) { return false }
                length += 1
            }
            previous = ch
        }
        return true
    }

    public var description: String { fqdn }
    public static func < (a: DomainName, b: DomainName) -> Bool {
        // Canonical DNS order (RFC 4034 §6.1): compare labels right to left. ASCII names (every
        // name a plan holds: IDNs are A-labels) are compared in place, byte by byte, which is
        // the order of their labels as strings; anything else through the labels.
        var ua = a.fqdn, ub = b.fqdn
        if let r = ua.withUTF8({ x in ub.withUTF8 { y in asciiCanonicalLess(x, y) } }) { return r }
        let la = a.labels.reversed().map { $0 }, lb = b.labels.reversed().map { $0 }
        for (x, y) in zip(la, lb) where x != y { return x < y }
        return la.count < lb.count
    }

    /// ``<`` for two ASCII FQDNs, with the labels of ``labels``: compared from the right, each
    /// bytewise (a label that is a prefix of the other sorts first), then fewer labels first;
    /// nil when either name is not ASCII.
    static func asciiCanonicalLess(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard !a.contains(where: { $0 >= 0x80 }), !b.contains(where: { $0 >= 0x80 }) else { return nil }
        let dot = UInt8(ascii: ".")
        // The exclusive end of the rightmost label (the name without its last character, as
        // `withoutTrailingDot`), nil for the root, which has no labels.
        func first(_ p: UnsafeBufferPointer<UInt8>) -> Int? { p.count == 1 && p[0] == dot ? nil : Swift.max(p.count - 1, 0) }
        func start(_ p: UnsafeBufferPointer<UInt8>, _ end: Int) -> Int {
            var s = end
            while s > 0 && p[s - 1] != dot { s -= 1 }
            return s
        }
        var pa = first(a), pb = first(b)
        while let ea = pa, let eb = pb {
            let sa = start(a, ea), sb = start(b, eb)
            let na = ea - sa, nb = eb - sb
            for i in 0..<Swift.min(na, nb) where a[sa + i] != b[sb + i] { return a[sa + i] < b[sb + i] }
            if na != nb { return na < nb }
            pa = sa > 0 ? sa - 1 : nil
            pb = sb > 0 ? sb - 1 : nil
        }
        return pa == nil && pb != nil
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do { try self.init(s) } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(error)")
        }
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(fqdn)
    }

    static func canonicalize(_ body: String, original: String) throws -> String {
        if let fast = asciiCanonical(body) { return fast }
        var out: [String] = []
        for raw in body.split(separator: ".", omittingEmptySubsequences: false) {
            var label = String(raw)
            if label.isEmpty { throw DNSNameError(name: original, reason: "empty label") }
            if label.unicodeScalars.contains(where: { !$0.isASCII }) {
                label = try aLabel(label, original: original)
            }
            label = label.lowercased()
            if label.utf8.count > 63 {
                throw DNSNameError(name: original, reason: "label '\(label)' is longer than 63 bytes")
            }
            for ch in label.utf8 where ch <= 0x20 || ch == 0x7f || ch == 0x22 || ch == 0x5c || ch == 0x3b || ch == 0x28 || ch == 0x29 {
                throw DNSNameError(name: original, reason: "label '\(label)' contains a character not allowed in a name (whitespace, quote, backslash, ';' or parenthesis)")
            }
            out.append(label)
        }
        let joined = out.joined(separator: ".")
        if joined.utf8.count > 253 { throw DNSNameError(name: original, reason: "name is longer than 253 bytes") }
        return joined
    }

    /// ``canonicalize(_:original:)`` of an ASCII name that holds no error, in one pass over
    /// its bytes; nil for anything else (then the label-by-label path gives the result or the
    /// exact error).
    static func asciiCanonical(_ body: String) -> String? {
        let u = body.utf8
        let n = u.count
        guard n > 0, n <= 253 else { return nil }
        var needsLowering = false
        var labelLength = 0
        for ch in u {
            if ch == 0x2e {
                if labelLength == 0 { return nil }
                labelLength = 0
                continue
            }
            if ch <= 0x20 || ch >= 0x7f || ch == 0x22 || ch == 0x5c || ch == 0x3b || ch == 0x28 || ch == 0x29 { return nil }
            if ch >= 0x41 && ch <= 0x5a { needsLowering = true }
            labelLength += 1
            if labelLength > 63 { return nil }
        }
        if labelLength == 0 { return nil }
        if !needsLowering { return body }
        return String(decoding: u.map { $0 >= 0x41 && $0 <= 0x5a ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func aLabel(_ label: String, original: String) throws -> String {
        var output: UnsafeMutablePointer<CChar>? = nil
        let rc = idn2_to_ascii_8z(label, &output, Int32(IDN2_NONTRANSITIONAL.rawValue | IDN2_NFC_INPUT.rawValue))
        defer { if let output { idn2_free(output) } }
        guard rc == Int32(IDN2_OK.rawValue), let output else {
            let why = String(cString: idn2_strerror(rc))
            throw DNSNameError(name: original, reason: "label '\(label)' is not a valid internationalized label (\(why))")
        }
        return String(cString: output)
    }
}

/// A name that is not a valid DNS name, with the reason.
public struct DNSNameError: Error, CustomStringConvertible, Equatable {
    public let name: String
    public let reason: String
    public var description: String { "invalid DNS name '\(name)': \(reason)" }
}

extension String {
    /// The text without leading and trailing ASCII whitespace (space, tab, CR, LF), computed
    /// on UTF-8 without Foundation's bridging: this runs for every record read from a provider.
    public var trimmingASCIIWhitespace: String {
        let u = utf8
        func ws(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d }
        guard let first = u.firstIndex(where: { !ws($0) }) else { return "" }
        guard let last = u.lastIndex(where: { !ws($0) }) else { return "" }
        if first == u.startIndex && u.index(after: last) == u.endIndex { return self }
        return String(self[first...last])
    }
}
