import Foundation

/// Helpers shared by the stateful API fakes: URL parsing, JSON responses and scripted faults.
enum FakeSupport {
    // MARK: record-level fakes (Cloudflare, DigitalOcean)
    /// Splits a request target into its path and decoded query items.
    static func split(_ target: String) -> (path: String, query: [String: String]) {
        guard let c = URLComponents(string: "http://x" + target) else { return (target, [:]) }
        var q: [String: String] = [:]
        for i in c.queryItems ?? [] { q[i.name] = i.value ?? "" }
        return (c.path, q)
    }

    /// JSON text with sorted keys; `NSNull()` for null.
    static func json(_ value: Any) -> String {
        let data = try! JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        return String(decoding: data, as: UTF8.self)
    }

    /// The request body as a JSON object, or nil.
    static func object(_ body: Data) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// A scripted answer: the next request matching `method` and containing `pathContains`
    /// gets `response` instead of the normal one (consumed once per `times`).
    struct Scripted {
        var method: String
        var pathContains: String
        var response: FakeHTTPServer.Response
        var times: Int = 1
    }

    // MARK: RRset-level fakes (Hetzner Cloud, deSEC, Gandi)

    /// A request target split into percent-decoded path segments and query items.
    struct Target {
        var segments: [String]
        var query: [String: [String]]
        var rawPath: String
        func q(_ k: String) -> String? { query[k]?.first }
        var hasTrailingSlash: Bool { rawPath.hasSuffix("/") }
    }

    static func target(_ raw: String) -> Target {
        let parts = raw.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let segs = path.split(separator: "/").map { String($0).removingPercentEncoding ?? String($0) }
        var q: [String: [String]] = [:]
        if parts.count > 1 {
            for item in parts[1].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
                let v = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
                q[k, default: []].append(v)
            }
        }
        return Target(segments: segs, query: q, rawPath: path)
    }

    /// A JSON response with sorted keys.
    static func json(_ status: Int, _ object: Any, headers: [String: String] = [:]) -> FakeHTTPServer.Response {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        var h = headers
        h["Content-Type"] = "application/json"
        return FakeHTTPServer.Response(status, headers: h, String(decoding: data, as: UTF8.self))
    }

    /// Parses a JSON request body.
    static func body(_ r: FakeHTTPServer.Request) -> Any? { try? JSONSerialization.jsonObject(with: r.body) }

    /// Splits TXT presentation text into its quoted strings as written (escapes kept), or nil
    /// when it is not a sequence of quoted strings separated by spaces.
    static func quotedStrings(_ s: String) -> [String]? {
        var out: [String] = []
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == " " { i = s.index(after: i); continue }
            guard s[i] == "\"" else { return nil }
            var j = s.index(after: i), cur = ""
            var closed = false
            while j < s.endIndex {
                let c = s[j]
                if c == "\\" {
                    let n = s.index(after: j)
                    guard n < s.endIndex else { return nil }
                    cur.append(c); cur.append(s[n]); j = s.index(after: n); continue
                }
                if c == "\"" { closed = true; j = s.index(after: j); break }
                cur.append(c); j = s.index(after: j)
            }
            guard closed else { return nil }
            out.append(cur); i = j
        }
        return out.isEmpty ? nil : out
    }
}

/// Responses scripted ahead of the fake's own logic: the first matching rule answers and is
/// used up (`times` counts down; nil = forever).
final class FaultScript: @unchecked Sendable {
    struct Rule {
        var method: String?
        var pathContains: String
        var skip: Int
        var times: Int?
        var response: FakeHTTPServer.Response
    }
    private let lock = NSLock()
    private var rules: [Rule] = []

    /// Adds a rule: requests with `method` (any when nil) whose target contains `pathContains`
    /// get `response`, after `skip` matching requests passed through, `times` times.
    func add(_ method: String? = nil, _ pathContains: String, skip: Int = 0, times: Int? = 1, _ response: FakeHTTPServer.Response) {
        lock.lock(); rules.append(Rule(method: method, pathContains: pathContains, skip: skip, times: times, response: response)); lock.unlock()
    }

    func match(_ r: FakeHTTPServer.Request) -> FakeHTTPServer.Response? {
        lock.lock(); defer { lock.unlock() }
        for i in rules.indices where (rules[i].method == nil || rules[i].method == r.method) && r.path.contains(rules[i].pathContains) {
            if rules[i].times == 0 { continue }
            if rules[i].skip > 0 { rules[i].skip -= 1; return nil }
            if let t = rules[i].times { rules[i].times = t - 1 }
            return rules[i].response
        }
        return nil
    }
}

/// A documented rate limit enforced by a fake, the strict way: at most `requests` requests in
/// any `seconds`-long window (a sliding window, as deSEC documents it; a client that keeps it
/// keeps a fixed-window limit of the same figures too). A request over the limit is refused
/// and counted; refused requests do not use up the budget.
final class EnforcedRateLimit: @unchecked Sendable {
    let requests: Int
    let seconds: Double
    private let lock = NSLock()
    private var accepted: [Double] = []
    private var _refused = 0
    /// Requests refused so far.
    var refused: Int { lock.lock(); defer { lock.unlock() }; return _refused }

    init(requests: Int, per seconds: Double) { self.requests = requests; self.seconds = seconds }

    /// Nil when a request arriving now is within the limit (and counts it), else the seconds
    /// until one more would be (for `Retry-After`, rounded up).
    func admit(now: Double = ProcessInfo.processInfo.systemUptime) -> Int? {
        lock.lock(); defer { lock.unlock() }
        accepted.removeAll { $0 <= now - seconds }
        guard accepted.count >= requests else { accepted.append(now); return nil }
        _refused += 1
        return max(1, Int((accepted[0] + seconds - now).rounded(.up)))
    }
}
