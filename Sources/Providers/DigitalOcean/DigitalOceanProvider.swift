import Foundation
import MailPlan

/// The DigitalOcean Domains adapter (`type: digitalocean`, API v2, the DigitalOcean API v2 reference, "Domain Records").
///
/// Settings:
/// ```yaml
/// providers:
///   do:
///     type: digitalocean
///     token: ${DIGITALOCEAN_TOKEN}     # scopes domain:read, domain:create, domain:update, domain:delete
///     api_url: https://api.digitalocean.com/v2   # optional (tests point it at a fake)
///     timeout: 60                     # optional: seconds per request
/// ```
///
/// Reading: `GET /v2/domains/{zone}` (404: the zone is not in the account), then every
/// page of `GET /v2/domains/{zone}/records?per_page=200` following `links.pages.next`; the
/// records must add up to `meta.total` or the plan is aborted.
///
/// Writing: DigitalOcean has no batch endpoint and no atomicity, so each change becomes the
/// fewest record calls (creates `POST` → 201, in-place edits `PUT` → 200, deletes
/// `DELETE` → 204), run in Changeset order; a failure stops the apply and reports which
/// changes were applied, which failed and which were not attempted.
public final class DigitalOceanProvider: RESTProviderType {
    public let instanceName: String
    public static let typeName = "digitalocean"
    /// TXT: a value of 504 bytes encodes to 509 (two quoted strings and a space), the
    /// largest DigitalOcean is known to take [C]; ``audit(_:)`` checks the exact encoded size.
    /// TTL: at least 30 s [D]; no maximum is documented, so the RFC 2181 one is used.
    /// CAA and SRV are supported by DigitalOcean but their field mapping (flags/tag,
    /// weight/port) is not confirmed here [U], so they are refused offline (the safe choice).
    /// Rate limit: 5,000 requests per hour and 250 per minute per token (DigitalOcean API v2
    /// reference, "Rate Limit", https://docs.digitalocean.com/reference/api/digitalocean/#section/Introduction/Rate-Limit).
    public static let capabilities = ProviderCapabilities(
        supportedTypes: [.a, .aaaa, .mx, .txt, .cname], ttlRange: 30...2_147_483_647,
        applyMode: .recordByRecord, maxTXTLength: 504,
        rateLimit: RateLimit([RateWindow(250, per: 60), RateWindow(5000, per: 3600)]))

    public static let defaultURL = "https://api.digitalocean.com/v2"
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = RESTAPI.commonSettings

    /// The API base URL (`…/v2`).
    public let baseURL: String
    let token: Secret
    private let client: HTTPClient
    private let state = RecordLevelState()
    private let fixLock = NSLock()
    private var fixes: [DomainName: [ProviderFix]] = [:]

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` naming file:line:column for missing or invalid settings.
    public convenience init(config: ProviderConfig) throws {
        let s = try RESTAPI.settings(config, for: Self.self)
        self.init(name: config.name, token: s.token, baseURL: s.baseURL.absoluteString, client: HTTPClient(options: s.options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - token: the personal access token, sent as `Authorization: Bearer`.
    ///   - baseURL: the API root, e.g. `https://api.digitalocean.com/v2`.
    ///   - client: the transport.
    public init(name: String, token: Secret, baseURL: String = DigitalOceanProvider.defaultURL, client: HTTPClient = HTTPClient()) {
        instanceName = name
        var b = baseURL
        while b.hasSuffix("/") { b.removeLast() }
        self.baseURL = b; self.token = token; self.client = client
    }

    // MARK: - offline audit

    /// What DigitalOcean refuses that capabilities cannot say: a null MX ([C] DNSControl
    /// `MxNull`), an empty TXT, a TXT with a backslash, and a TXT whose encoded form
    /// exceeds ``DigitalOceanConvert/maxEncodedTXT`` bytes.
    public func audit(_ zone: DesiredZone) -> [Diagnostic] {
        var out: [Diagnostic] = []
        let who = "provider '\(instanceName)' (digitalocean)"
        for d in zone.rrsets {
            let r = d.rrset
            if r.type == .mx, r.rdata.contains(where: { if case .mx(_, let x) = $0 { return x == .root }; return false }) {
                out.append(Diagnostic(at: d.location, "\(r.key): \(who) does not accept a null MX (0 .); host this zone at a provider that does, or list a real MX"))
            }
            for v in r.rdata.compactMap(\.txtValue) {
                if v.isEmpty { out.append(Diagnostic(at: d.location, "\(r.key): \(who) does not accept an empty TXT value")) }
                else if v.contains("\\") { out.append(Diagnostic(at: d.location, "\(r.key): \(who) does not accept a backslash in a TXT value")) }
                else if v.utf8.count <= capabilities.maxTXTLength ?? .max, TXTCodec.quotedChunks(v).utf8.count > DigitalOceanConvert.maxEncodedTXT {
                    out.append(Diagnostic(at: d.location, "\(r.key): the TXT value encodes to \(TXTCodec.quotedChunks(v).utf8.count) bytes, more than \(who) accepts (\(DigitalOceanConvert.maxEncodedTXT))"))
                }
            }
        }
        return out
    }

    // MARK: - HTTP

    private func get(_ path: String, query: [(String, String)] = [], zone: DomainName, what: String) throws -> (HTTPRequest, HTTPResponse) {
        let req = request(.get, path, query: query)
        let resp: HTTPResponse
        do { resp = try client.send(req) } catch let e as HTTPError {
            throw ProviderError(provider: instanceName, "\(what) for zone \(zone.fqdn) failed: \(e)")
        }
        if resp.status == 401 || resp.status == 403 { throw ProviderError(provider: instanceName, tokenRejected(resp, zone: zone)) }
        return (req, resp)
    }

    // MARK: - read

    /// Reads every record of `zone` and groups them into RRsets.
    /// - Throws: ``ProviderError`` for a missing domain, a rejected token, a failed or short
    ///   page, or a record that cannot be read; never returns a partial zone.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        let name = zone.withoutTrailingDot
        let (dreq, dresp) = try get("/domains/\(name)", zone: zone, what: "finding the domain")
        if dresp.status == 404 && !baseURL.hasSuffix("/v2") {
            // Every DigitalOcean API path starts with /v2: a 404 here is the URL, not the domain.
            throw ProviderError(provider: instanceName, "no DigitalOcean API at api_url \(baseURL) (did you mean \(baseURL)/v2?): GET \(dreq.displayURL) returned HTTP 404")
        }
        if dresp.status == 404 {
            throw ProviderError(provider: instanceName, "domain \(name) is not in the DigitalOcean account of ${\(token.variable)}; add it at DigitalOcean first")
        }
        guard dresp.status == 200 else {
            throw ProviderError(provider: instanceName, "finding the domain for zone \(zone.fqdn) failed: \(HTTPError(request: dreq, response: dresp))")
        }
        struct DomainBody: Decodable { struct D: Decodable { var name: String; var ttl: UInt32? }; var domain: D }
        let domainTTL = (try? JSONDecoder().decode(DomainBody.self, from: dresp.body))?.domain.ttl ?? 1800

        var records: [DigitalOceanConvert.APIRecord] = []
        var page = 1
        while true {
            let (req, resp) = try get("/domains/\(name)/records", query: [("page", String(page)), ("per_page", "200")],
                                      zone: zone, what: "listing records")
            guard resp.status == 200 else {
                throw ProviderError(provider: instanceName, "listing records for zone \(zone.fqdn) failed at page \(page): \(HTTPError(request: req, response: resp)); refusing to plan from a partial listing")
            }
            let body: DigitalOceanConvert.RecordPage
            do { body = try JSONDecoder().decode(DigitalOceanConvert.RecordPage.self, from: resp.body) } catch {
                throw ProviderError(provider: instanceName, "listing records for zone \(zone.fqdn) failed: GET \(req.displayURL) returned HTTP 200 with a body that is not a record page (\(ConvertError.describe(error)))")
            }
            records += body.domain_records
            if body.links?.pages?.next == nil {
                if let total = body.meta?.total, total != records.count {
                    throw ProviderError(provider: instanceName, "listing records for zone \(zone.fqdn): got \(records.count) records over \(page) page\(page == 1 ? "" : "s") but DigitalOcean reports meta.total \(total); refusing to plan from a partial listing")
                }
                break
            }
            guard !body.domain_records.isEmpty else {
                throw ProviderError(provider: instanceName, "listing records for zone \(zone.fqdn): page \(page) is empty but names a next page; refusing to plan from a partial listing")
            }
            page += 1
        }
        var live: [RecordLevel.LiveRecord] = []
        for r in records {
            let c: (name: DomainName, ttl: UInt32, rdata: RData)
            do { c = try DigitalOceanConvert.record(r, zone: zone, defaultTTL: domainTTL) } catch {
                throw ProviderError(provider: instanceName, "reading zone \(zone.fqdn): \(error)")
            }
            live.append(.init(id: String(r.id), name: c.name, rdata: c.rdata, ttl: c.ttl))
        }
        state.store(zone, zoneID: name, records: live)
        fixLock.lock(); fixes[zone] = RecordLevel.duplicateFixes(live); fixLock.unlock()
        return [RRset].grouping(live.map { ($0.name, $0.ttl, $0.rdata) })
    }

    /// A value held twice in one RRset (each copy its own record) is a change: the copy is
    /// deleted when the plan manages the RRset.
    public func providerFixes(_ zone: DomainName) -> [ProviderFix] {
        fixLock.lock(); defer { fixLock.unlock() }; return fixes[zone] ?? []
    }

    // MARK: - write

    /// Writes the changeset record by record, in Changeset order.
    /// - Throws: ``ApplyError`` at the first refused call: changes before it are applied, its
    ///   change failed (with how many of its record calls were done), the rest not attempted.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        let zone = changeset.zone
        let name = zone.withoutTrailingDot
        defer { state.forget(zone) }
        func fail(applied: [Change], failed: [Change], unknown: [Change] = [], _ reason: String) -> ApplyError {
            ApplyError.partial(provider: instanceName, zone: zone, changes, applied: applied, failed: failed, unknown: unknown, reason: reason)
        }
        if state.get(zone) == nil {
            do { _ = try readZone(zone) } catch { throw fail(applied: [], failed: [], "cannot read the zone before writing: \(error)") }
        }
        let live = state.get(zone)!.records
        var planned: [(Change, [RecordLevel.Operation])] = []
        for c in changes {
            do { planned.append((c, try RecordLevel.operations(for: c, live: live.filter { $0.key == c.key }))) } catch {
                throw fail(applied: [], failed: [c], "\(error); nothing was applied")
            }
        }
        var applied: [Change] = []
        // The IDs that exist or that this apply created: a record seen after a lost reply
        // with an ID outside them is the one the lost call created.
        var knownIDs = Set(live.map(\.id))
        for (change, ops) in planned {
            for (i, op) in ops.enumerated() {
                let req: HTTPRequest
                let expected: Int
                do {
                    switch op {
                    case .create(let n, let rdata, let ttl):
                        req = request(.post, "/domains/\(name)/records", body: try DigitalOceanConvert.encode(
                            DigitalOceanConvert.writeRecord(name: n, rdata: rdata, ttl: ttl, zone: zone)))
                        expected = 201
                    case .replace(let id, let n, let rdata, let ttl), .rewrite(let id, let n, let rdata, let ttl):
                        req = request(.put, "/domains/\(name)/records/\(id)", body: try DigitalOceanConvert.encode(
                            DigitalOceanConvert.writeRecord(name: n, rdata: rdata, ttl: ttl, zone: zone)))
                        expected = 200
                    case .delete(let id, _, _):
                        req = request(.delete, "/domains/\(name)/records/\(id)")
                        expected = 204
                    }
                } catch { throw fail(applied: applied, failed: [change], "cannot encode a record: \(error)") }
                let done = i == 0 ? "none of its record calls were done" : "\(i) of its \(ops.count) record calls were done"
                let resp: HTTPResponse
                do { resp = try client.send(req) } catch let e as HTTPError {
                    guard e.outcomeUnknown else {
                        throw fail(applied: applied, failed: [change], "\(e); \(done); run plan again to see what is left")
                    }
                    // The reply was lost: the call may have been carried out. Never send it
                    // again blindly (a create would make a second record); read the zone and
                    // go on from what is there.
                    let now: [RecordLevel.LiveRecord]
                    do { _ = try readZone(zone); now = state.get(zone)?.records ?? [] } catch {
                        throw fail(applied: applied, failed: [], unknown: [change], "\(e); the reply was lost and the zone could not be read again (\(error)): check \(change.key) with mailplan plan")
                    }
                    guard RecordLevel.tookEffect(op, in: now, knownIDs: knownIDs) else {
                        throw fail(applied: applied, failed: [], unknown: [change], "\(e); the reply was lost and the zone read again does not show this call's result (yet): check \(change.key) with mailplan plan before applying again")
                    }
                    if case .create(let n, let rdata, let ttl) = op,
                       let made = now.first(where: { !knownIDs.contains($0.id) && $0.name == n && $0.rdata == rdata && $0.ttl == ttl }) {
                        knownIDs.insert(made.id)
                    }
                    continue
                }
                if resp.status == 401 || resp.status == 403 {
                    throw fail(applied: applied, failed: [change], tokenRejected(resp, zone: zone) + "; \(done)")
                }
                if resp.status == 201, let id = DigitalOceanConvert.createdID(resp.body) { knownIDs.insert(id) }
                guard resp.status == expected || (expected != 201 && resp.isSuccess) else {
                    let text = DigitalOceanConvert.errorText(resp.body) ?? resp.excerpt()
                    let retry = resp.status == 429 ? " (rate limited; retry after \(resp.headers["Retry-After"] ?? "a while") s)" : ""
                    throw fail(applied: applied, failed: [change],
                               "DigitalOcean refused \(req.method) \(req.displayURL) for \(change.action) \(change.key) (HTTP \(resp.status)\(retry)): \(req.redact(text)); \(done); run plan again to see what is left")
                }
            }
            applied.append(change)
        }
    }
}

/// Requests and the rejected-token message come from ``BearerTokenAPI``.
extension DigitalOceanProvider: BearerTokenAPI {
    func tokenScope(_ zone: DomainName) -> String {
        "the token needs domain:read, and domain:create, domain:update and domain:delete to apply, for \(zone.withoutTrailingDot)"
    }
    func errorText(_ body: Data) -> String? { DigitalOceanConvert.errorText(body) }
}
