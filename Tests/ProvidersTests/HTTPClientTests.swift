import Foundation
import Logging
import MailPlan
import XCTest
@testable import MailPlanTestSupport

final class HTTPClientTests: XCTestCase {
    func client(_ rec: SleepRecorder, retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "mailplan.http"),
                insecure: Bool = false) -> HTTPClient {
        HTTPClient(options: HTTPClientOptions(connectTimeout: 2, totalTimeout: 5, allowInsecureHTTP: insecure, retry: retry),
                   logger: logger, sleep: rec.sleep, jitter: { 1.0 })
    }

    func testGetReturnsStatusHeadersBodyAndReusesOneConnection() throws {
        let server = try FakeHTTPServer { req, _ in .init(200, headers: ["X-Thing": "yes", "Content-Type": "application/json"], "{\"path\":\"\(req.path)\"}") }
        defer { server.stop() }
        let c = client(SleepRecorder())
        for i in 0..<3 {
            let r = try c.send(HTTPRequest(.get, URL(string: "\(server.url)/p\(i)")!, headers: ["Accept": "application/json"]))
            XCTAssertEqual(r.status, 200)
            XCTAssertEqual(r.headers["x-thing"], "yes")          // case-insensitive
            XCTAssertEqual(r.headers["CONTENT-TYPE"], "application/json")
            XCTAssertEqual(r.text, "{\"path\":\"/p\(i)\"}")
            XCTAssertEqual(r.attempts, 1)
        }
        XCTAssertEqual(server.connections, 1, "keep-alive: one connection for three requests")
        XCTAssertEqual(server.requests.first?.headers["accept"], "application/json")
    }

    func testPatchSendsBodyAndMethod() throws {
        let server = try FakeHTTPServer { req, _ in .init(204) }
        defer { server.stop() }
        let body = Data("{\"rrsets\":[]}".utf8)
        let r = try client(SleepRecorder()).send(HTTPRequest(.patch, URL(string: server.url + "/z")!,
                                                             headers: ["Content-Type": "application/json"], body: body))
        XCTAssertEqual(r.status, 204)
        XCTAssertEqual(server.requests[0].method, "PATCH")
        XCTAssertEqual(server.requests[0].body, body)
        XCTAssertNil(server.requests[0].headers["expect"])
    }

    func testRetriesOn503HonouringRetryAfterSeconds() throws {
        let server = try FakeHTTPServer { _, i in i < 2 ? .init(503, headers: ["Retry-After": "7"], "busy") : .init(200, "ok") }
        defer { server.stop() }
        let rec = SleepRecorder()
        let r = try client(rec).send(HTTPRequest(.get, URL(string: server.url)!))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.attempts, 3)
        XCTAssertEqual(rec.waits, [7, 7])
    }

    func testRetryAfterHTTPDateAndCap() throws {
        let date = Date().addingTimeInterval(3600)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let server = try FakeHTTPServer { _, i in i == 0 ? .init(429, headers: ["retry-after": f.string(from: date)]) : .init(200) }
        defer { server.stop() }
        let rec = SleepRecorder()
        let r = try client(rec, retry: RetryPolicy(maxDelay: 30)).send(HTTPRequest(.get, URL(string: server.url)!))
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(rec.waits, [30], "an hour's Retry-After is capped at maxDelay")
    }

    func testExponentialBackoffAndExhaustionReturnsLastResponse() throws {
        let server = try FakeHTTPServer { _, _ in .init(502, "bad gateway") }
        defer { server.stop() }
        let rec = SleepRecorder()
        let r = try client(rec, retry: RetryPolicy(maxAttempts: 4, baseDelay: 1, maxDelay: 3)).send(HTTPRequest(.get, URL(string: server.url)!))
        XCTAssertEqual(r.status, 502)
        XCTAssertEqual(r.attempts, 4)
        XCTAssertEqual(server.requests.count, 4)
        XCTAssertEqual(rec.waits, [1, 2, 3]) // jitter 1.0 = full delay; capped at 3
        let e = HTTPError(request: HTTPRequest(.get, URL(string: server.url)!), response: r)
        XCTAssertEqual(e.description, "GET \(server.url) returned HTTP 502 after 4 attempts: bad gateway")
    }

    func testNonIdempotentIsNotRetriedUnlessMarked() throws {
        let server = try FakeHTTPServer { _, _ in .init(503) }
        defer { server.stop() }
        let rec = SleepRecorder()
        let c = client(rec, retry: RetryPolicy(maxAttempts: 3))
        XCTAssertEqual(try c.send(HTTPRequest(.post, URL(string: server.url)!, body: Data("x".utf8))).attempts, 1)
        XCTAssertEqual(try c.send(HTTPRequest(.patch, URL(string: server.url)!, body: Data("x".utf8))).attempts, 1)
        XCTAssertEqual(try c.send(HTTPRequest(.patch, URL(string: server.url)!, body: Data("x".utf8), idempotent: true)).attempts, 3)
        XCTAssertEqual(server.requests.count, 5)
    }

    func testExtraRetryStatusesOnlyForThatRequest() throws {
        let server = try FakeHTTPServer { _, i in (i == 0 || i == 2) ? .init(500) : .init(204) }
        defer { server.stop() }
        let c = client(SleepRecorder())
        XCTAssertEqual(try c.send(HTTPRequest(.patch, URL(string: server.url)!, idempotent: true, extraRetryStatuses: [500])).status, 204)
        XCTAssertEqual(try c.send(HTTPRequest(.get, URL(string: server.url)!)).status, 500, "500 is not retried by default")
    }

    func testConnectionRefusedIsRetriedThenThrows() throws {
        // A port that was just free: bind, read the port, close.
        let s = try FakeHTTPServer { _, _ in .init(200) }
        let url = URL(string: s.url)!
        s.stop()
        let rec = SleepRecorder()
        XCTAssertThrowsError(try client(rec, retry: RetryPolicy(maxAttempts: 3, baseDelay: 0.1)).send(HTTPRequest(.get, url))) { e in
            let he = e as! HTTPError
            XCTAssertEqual(he.attempts, 3)
            XCTAssertNil(he.status)
            XCTAssertTrue(he.description.hasPrefix("GET \(url.absoluteString) failed after 3 attempts:"), he.description)
        }
        XCTAssertEqual(rec.waits.count, 2)
    }

    func testPlainHTTPOnlyToLoopback() throws {
        let rec = SleepRecorder()
        XCTAssertThrowsError(try client(rec).send(HTTPRequest(.get, URL(string: "http://dns.example.com/api")!))) { e in
            guard case .refused = (e as! HTTPError).kind else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("loopback"))
        }
        XCTAssertThrowsError(try client(rec).send(HTTPRequest(.get, URL(string: "ftp://127.0.0.1/x")!)))
        for h in ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "LOCALHOST"] { XCTAssertTrue(HTTPClient.isLoopback(host: h), h) }
        for h in ["128.0.0.1", "127.0.0.1.example.com", "example.com", "::2", "10.0.0.1"] { XCTAssertFalse(HTTPClient.isLoopback(host: h), h) }
    }

    func testSecretsNeverInDebugLogOrErrors() throws {
        let key = "s3cr3t-API-key-0123456789"
        let token = "tok-abcdefghijklmnop"
        // The server even echoes the key in its error body.
        let server = try FakeHTTPServer { req, _ in .init(503, "denied for key \(req.headers["x-api-key"] ?? "") and \(token)") }
        defer { server.stop() }
        let capture = LogCapture()
        let c = client(SleepRecorder(), retry: RetryPolicy(maxAttempts: 2), logger: capture.logger())
        let req = HTTPRequest(.get, URL(string: server.url + "/api/v1/servers/localhost/zones/example.com.")!,
                              headers: ["X-API-Key": key, "Authorization": "Bearer \(token)", "X-Custom-Secret": "custom-secret-value"],
                              secretHeaders: ["x-custom-secret"])
        let r = try c.send(req)
        XCTAssertEqual(server.requests[0].headers["x-api-key"], key, "the key is sent")
        let err = HTTPError(request: req, response: r)
        let log = capture.text
        XCTAssertFalse(capture.lines.isEmpty)
        XCTAssertTrue(log.contains("GET \(server.url)/api/v1/servers/localhost/zones/example.com."), log)
        XCTAssertTrue(log.contains("503"), log)
        XCTAssertTrue(log.contains("attempt 2/2"), log)
        XCTAssertTrue(log.contains("X-API-Key: <redacted>"), log)
        XCTAssertTrue(log.contains(" ms"), log)
        for secret in [key, token, "custom-secret-value"] {
            XCTAssertFalse(log.contains(secret), "secret in log: \(log)")
            XCTAssertFalse(err.description.contains(secret), "secret in error: \(err)")
        }
        XCTAssertTrue(err.description.contains("<redacted>"), err.description)
    }

    func testTimeoutIsATransportError() throws {
        let server = try FakeHTTPServer { _, _ in Thread.sleep(forTimeInterval: 1.5); return .init(200) }
        defer { server.stop() }
        let rec = SleepRecorder()
        let c = client(rec, retry: RetryPolicy(maxAttempts: 1))
        XCTAssertThrowsError(try c.send(HTTPRequest(.get, URL(string: server.url)!, timeout: 0.3))) { e in
            let he = e as! HTTPError
            guard case .transport(let code, _) = he.kind else { return XCTFail("\(e)") }
            XCTAssertEqual(code, 28)
            XCTAssertTrue(he.outcomeUnknown)
        }
    }
}

final class RetryPolicyTests: XCTestCase {
    func testDelay() {
        let p = RetryPolicy(maxAttempts: 5, baseDelay: 0.5, maxDelay: 30)
        XCTAssertEqual(p.delay(afterAttempt: 1, retryAfter: nil, jitter: 1), 0.5)
        XCTAssertEqual(p.delay(afterAttempt: 3, retryAfter: nil, jitter: 1), 2)
        XCTAssertEqual(p.delay(afterAttempt: 3, retryAfter: nil, jitter: 0), 1)
        XCTAssertEqual(p.delay(afterAttempt: 20, retryAfter: nil, jitter: 1), 30)
        XCTAssertEqual(p.delay(afterAttempt: 1, retryAfter: 12, jitter: 0), 12)
        XCTAssertEqual(p.delay(afterAttempt: 1, retryAfter: 300, jitter: 0), 30)
        for _ in 0..<50 {
            let d = p.delay(afterAttempt: 2, retryAfter: nil, jitter: Double.random(in: 0...1))
            XCTAssert((0.5...1).contains(d))
        }
    }

    func testParseRetryAfter() {
        let now = Date(timeIntervalSince1970: 784_111_777) // Sun, 06 Nov 1994 08:49:37 GMT
        XCTAssertEqual(RetryPolicy.parseRetryAfter("120"), 120)
        XCTAssertEqual(RetryPolicy.parseRetryAfter(" 0 "), 0)
        XCTAssertNil(RetryPolicy.parseRetryAfter("-5"))
        XCTAssertNil(RetryPolicy.parseRetryAfter("soon"))
        XCTAssertEqual(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now: now), 10)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("Sunday, 06-Nov-94 08:49:57 GMT", now: now), 20)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("Sun Nov  6 08:50:37 1994", now: now), 60)
        XCTAssertEqual(RetryPolicy.parseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now: now), 0, "a past date means now")
    }

    func testHeadersCaseInsensitive() {
        var h: HTTPHeaders = ["Content-Type": "a"]
        h.add("set-cookie", "1"); h.add("Set-Cookie", "2")
        XCTAssertEqual(h["content-type"], "a")
        XCTAssertEqual(h.values("SET-COOKIE"), ["1", "2"])
        h.set("CONTENT-TYPE", "b")
        XCTAssertEqual(h["Content-Type"], "b")
        XCTAssertFalse(h.description.contains("1"), "description shows names only")
    }
}
