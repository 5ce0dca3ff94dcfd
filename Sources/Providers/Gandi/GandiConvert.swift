import Foundation
import MailPlan

/// Conversion between Gandi LiveDNS v5 JSON (the Gandi LiveDNS API v5 reference) and ``RRset``.
///
/// `rrset_name` is relative with `@` for the apex; `rrset_values` are presentation strings.
/// Gandi returns TXT values quoted; targets may come back without a trailing dot and are
/// then relative to the zone. mailplan writes TXT as quoted ≤255-byte chunks and every
/// target absolute.
public enum GandiConvert {
    /// One RRset as listed by `GET /domains/{fqdn}/records`.
    public struct APIRRset: Decodable, Equatable, Sendable {
        public var rrset_name: String
        public var rrset_type: String
        public var rrset_ttl: UInt32?
        public var rrset_values: [String]
    }

    /// The body of `PUT /domains/{fqdn}/records/{name}/{type}` (create or replace one RRset).
    public struct PutBody: Codable, Equatable, Sendable {
        public var rrset_ttl: UInt32
        public var rrset_values: [String]
    }

    /// Gandi's default TTL, used when an RRset comes back without `rrset_ttl` [C fixture].
    static let defaultTTL: UInt32 = 10_800

    /// The `rrset_name` of `owner` in `zone`: `@` for the apex.
    /// - Throws: when `owner` is outside the zone.
    public static func name(_ owner: DomainName, zone: DomainName) throws -> String {
        try RESTAPI.relativeName(owner, zone: zone, apex: "@")
    }

    /// One listed RRset as an ``RRset``.
    /// - Throws: a message naming the RRset when a value does not parse.
    public static func rrset(_ api: APIRRset, zone: DomainName) throws -> RRset {
        let type = RRType(api.rrset_type)
        let name = try RESTAPI.owner(api.rrset_name, zone: zone)
        let rdata = try api.rrset_values.map { v -> RData in
            do { return try RESTAPI.rdata(type, v, zone: zone) } catch {
                throw ConvertError("RRset \(name.fqdn) \(type): \(error)")
            }
        }
        return RRset(name: name, type: type, ttl: api.rrset_ttl ?? defaultTTL, rdata: rdata)
    }

    /// The PUT body for `rrset`; values `before` holds are written exactly as read.
    public static func putBody(_ rrset: RRset, keeping before: RRset? = nil) -> PutBody {
        PutBody(rrset_ttl: rrset.ttl, rrset_values: RESTAPI.values(rrset, keeping: before))
    }

    /// The message of a Gandi error body: `{code,message,object,cause}` or
    /// `{status:"error",errors:[{location,name,description}]}`; nil when it is neither.
    static func errorText(_ body: Data) -> String? {
        guard let o = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] else { return nil }
        if let errs = o["errors"] as? [[String: Any]], !errs.isEmpty {
            return errs.map { e in [e["name"] as? String, e["description"] as? String].compactMap { $0 }.joined(separator: ": ") }
                .joined(separator: "; ")
        }
        if let m = o["message"] as? String { return m }
        return nil
    }
}
