import Foundation
import MailPlan

/// The PowerDNS Authoritative HTTP API adapter (`type: powerdns`, the PowerDNS Authoritative HTTP API reference).
///
/// Settings:
/// ```yaml
/// providers:
///   pdns:
///     type: powerdns
///     url: http://127.0.0.1:8081      # the webserver; /api/v1 is added
///     api_key: ${PDNS_API_KEY}
///     server_id: localhost            # optional
///     insecure: false                 # optional: allow plain http:// to a non-loopback host
///     timeout: 60                     # optional: seconds per request
///     ca_file: /etc/ssl/my-ca.pem     # optional: CA bundle for https
/// ```
/// A zone's Changeset is written as one `PATCH` (all-or-nothing in PowerDNS): `DELETE`
/// for deletes, `REPLACE` with every record for creates and updates.
public final class PowerDNSProvider: DNSProviderType {
    public let instanceName: String
    public static let typeName = "powerdns"
    /// Every modelled type, TTL 1…2147483647 s, one atomic PATCH per zone, by default one
    /// PATCH at a time per server: the sqlite backend takes one write transaction at a time,
    /// and a second PATCH that overlaps it fails with HTTP 500 ("database is locked"). Two at
    /// a time starved one writer past its five attempts in a 10,000-zone database
    /// (bench/results.md), and was no faster. An instance takes its own limit from
    /// `write_concurrency` (a MySQL or PostgreSQL backend writes in parallel).
    public static let capabilities = ProviderCapabilities(
        supportedTypes: Set(RRType.modelled), ttlRange: 1...2_147_483_647, applyMode: .atomic, writeConcurrency: 1)
    /// ``capabilities`` with this instance's write concurrency.
    public let capabilities: ProviderCapabilities

    /// The server's base URL as configured (without `/api/v1`).
    public let baseURL: URL
    public let serverID: String
    private let apiKey: Secret
    private let client: HTTPClient

    /// The setting names this adapter accepts.
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = [
        ProviderSetting("url", required: true, "API base, e.g. http://127.0.0.1:8081"),
        ProviderSetting("api_key", required: true, secret: true, "${ENV_VAR} holding the API key"),
        ProviderSetting("server_id", "default localhost"),
        ProviderSetting("write_concurrency", "zones written at the same time (1–32, default 1)"),
        ProviderSetting("insecure", "allow plain http:// to a non-loopback host"),
        ProviderSetting("timeout", "seconds per request (default 60)"),
        ProviderSetting("ca_file", "CA bundle for a private TLS certificate"),
    ]

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: Self.settingNames)
        let key = try config.secret("api_key")!
        let c = try RESTAPI.connection(config, urlKey: "url", defaultURL: nil, example: "http://127.0.0.1:8081", sends: "the API key",
                                       parse: Self.parseBaseURL)
        let (url, options) = (c.url, c.options)
        self.init(name: config.name, url: url, apiKey: key, serverID: try config.string("server_id") ?? "localhost",
                  writeConcurrency: try config.int("write_concurrency", in: 1...32) ?? Self.capabilities.writeConcurrency,
                  client: HTTPClient(options: options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - url: the webserver base URL, e.g. `http://127.0.0.1:8081` (a trailing `/api/v1` is accepted).
    ///   - apiKey: the `X-API-Key` value.
    ///   - serverID: the API's server id, almost always `localhost`.
    ///   - writeConcurrency: zones written at the same time to this server (at least 1).
    ///   - client: the transport (one per adapter by default, so connections are reused).
    public init(name: String, url: URL, apiKey: Secret, serverID: String = "localhost",
                writeConcurrency: Int = PowerDNSProvider.capabilities.writeConcurrency, client: HTTPClient = HTTPClient()) {
        self.instanceName = name
        var caps = Self.capabilities
        caps.writeConcurrency = max(1, writeConcurrency)
        self.capabilities = caps
        self.baseURL = Self.parseBaseURL(url.absoluteString) ?? url
        self.apiKey = apiKey; self.serverID = serverID; self.client = client
    }

    static func parseBaseURL(_ text: String) -> URL? {
        // The server's root; a URL given with the API prefix is accepted too.
        var t = text.trimmingASCIIWhitespace
        while t.hasSuffix("/") { t.removeLast() }
        if t.hasSuffix("/api/v1") { t.removeLast("/api/v1".count) }
        return RESTAPI.parseBaseURL(t)
    }

    /// `…/api/v1/servers/{server_id}/zones/{zone_id}`.
    func zoneURL(_ zone: DomainName) -> URL {
        URL(string: baseURL.absoluteString + "/api/v1/servers/" + serverID + "/zones/" + PowerDNSConvert.zoneID(zone))!
    }

    private func request(_ method: HTTPMethod, _ url: URL, body: Data? = nil, idempotent: Bool? = nil,
                         extraRetryStatuses: Set<Int> = []) -> HTTPRequest {
        var h: HTTPHeaders = ["X-API-Key": apiKey.value, "Accept": "application/json"]
        if body != nil { h.add("Content-Type", "application/json") }
        return HTTPRequest(method, url, headers: h, body: body, idempotent: idempotent, extraRetryStatuses: extraRetryStatuses)
    }

    private var authMessage: String {
        "rejected the API key (check api_key / \(apiKey.variable)); server \(baseURL.absoluteString)"
    }

    private var forbiddenMessage: String {
        "PowerDNS server \(baseURL.absoluteString) refused access (HTTP 403): check its webserver-allow-from and api settings"
    }

    private func notFoundMessage(_ zone: DomainName) -> String {
        "zone \(zone.fqdn) does not exist on PowerDNS server \(baseURL.absoluteString) (server_id \(serverID))"
    }

    private static func isZoneMissing(_ r: HTTPResponse) -> Bool {
        r.status == 404 || (r.status == 422 && r.text.contains("Could not find domain"))
    }

    /// Reads every enabled RRset of `zone` (SOA and NS included).
    /// - Throws: ``ProviderError`` for a missing zone, a rejected key, any other status
    ///   than 200 or a body that does not decode; never returns a partial zone.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        let req = request(.get, zoneURL(zone))
        let endpoint = "GET \(req.displayURL)"
        let resp: HTTPResponse
        do { resp = try client.send(req) } catch let e as HTTPError {
            throw ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(e)")
        }
        if resp.status == 401 { throw ProviderError(provider: instanceName, authMessage) }
        if resp.status == 403 { throw ProviderError(provider: instanceName, forbiddenMessage) }
        if Self.isZoneMissing(resp) { throw ProviderError(provider: instanceName, notFoundMessage(zone)) }
        guard resp.status == 200 else {
            throw ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(HTTPError(request: req, response: resp))")
        }
        do { return try PowerDNSConvert.rrsets(fromZoneJSON: resp.body, zone: zone) } catch {
            throw ProviderError(provider: instanceName, "reading zone \(zone.fqdn) failed: \(endpoint) returned HTTP 200 with a body that cannot be used: \(error)")
        }
    }

    /// Writes the changeset as one atomic PATCH. A REPLACE-only PATCH is idempotent and is
    /// retried on 500 (sqlite lock contention) and the usual transient statuses.
    /// - Throws: ``ApplyError``. PowerDNS rolls the whole PATCH back on any error, so
    ///   `applied` is always empty; `failed` holds the RRsets the server complained about.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        func fail(_ failed: [Change], _ reason: String) -> ApplyError {
            ApplyError.nothingApplied(provider: instanceName, zone: changeset.zone, changes, failed: failed, reason: reason)
        }
        let body: Data
        do { body = try PowerDNSConvert.patchBody(changeset) } catch {
            throw fail(changes, "cannot build the PATCH: \(error); nothing was applied")
        }
        let replaceOnly = changes.allSatisfy { $0.action != .delete }
        let req = request(.patch, zoneURL(changeset.zone), body: body, idempotent: replaceOnly,
                          extraRetryStatuses: replaceOnly ? [500] : [])

        let sem = WriteLimiter.semaphore(for: baseURL.absoluteString, limit: capabilities.writeConcurrency)
        sem.wait()
        defer { sem.signal() }

        let resp: HTTPResponse
        do { resp = try client.send(req) } catch let e as HTTPError {
            throw ApplyError.transport(provider: instanceName, zone: changeset.zone, changes, error: "\(e)", outcomeUnknown: e.outcomeUnknown,
                                       write: "the PATCH", vendor: "PowerDNS")
        }
        switch resp.status {
        case 200, 204: return
        case 401: throw fail(changes, authMessage + "; nothing was applied")
        case 403: throw fail(changes, forbiddenMessage + "; nothing was applied")
        case _ where Self.isZoneMissing(resp): throw fail(changes, notFoundMessage(changeset.zone) + "; nothing was applied")
        case 400, 422:
            let text = PowerDNSConvert.errorText(resp.body) ?? resp.excerpt()
            let named = ChangeNames.named(in: text, changes)
            let which = named.isEmpty ? "the changes" : "the change" + (named.count == 1 ? "" : "s") + " to " + named.map { "\($0.name.fqdn) \($0.type)" }.joined(separator: ", ")
            throw fail(named, "PowerDNS refused \(which) (HTTP \(resp.status)): \"\(req.redact(text))\"; nothing was applied (the PATCH is atomic)")
        default:
            throw fail(changes, "\(HTTPError(request: req, response: resp)); nothing was applied (PowerDNS rolls a failed PATCH back)")
        }
    }
}

/// Bounds concurrent writes per server, process-wide.
enum WriteLimiter {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var semaphores: [String: DispatchSemaphore] = [:]

    static func semaphore(for key: String, limit: Int) -> DispatchSemaphore {
        lock.lock(); defer { lock.unlock() }
        if let s = semaphores[key] { return s }
        let s = DispatchSemaphore(value: max(1, limit))
        semaphores[key] = s
        return s
    }
}
