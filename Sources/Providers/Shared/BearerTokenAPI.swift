import Foundation
import MailPlan

/// A record-level REST adapter (Cloudflare, DigitalOcean): JSON requests to `baseURL` + path
/// with `Authorization: Bearer <token>`, and the message for a token the API refuses, naming
/// what the token needs for the zone. The adapter states its scope and its vendor's error
/// text; the request and message mechanics live here once.
protocol BearerTokenAPI {
    /// The adapter's `type:` name, for messages.
    var typeName: String { get }
    /// The API root without a trailing slash, e.g. `https://api.cloudflare.com/client/v4`.
    var baseURL: String { get }
    var token: Secret { get }
    /// What the token needs to read and write `zone`, for the message of a 401/403.
    func tokenScope(_ zone: DomainName) -> String
    /// The vendor's error text in a response body, if it has one.
    func errorText(_ body: Data) -> String?
}

extension BearerTokenAPI {
    /// A JSON request to `baseURL + path` with `query` items percent-encoded and the bearer token.
    func request(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: Data? = nil) -> HTTPRequest {
        RESTAPI.request(method, base: baseURL, path, query: query, body: body, authorization: "Bearer " + token.value)
    }

    /// "<type> rejected the token in ${VAR} (HTTP 403; check scope: …)", then `: ` and the
    /// vendor's error text when the body has one. Never contains the token itself.
    func tokenRejected(_ resp: HTTPResponse, zone: DomainName) -> String {
        RESTAPI.tokenRejected(type: typeName, status: resp.status, token: token, scope: tokenScope(zone))
            + (errorText(resp.body).map { ": \($0)" } ?? "")
    }
}
