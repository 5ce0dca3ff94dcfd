import Foundation
import MailPlan

/// One record as read from a master file or a zone transfer: owner, TTL in seconds and
/// typed rdata (the zone-file and RFC 2136 adapters).
typealias ZoneRecord = (name: DomainName, ttl: UInt32, rdata: RData)

/// A problem converting what a provider returns (JSON, XML, presentation text) into the
/// record model, or a Changeset into what it accepts; the message names the record. One
/// type for every adapter.
public struct ConvertError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public init(message: String) { self.message = message }
    public var description: String { message }

    /// A decoding error in words: where in the document (`at rrsets.0.ttl:`) and what was
    /// wrong, without Foundation's type names.
    public static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c),
             DecodingError.dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "at \(path): ") + c.debugDescription
        case DecodingError.keyNotFound(let k, let c):
            let path = (c.codingPath + [k]).map(\.stringValue).joined(separator: ".")
            return "missing \(path)"
        default: return "\(error)"
        }
    }
}

/// Matching a provider's error message to the changes it is about (shared by the adapters
/// whose APIs name the RRset they refuse: PowerDNS, Route 53).
public enum ChangeNames {
    /// The changes an API error message is about: those whose `name IN TYPE` or `name/TYPE`
    /// it quotes, else those whose name it quotes; empty when it names none.
    public static func named(in message: String, _ changes: [Change]) -> [Change] {
        let lower = message.lowercased()
        let exact = changes.filter { c in
            let n = c.name.fqdn.lowercased(), t = c.type.rawValue.lowercased()
            return lower.contains("\(n) in \(t)") || lower.contains("\(n)/\(t)")
        }
        if !exact.isEmpty { return exact }
        return changes.filter { c in
            let n = c.name.fqdn.lowercased()
            guard let r = lower.range(of: n) else { return false }
            // the name must start at a word boundary ("a.example.com." is not "mail.example.com.")
            guard r.lowerBound != lower.startIndex else { return true }
            let before = lower[lower.index(before: r.lowerBound)]
            return !(before.isLetter || before.isNumber || "-_.".contains(before))
        }
    }
}
