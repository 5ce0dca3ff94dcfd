import CLDNS
import Foundation

/// Text that ldns hands out, for every ldns user (the resolver, the zone-file and RFC 2136
/// adapters): error strings and the malloc'd strings its `*2str` functions return.
public enum LDNSText {
    /// ldns's description of a status code (`ldns_get_errorstr_by_id`).
    public static func errorText(_ status: ldns_status) -> String {
        guard let p = ldns_get_errorstr_by_id(status) else { return "ldns status \(status.rawValue)" }
        return String(cString: p)
    }

    /// Copies a malloc'd C string from ldns (`ldns_rdf2str`, `ldns_rr2str`, …) into a Swift
    /// `String` and frees it; nil for a null pointer.
    public static func take(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        defer { free(p) }
        return String(cString: p)
    }
}

extension LDNSText {
    /// Something ldns could not print.
    public struct Unprintable: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// One RR in presentation parts: the owner as ldns prints it (absolute or relative, as
    /// read), the type, and the rdata fields joined by single spaces.
    /// - Throws: ``Unprintable`` naming the owner and what could not be printed.
    public static func presentation(of rr: UnsafeMutablePointer<ldns_rr>) throws -> (owner: String, type: RRType, rdata: String) {
        let owner = ldns_rr_owner(rr).flatMap { take(ldns_rdf2str($0)) } ?? ""
        guard let typeText = take(ldns_rr_type2str(ldns_rr_get_type(rr))) else {
            throw Unprintable(message: "record at \(owner) has a type ldns cannot print")
        }
        let type = RRType(typeText)
        var fields: [String] = []
        for i in 0..<ldns_rr_rd_count(rr) {
            guard let rdf = ldns_rr_rdf(rr, i), let s = take(ldns_rdf2str(rdf)) else {
                throw Unprintable(message: "\(owner) \(type): ldns cannot print rdata field \(i + 1)")
            }
            fields.append(s)
        }
        return (owner, type, fields.joined(separator: " "))
    }
}
