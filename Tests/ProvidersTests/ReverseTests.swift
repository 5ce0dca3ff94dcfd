import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// A DNS provider in memory whose read-back can lag behind its writes (`lag` reads after an
/// apply still return the old records), like a provider that serves a change a little later.
final class LaggingZoneProvider: DNSProvider, @unchecked Sendable {
    let instanceName = "dns"
    let typeName = "memory"
    let capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), applyMode: .atomic)
    private let lock = NSLock()
    private var current: [RRset]
    private var served: [RRset]
    private var lagLeft = 0
    /// Reads after each apply that still return the records from before it.
    var lag = 0
    /// Every call in order (`read`, `apply`), shared with the reverse fake's log by the tests.
    let events: EventLog

    init(_ rrsets: [RRset], events: EventLog) { current = rrsets; served = rrsets; self.events = events }

    func readZone(_ zone: DomainName) throws -> [RRset] {
        lock.lock(); defer { lock.unlock() }
        if lagLeft > 0 { lagLeft -= 1; return served }
        served = current
        return current
    }
    func apply(_ changeset: ZoneChangeset) throws {
        lock.lock(); defer { lock.unlock() }
        events.add("zone apply: " + changeset.changes.map { "\($0.action) \($0.key)" }.joined(separator: ", "))
        for c in changeset.changes {
            current.removeAll { $0.key == c.key }
            if let a = c.after { current.append(a) }
        }
        lagLeft = lag
    }
    /// What a forward lookup sees now (the served state).
    func resolves(_ name: String, _ ip: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let n = try? DomainName(name), let addr = IPAddress(ip) else { return false }
        return served.first { $0.key == RRsetKey(n, addr.forwardType) }?.rdata.contains(where: addr.matches) ?? false
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func add(_ s: String) { lock.lock(); _lines.append(s); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
}

/// A clock that advances only when slept on.
final class StepClock: WaitClock, @unchecked Sendable {
    private let lock = NSLock()
    private var t = 0.0
    private var _sleeps: [Double] = []
    func now() -> Double { lock.lock(); defer { lock.unlock() }; return t }
    func sleep(_ s: Double) { lock.lock(); t += s; _sleeps.append(s); lock.unlock() }
    var sleeps: [Double] { lock.lock(); defer { lock.unlock() }; return _sleeps }
}

final class ReverseDNSTests: XCTestCase {
    let v4 = IPAddress("192.0.2.25")!, v6 = IPAddress("2001:db8::25")!
    let host = try! DomainName("mail.example.com")

    func secret(_ v: String) -> Secret { Secret(value: v, variable: "T") }

    // MARK: adapters

    func testLinodeReadsAndSetsRDNSWithExactBodiesAndRefusesBeforeForwardDNS() throws {
        let fake = try LinodeFake(); defer { fake.stop() }
        fake.addAddress("192.0.2.25"); fake.addAddress("2001:db8::25")
        let p = LinodeReverseProvider(name: "ln", baseURL: URL(string: fake.url)!, token: secret(fake.token))
        XCTAssertEqual(try p.readPTR(v4), try DomainName("192-0-2-25.ip.linodeusercontent.com"))
        XCTAssertNil(try p.readPTR(v6))
        fake.setForward { _, _ in false }
        XCTAssertThrowsError(try p.setPTR(v4, to: host)) { e in
            XCTAssertEqual("\(e)", "provider ln (linode): setting the PTR of 192.0.2.25 to mail.example.com.: PUT \(fake.url)/networking/ips/192.0.2.25 returned HTTP 400: \"rdns: Domain mail.example.com does not resolve to 192.0.2.25\"; body sent: {\"rdns\":\"mail.example.com\"}")
        }
        fake.setForward { _, _ in true }
        try p.setPTR(v4, to: host)
        try p.setPTR(v6, to: host)
        XCTAssertEqual(try p.readPTR(v4), host)
        XCTAssertEqual(try p.readPTR(v6), host)
        let puts = fake.requests.filter { $0.method == "PUT" }
        XCTAssertEqual(puts.map(\.line), ["PUT /v4/networking/ips/192.0.2.25", "PUT /v4/networking/ips/192.0.2.25", "PUT /v4/networking/ips/2001%3Adb8%3A%3A25"])
        XCTAssertEqual(puts.map(\.text), Array(repeating: "{\"rdns\":\"mail.example.com\"}", count: 3))
        XCTAssertEqual(puts[0].headers["content-type"], "application/json")
        XCTAssertThrowsError(try p.readPTR(IPAddress("192.0.2.99")!)) { e in
            XCTAssertEqual("\(e)", "provider ln (linode): 192.0.2.99 is not an address of this Linode account (GET \(fake.url)/networking/ips/192.0.2.99 returned 404); check server.ipv4/ipv6")
        }
    }

    func testLinodeRejectedTokenNamesTheVariableNeverTheToken() throws {
        let fake = try LinodeFake(); defer { fake.stop() }
        fake.addAddress("192.0.2.25")
        let p = LinodeReverseProvider(name: "ln", baseURL: URL(string: fake.url)!, token: Secret(value: "wrong-token-value", variable: "LINODE_TOKEN"))
        XCTAssertThrowsError(try p.readPTR(v4)) { e in
            XCTAssertEqual("\(e)", "provider ln (linode): reading the PTR of 192.0.2.25: linode rejected the token in ${LINODE_TOKEN} (HTTP 401; check scope: a Linode personal access token with IPs: Read/Write)")
        }
        XCTAssertEqual(fake.requests.map { $0.headers["authorization"] }, ["Bearer wrong-token-value"])
    }

    func testVultrFindsTheInstanceThroughTheCursorAndSetsBothFamilies() throws {
        let fake = try VultrFake(); defer { fake.stop() }
        fake.addInstance(id: "aaaa-other", mainIP: "198.51.100.7", v6Network: "2001:db8:1::", v6MainIP: "2001:db8:1::7")
        fake.addInstance(id: "cb676a46-mail", mainIP: "192.0.2.25", v6Network: "2001:db8::", v6MainIP: "2001:db8::25")
        let p = VultrReverseProvider(name: "vu", baseURL: URL(string: fake.url)!, token: secret(fake.token))
        XCTAssertEqual(try p.readPTR(v4), try DomainName("192-0-2-25.vultrusercontent.com"))
        XCTAssertNil(try p.readPTR(v6))
        fake.setForward { name, ip in name == "mail.example.com" && ip == "2001:db8::25" }
        XCTAssertThrowsError(try p.setPTR(v4, to: host)) { e in
            XCTAssertEqual("\(e)", "provider vu (vultr): setting the PTR of 192.0.2.25 to mail.example.com.: POST \(fake.url)/instances/cb676a46-mail/ipv4/reverse returned HTTP 400: \"Unable to update reverse DNS: mail.example.com does not resolve to 192.0.2.25.\"; body sent: {\"ip\":\"192.0.2.25\",\"reverse\":\"mail.example.com\"}")
        }
        try p.setPTR(v6, to: host)
        fake.setForward { _, _ in true }
        try p.setPTR(v4, to: host)
        XCTAssertEqual(try p.readPTR(v4), host)
        XCTAssertEqual(try p.readPTR(v6), host)
        let posts = fake.requests.filter { $0.method == "POST" }
        XCTAssertEqual(posts.map(\.line), ["POST /v2/instances/cb676a46-mail/ipv4/reverse", "POST /v2/instances/cb676a46-mail/ipv6/reverse",
                                           "POST /v2/instances/cb676a46-mail/ipv4/reverse"])
        XCTAssertEqual(posts.map(\.text), ["{\"ip\":\"192.0.2.25\",\"reverse\":\"mail.example.com\"}", "{\"ip\":\"2001:db8::25\",\"reverse\":\"mail.example.com\"}",
                                           "{\"ip\":\"192.0.2.25\",\"reverse\":\"mail.example.com\"}"])
        // The instance lookup followed the cursor: page 0, then page 1.
        XCTAssertEqual(Array(fake.requests.map(\.line).prefix(3)), ["GET /v2/instances?per_page=100", "GET /v2/instances?per_page=100&cursor=1", "GET /v2/instances/cb676a46-mail/ipv4"])
    }

    func testHetznerPagesServersSetsThroughAnActionAndPollsIt() throws {
        let fake = try HetznerServersFake(); defer { fake.stop() }
        fake.perPageCap = 1
        fake.addServer(id: 41, name: "web", ipv4: "198.51.100.7", ipv6Net: "2001:db8:1::/64")
        fake.addServer(id: 42, name: "mail", ipv4: "192.0.2.25", ipv6Net: "2001:db8::/64")
        let p = HetznerCloudReverseProvider(name: "hz", baseURL: URL(string: fake.url)!, token: secret(fake.token), sleep: { _ in })
        XCTAssertEqual(try p.readPTR(v4), try DomainName("static.25.2.0.192.clients.your-server.de"))
        XCTAssertNil(try p.readPTR(v6))
        fake.setForward { _, _ in false }
        XCTAssertThrowsError(try p.setPTR(v6, to: host)) { e in
            XCTAssertEqual("\(e)", "provider hz (hetzner): setting the PTR of 2001:db8::25 (server mail) to mail.example.com.: POST \(fake.url)/servers/42/actions/change_dns_ptr returned HTTP 422: \"dns_ptr_not_matching: the forward lookup of mail.example.com does not point to 2001:db8::25\"; body sent: {\"dns_ptr\":\"mail.example.com\",\"ip\":\"2001:db8::25\"}")
        }
        fake.setForward { _, _ in true }
        try p.setPTR(v4, to: host)
        try p.setPTR(v6, to: host)
        XCTAssertEqual(try p.readPTR(v4), host)
        XCTAssertEqual(try p.readPTR(v6), host)
        XCTAssertEqual(fake.requests.filter { $0.method == "POST" || $0.path.contains("actions/") }.map(\.line), [
            "POST /v1/servers/42/actions/change_dns_ptr",
            "POST /v1/servers/42/actions/change_dns_ptr", "GET /v1/servers/actions/7001",
            "POST /v1/servers/42/actions/change_dns_ptr", "GET /v1/servers/actions/7002",
        ])
        XCTAssertEqual(fake.requests.filter { $0.method == "POST" }.map(\.text), [
            "{\"dns_ptr\":\"mail.example.com\",\"ip\":\"2001:db8::25\"}", "{\"dns_ptr\":\"mail.example.com\",\"ip\":\"192.0.2.25\"}",
            "{\"dns_ptr\":\"mail.example.com\",\"ip\":\"2001:db8::25\"}",
        ])
        XCTAssertThrowsError(try p.readPTR(IPAddress("203.0.113.9")!)) { e in
            XCTAssertEqual("\(e)", "provider hz (hetzner): 203.0.113.9 is not the public address of any server in this Hetzner Cloud project (GET /servers); check server.ipv4/ipv6 and the token's project")
        }
    }

    // MARK: engine: plan and apply order

    static func yaml(reverseType: String, settings: [String], extra: String = "") -> String {
        """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          ipv6: 2001:db8::25
          reverse: {provider: rev\(extra)}
        providers:
          dns:
            type: zonefile
            path: zones/example.com.zone   # only validated (exists); the tests plan against memory
          rev:
            type: \(reverseType)
        \(settings.map { "    " + $0 }.joined(separator: "\n"))
        domains:
          - name: example.com
            provider: dns

        """
    }

    struct Setup {
        let engine: Engine
        let zone: LaggingZoneProvider
        let clock: StepClock
        let events: EventLog
    }

    /// An engine whose DNS provider is in memory (apex NS only) and whose reverse provider is
    /// the real adapter against `fake`, the fake's forward lookup reading the memory zone.
    func setup(_ fake: ReverseFakeBase, type: String, url: String, extra: String = "") throws -> Setup {
        let events = EventLog()
        let zone = LaggingZoneProvider([RRset(name: try DomainName("example.com"), type: .ns, ttl: 3600, rdata: [.ns(try DomainName("ns1.example.net"))])], events: events)
        fake.setForward { [zone] name, ip in
            let ok = zone.resolves(name, ip)
            events.add("forward lookup \(name) \(ip): \(ok ? "resolves" : "does not resolve")")
            return ok
        }
        let env = ["REV_TOKEN": fake.token]
        let plan = try loadTestPlan(Self.yaml(reverseType: type, settings: ["token: ${REV_TOKEN}", "api_url: \(url)"], extra: extra), env: env)
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in zone }, makeReverseProvider: ReverseProviderRegistry.make)
        let clock = StepClock()
        engine.waitClock = clock
        return Setup(engine: engine, zone: zone, clock: clock, events: events)
    }

    func testPlanShowsPTRChangesBesideZoneChangesAndApplySetsThemAfterForwardDNSForEachProvider() throws {
        let hz = try HetznerServersFake(); defer { hz.stop() }
        hz.addServer(id: 42, name: "mail", ipv4: "192.0.2.25", ipv6Net: "2001:db8::/64")
        let vu = try VultrFake(); defer { vu.stop() }
        vu.addInstance(id: "cb676a46-mail", mainIP: "192.0.2.25", v6Network: "2001:db8::", v6MainIP: "2001:db8::25")
        let ln = try LinodeFake(); defer { ln.stop() }
        ln.addAddress("192.0.2.25"); ln.addAddress("2001:db8::25")
        let cases: [(ReverseFakeBase, String, String, String, [String])] = [
            (hz, "hetzner", hz.url, "static.25.2.0.192.clients.your-server.de.",
             ["POST /v1/servers/42/actions/change_dns_ptr", "POST /v1/servers/42/actions/change_dns_ptr"]),
            (vu, "vultr", vu.url, "192-0-2-25.vultrusercontent.com.",
             ["POST /v2/instances/cb676a46-mail/ipv4/reverse", "POST /v2/instances/cb676a46-mail/ipv6/reverse"]),
            (ln, "linode", ln.url, "192-0-2-25.ip.linodeusercontent.com.",
             ["PUT /v4/networking/ips/192.0.2.25", "PUT /v4/networking/ips/2001%3Adb8%3A%3A25"]),
        ]
        for (fake, type, url, defaultPTR, writes) in cases {
            let s = try setup(fake, type: type, url: url)
            let result = try s.engine.makePlan()
            XCTAssertEqual(PlanRenderer.text(result), """
            mailplan will perform the following actions:

              # zone example.com. (provider dns, memory)
              + example.com. MX ttl 3600
                  + 10 mail.example.com.
              + mail.example.com. A ttl 3600
                  + 192.0.2.25
              + mail.example.com. AAAA ttl 3600
                  + 2001:db8::25

              # reverse DNS (provider rev, \(type))
              ~ 25.2.0.192.in-addr.arpa. PTR \(defaultPTR) -> mail.example.com.
                  # 192.0.2.25: set after mail.example.com. A is served (the provider checks forward DNS)
              + 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail.example.com.
                  # 2001:db8::25: set after mail.example.com. AAAA is served (the provider checks forward DNS)

            Plan: 3 to add, 0 to change, 0 to destroy, 2 PTR records to set.

            """, type)
            let report = s.engine.apply(result)
            XCTAssertTrue(report.succeeded, "\(type): \(report.reverse?.error ?? "")")
            XCTAssertEqual(fake.writeLines, writes, type)
            XCTAssertEqual(s.events.lines, [
                "zone apply: create example.com. MX, create mail.example.com. A, create mail.example.com. AAAA",
                "forward lookup mail.example.com 192.0.2.25: resolves",
                "forward lookup mail.example.com 2001:db8::25: resolves",
            ], type)
            XCTAssertEqual(report.reverse?.lines, [
                "Set PTR 25.2.0.192.in-addr.arpa. -> mail.example.com. (192.0.2.25 at provider 'rev' (\(type))).",
                "Set PTR 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. -> mail.example.com. (2001:db8::25 at provider 'rev' (\(type))).",
                "Verified FCrDNS: 192.0.2.25 -> mail.example.com. -> 192.0.2.25.",
                "Verified FCrDNS: 2001:db8::25 -> mail.example.com. -> 2001:db8::25.",
            ], type)
            XCTAssertEqual(s.clock.sleeps, [], type)
            XCTAssertEqual(fake.ptr("192.0.2.25"), "mail.example.com")
            XCTAssertEqual(fake.ptr("2001:db8::25"), "mail.example.com")
            // Nothing left to do, PTRs included.
            let again = try s.engine.makePlan()
            XCTAssertFalse(again.hasChanges, type)
            XCTAssertEqual(PlanRenderer.text(again), "No changes. The live DNS matches the plan.\n")
        }
    }

    func testApplyWaitsUntilTheForwardRecordsAreServedBeforeSettingPTRs() throws {
        let ln = try LinodeFake(); defer { ln.stop() }
        ln.addAddress("192.0.2.25"); ln.addAddress("2001:db8::25")
        let s = try setup(ln, type: "linode", url: ln.url)
        s.zone.lag = 3
        let result = try s.engine.makePlan()
        let report = s.engine.apply(result)
        XCTAssertTrue(report.succeeded, report.reverse?.error ?? "")
        // Three reads still show the old zone: poll 1 reads A and AAAA (both old), poll 2
        // reads A (old) and AAAA (served), poll 3 reads A (served): two waits of 2 s.
        XCTAssertEqual(s.clock.sleeps, [2, 2])
        XCTAssertEqual(ln.writeLines, ["PUT /v4/networking/ips/192.0.2.25", "PUT /v4/networking/ips/2001%3Adb8%3A%3A25"])
        XCTAssertEqual(s.events.lines.first, "zone apply: create example.com. MX, create mail.example.com. A, create mail.example.com. AAAA")
        XCTAssertEqual(Array(s.events.lines.dropFirst()), [
            "forward lookup mail.example.com 192.0.2.25: resolves", "forward lookup mail.example.com 2001:db8::25: resolves",
        ])
    }

    func testForwardRecordsNeverServedMeansNoPTRIsAttemptedAndTheErrorSaysWhatWasSeen() throws {
        let ln = try LinodeFake(); defer { ln.stop() }
        ln.addAddress("192.0.2.25"); ln.addAddress("2001:db8::25")
        let s = try setup(ln, type: "linode", url: ln.url, extra: ", wait_timeout: 5")
        s.zone.lag = 1000
        let result = try s.engine.makePlan()
        let report = s.engine.apply(result)
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(s.clock.sleeps, [2, 2])
        XCTAssertEqual(ln.writeLines, [])
        XCTAssertEqual(report.reverse?.notAttempted.map(\.ip.description), ["192.0.2.25", "2001:db8::25"])
        XCTAssertEqual(report.reverse?.applied.count, 0)
        XCTAssertEqual(report.reverse?.error, """
        forward DNS not ready after 5 s: mail.example.com. A does not hold 192.0.2.25 (seen: no A records (provider 'dns' read-back)); PTR not set at provider 'rev' (linode), which checks forward DNS
        forward DNS not ready after 5 s: mail.example.com. AAAA does not hold 2001:db8::25 (seen: no AAAA records (provider 'dns' read-back)); PTR not set at provider 'rev' (linode), which checks forward DNS
        """)
    }

    func testAProviderRefusingThePTRReportsItFailedAndTheRestNotAttempted() throws {
        let vu = try VultrFake(); defer { vu.stop() }
        vu.addInstance(id: "cb676a46-mail", mainIP: "192.0.2.25", v6Network: "2001:db8::", v6MainIP: "2001:db8::25")
        let s = try setup(vu, type: "vultr", url: vu.url)
        let result = try s.engine.makePlan()
        // The provider's own forward lookup disagrees with what is served (a stale cache).
        vu.setForward { _, _ in false }
        let report = s.engine.apply(result)
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(report.zones.map { $0.applied.count }, [3])
        XCTAssertEqual(report.reverse?.failed.map(\.ip.description), ["192.0.2.25"])
        XCTAssertEqual(report.reverse?.notAttempted.map(\.ip.description), ["2001:db8::25"])
        XCTAssertEqual(report.reverse?.error, "provider rev (vultr): setting the PTR of 192.0.2.25 to mail.example.com.: POST \(vu.url)/instances/cb676a46-mail/ipv4/reverse returned HTTP 400: \"Unable to update reverse DNS: mail.example.com does not resolve to 192.0.2.25.\"; body sent: {\"ip\":\"192.0.2.25\",\"reverse\":\"mail.example.com\"}")
        XCTAssertEqual(vu.writeLines, ["POST /v2/instances/cb676a46-mail/ipv4/reverse"])
    }

    func testJSONCarriesThePTRChangesAndTheirCount() throws {
        let ln = try LinodeFake(); defer { ln.stop() }
        ln.addAddress("192.0.2.25"); ln.addAddress("2001:db8::25")
        ln.setPTR("2001:db8::25", "mail.example.com")
        let s = try setup(ln, type: "linode", url: ln.url)
        let doc = PlanDocument(result: try s.engine.makePlan(), version: "0.1.0")
        let json = try JSONSerialization.jsonObject(with: Data(try doc.json().utf8)) as! [String: Any]
        XCTAssertEqual(json["summary"] as? [String: Int], ["add": 3, "change": 0, "destroy": 0, "ptr": 1])
        XCTAssertEqual(FakeSupport.json(json["reverse"]!), FakeSupport.json([[
            "action": "update", "ip": "192.0.2.25", "name": "25.2.0.192.in-addr.arpa.", "before": "192-0-2-25.ip.linodeusercontent.com.",
            "after": "mail.example.com.", "provider": "rev", "provider_type": "linode",
        ]]))
    }

    // MARK: plan file

    func testPlanFileErrorsNameTheLineAndSuggest() throws {
        func errors(_ yaml: String) -> [String] {
            do { _ = try loadTestPlan(yaml, env: ["REV_TOKEN": "x"]); return [] } catch let e as DiagnosticsError { return e.diagnostics.map(\.description) } catch { return ["\(error)"] }
        }
        func validationErrors(_ yaml: String, env: [String: String]) -> [String] {
            do {
                let engine = Engine(plan: try loadTestPlan(yaml, env: env), now: Date(), makeProvider: ProviderRegistry.make, makeReverseProvider: ReverseProviderRegistry.make)
                _ = try engine.validate()
                return []
            } catch let e as DiagnosticsError { return e.diagnostics.map(\.description) } catch { return ["unexpected: \(error)"] }
        }
        let base = Self.yaml(reverseType: "linode", settings: ["token: ${REV_TOKEN}"])
        XCTAssertEqual(errors(base.replacingOccurrences(of: "{provider: rev}", with: "{provider: rev, wait_timout: 9}")),
                       ["test.yaml:6:28: error: server.reverse: unknown key 'wait_timout'; did you mean 'wait_timeout'? (valid keys: provider, wait_timeout)"])
        XCTAssertEqual(errors(base.replacingOccurrences(of: "{provider: rev}", with: "{provider: ref}")),
                       ["test.yaml:6:23: error: server.reverse.provider: 'ref' is not defined under providers; did you mean 'rev'? (defined: dns, rev)"])
        XCTAssertEqual(validationErrors(base.replacingOccurrences(of: "type: linode", with: "type: powerdns"), env: ["REV_TOKEN": "x"]),
                       ["test.yaml:11:3: error: providers.rev: type 'powerdns' cannot set PTR records, so it cannot be server.reverse.provider (reverse types: hetzner, linode, vultr); a PTR is set at the provider that hosts the IP address"])
        XCTAssertEqual(validationErrors(base.replacingOccurrences(of: "provider: dns\n", with: "provider: rev\n"), env: ["REV_TOKEN": "x"]).first,
                       "test.yaml:11:3: error: providers.rev: type 'linode' sets PTR records only: name it in server.reverse.provider, not as a domain's provider")
        XCTAssertEqual(validationErrors(base.replacingOccurrences(of: "token: ${REV_TOKEN}", with: "token: ${REV_TOKEN}\n    zone_id: 5"), env: ["REV_TOKEN": "x"]),
                       ["test.yaml:14:14: error: providers.rev: unknown setting 'zone_id' for type linode; valid keys: api_url, ca_file, insecure, timeout, token"])
        XCTAssertEqual(validationErrors(base, env: ["REV_TOKEN": "x"]), [])
    }

    func testOneHetznerEntryServesTheZonesAndThePTRs() throws {
        let yaml = """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          reverse: {provider: hz}
        providers:
          hz: {type: hetzner, token: "${HCLOUD_TOKEN}"}
        domains:
          - name: example.com

        """
        let plan = try loadTestPlan(yaml, env: ["HCLOUD_TOKEN": "x"])
        XCTAssertEqual(plan.server.reverse, ReverseSettings(provider: "hz", waitTimeout: 300, location: plan.server.reverse?.location))
        let engine = Engine(plan: plan, now: Date(), makeProvider: ProviderRegistry.make, makeReverseProvider: ReverseProviderRegistry.make)
        XCTAssertNoThrow(try engine.validate())
        XCTAssertEqual(try engine.reverseProvider().typeName, "hetzner")
        XCTAssertEqual(try engine.provider("hz").typeName, "hetzner")
    }
}

/// The real `mailplan` binary with a zone file for the forward records and the Linode fake
/// for the PTRs; the fake's forward lookup reads the zone file, so it refuses a PTR until
/// the binary has written the A/AAAA.
final class ReverseCLITests: XCTestCase {
    func testZoneFileAndLinodePlanApplyPlan() throws {
        let fake = try LinodeFake(); defer { fake.stop() }
        fake.addAddress("192.0.2.25"); fake.addAddress("2001:db8::25")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-reverse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let zonePath = dir.appendingPathComponent("example.com.zone")
        try "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ IN NS ns1.example.com.\nns1 IN A 192.0.2.53\n"
            .write(to: zonePath, atomically: true, encoding: .utf8)
        let config = ProviderConfig(name: "local", type: "zonefile", location: nil,
                                    settings: ["path": PlanValue(text: zonePath.path, location: nil)], baseDirectory: dir)
        let refused = EventLog()
        fake.setForward { name, ip in
            let addr = IPAddress(ip)!
            guard let zoneFile = try? ZoneFileProvider(config: config) else { return false }
            let ok = (try? zoneFile.readZone(try DomainName("example.com")))?
                .first { $0.key == RRsetKey(try! DomainName(name), addr.forwardType) }?.rdata.contains(where: addr.matches) ?? false
            if !ok { refused.add("\(name) \(ip)") }
            return ok
        }
        let yaml = """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          ipv6: 2001:db8::25
          reverse: {provider: linode}
        providers:
          local: {type: zonefile, path: \(zonePath.path)}
          linode: {type: linode, token: "${LINODE_TOKEN}", api_url: "\(fake.url)"}
        domains:
          - name: example.com
            provider: local

        """
        let env = ["LINODE_TOKEN": fake.token]
        let first = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, """
        mailplan will perform the following actions:

          # zone example.com. (provider local, zonefile)
          + example.com. MX ttl 3600
              + 10 mail.example.com.
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25

          # reverse DNS (provider linode, linode)
          ~ 25.2.0.192.in-addr.arpa. PTR 192-0-2-25.ip.linodeusercontent.com. -> mail.example.com.
              # 192.0.2.25: set after mail.example.com. A is served (the provider checks forward DNS)
          + 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mail.example.com.
              # 2001:db8::25: set after mail.example.com. AAAA is served (the provider checks forward DNS)

        Plan: 3 to add, 0 to change, 0 to destroy, 2 PTR records to set.

        """)
        XCTAssertEqual(fake.writeLines, [])
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("""
        Set PTR 25.2.0.192.in-addr.arpa. -> mail.example.com. (192.0.2.25 at provider 'linode' (linode)).
        Set PTR 5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. -> mail.example.com. (2001:db8::25 at provider 'linode' (linode)).
        Verified FCrDNS: 192.0.2.25 -> mail.example.com. -> 192.0.2.25.
        Verified FCrDNS: 2001:db8::25 -> mail.example.com. -> 2001:db8::25.
        Apply complete! Records: 3 added, 0 changed, 0 destroyed. PTR records: 2 set.

        """), apply.stdout)
        XCTAssertEqual(refused.lines, [], "the fake never saw a PTR before its forward record")
        XCTAssertEqual(fake.writeLines, ["PUT /v4/networking/ips/192.0.2.25", "PUT /v4/networking/ips/2001%3Adb8%3A%3A25"])
        XCTAssertEqual(fake.requests.filter { $0.method == "PUT" }.map(\.text), ["{\"rdns\":\"mail.example.com\"}", "{\"rdns\":\"mail.example.com\"}"])
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
        for r in [first, apply, again] { XCTAssertFalse((r.stdout + r.stderr).contains(fake.token), "the token leaked") }
    }

    func testForwardRefusedByTheProviderExitsOneWithTheReport() throws {
        let fake = try LinodeFake(); defer { fake.stop() }
        fake.addAddress("192.0.2.25")
        fake.setForward { _, _ in false }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-reverse-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let zonePath = dir.appendingPathComponent("example.com.zone")
        try "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 3600 1209600 3600\n@ IN NS ns1.example.com.\n"
            .write(to: zonePath, atomically: true, encoding: .utf8)
        let yaml = """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          reverse: {provider: linode}
        providers:
          local: {type: zonefile, path: \(zonePath.path)}
          linode: {type: linode, token: "${LINODE_TOKEN}", api_url: "\(fake.url)"}
        domains:
          - name: example.com
            provider: local

        """
        let r = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: ["LINODE_TOKEN": fake.token])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr.split(separator: "\n").map(String.init), [
            "example.com.: applying 2 changes at local (zonefile)",
            "25.2.0.192.in-addr.arpa.: setting PTR mail.example.com. at provider 'linode' (linode)",
            "error: provider linode (linode): setting the PTR of 192.0.2.25 to mail.example.com.: PUT \(fake.url)/networking/ips/192.0.2.25 returned HTTP 400: \"rdns: Domain mail.example.com does not resolve to 192.0.2.25\"; body sent: {\"rdns\":\"mail.example.com\"}",
            "  failed:        PTR 25.2.0.192.in-addr.arpa. -> mail.example.com. (192.0.2.25)",
        ])
        XCTAssertTrue(r.stdout.hasSuffix("Apply failed. Applied: 2 added, 0 changed, 0 destroyed, 0 PTR records set; run 'mailplan plan' to see what is left.\n"), r.stdout)
    }
}
