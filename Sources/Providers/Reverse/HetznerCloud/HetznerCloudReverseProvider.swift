import Foundation
import MailPlan

/// Reverse DNS at Hetzner Cloud (`type: hetzner` named in `server.reverse.provider`): the PTR
/// of a server's public IPv4, or of any address in its IPv6 /64, through
/// `POST /servers/{id}/actions/change_dns_ptr` `{"ip","dns_ptr"}` (the vendor's API reference for reverse DNS).
///
/// The same `providers:` entry serves both the DNS zones (the `hetzner` DNS adapter) and the
/// PTRs: zones and servers live in one Cloud project, so one project token (Read & Write)
/// does both. Settings are those of the DNS adapter.
///
/// Reading lists `GET /servers` (paged, 50 per page) and takes `public_net.ipv4.dns_ptr` or
/// the `public_net.ipv6.dns_ptr[]` entry of the address. Setting returns an asynchronous
/// action that is polled at `GET /servers/actions/{id}` until `success`.
/// Primary IPs not assigned to a server, Floating IPs and Load Balancers are not looked up.
public final class HetznerCloudReverseProvider: ReverseDNSProvider {
    public let instanceName: String
    public let typeName = "hetzner"
    /// Seconds to wait for one `change_dns_ptr` action.
    public let actionTimeout: TimeInterval
    let api: ReverseAPI

    /// Builds the adapter from a plan file's provider entry (the DNS adapter's settings).
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: HetznerCloudAPI.settings.map(\.name))
        let s = try RESTAPI.settings(config, defaultURL: HetznerCloudAPI.defaultURL)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token,
                  actionTimeout: TimeInterval(try config.int("action_timeout", in: 1...3600) ?? 120),
                  client: HTTPClient(options: s.options))
    }

    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the API root, e.g. `https://api.hetzner.cloud/v1`.
    ///   - token: the Cloud project token, sent as `Authorization: Bearer`.
    ///   - actionTimeout: seconds to wait for each action.
    ///   - client: the transport.
    ///   - sleep: waits between action polls (seconds); injectable for tests.
    public init(name: String, baseURL: URL, token: Secret, actionTimeout: TimeInterval = 120, client: HTTPClient = HTTPClient(),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        instanceName = name
        self.actionTimeout = actionTimeout
        api = ReverseAPI(instanceName: name, typeName: "hetzner", baseURL: RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL,
                         token: token, client: client, sleep: sleep,
                         scope: "a Hetzner Cloud project API token with Read & Write permission for the project holding the server")
    }

    // MARK: API shapes (hcloud-go schema/server.go)

    struct DNSPtr: Codable { let ip: String; let dns_ptr: String? }
    struct IPv4: Decodable { let ip: String; let dns_ptr: String? }
    struct IPv6: Decodable { let ip: String; let dns_ptr: [DNSPtr]? }
    struct PublicNet: Decodable { let ipv4: IPv4?; let ipv6: IPv6? }
    struct Server: Decodable { let id: Int; let name: String; let public_net: PublicNet }
    struct Pagination: Decodable { let page: Int; let next_page: Int? }
    struct Meta: Decodable { let pagination: Pagination? }
    struct ServerList: Decodable { let servers: [Server]; let meta: Meta? }
    struct ChangeBody: Encodable { let ip: String; let dns_ptr: String }
    struct ActionError: Decodable { let code: String?; let message: String? }
    struct Action: Decodable { let id: Int; let status: String; let error: ActionError? }
    struct ActionEnvelope: Decodable { let action: Action }
    struct ErrorEnvelope: Decodable { struct E: Decodable { let code: String?; let message: String? }; let error: E }

    static func errorText(_ body: Data) -> String? {
        guard let e = try? JSONDecoder().decode(ErrorEnvelope.self, from: body) else { return nil }
        return [e.error.code, e.error.message].compactMap { $0 }.joined(separator: ": ")
    }

    /// The server holding `ip`: its public IPv4, or its IPv6 /64.
    func server(for ip: IPAddress) throws -> Server {
        let what = "finding the server of \(ip)"
        var page = 1
        while true {
            let req = api.request(.get, "/servers?page=\(page)&per_page=50")
            let resp = try api.send(req, what: what)
            guard resp.status == 200 else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
            let list = try api.decode(ServerList.self, resp, req, what: what)
            for s in list.servers {
                switch ip {
                case .v4(let a): if let v4 = s.public_net.ipv4, IPv4Address(v4.ip) == a { return s }
                case .v6(let a): if let v6 = s.public_net.ipv6, ReverseAPI.contains(network: v6.ip, a) { return s }
                }
            }
            guard let next = list.meta?.pagination?.next_page, next == page + 1, page < 1000 else { break }
            page = next
        }
        throw api.fail("\(ip) is not the public address of any server in this Hetzner Cloud project (GET /servers); check server.ipv4/ipv6 and the token's project")
    }

    /// Reads the PTR of `ip` from its server's `public_net`.
    /// - Returns: the PTR, or nil when none is set (an IPv6 address without an entry).
    /// - Throws: ``ProviderError`` when no server holds the address or the listing fails.
    public func readPTR(_ ip: IPAddress) throws -> DomainName? {
        let s = try server(for: ip)
        switch ip {
        case .v4: return ReverseAPI.ptrName(s.public_net.ipv4?.dns_ptr)
        case .v6(let a): return ReverseAPI.ptrName(s.public_net.ipv6?.dns_ptr?.first { IPv6Address($0.ip) == a }?.dns_ptr)
        }
    }

    /// `POST /servers/{id}/actions/change_dns_ptr` `{"dns_ptr":"mail.example.com","ip":"192.0.2.25"}`,
    /// then polls the action until it succeeds.
    /// - Throws: ``ProviderError`` with Hetzner's code and message (e.g. forward DNS not matching).
    public func setPTR(_ ip: IPAddress, to name: DomainName) throws {
        let s = try server(for: ip)
        let what = "setting the PTR of \(ip) (server \(s.name)) to \(name.fqdn)"
        let body = try ReverseAPI.body(ChangeBody(ip: ip.description, dns_ptr: ReverseAPI.apiName(name)))
        // Setting the same PTR twice has the same effect: safe to retry.
        let req = api.request(.post, "/servers/\(s.id)/actions/change_dns_ptr", body: body, idempotent: true)
        let resp = try api.send(req, what: what)
        guard resp.isSuccess else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
        var action = try api.decode(ActionEnvelope.self, resp, req, what: what).action
        var waited: TimeInterval = 0, interval: TimeInterval = 0.25
        while true {
            switch action.status {
            case "success": return
            case "error":
                let e = [action.error?.code, action.error?.message].compactMap { $0 }.joined(separator: ": ")
                throw api.fail("\(what): action \(action.id) failed: \(e.isEmpty ? "no error detail" : e)")
            default: break
            }
            if waited >= actionTimeout {
                throw api.fail("\(what): action \(action.id) was still \(action.status) after \(Int(actionTimeout)) s; it may still complete: run plan again")
            }
            api.sleep(interval); waited += interval; interval = min(interval * 2, 2)
            let poll = api.request(.get, "/servers/actions/\(action.id)")
            let pr = try api.send(poll, what: "\(what): polling action \(action.id)")
            guard pr.status == 200 else { throw api.refused(poll, pr, what: "\(what): polling action \(action.id)", detail: Self.errorText(pr.body)) }
            action = try api.decode(ActionEnvelope.self, pr, poll, what: what).action
        }
    }
}
