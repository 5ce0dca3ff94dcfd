import Foundation
import XCTest
@testable import MailPlan

/// The two-thread pipeline the plan loader reads `domains:` items with: every value consumed,
/// in the order sent, on the second thread; the sender held back once the queue is full;
/// cancel drops what waits.
final class BackgroundStageTests: XCTestCase {
    /// A box the consumer writes and the test reads after finish() (which waits for it).
    final class Seen: @unchecked Sendable {
        var values: [Int] = []
        var threads: Set<String> = []
    }

    func testEveryValueIsConsumedInOrderOnTheSecondThread() {
        let seen = Seen()
        let stage = BackgroundStage<Int>(batchSize: 7, capacity: 2) { v in
            seen.values.append(v)
            seen.threads.insert(Thread.isMainThread ? "main" : "\(Unmanaged.passUnretained(Thread.current).toOpaque())")
        }
        for v in 0..<1000 { stage.send(v) }
        stage.finish()
        XCTAssertEqual(seen.values, Array(0..<1000))
        XCTAssertEqual(seen.threads.count, 1)
        XCTAssertFalse(seen.threads.contains("main"))
    }

    /// Without a second thread (none could be started) each value is consumed on the
    /// sender's thread as it is sent, in order; finish and cancel return at once.
    func testWithoutASecondThreadValuesAreConsumedAsSent() {
        let seen = Seen()
        let stage = BackgroundStage<Int>(batchSize: 4, capacity: 1, startThread: false) { v in
            seen.values.append(v)
            seen.threads.insert(Thread.isMainThread ? "main" : "other")
        }
        XCTAssertTrue(stage.inline)
        for v in 0..<10 {
            stage.send(v)
            XCTAssertEqual(seen.values.last, v)
        }
        stage.finish()
        stage.cancel()
        XCTAssertEqual(seen.values, Array(0..<10))
        XCTAssertEqual(seen.threads, ["main"])
    }

    func testFinishWithNothingSentReturns() {
        let seen = Seen()
        let stage = BackgroundStage<Int> { seen.values.append($0) }
        stage.finish()
        XCTAssertEqual(seen.values, [])
    }

    /// With the consumer stuck on its first value, the sender gets exactly
    /// batchSize × (capacity + 2) − 1 values out (one batch taken, `capacity` queued, one
    /// short of a full batch pending) and the next send waits.
    func testTheSenderWaitsWhenTheQueueIsFull() {
        let release = DispatchSemaphore(value: 0)
        let seen = Seen()
        let stage = BackgroundStage<Int>(batchSize: 4, capacity: 2) { v in
            if v == 0 { release.wait() }
            seen.values.append(v)
        }
        final class Count: @unchecked Sendable { let lock = NSLock(); var n = 0 }
        let sent = Count()
        let done = DispatchSemaphore(value: 0)
        let sender = Thread {
            for v in 0..<100 {
                stage.send(v)
                sent.lock.lock(); sent.n += 1; sent.lock.unlock()
            }
            stage.finish()
            done.signal()
        }
        sender.start()
        let deadline = Date().addingTimeInterval(10)
        func count() -> Int { sent.lock.lock(); defer { sent.lock.unlock() }; return sent.n }
        while count() < 15 && Date() < deadline { usleep(1000) }
        usleep(200_000)
        XCTAssertEqual(count(), 15)
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(seen.values, Array(0..<100))
    }

    /// cancel() drops the values still queued or pending and returns once the second thread
    /// has ended; the value being consumed is consumed to the end.
    func testCancelDropsWhatWaits() {
        let release = DispatchSemaphore(value: 0), started = DispatchSemaphore(value: 0)
        let seen = Seen()
        let stage = BackgroundStage<Int>(batchSize: 1, capacity: 8) { v in
            if v == 0 { started.signal(); release.wait() }
            seen.values.append(v)
        }
        for v in 0..<5 { stage.send(v) }
        XCTAssertEqual(started.wait(timeout: .now() + 10), .success)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { release.signal() }
        stage.cancel()
        XCTAssertEqual(seen.values, [0])
    }
}
