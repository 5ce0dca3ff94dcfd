import Foundation

/// When and how long ``HTTPClient`` waits before repeating a request.
///
/// Retries happen only for idempotent requests, on the statuses in ``retryStatuses`` (plus
/// a request's own extras) and on connection failures and timeouts. The wait is exponential
/// (`baseDelay · 2^(n-1)`) with jitter, or the server's `Retry-After` when it sends one,
/// and never more than ``maxDelay``.
public struct RetryPolicy: Sendable, Hashable {
    /// Total attempts, including the first (1 disables retries).
    public var maxAttempts: Int
    /// The wait before the second attempt, in seconds, before jitter.
    public var baseDelay: TimeInterval
    /// The longest single wait, in seconds, whatever `Retry-After` says.
    public var maxDelay: TimeInterval
    /// Statuses that mean "try again later".
    public var retryStatuses: Set<Int>

    public init(maxAttempts: Int = 5, baseDelay: TimeInterval = 0.5, maxDelay: TimeInterval = 30,
                retryStatuses: Set<Int> = [429, 502, 503, 504]) {
        self.maxAttempts = max(1, maxAttempts); self.baseDelay = max(0, baseDelay)
        self.maxDelay = max(0, maxDelay); self.retryStatuses = retryStatuses
    }

    /// No retries at all.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The wait before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    /// - Parameters:
    ///   - retryAfter: the server's wait in seconds, if it sent `Retry-After`; used as is
    ///     (no jitter) but capped at ``maxDelay``.
    ///   - jitter: a number in 0…1; the exponential wait is scaled into its upper half
    ///     (`d · (0.5 + jitter/2)`), so concurrent clients spread out.
    public func delay(afterAttempt attempt: Int, retryAfter: TimeInterval?, jitter: Double) -> TimeInterval {
        if let r = retryAfter { return min(max(0, r), maxDelay) }
        let exp = baseDelay * pow(2, Double(max(0, attempt - 1)))
        let d = min(exp, maxDelay)
        return d * (0.5 + min(max(jitter, 0), 1) / 2)
    }

    /// Parses a `Retry-After` value (RFC 9110 §10.2.3): delay seconds or an HTTP-date.
    /// - Returns: seconds to wait from `now` (0 for a date in the past), or nil when unparsable.
    public static func parseRetryAfter(_ value: String, now: Date = Date()) -> TimeInterval? {
        let v = value.trimmingCharacters(in: .whitespaces)
        if let n = Int(v) { return n >= 0 ? TimeInterval(n) : nil }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.timeZone = TimeZone(identifier: "GMT")
            f.dateFormat = format
            if let d = f.date(from: v) { return max(0, d.timeIntervalSince(now)) }
        }
        return nil
    }
}

/// Settings of one ``HTTPClient``.
public struct HTTPClientOptions: Sendable {
    /// Seconds to establish a connection (TCP + TLS).
    public var connectTimeout: TimeInterval
    /// Seconds for a whole attempt, from connect to the last body byte.
    public var totalTimeout: TimeInterval
    /// A PEM file of CA certificates to trust instead of the system store. TLS
    /// verification itself is always on.
    public var caFile: String?
    /// Allows plain `http://` to hosts other than loopback. Off by default: credentials
    /// would cross the network in clear.
    public var allowInsecureHTTP: Bool
    public var retry: RetryPolicy
    public var userAgent: String
    /// Connect elsewhere than DNS says, keeping the URL's host for TLS (SNI, certificate
    /// name) and the Host header: `"mta-sts.example.com:443:127.0.0.1:8443"` entries
    /// (libcurl `CURLOPT_CONNECT_TO`). For tests and split-horizon setups.
    public var connectTo: [String] = []
    /// The provider instance's run state: every attempt is paced by its pacer and counted
    /// (``ProviderSession/willSend()``). Nil: neither.
    public var session: ProviderSession? = nil

    public init(connectTimeout: TimeInterval = 10, totalTimeout: TimeInterval = 60, caFile: String? = nil,
                allowInsecureHTTP: Bool = false, retry: RetryPolicy = RetryPolicy(), userAgent: String = "mailplan") {
        self.connectTimeout = connectTimeout; self.totalTimeout = totalTimeout; self.caFile = caFile
        self.allowInsecureHTTP = allowInsecureHTTP; self.retry = retry; self.userAgent = userAgent
    }
}
