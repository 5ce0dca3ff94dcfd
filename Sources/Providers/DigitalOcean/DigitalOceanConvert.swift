import Foundation
import MailPlan

/// Conversion between the DigitalOcean Domains API v2 JSON (the DigitalOcean API v2 reference, "Domain Records") and mailplan's
/// records.
///
/// - `name` is relative with `@` for the apex; it is written that way. A name read back
///   that already ends in the zone (`example.com`) is the apex, never
///   `example.com.example.com.` (case C09).
/// - MX/CNAME targets come back as FQDNs **without** the trailing dot, or `@` for the apex;
///   they are read as absolute, never re-appending the zone (case C06), and written with
///   the trailing dot. MX preference is the top-level `priority`, sent also when 0.
/// - TXT `data` is the raw, unquoted, joined value; DigitalOcean splits it on the wire and
///   caps the encoded size at about 512 bytes ([C] DNSControl rejects encoded TXT over 509).
public enum DigitalOceanConvert {
    /// A record object (only the fields mailplan uses; others are ignored).
    public struct APIRecord: Codable, Sendable, Equatable {
        public var id: Int
        public var type: String
        public var name: String
        public var data: String
        public var priority: Int?
        public var ttl: UInt32?
    }
    /// `GET /v2/domains/{name}/records` page.
    public struct RecordPage: Decodable, Sendable {
        public var domain_records: [APIRecord]
        public var links: Links?
        public var meta: Meta?
        public struct Links: Decodable, Sendable { public var pages: Pages? }
        public struct Pages: Decodable, Sendable { public var next: String?; public var last: String? }
        public struct Meta: Decodable, Sendable { public var total: Int? }
    }
    /// One domain of `GET /v2/domains` (and `GET /v2/domains/{name}`): its name and default TTL.
    public struct APIDomain: Decodable, Sendable { public var name: String; public var ttl: UInt32? }
    /// `GET /v2/domains` page.
    public struct DomainPage: Decodable, Sendable {
        public var domains: [APIDomain]
        public var links: RecordPage.Links?
        public var meta: RecordPage.Meta?
    }
    /// A record body for `POST` (create) and `PUT` (full replace).
    public struct WriteRecord: Encodable, Equatable, Sendable {
        public var type: String
        public var name: String
        public var data: String
        public var priority: Int?
        public var ttl: UInt32
    }
    /// The error body: `{"id": "unprocessable_entity", "message": "…", "request_id": "…"}`.
    public struct APIError: Decodable, Sendable { public var id: String?; public var message: String? }


    /// The largest encoded TXT size DigitalOcean accepts, in bytes: quotes, escapes and
    /// separators of the ≤255-byte strings counted ([C] DNSControl, from an observed
    /// 512-octet limit; the exact figure is [U], so the lower one is used).
    public static let maxEncodedTXT = 509

    /// A name inside record data: `@` is the apex; anything else is absolute (DigitalOcean
    /// returns FQDNs without the trailing dot).
    static func target(_ text: String, zone: DomainName, record: String) throws -> DomainName {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "@" { return zone }
        if t == "." { return .root }
        do { return try DomainName(t) } catch { throw ConvertError(message: "\(record): '\(text)' is not a host name (\(error))") }
    }

    /// One API record as (owner name, TTL, rdata); `defaultTTL` applies when `ttl` is absent.
    /// - Throws: ``ConvertError`` naming the record.
    public static func record(_ r: APIRecord, zone: DomainName, defaultTTL: UInt32) throws -> (name: DomainName, ttl: UInt32, rdata: RData) {
        let what = "record \(r.id) (\(r.name) \(r.type))"
        let name: DomainName
        do { name = try DomainName(r.name, relativeTo: zone) } catch { throw ConvertError(message: "\(what): bad name: \(error)") }
        let type = RRType(r.type)
        let rdata: RData
        switch type {
        case .a:
            guard let ip = IPv4Address(r.data) else { throw ConvertError(message: "\(what): '\(r.data)' is not an IPv4 address") }
            rdata = .a(ip)
        case .aaaa:
            guard let ip = IPv6Address(r.data) else { throw ConvertError(message: "\(what): '\(r.data)' is not an IPv6 address") }
            rdata = .aaaa(ip)
        case .mx:
            guard let p = r.priority, let pref = UInt16(exactly: p) else { throw ConvertError(message: "\(what): MX without a valid priority") }
            rdata = .mx(preference: pref, exchange: try target(r.data, zone: zone, record: what))
        case .txt:
            rdata = .txt(r.data)
        case .cname:
            rdata = .cname(try target(r.data, zone: zone, record: what))
        default:
            rdata = .other(type: type, presentation: r.data + (r.priority.map { " priority \($0)" } ?? ""))
        }
        return (name, r.ttl ?? defaultTTL, rdata)
    }

    /// The record body to write: relative name (`@` for the apex), targets with a trailing
    /// dot, TXT raw, `priority` for MX only.
    public static func writeRecord(name: DomainName, rdata: RData, ttl: UInt32, zone: DomainName) -> WriteRecord {
        var priority: Int? = nil
        let data: String
        switch rdata {
        case .mx(let p, let x): priority = Int(p); data = x.fqdn
        case .cname(let n): data = n.fqdn
        case .txt(let t): data = t.value
        default: data = rdata.presentation
        }
        return WriteRecord(type: rdata.type.rawValue, name: name.relative(to: zone), data: data, priority: priority, ttl: ttl)
    }

    /// The `domain_record.id` of a create's 201 body, or nil.
    public static func createdID(_ body: Data) -> String? {
        struct Created: Decodable { struct R: Decodable { var id: Int }; var domain_record: R }
        return (try? JSONDecoder().decode(Created.self, from: body)).map { String($0.domain_record.id) }
    }

    /// JSON with sorted keys, as sent.
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(value)
    }

    /// `id: message` of an error body, or nil.
    public static func errorText(_ body: Data) -> String? {
        guard let e = try? JSONDecoder().decode(APIError.self, from: body), e.id != nil || e.message != nil else { return nil }
        return [e.id, e.message].compactMap { $0 }.joined(separator: ": ")
    }
}
