import Foundation

/// What the reverse fakes share: a token, the PTR each address holds, and the "forward
/// lookup" the real hosting providers make before they accept a PTR: a
/// hook answering whether `name` resolves to `ip` right now. A fake refuses a PTR whose
/// forward lookup does not match, which is how the tests prove that apply sets A/AAAA first.
class ReverseFakeBase: @unchecked Sendable {
    let token: String
    let lock = NSLock()
    var ptrs: [String: String?] = [:]
    private var _forward: @Sendable (_ name: String, _ ip: String) -> Bool = { _, _ in true }
    var server: FakeHTTPServer!

    init(token: String) { self.token = token }
    func stop() { server.stop() }
    var requests: [FakeHTTPServer.Request] { server.requests }
    /// "METHOD path" of every request but GETs, in order.
    var writeLines: [String] { server.requests.filter { $0.method != "GET" }.map { "\($0.method) \($0.path)" } }

    /// The forward lookup hook (default: everything resolves).
    func setForward(_ f: @escaping @Sendable (_ name: String, _ ip: String) -> Bool) { lock.lock(); _forward = f; lock.unlock() }
    func forward(_ name: String, _ ip: String) -> Bool { lock.lock(); let f = _forward; lock.unlock(); return f(name, ip) }
    func ptr(_ ip: String) -> String? { lock.lock(); defer { lock.unlock() }; return ptrs[ip] ?? nil }
    func setPTR(_ ip: String, _ name: String?) { lock.lock(); ptrs[ip] = .some(name); lock.unlock() }
    func authorized(_ r: FakeHTTPServer.Request) -> Bool { r.headers["authorization"] == "Bearer " + token }
}

/// Hetzner Cloud servers: `GET /v1/servers` paged with
/// `meta.pagination`, each server's `public_net.ipv4 {ip, dns_ptr}` and
/// `public_net.ipv6 {ip: "<net>/64", dns_ptr: [{ip, dns_ptr}]}`;
/// `POST /v1/servers/{id}/actions/change_dns_ptr {ip, dns_ptr}` → 201 `{"action":…running}`,
/// `GET /v1/servers/actions/{id}` → `success`; `{"error":{code,message}}` on failure.
final class HetznerServersFake: ReverseFakeBase, @unchecked Sendable {
    struct Server { var id: Int; var name: String; var ipv4: String; var ipv6Net: String }
    private var servers: [Server] = []
    private var nextAction = 7000
    /// Servers per page of `GET /servers` (the test forces paging with 1).
    var perPageCap = 50
    var url: String { server.url + "/v1" }

    init() throws {
        super.init(token: "hc-test-token-0123456789")
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }

    func addServer(id: Int, name: String, ipv4: String, ipv6Net: String) {
        lock.lock(); servers.append(Server(id: id, name: name, ipv4: ipv4, ipv6Net: ipv6Net)); lock.unlock()
        setPTR(ipv4, "static.\(ipv4.split(separator: ".").reversed().joined(separator: ".")).clients.your-server.de")
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> FakeHTTPServer.Response {
        FakeSupport.json(status, ["error": ["code": code, "message": message, "details": [:] as [String: Any]]])
    }

    private func apiServer(_ s: Server) -> [String: Any] {
        let v6 = ptrs.compactMap { ip, name -> [String: Any]? in
            guard ip.contains(":"), let name else { return nil }
            return ["ip": ip, "dns_ptr": name]
        }.sorted { ($0["ip"] as! String) < ($1["ip"] as! String) }
        return ["id": s.id, "name": s.name, "status": "running",
                "public_net": ["ipv4": ["id": s.id * 10, "ip": s.ipv4, "blocked": false, "dns_ptr": (ptrs[s.ipv4] ?? nil) as Any? ?? NSNull()],
                               "ipv6": ["id": s.id * 10 + 1, "ip": s.ipv6Net, "blocked": false, "dns_ptr": v6],
                               "floating_ips": [] as [Int], "firewalls": [] as [Any]]]
    }

    private func handle(_ r: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard authorized(r) else { return Self.error(401, "unauthorized", "unable to authenticate") }
        let t = FakeSupport.target(r.path)
        let seg = t.segments
        lock.lock(); defer { lock.unlock() }
        if r.method == "GET", seg == ["v1", "servers"] {
            let page = Int(t.q("page") ?? "1") ?? 1
            let per = min(Int(t.q("per_page") ?? "25") ?? 25, perPageCap)
            let slice = Array(servers.dropFirst((page - 1) * per).prefix(per))
            let last = max(1, (servers.count + per - 1) / per)
            return FakeSupport.json(200, ["servers": slice.map(apiServer),
                "meta": ["pagination": ["page": page, "per_page": per, "previous_page": page > 1 ? page - 1 as Any : NSNull(),
                                        "next_page": page < last ? page + 1 as Any : NSNull(), "last_page": last, "total_entries": servers.count]]])
        }
        if r.method == "GET", seg.count == 4, seg[0] == "v1", seg[1] == "servers", seg[2] == "actions", let id = Int(seg[3]) {
            return FakeSupport.json(200, ["action": ["id": id, "command": "change_dns_ptr", "status": "success", "progress": 100, "error": NSNull()]])
        }
        if r.method == "POST", seg.count == 5, seg[1] == "servers", seg[3] == "actions", seg[4] == "change_dns_ptr", let id = Int(seg[2]) {
            guard let s = servers.first(where: { $0.id == id }) else { return Self.error(404, "not_found", "server with ID '\(id)' not found") }
            guard let b = FakeSupport.body(r) as? [String: Any], let ip = b["ip"] as? String, b.keys.sorted() == ["dns_ptr", "ip"] else {
                return Self.error(400, "invalid_input", "invalid input in fields 'ip', 'dns_ptr'")
            }
            let onServer = ip == s.ipv4 || (ip.contains(":") && ip.hasPrefix(String(s.ipv6Net.split(separator: "/")[0].dropLast(1))))
            guard onServer else { return Self.error(422, "invalid_input", "ip \(ip) is not assigned to server \(id)") }
            let name = b["dns_ptr"] as? String
            if let name {
                guard !name.hasSuffix("."), name == name.lowercased() else { return Self.error(400, "invalid_input", "invalid input in field 'dns_ptr'") }
                lock.unlock()
                let ok = forward(name, ip)
                lock.lock()
                guard ok else { return Self.error(422, "dns_ptr_not_matching", "the forward lookup of \(name) does not point to \(ip)") }
            }
            ptrs[ip] = .some(name)
            nextAction += 1
            return FakeSupport.json(201, ["action": ["id": nextAction, "command": "change_dns_ptr", "status": "running", "progress": 0,
                                                     "resources": [["id": id, "type": "server"]], "error": NSNull()]])
        }
        return Self.error(404, "not_found", "no route \(r.method) \(t.rawPath)")
    }
}

/// Vultr instances: `GET /v2/instances` (cursor-paged, `meta.links.next`),
/// `GET /v2/instances/{id}/ipv4` → `ipv4s[] {ip, reverse}`, `GET …/ipv6/reverse` →
/// `reverse_ipv6s[] {ip, reverse}`, `POST …/ipv4/reverse` and `…/ipv6/reverse`
/// `{ip, reverse}` → 204; errors `{"error": "…", "status": N}`.
final class VultrFake: ReverseFakeBase, @unchecked Sendable {
    struct Instance { var id: String; var mainIP: String; var v6Network: String; var v6MainIP: String }
    private var instances: [Instance] = []
    var url: String { server.url + "/v2" }

    init() throws {
        super.init(token: "VULTRTESTKEY0123456789ABCDEF")
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }

    func addInstance(id: String, mainIP: String, v6Network: String, v6MainIP: String) {
        lock.lock(); instances.append(Instance(id: id, mainIP: mainIP, v6Network: v6Network, v6MainIP: v6MainIP)); lock.unlock()
        setPTR(mainIP, mainIP.replacingOccurrences(of: ".", with: "-") + ".vultrusercontent.com")
    }

    static func error(_ status: Int, _ message: String) -> FakeHTTPServer.Response {
        FakeSupport.json(status, ["error": message, "status": status])
    }

    private func handle(_ r: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard authorized(r) else { return Self.error(401, "Invalid API token.") }
        let t = FakeSupport.target(r.path)
        let seg = t.segments
        lock.lock(); defer { lock.unlock() }
        if r.method == "GET", seg == ["v2", "instances"] {
            // One instance per page, so the adapter must follow the cursor.
            let start = Int(t.q("cursor") ?? "0") ?? 0
            let page = Array(instances.dropFirst(start).prefix(1))
            let next = start + 1 < instances.count ? String(start + 1) : ""
            return FakeSupport.json(200, ["instances": page.map { ["id": $0.id, "main_ip": $0.mainIP, "v6_network": $0.v6Network,
                                                                   "v6_network_size": 64, "v6_main_ip": $0.v6MainIP, "label": "mail"] },
                                          "meta": ["total": instances.count, "links": ["next": next, "prev": ""]]])
        }
        guard seg.count >= 4, seg[0] == "v2", seg[1] == "instances", let inst = instances.first(where: { $0.id == seg[2] }) else {
            return Self.error(404, "Invalid instance-id.")
        }
        switch (r.method, Array(seg.dropFirst(3))) {
        case ("GET", ["ipv4"]):
            return FakeSupport.json(200, ["ipv4s": [["ip": inst.mainIP, "netmask": "255.255.254.0", "gateway": "192.0.2.1", "type": "main_ip",
                                                     "reverse": (ptrs[inst.mainIP] ?? nil) as Any? ?? ""]],
                                          "meta": ["total": 1, "links": ["next": "", "prev": ""]]])
        case ("GET", ["ipv6", "reverse"]):
            let list = ptrs.compactMap { ip, name -> [String: Any]? in
                guard ip.contains(":"), let name else { return nil }
                return ["ip": ip, "reverse": name]
            }
            return FakeSupport.json(200, ["reverse_ipv6s": list])
        case ("POST", ["ipv4", "reverse"]), ("POST", ["ipv6", "reverse"]):
            guard let b = FakeSupport.body(r) as? [String: Any], let ip = b["ip"] as? String, let name = b["reverse"] as? String,
                  b.keys.sorted() == ["ip", "reverse"] else { return Self.error(400, "Invalid request body.") }
            let v6 = seg[3] == "ipv6"
            guard v6 ? ip.hasPrefix(String(inst.v6Network.dropLast(1))) : ip == inst.mainIP else { return Self.error(400, "Invalid IP address.") }
            lock.unlock()
            let ok = forward(name, ip)
            lock.lock()
            guard ok else { return Self.error(400, "Unable to update reverse DNS: \(name) does not resolve to \(ip).") }
            ptrs[ip] = .some(name)
            return FakeHTTPServer.Response(204)
        default:
            return Self.error(404, "Not found.")
        }
    }
}

/// Linode/Akamai IPs: `GET /v4/networking/ips/{address}` → the IP object
/// with `rdns`; `PUT` `{"rdns": …}` → 200 with the object; `{"errors":[{reason, field}]}`.
final class LinodeFake: ReverseFakeBase, @unchecked Sendable {
    var url: String { server.url + "/v4" }
    private var owned: Set<String> = []

    init() throws {
        super.init(token: "linode-test-token-0123456789abcdef")
        server = try FakeHTTPServer { [weak self] req, _ in self?.handle(req) ?? FakeHTTPServer.Response(503, "fake stopped") }
    }

    /// An address of the account with its default rDNS (`192-0-2-25.ip.linodeusercontent.com`).
    func addAddress(_ ip: String) {
        lock.lock(); owned.insert(ip); lock.unlock()
        setPTR(ip, ip.contains(":") ? nil : ip.replacingOccurrences(of: ".", with: "-") + ".ip.linodeusercontent.com")
    }

    static func error(_ status: Int, _ reason: String, field: String? = nil) -> FakeHTTPServer.Response {
        var e: [String: Any] = ["reason": reason]
        if let field { e["field"] = field }
        return FakeSupport.json(status, ["errors": [e]])
    }

    private func object(_ ip: String) -> [String: Any] {
        ["address": ip, "gateway": NSNull(), "linode_id": 123, "prefix": ip.contains(":") ? 128 : 24, "public": true,
         "rdns": (ptrs[ip] ?? nil) as Any? ?? NSNull(), "region": "eu-central", "type": ip.contains(":") ? "ipv6" : "ipv4"]
    }

    private func handle(_ r: FakeHTTPServer.Request) -> FakeHTTPServer.Response {
        guard authorized(r) else { return Self.error(401, "Invalid Token") }
        let t = FakeSupport.target(r.path)
        let seg = t.segments
        lock.lock(); defer { lock.unlock() }
        guard seg.count == 4, seg[0] == "v4", seg[1] == "networking", seg[2] == "ips" else { return Self.error(404, "Not found") }
        let ip = seg[3]
        guard owned.contains(ip) else { return Self.error(404, "Not found") }
        switch r.method {
        case "GET": return FakeSupport.json(200, object(ip))
        case "PUT":
            guard let b = FakeSupport.body(r) as? [String: Any], b.keys.sorted() == ["rdns"] else { return Self.error(400, "Invalid JSON") }
            let name = b["rdns"] as? String
            if let name {
                lock.unlock()
                let ok = forward(name, ip)
                lock.lock()
                guard ok else { return Self.error(400, "Domain \(name) does not resolve to \(ip)", field: "rdns") }
            }
            ptrs[ip] = .some(name)
            return FakeSupport.json(200, object(ip))
        default: return Self.error(405, "Method Not Allowed")
        }
    }
}
