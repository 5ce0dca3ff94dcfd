import Foundation

/// A stateful fake of the deSEC API on loopback: `Token` auth,
/// trailing-slash URLs, `GET /domains/` (every domain, paged like RRsets), `GET /domains/{name}/`, `GET /domains/{name}/rrsets/` that answers
/// 400 with a `Link` header above `pageLimit` RRsets and serves `?cursor=` pages, and an
/// atomic bulk `PATCH` with a per-item error array. Strict mode rejects what deSEC rejects:
/// `@` in bulk bodies, unquoted TXT, a target without a trailing dot, a TTL below the
/// domain's `minimum_ttl` or above 86400, a new RRset without `ttl`.
final class DeSECFake: @unchecked Sendable {
    struct RRset { var subname: String; var type: String; var ttl: Int; var records: [String] }
    struct Domain { var name: String; var minimumTTL: Int; var rrsets: [String: RRset] = [:] }

    let token: String
    var strict = true
    /// Most RRsets served without pagination (deSEC: 500).
    var pageLimit = 500
    let faults = FaultScript()
    private let lock = NSLock()
    private var domains: [String: Domain] = [:]
    private var server: FakeHTTPServer!

    var url: String { server.url + "/api/v1" }
    var requests: [FakeHTTPServer.Request] { server.requests }
    var writes: [FakeHTTPServer.Request] { server.requests.filter { $0.method != "GET" } }

    init(token: String = "desec-test-token-0123456789") throws {
        self.token = token
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }
    func stop() { server.stop() }

    func addDomain(_ name: String, minimumTTL: Int = 3600) {
        lock.lock(); domains[name] = Domain(name: name, minimumTTL: minimumTTL); lock.unlock()
    }
    func put(_ domain: String, _ subname: String, _ type: String, ttl: Int, _ records: [String]) {
        lock.lock(); domains[domain]?.rrsets[key(subname, type)] = RRset(subname: subname, type: type, ttl: ttl, records: records); lock.unlock()
    }
    func rrset(_ domain: String, _ subname: String, _ type: String) -> RRset? {
        lock.lock(); defer { lock.unlock() }; return domains[domain]?.rrsets[key(subname, type)]
    }
    func keys(_ domain: String) -> [String] { lock.lock(); defer { lock.unlock() }; return domains[domain]?.rrsets.keys.sorted() ?? [] }
    private func key(_ s: String, _ t: String) -> String { "\(s)/\(t)" }

    private func api(_ r: RRset, _ d: String) -> [String: Any] {
        ["created": "2026-01-01T00:00:00.000000Z", "domain": d, "subname": r.subname,
         "name": r.subname.isEmpty ? d + "." : "\(r.subname).\(d).", "type": r.type, "records": r.records, "ttl": r.ttl,
         "touched": "2026-01-01T00:00:00.000000Z"]
    }

    private func handle(_ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        if let f = faults.match(req) { return f }
        guard req.headers["authorization"] == "Token \(token)" else { return FakeSupport.json(401, ["detail": "Invalid token."]) }
        let t = FakeSupport.target(req.path)
        let s = t.segments
        guard t.hasTrailingSlash, s.count >= 3, s[0] == "api", s[1] == "v1", s[2] == "domains" else {
            return FakeSupport.json(404, ["detail": "Not found."])
        }
        lock.lock(); defer { lock.unlock() }
        if s.count == 3 && req.method == "GET" {
            return paged(domains.keys.sorted().map { domainJSON(domains[$0]!) }, t, base: "\(url)/domains/")
        }
        guard let d = domains[s[3]] else { return FakeSupport.json(404, ["detail": "Not found."]) }
        if s.count == 4 && req.method == "GET" {
            return FakeSupport.json(200, domainJSON(d).merging(["keys": [] as [Any]]) { a, _ in a })
        }
        guard s.count == 5, s[4] == "rrsets" else { return FakeSupport.json(404, ["detail": "Not found."]) }
        if req.method == "GET" { return list(d, t) }
        if req.method == "PATCH" { return bulkPatch(d, req) }
        return FakeSupport.json(405, ["detail": "Method \"\(req.method)\" not allowed."])
    }

    private func domainJSON(_ d: Domain) -> [String: Any] {
        ["name": d.name, "minimum_ttl": d.minimumTTL, "created": "2026-01-01T00:00:00Z",
         "published": "2026-01-01T00:00:00Z", "touched": "2026-01-01T00:00:00Z"]
    }

    private func list(_ d: Domain, _ t: FakeSupport.Target) -> FakeHTTPServer.Response {
        paged(d.rrsets.keys.sorted().map { api(d.rrsets[$0]!, d.name) }, t, base: "\(url)/domains/\(d.name)/rrsets/")
    }

    /// `all` unpaginated up to ``pageLimit`` items; above it 400 with a `Link` to the first
    /// `?cursor=` page, and cursor pages of ``pageLimit`` with `first`/`prev`/`next` links.
    private func paged(_ all: [[String: Any]], _ t: FakeSupport.Target, base: String) -> FakeHTTPServer.Response {
        guard let cursor = t.q("cursor") else {
            if all.count > pageLimit {
                return FakeSupport.json(400, ["detail": "Pagination required. You can query up to \(pageLimit) items at a time (\(all.count) total). Please use the `first` page link (see Link header)."],
                                        headers: ["Link": "<\(base)?cursor=>; rel=\"first\""])
            }
            return FakeSupport.json(200, all)
        }
        let offset = cursor.isEmpty ? 0 : Int(cursor.dropFirst(3)) ?? -1
        guard offset >= 0, cursor.isEmpty || cursor.hasPrefix("cur") else { return FakeSupport.json(400, ["cursor": ["Invalid cursor"]]) }
        let page = Array(all.dropFirst(offset).prefix(pageLimit))
        var links = ["<\(base)?cursor=>; rel=\"first\""]
        if offset > 0 { links.append("<\(base)?cursor=cur\(max(0, offset - pageLimit))>; rel=\"prev\"") }
        if offset + pageLimit < all.count { links.append("<\(base)?cursor=cur\(offset + pageLimit)>; rel=\"next\"") }
        return FakeSupport.json(200, page, headers: ["Link": links.joined(separator: ", ")])
    }

    /// Validates every item first; applies all of them or none.
    private func bulkPatch(_ d: Domain, _ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard let items = FakeSupport.body(req) as? [[String: Any]] else {
            return FakeSupport.json(400, ["non_field_errors": ["Invalid data. Expected a dictionary, but got list."]])
        }
        var errors: [[String: Any]] = []
        var seen = Set<String>()
        for item in items {
            var e: [String: Any] = [:]
            let sub = item["subname"] as? String
            let type = item["type"] as? String ?? ""
            if sub == nil { e["subname"] = ["This field is required."] }
            if strict, let sub, sub == "@" || sub.hasSuffix(".") || sub != sub.lowercased() {
                e["subname"] = ["Subname can only use (lowercase) a-z, 0-9, ., -, and _, may start with a '*.', or just be '*'."]
            }
            if type.isEmpty || type != type.uppercased() { e["type"] = ["This field is required."] }
            let records = item["records"] as? [String]
            if records == nil { e["records"] = ["This field is required."] }
            let exists = d.rrsets[key(sub ?? "", type)] != nil
            if let records, !records.isEmpty {
                let ttl = item["ttl"] as? Int
                if ttl == nil && !exists { e["ttl"] = ["This field is required."] }
                if strict, let ttl, ttl < d.minimumTTL { e["ttl"] = ["Ensure this value is greater than or equal to \(d.minimumTTL)."] }
                if strict, let ttl, ttl > 86400 { e["ttl"] = ["Ensure this value is less than or equal to 86400."] }
                var recErrors: [String] = []
                for r in records {
                    if strict && type == "TXT" && FakeSupport.quotedStrings(r) == nil { recErrors.append("Record content for type TXT malformed: \(r)") }
                    if strict && ["MX", "CNAME", "NS", "SRV"].contains(type), !(r.split(separator: " ").last ?? "").hasSuffix(".") {
                        recErrors.append("Record content for type \(type) malformed: Hostname must be fully qualified.")
                    }
                }
                if !recErrors.isEmpty { e["records"] = recErrors }
            }
            if !seen.insert(key(sub ?? "", type)).inserted { e["non_field_errors"] = ["Same subname and type given twice."] }
            errors.append(e)
        }
        if errors.contains(where: { !$0.isEmpty }) { return FakeSupport.json(400, errors) }
        var out: [[String: Any]] = []
        for item in items {
            let sub = item["subname"] as! String, type = item["type"] as! String, records = item["records"] as! [String]
            let k = key(sub, type)
            if records.isEmpty { domains[d.name]!.rrsets[k] = nil; continue }
            let ttl = item["ttl"] as? Int ?? domains[d.name]!.rrsets[k]!.ttl
            let r = RRset(subname: sub, type: type, ttl: ttl, records: records)
            domains[d.name]!.rrsets[k] = r
            out.append(api(r, d.name))
        }
        return FakeSupport.json(200, out)
    }
}
