import Foundation
import MailPlan

/// The Cloudflare DNS adapter (`type: cloudflare`, API v4, the Cloudflare API v4 reference, "DNS Records for a Zone").
///
/// Settings:
/// ```yaml
/// providers:
///   cf:
///     type: cloudflare
///     token: ${CLOUDFLARE_API_TOKEN}   # API token with Zone:Read and DNS:Edit
///     account_id: 01a7…                # optional: pick the zone of this account
///     proxied_names: www.example.com   # optional: names whose A/AAAA/CNAME are proxied
///     api_url: https://api.cloudflare.com/client/v4   # optional (tests point it at a fake)
///     batch_size: 200                  # optional: records per batch (Free plan limit 200)
///     timeout: 60                      # optional: seconds per request
/// ```
///
/// Reading: the zone is found with `GET /zones?name=` (every page), then every record is
/// listed with `GET /zones/{id}/dns_records` following `result_info.total_pages`; the
/// listing must add up to `total_count` or the plan is aborted. Records are grouped into
/// RRsets; their IDs are kept for apply.
///
/// Writing: a zone's Changeset becomes the minimal record operations, sent as one
/// `POST /zones/{id}/dns_records/batch` (one database transaction at Cloudflare) or, when
/// there are more than `batch_size` operations, as several batches that never split a
/// change unless it alone is larger than a batch.
///
/// Mail safety (case C13): records are always written `proxied: false` unless their name is
/// in `proxied_names`; a live proxied A/AAAA/CNAME at another name is reported as a
/// ``ProviderFix`` ("mail-safety fix: proxied → false"). `proxied_names` may not hold the
/// mail host or an MX target (a validation error: SMTP is not proxied), and a proxied name
/// managed by the plan must use `ttl: auto` (Cloudflare stores proxied records with TTL 1).
public final class CloudflareProvider: RESTProviderType {
    public let instanceName: String
    public static let typeName = "cloudflare"
    /// SRV, CAA and TLSA are written through Cloudflare's structured `data` object, whose
    /// exact form is not confirmed here [U]; they are refused offline (the safe choice).
    /// TTL: 60–86400 s, or 1 for automatic [D]; the Enterprise minimum of 30 is not assumed.
    /// Rate limit: 1,200 requests per five minutes per user, whatever the token (Cloudflare
    /// docs, "Rate limits", https://developers.cloudflare.com/fundamentals/api/reference/limits/);
    /// past it every call is refused with 429 for five minutes.
    public static let capabilities = ProviderCapabilities(
        supportedTypes: [.a, .aaaa, .mx, .txt, .cname], ttlRange: 60...86400,
        applyMode: .atomic, autoTTL: 1, rateLimit: RateLimit([RateWindow(1200, per: 300)]))

    public static let defaultURL = "https://api.cloudflare.com/client/v4"
    /// The setting names this adapter accepts.
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = RESTAPI.commonSettings + [
        ProviderSetting("account_id", "when the zone name exists in several accounts"),
        ProviderSetting("proxied_names", "names whose A/AAAA/CNAME stay proxied"),
        ProviderSetting("batch_size", "operations per batch request (1-3500, default 200)"),
    ]

    /// The API base URL (`…/client/v4`).
    public let baseURL: String
    public let accountID: String?
    /// Names whose A/AAAA/CNAME records are written `proxied: true`.
    public let proxiedNames: Set<DomainName>
    /// Most record operations per batch request.
    public let batchSize: Int
    let token: Secret
    private let client: HTTPClient
    private let state = RecordLevelState()
    private let lock = NSLock()
    private var fixes: [DomainName: [ProviderFix]] = [:]
    private var overlongIDs: Set<String> = []

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` naming file:line:column for missing or invalid settings.
    public convenience init(config: ProviderConfig) throws {
        let settings = try RESTAPI.settings(config, for: Self.self)
        var proxied: Set<DomainName> = []
        if let text = try config.string("proxied_names") {
            for part in text.split(whereSeparator: { $0 == "," || $0 == " " }) {
                do { proxied.insert(try DomainName(String(part))) } catch {
                    throw DiagnosticsError(Diagnostic(at: config.settings["proxied_names"]?.location,
                        "providers.\(config.name).proxied_names: \(error)"))
                }
            }
        }
        self.init(name: config.name, token: settings.token, baseURL: settings.baseURL.absoluteString, accountID: try config.string("account_id"),
                  proxiedNames: proxied, batchSize: try config.int("batch_size", in: 1...3500) ?? 200,
                  client: HTTPClient(options: settings.options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - token: the API token, sent as `Authorization: Bearer`.
    ///   - baseURL: the API root, e.g. `https://api.cloudflare.com/client/v4`.
    ///   - accountID: only zones of this account are considered, when set.
    ///   - proxiedNames: names whose A/AAAA/CNAME records are proxied.
    ///   - batchSize: most record operations per batch request (1–3500).
    ///   - client: the transport.
    public init(name: String, token: Secret, baseURL: String = CloudflareProvider.defaultURL, accountID: String? = nil,
                proxiedNames: Set<DomainName> = [], batchSize: Int = 200, client: HTTPClient = HTTPClient()) {
        instanceName = name
        var b = baseURL
        while b.hasSuffix("/") { b.removeLast() }
        self.baseURL = b
        self.token = token; self.accountID = accountID; self.proxiedNames = proxiedNames
        self.batchSize = max(1, batchSize); self.client = client
    }

    // MARK: - offline audit

    /// Proxying a mail host breaks SMTP; a proxied name the plan manages needs `ttl: auto`.
    public func audit(_ zone: DesiredZone) -> [Diagnostic] {
        var out: [Diagnostic] = []
        var mailHosts: [DomainName: String] = [:]
        for d in zone.rrsets where d.rrset.type == .mx {
            for case .mx(_, let x) in d.rrset.rdata where x != .root { mailHosts[x] = "an MX target of \(d.rrset.name.fqdn)" }
        }
        for d in zone.rrsets where (d.rrset.type == .a || d.rrset.type == .aaaa) && d.purpose.isServerAddress {
            mailHosts[d.rrset.name] = mailHosts[d.rrset.name] ?? "the mail server's host name"
        }
        for n in proxiedNames.sorted() where n.isSubdomain(of: zone.zone) {
            if let why = mailHosts[n] {
                out.append(Diagnostic(at: nil, "providers.\(instanceName).proxied_names: \(n.fqdn) is \(why); SMTP is not proxied by Cloudflare, so mail to it would fail: remove it from proxied_names"))
            }
        }
        for d in zone.rrsets where proxiedNames.contains(d.rrset.name) && CloudflareConvert.proxiableTypes.contains(d.rrset.type)
            && d.rrset.ttl != 1 && mailHosts[d.rrset.name] == nil {
            out.append(Diagnostic(at: d.location, "\(d.rrset.key): proxied at provider '\(instanceName)' (cloudflare), which always stores TTL 1 for proxied records; set ttl: auto"))
        }
        return out
    }

    // MARK: - HTTP

    /// Sends a GET and decodes its envelope, with every failure as a ``ProviderError``.
    private func getList<R: Decodable>(_ path: String, query: [(String, String)], zone: DomainName, what: String,
                                        as: R.Type) throws -> CloudflareConvert.Envelope<R> {
        let req = request(.get, path, query: query)
        let resp: HTTPResponse
        do { resp = try client.send(req) } catch let e as HTTPError {
            throw ProviderError(provider: instanceName, "\(what) failed: \(e)")
        }
        if resp.status == 401 || resp.status == 403 { throw ProviderError(provider: instanceName, tokenRejected(resp, zone: zone)) }
        guard resp.status == 200 else {
            throw ProviderError(provider: instanceName, "\(what) failed: \(HTTPError(request: req, response: resp))")
        }
        let env: CloudflareConvert.Envelope<R>
        do { env = try JSONDecoder().decode(CloudflareConvert.Envelope<R>.self, from: resp.body) } catch {
            throw ProviderError(provider: instanceName, "\(what) failed: GET \(req.displayURL) returned HTTP 200 with a body that is not a Cloudflare response (\(ConvertError.describe(error))): \(req.redact(resp.excerpt()))")
        }
        guard env.success, env.result != nil else {
            throw ProviderError(provider: instanceName, "\(what) failed: GET \(req.displayURL) answered success=false: \(CloudflareConvert.errorText(resp.body) ?? resp.excerpt())")
        }
        return env
    }

    /// Follows every page of a list (`page` from 1, `result_info.total_pages`), and checks
    /// the items add up to `total_count`: a short or failed page aborts, never a partial list.
    private func listAll<R: Decodable>(_ path: String, query: [(String, String)], perPage: Int, zone: DomainName,
                                        what: String) throws -> [R] {
        var all: [R] = []
        var page = 1
        while true {
            let env = try getList(path, query: query + [("page", String(page)), ("per_page", String(perPage))],
                                  zone: zone, what: what, as: [R].self)
            let items = env.result ?? []
            all += items
            guard let info = env.result_info, let totalPages = info.total_pages, let total = info.total_count else {
                throw ProviderError(provider: instanceName, "\(what): page \(page) has no result_info (total_pages, total_count); refusing to plan from a listing that may be partial")
            }
            if page >= totalPages {
                guard all.count == total else {
                    throw ProviderError(provider: instanceName, "\(what): got \(all.count) items over \(page) page\(page == 1 ? "" : "s") but Cloudflare reports total_count \(total); refusing to plan from a partial listing")
                }
                return all
            }
            guard !items.isEmpty else {
                throw ProviderError(provider: instanceName, "\(what): page \(page) of \(totalPages) is empty; refusing to plan from a partial listing")
            }
            page += 1
        }
    }

    /// The zone's ID: `GET /zones?name=` (the name in A-label form), filtered by `account_id`.
    func zoneID(_ zone: DomainName) throws -> String {
        var q = [("name", zone.withoutTrailingDot)]
        if let accountID { q.append(("account.id", accountID)) }
        let zones: [CloudflareConvert.APIZone] = try listAll("/zones", query: q, perPage: 50, zone: zone, what: "finding zone \(zone.fqdn)")
        let matching = zones.filter { (try? DomainName($0.name)) == zone }
        guard !matching.isEmpty else {
            throw ProviderError(provider: instanceName, "zone \(zone.withoutTrailingDot) was not found in the Cloudflare account\(accountID.map { " \($0)" } ?? "s") the token can see; add the zone at Cloudflare or check the token's zone scope")
        }
        guard matching.count == 1 else {
            throw ProviderError(provider: instanceName, "zone \(zone.withoutTrailingDot) exists \(matching.count) times (ids \(matching.map(\.id).joined(separator: ", ")), accounts \(matching.compactMap { $0.account?.id }.joined(separator: ", "))); set account_id to choose one")
        }
        return matching[0].id
    }

    // MARK: - read

    /// Reads every record of `zone` and groups them into RRsets.
    /// - Throws: ``ProviderError`` for a missing zone, a rejected token, a failed or short
    ///   page, or a record that cannot be read; never returns a partial zone.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        let id = try zoneID(zone)
        let records: [CloudflareConvert.APIRecord] = try listAll("/zones/\(id)/dns_records", query: [], perPage: 100,
                                                                 zone: zone, what: "listing records for zone \(zone.fqdn)")
        var live: [RecordLevel.LiveRecord] = []
        var zoneFixes: [ProviderFix] = []
        var overlong: Set<String> = []
        for r in records {
            let c: (name: DomainName, ttl: UInt32, rdata: RData, overlongTXT: Bool)
            do { c = try CloudflareConvert.record(r, zone: zone) } catch {
                throw ProviderError(provider: instanceName, "reading zone \(zone.fqdn): \(error)")
            }
            let key = RRsetKey(c.name, c.rdata.type)
            let wantProxied = proxiedNames.contains(c.name)
            var rewrite = false
            if CloudflareConvert.proxiableTypes.contains(c.rdata.type), (r.proxied ?? false) != wantProxied {
                rewrite = true
                let fix = wantProxied
                    ? ProviderFix(key: key, note: "proxied → true (proxied_names)", mailSafety: false)
                    : ProviderFix(key: key, note: "mail-safety fix: proxied → false", mailSafety: true)
                if !zoneFixes.contains(fix) { zoneFixes.append(fix) }
            }
            if c.overlongTXT {
                rewrite = true
                overlong.insert(r.id)
                let fix = ProviderFix(key: key, note: "a TXT string over 255 bytes is stored as one string; rewritten as ≤255-byte strings", mailSafety: false)
                if !zoneFixes.contains(fix) { zoneFixes.append(fix) }
            }
            live.append(.init(id: r.id, name: c.name, rdata: c.rdata, ttl: c.ttl, needsRewrite: rewrite))
        }
        state.store(zone, zoneID: id, records: live)
        for f in RecordLevel.duplicateFixes(live) where !zoneFixes.contains(f) { zoneFixes.append(f) }
        lock.lock(); fixes[zone] = zoneFixes; overlongIDs.formUnion(overlong); lock.unlock()
        return [RRset].grouping(live.map { ($0.name, $0.ttl, $0.rdata) })
    }

    public func providerFixes(_ zone: DomainName) -> [ProviderFix] {
        lock.lock(); defer { lock.unlock() }; return fixes[zone] ?? []
    }

    // MARK: - write

    /// The batch entries of one record operation.
    func add(_ op: RecordLevel.Operation, to batch: inout CloudflareConvert.Batch) {
        switch op {
        case .create(let name, let rdata, let ttl):
            batch.posts.append(CloudflareConvert.writeRecord(name: name, rdata: rdata, ttl: ttl, proxied: proxiedNames.contains(name)))
        case .replace(let id, let name, let rdata, let ttl):
            batch.puts.append(CloudflareConvert.writeRecord(id: id, name: name, rdata: rdata, ttl: ttl, proxied: proxiedNames.contains(name)))
        case .rewrite(let id, let name, let rdata, let ttl):
            lock.lock(); let overlong = overlongIDs.contains(id); lock.unlock()
            batch.patches.append(.init(id: id, content: overlong ? CloudflareConvert.content(rdata) : nil, ttl: ttl,
                                       proxied: CloudflareConvert.proxiableTypes.contains(rdata.type) ? proxiedNames.contains(name) : nil))
        case .delete(let id, _, _):
            batch.deletes.append(.init(id: id))
        }
    }

    /// The batches for a changeset: each a list of (change, its operations), at most
    /// ``batchSize`` operations, changes kept whole unless one alone is larger.
    func batches(_ planned: [(Change, [RecordLevel.Operation])]) -> [[(Change, [RecordLevel.Operation])]] {
        var out: [[(Change, [RecordLevel.Operation])]] = []
        var current: [(Change, [RecordLevel.Operation])] = []
        var count = 0
        for (c, ops) in planned {
            var rest = ops[...]
            while !rest.isEmpty {
                if count > 0 && count + rest.count > batchSize && rest.count <= batchSize || count == batchSize {
                    out.append(current); current = []; count = 0
                }
                let take = rest.prefix(batchSize - count)
                current.append((c, Array(take))); count += take.count
                rest = rest.dropFirst(take.count)
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Writes the changeset as batch requests (usually one).
    /// - Throws: ``ApplyError``: the changes of batches that succeeded are applied, those of
    ///   the batch that failed are failed (Cloudflare rolls a failed batch back), the rest
    ///   were not attempted.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        let zone = changeset.zone
        defer { state.forget(zone) }
        func fail(applied: [Change], failed: [Change], _ reason: String) -> ApplyError {
            ApplyError.partial(provider: instanceName, zone: zone, changes, applied: applied, failed: failed, reason: reason)
        }
        if state.get(zone) == nil {
            do { _ = try readZone(zone) } catch { throw fail(applied: [], failed: [], "cannot read the zone before writing: \(error)") }
        }
        let (zoneID, live) = state.get(zone)!
        var planned: [(Change, [RecordLevel.Operation])] = []
        for c in changes {
            do { planned.append((c, try RecordLevel.operations(for: c, live: live.filter { $0.key == c.key }))) } catch {
                throw fail(applied: [], failed: [c], "\(error); nothing was applied")
            }
        }
        var applied: [Change] = []
        for group in batches(planned) {
            var batch = CloudflareConvert.Batch()
            for (_, ops) in group { for op in ops { add(op, to: &batch) } }
            let inBatch = group.map(\.0).reduce(into: [Change]()) { if !$0.contains($1) && !applied.contains($1) { $0.append($1) } }
            let partial = applied.isEmpty ? "nothing was applied" : "the changes before it were applied"
            let body: Data
            do { body = try CloudflareConvert.encode(batch) } catch { throw fail(applied: applied, failed: inBatch, "cannot encode the batch: \(error)") }
            let req = request(.post, "/zones/\(zoneID)/dns_records/batch", body: body)
            let resp: HTTPResponse
            do { resp = try client.send(req) } catch let e as HTTPError {
                if e.outcomeUnknown {
                    throw ApplyError.outcomeUnknown(provider: instanceName, zone: zone, applied: applied, inBatch,
                                                    notAttempted: changes.filter { !applied.contains($0) && !inBatch.contains($0) },
                                                    reason: "\(e); the batch may or may not have been applied (it is one transaction); \(partial)")
                }
                throw fail(applied: applied, failed: inBatch, "\(e); this batch was not applied; \(partial)")
            }
            if resp.status == 401 || resp.status == 403 {
                throw fail(applied: applied, failed: inBatch, tokenRejected(resp, zone: zone) + "; \(partial)")
            }
            let ok = resp.status == 200 && ((try? JSONDecoder().decode(CloudflareConvert.Envelope<IgnoredResult>.self, from: resp.body))?.success ?? false)
            guard ok else {
                let text = CloudflareConvert.errorText(resp.body) ?? resp.excerpt()
                let retry = resp.status == 429 ? " (rate limited; retry after \(resp.headers["Retry-After"] ?? "a while") s)" : ""
                throw fail(applied: applied, failed: inBatch,
                           "Cloudflare refused the batch for \(inBatch.map { "\($0.action) \($0.key)" }.joined(separator: ", ")) (HTTP \(resp.status)\(retry)): \(req.redact(text)); the batch is one transaction, so none of it was applied; \(partial)")
            }
            applied += inBatch
        }
    }

    /// Any JSON value (the batch result is not needed).
    struct IgnoredResult: Decodable { init(from decoder: Decoder) throws {} }
}

/// Requests and the rejected-token message come from ``BearerTokenAPI``.
extension CloudflareProvider: BearerTokenAPI {
    func tokenScope(_ zone: DomainName) -> String { "the token needs Zone:Read and DNS:Edit for \(zone.withoutTrailingDot)" }
    func errorText(_ body: Data) -> String? { CloudflareConvert.errorText(body) }
}
