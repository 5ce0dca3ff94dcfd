import Foundation
import MailPlan

/// The Hetzner Cloud DNS adapter (`type: hetzner`): zones and RRsets of the Cloud API
/// (`https://api.hetzner.cloud/v1`, the Hetzner Cloud API reference, "Zones" and "Zone RRSets"), not the legacy DNS Console API.
///
/// Settings:
/// ```yaml
/// providers:
///   hz:
///     type: hetzner
///     token: ${HCLOUD_TOKEN}          # a Cloud project API token with Read & Write permission
///     api_url: https://api.hetzner.cloud/v1   # optional (tests point it at a fake)
///     page_size: 100                  # optional: RRsets per list page, 1–100
///     action_timeout: 120             # optional: seconds to wait for each asynchronous action
///     timeout: 60                     # optional: seconds per request
///     ca_file: /etc/ssl/my-ca.pem     # optional
///     insecure: false                 # optional: allow plain http:// to a non-loopback host
/// ```
/// Reading is one `GET /zones/{zone}` (or, when the run plans several zones, one shared
/// listing of every zone, `GET /zones`, see ``ZoneDirectory``) plus one `GET /zones/{zone}/rrsets` per page. Writes are
/// RRset-level and asynchronous: each returns an action that is polled until it succeeds.
/// A create is `POST /rrsets`; an update is `set_records` and/or `change_ttl` (two calls
/// when both change: the API has no single call for both); a delete is `DELETE`. The API has
/// no multi-RRset transaction, so a failure reports exactly which changes were applied.
public final class HetznerCloudProvider: RESTProviderType {
    public let instanceName: String
    public static let typeName = "hetzner"
    /// TTL 60–2147483647 s (the Hetzner Cloud API reference, "Zones" and "Zone RRSets"); every modelled type.
    /// Rate limit: 3,600 requests per hour per project, refilled by one a second (the Hetzner
    /// Cloud API reference, "Rate Limiting", https://docs.hetzner.cloud/#rate-limiting).
    public static let capabilities = ProviderCapabilities(
        supportedTypes: Set(RRType.modelled), ttlRange: 60...2_147_483_647, applyMode: .recordByRecord,
        rateLimit: RateLimit([RateWindow(3600, per: 3600)]))

    public static let defaultURL = HetznerCloudAPI.defaultURL
    /// The settings this adapter accepts (docs/plan-file.md documents each); the reverse
    /// adapter reads the same entry.
    public static let settings: [ProviderSetting] = HetznerCloudAPI.settings
    static let scope = "a Hetzner Cloud project API token with Read & Write permission (tokens of the legacy DNS Console are not valid here)"

    public let baseURL: URL
    /// RRsets asked for per list page (the API allows up to 100).
    public let pageSize: Int
    /// Seconds to wait for one action to finish before giving up.
    public let actionTimeout: TimeInterval
    private let token: Secret
    private let client: HTTPClient
    private let sleep: @Sendable (TimeInterval) -> Void

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        let s = try RESTAPI.settings(config, for: Self.self)
        self.init(name: config.name, baseURL: s.baseURL, token: s.token,
                  pageSize: try config.int("page_size", in: 1...100) ?? 100,
                  actionTimeout: TimeInterval(try config.int("action_timeout", in: 1...3600) ?? 120),
                  client: HTTPClient(options: s.options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - baseURL: the API root, e.g. `https://api.hetzner.cloud/v1`.
    ///   - token: the Cloud API token, sent as `Authorization: Bearer`.
    ///   - pageSize: RRsets per list page (1–100).
    ///   - actionTimeout: seconds to wait for each action.
    ///   - client: the transport.
    ///   - sleep: waits between action polls and 429 retries of creates (seconds); injectable for tests.
    public init(name: String, baseURL: URL, token: Secret, pageSize: Int = 100, actionTimeout: TimeInterval = 120,
                client: HTTPClient = HTTPClient(),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        self.instanceName = name
        self.baseURL = RESTAPI.parseBaseURL(baseURL.absoluteString) ?? baseURL
        self.token = token; self.pageSize = max(1, min(100, pageSize)); self.actionTimeout = actionTimeout
        self.client = client; self.sleep = sleep
    }

    // MARK: - requests

    func zonePath(_ zone: DomainName) -> String { "/zones/" + RESTAPI.segment(zone.withoutTrailingDot) }

    func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    func rrsetPath(_ zone: DomainName, _ name: DomainName, _ type: RRType) throws -> String {
        zonePath(zone) + "/rrsets/" + RESTAPI.segment(try HetznerCloudConvert.apiName(name, zone: zone)) + "/" + type.rawValue
    }

    private func request(_ method: HTTPMethod, _ path: String, body: Data? = nil, idempotent: Bool? = nil) -> HTTPRequest {
        let h = RESTAPI.jsonHeaders(authorization: "Bearer " + token.value, body: body)
        // 423 `locked` (another action runs on the zone) is worth repeating for idempotent
        // writes; its status code is [U] (not confirmed in the vendor's published documentation).
        return HTTPRequest(method, url(path), headers: h, body: body, idempotent: idempotent,
                           extraRetryStatuses: [423])
    }

    private func send(_ req: HTTPRequest) throws -> HTTPResponse { try RESTAPI.send(client, req, sleep: sleep) }

    private func tokenMessage(_ status: Int) -> String {
        RESTAPI.tokenRejected(type: typeName, status: status, token: token, scope: Self.scope)
    }

    // MARK: - read

    /// Reads a list through ``PagedListing``: `page` from 1, `meta.pagination` (`page`,
    /// `per_page`, `next_page`, `total_entries`) checked on every page.
    private func listAll<T>(_ path: String, perPage: Int, noun: String, fail: @escaping (String) -> ProviderError,
                            keepGoing: ((Int, PagedListing.Page<T>) -> Bool)? = nil,
                            _ decode: @escaping (Data) throws -> ([T], HetznerCloudConvert.Pagination?)) throws -> PagedListing.Result<T> {
        let listing = PagedListing(noun: noun, vendor: "Hetzner", totalField: "total_entries", fail: fail)
        return try listing.read(from: .page(1), keepGoing: keepGoing) { cursor, _ in
            guard case .page(let page) = cursor else { preconditionFailure("Hetzner lists by page number") }
            let req = request(.get, path + "?page=\(page)&per_page=\(perPage)")
            let resp: HTTPResponse
            do { resp = try send(req) } catch let e as HTTPError { throw fail("\(e)") }
            if resp.status == 401 || resp.status == 403 { throw ProviderError(provider: instanceName, tokenMessage(resp.status)) }
            guard resp.status == 200 else { throw fail(PagedListing.partial("\(HTTPError(request: req, response: resp))")) }
            let (items, p): ([T], HetznerCloudConvert.Pagination?)
            do { (items, p) = try decode(resp.body) } catch {
                throw fail("GET \(req.displayURL) returned HTTP 200 with a body that is not a list of \(noun): \(error)")
            }
            guard let p else { throw fail("GET \(req.displayURL) returned no meta.pagination; cannot tell whether the listing is complete") }
            return PagedListing.Page(items: items, request: "GET " + req.displayURL, total: p.total_entries, number: p.page,
                                     fullSize: p.per_page, next: p.next_page.map { .page($0) })
        }
    }

    /// Zones asked for per page of `GET /zones`: the Cloud API's maximum for lists other than
    /// RRsets (Hetzner Cloud API reference, "Pagination": `per_page` at most 50).
    static let zonePageSize = 50

    /// The zone's settings (TTL, mode): from the shared listing of every zone of the project
    /// (``ZoneDirectory``) when the run plans several, else `GET /zones/{name}`.
    /// - Throws: ``ProviderError`` for a missing zone, a rejected token or a failed read.
    func zone(_ zone: DomainName) throws -> HetznerCloudConvert.APIZone {
        func fail(_ m: String) -> ProviderError { ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(m)") }
        let zreq = request(.get, zonePath(zone))
        let missing = ProviderError(provider: instanceName, "zone \(zone.fqdn) does not exist in this Hetzner Cloud project (GET \(zreq.displayURL) returned 404)")
        let directory = try ZoneDirectory<HetznerCloudConvert.APIZone>.shared(client, key: "hetzner.zones \(baseURL.absoluteString)", name: { try? DomainName($0.name) }) { keepGoing in
            try listAll("/zones", perPage: Self.zonePageSize, noun: "zones", fail: { ProviderError(provider: self.instanceName, "listing the zones of the project failed: \($0)") },
                        keepGoing: keepGoing) {
                let env = try RESTAPI.decode(HetznerCloudConvert.ZoneList.self, $0)
                return (env.zones, env.meta?.pagination)
            }
        }
        if let listed = directory?.lookup(zone) {
            guard let z = listed.first else {
                throw ProviderError(provider: instanceName, "zone \(zone.fqdn) does not exist in this Hetzner Cloud project (not among the zones GET \(url("/zones").absoluteString) listed)")
            }
            return z
        }
        let zresp: HTTPResponse
        do { zresp = try send(zreq) } catch let e as HTTPError { throw fail("\(e)") }
        switch zresp.status {
        case 200: break
        case 401, 403: throw ProviderError(provider: instanceName, tokenMessage(zresp.status))
        case 404: throw missing
        default: throw fail("\(HTTPError(request: zreq, response: zresp))")
        }
        do { return try RESTAPI.decode(HetznerCloudConvert.ZoneEnvelope.self, zresp.body).zone } catch {
            throw fail("GET \(zreq.displayURL) returned HTTP 200 with a body that is not a zone: \(error)")
        }
    }


    /// Reads every RRset of `zone`: one zone lookup, then one list call per page.
    /// - Returns: all RRsets (SOA and NS included); `ttl: null` is the zone's default TTL.
    /// - Throws: ``ProviderError`` for a missing zone, a rejected token, a failed or short page,
    ///   a count that disagrees with `total_entries`, or a body that does not decode. A
    ///   partial listing is never returned.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        func fail(_ m: String) -> ProviderError { ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(m)") }
        let z = try self.zone(zone)
        if let mode = z.mode, mode != "primary" {
            throw ProviderError(provider: instanceName, "zone \(zone.fqdn) is a \(mode) zone at Hetzner; only primary zones accept RRset changes (incorrect_zone_mode)")
        }
        let listed: [HetznerCloudConvert.APIRRset] = try listAll(zonePath(zone) + "/rrsets", perPage: pageSize, noun: "RRsets", fail: fail) {
            let env = try RESTAPI.decode(HetznerCloudConvert.ListEnvelope.self, $0)
            return (env.rrsets, env.meta?.pagination)
        }.items
        do {
            return try listed.map { try HetznerCloudConvert.rrset($0, zone: zone, zoneTTL: z.ttl) }
        } catch { throw fail("\(error)") }
    }

    // MARK: - apply

    /// Writes the changeset RRset by RRset in its order (creates, updates, deletes), waiting
    /// for each action to finish before the next call.
    /// - Throws: ``ApplyError`` with the changes applied before the failure, the one that
    ///   failed (possibly half-done when an update needed two calls; the reason says so) and
    ///   the ones not attempted.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        let zone = changeset.zone
        for (i, c) in changes.enumerated() {
            var done: [String] = []
            do {
                for call in try calls(for: c, zone: zone) {
                    try perform(call, change: c)
                    done.append(call.what)
                }
            } catch let e as StepError {
                let half = done.isEmpty ? "" : " (the \(done.joined(separator: ", ")) call for this RRset had already been applied)"
                throw ApplyError.partial(provider: instanceName, zone: zone, changes, applied: Array(changes.prefix(i)), failed: [c],
                                         reason: e.message + half)
            } catch {
                throw ApplyError.partial(provider: instanceName, zone: zone, changes, applied: Array(changes.prefix(i)), failed: [c],
                                         reason: "\(c.key): \(error)")
            }
        }
    }

    struct StepError: Error { let message: String }

    /// One API call of a change.
    struct Call {
        var method: HTTPMethod
        var path: String
        var body: Data?
        var idempotent: Bool
        var what: String
    }

    /// The calls that perform `c`: a create is one POST; an update is `set_records` when the
    /// values differ and `change_ttl` when the TTL differs; a delete is one DELETE.
    func calls(for c: Change, zone: DomainName) throws -> [Call] {
        let path = try rrsetPath(zone, c.name, c.type)
        switch c.action {
        case .delete:
            return [Call(method: .delete, path: path, body: nil, idempotent: true, what: "delete")]
        case .create, .update:
            guard let after = c.after else { throw ConvertError("\(c.action) of \(c.key) has no records to write") }
            if after.rdata.isEmpty { return [Call(method: .delete, path: path, body: nil, idempotent: true, what: "delete")] }
            let records = HetznerCloudConvert.values(after, keeping: c.before).map { HetznerCloudConvert.WriteRecord(value: $0) }
            if c.action == .create || c.before == nil {
                let body = try RESTAPI.encode(HetznerCloudConvert.CreateBody(
                    name: try HetznerCloudConvert.apiName(c.name, zone: zone), type: c.type.rawValue, ttl: after.ttl, records: records))
                return [Call(method: .post, path: zonePath(zone) + "/rrsets", body: body, idempotent: false, what: "create")]
            }
            var out: [Call] = []
            let before = c.before!
            if Set(before.rdata) != Set(after.rdata) {
                out.append(Call(method: .post, path: path + "/actions/set_records",
                                body: try RESTAPI.encode(HetznerCloudConvert.RecordsBody(records: records)), idempotent: true, what: "set_records"))
            }
            if before.ttl != after.ttl {
                out.append(Call(method: .post, path: path + "/actions/change_ttl",
                                body: try RESTAPI.encode(HetznerCloudConvert.TTLBody(ttl: after.ttl)), idempotent: true, what: "change_ttl"))
            }
            return out
        }
    }

    private func perform(_ call: Call, change c: Change) throws {
        let req = request(call.method, call.path, body: call.body, idempotent: call.idempotent)
        let resp: HTTPResponse
        do { resp = try send(req) } catch let e as HTTPError {
            let unknown = e.outcomeUnknown ? "; the \(call.what) may or may not have been applied: run plan again to see the live state" : ""
            throw StepError(message: "\(c.key): \(call.what) failed: \(e)\(unknown)")
        }
        if resp.status == 401 || resp.status == 403 { throw StepError(message: "\(c.key): " + tokenMessage(resp.status)) }
        guard resp.isSuccess else {
            let detail = HetznerCloudConvert.errorText(resp.body).map { "\"\(req.redact($0))\"" } ?? resp.excerpt()
            let sent = call.body.map { "; body sent: " + req.redact(String(decoding: $0, as: UTF8.self)) } ?? ""
            throw StepError(message: "Hetzner refused the \(call.what) of \(c.key): \(call.method) \(req.displayURL) returned HTTP \(resp.status)\(resp.attempts > 1 ? " after \(resp.attempts) attempts" : ""): \(detail)\(sent)")
        }
        // A 2xx carries the action (create: next to the RRset); a body without one is a
        // finished synchronous change (e.g. 204).
        guard !resp.body.isEmpty, let env = try? JSONDecoder().decode(HetznerCloudConvert.ActionEnvelope.self, from: resp.body) else {
            if resp.body.isEmpty || resp.status == 204 { return }
            throw StepError(message: "\(c.key): \(call.method) \(req.displayURL) returned HTTP \(resp.status) without an action object: \(resp.excerpt())")
        }
        try wait(for: env.action, change: c, what: call.what)
    }

    /// Polls `GET /zones/actions/{id}` until the action succeeds, fails or times out.
    private func wait(for first: HetznerCloudConvert.Action, change c: Change, what: String) throws {
        var action = first
        var waited: TimeInterval = 0
        var interval: TimeInterval = 0.25
        while true {
            switch action.status {
            case "success": return
            case "error":
                let e = [action.error?.code, action.error?.message].compactMap { $0 }.joined(separator: ": ")
                throw StepError(message: "Hetzner action \(action.id) (\(what) of \(c.key)) failed: \(e.isEmpty ? "no error detail" : e)")
            default: break
            }
            if waited >= actionTimeout {
                throw StepError(message: "Hetzner action \(action.id) (\(what) of \(c.key)) was still \(action.status) after \(Int(actionTimeout)) s; it may still complete: run plan again to see the live state")
            }
            sleep(interval); waited += interval
            interval = min(interval * 2, 2)
            let req = request(.get, "/zones/actions/\(action.id)")
            let resp: HTTPResponse
            do { resp = try send(req) } catch let e as HTTPError {
                throw StepError(message: "\(c.key): polling action \(action.id) failed: \(e); the \(what) may or may not have completed")
            }
            guard resp.status == 200, let env = try? JSONDecoder().decode(HetznerCloudConvert.ActionEnvelope.self, from: resp.body) else {
                throw StepError(message: "\(c.key): polling action \(action.id): \(HTTPError(request: req, response: resp)); the \(what) may or may not have completed")
            }
            action = env.action
        }
    }
}
