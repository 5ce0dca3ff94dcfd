import Foundation
import MailPlan

/// The Gandi LiveDNS adapter (`type: gandi`, API v5, the Gandi LiveDNS API v5 reference).
///
/// Settings:
/// ```yaml
/// providers:
///   gandi:
///     type: gandi
///     token: ${GANDI_TOKEN}           # a personal access token, sent as "Authorization: Bearer …"
///     api_url: https://api.gandi.net/v5/livedns   # optional (tests point it at a fake)
///     sharing_id: 0123abcd-…          # optional: the organization to act for
///     page_size: 100                  # optional: RRsets per list page, 1–1000
///     timeout: 60                     # optional: seconds per request
///     ca_file: /etc/ssl/my-ca.pem     # optional
///     insecure: false                 # optional
/// ```
/// Reading is `GET /domains/{fqdn}` plus one `GET /domains/{fqdn}/records` per page
/// (`Total-Count` checked). Writes are one request per RRset: `PUT
/// /domains/{fqdn}/records/{name}/{type}` (creates or replaces) and `DELETE` for deletes.
/// Gandi has no multi-RRset transaction short of replacing the whole zone (which would touch
/// records mailplan does not manage), so a failure reports exactly which changes were applied.
public final class GandiProvider: RESTProviderType {
    public let instanceName: String
    public static let typeName = "gandi"
    /// TTL 300–2592000 s (the Gandi LiveDNS API v5 reference, "rrset_ttl").
    /// Rate limit: 1,000 requests per minute from one IP address (Gandi's v5 API reference,
    /// "Rate limit", https://api.gandi.net/docs/reference/).
    public static let capabilities = ProviderCapabilities(
        supportedTypes: Set(RRType.modelled), ttlRange: 300...2_592_000, applyMode: .recordByRecord,
        rateLimit: RateLimit([RateWindow(1000, per: 60)]))

    public static let defaultURL = "https://api.gandi.net/v5/livedns"
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = RESTAPI.commonSettings + [
        ProviderSetting("sharing_id", "the organization to act in"),
        ProviderSetting("page_size", "1-1000, default 100"),
    ]
    // The exact permission name is [U] (not confirmed in the vendor's published documentation).
    static let scope = "a Gandi personal access token with the \"Manage domain name technical configurations\" (LiveDNS) permission for this domain"

    public let baseURL: URL
    public let sharingID: String?
    public let pageSize: Int
    private let token: Secret
    private let client: HTTPClient
    private let sleep: @Sendable (TimeInterval) -> Void

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        let s = try RESTAPI.settings(config, for: Self.self)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token, sharingID: try config.string("sharing_id"),
                  pageSize: try config.int("page_size", in: 1...1000) ?? 100, client: HTTPClient(options: s.options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the LiveDNS root, e.g. `https://api.gandi.net/v5/livedns`.
    ///   - token: a personal access token, sent as `Authorization: Bearer`.
    ///   - sharingID: an organization id, sent as `?sharing_id=` on every request.
    ///   - pageSize: RRsets per list page.
    ///   - client: the transport.
    ///   - sleep: waits before repeating a 429-refused POST (not used by PUT/DELETE, which the transport retries).
    public init(name: String, baseURL: URL, token: Secret, sharingID: String? = nil, pageSize: Int = 100,
                client: HTTPClient = HTTPClient(),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        self.instanceName = name
        self.baseURL = RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL
        self.token = token; self.sharingID = sharingID; self.pageSize = max(1, pageSize)
        self.client = client; self.sleep = sleep
    }

    func domainPath(_ zone: DomainName) -> String { "/domains/" + RESTAPI.segment(zone.withoutTrailingDot) }

    /// The URL for `path` with `query` items and `sharing_id` when set.
    func url(_ path: String, _ query: [(String, String)] = []) -> URL {
        var q = query
        if let sharingID { q.append(("sharing_id", sharingID)) }
        let qs = q.map { "\($0.0)=\(RESTAPI.segment($0.1, keepAt: false))" }.joined(separator: "&")
        return URL(string: baseURL.absoluteString + path + (qs.isEmpty ? "" : "?" + qs))!
    }

    func rrsetPath(_ zone: DomainName, _ name: DomainName, _ type: RRType) throws -> String {
        // `@` is written %40, as Gandi's own rrset_href does.
        domainPath(zone) + "/records/" + RESTAPI.segment(try GandiConvert.name(name, zone: zone), keepAt: false) + "/" + type.rawValue
    }

    private func request(_ method: HTTPMethod, _ url: URL, body: Data? = nil) -> HTTPRequest {
        let h = RESTAPI.jsonHeaders(authorization: "Bearer " + token.value, body: body)
        return HTTPRequest(method, url, headers: h, body: body)
    }

    private func tokenMessage(_ status: Int, _ body: Data) -> String {
        RESTAPI.tokenRejected(type: typeName, status: status, token: token, scope: Self.scope)
            + (GandiConvert.errorText(body).map { ": \"\($0)\"" } ?? "")
    }

    // MARK: - read

    /// Reads every RRset of `zone`: `GET /domains/{fqdn}`, then `GET …/records?page=N&per_page=P`
    /// until the `Total-Count` header's number of RRsets has been read.
    /// - Throws: ``ProviderError`` for a missing domain, a rejected token, a failed or short
    ///   page, a count that disagrees with `Total-Count`, or a body that does not decode.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        func fail(_ m: String) -> ProviderError { ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(m)") }
        func get(_ u: URL) throws -> (HTTPRequest, HTTPResponse) {
            let req = request(.get, u)
            do {
                let resp = try RESTAPI.send(client, req, sleep: sleep)
                if resp.status == 401 || resp.status == 403 { throw ProviderError(provider: instanceName, tokenMessage(resp.status, resp.body)) }
                return (req, resp)
            } catch let e as HTTPError { throw fail("\(e)") }
        }
        let (dreq, dresp) = try get(url(domainPath(zone)))
        if dresp.status == 404 {
            throw ProviderError(provider: instanceName, "zone \(zone.fqdn) is not a LiveDNS domain of this Gandi account (GET \(dreq.displayURL) returned 404)")
        }
        guard dresp.status == 200 else { throw fail("\(HTTPError(request: dreq, response: dresp))") }

        var listed: [GandiConvert.APIRRset] = []
        var total: Int? = nil
        var page = 1
        while true {
            let (req, resp) = try get(url(domainPath(zone) + "/records", [("page", "\(page)"), ("per_page", "\(pageSize)")]))
            guard resp.status == 200 else { throw fail("\(HTTPError(request: req, response: resp)); not planning from a partial listing") }
            let items: [GandiConvert.APIRRset]
            do { items = try RESTAPI.decode([GandiConvert.APIRRset].self, resp.body) } catch {
                throw fail("GET \(req.displayURL) returned HTTP 200 with a body that is not an RRset list: \(error)")
            }
            if let t = resp.headers["Total-Count"] {
                guard let n = Int(t.trimmingCharacters(in: .whitespaces)), n >= 0 else { throw fail("GET \(req.displayURL) returned Total-Count '\(t)'") }
                if let old = total, old != n { throw fail("Total-Count changed from \(old) to \(n) while paging (the zone changed during the read); run plan again") }
                total = n
            }
            listed += items
            let hasNext = RESTAPI.links(resp.headers["Link"])["next"] != nil
            let more: Bool
            if let total {
                if listed.count > total { throw fail("the pages held \(listed.count) RRsets but Total-Count is \(total)") }
                more = listed.count < total
            } else {
                more = hasNext
            }
            if !more { break }
            guard items.count == pageSize else {
                throw fail("GET \(req.displayURL) returned \(items.count) RRsets on a page of \(pageSize) with \(total.map { "\($0 - listed.count) of \($0) (Total-Count)" } ?? "more") still to come (a short page); not planning from a partial listing")
            }
            page += 1
            if page > 100_000 { throw fail("more than 100000 pages") }
        }
        do { return try listed.map { try GandiConvert.rrset($0, zone: zone) } } catch { throw fail("\(error)") }
    }

    // MARK: - apply

    /// Writes the changeset one RRset per request, in its order (creates, updates, deletes):
    /// `PUT …/records/{name}/{type}` with every value and the TTL, or `DELETE`.
    /// - Throws: ``ApplyError`` with the changes applied before the failure, the failed one
    ///   and the ones not attempted.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        let zone = changeset.zone
        for (i, c) in changes.enumerated() {
            func fail(_ reason: String) -> ApplyError {
                ApplyError.partial(provider: instanceName, zone: zone, changes, applied: Array(changes.prefix(i)), failed: [c], reason: reason)
            }
            let req: HTTPRequest
            do {
                let u = url(try rrsetPath(zone, c.name, c.type))
                if c.action != .delete, let after = c.after, !after.rdata.isEmpty {
                    req = request(.put, u, body: try RESTAPI.encode(GandiConvert.putBody(after, keeping: c.before)))
                } else {
                    req = request(.delete, u)
                }
            } catch { throw fail("\(c.key): \(error)") }
            let what = req.method == .put ? (c.action == .create ? "create" : "update") : "delete"
            let resp: HTTPResponse
            do { resp = try RESTAPI.send(client, req, sleep: sleep) } catch let e as HTTPError {
                throw fail("\(c.key): \(what) failed: \(e)" + (e.outcomeUnknown ? "; it may or may not have been applied: run plan again" : ""))
            }
            switch resp.status {
            case 200, 201, 204: continue
            // Deleting an RRset that is already gone reaches the desired state.
            case 404 where req.method == .delete: continue
            case 401, 403: throw fail("\(c.key): " + tokenMessage(resp.status, resp.body))
            default:
                let detail = GandiConvert.errorText(resp.body).map { "\"\(req.redact($0))\"" } ?? resp.excerpt()
                let sent = req.body.map { "; body sent: " + req.redact(String(decoding: $0, as: UTF8.self)) } ?? ""
                throw fail("Gandi refused the \(what) of \(c.key): \(req.method) \(req.displayURL) returned HTTP \(resp.status)\(resp.attempts > 1 ? " after \(resp.attempts) attempts" : ""): \(detail)\(sent)")
            }
        }
    }
}
