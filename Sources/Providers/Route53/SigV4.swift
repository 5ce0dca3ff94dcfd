import Crypto
import Foundation
import MailPlan

/// AWS credentials for SigV4, read from the standard environment variables.
public struct AWSCredentials: Sendable {
    /// The access key ID (`AKIA…`); an identifier, but still never printed by mailplan.
    public let accessKeyID: Secret
    public let secretAccessKey: Secret
    /// The session token of temporary credentials (`AWS_SESSION_TOKEN`), if any.
    public let sessionToken: Secret?

    public init(accessKeyID: Secret, secretAccessKey: Secret, sessionToken: Secret? = nil) {
        self.accessKeyID = accessKeyID; self.secretAccessKey = secretAccessKey; self.sessionToken = sessionToken
    }

    /// The credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the optional
    /// `AWS_SESSION_TOKEN`, or nil when either of the first two is missing or empty.
    public static func fromEnvironment(_ env: [String: String]) -> AWSCredentials? {
        guard let id = env["AWS_ACCESS_KEY_ID"], !id.isEmpty,
              let secret = env["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else { return nil }
        let token = env["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : Secret(value: $0, variable: "AWS_SESSION_TOKEN") }
        return AWSCredentials(accessKeyID: Secret(value: id, variable: "AWS_ACCESS_KEY_ID"),
                              secretAccessKey: Secret(value: secret, variable: "AWS_SECRET_ACCESS_KEY"), sessionToken: token)
    }
}

/// AWS Signature Version 4 (header form) for one service and region, as documented in the
/// AWS General Reference "Create a signed AWS API request"; HMAC-SHA256 from swift-crypto.
///
/// Canonical request: `METHOD \n URI \n QUERY \n HEADERS \n \n SIGNED-HEADERS \n hex(sha256(body))`,
/// with every path segment URI-encoded once more (non-S3 rule), query pairs RFC 3986-encoded
/// and sorted, header names lower-cased and values trimmed.
public struct SigV4Signer: Sendable {
    public let region: String
    public let service: String

    public init(region: String, service: String) { self.region = region; self.service = service }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC, the `X-Amz-Date` form.
    public static func amzDate(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters `A-Z a-z 0-9 - _ . ~`.
    public static func uriEncode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    /// The canonical URI: each segment of the (already percent-encoded) path encoded again.
    public static func canonicalURI(_ percentEncodedPath: String) -> String {
        let p = percentEncodedPath.isEmpty ? "/" : percentEncodedPath
        return p.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
    }

    /// The canonical query string of a percent-encoded query: pairs decoded, re-encoded per
    /// RFC 3986, sorted by name then value, joined by `&`.
    public static func canonicalQuery(_ percentEncodedQuery: String?) -> String {
        guard let q = percentEncodedQuery, !q.isEmpty else { return "" }
        let pairs = q.split(separator: "&").map { item -> (String, String) in
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = String(kv[0]).removingPercentEncoding ?? String(kv[0])
            let v = kv.count > 1 ? (String(kv[1]).removingPercentEncoding ?? String(kv[1])) : ""
            return (uriEncode(k), uriEncode(v))
        }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    static func hex<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 { hexString(bytes) }

    /// Hex SHA-256 of `data` (the payload hash).
    public static func sha256Hex(_ data: Data) -> String { hexSHA256(data) }

    /// The pieces of one signature, exposed so tests can compare each step with AWS's examples.
    public struct Signature: Sendable {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signedHeaders: String
        public let signature: String
        /// The `Authorization` header value.
        public let authorization: String
    }

    /// Signs a request.
    /// - Parameters:
    ///   - method: `GET`, `POST`, …
    ///   - url: the full URL (its percent-encoded path and query are used as sent).
    ///   - headers: the headers to sign, which must include `host` and `x-amz-date`
    ///     (and `x-amz-security-token` with temporary credentials).
    ///   - body: the payload (empty for GET).
    ///   - amzDate: the `X-Amz-Date` value, `yyyyMMddTHHmmssZ`.
    ///   - credentials: the key pair.
    /// - Returns: the signature and the `Authorization` value.
    public func sign(method: String, url: URL, headers: [String: String], body: Data, amzDate: String,
                     credentials: AWSCredentials) -> Signature {
        let comps = URLComponents(url: url, resolvingAgainstBaseURL: false)
        let canonHeaders = headers.map { ($0.key.lowercased(), $0.value.trimmingCharacters(in: .whitespaces)
            .split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")) }
            .sorted { $0.0 < $1.0 }
        let signedHeaders = canonHeaders.map(\.0).joined(separator: ";")
        let canonicalRequest = [
            method.uppercased(),
            Self.canonicalURI(comps?.percentEncodedPath ?? "/"),
            Self.canonicalQuery(comps?.percentEncodedQuery),
            canonHeaders.map { "\($0.0):\($0.1)\n" }.joined(),
            signedHeaders,
            Self.sha256Hex(body),
        ].joined(separator: "\n")
        let day = String(amzDate.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.sha256Hex(Data(canonicalRequest.utf8))].joined(separator: "\n")
        func hmac(_ key: Data, _ msg: String) -> Data {
            Data(HMAC<SHA256>.authenticationCode(for: Data(msg.utf8), using: SymmetricKey(data: key)))
        }
        let kDate = hmac(Data(("AWS4" + credentials.secretAccessKey.value).utf8), day)
        let kSigning = hmac(hmac(hmac(kDate, region), service), "aws4_request")
        let signature = Self.hex(hmac(kSigning, stringToSign))
        let auth = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID.value)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signature(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
                         signature: signature, authorization: auth)
    }
}
