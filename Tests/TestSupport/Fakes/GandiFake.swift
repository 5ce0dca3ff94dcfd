import Foundation

/// A stateful fake of Gandi LiveDNS v5 on loopback: `Bearer` auth,
/// `GET /v5/livedns/domains` (every domain, paged like records), `GET /v5/livedns/domains/{fqdn}`, paginated `/records` with `Total-Count` and `Link`
/// headers, `PUT`/`DELETE /records/{name}/{type}`, error bodies `{code,message,object,cause}`
/// and `{status:"error",errors:[…]}`, TXT returned quoted. Strict mode rejects a TTL outside
/// 300–2592000, an unquoted TXT value, a name with a trailing dot or the zone suffix.
/// With `relativeTargets`, MX/CNAME targets inside the zone are returned without the zone
/// (as Gandi may return them).
final class GandiFake: @unchecked Sendable {
    struct RRset { var name: String; var type: String; var ttl: Int; var values: [String] }

    let token: String
    var strict = true
    var relativeTargets = false
    let faults = FaultScript()
    private let lock = NSLock()
    private var domains: [String: [String: RRset]] = [:]
    private var server: FakeHTTPServer!

    var url: String { server.url + "/v5/livedns" }
    var requests: [FakeHTTPServer.Request] { server.requests }
    var writes: [FakeHTTPServer.Request] { server.requests.filter { $0.method != "GET" } }

    init(token: String = "gandi-pat-test-0123456789") throws {
        self.token = token
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }
    func stop() { server.stop() }

    func addDomain(_ name: String) { lock.lock(); domains[name] = [:]; lock.unlock() }
    func put(_ domain: String, _ name: String, _ type: String, ttl: Int, _ values: [String]) {
        lock.lock(); domains[domain]?["\(name)/\(type)"] = RRset(name: name, type: type, ttl: ttl, values: values); lock.unlock()
    }
    func rrset(_ domain: String, _ name: String, _ type: String) -> RRset? {
        lock.lock(); defer { lock.unlock() }; return domains[domain]?["\(name)/\(type)"]
    }
    func keys(_ domain: String) -> [String] { lock.lock(); defer { lock.unlock() }; return domains[domain]?.keys.sorted() ?? [] }

    static func error(_ code: Int, _ message: String, _ object: String, _ cause: String) -> FakeHTTPServer.Response {
        FakeSupport.json(code, ["code": code, "message": message, "object": object, "cause": cause])
    }
    static let notFound = error(404, "The resource could not be found.", "HTTPNotFound", "Not Found")
    static func invalid(_ name: String, _ description: String) -> FakeHTTPServer.Response {
        FakeSupport.json(400, ["status": "error", "errors": [["location": "body", "name": name, "description": description]]])
    }

    private func api(_ r: RRset, _ d: String) -> [String: Any] {
        var values = r.values
        if relativeTargets && ["MX", "CNAME"].contains(r.type) {
            values = values.map { $0.replacingOccurrences(of: ".\(d).", with: "") }
        }
        return ["rrset_name": r.name, "rrset_type": r.type, "rrset_ttl": r.ttl, "rrset_values": values,
                "rrset_href": "\(url)/domains/\(d)/records/\(r.name == "@" ? "%40" : r.name)/\(r.type)"]
    }

    /// One page of `all` (`per_page` default 100) with `Total-Count` and a `rel="next"` `Link`.
    private func page(_ all: [[String: Any]], _ t: FakeSupport.Target, link: String) -> FakeHTTPServer.Response {
        let perPage = Int(t.q("per_page") ?? "100") ?? 100
        let page = Int(t.q("page") ?? "1") ?? 1
        let slice = all.dropFirst((page - 1) * perPage).prefix(perPage)
        var h = ["Total-Count": "\(all.count)"]
        if page * perPage < all.count { h["Link"] = "<\(link)?page=\(page + 1)&per_page=\(perPage)>; rel=\"next\"" }
        return FakeSupport.json(200, Array(slice), headers: h)
    }

    private func handle(_ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        if let f = faults.match(req) { return f }
        guard req.headers["authorization"] == "Bearer \(token)" else {
            return Self.error(401, "The server could not verify that you authorized to access the document you requested.", "HTTPUnauthorized", "Unauthorized")
        }
        let t = FakeSupport.target(req.path)
        let s = t.segments
        guard s.count >= 3, s[0] == "v5", s[1] == "livedns", s[2] == "domains" else { return Self.notFound }
        lock.lock(); defer { lock.unlock() }
        if s.count == 3 && req.method == "GET" {
            return page(domains.keys.sorted().map { d -> [String: Any] in
                ["fqdn": d, "domain_href": "\(url)/domains/\(d)", "domain_records_href": "\(url)/domains/\(d)/records"]
            }, t, link: "\(url)/domains")
        }
        let d = s[3]
        guard let zone = domains[d] else { return Self.notFound }
        if s.count == 4 && req.method == "GET" {
            return FakeSupport.json(200, ["fqdn": d, "domain_href": "\(url)/domains/\(d)", "domain_records_href": "\(url)/domains/\(d)/records",
                                          "domain_keys_href": "\(url)/domains/\(d)/keys", "automatic_snapshots": true])
        }
        guard s.count >= 5, s[4] == "records" else { return Self.notFound }
        if s.count == 5 && req.method == "GET" {
            return page(zone.keys.sorted().map { api(zone[$0]!, d) }, t, link: "\(url)/domains/\(d)/records")
        }
        guard s.count == 7 else { return Self.notFound }
        let name = s[5], type = s[6], k = "\(name)/\(type)"
        switch req.method {
        case "GET":
            guard let r = zone[k] else { return Self.notFound }
            return FakeSupport.json(200, api(r, d))
        case "DELETE":
            guard zone[k] != nil else { return Self.notFound }
            domains[d]![k] = nil
            return FakeHTTPServer.Response(204)
        case "PUT":
            guard let b = FakeSupport.body(req) as? [String: Any], let values = b["rrset_values"] as? [String], !values.isEmpty else {
                return Self.invalid("rrset_values", "Required")
            }
            let ttl = b["rrset_ttl"] as? Int ?? 10800
            if strict {
                if name.hasSuffix(".") || name == d || name.hasSuffix("." + d) { return Self.invalid("rrset_name", "'\(name)': must be relative to the domain") }
                if ttl < 300 || ttl > 2_592_000 { return Self.invalid("rrset_ttl", "\(ttl) is not between 300 and 2592000") }
                if type == "TXT", let bad = values.first(where: { FakeSupport.quotedStrings($0) == nil }) {
                    return Self.invalid("rrset_values", "'\(bad)': TXT value must be quoted")
                }
                if let long = values.compactMap({ FakeSupport.quotedStrings($0) }).joined().first(where: { $0.count > 255 }) {
                    return Self.invalid("rrset_values", "string of \(long.count) characters is longer than 255")
                }
            }
            let existed = zone[k] != nil
            domains[d]![k] = RRset(name: name, type: type, ttl: ttl, values: values)
            return FakeSupport.json(existed ? 200 : 201, ["message": existed ? "DNS Record Updated" : "DNS Record Created"])
        default:
            return Self.error(405, "The method is not allowed for the requested URL.", "HTTPMethodNotAllowed", "Method Not Allowed")
        }
    }
}
