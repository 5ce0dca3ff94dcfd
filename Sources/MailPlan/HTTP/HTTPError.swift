import Foundation

/// A failed HTTP exchange. It names the method, the URL, the status (when a response
/// arrived), how many attempts were made and a short excerpt of the body; secrets are
/// scrubbed from every part.
public struct HTTPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The server answered with a status the caller did not accept.
        case status(Int)
        /// No usable response: connection refused, timeout, TLS failure… (libcurl code and text).
        case transport(code: Int, message: String)
        /// The request was refused before sending (e.g. plain `http://` to a remote host).
        case refused(String)
    }
    public let kind: Kind
    public let method: HTTPMethod
    /// The URL, already redacted.
    public let url: String
    public let attempts: Int
    /// The first characters of the response body, redacted; empty when there was none.
    public let bodyExcerpt: String

    public init(kind: Kind, method: HTTPMethod, url: String, attempts: Int, bodyExcerpt: String = "") {
        self.kind = kind; self.method = method; self.url = url; self.attempts = attempts; self.bodyExcerpt = bodyExcerpt
    }

    /// An error for a response with an unexpected status.
    public init(request: HTTPRequest, response: HTTPResponse) {
        self.init(kind: .status(response.status), method: request.method, url: request.displayURL,
                  attempts: response.attempts, bodyExcerpt: request.redact(response.excerpt()))
    }

    /// The HTTP status, when a response arrived.
    public var status: Int? { if case .status(let s) = kind { return s }; return nil }

    /// True when the request may or may not have reached the server (a timeout or a dropped
    /// connection after sending): a write's outcome is then unknown.
    public var outcomeUnknown: Bool {
        if case .transport(let code, _) = kind { return [28, 52, 55, 56].contains(code) }
        return false
    }

    public var description: String {
        let tries = attempts == 1 ? "" : " after \(attempts) attempts"
        switch kind {
        case .status(let s):
            return "\(method) \(url) returned HTTP \(s)\(tries)" + (bodyExcerpt.isEmpty ? "" : ": \(bodyExcerpt)")
        case .transport(_, let m):
            return "\(method) \(url) failed\(tries): \(m)"
        case .refused(let why):
            return "\(method) \(url) refused: \(why)"
        }
    }
}
