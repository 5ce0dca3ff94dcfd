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
/// memory stays bounded however many values pass.
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

    /// Starts the second thread (8 MiB of stack, as a main thread has).
    /// - Parameters:
    ///   - batchSize: values handed over at a time (at least 1): one lock per batch.
    ///   - capacity: batches waiting at most (at least 1).
    ///   - consume: called on the second thread with each value, in the order sent.
    init(batchSize: Int = 32, capacity: Int = 8, consume: @escaping (Value) -> Void) {
        self.batchSize = max(1, batchSize)
        self.capacity = max(1, capacity)
        self.consume = consume
        pending.reserveCapacity(self.batchSize)
        let thread = Thread { [self] in run() }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Hands `value` to the consumer (with the next full batch). Called by one thread only.
    func send(_ value: Value) {
        pending.append(value)
        if pending.count >= batchSize { handOver() }
    }

    /// Hands over what is left and waits until the consumer has consumed every value sent.
    func finish() {
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
