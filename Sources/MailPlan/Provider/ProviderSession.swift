import Foundation

/// Paces the requests sent to one provider instance (a token bucket, see ``TokenBucket``).
public protocol RequestPacer: AnyObject, Sendable {
    /// Blocks the calling thread until one more request may be sent.
    func acquire()
}

/// What one run shares between every adapter instance built from one plan-file provider entry
/// (the engine builds an adapter per zone, so zones can be read concurrently): the count of
/// requests sent, the pacer that keeps them under the provider's documented rate limit, and
/// values computed once per run, such as the listing of every zone of the account.
///
/// One session belongs to one ``ProviderConfig`` (copies of the config share it), so a run
/// that loads its plan once counts and paces per provider instance. Thread-safe.
public final class ProviderSession: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    private var pacerStorage: (any RequestPacer)?
    private var memos: [String: Memo] = [:]
    private var planned = 0

    public init() {}

    /// How many zones of this provider instance the run reads (set by the engine before the
    /// first read): an adapter lists every zone of the account in one paged listing when that
    /// costs fewer requests than looking up each zone alone.
    public var plannedZoneCount: Int {
        get { lock.lock(); defer { lock.unlock() }; return planned }
        set { lock.lock(); planned = newValue; lock.unlock() }
    }

    /// Requests sent so far (HTTP requests, every retry counted; DNS messages for RFC 2136).
    public var requests: Int { lock.lock(); defer { lock.unlock() }; return count }

    /// The pacer every request of this provider instance waits on, once set.
    public var pacer: (any RequestPacer)? {
        get { lock.lock(); defer { lock.unlock() }; return pacerStorage }
    }

    /// Installs the pacer unless one is installed already (the first adapter instance of a run
    /// sets it; the others share it).
    /// - Returns: the pacer in use.
    @discardableResult
    public func installPacer(_ make: () -> any RequestPacer) -> any RequestPacer {
        lock.lock(); defer { lock.unlock() }
        if let p = pacerStorage { return p }
        let p = make()
        pacerStorage = p
        return p
    }

    /// Called just before a request goes on the wire: waits for the pacer, then counts it.
    public func willSend() {
        pacer?.acquire()
        lock.lock(); count += 1; lock.unlock()
    }

    /// Counts `n` requests sent outside ``willSend()`` (e.g. DNS messages).
    public func record(_ n: Int = 1) {
        lock.lock(); count += n; lock.unlock()
    }

    /// The value stored under `key`, made by `make` the first time it is asked for; a
    /// concurrent caller waits for that first computation instead of making its own. A
    /// `make` that throws stores nothing: the next caller tries again.
    /// - Throws: what `make` throws.
    public func shared<T>(_ key: String, _ make: () throws -> T) throws -> T {
        let memo: Memo
        lock.lock()
        if let m = memos[key] { memo = m } else { memo = Memo(); memos[key] = memo }
        lock.unlock()
        memo.lock.lock(); defer { memo.lock.unlock() }
        if memo.made, let v = memo.value as? T { return v }
        let v = try make()
        memo.value = v
        memo.made = true
        return v
    }

    private final class Memo {
        let lock = NSLock()
        /// Set once `value` holds a made value (which may itself be an Optional's nil).
        var made = false
        var value: Any?
    }
}
