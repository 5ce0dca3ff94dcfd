import Foundation

/// A stateful fake of the Hetzner Cloud DNS API on loopback:
/// `/v1/zones` (every zone, paginated), `/v1/zones/{id_or_name}`, paginated `/rrsets` with `meta.pagination`, RRset writes that
/// return asynchronous actions (`running`, then `success` after `pollsUntilDone` polls of
/// `/v1/zones/actions/{id}`), `{"error":{code,message}}` bodies, `RateLimit-*` headers and,
/// in strict mode, the API's input rules: relative lower-case names without dot or zone
/// suffix, TXT as quoted strings of ≤255 characters, TTL ≥ 60, no empty or duplicate records.
/// Multi-string TXT values are returned with a trailing space (case C02).
final class HetznerCloudFake: @unchecked Sendable {
    struct RRset { var name: String; var type: String; var ttl: Int?; var records: [String] }
    struct Zone { var id: Int; var name: String; var ttl: Int; var mode = "primary"; var rrsets: [String: RRset] = [:] }

    let token: String
    var strict = true
    /// Polls of an action that answer `running` before it answers `success`.
    var pollsUntilDone = 1
    /// Returns multi-string TXT values with a trailing space, as seen in the wild (C02).
    var txtTrailingSpace = true
    let faults = FaultScript()
    private let lock = NSLock()
    private var zones: [String: Zone] = [:]
    private var actions: [Int: (command: String, polls: Int, error: (String, String)?)] = [:]
    private var nextAction = 9000
    private var server: FakeHTTPServer!

    var url: String { server.url + "/v1" }
    var requests: [FakeHTTPServer.Request] { server.requests }
    /// Write requests only (everything but GET).
    var writes: [FakeHTTPServer.Request] { server.requests.filter { $0.method != "GET" } }

    init(token: String = "hc-test-token-0123456789") throws {
        self.token = token
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }
    func stop() { server.stop() }

    func addZone(_ name: String, id: Int = 4711, ttl: Int = 3600) {
        lock.lock(); zones[name] = Zone(id: id, name: name, ttl: ttl); lock.unlock()
    }
    func setMode(_ zone: String, _ mode: String) { lock.lock(); zones[zone]?.mode = mode; lock.unlock() }
    /// Stores an RRset as the API would hold it (values verbatim).
    func put(_ zone: String, _ name: String, _ type: String, ttl: Int?, _ records: [String]) {
        lock.lock(); zones[zone]?.rrsets["\(name)/\(type)"] = RRset(name: name, type: type, ttl: ttl, records: records); lock.unlock()
    }
    func rrset(_ zone: String, _ name: String, _ type: String) -> RRset? {
        lock.lock(); defer { lock.unlock() }; return zones[zone]?.rrsets["\(name)/\(type)"]
    }
    func rrsetIDs(_ zone: String) -> [String] { lock.lock(); defer { lock.unlock() }; return zones[zone]?.rrsets.keys.sorted() ?? [] }
    /// Makes the next action of this command finish with `status: error`.
    func failNextAction(code: String, message: String) { lock.lock(); pendingActionError = (code, message); lock.unlock() }
    private var pendingActionError: (String, String)?

    static func error(_ status: Int, _ code: String, _ message: String) -> FakeHTTPServer.Response {
        FakeSupport.json(status, ["error": ["code": code, "message": message, "details": [:] as [String: Any]]])
    }

    private func rateHeaders() -> [String: String] {
        ["RateLimit-Limit": "3600", "RateLimit-Remaining": "3599", "RateLimit-Reset": "1767225600"]
    }

    private func apiRRset(_ r: RRset, zoneID: Int) -> [String: Any] {
        let values = r.records.map { v -> [String: Any] in
            let out = (txtTrailingSpace && r.type == "TXT" && (FakeSupport.quotedStrings(v)?.count ?? 0) > 1) ? v + " " : v
            return ["value": out, "comment": ""]
        }
        return ["id": "\(r.name)/\(r.type)", "name": r.name, "type": r.type, "ttl": r.ttl as Any? ?? NSNull(),
                "labels": [:] as [String: String], "protection": ["change": false], "records": values, "zone": zoneID]
    }

    private func newAction(_ command: String, zoneID: Int) -> [String: Any] {
        nextAction += 1
        let err = pendingActionError; pendingActionError = nil
        actions[nextAction] = (command, pollsUntilDone, err)
        return ["id": nextAction, "command": command, "status": "running", "progress": 0, "started": "2026-01-01T00:00:00Z",
                "finished": NSNull(), "resources": [["id": zoneID, "type": "zone"]], "error": NSNull()]
    }

    /// nil when the records are acceptable, else the invalid_input message.
    private func checkRecords(_ type: String, _ records: Any?) -> (String?, [String]) {
        guard let arr = records as? [[String: Any]], !arr.isEmpty else { return ("invalid input in field 'records': must not be empty", []) }
        var values: [String] = []
        for r in arr {
            guard let v = r["value"] as? String else { return ("invalid input in field 'records': value missing", []) }
            if strict && type == "TXT" {
                guard let parts = FakeSupport.quotedStrings(v) else { return ("invalid input in field 'records': TXT value must be enclosed in double quotes", []) }
                if let long = parts.first(where: { $0.count > 255 }) { return ("invalid input in field 'records': TXT string of \(long.count) characters exceeds 255", []) }
            }
            if values.contains(v) { return ("invalid input in field 'records': duplicate value", []) }
            values.append(v)
        }
        return (nil, values)
    }

    private func checkName(_ name: String, zone: String) -> String? {
        guard strict else { return nil }
        if name.hasSuffix(".") { return "invalid input in field 'name': must not end with a dot" }
        if name != name.lowercased() { return "invalid input in field 'name': must be lower case" }
        if name == zone || name.hasSuffix("." + zone) { return "invalid input in field 'name': must be relative to the zone" }
        if name.isEmpty { return "invalid input in field 'name': use @ for the apex" }
        return nil
    }

    private func handle(_ req: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        if let f = faults.match(req) { return f }
        guard req.headers["authorization"] == "Bearer \(token)" else {
            return Self.error(401, "unauthorized", "unable to authenticate")
        }
        let t = FakeSupport.target(req.path)
        let s = t.segments
        guard s.count >= 2, s[0] == "v1", s[1] == "zones" else { return Self.error(404, "not_found", "not found") }
        lock.lock(); defer { lock.unlock() }
        var resp = route(req, t, s)
        for (k, v) in rateHeaders() { resp.headers[k] = v }
        return resp
    }

    /// One page of `all` under `key` with `meta.pagination` (`per_page` default 25, 1–`limit`:
    /// 100 for RRsets, 50 for every other list).
    private func page(_ all: [[String: Any]], key: String, _ t: FakeSupport.Target, link: String, max limit: Int = 50) -> FakeHTTPServer.Response {
        let perPage = Int(t.q("per_page") ?? "25") ?? 25
        let page = Int(t.q("page") ?? "1") ?? 1
        if strict && (perPage < 1 || perPage > limit || page < 1) { return Self.error(400, "invalid_input", "invalid input in field 'per_page'") }
        let last = max(1, (all.count + perPage - 1) / perPage)
        let slice = all.dropFirst((page - 1) * perPage).prefix(perPage)
        return FakeSupport.json(200, [
            key: Array(slice),
            "meta": ["pagination": ["page": page, "per_page": perPage, "previous_page": page > 1 ? page - 1 : NSNull() as Any,
                                    "next_page": page < last ? page + 1 : NSNull() as Any, "last_page": last, "total_entries": all.count]],
        ], headers: ["Link": "<\(link)?page=\(last)&per_page=\(perPage)>; rel=\"last\""])
    }

    private func route(_ req: FakeHTTPServer.Request, _ t: FakeSupport.Target, _ s: [String]) -> FakeHTTPServer.Response {
        if s.count == 4, s[2] == "actions", req.method == "GET", let id = Int(s[3]) {
            guard var a = actions[id] else { return Self.error(404, "not_found", "action not found") }
            var status = "running"
            var err: Any = NSNull()
            if a.polls > 0 { a.polls -= 1; actions[id] = a }
            if a.polls == 0 {
                if let e = a.error { status = "error"; err = ["code": e.0, "message": e.1] } else { status = "success" }
            }
            return FakeSupport.json(200, ["action": ["id": id, "command": a.command, "status": status, "progress": status == "running" ? 50 : 100,
                                                     "started": "2026-01-01T00:00:00Z", "finished": status == "running" ? NSNull() : "2026-01-01T00:00:01Z" as Any,
                                                     "resources": [] as [Any], "error": err]])
        }
        if s.count == 2 && req.method == "GET" {
            let all = zones.keys.sorted().map { zones[$0]! }.map { z -> [String: Any] in
                ["id": z.id, "name": z.name, "mode": z.mode, "ttl": z.ttl, "status": "ok", "record_count": z.rrsets.count, "labels": [:] as [String: String]]
            }
            return page(all, key: "zones", t, link: "\(url)/zones")
        }
        let zoneKey = s[2]
        guard let zone = zones[zoneKey] ?? zones.values.first(where: { "\($0.id)" == zoneKey }) else {
            return Self.error(404, "not_found", "zone not found")
        }
        let zn = zone.name
        if s.count == 3 && req.method == "GET" {
            return FakeSupport.json(200, ["zone": ["id": zone.id, "name": zone.name, "mode": zone.mode, "ttl": zone.ttl, "status": "ok",
                                                   "record_count": zone.rrsets.count, "labels": [:] as [String: String]]])
        }
        guard s.count >= 4, s[3] == "rrsets" else { return Self.error(404, "not_found", "not found") }
        if s.count == 4 && req.method == "GET" {
            return page(zone.rrsets.keys.sorted().map { apiRRset(zone.rrsets[$0]!, zoneID: zone.id) }, key: "rrsets", t, link: "\(url)/zones/\(zn)/rrsets", max: 100)
        }
        if s.count == 4 && req.method == "POST" {
            guard let b = FakeSupport.body(req) as? [String: Any], let name = b["name"] as? String, let type = b["type"] as? String else {
                return Self.error(400, "json_error", "invalid JSON")
            }
            if let e = checkName(name, zone: zn) { return Self.error(422, "invalid_input", e) }
            let ttl = b["ttl"] as? Int
            if strict, let ttl, ttl < 60 { return Self.error(422, "invalid_input", "invalid input in field 'ttl': must be at least 60") }
            let (err, values) = checkRecords(type, b["records"])
            if let err { return Self.error(422, "invalid_input", err) }
            let id = "\(name)/\(type)"
            if zone.rrsets[id] != nil { return Self.error(409, "uniqueness_error", "RRset \(id) already exists") }
            let r = RRset(name: name, type: type, ttl: ttl, records: values)
            zones[zn]!.rrsets[id] = r
            return FakeSupport.json(201, ["rrset": apiRRset(r, zoneID: zone.id), "action": newAction("create_rrset", zoneID: zone.id)])
        }
        guard s.count >= 6 else { return Self.error(404, "not_found", "not found") }
        let id = "\(s[4])/\(s[5])"
        guard let existing = zone.rrsets[id] else { return Self.error(404, "not_found", "RRset \(id) not found") }
        if s.count == 6 && req.method == "DELETE" {
            zones[zn]!.rrsets[id] = nil
            return FakeSupport.json(200, ["action": newAction("delete_rrset", zoneID: zone.id)])
        }
        if s.count == 8, s[6] == "actions", req.method == "POST" {
            let b = FakeSupport.body(req) as? [String: Any] ?? [:]
            switch s[7] {
            case "set_records":
                let (err, values) = checkRecords(existing.type, b["records"])
                if let err { return Self.error(422, "invalid_input", err) }
                zones[zn]!.rrsets[id]!.records = values
                return FakeSupport.json(201, ["action": newAction("set_rrset_records", zoneID: zone.id)])
            case "change_ttl":
                guard b.keys.contains("ttl") else { return Self.error(422, "invalid_input", "invalid input in field 'ttl'") }
                let ttl = b["ttl"] as? Int
                if strict, let ttl, ttl < 60 { return Self.error(422, "invalid_input", "invalid input in field 'ttl': must be at least 60") }
                zones[zn]!.rrsets[id]!.ttl = ttl
                return FakeSupport.json(201, ["action": newAction("change_rrset_ttl", zoneID: zone.id)])
            default: return Self.error(404, "not_found", "unknown action")
            }
        }
        return Self.error(404, "not_found", "not found")
    }
}
