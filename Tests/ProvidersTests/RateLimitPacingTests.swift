import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// Pacing against a fake that enforces Cloudflare's documented limit (1,200 requests per five
/// minutes), scaled down so a run takes seconds: the plan of many zones never sees a 429.
/// The timing itself is measured by `bench/ratelimit.py`, which runs this test with
/// `MAILPLAN_BENCH_ZONES` and `MAILPLAN_BENCH_OUT` set; the test asserts only exact counts.
final class RateLimitPacingTests: XCTestCase {
    let token = "cf-test-token-0123456789abcdef"

    func yaml(_ fake: CloudflareFake, zones: [String]) -> String {
        """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
        providers:
          cf:
            type: cloudflare
            token: ${CLOUDFLARE_API_TOKEN}
            api_url: \(fake.url)
        defaults:
          ttl: 3600
        domains:
        \(zones.map { "  - {name: \($0), provider: cf, mx: [{host: mail.example.com, preference: 10}]}" }.joined(separator: "\n"))
        """
    }

    /// The fake refuses exactly the requests over its window, with Cloudflare's 429.
    func testFakeEnforcesTheWindow() throws {
        let fake = try CloudflareFake(token: token)
        defer { fake.server.stop() }
        fake.addZone("example.com")
        fake.rateLimit = EnforcedRateLimit(requests: 20, per: 600)
        let client = HTTPClient(options: { var o = HTTPClientOptions(); o.retry = .none; return o }())
        var statuses: [Int] = []
        for _ in 0..<25 {
            let req = HTTPRequest(.get, URL(string: fake.url + "/zones?name=example.com")!, headers: ["Authorization": "Bearer \(token)"])
            let resp = try client.send(req)
            statuses.append(resp.status)
            if resp.status == 429 { XCTAssertEqual(resp.headers["Retry-After"].flatMap(Int.init).map { $0 > 0 && $0 <= 600 }, true) }
        }
        XCTAssertEqual(statuses, Array(repeating: 200, count: 20) + Array(repeating: 429, count: 5))
        XCTAssertEqual(fake.rateLimit?.refused, 5)
    }

    /// N zones read with 8 concurrent readers, paced at the fake's own (scaled) limit of
    /// `rate` requests per second over a `window`-second window (default 150 zones, 100
    /// requests per 2 s: three windows' worth): exactly 2 requests per zone (zone lookup, one
    /// page of records), all counted by the session, and not one 429. Without the pacer the
    /// same run gets 429s.
    func testPlanOfManyZonesStaysUnderTheLimit() throws {
        let env = ProcessInfo.processInfo.environment
        let n = Int(env["MAILPLAN_BENCH_ZONES"] ?? "") ?? 150
        let rate = Int(env["MAILPLAN_BENCH_RATE"] ?? "") ?? 50
        let window = Double(env["MAILPLAN_BENCH_WINDOW"] ?? "") ?? 2
        let fake = try CloudflareFake(token: token)
        defer { fake.server.stop() }
        let zones = (0..<n).map { String(format: "z%04d.example.net", $0) }
        for z in zones { fake.addZone(z) }
        let limit = RateWindow(Int(Double(rate) * window), per: window)
        fake.rateLimit = EnforcedRateLimit(requests: limit.requests, per: limit.seconds)
        let plan = try loadTestPlan(yaml(fake, zones: zones), env: ["CLOUDFLARE_API_TOKEN": token])
        let session = try XCTUnwrap(plan.provider(named: "cf")).session
        // Cloudflare's own limit, scaled: the adapter's init finds this pacer and keeps it.
        session.installPacer { TokenBucket([limit]) }
        let engine = Engine(plan: plan, now: Date(), makeProvider: ProviderRegistry.make)
        let start = ProcessInfo.processInfo.systemUptime
        let result = try engine.makePlan()
        let seconds = ProcessInfo.processInfo.systemUptime - start

        XCTAssertEqual(result.changesets.count, n)
        XCTAssertEqual(fake.rateLimit?.refused, 0)
        XCTAssertEqual(fake.requests.count, 2 * n)
        XCTAssertEqual(session.requests, 2 * n)
        XCTAssertEqual(fake.requests.filter { $0.path.hasPrefix("/client/v4/zones?") }.count, n)
        if let out = env["MAILPLAN_BENCH_OUT"] {
            let row: [String: Any] = ["zones": n, "requests": session.requests, "rate": rate, "window": window, "seconds": seconds,
                                      "refused": fake.rateLimit?.refused ?? -1]
            try JSONSerialization.data(withJSONObject: row, options: [.sortedKeys]).write(to: URL(fileURLWithPath: out))
        }
    }

    /// Every cloud adapter declares its documented limit; servers the user runs declare none.
    func testDeclaredLimits() {
        XCTAssertEqual(CloudflareProvider.capabilities.rateLimit, RateLimit([RateWindow(1200, per: 300)]))
        XCTAssertEqual(DigitalOceanProvider.capabilities.rateLimit, RateLimit([RateWindow(250, per: 60), RateWindow(5000, per: 3600)]))
        XCTAssertEqual(HetznerCloudProvider.capabilities.rateLimit, RateLimit([RateWindow(3600, per: 3600)]))
        XCTAssertEqual(GandiProvider.capabilities.rateLimit, RateLimit([RateWindow(1000, per: 60)]))
        XCTAssertEqual(Route53Provider.capabilities.rateLimit, RateLimit([RateWindow(10, per: 1)]))
        XCTAssertEqual(DeSECProvider.capabilities.rateLimit,
                       RateLimit([RateWindow(10, per: 1), RateWindow(50, per: 60), RateWindow(2000, per: 86_400)],
                                 zoneWrites: [RateWindow(2, per: 1), RateWindow(15, per: 60), RateWindow(100, per: 3600), RateWindow(300, per: 86_400)]))
        XCTAssertNil(PowerDNSProvider.capabilities.rateLimit)
        XCTAssertNil(RFC2136Provider.capabilities.rateLimit)
        XCTAssertNil(ZoneFileProvider.capabilities.rateLimit)
    }

    /// An adapter built from a plan entry installs its declared limit on the entry's session,
    /// once: the adapters of the other zones share it.
    func testAdapterInstallsItsLimitOnTheSession() throws {
        let fake = try CloudflareFake(token: token)
        defer { fake.server.stop() }
        let plan = try loadTestPlan(yaml(fake, zones: ["a.example.net", "b.example.net"]), env: ["CLOUDFLARE_API_TOKEN": token])
        let config = try XCTUnwrap(plan.provider(named: "cf"))
        XCTAssertNil(config.session.pacer)
        _ = try ProviderRegistry.make(config)
        let first = try XCTUnwrap(config.session.pacer as? TokenBucket)
        XCTAssertEqual(first.windows, [RateWindow(1200, per: 300)])
        _ = try ProviderRegistry.make(config)
        XCTAssertTrue(config.session.pacer === first)
    }

    /// deSEC's bulk write of a zone takes a token of that zone's own write bucket
    /// (`dns_api_per_domain_expensive`: 2/s, 15/min, 100/h, 300/day): after one apply of
    /// example.com the bucket has one token left this second; another zone's is untouched.
    func testDeSECWritesTakeTheirZonesWriteToken() throws {
        let fake = try DeSECFake()
        defer { fake.stop() }
        fake.addDomain("example.com", minimumTTL: 3600)
        let env = ["DESEC_TOKEN": fake.token]
        let yaml = CloudPlan.yaml(type: "desec", settings: ["token: ${DESEC_TOKEN}", "api_url: \(fake.url)"])
        let plan = try loadTestPlan(yaml, env: env)
        let session = try XCTUnwrap(plan.provider(named: "p")).session
        let engine = Engine(plan: plan, now: Date(), makeProvider: ProviderRegistry.make)
        let result = try engine.makePlan()
        XCTAssertTrue(engine.apply(result).succeeded)
        XCTAssertEqual(fake.writes.map(\.method), ["PATCH"])
        XCTAssertEqual((session.pacer as? TokenBucket)?.windows, DeSECProvider.rateLimit.requests)
        let written = try XCTUnwrap(session.zoneWritePacer(try DomainName("example.com"), DeSECProvider.rateLimit))
        XCTAssertEqual(written.windows, DeSECProvider.rateLimit.zoneWrites)
        XCTAssertEqual(written.reserve(), 0)          // the second of this second's two tokens
        XCTAssertGreaterThan(written.reserve(), 0.5)  // the third waits for the first to come back
        let other = try XCTUnwrap(session.zoneWritePacer(try DomainName("example.org"), DeSECProvider.rateLimit))
        XCTAssertEqual([other.reserve(), other.reserve()], [0, 0])
    }
}
