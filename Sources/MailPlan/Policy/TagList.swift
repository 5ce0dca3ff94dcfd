import Foundation

/// A `tag=value;` list (RFC 6376 §3.2): a DKIM-Signature field, a DKIM key record, and the
/// records that borrow the syntax (DMARC, RFC 7489 §6.4; TLS-RPT, RFC 8460 §3; MTA-STS,
/// RFC 8461 §3.1). The one parser of such records.
public struct TagList: Sendable, Hashable {
    /// The tags in order, names as written (tag names are case-sensitive), values with FWS
    /// at both ends removed.
    public let tags: [(name: String, value: String)]

    public static func == (a: TagList, b: TagList) -> Bool { a.tags.map(\.name) == b.tags.map(\.name) && a.tags.map(\.value) == b.tags.map(\.value) }
    public func hash(into h: inout Hasher) { for t in tags { h.combine(t.name); h.combine(t.value) } }

    /// The value of tag `name`, nil when absent.
    public subscript(_ name: String) -> String? { tags.first { $0.name == name }?.value }

    /// Parses `tag-list = tag-spec *( ";" tag-spec ) [ ";" ]` (RFC 6376 §3.2).
    /// - Throws: a reason when a tag has no `=`, a tag name is not `ALPHA *(ALPHA / DIGIT / "_")`,
    ///   or a tag appears twice ("MUST be treated as an error").
    public static func parse(_ text: String) throws -> TagList {
        var out: [(String, String)] = []
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            let p = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if p.isEmpty { continue }
            guard let eq = p.firstIndex(of: "=") else { throw TagError("'\(p.prefix(40))' is not a tag=value pair (RFC 6376 §3.2)") }
            let name = String(p[..<eq]).trimmingCharacters(in: .whitespacesAndNewlines)
            let letter: (Unicode.Scalar) -> Bool = { ("a"..."z").contains($0) || ("A"..."Z").contains($0) }
            guard let f = name.unicodeScalars.first, letter(f),
                  name.unicodeScalars.allSatisfy({ letter($0) || ("0"..."9").contains($0) || $0 == "_" }) else {
                throw TagError("'\(name.prefix(40))' is not a tag name (RFC 6376 §3.2)")
            }
            let value = String(p[p.index(after: eq)...]).trimmingCharacters(in: .whitespacesAndNewlines)
            if out.contains(where: { $0.0 == name }) { throw TagError("tag \(name)= appears twice (RFC 6376 §3.2)") }
            out.append((name, value))
        }
        return TagList(tags: out)
    }

    /// A tolerant reading for records mailplan only inspects (a live DMARC `p=`, a TLS-RPT
    /// `rua=`): parts without `=` are skipped, a repeated tag keeps its first value.
    public static func lenient(_ text: String) -> TagList {
        var out: [(String, String)] = []
        for case .tag(let name, let value) in parts(text) where !out.contains(where: { $0.0 == name }) { out.append((name, value)) }
        return TagList(tags: out)
    }

    /// One `;`-separated part of a tag list, trimmed: a `name=value` tag or text that is not one.
    public enum Part: Sendable, Equatable {
        case tag(name: String, value: String)
        case malformed(String)
    }

    /// Every non-empty part of `text` in order, for checks that report each bad part
    /// (`mailplan check` on a live DMARC record).
    public static func parts(_ text: String) -> [Part] {
        text.split(separator: ";").compactMap { part in
            let p = part.trimmingCharacters(in: .whitespacesAndNewlines)
            if p.isEmpty { return nil }
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else { return .malformed(p) }
            return .tag(name: p[..<eq].trimmingCharacters(in: .whitespacesAndNewlines),
                        value: p[p.index(after: eq)...].trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The value of tag `name` compared without case (DMARC readers accept `P=reject`).
    public func value(caseInsensitive name: String) -> String? {
        let n = name.lowercased()
        return tags.first { $0.name.lowercased() == n }?.value
    }

    /// The tags written back as `name=value` joined by `"; "`.
    public var text: String { tags.map { "\($0.name)=\($0.value)" }.joined(separator: "; ") }

    /// A value with all whitespace (FWS) removed: `b=`, `bh=`, `p=` (RFC 6376 §3.5, §3.6.1).
    public static func compact(_ v: String) -> String { String(v.unicodeScalars.filter { !($0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n") }.map(Character.init)) }

    /// Strict base64 (RFC 6376 §2.4: `base64string = ALPHADIGITPS *([FWS] ALPHADIGITPS) [[FWS] "=" [[FWS] "="]]`).
    static func base64(_ v: String) -> [UInt8]? {
        let c = compact(v)
        guard c.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "+" || $0 == "/" || $0 == "=") }) else { return nil }
        return Data(base64Encoded: c).map { [UInt8]($0) }
    }
}

/// A tag list or field that is not valid, with the reason.
public struct TagError: Error, Sendable, CustomStringConvertible, Equatable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
