import Foundation
import MailPlan

/// Conversion between Hetzner Cloud DNS JSON (zones and RRsets of the Cloud API,
/// the Hetzner Cloud API reference, "Zones" and "Zone RRSets") and ``RRset``.
///
/// Names in the API are relative, lower case, without trailing dot or zone suffix, `@` for
/// the apex. Values are zone-file presentation; TXT must be quoted strings of ≤255
/// characters; an MX or CNAME target without a trailing dot is relative to the zone, so
/// mailplan always writes targets absolute. `ttl: null` means the zone's default TTL.
public enum HetznerCloudConvert {
    /// One record of an RRset: its value (and a comment mailplan neither reads nor writes).
    public struct APIRecord: Codable, Equatable, Sendable {
        public var value: String
        public var comment: String?
        public init(value: String, comment: String? = nil) { self.value = value; self.comment = comment }
    }

    /// One RRset as listed by `GET /zones/{zone}/rrsets`.
    public struct APIRRset: Codable, Equatable, Sendable {
        public var name: String
        public var type: String
        public var ttl: UInt32?
        public var records: [APIRecord]
        public init(name: String, type: String, ttl: UInt32?, records: [APIRecord]) {
            self.name = name; self.type = type; self.ttl = ttl; self.records = records
        }
    }

    struct APIZone: Decodable, Sendable { var id: Int64; var name: String; var mode: String?; var ttl: UInt32?; var status: String? }
    struct ZoneList: Decodable { var zones: [APIZone]; var meta: Meta? }
    struct ZoneEnvelope: Decodable { var zone: APIZone }
    struct Pagination: Decodable {
        var page: Int; var per_page: Int; var next_page: Int?; var last_page: Int?; var total_entries: Int?
    }
    struct Meta: Decodable { var pagination: Pagination? }
    struct ListEnvelope: Decodable { var rrsets: [APIRRset]; var meta: Meta? }
    struct ActionError: Decodable { var code: String?; var message: String? }
    struct Action: Decodable { var id: Int64; var command: String?; var status: String; var error: ActionError? }
    struct ActionEnvelope: Decodable { var action: Action }
    struct ErrorBody: Decodable { var code: String?; var message: String? }
    struct ErrorEnvelope: Decodable { var error: ErrorBody }

    /// `POST /zones/{zone}/rrsets`.
    struct CreateBody: Encodable { var name: String; var type: String; var ttl: UInt32; var records: [WriteRecord] }
    /// `POST …/actions/set_records`.
    struct RecordsBody: Encodable { var records: [WriteRecord] }
    /// `POST …/actions/change_ttl`.
    struct TTLBody: Encodable { var ttl: UInt32 }
    struct WriteRecord: Encodable, Equatable { var value: String }

    /// The API name of `owner` in `zone`: `@` for the apex, else the relative labels.
    /// - Throws: when `owner` is outside the zone.
    public static func apiName(_ owner: DomainName, zone: DomainName) throws -> String {
        guard owner.isSubdomain(of: zone) else {
            throw ConvertError("\(owner.fqdn) is outside zone \(zone.fqdn)")
        }
        return owner.relative(to: zone, apex: "@")
    }

    /// The values to write for an RRset: TXT as quoted ≤255-character strings, names absolute.
    public static func values(_ rrset: RRset, keeping before: RRset? = nil) -> [String] { RESTAPI.values(rrset, keeping: before) }

    /// One listed RRset as an ``RRset``; `ttl: null` becomes `zoneTTL`.
    /// - Throws: a message naming the RRset when a value does not parse or no TTL is known.
    public static func rrset(_ api: APIRRset, zone: DomainName, zoneTTL: UInt32?) throws -> RRset {
        let type = RRType(api.type)
        let name = try RESTAPI.owner(api.name, zone: zone)
        guard let ttl = api.ttl ?? zoneTTL else {
            throw ConvertError("RRset \(name.fqdn) \(type) has ttl null and the zone has no default TTL")
        }
        let rdata = try api.records.map { r -> RData in
            do { return try RESTAPI.rdata(type, r.value, zone: zone) } catch {
                throw ConvertError("RRset \(name.fqdn) \(type): \(error)")
            }
        }
        return RRset(name: name, type: type, ttl: ttl, rdata: rdata)
    }

    /// `error.code: error.message` of an error body, or nil when the body is not one.
    static func errorText(_ body: Data) -> String? {
        guard let e = try? JSONDecoder().decode(ErrorEnvelope.self, from: body) else { return nil }
        return [e.error.code, e.error.message].compactMap { $0 }.joined(separator: ": ")
    }
    static func errorCode(_ body: Data) -> String? { (try? JSONDecoder().decode(ErrorEnvelope.self, from: body))?.error.code }
}
