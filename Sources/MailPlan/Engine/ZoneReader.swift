import Foundation

/// Reads zones ahead of the engine, at most `parallelism` at a time, and hands each zone's
/// live RRsets back in the order given (docs/architecture.md, "Streaming"). A zone's RRsets
/// are held only from the moment its read ends until ``next()`` hands them out, and reads run
/// at most a fixed window ahead, so memory holds a bounded number of zones, whatever the
/// number of zones.
final class ZoneReader: @unchecked Sendable {
    struct Job: @unchecked Sendable {
        let zone: DomainName
        let adapter: any DNSProvider
        let managed: [RRsetKey]
    }

    /// The number of zones, and how to build the job of the zone at a position: one closure
    /// for all of them, not one per zone (a closure's context is allocated, and at 10,000
    /// zones one per zone held 5.8 MB until the run ended).
    private let count: Int
    private let job: (Int) throws -> Job
    private let parallelism: Int
    /// The most zones read ahead of the one handed out last (read or being read).
    private let window: Int
    private let progress: (@Sendable (String) -> Void)?
    private let cond = NSCondition()
    private var slots: [Int: Result<[RRset], any Error>] = [:]
    private var started = 0
    private var running = 0
    private var handed = 0
    private var cancelled = false

    /// - Parameters:
    ///   - count: the number of zones.
    ///   - job: what to read for the zone at a position in 0..<count (called when its read
    ///     starts, in position order, with the reader locked).
    ///   - parallelism: the most reads at the same time (at least 1). Up to
    ///     max(4 × parallelism, 32) zones are read ahead of the zone being planned, so a slow
    ///     zone does not hold up the reads behind it, and memory stays bounded.
    ///   - progress: called as each read starts, e.g. `reading example.com. (1/3)`.
    init(count: Int, parallelism: Int, progress: (@Sendable (String) -> Void)?, job: @escaping (Int) throws -> Job) {
        self.count = count
        self.job = job
        self.parallelism = Swift.max(1, parallelism)
        self.window = Swift.max(4 * self.parallelism, 32)
        self.progress = progress
    }

    /// The live RRsets of the next zone, in the order of the jobs; keeps reads going.
    /// - Throws: what that zone's read threw (a failed read is never an empty zone).
    func next() throws -> [RRset] {
        cond.lock()
        fillLocked()
        let i = handed
        while slots[i] == nil { cond.wait() }
        let r = slots.removeValue(forKey: i)!
        handed += 1
        fillLocked()
        cond.unlock()
        return try r.get()
    }

    /// Starts no further read (the run ended, or stopped with an error); reads under way finish.
    func cancel() {
        cond.lock(); cancelled = true; cond.broadcast(); cond.unlock()
    }

    /// Starts reads while fewer than `parallelism` run and the window is not full. Called
    /// with `cond` locked.
    private func fillLocked() {
        while !cancelled && started < count && running < parallelism && started < handed + window {
            let i = started
            started += 1
            let total = count
            let job: Job
            do { job = try self.job(i) } catch {
                slots[i] = .failure(error); cond.broadcast(); continue
            }
            running += 1
            // A thread per read, not the GCD pool: reads block on I/O, and the pool is only
            // as wide as the CPU count on Linux. A read whose thread cannot be started fails
            // with that reason (the run stops there, as for any failed read).
            do {
                try startDetachedThread { [self] in
                    progress?("reading \(job.zone.fqdn) (\(i + 1)/\(total))")
                    let r = Result { try job.adapter.readZone(job.zone, managed: job.managed) }
                    cond.lock()
                    slots[i] = r
                    running -= 1
                    fillLocked()
                    cond.broadcast()
                    cond.unlock()
                }
            } catch {
                var e = error
                e.purpose = "to read zone \(job.zone.fqdn)"
                running -= 1
                slots[i] = .failure(e)
                cond.broadcast()
            }
        }
    }
}
