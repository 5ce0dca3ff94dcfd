import Foundation
import MailPlan

/// The deSEC adapter (`type: desec`, the deSEC API documentation, "Retrieving and Creating DNS Records").
///
/// Settings:
/// ```yaml
/// providers:
///   desec:
///     type: desec
///     token: ${DESEC_TOKEN}           # sent as "Authorization: Token …"
///     api_url: https://desec.io/api/v1   # optional (tests point it at a fake)
///     minimum_ttl: 3600               # optional: the account's minimum TTL (deSEC's default is 3600)
///     timeout: 60                     # optional: seconds per request
///     ca_file: /etc/ssl/my-ca.pem     # optional
///     insecure: false                 # optional
/// ```
/// A zone's whole Changeset is one bulk `PATCH /domains/{zone}/rrsets/`, which deSEC applies
/// atomically (one DNSSEC signing run, one request against the low per-domain write limit).
/// TTLs below `minimum_ttl` are raised to it, and above 86400 lowered, with a note in the plan.
public final class DeSECProvider: RESTProviderType {
    public let instanceName: String
    public static let typeName = "desec"
    /// TTL `minimum_ttl`–86400 s; bulk writes are atomic.
    /// Every modelled type; TTL from deSEC's default account minimum (3600 s) to 86400 s; one
    /// atomic bulk request per zone. An instance narrows the TTL range to its `minimum_ttl`.
    public static let capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 3600...maxTTL, applyMode: .atomic,
                                                          rateLimit: rateLimit)
    /// deSEC's throttles (deSEC docs, "Rate Limits", https://desec.readthedocs.io/en/latest/rate-limits.html;
    /// per account, sliding windows, all enforced at once): `dns_api_cheap` 10/s and 50/min for
    /// reads, `user` 2,000/day for any request, and `dns_api_per_domain_expensive` 2/s, 15/min,
    /// 100/h and 300/day for the RRset writes of one domain. Every request is paced by the read
    /// and daily budgets; each zone's bulk write also by the per-domain ones.
    static let rateLimit = RateLimit([RateWindow(10, per: 1), RateWindow(50, per: 60), RateWindow(2000, per: 86_400)],
                                     zoneWrites: [RateWindow(2, per: 1), RateWindow(15, per: 60), RateWindow(100, per: 3600),
                                                  RateWindow(300, per: 86_400)])
    public let capabilities: ProviderCapabilities

    public static let defaultURL = "https://desec.io/api/v1"
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = RESTAPI.commonSettings + [ProviderSetting("minimum_ttl", "the account's minimum TTL in seconds (default 3600)")]
    static let maxTTL: UInt32 = 86_400
    static let scope = "a deSEC token that may manage this domain (perm_manage_tokens is not needed; check allowed_subnets and the token's domain policy)"

    public let baseURL: URL
    /// The lowest TTL this account accepts, as configured (deSEC reports the real one per domain).
    public let minimumTTL: UInt32
    private let token: Secret
    private let client: HTTPClient
    private let lock = NSLock()
    private var domainMinimum: [DomainName: UInt32] = [:]

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        let s = try RESTAPI.settings(config, for: Self.self)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token,
                  minimumTTL: UInt32(try config.int("minimum_ttl", in: 1...86_400) ?? 3600), client: HTTPClient(options: s.options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the API root, e.g. `https://desec.io/api/v1`.
    ///   - token: sent as `Authorization: Token <token>`.
    ///   - minimumTTL: the lowest TTL in seconds to plan with (deSEC's default 3600).
    ///   - client: the transport.
    public init(name: String, baseURL: URL, token: Secret, minimumTTL: UInt32 = 3600, client: HTTPClient = HTTPClient()) {
        self.instanceName = name
        self.baseURL = RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL
        self.token = token; self.minimumTTL = min(minimumTTL, Self.maxTTL); self.client = client
        capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: self.minimumTTL...Self.maxTTL,
                                            applyMode: .atomic, rateLimit: Self.rateLimit)
    }

    func domainPath(_ zone: DomainName) -> String { "/domains/" + RESTAPI.segment(zone.withoutTrailingDot) + "/" }

    private func request(_ method: HTTPMethod, _ url: URL, body: Data? = nil, idempotent: Bool? = nil) -> HTTPRequest {
        let h = RESTAPI.jsonHeaders(authorization: "Token " + token.value, body: body)
        return HTTPRequest(method, url, headers: h, body: body, idempotent: idempotent)
    }
    private func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    private func tokenMessage(_ status: Int, _ body: Data) -> String {
        let detail = (try? JSONSerialization.jsonObject(with: body)).map(DeSECConvert.errorText).map { " \"\($0)\"" } ?? ""
        return RESTAPI.tokenRejected(type: typeName, status: status, token: token, scope: Self.scope) + detail
    }

    // MARK: - read

    /// Reads every RRset of `zone`: `GET /domains/{zone}/` (for `minimum_ttl`), then
    /// `GET /domains/{zone}/rrsets/`; with more than 500 RRsets deSEC answers 400 with a
    /// `Link` header, and every cursor page is followed.
    /// - Throws: ``ProviderError`` for a missing domain, a rejected token, any failed or
    ///   short page, a pagination link to another origin, or a body that does not decode.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        func fail(_ m: String) -> ProviderError { ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(m)") }
        func get(_ u: URL) throws -> (HTTPRequest, HTTPResponse) {
            let req = request(.get, u)
            do {
                let resp = try client.send(req)
                if resp.status == 401 || resp.status == 403 { throw ProviderError(provider: instanceName, tokenMessage(resp.status, resp.body)) }
                return (req, resp)
            } catch let e as HTTPError { throw fail("\(e)") }
        }
        let (dreq, dresp) = try get(url(domainPath(zone)))
        if dresp.status == 404 {
            throw ProviderError(provider: instanceName, "zone \(zone.fqdn) is not a domain of this deSEC account (GET \(dreq.displayURL) returned 404)")
        }
        guard dresp.status == 200 else { throw fail("\(HTTPError(request: dreq, response: dresp))") }
        let domain: DeSECConvert.APIDomain
        do { domain = try RESTAPI.decode(DeSECConvert.APIDomain.self, dresp.body) } catch {
            throw fail("GET \(dreq.displayURL) returned HTTP 200 with a body that is not a domain: \(error)")
        }
        if let m = domain.minimum_ttl { lock.lock(); domainMinimum[zone] = m; lock.unlock() }

        let first = url(domainPath(zone) + "rrsets/")
        var (req, resp) = try get(first)
        var listed: [DeSECConvert.APIRRset] = []
        if resp.status == 400, let start = RESTAPI.links(resp.headers["Link"])["first"] {
            // More than 500 RRsets: the unpaginated request is refused; follow the cursors.
            var next: String? = start
            var seen = Set<String>()
            var pageSize: Int? = nil
            while let n = next {
                guard let u = URL(string: n), RESTAPI.sameOrigin(u, as: baseURL) else {
                    throw fail("the pagination link '\(n)' does not point at \(baseURL.absoluteString); not following it with the token")
                }
                guard seen.insert(n).inserted else { throw fail("the pagination links loop at \(u.absoluteString)") }
                (req, resp) = try get(u)
                guard resp.status == 200 else { throw fail("\(HTTPError(request: req, response: resp)); not planning from a partial listing") }
                let page: [DeSECConvert.APIRRset]
                do { page = try RESTAPI.decode([DeSECConvert.APIRRset].self, resp.body) } catch {
                    throw fail("GET \(req.displayURL) returned HTTP 200 with a body that is not an RRset list: \(error)")
                }
                next = RESTAPI.links(resp.headers["Link"])["next"]
                // Every page but the last is full; a short or empty one before the end means
                // the listing is incomplete.
                if let size = pageSize, next != nil, page.count != size {
                    throw fail("GET \(req.displayURL) returned \(page.count) RRsets where the pages hold \(size) (a short page that is not the last); not planning from a partial listing")
                }
                if next != nil && page.isEmpty { throw fail("GET \(req.displayURL) returned an empty page that is not the last") }
                if pageSize == nil { pageSize = page.count }
                listed += page
            }
        } else {
            guard resp.status == 200 else { throw fail("\(HTTPError(request: req, response: resp)); not planning from a partial listing") }
            do { listed = try RESTAPI.decode([DeSECConvert.APIRRset].self, resp.body) } catch {
                throw fail("GET \(req.displayURL) returned HTTP 200 with a body that is not an RRset list: \(error)")
            }
        }
        do { return try listed.map { try DeSECConvert.rrset($0, zone: zone) } } catch { throw fail("\(error)") }
    }

    // MARK: - apply

    /// Writes the whole changeset as one atomic bulk `PATCH /domains/{zone}/rrsets/`.
    /// - Throws: ``ApplyError`` with nothing applied: a 400 names the RRsets deSEC refused
    ///   (its error array is aligned with the request) and shows the body sent.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        func fail(_ failed: [Change], _ reason: String) -> ApplyError {
            ApplyError.nothingApplied(provider: instanceName, zone: changeset.zone, changes, failed: failed, reason: reason)
        }
        lock.lock(); let minimum = domainMinimum[changeset.zone]; lock.unlock()
        if let minimum {
            let low = changes.filter { ($0.after?.ttl ?? minimum) < minimum && !($0.after?.rdata.isEmpty ?? true) }
            if !low.isEmpty {
                throw fail(low, "deSEC domain \(changeset.zone.fqdn) has minimum_ttl \(minimum) but \(low.map { "\($0.key) has TTL \($0.after!.ttl)" }.joined(separator: ", ")); set minimum_ttl: \(minimum) under providers.\(instanceName) and plan again; nothing was applied")
            }
        }
        let items: [DeSECConvert.BulkItem]
        let body: Data
        do { items = try DeSECConvert.bulkItems(changeset); body = try RESTAPI.encode(items) } catch {
            throw fail(changes, "cannot build the bulk request: \(error); nothing was applied")
        }
        // Setting RRsets to given contents is idempotent, so the PATCH may be repeated after
        // a 429 or a timeout.
        let req = request(.patch, url(domainPath(changeset.zone) + "rrsets/"), body: body, idempotent: true)
        let sent = req.redact(String(decoding: body, as: UTF8.self))
        let resp: HTTPResponse
        client.options.session?.awaitZoneWrite(changeset.zone, Self.rateLimit)
        do { resp = try client.send(req) } catch let e as HTTPError {
            throw ApplyError.transport(provider: instanceName, zone: changeset.zone, changes, error: "\(e)", outcomeUnknown: e.outcomeUnknown,
                                       write: "the bulk PATCH", vendor: "deSEC")
        }
        switch resp.status {
        case 200, 201, 204: return
        case 401, 403: throw fail(changes, tokenMessage(resp.status, resp.body) + "; nothing was applied")
        case 404: throw fail(changes, "zone \(changeset.zone.fqdn) is not a domain of this deSEC account (PATCH \(req.displayURL) returned 404); nothing was applied")
        case 400:
            let json = try? JSONSerialization.jsonObject(with: resp.body)
            if let arr = json as? [Any], arr.count == changes.count {
                var failed: [Change] = [], parts: [String] = []
                for (i, e) in arr.enumerated() {
                    let t = DeSECConvert.errorText(e)
                    if !t.isEmpty { failed.append(changes[i]); parts.append("\(changes[i].key): \(req.redact(t))") }
                }
                throw fail(failed, "deSEC refused \(parts.joined(separator: "; ")) (HTTP 400); nothing was applied (bulk writes are atomic); body sent: \(sent)")
            }
            let t = json.map(DeSECConvert.errorText) ?? resp.excerpt()
            throw fail(changes, "deSEC refused the bulk PATCH (HTTP 400): \(req.redact(t)); nothing was applied; body sent: \(sent)")
        default:
            throw fail(changes, "\(HTTPError(request: req, response: resp)); nothing was applied (bulk writes are atomic)")
        }
    }
}
