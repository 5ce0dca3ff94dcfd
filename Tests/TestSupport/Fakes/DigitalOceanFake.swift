import Foundation
import MailPlan

/// A stateful fake of the DigitalOcean Domains API v2 on loopback,
/// under `/v2`:
///
/// - `GET /domains?page=&per_page=` (every domain, paged like records),
/// - `GET /domains/{name}` (404 `not_found` when absent),
/// - `GET /domains/{name}/records?page=&per_page=` (default 20, capped at ``maxPerPage``;
///   `links.pages.next`/`last` only when there are more pages, `first`/`prev` after page 1;
///   `meta.total`),
/// - `POST /domains/{name}/records` → 201, `PUT …/records/{id}` → 200, `DELETE` → 204.
///
/// Records keep `name` relative as sent; MX/CNAME `data` is returned without the trailing
/// dot, and `@` when it is the apex. Every response carries `ratelimit-*` headers.
/// Strict mode (default) answers 422 `unprocessable_entity` for what the real API refuses:
/// an MX/CNAME target without a trailing dot, a null MX (`.`), MX without `priority`, an
/// empty TXT, a backslash in TXT, a TXT over 509 encoded bytes, a TTL under 30, a name
/// with a trailing dot; 401 `unauthorized` without the bearer token.
final class DigitalOceanFake: @unchecked Sendable {
    struct Record: Equatable {
        var id: Int
        var domain: String
        var type: String
        var name: String
        var data: String
        var priority: Int?
        var ttl: Int
    }

    let token: String
    private let lock = NSLock()
    private var domains: [String] = []
    private var _records: [Record] = []
    private var nextID = 28448433
    private var scripted: [FakeSupport.Scripted] = []
    private var writeCount = 0
    var strict = true
    var maxPerPage = 200
    /// 0-based indexes of write requests (POST/PUT/DELETE) to refuse with HTTP 400 `bad_request`.
    var failWrites: Set<Int> = []
    /// 0-based indexes of write requests that are carried out but whose reply is lost (the
    /// connection is closed instead of answering).
    var dropReplies: Set<Int> = []
    /// Added to `meta.total`, to simulate a listing that does not add up.
    var totalSkew = 0
    private(set) var server: FakeHTTPServer!

    var url: String { server.url + "/v2" }
    var records: [Record] { lock.lock(); defer { lock.unlock() }; return _records }
    var requests: [FakeHTTPServer.Request] { server.requests }
    var writes: [(method: String, path: String, body: String)] {
        requests.filter { $0.method != "GET" }.map { ($0.method, $0.path, String(decoding: $0.body, as: UTF8.self)) }
    }

    init(token: String) throws {
        self.token = token
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? .init(500, "fake gone") }
    }

    func addDomain(_ name: String) { lock.lock(); domains.append(name); lock.unlock() }

    /// Stores a record as given (no validation: for seeding live state); returns its ID.
    @discardableResult
    func seed(domain: String, _ type: String, _ name: String, _ data: String, ttl: Int = 3600, priority: Int? = nil) -> Int {
        lock.lock(); defer { lock.unlock() }
        nextID += 1
        _records.append(Record(id: nextID, domain: domain, type: type, name: name, data: data, priority: priority, ttl: ttl))
        return nextID
    }

    func script(_ method: String, _ pathContains: String, _ response: FakeHTTPServer.Response, times: Int = 1) {
        lock.lock(); scripted.append(.init(method: method, pathContains: pathContains, response: response, times: times)); lock.unlock()
    }

    static func rateLimited(retryAfter: Int) -> FakeHTTPServer.Response {
        .init(429, headers: ["retry-after": String(retryAfter), "ratelimit-limit": "5000", "ratelimit-remaining": "0",
                             "ratelimit-reset": "1767225600", "Content-Type": "application/json"],
              FakeSupport.json(["id": "too_many_requests", "message": "API Rate limit exceeded."]))
    }

    private func respond(_ status: Int, _ body: Any?) -> FakeHTTPServer.Response {
        .init(status, headers: ["Content-Type": "application/json", "ratelimit-limit": "5000", "ratelimit-remaining": "4999",
                                "ratelimit-reset": "1767225600"], body.map(FakeSupport.json) ?? "")
    }
    private func error(_ status: Int, _ id: String, _ message: String) -> FakeHTTPServer.Response {
        respond(status, ["id": id, "message": message, "request_id": "5f1e9a2c-0000-4000-8000-000000000000"])
    }

    func json(_ r: Record) -> [String: Any] {
        ["id": r.id, "type": r.type, "name": r.name, "data": r.data, "priority": r.priority as Any? ?? NSNull(),
         "port": NSNull(), "ttl": r.ttl, "weight": NSNull(), "flags": NSNull(), "tag": NSNull()]
    }

    func handle(_ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        lock.lock(); defer { lock.unlock() }
        if let i = scripted.firstIndex(where: { $0.method == req.method && req.path.contains($0.pathContains) }) {
            let r = scripted[i].response
            scripted[i].times -= 1
            if scripted[i].times <= 0 { scripted.remove(at: i) }
            return r
        }
        guard req.headers["authorization"] == "Bearer \(token)" else { return error(401, "unauthorized", "Unable to authenticate you") }
        let (path, query) = FakeSupport.split(req.path)
        let parts = path.split(separator: "/").map(String.init)   // v2, domains, {name}, records, {id}
        if parts == ["v2", "domains"] && req.method == "GET" {
            return paged(domains.map { ["name": $0, "ttl": 1800, "zone_file": ""] as [String: Any] }, key: "domains",
                         base: "https://api.digitalocean.com/v2/domains", query: query)
        }
        guard parts.count >= 3, parts[0] == "v2", parts[1] == "domains", domains.contains(parts[2]) else {
            return error(404, "not_found", "The resource you were accessing could not be found.")
        }
        let domain = parts[2]
        if parts.count == 3 && req.method == "GET" { return respond(200, ["domain": ["name": domain, "ttl": 1800, "zone_file": ""]]) }
        guard parts.count >= 4, parts[3] == "records" else { return error(404, "not_found", "The resource you were accessing could not be found.") }
        if parts.count == 4 && req.method == "GET" { return list(domain, query: query) }
        var drop = false
        if req.method != "GET" {
            let index = writeCount; writeCount += 1
            if failWrites.contains(index) { return error(400, "bad_request", "There was an error processing your request.") }
            drop = dropReplies.contains(index)
        }
        var resp = write(req, parts: parts, domain: domain)
        resp.dropConnection = drop
        return resp
    }

    /// Carries out one write request (lock held).
    private func write(_ req: FakeHTTPServer.Request, parts: [String], domain: String) -> FakeHTTPServer.Response {
        if parts.count == 4 && req.method == "POST" {
            do {
                nextID += 1
                let r = try record(FakeSupport.object(req.body) ?? [:], id: nextID, domain: domain)
                _records.append(r)
                return respond(201, ["domain_record": json(r)])
            } catch let e as Refused { return error(422, "unprocessable_entity", e.message) } catch { return self.error(500, "server_error", "") }
        }
        guard parts.count == 5, let id = Int(parts[4]), let i = _records.firstIndex(where: { $0.id == id && $0.domain == domain }) else {
            return error(404, "not_found", "The resource you were accessing could not be found.")
        }
        switch req.method {
        case "PUT":
            do {
                let r = try record(FakeSupport.object(req.body) ?? [:], id: id, domain: domain)
                _records[i] = r
                return respond(200, ["domain_record": json(r)])
            } catch let e as Refused { return error(422, "unprocessable_entity", e.message) } catch { return self.error(500, "server_error", "") }
        case "DELETE":
            _records.remove(at: i)
            return .init(204, headers: ["ratelimit-limit": "5000", "ratelimit-remaining": "4999", "ratelimit-reset": "1767225600"])
        default:
            return error(405, "method_not_allowed", "Method not allowed")
        }
    }

    private func list(_ domain: String, query: [String: String]) -> FakeHTTPServer.Response {
        paged(_records.filter { $0.domain == domain }.map(json), key: "domain_records",
              base: "https://api.digitalocean.com/v2/domains/\(domain)/records", query: query, skew: totalSkew)
    }

    /// One page of `all` under `key`, with `links.pages` and `meta.total` as the API sends them.
    private func paged(_ all: [[String: Any]], key: String, base: String, query: [String: String], skew: Int = 0) -> FakeHTTPServer.Response {
        let perPage = min(max(1, Int(query["per_page"] ?? "") ?? 20), maxPerPage)
        let page = max(1, Int(query["page"] ?? "") ?? 1)
        let last = max(1, (all.count + perPage - 1) / perPage)
        let start = min(all.count, (page - 1) * perPage)
        let slice = all[start..<min(all.count, start + perPage)]
        let base = base + "?per_page=\(perPage)&page="
        var pages: [String: String] = [:]
        if page > 1 { pages["first"] = base + "1"; pages["prev"] = base + String(page - 1) }
        if page < last { pages["next"] = base + String(page + 1); pages["last"] = base + String(last) }
        return respond(200, [key: Array(slice), "links": pages.isEmpty ? [:] : ["pages": pages],
                             "meta": ["total": all.count + skew]] as [String: Any])
    }

    private struct Refused: Error { var message: String }

    private func record(_ o: [String: Any], id: Int, domain: String) throws -> Record {
        guard let type = (o["type"] as? String)?.uppercased(), ["A", "AAAA", "CAA", "CNAME", "MX", "NS", "TXT", "SRV"].contains(type) else {
            throw Refused(message: "Type is invalid")
        }
        guard let name = o["name"] as? String, !name.isEmpty else { throw Refused(message: "Name can't be blank") }
        if strict && name.hasSuffix(".") { throw Refused(message: "Name is invalid") }
        guard var data = o["data"] as? String, !data.isEmpty else { throw Refused(message: "Data can't be blank") }
        let ttl = o["ttl"] as? Int ?? 1800
        if ttl < 30 { throw Refused(message: "Ttl must be greater than or equal to 30") }
        var priority = o["priority"] as? Int
        switch type {
        case "A": if IPv4Address(data) == nil { throw Refused(message: "Data is not a valid IPv4 address") }
        case "AAAA": if IPv6Address(data) == nil { throw Refused(message: "Data is not a valid IPv6 address") }
        case "MX", "CNAME":
            if type == "MX" && priority == nil { throw Refused(message: "Priority can't be blank") }
            if data == "." { throw Refused(message: "Data is invalid") }
            if strict && data != "@" && !data.hasSuffix(".") { throw Refused(message: "Data needs to end with a dot (.)") }
            if data.hasSuffix(".") { data.removeLast() }
            if data.lowercased() == domain { data = "@" }
        case "TXT":
            if data.contains("\\") { throw Refused(message: "Data is invalid") }
            if TXTCodec.quotedChunks(data).utf8.count > 509 { throw Refused(message: "Data is too long (maximum is 512 characters)") }
        default: break
        }
        if type != "MX" && type != "SRV" { priority = nil }
        return Record(id: id, domain: domain, type: type, name: name, data: data, priority: priority, ttl: ttl)
    }
}
