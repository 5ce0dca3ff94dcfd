import Foundation

/// An HTTP request method.
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue.uppercased() }
    public static let get = HTTPMethod(rawValue: "GET"), head = HTTPMethod(rawValue: "HEAD")
    public static let post = HTTPMethod(rawValue: "POST"), put = HTTPMethod(rawValue: "PUT")
    public static let patch = HTTPMethod(rawValue: "PATCH"), delete = HTTPMethod(rawValue: "DELETE")
    /// True for the methods RFC 9110 §9.2.2 defines as idempotent.
    public var isIdempotent: Bool { ["GET", "HEAD", "PUT", "DELETE", "OPTIONS"].contains(rawValue) }
    public var description: String { rawValue }
}

/// Header fields in order, looked up case-insensitively (RFC 9110 §5.1).
public struct HTTPHeaders: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public private(set) var fields: [(name: String, value: String)] = []
    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        for (n, v) in elements { add(n, v) }
    }
    /// Appends a field (a repeated name keeps every value).
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }
    /// Replaces every field of `name` with one field.
    public mutating func set(_ name: String, _ value: String) { remove(name); add(name, value) }
    /// Removes every field of `name`.
    public mutating func remove(_ name: String) { fields.removeAll { $0.name.caseInsensitiveCompare(name) == .orderedSame } }
    /// The first value of `name`, whatever its case, or nil.
    public subscript(_ name: String) -> String? {
        fields.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }
    /// Every value of `name`.
    public func values(_ name: String) -> [String] {
        fields.filter { $0.name.caseInsensitiveCompare(name) == .orderedSame }.map(\.value)
    }
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
    public static func == (a: Self, b: Self) -> Bool {
        a.fields.count == b.fields.count && zip(a.fields, b.fields).allSatisfy { $0.name.lowercased() == $1.name.lowercased() && $0.value == $1.value }
    }
    public func hash(into h: inout Hasher) { for f in fields { h.combine(f.name.lowercased()); h.combine(f.value) } }
    /// Names only: values may be credentials, so they are never printed here.
    public var description: String { "[" + fields.map(\.name).joined(separator: ", ") + "]" }
}

/// One HTTP request for ``HTTPClient``.
public struct HTTPRequest: Sendable {
    /// Header names whose values are always credentials and always redacted in logs and errors.
    public static let credentialHeaders: Set<String> = [
        "authorization", "proxy-authorization", "x-api-key", "x-auth-key", "x-auth-token",
        "auth-api-token", "cookie", "set-cookie", "x-auth-email",
    ]

    public var method: HTTPMethod
    public var url: URL
    public var headers: HTTPHeaders
    public var body: Data?
    /// Whether sending the request twice has the same effect as sending it once. Only
    /// idempotent requests are retried. Defaults to the method's idempotency; a caller sets
    /// it for a request it knows is safe to repeat (e.g. a PowerDNS REPLACE-only PATCH).
    public var idempotent: Bool
    /// Extra statuses to retry for this request on top of the policy's (e.g. `[500]` for a
    /// backend that fails transiently under lock contention). Only used when ``idempotent``.
    public var extraRetryStatuses: Set<Int>
    /// Names of further headers whose values are secrets (case-insensitive), besides
    /// ``credentialHeaders``.
    public var secretHeaders: Set<String>
    /// Overrides the client's total timeout for this request, in seconds.
    public var timeout: TimeInterval?

    /// - Parameters:
    ///   - method: the request method.
    ///   - url: an absolute `http` or `https` URL.
    ///   - headers: header fields; a JSON body does not add `Content-Type` by itself.
    ///   - body: the request body, if any.
    ///   - idempotent: whether it may be retried; nil means "as the method says".
    ///   - secretHeaders: names of extra headers to redact.
    public init(_ method: HTTPMethod, _ url: URL, headers: HTTPHeaders = [:], body: Data? = nil,
                idempotent: Bool? = nil, extraRetryStatuses: Set<Int> = [], secretHeaders: Set<String> = [],
                timeout: TimeInterval? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body
        self.idempotent = idempotent ?? method.isIdempotent
        self.extraRetryStatuses = extraRetryStatuses
        self.secretHeaders = Set(secretHeaders.map { $0.lowercased() })
        self.timeout = timeout
    }

    /// True when the header `name` carries a secret.
    public func isSecretHeader(_ name: String) -> Bool {
        let n = name.lowercased()
        return Self.credentialHeaders.contains(n) || secretHeaders.contains(n)
    }

    /// The values of every secret header (non-empty), to scrub from any text shown.
    public var secretValues: [String] {
        headers.filter { isSecretHeader($0.name) && !$0.value.isEmpty }.map(\.value)
    }

    /// `text` with every secret header value (and its bare token after a scheme such as
    /// `Bearer`) replaced by `<redacted>`.
    public func redact(_ text: String) -> String {
        var out = text
        for v in secretValues {
            out = out.replacingOccurrences(of: v, with: "<redacted>")
            if let token = v.split(separator: " ").last, token.count >= 4, String(token) != v {
                out = out.replacingOccurrences(of: String(token), with: "<redacted>")
            }
        }
        return out
    }

    /// The URL as it may be shown: secrets scrubbed, any user:password removed.
    public var displayURL: String {
        var s = url.absoluteString
        if var c = URLComponents(url: url, resolvingAgainstBaseURL: false), c.user != nil || c.password != nil {
            c.user = nil; c.password = nil
            s = c.string ?? s
        }
        return redact(s)
    }

    /// The headers as they may be logged: `Name: value`, credential values shown as `<redacted>`.
    public var redactedHeaders: String {
        headers.map { "\($0.name): \(isSecretHeader($0.name) ? "<redacted>" : redact($0.value))" }.joined(separator: ", ")
    }
}

/// A complete HTTP response.
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Response header fields, looked up case-insensitively.
    public var headers: HTTPHeaders
    public var body: Data
    /// How many attempts the client made to get this response (1 when not retried).
    public var attempts: Int

    public init(status: Int, headers: HTTPHeaders = [:], body: Data = Data(), attempts: Int = 1) {
        self.status = status; self.headers = headers; self.body = body; self.attempts = attempts
    }
    /// True for 2xx.
    public var isSuccess: Bool { (200..<300).contains(status) }
    /// The body as UTF-8 text (invalid bytes replaced).
    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The first `limit` characters of the body on one line, for error messages.
    public func excerpt(_ limit: Int = 200) -> String {
        let t = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
            .trimmingCharacters(in: .whitespaces)
        return t.count <= limit ? t : String(t.prefix(limit)) + "…"
    }
}
