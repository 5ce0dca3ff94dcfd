import Foundation
import MailPlan

/// Pieces shared by the REST adapters (Cloudflare, DigitalOcean, Hetzner Cloud, deSEC, Gandi and
/// the reverse-DNS adapters): settings,
/// request building, JSON, `Link` headers, TXT chunking and error texts. Each adapter keeps
/// its own API knowledge in its own folder; only mechanics live here.
/// A REST DNS adapter type: its `api_url` default besides what every adapter type declares.
protocol RESTProviderType: DNSProviderType {
    /// The vendor's API root, used when the entry has no `api_url`.
    static var defaultURL: String { get }
}

enum RESTAPI {
    /// Settings every REST adapter accepts besides its own.
    static let commonSettings: [ProviderSetting] = [
        ProviderSetting("token", required: true, secret: true, "${ENV_VAR} holding the API token"),
        ProviderSetting("api_url", "API base (for tests)"),
        ProviderSetting("timeout", "seconds per request"),
        ProviderSetting("ca_file", "CA bundle for a private TLS certificate"),
        ProviderSetting("insecure", "allow plain http:// to a non-loopback host"),
    ]

    /// What ``settings(_:defaultURL:)`` read from a provider entry.
    struct Settings {
        var token: Secret
        var baseURL: URL
        var options: HTTPClientOptions
    }

    /// The common settings of a REST DNS adapter of type `T`, read the one way they all are:
    /// the entry's setting names checked against `T.settings`, then ``settings(_:defaultURL:)``
    /// with `T.defaultURL`; and the entry's session paced with `T`'s documented rate limit
    /// (``ProviderSession/pace(_:)``: the first adapter of a run installs the token bucket).
    /// - Throws: ``DiagnosticsError`` naming the setting's file:line:column.
    static func settings<T: RESTProviderType>(_ config: ProviderConfig, for type: T.Type) throws -> Settings {
        try config.checkKeys(allowed: T.settingNames)
        let s = try settings(config, defaultURL: T.defaultURL)
        config.session.pace(T.capabilities.rateLimit)
        return s
    }

    /// Reads `token` (a `${ENV}` secret), `api_url` (default `defaultURL`; plain http only to
    /// loopback unless `insecure: true`), `timeout` (seconds per request, 1–3600, default 60)
    /// and `ca_file`.
    /// - Throws: ``DiagnosticsError`` naming the setting's file:line:column.
    static func settings(_ config: ProviderConfig, defaultURL: String) throws -> Settings {
        let token = try config.secret("token")!
        let c = try connection(config, urlKey: "api_url", defaultURL: defaultURL, example: defaultURL, sends: "the token")
        return Settings(token: token, baseURL: c.url, options: c.options)
    }

    /// The connection settings every HTTP adapter reads the same way (PowerDNS and Route 53
    /// too): the API URL under `urlKey` (required when `defaultURL` is nil; plain http only to
    /// loopback unless `insecure: true`), `timeout` (seconds per request, 1–3600, default 60)
    /// and `ca_file`.
    /// - Parameters:
    ///   - example: a valid URL, for the message; `sends`: what plain http would expose.
    ///   - parse: the adapter's reading of the URL text (default ``parseBaseURL(_:)``).
    /// - Throws: ``DiagnosticsError`` naming the setting's file:line:column.
    static func connection(_ config: ProviderConfig, urlKey: String, defaultURL: String?, example: String, sends: String,
                           parse: (String) -> URL? = parseBaseURL) throws -> (url: URL, options: HTTPClientOptions) {
        let insecure = try config.bool("insecure") ?? false
        let timeout = try config.int("timeout", in: 1...3600) ?? 60
        let ca = try config.path("ca_file")?.path
        let text = try config.string(urlKey, required: defaultURL == nil) ?? defaultURL ?? ""
        guard let url = parse(text) else {
            throw DiagnosticsError(Diagnostic(at: config.settings[urlKey]?.location,
                "providers.\(config.name): '\(urlKey)' must be an http:// or https:// URL such as \(example), got '\(text)'"))
        }
        if url.scheme == "http" && !HTTPClient.isLoopback(host: url.host ?? "") && !insecure {
            throw DiagnosticsError(Diagnostic(at: config.settings[urlKey]?.location,
                "providers.\(config.name): plain http:// to \(url.host ?? "") would send \(sends) in clear; use https://, or set insecure: true"))
        }
        var options = HTTPClientOptions(totalTimeout: TimeInterval(timeout), caFile: ca, allowInsecureHTTP: insecure)
        options.session = config.session
        return (url, options)
    }

    /// `text` as a base URL without trailing slashes, or nil when it is not absolute http(s).
    static func parseBaseURL(_ text: String) -> URL? {
        var t = text.trimmingCharacters(in: .whitespaces)
        while t.hasSuffix("/") { t.removeLast() }
        guard let u = URL(string: t), let s = u.scheme?.lowercased(), s == "http" || s == "https",
              let h = u.host, !h.isEmpty, u.query == nil else { return nil }
        return u
    }

    /// One path segment, percent-encoded so that only letters, digits and `-._~*@` stay as they are.
    static func segment(_ s: String, keepAt: Bool = true) -> String {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~*")
        if keepAt { allowed.insert("@") }
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// A JSON encoder with sorted keys and unescaped slashes, so request bodies are stable.
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try e.encode(value)
    }

    /// Decodes `data` as `T`, or throws a message saying where the body did not fit.
    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: data) } catch {
            throw ConvertError(ConvertError.describe(error))
        }
    }


    /// The URLs of a `Link` header (RFC 8288) by relation: `<url>; rel="next", …`.
    static func links(_ header: String?) -> [String: String] {
        guard let header else { return [:] }
        var out: [String: String] = [:]
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = fields.first, first.hasPrefix("<"), first.hasSuffix(">") else { continue }
            let url = String(first.dropFirst().dropLast())
            for f in fields.dropFirst() where f.lowercased().hasPrefix("rel=") {
                let rels = f.dropFirst(4).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                for r in rels.split(separator: " ") { out[r.lowercased()] = url }
            }
        }
        return out
    }

    /// True when `url` has the scheme, host and port of `base` and lies under its path: only
    /// then may a pagination link be followed with the token.
    static func sameOrigin(_ url: URL, as base: URL) -> Bool {
        url.scheme?.lowercased() == base.scheme?.lowercased() && url.host?.lowercased() == base.host?.lowercased()
            && (url.port ?? defaultPort(url)) == (base.port ?? defaultPort(base)) && url.path.hasPrefix(base.path)
    }
    private static func defaultPort(_ u: URL) -> Int { u.scheme?.lowercased() == "http" ? 80 : 443 }

    /// The presentation form of a TXT value for APIs that want quoted character-strings:
    /// split so that each quoted string holds at most 255 bytes *and* at most 255 characters
    /// once escaped (`\"`, `\\`, `\DDD`), each quoted, joined by one space. For printable
    /// text without quotes or backslashes (every SPF/DKIM/DMARC value) this is exactly
    /// 255-byte chunks; the escape-aware cut is the safe reading of "quoted strings of at most
    /// 255 characters" in Hetzner's docs, which do not say whether escapes count [U].
    static func quotedTXT(_ value: String) -> String {
        let bytes = Array(value.utf8)
        if bytes.isEmpty { return "\"\"" }
        var chunks: [[UInt8]] = [], cur: [UInt8] = [], width = 0
        for b in bytes {
            let w = (b == 0x22 || b == 0x5c) ? 2 : (0x20...0x7e).contains(b) ? 1 : 4
            if width + w > 255 { chunks.append(cur); cur = []; width = 0 }
            cur.append(b); width += w
        }
        chunks.append(cur)
        return chunks.map { TXTCodec.quote(String(decoding: $0, as: UTF8.self)) }.joined(separator: " ")
    }

    /// The value an API stores for one rdata: TXT as its character-strings, each quoted
    /// (exactly as read, so a value mailplan does not own is written back unchanged); anything
    /// else in zone-file presentation with absolute names (trailing dot).
    static func value(_ r: RData) -> String { r.presentation }

    /// The values to store for `after`: a value that `before` already holds is written exactly
    /// as read (``value(_:)``); a new TXT value whose escaped strings would exceed 255
    /// characters is split with ``quotedTXT(_:)`` (docs/architecture.md, "TXT values").
    static func values(_ after: RRset, keeping before: RRset?) -> [String] {
        after.rdata.map { r in
            guard case .txt(let t) = r, !(before?.rdata.contains(r) ?? false),
                  t.strings.contains(where: { TXTCodec.quoteBytes($0).utf8.count - 2 > 255 }) else { return value(r) }
            return quotedTXT(t.value)
        }
    }

    /// Parses one stored value: TXT with ``TXTCodec/decodeStrings(_:)`` (the quoted strings
    /// kept, whitespace between and around them ignored, so Hetzner's trailing space is
    /// harmless; unquoted text taken raw), anything else as presentation with relative names resolved
    /// against the zone.
    static func rdata(_ type: RRType, _ value: String, zone: DomainName) throws -> RData {
        if type == .txt { return .txt(TXTCodec.decodeStrings(value)) }
        return try RData.parse(type: type, value, origin: zone)
    }

    /// `owner` relative to `zone` as an API names it, `apex` for the apex itself.
    /// - Throws: ``ConvertError`` when `owner` is outside the zone.
    static func relativeName(_ owner: DomainName, zone: DomainName, apex: String) throws -> String {
        guard owner.isSubdomain(of: zone) else { throw ConvertError("\(owner.fqdn) is outside zone \(zone.fqdn)") }
        return owner.relative(to: zone, apex: apex)
    }

    /// The owner name of a relative API name (`@`, `""`, `www`), absolute in `zone`.
    static func owner(_ relative: String, zone: DomainName) throws -> DomainName {
        do { return try DomainName(relative, relativeTo: zone) } catch {
            throw ConvertError("RRset name '\(relative)' is not a valid name: \(error)")
        }
    }

    /// The headers of a JSON API request: the credential, `Accept: application/json`, and
    /// `Content-Type: application/json` when there is a body.
    static func jsonHeaders(authorization: String, body: Data?) -> HTTPHeaders {
        var h: HTTPHeaders = ["Authorization": authorization, "Accept": "application/json"]
        if body != nil { h.add("Content-Type", "application/json") }
        return h
    }

    /// A JSON API request to `base + path` with `query` items percent-encoded.
    static func request(_ method: HTTPMethod, base: String, _ path: String, query: [(String, String)] = [],
                        body: Data? = nil, authorization: String) -> HTTPRequest {
        var c = URLComponents(string: base + path)!
        if !query.isEmpty { c.queryItems = query.map { URLQueryItem(name: $0.0, value: $0.1) } }
        return HTTPRequest(method, c.url!, headers: jsonHeaders(authorization: authorization, body: body), body: body)
    }

    /// The message for a 401/403: "<type> rejected the token in ${VAR} (HTTP 401; check scope: …)".
    /// Shown after "provider <name>: ", so it reads "provider X rejected the token".
    static func tokenRejected(type: String, status: Int, token: Secret, scope: String) -> String {
        "\(type) rejected the token in \(token) (HTTP \(status); check scope: \(scope))"
    }

    /// Sends `request`. A request the transport does not retry (a non-idempotent POST) that is
    /// answered 429 is sent again after `Retry-After`: a 429 means the server did not process
    /// it, so repeating it cannot duplicate a write. The response's `attempts` counts every try.
    static func send(_ client: HTTPClient, _ request: HTTPRequest, sleep: (TimeInterval) -> Void) throws -> HTTPResponse {
        let policy = client.options.retry
        var total = 0
        while true {
            var resp = try client.send(request)
            total += resp.attempts
            resp.attempts = total
            guard !request.idempotent, resp.status == 429, total < policy.maxAttempts else { return resp }
            let after = resp.headers["Retry-After"].flatMap { RetryPolicy.parseRetryAfter($0) }
            sleep(policy.delay(afterAttempt: total, retryAfter: after, jitter: 1))
        }
    }

}
