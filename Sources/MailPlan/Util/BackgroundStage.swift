import Foundation

/// A two-stage pipeline: values sent by one thread are consumed, in the order sent, on a
/// second thread while the sender goes on. The plan loader composes the `domains:` items
/// (libyaml and ``YAMLComposer``) on the calling thread and reads each into a ``DomainPlan``
/// here (docs/architecture.md, "Streaming").
///
/// The consumer is the only code that runs on the second thread, and the sender touches what
/// the consumer changes only after ``finish()`` or ``cancel()`` returned: both wait for the
/// second thread to end, and every hand-over passes a lock, so the consumer's writes are seen.
/// At most `capacity` batches of `batchSize` values wait at a time (the sender then waits), so
/// memory stays bounded however many values pass. When no thread can be started (a process
/// limit, RLIMIT_NPROC or address space), each value is consumed on the sender's thread as it
/// is sent: the same values in the same order, only without the overlap.
final class BackgroundStage<Value>: @unchecked Sendable {
    private let cond = NSCondition()
    private var queue: [[Value]] = []
    private var closed = false
    private var cancelled = false
    private var ended = false
    /// Values sent but not handed over yet (the sender's own).
    private var pending: [Value] = []
    private let batchSize: Int
    private let capacity: Int
    private let consume: (Value) -> Void
    /// No second thread could be started: values are consumed as they are sent.
    private(set) var inline = false

    /// Starts the second thread (8 MiB of stack, as a main thread has).
    /// - Parameters:
    ///   - batchSize: values handed over at a time (at least 1): one lock per batch.
    ///   - capacity: batches waiting at most (at least 1).
    ///   - startThread: false consumes on the sender's thread, as when no thread can be
    ///     started (for tests).
    ///   - consume: called on the second thread with each value, in the order sent.
    init(batchSize: Int = 32, capacity: Int = 8, startThread: Bool = true, consume: @escaping (Value) -> Void) {
        self.batchSize = max(1, batchSize)
        self.capacity = max(1, capacity)
        self.consume = consume
        pending.reserveCapacity(self.batchSize)
        // pthread_create, not Foundation's Thread: Thread.start() gives no sign when the thread
        // cannot be created, and finish() would then wait for it forever.
        inline = !startThread || (try? startDetachedThread(stackSize: 8 << 20) { [self] in run() }) == nil
    }

    /// Hands `value` to the consumer (with the next full batch). Called by one thread only.
    func send(_ value: Value) {
        if inline { consume(value); return }
        pending.append(value)
        if pending.count >= batchSize { handOver() }
    }

    /// Hands over what is left and waits until the consumer has consumed every value sent.
    func finish() {
        if inline { return }
        if !pending.isEmpty { handOver() }
        cond.lock()
        closed = true
        cond.broadcast()
        while !ended { cond.wait() }
        cond.unlock()
    }

    /// Drops the values not consumed yet and waits until the second thread has ended (the
    /// value it is consuming, if any, is consumed to the end).
    func cancel() {
        if inline { return }
        pending.removeAll()
        cond.lock()
        cancelled = true
        closed = true
        queue.removeAll()
        cond.broadcast()
        while !ended { cond.wait() }
        cond.unlock()
    }

    private func handOver() {
        let batch = pending
        pending = []
        pending.reserveCapacity(batchSize)
        cond.lock()
        while queue.count >= capacity && !cancelled { cond.wait() }
        if !cancelled { queue.append(batch) }
        cond.broadcast()
        cond.unlock()
    }

    private func run() {
        while true {
            cond.lock()
            while queue.isEmpty && !closed { cond.wait() }
            if queue.isEmpty || cancelled {
                ended = true
                cond.broadcast()
                cond.unlock()
                return
            }
            let batch = queue.removeFirst()
            cond.broadcast()
            cond.unlock()
            for v in batch {
                consume(v)
            }
        }
    }
}
