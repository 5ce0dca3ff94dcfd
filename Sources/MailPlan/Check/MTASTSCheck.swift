import Foundation

/// `check.mta_sts`: how `mailplan check` (and `plan`, when set) fetches MTA-STS policies.
public struct MTASTSFetchSettings: Sendable {
    /// A PEM file of CA certificates to trust instead of the system store (`ca_file`,
    /// relative to the plan file).
    public var caFile: String? = nil
    /// Host → (address, port) to connect to instead of what DNS says, keeping the host name
    /// for TLS and HTTP (`resolve: {mta-sts.example.com: "127.0.0.1:8443"}`).
    public var resolve: [DomainName: (address: String, port: UInt16)] = [:]
    public init() {}
}

/// A fetched MTA-STS policy (RFC 8461 §3.2).
public struct MTASTSServedPolicy: Sendable, Hashable {
    public let text: String
    public let mode: String?
    /// The `mx` patterns, as served (`mail.example.com`, `*.example.net`).
    public let mx: [String]
    public let maxAge: Int?

    /// Parses `key: value` lines (CRLF or LF).
    public init(text: String) {
        self.text = text
        var mode: String? = nil, mx: [String] = [], maxAge: Int? = nil
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            let kv = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            guard kv.count == 2 else { continue }
            switch kv[0] {
            case "mode": mode = kv[1]
            case "mx": mx.append(kv[1].lowercased())
            case "max_age": maxAge = Int(kv[1])
            default: break
            }
        }
        self.mode = mode; self.mx = mx; self.maxAge = maxAge
    }

    /// True when `host` matches an `mx` pattern: equal (case-insensitive), or the pattern is
    /// `*.` + a suffix and `host` is exactly one label more (RFC 8461 §4.1).
    public func covers(_ host: DomainName) -> Bool {
        mx.contains { hostMatches(host.withoutTrailingDot, pattern: $0) }
    }
}

/// Fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt` over the shared ``HTTPClient``
/// (TLS verified; no redirects, RFC 8461 §3.3) and compares it with the plan.
public struct MTASTSCheck {
    public let settings: MTASTSFetchSettings
    let http: HTTPClient

    public init(settings: MTASTSFetchSettings?) {
        self.settings = settings ?? MTASTSFetchSettings()
        var o = HTTPClientOptions(connectTimeout: 5, totalTimeout: 10, caFile: self.settings.caFile, retry: RetryPolicy(maxAttempts: 1))
        o.connectTo = self.settings.resolve.map { "\($0.key.withoutTrailingDot):443:\($0.value.address):\($0.value.port)" }.sorted()
        http = HTTPClient(options: o)
    }

    /// The policy URL of a domain.
    public static func url(_ domain: DomainName) -> URL {
        URL(string: "https://mta-sts.\(domain.withoutTrailingDot)/.well-known/mta-sts.txt")!
    }

    /// Fetches the served policy.
    /// - Throws: ``HTTPError`` (no answer, TLS failure) or ``LiveDNSError`` for a status other than 200.
    public func fetch(_ domain: DomainName) throws -> MTASTSServedPolicy {
        let u = Self.url(domain)
        let r = try http.send(HTTPRequest(.get, u, headers: HTTPHeaders(), idempotent: true))
        guard r.status == 200 else { throw LiveDNSError("\(u.absoluteString) answered HTTP \(r.status)") }
        return MTASTSServedPolicy(text: String(decoding: r.body, as: UTF8.self))
    }

    /// Findings for one domain with `mta_sts:` planned: the served policy equals the planned
    /// one (``Compiler/mtaSTSPolicy(_:mx:)``), and for `mode: enforce` the served `mx`
    /// patterns cover every planned MX host (an error otherwise: enforcing a policy that
    /// leaves out an MX makes senders refuse to deliver to it).
    /// - Parameter compareContent: false leaves out "served policy differs from the plan" (the
    ///   plan-time `mode: enforce` gate asks only whether the served policy covers the MX).
    public func findings(_ d: DomainPlan, compareContent: Bool = true) -> [Finding] {
        guard let sts = d.mtaSTS else { return [] }
        let subject = "mta-sts.\(d.name.withoutTrailingDot)"
        let planned = Compiler.mtaSTSPolicy(sts, mx: d.mx)
        let served: MTASTSServedPolicy
        do { served = try fetch(d.name) } catch {
            return [Finding(.error, "mta-sts", subject, "cannot fetch \(Self.url(d.name).absoluteString): \(error)", expected: planned)]
        }
        var out: [Finding] = []
        if sts.mode == .enforce {
            let uncovered = d.mx.map(\.exchange).filter { $0 != .root && !served.covers($0) }
            if !uncovered.isEmpty {
                out.append(Finding(.error, "mta-sts", subject, "refusing mode: enforce: the served policy's mx (\(served.mx.joined(separator: ", "))) does not cover \(uncovered.map(\.withoutTrailingDot).joined(separator: ", ")) (RFC 8461 §4.1); publish the planned policy first",
                                   expected: d.mx.filter { $0.exchange != .root }.map(\.exchange.withoutTrailingDot).joined(separator: ", "), actual: served.mx.joined(separator: ", ")))
            }
        }
        if compareContent && served.text != planned {
            out.append(Finding(.error, "mta-sts", subject, "served policy differs from the plan", expected: planned, actual: served.text))
        }
        if out.isEmpty { out.append(Finding(.ok, "mta-sts", subject, "policy served as planned (mode \(sts.mode))", expected: planned, actual: served.text)) }
        return out
    }
}
