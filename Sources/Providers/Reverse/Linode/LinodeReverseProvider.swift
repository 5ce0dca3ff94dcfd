import Foundation
import MailPlan

/// Reverse DNS at Linode/Akamai (`type: linode`, named in `server.reverse.provider`): the
/// `rdns` of an address through `PUT /networking/ips/{address}` `{"rdns":"mail.example.com"}`
/// (the vendor's API reference for reverse DNS; techdocs.akamai.com). Linode refuses an `rdns` whose forward lookup does
/// not resolve to the address yet, so `apply` sets A/AAAA and waits before this call.
///
/// Settings:
/// ```yaml
/// providers:
///   linode:
///     type: linode
///     token: ${LINODE_TOKEN}                 # a personal access token with IPs: Read/Write
///     api_url: https://api.linode.com/v4     # optional (tests point it at a fake)
///     timeout: 60                            # optional: seconds per request
/// ```
public final class LinodeReverseProvider: ReverseDNSProvider {
    public let instanceName: String
    public let typeName = "linode"
    public static let defaultURL = "https://api.linode.com/v4"
    public static let settingNames = RESTAPI.commonSettings.map(\.name)
    let api: ReverseAPI

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: Self.settingNames)
        let s = try RESTAPI.settings(config, defaultURL: Self.defaultURL)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token, client: HTTPClient(options: s.options))
    }

    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the API root, e.g. `https://api.linode.com/v4`.
    ///   - token: the personal access token, sent as `Authorization: Bearer`.
    ///   - client: the transport.
    public init(name: String, baseURL: URL, token: Secret, client: HTTPClient = HTTPClient(),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        instanceName = name
        api = ReverseAPI(instanceName: name, typeName: "linode", baseURL: RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL,
                         token: token, client: client, sleep: sleep, scope: "a Linode personal access token with IPs: Read/Write")
    }

    struct IPObject: Decodable { let address: String; let rdns: String? }
    struct ErrorList: Decodable { struct E: Decodable { let reason: String?; let field: String? }; let errors: [E] }
    struct RDNSBody: Encodable { let rdns: String }

    static func errorText(_ body: Data) -> String? {
        guard let l = try? JSONDecoder().decode(ErrorList.self, from: body), !l.errors.isEmpty else { return nil }
        return l.errors.map { ($0.field.map { "\($0): " } ?? "") + ($0.reason ?? "") }.joined(separator: "; ")
    }

    func path(_ ip: IPAddress) -> String { "/networking/ips/" + RESTAPI.segment(ip.description, keepAt: false) }

    /// `GET /networking/ips/{address}` → `rdns` (null: none).
    /// - Throws: ``ProviderError``; a 404 says the address is not this account's.
    public func readPTR(_ ip: IPAddress) throws -> DomainName? {
        let what = "reading the PTR of \(ip)"
        let req = api.request(.get, path(ip))
        let resp = try api.send(req, what: what)
        if resp.status == 404 { throw api.fail("\(ip) is not an address of this Linode account (GET \(req.displayURL) returned 404); check server.ipv4/ipv6") }
        guard resp.status == 200 else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
        return ReverseAPI.ptrName(try api.decode(IPObject.self, resp, req, what: what).rdns)
    }

    /// `PUT /networking/ips/{address}` `{"rdns":"mail.example.com"}`.
    /// - Throws: ``ProviderError`` with Linode's `errors[].reason` (e.g. the forward lookup failing).
    public func setPTR(_ ip: IPAddress, to name: DomainName) throws {
        let what = "setting the PTR of \(ip) to \(name.fqdn)"
        let req = api.request(.put, path(ip), body: try ReverseAPI.body(RDNSBody(rdns: ReverseAPI.apiName(name))))
        let resp = try api.send(req, what: what)
        guard resp.isSuccess else { throw api.refused(req, resp, what: what, detail: Self.errorText(resp.body)) }
    }
}
