import Foundation
import MailPlan

/// Conversion between deSEC JSON (the deSEC API documentation, "Retrieving and Creating DNS Records") and ``RRset``.
///
/// RRsets are written by `subname` (relative, `""` for the apex in bodies) and read with
/// both `subname` and `name` (FQDN with trailing dot). `records` are presentation strings;
/// deSEC requires every TXT value to be quoted and every name inside rdata to end in a dot.
public enum DeSECConvert {
    /// One RRset as the API returns it (extra fields such as `created` are ignored).
    public struct APIRRset: Decodable, Equatable, Sendable {
        public var subname: String
        public var name: String?
        public var type: String
        public var ttl: UInt32
        public var records: [String]
    }

    /// One element of a bulk `PATCH /domains/{name}/rrsets/` body. `records: []` deletes;
    /// `ttl` is left out of a delete.
    public struct BulkItem: Codable, Equatable, Sendable {
        public var subname: String
        public var type: String
        public var ttl: UInt32?
        public var records: [String]
        public init(subname: String, type: String, ttl: UInt32?, records: [String]) {
            self.subname = subname; self.type = type; self.ttl = ttl; self.records = records
        }
    }

    struct APIDomain: Decodable, Sendable { var name: String; var minimum_ttl: UInt32? }

    /// The `subname` of `owner` in `zone`: `""` for the apex (bulk bodies do not accept `@`).
    /// - Throws: when `owner` is outside the zone.
    public static func subname(_ owner: DomainName, zone: DomainName) throws -> String {
        try RESTAPI.relativeName(owner, zone: zone, apex: "")
    }

    /// One API RRset as an ``RRset``.
    /// - Throws: a message naming the RRset when a record does not parse.
    public static func rrset(_ api: APIRRset, zone: DomainName) throws -> RRset {
        let type = RRType(api.type)
        let name = try RESTAPI.owner(api.subname, zone: zone)
        if let n = api.name, let full = try? DomainName(n), full != name {
            throw ConvertError("RRset subname '\(api.subname)' and name '\(n)' disagree")
        }
        let rdata = try api.records.map { r -> RData in
            do { return try RESTAPI.rdata(type, r, zone: zone) } catch {
                throw ConvertError("RRset \(name.fqdn) \(type): \(error)")
            }
        }
        return RRset(name: name, type: type, ttl: api.ttl, rdata: rdata)
    }

    /// The bulk items of a changeset, in its order: creates and updates with every record
    /// and the TTL, deletes as `records: []`.
    /// - Throws: when a (name, type) appears twice or a name is outside the zone.
    public static func bulkItems(_ changeset: ZoneChangeset) throws -> [BulkItem] {
        var seen = Set<RRsetKey>()
        return try changeset.changes.map { c in
            guard seen.insert(c.key).inserted else { throw ConvertError("the changeset changes \(c.key) twice") }
            let sub = try subname(c.name, zone: changeset.zone)
            guard c.action != .delete, let after = c.after, !after.rdata.isEmpty else {
                return BulkItem(subname: sub, type: c.type.rawValue, ttl: nil, records: [])
            }
            return BulkItem(subname: sub, type: c.type.rawValue, ttl: after.ttl, records: RESTAPI.values(after, keeping: c.before))
        }
    }

    /// The text of a Django REST Framework error value: strings, lists and objects of them
    /// flattened to `field: message; …`.
    static func errorText(_ v: Any) -> String {
        switch v {
        case let s as String: return s
        case let a as [Any]: return a.map(errorText).filter { !$0.isEmpty }.joined(separator: "; ")
        case let d as [String: Any]:
            return d.keys.sorted().map { k in
                let t = errorText(d[k]!)
                return k == "detail" || k == "non_field_errors" ? t : "\(k): \(t)"
            }.filter { !$0.isEmpty }.joined(separator: "; ")
        default: return "\(v)"
        }
    }
}
