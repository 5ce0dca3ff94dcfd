import Foundation
import MailPlan

/// Mechanics shared by the reverse-DNS adapters (Hetzner Cloud, Vultr, Linode): Bearer
/// requests over the shared transport, error texts that name the address and the provider
/// but never the token, and address matching.
struct ReverseAPI {
    let instanceName: String
    let typeName: String
    let baseURL: URL
    let token: Secret
    let client: HTTPClient
    let sleep: @Sendable (TimeInterval) -> Void
    /// What the token needs, for the 401/403 message.
    let scope: String

    func url(_ path: String) -> URL { URL(string: baseURL.absoluteString + path)! }

    func request(_ method: HTTPMethod, _ path: String, body: Data? = nil, idempotent: Bool? = nil) -> HTTPRequest {
        let h = RESTAPI.jsonHeaders(authorization: "Bearer " + token.value, body: body)
        return HTTPRequest(method, url(path), headers: h, body: body, idempotent: idempotent)
    }

    func fail(_ m: String) -> ProviderError { ProviderError(provider: "\(instanceName) (\(typeName))", m) }

    /// Sends a request. A 401/403 becomes the token message; a transport failure names the
    /// call. Any other status is returned for the caller to judge.
    /// - Parameter what: the call in words, e.g. `reading the PTR of 192.0.2.25`.
    func send(_ req: HTTPRequest, what: String) throws -> HTTPResponse {
        let resp: HTTPResponse
        do { resp = try RESTAPI.send(client, req, sleep: sleep) } catch let e as HTTPError {
            let unknown = e.outcomeUnknown && req.method != .get ? "; it may or may not have been applied: run plan again" : ""
            throw fail("\(what) failed: \(e)\(unknown)")
        }
        if resp.status == 401 || resp.status == 403 {
            throw fail("\(what): " + RESTAPI.tokenRejected(type: typeName, status: resp.status, token: token, scope: scope))
        }
        return resp
    }

    /// The error for a refused call: status, the provider's own message and the body sent.
    func refused(_ req: HTTPRequest, _ resp: HTTPResponse, what: String, detail: String?) -> ProviderError {
        let d = detail.map { "\"\(req.redact($0))\"" } ?? resp.excerpt()
        let sent = req.body.map { "; body sent: " + req.redact(String(decoding: $0, as: UTF8.self)) } ?? ""
        return fail("\(what): \(req.method) \(req.displayURL) returned HTTP \(resp.status)\(resp.attempts > 1 ? " after \(resp.attempts) attempts" : ""): \(d)\(sent)")
    }

    /// Decodes a 2xx body or throws naming the call.
    func decode<T: Decodable>(_ type: T.Type, _ resp: HTTPResponse, _ req: HTTPRequest, what: String) throws -> T {
        do { return try RESTAPI.decode(T.self, resp.body) } catch {
            throw fail("\(what): \(req.method) \(req.displayURL) returned HTTP \(resp.status) with a body that does not decode: \(error)")
        }
    }

    /// The JSON body, keys sorted so requests are stable.
    static func body<T: Encodable>(_ value: T) throws -> Data { try RESTAPI.encode(value) }

    /// A host name as the hosting APIs take it: no trailing dot.
    static func apiName(_ n: DomainName) -> String { n.withoutTrailingDot }

    /// Parses a PTR name from an API (with or without trailing dot); nil for null or empty.
    static func ptrName(_ text: String?) -> DomainName? {
        guard let t = text?.trimmingCharacters(in: .whitespaces), !t.isEmpty else { return nil }
        return try? DomainName(t)
    }

    /// True when `ip` lies in the IPv6 network `network` (`2001:db8::/64`, or a bare network
    /// address with `prefix` bits).
    static func contains(network: String, prefix: Int? = nil, _ ip: IPv6Address) -> Bool {
        let parts = network.split(separator: "/")
        guard let net = parts.first.flatMap({ IPv6Address(String($0)) }) else { return false }
        let bits = parts.count > 1 ? Int(parts[1]) ?? 128 : (prefix ?? 64)
        for i in 0..<16 {
            let take = max(0, min(8, bits - i * 8))
            if take == 0 { break }
            let mask: UInt8 = take == 8 ? 0xff : UInt8(0xff << (8 - take) & 0xff)
            if net.bytes[i] & mask != ip.bytes[i] & mask { return false }
        }
        return true
    }
}
