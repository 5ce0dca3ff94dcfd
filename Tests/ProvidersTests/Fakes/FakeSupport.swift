import Foundation

/// Small helpers shared by the stateful API fakes.
enum FakeSupport {
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
}
