import Foundation
import MailPlan
import XCTest

/// A clock that only moves when the bucket sleeps, recording each wait.
private final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Double = 1000
    private var _waits: [Double] = []
    var waits: [Double] { lock.lock(); defer { lock.unlock() }; return _waits }
    var now: Double { lock.lock(); defer { lock.unlock() }; return t }
    func advance(_ s: Double) { lock.lock(); t += s; lock.unlock() }
    func sleep(_ s: Double) { lock.lock(); _waits.append(s); t += s; lock.unlock() }
    func bucket(_ windows: [RateWindow], guardFraction: Double = 0) -> TokenBucket {
        TokenBucket(windows, guardFraction: guardFraction, now: { [self] in now }, sleep: { [self] in sleep($0) })
    }
}

final class TokenBucketTests: XCTestCase {
    func testBurstThenOneTokenPerWindowSlot() {
        let c = FakeClock()
        let b = c.bucket([RateWindow(3, per: 1)])
        for _ in 0..<3 { b.acquire() }
        XCTAssertEqual(c.waits, [])
        b.acquire()                                  // the token taken at 1000 is back at 1001
        XCTAssertEqual(c.waits, [1])
        c.advance(0.5)                               // now 1001.5: tokens of 1000 are back
        b.acquire(); b.acquire()
        XCTAssertEqual(c.waits, [1])
        b.acquire()                                  // the oldest of the last three was sent at 1001
        XCTAssertEqual(c.waits, [1, 0.5])
    }

    func testEveryWindowIsKeptAtOnce() {
        let c = FakeClock()
        // 2 per second and 3 per 10 seconds: the third request waits a second, the fourth
        // ten seconds after the first.
        let b = c.bucket([RateWindow(2, per: 1), RateWindow(3, per: 10)])
        for _ in 0..<4 { b.acquire() }
        XCTAssertEqual(c.waits, [1, 9])
        XCTAssertEqual(c.now, 1010)
    }

    func testReservationsQueueInOrderWithoutSleeping() {
        let c = FakeClock()
        let b = c.bucket([RateWindow(2, per: 4)])
        XCTAssertEqual((0..<6).map { _ in b.reserve() }, [0, 0, 4, 4, 8, 8])
        XCTAssertEqual(c.waits, [])
    }

    func testGuardIntervalLengthensTheWindow() {
        let c = FakeClock()
        let b = c.bucket([RateWindow(1, per: 2)], guardFraction: 0.25)
        XCTAssertEqual(b.guardInterval, [0.5])
        b.acquire(); b.acquire()
        XCTAssertEqual(c.waits, [2.5])
        // The default guard is 5 % of the window, at most one second.
        XCTAssertEqual(TokenBucket([RateWindow(1200, per: 300), RateWindow(10, per: 1)]).guardInterval, [1, 0.05])
    }

    func testNoWindowsNeverWaits() {
        let c = FakeClock()
        let b = c.bucket([])
        for _ in 0..<100 { b.acquire() }
        XCTAssertEqual(c.waits, [])
    }

    func testConcurrentCallersNeverExceedTheWindow() {
        let c = FakeClock()
        let b = c.bucket([RateWindow(5, per: 1)])
        final class Waits: @unchecked Sendable { let lock = NSLock(); var all: [Double] = [] }
        let reserved = Waits()
        DispatchQueue.concurrentPerform(iterations: 40) { _ in
            let w = b.reserve()
            reserved.lock.lock(); reserved.all.append(w); reserved.lock.unlock()
        }
        // The clock does not move: 5 requests at each whole second 0…7.
        XCTAssertEqual(reserved.all.sorted(), (0..<8).flatMap { s in Array(repeating: Double(s), count: 5) })
    }

    func testSessionInstallsTheDeclaredLimitOnceAndPacesZoneWrites() throws {
        let s = ProviderSession()
        s.pace(nil)
        XCTAssertNil(s.pacer)
        let limit = RateLimit([RateWindow(7, per: 60)], zoneWrites: [RateWindow(2, per: 1)])
        s.pace(limit)
        XCTAssertEqual((s.pacer as? TokenBucket)?.windows, [RateWindow(7, per: 60)])
        s.pace(RateLimit([RateWindow(1, per: 1)]))   // the first adapter's pacer stays
        XCTAssertEqual((s.pacer as? TokenBucket)?.windows, [RateWindow(7, per: 60)])
        // Writes are paced per zone: one bucket per zone, of the per-zone budgets.
        let a = try DomainName("a.example"), b = try DomainName("b.example")
        let pa = s.zoneWritePacer(a, limit)
        XCTAssertEqual(pa?.windows, [RateWindow(2, per: 1)])
        XCTAssertTrue(pa === s.zoneWritePacer(a, limit))
        XCTAssertFalse(pa === s.zoneWritePacer(b, limit))
        XCTAssertNil(ProviderSession().zoneWritePacer(a, RateLimit([RateWindow(1, per: 1)])))
        s.awaitZoneWrite(a, limit)                   // the first of its two tokens
        XCTAssertEqual(pa?.reserve(), 0)             // the second is free at once
        XCTAssertEqual(RateWindow(1200, per: 300).description, "1200/300s")
        XCTAssertEqual(RateWindow(3, per: 0.5).description, "3/0.5s")
    }
}
