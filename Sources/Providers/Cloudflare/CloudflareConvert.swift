import Foundation
import MailPlan

/// Conversion between Cloudflare API v4 JSON (the Cloudflare API v4 reference, "DNS Records for a Zone") and mailplan's records.
///
/// - Names come back as FQDNs without a trailing dot, in Punycode; they are written the
///   same way (never relative, so `example.com` can never become `example.com.example.com`).
/// - MX: the exchange in `content` (no trailing dot; `.` for a null MX) and the preference
///   in the top-level `priority`, always sent, also when it is 0 (case C07).
/// - TXT: written as quoted ≤255-byte chunks; read with the rule "starts and ends with `"`
///   → quoted strings, else raw" (``TXTCodec/decode(_:)``, case C01).
/// - TTL `1` means automatic.
public enum CloudflareConvert {
    /// The response envelope of every call: `{"success", "errors", "messages", "result", "result_info"}`.
    public struct Envelope<R: Decodable>: Decodable {
        public var success: Bool
        public var errors: [APIMessage]?
        public var result: R?
        public var result_info: ResultInfo?
    }
    /// One entry of `errors` / `messages`.
    public struct APIMessage: Codable, Sendable, Equatable {
        public var code: Int?
        public var message: String?
    }
    /// Paging data of a list response.
    public struct ResultInfo: Decodable, Sendable {
        public var page: Int?
        public var per_page: Int?
        public var count: Int?
        public var total_count: Int?
        public var total_pages: Int?
    }
    /// A zone object (only the fields mailplan uses).
    public struct APIZone: Decodable, Sendable {
        public var id: String
        public var name: String
        public var status: String?
        public var account: Account?
        public struct Account: Decodable, Sendable { public var id: String?; public var name: String? }
    }
    /// A DNS record object (only the fields mailplan uses; others are ignored).
    public struct APIRecord: Decodable, Sendable {
        public var id: String
        public var type: String
        public var name: String
        public var content: String?
        public var ttl: UInt32?
        public var priority: Int?
        public var proxied: Bool?
        public var meta: Meta?
        public struct Meta: Decodable, Sendable { public var read_only: Bool? }
    }

    /// A record body as sent in a batch `posts`/`puts` entry (`id` only for `puts`), or a
    /// `patches` entry (only `id` and what changes).
    public struct WriteRecord: Encodable, Equatable, Sendable {
        public var id: String?
        public var type: String?
        public var name: String?
        public var content: String?
        public var priority: Int?
        public var ttl: UInt32?
        public var proxied: Bool?
    }
    /// The body of `POST /zones/{id}/dns_records/batch`. The API runs it as deletes →
    /// patches → puts → posts in one database transaction.
    public struct Batch: Encodable, Equatable, Sendable {
        public var deletes: [IDOnly] = []
        public var patches: [WriteRecord] = []
        public var puts: [WriteRecord] = []
        public var posts: [WriteRecord] = []
        public struct IDOnly: Encodable, Equatable, Sendable { public var id: String }
        public var count: Int { deletes.count + patches.count + puts.count + posts.count }
    }


    /// The types proxying applies to (A, AAAA, CNAME).
    public static let proxiableTypes: Set<RRType> = [.a, .aaaa, .cname]

    /// A name inside record data as Cloudflare returns it: absolute without the trailing
    /// dot; `.` is the root (null MX).
    static func hostname(_ text: String, record: String) throws -> DomainName {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "." || t.isEmpty { return .root }
        do { return try DomainName(t) } catch { throw ConvertError(message: "\(record): '\(text)' is not a host name (\(error))") }
    }

    /// One API record as (name, TTL, rdata) plus whether its stored form needs a rewrite.
    /// Types mailplan does not write are kept as opaque text so they are never mistaken for
    /// something else.
    /// - Throws: ``ConvertError`` naming the record when it cannot be read.
    public static func record(_ r: APIRecord, zone: DomainName) throws -> (name: DomainName, ttl: UInt32, rdata: RData, overlongTXT: Bool) {
        let what = "record \(r.id) (\(r.name) \(r.type))"
        let name: DomainName
        do { name = try DomainName(r.name) } catch { throw ConvertError(message: "\(what): bad name: \(error)") }
        let type = RRType(r.type)
        guard let ttl = r.ttl else { throw ConvertError(message: "\(what): no ttl") }
        let content = r.content ?? ""
        var overlong = false
        let rdata: RData
        switch type {
        case .a:
            guard let ip = IPv4Address(content) else { throw ConvertError(message: "\(what): '\(content)' is not an IPv4 address") }
            rdata = .a(ip)
        case .aaaa:
            guard let ip = IPv6Address(content) else { throw ConvertError(message: "\(what): '\(content)' is not an IPv6 address") }
            rdata = .aaaa(ip)
        case .mx:
            guard let p = r.priority, let pref = UInt16(exactly: p) else {
                throw ConvertError(message: "\(what): MX without a valid priority")
            }
            rdata = .mx(preference: pref, exchange: try hostname(content, record: what))
        case .txt:
            let t = TXTCodec.decodeStrings(content)
            rdata = .txt(t)
            overlong = t.strings.contains { $0.count > 255 }
        case .cname:
            rdata = .cname(try hostname(content, record: what))
        default:
            rdata = .other(type: type, presentation: content)
        }
        return (name, ttl, rdata, overlong)
    }

    /// The `content` to write for rdata.
    public static func content(_ rdata: RData) -> String {
        switch rdata {
        case .mx(_, let x): x == .root ? "." : x.withoutTrailingDot
        case .cname(let n): n.withoutTrailingDot
        default: rdata.presentation
        }
    }

    /// A full record body (for `posts` and `puts`). `proxied` is sent only for A, AAAA and
    /// CNAME; `priority` always for MX (0 included).
    public static func writeRecord(id: String? = nil, name: DomainName, rdata: RData, ttl: UInt32, proxied: Bool) -> WriteRecord {
        var priority: Int? = nil
        if case .mx(let p, _) = rdata { priority = Int(p) }
        return WriteRecord(id: id, type: rdata.type.rawValue, name: name.withoutTrailingDot, content: content(rdata),
                           priority: priority, ttl: ttl,
                           proxied: proxiableTypes.contains(rdata.type) ? proxied : nil)
    }

    /// JSON with sorted keys, as sent (stable for tests and logs).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try enc.encode(value)
    }

    /// The error list of an envelope as one line: `81058 An identical record already exists.; …`.
    public static func errorText(_ body: Data) -> String? {
        struct E: Decodable { var errors: [APIMessage]? }
        guard let e = try? JSONDecoder().decode(E.self, from: body), let list = e.errors, !list.isEmpty else { return nil }
        return list.map { m in [m.code.map(String.init), m.message].compactMap { $0 }.joined(separator: " ") }.joined(separator: "; ")
    }
}
