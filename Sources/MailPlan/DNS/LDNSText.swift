import CLDNS
import Foundation

/// Text that ldns hands out, for every ldns user (the resolver, the zone-file and RFC 2136
/// adapters): error strings, the malloc'd strings its `*2str` functions return, and one RR
/// as a model record. Its functions that take ldns types are `package`: visible to the
/// adapters of this package, never part of the public API (docs/architecture.md).
public enum LDNSText {
    /// ldns's description of a status code (`ldns_get_errorstr_by_id`).
    package static func errorText(_ status: ldns_status) -> String {
        guard let p = ldns_get_errorstr_by_id(status) else { return "ldns status \(status.rawValue)" }
        return String(cString: p)
    }

    /// Copies a malloc'd C string from ldns (`ldns_rdf2str`, `ldns_rr2str`, …) into a Swift
    /// `String` and frees it; nil for a null pointer.
    package static func take(_ p: UnsafeMutablePointer<CChar>?) -> String? {
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
    package static func presentation(of rr: UnsafeMutablePointer<ldns_rr>) throws -> (owner: String, type: RRType, rdata: String) {
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

extension LDNSText {
    /// One ldns RR as a model record: owner via `ldns_rdf2str` (relative names resolved
    /// against `origin`), TTL in seconds, rdata as the rdfs' presentation parsed with
    /// ``RData/parse(type:_:origin:)``. Used by the zone-file and RFC 2136 adapters.
    /// - Throws: ``Unprintable`` naming the record: a class other than IN, a name or rdata
    ///   the model refuses.
    package static func record(from rr: UnsafeMutablePointer<ldns_rr>, origin: DomainName) throws -> (name: DomainName, ttl: UInt32, rdata: RData) {
        if ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN {
            let owner = ldns_rr_owner(rr).flatMap { take(ldns_rdf2str($0)) } ?? ""
            let cls = take(ldns_rr_class2str(ldns_rr_get_class(rr))) ?? "?"
            let type = take(ldns_rr_type2str(ldns_rr_get_type(rr))) ?? "?"
            throw Unprintable(message: "\(owner) \(type): class \(cls) is not supported (only IN)")
        }
        let (ownerText, type, rdataText) = try presentation(of: rr)
        let name: DomainName
        do { name = try DomainName(ownerText, relativeTo: origin) } catch {
            throw Unprintable(message: "owner \(ownerText): \(error)")
        }
        do {
            return (name, ldns_rr_ttl(rr), try RData.parse(type: type, rdataText, origin: origin))
        } catch {
            throw Unprintable(message: "\(name.fqdn) \(type): \(error)")
        }
    }
}
