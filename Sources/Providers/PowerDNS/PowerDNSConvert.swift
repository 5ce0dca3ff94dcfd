import Foundation
import MailPlan

/// Conversion between the PowerDNS HTTP API's JSON (the PowerDNS Authoritative HTTP API reference, "Zones") and ``RRset``.
///
/// Names in the API are absolute with a trailing dot; `records[].content` is zone-file
/// presentation exactly as PowerDNS prints it (TXT quoted, in ≤255-byte chunks here), which
/// is what ``RData/presentation`` produces.
public enum PowerDNSConvert {
    /// One RRset as the API sends and accepts it.
    public struct APIRRset: Codable, Equatable, Sendable {
        public var name: String
        public var type: String
        public var ttl: UInt32?
        public var changetype: String?
        public var records: [APIRecord]?
        public init(name: String, type: String, ttl: UInt32? = nil, changetype: String? = nil, records: [APIRecord]? = nil) {
            self.name = name; self.type = type; self.ttl = ttl; self.changetype = changetype; self.records = records
        }
    }

    /// One record of an ``APIRRset``.
    public struct APIRecord: Codable, Equatable, Sendable {
        public var content: String
        public var disabled: Bool?
        public init(content: String, disabled: Bool? = false) { self.content = content; self.disabled = disabled }
    }

    struct APIZone: Decodable { var name: String?; var rrsets: [APIRRset]? }
    struct APIPatch: Encodable { var rrsets: [APIRRset] }
    /// The API's error body: `{"error": "…", "errors": ["…"]}`.
    struct APIError: Decodable { var error: String?; var errors: [String]? }


    /// The zone ID in URLs: the name with its trailing dot; bytes other than letters,
    /// digits, `-`, `_` and `.` are written `=XX` (PowerDNS's own escaping, e.g. `/` → `=2F`).
    public static func zoneID(_ zone: DomainName) -> String {
        var out = ""
        for b in zone.fqdn.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
                out.unicodeScalars.append(UnicodeScalar(b))
            default: out += String(format: "=%02X", b)
            }
        }
        return out
    }

    /// The RRsets of a zone GET response body. Disabled records are left out; an RRset
    /// whose records are all disabled is left out too.
    /// - Throws: ``ConvertError`` for a body that is not a zone or a record that does not parse.
    public static func rrsets(fromZoneJSON data: Data, zone: DomainName) throws -> [RRset] {
        let z: APIZone
        do { z = try JSONDecoder().decode(APIZone.self, from: data) } catch {
            throw ConvertError(message: "the body is not a PowerDNS zone object (\(ConvertError.describe(error)))")
        }
        guard let sets = z.rrsets else { throw ConvertError(message: "the zone object has no 'rrsets'") }
        return try sets.compactMap { try rrset(from: $0, zone: zone) }
    }

    /// One API RRset as an ``RRset``, or nil when it has no enabled records.
    public static func rrset(from api: APIRRset, zone: DomainName) throws -> RRset? {
        let name: DomainName
        do { name = try DomainName(api.name) } catch {
            throw ConvertError(message: "RRset name '\(api.name)' is not a valid name: \(error)")
        }
        let type = RRType(api.type)
        let enabled = (api.records ?? []).filter { $0.disabled != true }
        guard !enabled.isEmpty else { return nil }
        guard let ttl = api.ttl else { throw ConvertError(message: "RRset \(name.fqdn) \(type) has no ttl") }
        let rdata = try enabled.map { r -> RData in
            do { return try RData.parse(type: type, r.content, origin: zone) } catch {
                throw ConvertError(message: "RRset \(name.fqdn) \(type): \(error)")
            }
        }
        return RRset(name: name, type: type, ttl: ttl, rdata: rdata)
    }

    /// The API form of `rrset` with `changetype: REPLACE` (every record, the TTL).
    public static func replace(_ rrset: RRset) -> APIRRset {
        APIRRset(name: rrset.name.fqdn, type: rrset.type.rawValue, ttl: rrset.ttl, changetype: "REPLACE",
                 records: rrset.rdata.map { APIRecord(content: $0.presentation, disabled: false) })
    }

    /// The API form of deleting the RRset at (name, type): no TTL, no records.
    public static func delete(name: DomainName, type: RRType) -> APIRRset {
        APIRRset(name: name.fqdn, type: type.rawValue, changetype: "DELETE")
    }

    /// The API RRsets for a changeset, deletes first (so an A can become a CNAME in one
    /// PATCH), then REPLACE for every create and update.
    /// - Throws: ``ConvertError`` when a (name, type) appears twice or a create/update has no `after`.
    public static func patchRRsets(_ changeset: ZoneChangeset) throws -> [APIRRset] {
        var seen = Set<RRsetKey>()
        for c in changeset.changes where !seen.insert(c.key).inserted {
            throw ConvertError(message: "the changeset changes \(c.key) twice")
        }
        var deletes: [APIRRset] = [], replaces: [APIRRset] = []
        for c in changeset.changes {
            switch c.action {
            case .delete: deletes.append(delete(name: c.name, type: c.type))
            case .create, .update:
                guard let after = c.after else { throw ConvertError(message: "\(c.action) of \(c.key) has no records to write") }
                // A set emptied by an update is a delete in PowerDNS terms.
                replaces.append(after.rdata.isEmpty ? delete(name: c.name, type: c.type) : replace(after))
            }
        }
        return deletes + replaces
    }

    /// The PATCH body for a changeset: `{"rrsets": [...]}`.
    public static func patchBody(_ changeset: ZoneChangeset) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(APIPatch(rrsets: try patchRRsets(changeset)))
    }

    /// The `error` text of an API error body (with `errors` appended), or nil.
    public static func errorText(_ body: Data) -> String? {
        guard let e = try? JSONDecoder().decode(APIError.self, from: body), let msg = e.error, !msg.isEmpty else { return nil }
        let extra = (e.errors ?? []).filter { $0 != msg }
        return extra.isEmpty ? msg : msg + " (" + extra.joined(separator: "; ") + ")"
    }


}
