import Foundation
import MailPlan

/// Reverse DNS at Vultr (`type: vultr`, named in `server.reverse.provider`): the PTR of an
/// instance's IPv4 or IPv6 address through `POST /instances/{id}/ipv4/reverse` and
/// `/ipv6/reverse` `{"ip","reverse"}` (204 on success; the vendor's API reference for reverse DNS).
///
/// Settings:
/// ```yaml
/// providers:
///   vultr:
///     type: vultr
///     token: ${VULTR_API_KEY}              # a Vultr API key (Bearer)
///     instance_id: cb676a46-66fd-4dfb-b839-443f2e6c0b60   # optional: else found by address
///     api_url: https://api.vultr.com/v2    # optional (tests point it at a fake)
///     timeout: 60                          # optional: seconds per request
/// ```
/// Without `instance_id` the instance is found in `GET /instances` (cursor-paged) by
/// `main_ip` (IPv4) or `v6_network`/`v6_network_size` (IPv6). The PTR is read from
/// `GET /instances/{id}/ipv4` (`ipv4s[].reverse`) or `GET /instances/{id}/ipv6/reverse`
/// (`reverse_ipv6s[]`). The exact shapes of those two reads are [U] (from client code,
/// the vendor's API reference for reverse DNS): an address that is not listed reads as "no PTR".
public final class VultrReverseProvider: ReverseDNSProvider {
    public let instanceName: String
    public let typeName = "vultr"
    public static let defaultURL = "https://api.vultr.com/v2"
    public static let settingNames = RESTAPI.commonSettings.map(\.name) + ["instance_id"]
    /// The instance, when the plan names it.
    public let instanceID: String?
    let api: ReverseAPI

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: Self.settingNames)
        let s = try RESTAPI.settings(config, defaultURL: Self.defaultURL)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token, instanceID: try config.string("instance_id"),
                  client: HTTPClient(options: s.options))
    }

    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the API root, e.g. `https://api.vultr.com/v2`.
    ///   - token: the API key, sent as `Authorization: Bearer`.
    ///   - instanceID: the instance holding the addresses; nil finds it by address.
    ///   - client: the transport.
    public init(name: String, baseURL: URL, token: Secret, instanceID: String? = nil, client: HTTPClient = HTTPClient(),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        instanceName = name
        self.instanceID = instanceID
        api = ReverseAPI(instanceName: name, typeName: "vultr", baseURL: RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL,
                         token: token, client: client, sleep: sleep, scope: "a Vultr API key allowed from this machine's address (Account → API)")
    }

    struct Instance: Decodable { let id: String; let main_ip: String?; let v6_network: String?; let v6_network_size: Int? }
    struct Links: Decodable { let next: String? }
    struct Meta: Decodable { let links: Links? }
    struct InstanceList: Decodable { let instances: [Instance]; let meta: Meta? }
    struct IPv4Entry: Decodable { let ip: String; let reverse: String? }
    struct IPv4List: Decodable { let ipv4s: [IPv4Entry] }
    struct IPv6Reverse: Decodable { let ip: String; let reverse: String? }
    struct IPv6ReverseList: Decodable { let reverse_ipv6s: [IPv6Reverse] }
    struct ReverseBody: Encodable { let ip: String; let reverse: String }
    struct ErrorBody: Decodable { let error: String? }

    static func errorText(_ body: Data) -> String? { (try? JSONDecoder().decode(ErrorBody.self, from: body))?.error }

    /// The instance holding `ip`: `instance_id`, or the one whose `main_ip` / IPv6 network matches.
    func instance(for ip: IPAddress) throws -> String {
        if let instanceID { return instanceID }
        let what = "finding the instance of \(ip)"
        var cursor = ""
        for _ in 0..<1000 {
            let req = api.request(.get, "/instances?per_page=100" + (cursor.isEmpty ? "" : "&cursor=" + RESTAPI.segment(cursor)))
            let resp = try api.send(req, what: what)
            guard resp.status == 200 else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
            let list = try api.decode(InstanceList.self, resp, req, what: what)
            for i in list.instances {
                switch ip {
                case .v4(let a): if i.main_ip.flatMap(IPv4Address.init) == a { return i.id }
                case .v6(let a):
                    if let n = i.v6_network, !n.isEmpty, ReverseAPI.contains(network: n, prefix: i.v6_network_size ?? 64, a) { return i.id }
                }
            }
            guard let next = list.meta?.links?.next, !next.isEmpty else { break }
            cursor = next
        }
        throw api.fail("\(ip) is not the address of any instance of this Vultr account (GET /instances); check server.ipv4/ipv6, or set instance_id")
    }

    /// Reads the PTR of `ip` (`ipv4s[].reverse`, or `reverse_ipv6s[]`).
    /// - Returns: the PTR, or nil when none is listed.
    public func readPTR(_ ip: IPAddress) throws -> DomainName? {
        let id = try instance(for: ip)
        let what = "reading the PTR of \(ip)"
        /// `GET path` of the instance, answered 200 with a `T`.
        func get<T: Decodable>(_ path: String, _ type: T.Type) throws -> T {
            let req = api.request(.get, "/instances/\(RESTAPI.segment(id))" + path)
            let resp = try api.send(req, what: what)
            guard resp.status == 200 else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
            return try api.decode(T.self, resp, req, what: what)
        }
        switch ip {
        case .v4(let a):
            return ReverseAPI.ptrName(try get("/ipv4", IPv4List.self).ipv4s.first { IPv4Address($0.ip) == a }?.reverse)
        case .v6(let a):
            return ReverseAPI.ptrName(try get("/ipv6/reverse", IPv6ReverseList.self).reverse_ipv6s.first { IPv6Address($0.ip) == a }?.reverse)
        }
    }

    /// `POST /instances/{id}/ipv4/reverse` (or `ipv6/reverse`) `{"ip":"192.0.2.25","reverse":"mail.example.com"}`.
    /// - Throws: ``ProviderError`` with Vultr's `error` text.
    public func setPTR(_ ip: IPAddress, to name: DomainName) throws {
        let id = try instance(for: ip)
        let what = "setting the PTR of \(ip) to \(name.fqdn)"
        let family = { if case .v4 = ip { return "ipv4" }; return "ipv6" }()
        let body = try ReverseAPI.body(ReverseBody(ip: ip.description, reverse: ReverseAPI.apiName(name)))
        let req = api.request(.post, "/instances/\(RESTAPI.segment(id))/\(family)/reverse", body: body, idempotent: true)
        let resp = try api.send(req, what: what)
        guard resp.isSuccess else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
    }
}
