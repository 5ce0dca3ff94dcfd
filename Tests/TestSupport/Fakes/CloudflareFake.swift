import Foundation
import MailPlan

/// A stateful fake of the Cloudflare API v4 DNS endpoints on
/// loopback, under `/client/v4`:
///
/// - `GET /zones?name=&account.id=&page=&per_page=` (per_page ≤ 50),
/// - `GET /zones/{id}/dns_records?page=&per_page=` (per_page capped at ``maxPerPage``),
/// - `POST /zones/{id}/dns_records/batch` (deletes → patches → puts → posts, one transaction:
///   any error rolls the whole batch back; at most ``maxBatch`` operations).
///
/// Every response has the envelope; IDs are 32 hex digits; names are returned as FQDNs
/// without a dot whatever was sent; MX `content` without the trailing dot and `priority`
/// separate; TXT `content` echoed verbatim; proxied records are stored with TTL 1.
/// Strict mode (default) rejects what the real API rejects: MX without `priority`, TTL not
/// 1 and outside 60–86400, `proxied` on a type that cannot be proxied, an empty TXT, an
/// identical record (81058), A/AAAA/CNAME sharing a name with a CNAME (81053), an unknown
/// record ID (81044), a bad address, a missing bearer token (403, 10000).
final class CloudflareFake: @unchecked Sendable {
    struct Zone { var id: String; var name: String; var accountID: String }
    struct Record: Equatable {
        var id: String
        var zoneID: String
        var type: String
        var name: String
        var content: String
        var ttl: Int
        var priority: Int?
        var proxied: Bool
    }

    let token: String
    private let lock = NSLock()
    private var _zones: [Zone] = []
    private var _records: [Record] = []
    private var nextID = 0x1000
    private var scripted: [FakeSupport.Scripted] = []
    private var batches = 0
    var strict = true
    /// Largest `per_page` honoured for record lists (the real default is 100).
    var maxPerPage = 100
    /// Largest number of operations in one batch (Free plan: 200).
    var maxBatch = 200
    /// 0-based indexes of batch requests to refuse with HTTP 400 (code 1004).
    var failBatches: Set<Int> = []
    /// Added to `total_count` of record lists, to simulate a listing that does not add up.
    var totalCountSkew = 0
    /// When set, the fake keeps Cloudflare's documented limit (1,200 requests per five
    /// minutes) scaled as given, answering 429 with `Retry-After` past it (``rateLimited(retryAfter:)``).
    var rateLimit: EnforcedRateLimit?
    private(set) var server: FakeHTTPServer!

    var url: String { server.url + "/client/v4" }
    var records: [Record] { lock.lock(); defer { lock.unlock() }; return _records }
    var requests: [FakeHTTPServer.Request] { server.requests }
    /// The writes received (method, path, body), in order.
    var writes: [(method: String, path: String, body: String)] {
        requests.filter { $0.method != "GET" }.map { ($0.method, $0.path, String(decoding: $0.body, as: UTF8.self)) }
    }

    init(token: String) throws {
        self.token = token
        server = try FakeHTTPServer { [weak self] req, _ in
            self?.handle(req) ?? .init(500, "fake gone")
        }
    }

    private func newID() -> String { nextID += 1; return String(format: "%032x", nextID) }

    /// Adds a zone; returns its ID.
    @discardableResult
    func addZone(_ name: String, accountID: String = "01a7362d577a6c3019a474fd6f485823") -> String {
        lock.lock(); defer { lock.unlock() }
        let id = newID()
        _zones.append(Zone(id: id, name: name, accountID: accountID))
        return id
    }

    /// Stores a record as given (no validation: for seeding live state); returns its ID.
    @discardableResult
    func seed(zone: String, _ type: String, _ name: String, _ content: String, ttl: Int = 3600, priority: Int? = nil, proxied: Bool = false) -> String {
        lock.lock(); defer { lock.unlock() }
        let z = _zones.first { $0.name == zone }!
        let id = newID()
        _records.append(Record(id: id, zoneID: z.id, type: type, name: name, content: content, ttl: proxied ? 1 : ttl, priority: priority, proxied: proxied))
        return id
    }

    /// The next `times` requests matching `method` and `pathContains` get `response`.
    func script(_ method: String, _ pathContains: String, _ response: FakeHTTPServer.Response, times: Int = 1) {
        lock.lock(); scripted.append(.init(method: method, pathContains: pathContains, response: response, times: times)); lock.unlock()
    }

    /// The 429 Cloudflare sends when rate limited.
    static func rateLimited(retryAfter: Int) -> FakeHTTPServer.Response {
        .init(429, headers: ["retry-after": String(retryAfter), "Content-Type": "application/json"],
              envelopeError(971, "Please wait and consider throttling your request speed"))
    }

    static func envelopeError(_ code: Int, _ message: String) -> String {
        FakeSupport.json(["success": false, "errors": [["code": code, "message": message]], "messages": [], "result": NSNull()] as [String: Any])
    }

    func json(_ r: Record) -> [String: Any] {
        let zoneName = _zones.first { $0.id == r.zoneID }?.name ?? ""
        var o: [String: Any] = ["id": r.id, "zone_id": r.zoneID, "zone_name": zoneName, "name": r.name, "type": r.type,
                                "content": r.content, "proxiable": ["A", "AAAA", "CNAME"].contains(r.type), "proxied": r.proxied,
                                "ttl": r.ttl, "comment": NSNull(), "tags": [], "meta": [:] as [String: Any],
                                "created_on": "2026-01-01T00:00:00Z", "modified_on": "2026-01-01T00:00:00Z"]
        if let p = r.priority { o["priority"] = p }
        return o
    }

    private func ok(_ result: Any, info: [String: Any]? = nil) -> FakeHTTPServer.Response {
        var o: [String: Any] = ["success": true, "errors": [], "messages": [], "result": result]
        if let info { o["result_info"] = info }
        return .init(200, headers: ["Content-Type": "application/json", "Ratelimit": "\"default\";r=1199;t=300",
                                    "Ratelimit-Policy": "\"default\";q=1200;w=300"], FakeSupport.json(o))
    }
    private func fail(_ status: Int, _ code: Int, _ message: String) -> FakeHTTPServer.Response {
        .init(status, headers: ["Content-Type": "application/json"], Self.envelopeError(code, message))
    }

    private func page(_ items: [[String: Any]], query: [String: String], defaultPerPage: Int, cap: Int, skew: Int = 0) -> FakeHTTPServer.Response {
        let perPage = min(max(1, Int(query["per_page"] ?? "") ?? defaultPerPage), cap)
        let page = max(1, Int(query["page"] ?? "") ?? 1)
        let start = min(items.count, (page - 1) * perPage)
        let slice = Array(items[start..<min(items.count, start + perPage)])
        let totalPages = max(1, (items.count + perPage - 1) / perPage)
        return ok(slice, info: ["page": page, "per_page": perPage, "count": slice.count,
                                "total_count": items.count + skew, "total_pages": totalPages])
    }

    func handle(_ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        lock.lock(); defer { lock.unlock() }
        if let wait = rateLimit?.admit() { return Self.rateLimited(retryAfter: wait) }
        if let i = scripted.firstIndex(where: { $0.method == req.method && req.path.contains($0.pathContains) }) {
            let r = scripted[i].response
            scripted[i].times -= 1
            if scripted[i].times <= 0 { scripted.remove(at: i) }
            return r
        }
        guard req.headers["authorization"] == "Bearer \(token)" else { return fail(403, 10000, "Authentication error") }
        let (path, query) = FakeSupport.split(req.path)
        let parts = path.split(separator: "/").map(String.init)   // client, v4, zones, {id}, dns_records, batch
        guard parts.count >= 3, parts[0] == "client", parts[1] == "v4", parts[2] == "zones" else { return fail(404, 7003, "Could not route to \(path), perhaps your object identifier is invalid?") }
        if parts.count == 3 && req.method == "GET" {
            let zs = _zones.filter { z in (query["name"].map { $0 == z.name } ?? true) && (query["account.id"].map { $0 == z.accountID } ?? true) }
            return page(zs.map { ["id": $0.id, "name": $0.name, "status": "active", "name_servers": ["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"],
                                   "account": ["id": $0.accountID, "name": "Acme"]] as [String: Any] }, query: query, defaultPerPage: 20, cap: 50)
        }
        guard parts.count >= 5, parts[4] == "dns_records", let zone = _zones.first(where: { $0.id == parts[3] }) else {
            return fail(404, 7003, "Could not route to \(path), perhaps your object identifier is invalid?")
        }
        if parts.count == 5 && req.method == "GET" {
            return page(_records.filter { $0.zoneID == zone.id }.map(json), query: query, defaultPerPage: 100, cap: maxPerPage, skew: totalCountSkew)
        }
        if parts.count == 6 && parts[5] == "batch" && req.method == "POST" {
            guard req.headers["content-type"] == "application/json" else { return fail(400, 6003, "Invalid request headers") }
            let index = batches; batches += 1
            if failBatches.contains(index) { return fail(400, 1004, "DNS Validation Error") }
            return batch(req.body, zone: zone)
        }
        return fail(405, 10405, "Method not allowed")
    }

    private struct Refused: Error { var code: Int; var message: String }

    private func fqdn(_ raw: String, zone: Zone) -> String {
        var n = raw.lowercased()
        if n == "@" || n.isEmpty { return zone.name }
        if n.hasSuffix(".") { n.removeLast() }
        if n == zone.name || n.hasSuffix("." + zone.name) { return n }
        return n + "." + zone.name
    }

    /// Validates a full record body into a record (the API's rules in strict mode).
    private func record(_ o: [String: Any], id: String, zone: Zone, in records: [Record]) throws -> Record {
        guard let type = (o["type"] as? String)?.uppercased(), ["A", "AAAA", "MX", "TXT", "CNAME", "NS", "CAA", "SRV"].contains(type) else {
            throw Refused(code: 1004, message: "DNS Validation Error: invalid type")
        }
        guard let rawName = o["name"] as? String else { throw Refused(code: 1004, message: "DNS Validation Error: name required") }
        guard var content = o["content"] as? String, !content.isEmpty || !strict else { throw Refused(code: 1004, message: "DNS Validation Error: content required") }
        let proxied = o["proxied"] as? Bool ?? false
        var ttl = o["ttl"] as? Int ?? 1
        if ttl != 1 && !(60...86400).contains(ttl) { throw Refused(code: 1004, message: "TTL must be between 60 and 86400 seconds, or 1 for Automatic.") }
        if proxied && !["A", "AAAA", "CNAME"].contains(type) { throw Refused(code: 9004, message: "This record type cannot be proxied.") }
        if proxied { ttl = 1 }
        var priority = o["priority"] as? Int
        switch type {
        case "A": if IPv4Address(content) == nil { throw Refused(code: 9005, message: "Content for A record must be a valid IPv4 address.") }
        case "AAAA": if IPv6Address(content) == nil { throw Refused(code: 9006, message: "Content for AAAA record must be a valid IPv6 address.") }
        case "MX":
            if priority == nil && strict { throw Refused(code: 9100, message: "priority is required for MX records") }
            if content != "." && content.hasSuffix(".") { content.removeLast() }
        case "CNAME": if content.hasSuffix(".") { content.removeLast() }
        default: priority = nil
        }
        if type != "MX" { priority = nil }
        let name = fqdn(rawName, zone: zone)
        let r = Record(id: id, zoneID: zone.id, type: type, name: name, content: content, ttl: ttl, priority: priority, proxied: proxied)
        let others = records.filter { $0.zoneID == zone.id && $0.id != id && $0.name == name }
        if others.contains(where: { $0.type == type && $0.content == content && $0.priority == priority }) {
            throw Refused(code: 81058, message: "An identical record already exists.")
        }
        if (type == "CNAME" && !others.isEmpty) || (others.contains { $0.type == "CNAME" }) {
            throw Refused(code: 81053, message: "An A, AAAA, or CNAME record with that host already exists.")
        }
        return r
    }

    private func batch(_ body: Data, zone: Zone) -> FakeHTTPServer.Response {
        guard let o = FakeSupport.object(body) else { return fail(400, 9207, "Request body is invalid.") }
        let deletes = o["deletes"] as? [[String: Any]] ?? []
        let patches = o["patches"] as? [[String: Any]] ?? []
        let puts = o["puts"] as? [[String: Any]] ?? []
        let posts = o["posts"] as? [[String: Any]] ?? []
        if deletes.count + patches.count + puts.count + posts.count > maxBatch {
            return fail(400, 81067, "Batch exceeds the maximum of \(maxBatch) records")
        }
        var work = _records
        var result: [String: [[String: Any]]] = ["deletes": [], "patches": [], "puts": [], "posts": []]
        func existing(_ e: [String: Any]) throws -> Int {
            guard let id = e["id"] as? String, let i = work.firstIndex(where: { $0.id == id && $0.zoneID == zone.id }) else {
                throw Refused(code: 81044, message: "Record does not exist.")
            }
            return i
        }
        do {
            for d in deletes { let i = try existing(d); result["deletes"]!.append(json(work[i])); work.remove(at: i) }
            for p in patches {
                let i = try existing(p)
                var merged = json(work[i])
                for (k, v) in p { merged[k] = v }
                work[i] = try record(merged, id: work[i].id, zone: zone, in: work)
                result["patches"]!.append(json(work[i]))
            }
            for p in puts {
                let i = try existing(p)
                work[i] = try record(p, id: work[i].id, zone: zone, in: work)
                result["puts"]!.append(json(work[i]))
            }
            for p in posts {
                let r = try record(p, id: newID(), zone: zone, in: work)
                work.append(r)
                result["posts"]!.append(json(r))
            }
        } catch let e as Refused {
            return fail(400, e.code, e.message)   // rolled back: _records untouched
        } catch { return fail(500, 10000, "internal") }
        _records = work
        return ok(result)
    }
}
