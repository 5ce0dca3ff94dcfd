import Foundation

/// Writes zones' Changesets while the engine goes on reading and planning later zones
/// (docs/architecture.md, "Pipelined apply"). Per provider instance at most
/// ``ProviderCapabilities/writeConcurrency`` zones are written at the same time; a zone's own
/// changes keep their order (add before remove) because one adapter call writes them all.
/// After the first zone that fails, no further zone is started: the zones submitted after it
/// are reported as not attempted. A zone refused because it changed since the plan (compare
/// before write) does not stop the others.
final class ZoneWriter: @unchecked Sendable {
    /// Writes one zone; runs on a writer thread. `stops`: the outcome stops further zones (a
    /// failure; a zone refused because it changed since the plan does not stop the others).
    typealias Write = @Sendable (ZoneChangeset, any DNSProvider) -> (outcome: ApplyReport.ZoneOutcome, stops: Bool)
    typealias Adapter = Result<any DNSProvider, any Error>

    private let write: Write
    private let lock = NSCondition()
    private var outcomes: [ApplyReport.ZoneOutcome?] = []
    private var queues: [String: Queue] = [:]
    private var running = 0
    /// Why zones submitted from ``stopFrom`` on are not started (a gate, planning stopped).
    private var stopReason: String?
    private var stopFrom = 0
    /// The first zone that failed: no zone not started yet is started after it.
    private var failure: String?
    /// Called (on a writer thread) once a zone's outcome is recorded.
    private let done: @Sendable (ZoneChangeset) -> Void
    /// Starts a writer thread running the closure it is given, or throws why it could not.
    typealias ThreadStarter = (@escaping () -> Void) throws(ThreadStartError) -> Void
    private let startThread: ThreadStarter

    private final class Queue: @unchecked Sendable {
        var pending: [(index: Int, changeset: ZoneChangeset, adapter: Adapter)] = []
        var workers = 0
        var limit: Int
        init(limit: Int) { self.limit = limit }
    }

    /// - Parameters:
    ///   - write: writes one zone.
    ///   - done: called once a zone's outcome is recorded (the engine lets go of its adapter).
    ///   - startThread: starts a writer thread; ``startDetachedThread(stackSize:_:)`` unless a
    ///     test makes it fail.
    init(write: @escaping Write, done: @escaping @Sendable (ZoneChangeset) -> Void = { _ in },
         startThread: @escaping ThreadStarter = { body throws(ThreadStartError) in try startDetachedThread(body) }) {
        self.write = write; self.done = done; self.startThread = startThread
    }

    /// Why a zone submitted now would not be started, or nil.
    private var blockedLocked: String? { failure ?? stopReason }

    /// Stops the zones submitted from now on (a safety gate refused the next zone, or
    /// planning stopped): they are reported as not attempted, with `reason`. The zones
    /// submitted before are still written, so what is applied does not depend on timing.
    func stop(_ reason: String) {
        lock.lock()
        if stopReason == nil { stopReason = reason; stopFrom = outcomes.count }
        lock.unlock()
    }

    /// Queues `cs` for writing through `adapter` (the instance that read the zone, or why it
    /// could not be built: then the zone fails with that error). The zone is written as soon
    /// as its provider instance has a free write slot. When writing has already stopped, the
    /// zone is recorded as not attempted and `adapter` is not asked for.
    func submit(_ cs: ZoneChangeset, adapter makeAdapter: () -> Adapter) {
        lock.lock()
        let i = outcomes.count
        if let why = blockedLocked {
            outcomes.append(.init(changeset: cs, applied: [], failed: [], notAttempted: cs.changes, error: "not attempted: \(why)"))
            lock.unlock()
            return
        }
        lock.unlock()
        let adapter = makeAdapter()
        lock.lock()
        outcomes.append(nil)
        let limit = (try? adapter.get().capabilities.writeConcurrency) ?? 1
        let q = queues[cs.provider] ?? Queue(limit: Swift.max(1, limit))
        q.limit = Swift.max(q.limit, limit)
        queues[cs.provider] = q
        q.pending.append((i, cs, adapter))
        if q.workers < q.limit {
            q.workers += 1
            running += 1
            do {
                try startThread { [self] in work(q) }
            } catch {
                q.workers -= 1
                running -= 1
                // No writer for this provider at all: the zones waiting for one are not
                // written, and nothing after them is started (a failure, as for a failed write).
                if q.workers == 0 {
                    var e = error
                    e.purpose = "to write zone \(cs.zone.fqdn)"
                    let reason = "\(e)"
                    for job in q.pending {
                        outcomes[job.index] = .init(changeset: job.changeset, applied: [], failed: [], notAttempted: job.changeset.changes,
                                                    error: "not attempted: \(reason)")
                    }
                    q.pending.removeAll()
                    if failure == nil { failure = reason }
                }
            }
        }
        lock.unlock()
    }

    private func work(_ q: Queue) {
        lock.lock()
        while !q.pending.isEmpty {
            let job = q.pending.removeFirst()
            if let why = failure ?? (job.index >= stopFrom ? stopReason : nil) {
                outcomes[job.index] = .init(changeset: job.changeset, applied: [], failed: [], notAttempted: job.changeset.changes,
                                            error: "not attempted: \(why)")
                continue
            }
            lock.unlock()
            let o: (outcome: ApplyReport.ZoneOutcome, stops: Bool)
            switch job.adapter {
            case .success(let adapter): o = write(job.changeset, adapter)
            case .failure(let error): o = (.init(changeset: job.changeset, applied: [], failed: job.changeset.changes, notAttempted: [], error: "\(error)"), true)
            }
            done(job.changeset)
            lock.lock()
            outcomes[job.index] = o.outcome
            // A failure stops every zone not started yet, whatever stopped before.
            if o.stops && o.outcome.error != nil && failure == nil { failure = "zone \(job.changeset.zone.fqdn) failed" }
        }
        q.workers -= 1
        running -= 1
        lock.broadcast()
        lock.unlock()
    }

    /// Waits for every submitted zone and returns their outcomes in submission order.
    func finish() -> [ApplyReport.ZoneOutcome] {
        lock.lock(); defer { lock.unlock() }
        while running > 0 { lock.wait() }
        return outcomes.map { $0! }
    }
}

/// A progress callback the writer threads may call: one call at a time, so a caller's
/// closure (printing, or appending to an array in a test) needs no locking of its own.
final class SerialProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let body: (String) -> Void
    init(_ body: @escaping (String) -> Void) { self.body = body }
    func call(_ line: String) { lock.lock(); body(line); lock.unlock() }
}

/// A value handed to another thread that the code there uses only in ways that are safe
/// (documented at each use).
struct Unchecked<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
