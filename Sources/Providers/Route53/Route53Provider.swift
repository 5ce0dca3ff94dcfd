import Foundation
import MailPlan

/// The Amazon Route 53 adapter (`type: route53`, the Amazon Route 53 API Reference, version 2013-04-01): REST/XML API 2013-04-01
/// signed with SigV4.
///
/// Settings:
/// ```yaml
/// providers:
///   aws:
///     type: route53
///     endpoint: https://route53.amazonaws.com   # optional (tests point it at moto)
///     region: us-east-1                         # optional: the SigV4 signing region
///     insecure: false                           # optional: allow http:// to a non-loopback host
///     timeout: 60                               # optional: seconds per request
/// ```
/// Credentials come from the standard environment variables `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY` and, for temporary credentials, `AWS_SESSION_TOKEN`.
///
/// The hosted zone is found by name (`ListHostedZonesByName`, exact match). A zone's
/// Changeset is written as **one** `ChangeResourceRecordSets` batch, which Route 53 applies
/// all-or-nothing: `CREATE` for creates (fails rather than clobbering a set made since the
/// plan), `UPSERT` for updates, `DELETE` with the RRset exactly as it was read for deletes.
/// Throttling (HTTP 400 `Throttling` / `PriorRequestNotComplete`) is retried with backoff.
public final class Route53Provider: DNSProviderType {
    public let instanceName: String
    public static let typeName = "route53"
    /// TLSA is in Route 53's list of supported types since 2023 [U: not checked against a live
    /// account]; Route 53 documents no TTL minimum, so the whole 0…2^31−1 range is allowed.
    /// Rate limit: every API request of the account draws on one bucket of 50 refilled by 10
    /// a second (Amazon Route 53 Developer Guide, "Throttling for Amazon Route 53 API requests",
    /// https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/throttling-api-requests.html);
    /// 10 per second keeps it whatever the burst. Throttled requests get HTTP 400 `Throttling`.
    public static let capabilities = ProviderCapabilities(
        supportedTypes: [.a, .aaaa, .mx, .txt, .cname, .ns, .srv, .caa, .ptr, .tlsa],
        ttlRange: 0...2_147_483_647, applyMode: .atomic, rateLimit: RateLimit([RateWindow(10, per: 1)]))

    /// The API endpoint, e.g. `https://route53.amazonaws.com`.
    public let endpoint: URL
    public let signer: SigV4Signer
    private let credentials: AWSCredentials
    private let client: HTTPClient
    private let sleep: @Sendable (TimeInterval) -> Void
    private let now: @Sendable () -> Date
    /// Attempts for a throttled request (HTTP 400 `Throttling`), including the first.
    public var throttleAttempts = 8

    private var zoneIDs: [DomainName: String] = [:]
    /// RRsets exactly as last read, per zone, for DELETE (which must match exactly).
    private var lastRead: [DomainName: [RRsetKey: Route53Convert.APIRecordSet]] = [:]
    /// Alias and routing-policy RRsets per zone: mailplan never writes over them.
    private var foreign: [DomainName: [RRsetKey: String]] = [:]

    /// The setting names this adapter accepts.
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = [
        ProviderSetting("endpoint", "default https://route53.amazonaws.com"),
        ProviderSetting("region", "signing region, default us-east-1"),
        ProviderSetting("insecure", "allow plain http:// to a non-loopback host"),
        ProviderSetting("timeout", "seconds per request (1-3600, default 60)"),
    ]
    /// Where Route 53 lives.
    public static let defaultEndpoint = URL(string: "https://route53.amazonaws.com")!

    /// Builds the adapter from a plan file's provider entry, with credentials from `environment`.
    /// - Throws: ``DiagnosticsError`` for invalid settings or missing credentials (offline).
    public convenience init(config: ProviderConfig) throws {
        try self.init(config: config, environment: ProcessInfo.processInfo.environment)
    }

    /// Builds the adapter from a plan file's provider entry, with the AWS credentials from `environment`.
    public convenience init(config: ProviderConfig, environment: [String: String]) throws {
        try config.checkKeys(allowed: Self.settingNames)
        let c = try RESTAPI.connection(config, urlKey: "endpoint", defaultURL: Self.defaultEndpoint.absoluteString,
                                       example: Self.defaultEndpoint.absoluteString, sends: "signed requests")
        let (url, options) = (c.url, c.options)
        config.session.pace(Self.capabilities.rateLimit)
        guard let creds = AWSCredentials.fromEnvironment(environment) else {
            throw DiagnosticsError(Diagnostic(at: config.location,
                "providers.\(config.name): no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)"))
        }
        self.init(name: config.name, endpoint: url, credentials: creds, region: try config.string("region") ?? "us-east-1",
                  client: HTTPClient(options: options))
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - endpoint: the API base URL (no path).
    ///   - credentials: the AWS key pair (and session token).
    ///   - region: the SigV4 region; Route 53 is signed for `us-east-1`.
    ///   - client: the transport.
    ///   - sleep: waits between throttled attempts (seconds); tests inject a recorder.
    ///   - now: the clock used for `X-Amz-Date`.
    public init(name: String, endpoint: URL, credentials: AWSCredentials, region: String = "us-east-1",
                client: HTTPClient = HTTPClient(), sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.instanceName = name; self.endpoint = endpoint; self.credentials = credentials
        self.signer = SigV4Signer(region: region, service: "route53")
        self.client = client; self.sleep = sleep; self.now = now
    }

    // MARK: - transport

    /// `s` with every credential value replaced by `<redacted>`.
    func scrub(_ s: String) -> String {
        var out = s
        for v in [credentials.accessKeyID.value, credentials.secretAccessKey.value, credentials.sessionToken?.value].compactMap({ $0 }) where !v.isEmpty {
            out = out.replacingOccurrences(of: v, with: "<redacted>")
        }
        return out
    }

    /// Sends one signed API request (`path` below the endpoint, e.g. `/2013-04-01/hostedzone/Z1/rrset`),
    /// retrying HTTP 400 `Throttling`/`PriorRequestNotComplete` with exponential backoff
    /// (1, 2, 4, 8, 10, 10… s; Route 53 sends no `Retry-After`). Each attempt is signed afresh.
    /// - Returns: the final response, whatever its status.
    /// - Throws: ``HTTPError`` when no response arrived.
    public func call(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil) throws -> (HTTPRequest, HTTPResponse) {
        var text = endpoint.absoluteString
        while text.hasSuffix("/") { text.removeLast() }
        text += path
        if !query.isEmpty { text += "?" + query.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&") }
        guard let url = URL(string: text) else { throw HTTPError(kind: .refused("not a URL"), method: method, url: text, attempts: 0) }
        let host = (url.host ?? "") + (url.port.map { ":\($0)" } ?? "")
        var attempt = 0
        while true {
            attempt += 1
            let date = SigV4Signer.amzDate(now())
            var signed = ["host": host, "x-amz-date": date]
            if let t = credentials.sessionToken { signed["x-amz-security-token"] = t.value }
            let sig = signer.sign(method: method.rawValue, url: url, headers: signed, body: body ?? Data(), amzDate: date, credentials: credentials)
            var headers: HTTPHeaders = ["Host": host, "X-Amz-Date": date, "Authorization": sig.authorization]
            if let t = credentials.sessionToken { headers.add("X-Amz-Security-Token", t.value) }
            if body != nil { headers.add("Content-Type", "application/xml") }
            let req = HTTPRequest(method, url, headers: headers, body: body, secretHeaders: ["x-amz-security-token"])
            let resp = try client.send(req)
            if resp.status == 400, let info = Route53Convert.errorInfo(resp.body),
               ["Throttling", "PriorRequestNotComplete"].contains(info.code), attempt < throttleAttempts {
                sleep(min(10, pow(2, Double(attempt - 1))))
                continue
            }
            var r = resp
            r.attempts = attempt
            return (req, r)
        }
    }

    private func failure(_ req: HTTPRequest, _ resp: HTTPResponse, _ doing: String) -> String {
        if let info = Route53Convert.errorInfo(resp.body) {
            let msg = scrub(info.messages.joined(separator: "; "))
            let tries = resp.attempts > 1 ? " after \(resp.attempts) attempts" : ""
            switch resp.status {
            case 401, 403:
                return "AWS refused the credentials while \(doing) (HTTP \(resp.status) \(info.code)\(msg.isEmpty ? "" : ": \(msg)")); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY\(credentials.sessionToken == nil ? "" : " / AWS_SESSION_TOKEN") and the IAM permissions route53:ListHostedZonesByName, ListResourceRecordSets, ChangeResourceRecordSets"
            default:
                return "\(doing) failed: \(req.method) \(scrub(req.displayURL)) returned HTTP \(resp.status) \(info.code)\(tries)\(msg.isEmpty ? "" : ": \(msg)")"
            }
        }
        return "\(doing) failed: " + scrub("\(HTTPError(request: req, response: resp))")
    }

    // MARK: - zones

    /// The hosted zone ID (without `/hostedzone/`) of `zone`, looked up once by exact name.
    /// - Throws: ``ProviderError`` when there is no such zone or several public ones.
    public func hostedZoneID(_ zone: DomainName) throws -> String {
        if let id = zoneIDs[zone] { return id }
        let doing = "looking up hosted zone \(zone.fqdn)"
        let req: HTTPRequest, resp: HTTPResponse
        do { (req, resp) = try call(.get, "/2013-04-01/hostedzonesbyname", query: [("dnsname", zone.fqdn), ("maxitems", "100")]) }
        catch { throw ProviderError(provider: instanceName, "\(doing) failed: \(scrub("\(error)"))") }
        guard resp.status == 200 else { throw ProviderError(provider: instanceName, failure(req, resp, doing)) }
        let list: [Route53Convert.HostedZone]
        do { list = try Route53Convert.hostedZones(resp.body).zones } catch {
            throw ProviderError(provider: instanceName, "\(doing): the response cannot be used: \(error)")
        }
        // The list starts AT the name in label order and goes on past it: keep exact matches only.
        let exact = list.filter { (try? DomainName($0.name)) == zone }
        let pub = exact.filter { !$0.privateZone }
        let pick: [Route53Convert.HostedZone] = exact.count == 1 ? exact : pub
        guard pick.count == 1 else {
            if exact.isEmpty {
                throw ProviderError(provider: instanceName, "no hosted zone named \(zone.fqdn) at \(endpoint.absoluteString) (create it in Route 53 first)")
            }
            throw ProviderError(provider: instanceName, "\(exact.count) hosted zones are named \(zone.fqdn) (\(exact.map { "\($0.id)\($0.privateZone ? " private" : "")" }.joined(separator: ", "))); mailplan will not guess which one to change")
        }
        zoneIDs[zone] = pick[0].id
        return pick[0].id
    }

    /// Reads every RRset of `zone` (SOA and NS included), following `NextRecordName` /
    /// `NextRecordType` / `NextRecordIdentifier` pages of up to 300 sets.
    /// Alias and routing-policy record sets are left out (mailplan does not model them) and
    /// remembered, so ``apply(_:)`` refuses to write over them.
    /// - Throws: ``ProviderError``; never returns a partial zone.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        let id = try hostedZoneID(zone)
        let doing = "reading zone \(zone.fqdn) (hosted zone \(id))"
        var out: [RRset] = []
        var raw: [RRsetKey: Route53Convert.APIRecordSet] = [:]
        var skipped: [RRsetKey: String] = [:]
        var start: (name: String, type: String, identifier: String?)? = nil
        var pages = 0
        repeat {
            pages += 1
            if pages > 10_000 { throw ProviderError(provider: instanceName, "\(doing): more than 10000 pages; giving up") }
            var q: [(String, String)] = [("maxitems", "300")]
            if let s = start {
                q += [("name", s.name), ("type", s.type)]
                if let i = s.identifier { q.append(("identifier", i)) }
            }
            let req: HTTPRequest, resp: HTTPResponse
            do { (req, resp) = try call(.get, "/2013-04-01/hostedzone/\(id)/rrset", query: q) }
            catch { throw ProviderError(provider: instanceName, "\(doing) failed: \(scrub("\(error)"))") }
            guard resp.status == 200 else { throw ProviderError(provider: instanceName, failure(req, resp, doing)) }
            let page: Route53Convert.RecordSetPage
            do { page = try Route53Convert.recordSetPage(resp.body) } catch {
                throw ProviderError(provider: instanceName, "\(doing): GET \(req.displayURL) returned HTTP 200 with a body that cannot be used: \(error)")
            }
            for s in page.sets {
                if s.alias || s.setIdentifier != nil {
                    if let n = try? DomainName(Route53Convert.unescapeName(s.name)) {
                        skipped[RRsetKey(n, RRType(s.type))] = s.alias ? "an alias record" : "a routing-policy record (SetIdentifier \(s.setIdentifier!))"
                    }
                    continue
                }
                do {
                    let r = try Route53Convert.rrset(s, zone: zone)
                    out.append(r); raw[r.key] = s
                } catch { throw ProviderError(provider: instanceName, "\(doing): \(error)") }
            }
            start = page.next
        } while start != nil
        lastRead[zone] = raw
        foreign[zone] = skipped
        return out
    }

    // MARK: - apply

    /// Rewrites the RRset references of Route 53 error messages, `[name='a.example.com.', type='A']`
    /// and `Name=a.example.com., Type=A`, as `a.example.com./A` so the changes they name can be found.
    static func nameTypePairs(_ text: String) -> String {
        guard let re = try? NSRegularExpression(pattern: "[Nn]ame='?([^',\\]\\s]+)'?,\\s*[Tt]ype='?([A-Za-z0-9]+)'?") else { return text }
        return re.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "$1/$2")
    }

    /// The batch for a changeset: CREATE for creates (Route 53 refuses it when the RRset
    /// exists); for updates, DELETE of the RRset as last read followed by CREATE of the new one
    /// (Route 53 refuses a DELETE whose values or TTL differ from the current ones, so the whole
    /// batch fails rather than overwrite a change made since the plan); DELETE as last read
    /// for deletes (Route 53 API Reference, ChangeResourceRecordSets, "DELETE").
    /// - Throws: ``Route53Convert/ConvertError`` when a change has no records to write.
    public func batch(_ changeset: ZoneChangeset) throws -> [Route53Convert.BatchChange] {
        let raw = lastRead[changeset.zone] ?? [:]
        return try changeset.changes.flatMap { c -> [Route53Convert.BatchChange] in
            switch c.action {
            case .create:
                guard let after = c.after, !after.rdata.isEmpty else { throw ConvertError(message: "create of \(c.key) has no records") }
                return [.init(.create, Route53Convert.apiRecordSet(after))]
            case .update:
                guard let before = c.before else { throw ConvertError(message: "update of \(c.key) has no records") }
                let old = Route53Convert.BatchChange(.delete, raw[c.key] ?? Route53Convert.apiRecordSet(before))
                if let after = c.after, !after.rdata.isEmpty { return [old, .init(.create, Route53Convert.apiRecordSet(after))] }
                return [old]
            case .delete:
                guard let before = c.before else { throw ConvertError(message: "delete of \(c.key) has no live records") }
                return [.init(.delete, raw[c.key] ?? Route53Convert.apiRecordSet(before))]
            }
        }
    }

    /// Writes the changeset as one `ChangeResourceRecordSets` batch (all-or-nothing).
    /// - Throws: ``ApplyError``: on any failure nothing was applied (Route 53 validates the
    ///   whole batch first), except after a timeout or a 5xx, when the outcome is unknown and
    ///   the message says so. An `InvalidChangeBatch` names the RRsets it is about.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        let zone = changeset.zone
        func fail(_ failed: [Change], _ reason: String) -> ApplyError {
            ApplyError.nothingApplied(provider: instanceName, zone: zone, changes, failed: failed, reason: reason)
        }
        if let clash = changes.first(where: { foreign[zone]?[$0.key] != nil }) {
            throw fail([clash], "\(clash.key) is \(foreign[zone]![clash.key]!) in Route 53, which mailplan does not manage; remove it or take the name out of the plan; nothing was applied")
        }
        let id: String
        do { id = try hostedZoneID(zone) } catch let e as ProviderError { throw fail(changes, e.message + "; nothing was applied") }
        let items: [Route53Convert.BatchChange]
        do { items = try batch(changeset) } catch { throw fail(changes, "cannot build the change batch: \(error); nothing was applied") }
        // Route 53's per-request limits: 1000 records, 32000 value characters (UPSERT counts double).
        let weight = items.map { $0.action == .upsert ? 2 : 1 }
        let records = zip(items, weight).map { $0.set.values.count * $1 }.reduce(0, +)
        let chars = zip(items, weight).map { $0.set.values.map(\.utf8.count).reduce(0, +) * $1 }.reduce(0, +)
        if records > 1000 || chars > 32_000 {
            throw fail(changes, "the change batch holds \(records) records / \(chars) value characters, over Route 53's 1000 / 32000 per request; mailplan does not split a zone's batch (it would no longer be atomic); nothing was applied")
        }
        let body = Route53Convert.changeBatchXML(items, comment: "mailplan apply")
        let req: HTTPRequest, resp: HTTPResponse
        do { (req, resp) = try call(.post, "/2013-04-01/hostedzone/\(id)/rrset/", body: body) } catch let e as HTTPError {
            throw ApplyError.transport(provider: instanceName, zone: zone, changes, error: scrub("\(e)"), outcomeUnknown: e.outcomeUnknown,
                                       write: "the batch", vendor: "Route 53")
        }
        if resp.isSuccess { return }
        let doing = "changing zone \(zone.fqdn) (hosted zone \(id))"
        if resp.status == 400, let info = Route53Convert.errorInfo(resp.body), ["InvalidChangeBatch", "InvalidInput"].contains(info.code) {
            let text = scrub(info.messages.joined(separator: "; "))
            let named = ChangeNames.named(in: Self.nameTypePairs(text), changes)
            let which = named.isEmpty ? "the change batch" : "the change" + (named.count == 1 ? "" : "s") + " to " + named.map { "\($0.key)" }.joined(separator: ", ")
            throw fail(named, "Route 53 refused \(which) (HTTP \(resp.status) \(info.code)): \"\(text)\"; nothing was applied (the batch is atomic)")
        }
        if resp.status >= 500 {
            throw fail(changes, failure(req, resp, doing) + "; the batch may or may not have been applied: run plan again to see the live state")
        }
        throw fail(changes, failure(req, resp, doing) + "; nothing was applied")
    }
}
