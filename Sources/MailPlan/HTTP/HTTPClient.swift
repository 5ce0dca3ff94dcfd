import CCurl
import Foundation
import Logging

/// The HTTP transport: the only code in mailplan that touches libcurl.
///
/// - Connections are kept alive: idle libcurl easy handles are pooled process-wide (every
///   option is set anew per request, so any client can use any handle), and each handle keeps
///   its connections open between requests. Adapters built once per zone therefore still
///   reuse the connections of earlier zones on the same server.
/// - Thread-safe: a request takes an idle handle from the pool (or makes one) and returns it.
/// - TLS is always verified (``HTTPClientOptions/caFile`` replaces the trusted CAs); plain
///   `http://` is refused except to loopback, unless ``HTTPClientOptions/allowInsecureHTTP``.
/// - Proxies come from the environment (`https_proxy`, `no_proxy`, … as libcurl reads them);
///   loopback hosts never go through a proxy. Redirects are not followed, so a credential
///   header is never sent to another host.
/// - Idempotent requests are retried with backoff (``RetryPolicy``).
/// - Every attempt is logged at debug level (label `mailplan.http`) with method, URL,
///   status, timing and attempt number; credential headers and secret values are redacted.
public final class HTTPClient: @unchecked Sendable {
    public let options: HTTPClientOptions
    private let logger: Logger
    private let sleep: @Sendable (TimeInterval) -> Void
    private let jitter: @Sendable () -> Double
    /// Idle easy handles shared by every client in the process.
    private static let pool = HandlePool()

    private static let globalInit: Void = {
        _ = curl_global_init(3) // CURL_GLOBAL_SSL | CURL_GLOBAL_WIN32 (= CURL_GLOBAL_ALL); the macro does not import
    }()

    /// - Parameters:
    ///   - options: timeouts, TLS, retry policy.
    ///   - logger: where the debug log goes; defaults to label `mailplan.http`.
    ///   - sleep: waits between retries (seconds); tests inject a recorder instead of waiting.
    ///   - jitter: a random number in 0…1 for backoff jitter; injectable for tests.
    public init(options: HTTPClientOptions = HTTPClientOptions(),
                logger: Logger = Logger(label: "mailplan.http"),
                sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }) {
        _ = Self.globalInit
        self.options = options; self.logger = logger; self.sleep = sleep; self.jitter = jitter
    }

    /// True when `host` is a loopback name or address (127.0.0.0/8, ::1, localhost).
    public static func isLoopback(host: String) -> Bool {
        var h = host.lowercased()
        if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
        if h == "localhost" || h.hasSuffix(".localhost") || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }

    /// Sends `request`, retrying per the policy, and returns the final response whatever
    /// its status (the caller decides what a 404 or 422 means). When every attempt got a
    /// retryable status, the last response is returned with ``HTTPResponse/attempts`` set.
    /// - Throws: ``HTTPError`` when no response arrived (connection failure, timeout, TLS
    ///   error) or the request was refused (plain HTTP to a remote host, bad scheme).
    public func send(_ request: HTTPRequest) throws -> HTTPResponse {
        let scheme = request.url.scheme?.lowercased() ?? ""
        let host = request.url.host ?? ""
        guard scheme == "https" || scheme == "http", !host.isEmpty else {
            throw HTTPError(kind: .refused("only absolute http:// and https:// URLs are supported"),
                            method: request.method, url: request.displayURL, attempts: 0)
        }
        if scheme == "http" && !Self.isLoopback(host: host) && !options.allowInsecureHTTP {
            throw HTTPError(kind: .refused("plain http:// is allowed only to loopback (127.0.0.0/8, ::1, localhost); use https:// or set insecure: true"),
                            method: request.method, url: request.displayURL, attempts: 0)
        }
        let policy = options.retry
        let retryStatuses = policy.retryStatuses.union(request.extraRetryStatuses)
        var attempt = 0
        while true {
            attempt += 1
            logger.debug("→ \(request.method) \(request.displayURL) (attempt \(attempt)/\(policy.maxAttempts)) headers: [\(request.redactedHeaders)] body: \(request.body?.count ?? 0) bytes")
            options.session?.willSend()
            let start = ContinuousClock.now
            let outcome = perform(request)
            let ms = Self.milliseconds(ContinuousClock.now - start)
            let canRetry = attempt < policy.maxAttempts
            switch outcome {
            case .success(var response):
                response.attempts = attempt
                logger.debug("← \(response.status) \(request.method) \(request.displayURL) in \(ms) ms (attempt \(attempt)/\(policy.maxAttempts)), \(response.body.count) bytes")
                guard canRetry, request.idempotent, retryStatuses.contains(response.status) else { return response }
                let after = response.headers["Retry-After"].flatMap { RetryPolicy.parseRetryAfter($0) }
                let wait = policy.delay(afterAttempt: attempt, retryAfter: after, jitter: jitter())
                logger.debug("   retrying \(request.method) \(request.displayURL) after HTTP \(response.status) in \(String(format: "%.2f", wait)) s\(after != nil ? " (Retry-After)" : "")")
                sleep(wait)
            case .failure(let code, let message):
                let msg = request.redact(message)
                logger.debug("✗ \(request.method) \(request.displayURL) failed in \(ms) ms (attempt \(attempt)/\(policy.maxAttempts)): \(msg)")
                // Connection refused/unreachable means nothing was sent: safe to repeat any request.
                let nothingSent = code == 7
                guard canRetry, Self.retryableCurlCodes.contains(code), request.idempotent || nothingSent else {
                    throw HTTPError(kind: .transport(code: code, message: msg), method: request.method,
                                    url: request.displayURL, attempts: attempt)
                }
                let wait = policy.delay(afterAttempt: attempt, retryAfter: nil, jitter: jitter())
                logger.debug("   retrying \(request.method) \(request.displayURL) in \(String(format: "%.2f", wait)) s")
                sleep(wait)
            }
        }
    }

    /// libcurl results worth another try: couldn't connect, timeout, empty reply, send/recv errors.
    static let retryableCurlCodes: Set<Int> = [7, 28, 52, 55, 56]

    /// A duration in whole milliseconds (rounded down), as the debug log shows timings.
    public static func milliseconds(_ d: Duration) -> Int {
        Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    // MARK: - libcurl

    private enum Outcome { case success(HTTPResponse), failure(code: Int, message: String) }

    /// Collects one response; passed to the C callbacks through their user-data pointer.
    private final class Sink {
        var body = Data()
        var headers = HTTPHeaders()
    }

    private func checkout() -> UnsafeMutableRawPointer? { Self.pool.take() ?? curl_easy_init() }
    private func checkin(_ h: UnsafeMutableRawPointer) { Self.pool.put(h) }

    /// The process-wide pool of idle easy handles (at most 16 kept; more are cleaned up).
    private final class HandlePool: @unchecked Sendable {
        private let lock = NSLock()
        private var idle: [UnsafeMutableRawPointer] = []
        private let maxIdle = 16
        func take() -> UnsafeMutableRawPointer? { lock.lock(); defer { lock.unlock() }; return idle.popLast() }
        func put(_ h: UnsafeMutableRawPointer) {
            lock.lock()
            if idle.count < maxIdle { idle.append(h); lock.unlock() } else { lock.unlock(); curl_easy_cleanup(h) }
        }
    }

    private func perform(_ request: HTTPRequest) -> Outcome {
        guard let h = checkout() else { return .failure(code: 2, message: "libcurl could not create a handle") }
        // reset clears options but keeps the handle's connection cache: keep-alive survives.
        curl_easy_reset(h)
        defer { checkin(h) }

        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var slist: UnsafeMutablePointer<curl_slist>? = nil
        var connectTo: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(slist); curl_slist_free_all(connectTo) }
        let sink = Sink()
        let sinkPtr = Unmanaged.passUnretained(sink).toOpaque()

        let code: CURLcode = errbuf.withUnsafeMutableBufferPointer { eb -> CURLcode in
            _ = mp_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            _ = mp_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = mp_curl_setopt_string(h, CURLOPT_URL, request.url.absoluteString)
            _ = mp_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "http,https")
            _ = mp_curl_setopt_long(h, CURLOPT_FOLLOWLOCATION, 0)
            _ = mp_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
            _ = mp_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 2)
            if let ca = options.caFile { _ = mp_curl_setopt_string(h, CURLOPT_CAINFO, ca) }
            if !options.connectTo.isEmpty {
                for c in options.connectTo { connectTo = curl_slist_append(connectTo, c) }
                _ = mp_curl_setopt_slist(h, CURLOPT_CONNECT_TO, connectTo)
            }
            _ = mp_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(options.connectTimeout * 1000))
            _ = mp_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int((request.timeout ?? options.totalTimeout) * 1000))
            _ = mp_curl_setopt_string(h, CURLOPT_USERAGENT, options.userAgent)
            _ = mp_curl_setopt_string(h, CURLOPT_ACCEPT_ENCODING, "") // any encoding libcurl can decode
            // libcurl re-sends a request by itself when a reused connection turns out to be
            // closed before any reply byte arrived. For a request that is not idempotent (a
            // POST that creates a record) the server may have done it already and only the
            // reply was lost, so such a request gets a connection of its own: a lost reply is
            // then an error the caller sees (outcome unknown), never a silent second write.
            _ = mp_curl_setopt_long(h, CURLOPT_FRESH_CONNECT, request.idempotent ? 0 : 1)
            if Self.isLoopback(host: request.url.host ?? "") {
                _ = mp_curl_setopt_string(h, CURLOPT_PROXY, "") // never proxy loopback
            }

            switch request.method {
            case .get: _ = mp_curl_setopt_long(h, CURLOPT_HTTPGET, 1)
            case .head: _ = mp_curl_setopt_long(h, CURLOPT_NOBODY, 1)
            default: _ = mp_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method.rawValue)
            }
            if let body = request.body {
                _ = mp_curl_setopt_off(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
                body.withUnsafeBytes { raw in
                    // COPYPOSTFIELDS copies the bytes, so they need not outlive this call.
                    _ = mp_curl_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                }
                if request.method != .post { _ = mp_curl_setopt_string(h, CURLOPT_CUSTOMREQUEST, request.method.rawValue) }
            }

            for f in request.headers { slist = curl_slist_append(slist, "\(f.name): \(f.value)") }
            slist = curl_slist_append(slist, "Expect:") // no 100-continue round trip
            _ = mp_curl_setopt_slist(h, CURLOPT_HTTPHEADER, slist)

            _ = mp_curl_setopt_write_cb(h, CURLOPT_WRITEFUNCTION, { ptr, size, n, ud in
                let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
                let count = size * n
                if let ptr, count > 0 { sink.body.append(UnsafeRawPointer(ptr).assumingMemoryBound(to: UInt8.self), count: count) }
                return count
            })
            _ = mp_curl_setopt_pointer(h, CURLOPT_WRITEDATA, sinkPtr)
            _ = mp_curl_setopt_write_cb(h, CURLOPT_HEADERFUNCTION, { ptr, size, n, ud in
                let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
                let count = size * n
                guard let ptr, count > 0 else { return count }
                let line = String(decoding: UnsafeRawBufferPointer(start: ptr, count: count), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if line.hasPrefix("HTTP/") { sink.headers = HTTPHeaders() } // a new response (e.g. after 100 Continue)
                else if let colon = line.firstIndex(of: ":") {
                    sink.headers.add(String(line[..<colon]).trimmingCharacters(in: .whitespaces),
                                     String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
                }
                return count
            })
            _ = mp_curl_setopt_pointer(h, CURLOPT_HEADERDATA, sinkPtr)
            let rc = withExtendedLifetime(sink) { curl_easy_perform(h) }
            _ = mp_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, nil)
            if connectTo != nil { _ = mp_curl_setopt_slist(h, CURLOPT_CONNECT_TO, nil) }  // the handle is reused
            return rc
        }

        guard code == CURLE_OK else {
            let detail = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)!) : detail
            return .failure(code: Int(code.rawValue), message: message)
        }
        var status = 0
        _ = mp_curl_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }
}
