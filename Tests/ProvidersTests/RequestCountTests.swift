import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// The exact number of requests each HTTP adapter sends (issue 17, "Fewest requests"): a
/// no-change plan over 1, 50 and 1,000 zones (the zone lookups plus one listing per record
/// page) and an apply of one change per zone, driven the way the engine drives adapters: one
/// adapter instance per zone, every one built from one shared ``ProviderConfig`` (so one
/// ``ProviderSession``), `plannedZoneCount` set to the number of zones, zones read concurrently.
///
/// The clouds run against their fakes (whose state is loaded directly, so 1,000 zones take
/// seconds), PowerDNS against the real server and Route 53 against moto of `scripts/servers`.
/// Each zone holds a `_dmarc` TXT RRset (Route 53 zones past the 50th only SOA and NS), one
/// record page everywhere. The counts are the
/// client's (``ProviderSession/requests``, every attempt) and, for the fakes, the server's.
///
/// With `MAILPLAN_REQUEST_TABLE=<file>` the counts are also written to that file as a
/// Markdown table (bench/requests.py).
final class RequestCountTests: XCTestCase {
    static let sizes = [1, 50, 1000]
    private static let lock = NSLock()
    nonisolated(unsafe) private static var table: [String: [Int: Int]] = [:]
    nonisolated(unsafe) private static var notes: [String] = []

    override class func tearDown() {
        guard let path = ProcessInfo.processInfo.environment["MAILPLAN_REQUEST_TABLE"] else { return }
        lock.lock(); defer { lock.unlock() }
        var out = "| adapter | 1 zone | 50 zones | 1,000 zones |\n|---|---|---|---|\n"
        for name in table.keys.sorted() {
            out += "| \(name) | " + sizes.map { table[name]?[$0].map(String.init) ?? "not run" }.joined(separator: " | ") + " |\n"
        }
        if !notes.isEmpty { out += "\n" + notes.sorted().map { "- \($0)\n" }.joined() }
        try? out.write(toFile: path, atomically: true, encoding: .utf8)
    }

    private static func record(_ adapter: String, _ zones: Int, _ requests: Int) {
        lock.lock(); table[adapter, default: [:]][zones] = requests; lock.unlock()
    }

    // MARK: - harness

    static func zoneNames(_ n: Int, _ prefix: String = "z") -> [DomainName] {
        (1...n).map { try! DomainName(String(format: "\(prefix)%04d.count.example", $0)) }
    }

    private static func config(_ type: String, _ settings: [String: String], secrets: [String: String] = [:]) -> ProviderConfig {
        var s: [String: PlanValue] = settings.mapValues { PlanValue(text: $0, location: nil) }
        for (k, v) in secrets { s[k] = PlanValue(text: v, location: nil, secret: Secret(value: v, variable: k.uppercased())) }
        let config = ProviderConfig(name: "p", type: type, location: nil, settings: s, baseDirectory: URL(fileURLWithPath: "/tmp"))
        // Counted, not paced: the vendors' documented limits (deSEC 50 per minute, say) would
        // make 1,000 zones take minutes; RateLimitPacingTests tests the pacing.
        config.session.installPacer { Unpaced() }
        return config
    }

    /// Plans `zones` as the engine does: `plannedZoneCount`, then one adapter per zone from
    /// `config`, read concurrently.
    /// - Returns: each zone's RRsets and the adapter that read it.
    @discardableResult
    private func plan(_ config: ProviderConfig, _ zones: [DomainName], environment: [String: String] = [:]) throws -> [(any DNSProvider, [RRset])] {
        config.session.plannedZoneCount = zones.count
        return try concurrently(zones.count) { i in
            let p = try ProviderRegistry.make(config, environment: environment)
            do { return (p, try p.readZone(zones[i])) } catch { throw LiveDNSError("\(zones[i].fqdn): \(error)") }
        }
    }

    /// Applies, to every zone read by ``plan(_:_:environment:)``, one change: its `_dmarc` TXT
    /// to `p=reject; pct=<zones.count>` (distinct for each size, as zones are reused), with the
    /// adapter instance that read it; `concurrent`: all zones at once, as the engine may.
    private func applyOneChangePerZone(_ read: [(any DNSProvider, [RRset])], _ zones: [DomainName], concurrent: Bool) throws {
        _ = try concurrently(zones.count, concurrent ? nil : 1) { i in
            let (p, live) = read[i]
            let key = RRsetKey(try DomainName("_dmarc." + zones[i].fqdn), .txt)
            guard let before = live.first(where: { $0.key == key }) else { throw LiveDNSError("\(zones[i].fqdn): no \(key)") }
            let after = RRset(name: key.name, type: .txt, ttl: before.ttl, rdata: [.txt("v=DMARC1; p=reject; pct=\(zones.count)")])
            let change = Change(action: .update, name: key.name, type: .txt, before: before, after: after)
            do { try p.apply(ZoneChangeset(zone: zones[i], provider: "p", providerType: p.typeName, changes: [change])) } catch {
                throw LiveDNSError("\(zones[i].fqdn): \(error)")
            }
        }
    }

    /// Runs the no-change plan over 1, 50 and 1,000 of `zoneNames` and, up to 50 zones, the
    /// apply of one change per zone, and checks the counts: `expected[n]` requests for the
    /// plan (sent, and seen by the server when `serverRequests` counts them: -1 when it
    /// cannot), `writesPerZone × n` more for the apply (zone after zone unless
    /// `applyConcurrently`).
    private func check(_ adapter: String, expected: [Int: Int], writesPerZone: Int?, applyConcurrently: Bool = true,
                       environment: [String: String] = [:],
                       setUp: (_ zones: [DomainName]) throws -> (config: ProviderConfig, serverRequests: () -> Int),
                       zoneNames: (Int) -> [DomainName] = { RequestCountTests.zoneNames($0) }) throws {
        for n in Self.sizes {
            let zones = zoneNames(n)
            let (config, server) = try setUp(zones)
            let seen = server()
            let read = try plan(config, zones, environment: environment)
            XCTAssertEqual(config.session.requests, expected[n], "\(adapter), no-change plan over \(n) zones: requests sent")
            if seen >= 0 { XCTAssertEqual(server() - seen, expected[n], "\(adapter), no-change plan over \(n) zones: requests the server saw") }
            Self.record(adapter, n, config.session.requests)
            if let w = writesPerZone, n <= 50 {
                let sent = config.session.requests
                try applyOneChangePerZone(read, zones, concurrent: applyConcurrently)
                XCTAssertEqual(config.session.requests - sent, w * n, "\(adapter), apply of one change per zone over \(n) zones")
            }
        }
    }

    // MARK: - the clouds, against their fakes

    /// A fake's URL, its request count and how to add a zone holding `_dmarc` TXT `p=none`.
    typealias Fake = (url: String, requests: () -> Int, add: (DomainName) -> Void)
    static let token = "count-test-token"
    static let dmarc = "\"v=DMARC1; p=none\""

    /// ``check(_:expected:writesPerZone:applyConcurrently:environment:setUp:zoneNames:)`` over a
    /// new fake from `make` for each size, its state loaded directly.
    private func checkFake(_ type: String, expected: [Int: Int], writesPerZone: Int, _ make: @escaping () throws -> Fake) throws {
        try check(type, expected: expected, writesPerZone: writesPerZone) { zones in
            let fake = try make()
            for z in zones { fake.add(z) }
            return (Self.config(type, ["api_url": fake.url], secrets: ["token": Self.token]), fake.requests)
        }
    }

    /// Cloudflare: 1 zone is `GET /zones?name=` + 1 record page; N zones one `GET /zones`
    /// listing of 50 per page (1 page for 50, 20 for 1,000) + N record pages. Apply: one batch.
    func testCloudflare() throws {
        try checkFake("cloudflare", expected: [1: 2, 50: 51, 1000: 1020], writesPerZone: 1) {
            let f = try self.cloudflareFake(Self.token)
            return (f.url, { f.requests.count }, { f.addZone($0.withoutTrailingDot); f.seed(zone: $0.withoutTrailingDot, "TXT", "_dmarc." + $0.withoutTrailingDot, Self.dmarc) })
        }
    }

    /// DigitalOcean: 1 zone is `GET /domains/{name}` + 1 record page; N zones one
    /// `GET /domains` listing of 200 per page (1 page for 50, 5 for 1,000) + N record pages.
    /// Apply: one `PUT` per changed record.
    func testDigitalOcean() throws {
        try checkFake("digitalocean", expected: [1: 2, 50: 51, 1000: 1005], writesPerZone: 1) {
            let f = try self.digitalOceanFake(Self.token)
            return (f.url, { f.requests.count }, { f.addDomain($0.withoutTrailingDot); f.seed(domain: $0.withoutTrailingDot, "TXT", "_dmarc", "v=DMARC1; p=none") })
        }
    }

    /// Hetzner Cloud: 1 zone is `GET /zones/{name}` + 1 RRset page; N zones one `GET /zones`
    /// listing of 50 per page (1 for 50, 20 for 1,000) + N RRset pages. Apply: the
    /// `set_records` action + one poll of it (the fake finishes an action after one poll).
    func testHetznerCloud() throws {
        var id = 5000
        try checkFake("hetzner", expected: [1: 2, 50: 51, 1000: 1020], writesPerZone: 2) {
            let f = try HetznerCloudFake(token: Self.token)
            self.addTeardownBlock { f.stop() }
            return (f.url, { f.requests.count }, { id += 1; f.addZone($0.withoutTrailingDot, id: id); f.put($0.withoutTrailingDot, "_dmarc", "TXT", ttl: 3600, [Self.dmarc]) })
        }
    }

    /// deSEC: 1 zone is `GET /domains/{name}/` + the RRset list; N zones one `GET /domains/`
    /// (for 1,000: the 400 that asks for cursors + 2 cursor pages of 500) + N RRset lists.
    /// Apply: one bulk `PATCH` per zone.
    func testDeSEC() throws {
        try checkFake("desec", expected: [1: 2, 50: 51, 1000: 1003], writesPerZone: 1) {
            let f = try DeSECFake(token: Self.token)
            self.addTeardownBlock { f.stop() }
            return (f.url, { f.requests.count }, { f.addDomain($0.withoutTrailingDot); f.put($0.withoutTrailingDot, "_dmarc", "TXT", ttl: 3600, [Self.dmarc]) })
        }
    }

    /// Gandi: 1 zone is `GET /domains/{fqdn}` + 1 record page; N zones one `GET /domains`
    /// listing of 500 per page (1 for 50, 2 for 1,000) + N record pages. Apply: one `PUT` per
    /// changed RRset.
    func testGandi() throws {
        try checkFake("gandi", expected: [1: 2, 50: 51, 1000: 1002], writesPerZone: 1) {
            let f = try GandiFake(token: Self.token)
            self.addTeardownBlock { f.stop() }
            return (f.url, { f.requests.count }, { f.addDomain($0.withoutTrailingDot); f.put($0.withoutTrailingDot, "_dmarc", "TXT", ttl: 3600, [Self.dmarc]) })
        }
    }

    // MARK: - PowerDNS and Route 53, against the real servers

    /// PowerDNS: one `GET /zones/{zone}` per zone holds the whole zone (no lookup, no pages).
    /// Apply: one `PATCH` per zone, zone after zone (concurrent PATCHes to the sqlite backend
    /// may be answered 500 and retried, which would make the count vary).
    func testPowerDNS() throws {
        let server = try PDNSServer.fromEnvironment()
        let zones = Self.zoneNames(1000, "pc")
        try createPowerDNSZones(server, zones)
        defer { deletePowerDNSZones(server, zones) }
        try check("powerdns", expected: [1: 1, 50: 50, 1000: 1000], writesPerZone: 1, applyConcurrently: false, setUp: { _ in
            (Self.config("powerdns", ["url": server.url.absoluteString], secrets: ["api_key": server.key]), { -1 })
        }, zoneNames: { n in Array(zones.prefix(n)) })
    }

    /// Route 53 (moto): 1 zone is `ListHostedZonesByName` + 1 record page; N zones one
    /// `ListHostedZones` listing of 100 per page over every hosted zone moto holds + N record
    /// pages. Apply: one change batch per zone.
    func testRoute53() throws {
        let moto = try MotoServer.fromEnvironment()
        let zones = Self.zoneNames(1000, "rc\(UUID().uuidString.prefix(4).lowercased())")
        let ids = try createMotoZones(moto, zones)   // the first 50 with `_dmarc`, for the apply
        defer { deleteMotoZones(moto, ids) }
        let held = try motoZoneCount(moto)
        let pages = (held + 99) / 100
        Self.lock.lock()
        Self.notes.append("route53: the hosted-zone listing pages over every zone moto held (\(held), \(pages) pages of 100), not only the planned ones")
        Self.lock.unlock()
        XCTAssertLessThanOrEqual(pages, 50, "moto holds \(held) hosted zones: the 50-zone case assumes the listing is at most 50 pages")
        try check("route53", expected: [1: 2, 50: pages + 50, 1000: pages + 1000], writesPerZone: 1, environment: MotoServer.environment, setUp: { _ in
            (Self.config("route53", ["endpoint": moto.endpoint.absoluteString]), { -1 })
        }, zoneNames: { n in Array(zones.prefix(n)) })
    }

    // MARK: - server state

    /// Creates each zone with its `_dmarc` TXT, one POST after the other (concurrent writes
    /// to the sqlite backend may be refused); a zone left by an earlier run is deleted first.
    private func createPowerDNSZones(_ server: PDNSServer, _ zones: [DomainName]) throws {
        struct Body: Encodable { var name: String; var kind = "Native"; var nameservers = ["ns1.example.net."]; var rrsets: [PowerDNSConvert.APIRRset] }
        for z in zones {
            var r = PowerDNSConvert.replace(rrset("_dmarc", z, .txt, 3600, ["v=DMARC1; p=none"]))
            r.changetype = nil
            let req = HTTPRequest(.post, server.zoneURL(), headers: server.headers, body: try JSONEncoder().encode(Body(name: z.fqdn, rrsets: [r])))
            var resp = try server.http.send(req)
            if resp.status == 409 { server.deleteZone(z); resp = try server.http.send(req) }
            guard resp.status == 201 else { throw LiveDNSError("creating \(z.fqdn): HTTP \(resp.status) \(resp.text)") }
        }
    }

    private func deletePowerDNSZones(_ server: PDNSServer, _ zones: [DomainName]) {
        for z in zones { server.deleteZone(z) }
    }

    /// Creates each hosted zone; the first 50 (the ones the apply changes) with a `_dmarc` TXT.
    private func createMotoZones(_ moto: MotoServer, _ zones: [DomainName]) throws -> [String] {
        try concurrently(zones.count) { i in
            let p = moto.provider()
            let body = """
            <?xml version="1.0" encoding="UTF-8"?>
            <CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>\(zones[i].fqdn)</Name><CallerReference>\(UUID().uuidString)</CallerReference></CreateHostedZoneRequest>
            """
            let (_, resp) = try p.call(.post, "/2013-04-01/hostedzone", body: Data(body.utf8))
            guard resp.status == 201, let r = resp.text.range(of: "<Id>/hostedzone/"), let end = resp.text[r.upperBound...].range(of: "</Id>") else {
                throw LiveDNSError("creating hosted zone \(zones[i].fqdn): HTTP \(resp.status) \(resp.text)")
            }
            let id = String(resp.text[r.upperBound..<end.lowerBound])
            if i < 50 { try moto.change(id, [.init(.create, Route53Convert.apiRecordSet(rrset("_dmarc", zones[i], .txt, 3600, ["v=DMARC1; p=none"])))]) }
            return id
        }
    }

    /// Deletes the hosted zones (their records first: Route 53 refuses to delete a zone that
    /// holds more than SOA and NS).
    private func deleteMotoZones(_ moto: MotoServer, _ ids: [String]) {
        _ = try? concurrently(ids.count) { i in
            let p = moto.provider()
            if i >= 50 { _ = try p.call(.delete, "/2013-04-01/hostedzone/\(ids[i])"); return }
            let (_, resp) = try p.call(.get, "/2013-04-01/hostedzone/\(ids[i])/rrset")
            let page = try Route53Convert.recordSetPage(resp.body)
            let extra = page.sets.filter { $0.type != "SOA" && $0.type != "NS" }
            try? moto.change(ids[i], extra.map { .init(.delete, $0) })
            _ = try? p.call(.delete, "/2013-04-01/hostedzone/\(ids[i])")
        }
    }

    /// `GetHostedZoneCount`.
    private func motoZoneCount(_ moto: MotoServer) throws -> Int {
        let (_, resp) = try moto.provider().call(.get, "/2013-04-01/hostedzonecount")
        guard let r = resp.text.range(of: "<HostedZoneCount>"), let end = resp.text[r.upperBound...].range(of: "</HostedZoneCount>"),
              let n = Int(resp.text[r.upperBound..<end.lowerBound]) else { throw LiveDNSError("GetHostedZoneCount: HTTP \(resp.status) \(resp.text)") }
        return n
    }

    /// `body(0)` … `body(n-1)` on the cores at once (as the engine reads zones), or one after
    /// the other when `width` is 1.
    /// - Returns: the results in index order.
    /// - Throws: the first error (by index) any call threw, after all have run.
    private func concurrently<T>(_ n: Int, _ width: Int? = nil, _ body: @escaping (Int) throws -> T) throws -> [T] {
        let box = UncheckedBox(body: body, results: [Result<T, Error>?](repeating: nil, count: n))
        if width == 1 {
            for i in 0..<n { box.results[i] = Result { try body(i) } }
            return try box.results.map { try $0!.get() }
        }
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let r = Result { try box.body(i) }
            box.lock.lock(); box.results[i] = r; box.lock.unlock()
        }
        return try box.results.map { try $0!.get() }
    }
}

/// A pacer that never waits.
private final class Unpaced: RequestPacer, @unchecked Sendable { func acquire() {} }

/// What ``RequestCountTests`` shares with the threads of `concurrentPerform` (guarded by `lock`).
private final class UncheckedBox<T>: @unchecked Sendable {
    let lock = NSLock()
    let body: (Int) throws -> T
    var results: [Result<T, Error>?]
    init(body: @escaping (Int) throws -> T, results: [Result<T, Error>?]) { self.body = body; self.results = results }
}
