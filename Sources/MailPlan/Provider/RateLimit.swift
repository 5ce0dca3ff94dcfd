import Foundation

/// One documented request budget: at most ``requests`` requests in any ``seconds``-long window.
public struct RateWindow: Sendable, Hashable, CustomStringConvertible {
    /// Requests allowed per window (at least 1).
    public let requests: Int
    /// The window's length in seconds (more than 0).
    public let seconds: Double
    /// - Parameters: `requests` per `seconds`; values below 1 request or 1 ms are raised to them.
    public init(_ requests: Int, per seconds: Double) {
        self.requests = max(1, requests); self.seconds = max(0.001, seconds)
    }
    /// E.g. `1200/300s`.
    public var description: String {
        "\(requests)/" + (seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)) + "s"
    }
}

/// A provider's documented rate limit, declared in its ``ProviderCapabilities`` and enforced
/// by a ``TokenBucket`` on the provider instance's ``ProviderSession``.
public struct RateLimit: Sendable, Hashable {
    /// Budgets every request counts against, all enforced at once (DigitalOcean: 250 per
    /// minute and 5,000 per hour).
    public var requests: [RateWindow]
    /// Budgets the writes to one zone count against, each zone on its own (deSEC's
    /// `dns_api_per_domain_expensive`: RRset writes per domain). Empty: none documented.
    public var zoneWrites: [RateWindow]

    public init(_ requests: [RateWindow], zoneWrites: [RateWindow] = []) {
        self.requests = requests; self.zoneWrites = zoneWrites
    }
}

/// Paces requests so that no window of a ``RateWindow`` ever holds more than its requests:
/// a bucket of `requests` tokens per window, where a token taken at time t comes back at
/// t + `seconds` + the guard interval (the sliding-window rule deSEC documents; a client that
/// keeps it also keeps a fixed-window or a refilling-bucket limit of the same figures). The
/// first `requests` requests go at once; later ones wait for the oldest token. Several
/// windows are kept together: a request waits until every one has a token.
///
/// Thread-safe: concurrent callers are served in the order they asked, each reserving its
/// send time before it sleeps. The clock and the sleep are injectable, so tests can assert
/// exact waits without waiting.
public final class TokenBucket: RequestPacer, @unchecked Sendable {
    /// The windows kept, as given.
    public let windows: [RateWindow]
    /// Seconds added to each window before a token comes back, so that requests delayed on
    /// their way (scheduling, the network) still land inside the server's budget.
    public let guardInterval: [Double]
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) -> Void
    private let lock = NSLock()
    /// Per window, the send times of the last `requests` tokens taken, oldest first.
    private var taken: [[Double]]
    private var head: [Int]

    /// - Parameters:
    ///   - windows: the budgets to keep (an empty list never waits).
    ///   - guardFraction: each window is lengthened by this fraction of itself, at most
    ///     `maxGuard` seconds (defaults: 5 %, 1 s).
    ///   - now: a monotonic clock in seconds; `sleep`: waits that many seconds.
    public init(_ windows: [RateWindow], guardFraction: Double = 0.05, maxGuard: Double = 1,
                now: @escaping @Sendable () -> Double = { ProcessInfo.processInfo.systemUptime },
                sleep: @escaping @Sendable (Double) -> Void = { Thread.sleep(forTimeInterval: $0) }) {
        self.windows = windows
        self.guardInterval = windows.map { min(max(0, guardFraction) * $0.seconds, max(0, maxGuard)) }
        self.now = now; self.sleep = sleep
        taken = windows.map { _ in [] }
        head = windows.map { _ in 0 }
    }

    /// A bucket for every request of a provider with `limit` (``RateLimit/requests``).
    public convenience init(_ limit: RateLimit) { self.init(limit.requests) }

    /// Reserves the next send time and returns how many seconds the caller must wait for it
    /// (0 when a token is free in every window). ``acquire()`` is this plus the sleep.
    public func reserve() -> Double {
        lock.lock(); defer { lock.unlock() }
        let t = now()
        var at = t
        for (i, w) in windows.enumerated() where taken[i].count == w.requests {
            at = max(at, taken[i][head[i]] + w.seconds + guardInterval[i])
        }
        for (i, w) in windows.enumerated() {
            if taken[i].count < w.requests { taken[i].append(at) } else {
                taken[i][head[i]] = at
                head[i] = (head[i] + 1) % w.requests
            }
        }
        return at - t
    }

    /// Blocks until one more request may be sent.
    public func acquire() {
        let wait = reserve()
        if wait > 0 { sleep(wait) }
    }
}

extension ProviderSession {
    /// Installs a ``TokenBucket`` for `limit`'s request budgets as this session's pacer,
    /// unless a pacer is installed already (the first adapter instance of a run sets it; a
    /// test may install a scaled-down one before). Nothing when `limit` is nil.
    public func pace(_ limit: RateLimit?) {
        guard let limit, !limit.requests.isEmpty else { return }
        installPacer { TokenBucket(limit) }
    }

    /// The bucket of `limit`'s per-zone write budgets (``RateLimit/zoneWrites``) for `zone`:
    /// one per zone per run, made the first time it is asked for; nil when there are none.
    public func zoneWritePacer(_ zone: DomainName, _ limit: RateLimit?) -> TokenBucket? {
        guard let limit, !limit.zoneWrites.isEmpty else { return nil }
        return try? shared("zone-write-pacer " + zone.fqdn) { TokenBucket(limit.zoneWrites) }
    }

    /// Waits until one more write to `zone` fits `limit`'s per-zone budgets
    /// (``zoneWritePacer(_:_:)``). Returns at once when there are none.
    public func awaitZoneWrite(_ zone: DomainName, _ limit: RateLimit?) {
        zoneWritePacer(zone, limit)?.acquire()
    }
}
