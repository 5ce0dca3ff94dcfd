import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}

final class HetznerCloudTests: XCTestCase {
    let env = ["HCLOUD_TOKEN": "hc-test-token-0123456789"]
    var fake: HetznerCloudFake!

    override func setUpWithError() throws {
        fake = try HetznerCloudFake()
        fake.addZone("example.com", id: 4711, ttl: 3600)
        // Five RRsets: with page_size 2 the listing takes three pages.
        fake.put("example.com", "@", "NS", ttl: nil, ["hydrogen.ns.hetzner.com.", "oxygen.ns.hetzner.com.", "helium.ns.hetzner.de."])
        fake.put("example.com", "@", "SOA", ttl: nil, ["hydrogen.ns.hetzner.com. dns.hetzner.com. 2026010101 86400 10800 3600000 3600"])
        fake.put("example.com", "@", "TXT", ttl: 3600, ["\"google-site-verification=abc123\""])
        fake.put("example.com", "_acme-challenge", "TXT", ttl: 300, ["\"token-xyz\""])
        fake.put("example.com", "www", "A", ttl: 300, ["192.0.2.80"])
    }
    override func tearDown() { fake.stop() }

    var yaml: String { CloudPlan.yaml(type: "hetzner", settings: ["token: ${HCLOUD_TOKEN}", "api_url: \(fake.url)", "page_size: 2"]) }

    func provider(_ rec: SleepRecorder = SleepRecorder(), pageSize: Int = 2, maxAttempts: Int = 5, actionTimeout: TimeInterval = 120) -> HetznerCloudProvider {
        HetznerCloudProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: fake.token, variable: "HCLOUD_TOKEN"),
                             pageSize: pageSize, actionTimeout: actionTimeout,
                             client: HTTPClient(options: HTTPClientOptions(totalTimeout: 5, retry: RetryPolicy(maxAttempts: maxAttempts)),
                                                sleep: rec.sleep, jitter: { 1 }),
                             sleep: rec.sleep)
    }
    func engine(_ rec: SleepRecorder = SleepRecorder(), maxAttempts: Int = 5) throws -> Engine {
        try CloudPlan.engine(yaml, env: env) { [unowned self] _ in self.provider(rec, maxAttempts: maxAttempts) }
    }

    static let firstPlan = """
    mailplan will perform the following actions:

      # zone example.com. (provider p, hetzner)
      + example.com. MX ttl 3600
          + 0 mail.example.com.
      + _dmarc.example.com. TXT ttl 3600
          + "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
      + mail2026._domainkey.example.com. TXT ttl 3600
          + "DKIM"
      + mail.example.com. A ttl 3600
          + 192.0.2.25
      + noreply.example.com. MX ttl 3600
          + 0 .
      ~ example.com. TXT ttl 3600
            "google-site-verification=abc123"
          + "v=spf1 mx -all"
          # only the v=spf1 value is managed; the other 1 TXT value is kept

    Plan: 5 to add, 1 to change, 0 to destroy.

    """

    // MARK: - must show: plan → apply → plan no-op

    func testRoundTripWithDKIMNullMXPreference0AndSharedApexTXT() throws {
        let dkim = try CloudPlan.dkimValue()
        XCTAssertEqual(dkim.utf8.count, 410)
        let e = try engine()
        let plan = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(plan.changesets), Self.firstPlan.replacingOccurrences(of: "\"DKIM\"", with: "\"\(dkim)\""))
        // One zone lookup and one list call per page (3 pages), never one per record.
        XCTAssertEqual(fake.requests.map(\.line), [
            "GET /v1/zones/example.com",
            "GET /v1/zones/example.com/rrsets?page=1&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=2&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=3&per_page=2",
        ])
        XCTAssertEqual(fake.requests[0].headers["authorization"], "Bearer hc-test-token-0123456789")

        let report = e.apply(plan)
        XCTAssertTrue(report.succeeded, "\(report.zones.map { $0.error ?? "" })")
        let chunked = CloudPlan.twoChunks(dkim).replacingOccurrences(of: "\"", with: "\\\"")
        XCTAssertEqual(fake.writes.map { "\($0.line) \($0.text)" }, [
            #"POST /v1/zones/example.com/rrsets {"name":"@","records":[{"value":"0 mail.example.com."}],"ttl":3600,"type":"MX"}"#,
            #"POST /v1/zones/example.com/rrsets {"name":"_dmarc","records":[{"value":"\"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\""}],"ttl":3600,"type":"TXT"}"#,
            #"POST /v1/zones/example.com/rrsets {"name":"mail2026._domainkey","records":[{"value":""# + chunked + #""}],"ttl":3600,"type":"TXT"}"#,
            #"POST /v1/zones/example.com/rrsets {"name":"mail","records":[{"value":"192.0.2.25"}],"ttl":3600,"type":"A"}"#,
            #"POST /v1/zones/example.com/rrsets {"name":"noreply","records":[{"value":"0 ."}],"ttl":3600,"type":"MX"}"#,
            #"POST /v1/zones/example.com/rrsets/@/TXT/actions/set_records {"records":[{"value":"\"google-site-verification=abc123\""},{"value":"\"v=spf1 mx -all\""}]}"#,
        ])
        // Every action was polled once until it reported success.
        XCTAssertEqual(fake.requests.filter { $0.path.hasPrefix("/v1/zones/actions/") }.map(\.path),
                       (9001...9006).map { "/v1/zones/actions/\($0)" })
        // The unmanaged verification token survives untouched, next to the SPF value.
        XCTAssertEqual(fake.rrset("example.com", "@", "TXT")?.records, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
        XCTAssertEqual(fake.rrset("example.com", "_acme-challenge", "TXT")?.records, ["\"token-xyz\""])
        XCTAssertEqual(fake.rrset("example.com", "www", "A")?.records, ["192.0.2.80"])

        // The DKIM set comes back as two quoted strings plus a trailing space (C02): no-op.
        XCTAssertEqual(try CloudPlan.planText(try engine()), "No changes. The live DNS matches the plan.\n")
    }

    // MARK: - cases

    func testC02TwoQuotedChunksWithTrailingSpaceReadAsOneValue() throws {
        let k410 = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        fake.put("example.com", "k410._domainkey", "TXT", ttl: nil, [CloudPlan.twoChunks(k410) + " "])
        let sets = try provider().readZone(n("example.com"))
        XCTAssertEqual(sets.first { $0.name == n("k410._domainkey.example.com") }, RRset(name: n("k410._domainkey.example.com"), type: .txt, ttl: 3600, rdata: [.txt(k410)]),
                       "ttl null is the zone's default TTL (3600)")
        // Writes send quoted ≤255-byte chunks.
        XCTAssertEqual(HetznerCloudConvert.values(RRset(name: n("x.example.com"), type: .txt, ttl: 60, rdata: [.txt(k410)])), [CloudPlan.twoChunks(k410)])
        let exactly255 = String(repeating: "b", count: 255)
        XCTAssertEqual(RESTAPI.quotedTXT(exactly255), "\"\(exactly255)\"")
        XCTAssertEqual(RESTAPI.quotedTXT(exactly255 + "c"), "\"\(exactly255)\" \"c\"")
        // Escapes count toward a string's 255 characters, so no quoted string is ever longer.
        let quotes = String(repeating: "\"", count: 130)
        XCTAssertEqual(RESTAPI.quotedTXT(quotes), "\"" + String(repeating: "\\\"", count: 127) + "\" \"" + String(repeating: "\\\"", count: 3) + "\"")
    }

    func testC09ApexSpellings() throws {
        let zone = n("example.com")
        XCTAssertEqual(try HetznerCloudConvert.apiName(zone, zone: zone), "@")
        XCTAssertEqual(try HetznerCloudConvert.apiName(n("mail.example.com"), zone: zone), "mail")
        XCTAssertThrowsError(try HetznerCloudConvert.apiName(n("example.org"), zone: zone))
        for spelled in ["@", "", "example.com", "example.com."] {
            let api = HetznerCloudConvert.APIRRset(name: spelled, type: "MX", ttl: 300, records: [.init(value: "10 mail")])
            XCTAssertEqual(try HetznerCloudConvert.rrset(api, zone: zone, zoneTTL: 3600), rr("example.com.", .mx, 300, ["10 mail.example.com."]), spelled)
        }
    }

    func testC09PlanSpellingsOfTheApexAreANoOpAgainstLiveAt() throws {
        fake.put("example.com", "@", "CAA", ttl: 3600, ["0 issue \"letsencrypt.org\""])
        for spelled in ["\"@\"", "\"\"", "example.com.", "example.com"] {
            let yaml = """
            version: 1
            server: {hostname: mail.example.net, ipv4: 192.0.2.25}
            providers:
              p: {type: hetzner, token: "${HCLOUD_TOKEN}", api_url: "\(fake.url)"}
            domains:
              - name: example.com
                mx: [{host: mx.example.net, preference: 10}]
                records:
                  - {name: \(spelled), type: CAA, values: ['0 issue "letsencrypt.org"']}
            """
            let plan = try CloudPlan.engine(yaml, env: env) { [unowned self] _ in self.provider() }.makePlan()
            XCTAssertEqual(plan.changesets[0].changes.map(\.key.description), ["example.com. MX"], spelled)
        }
    }

    func testIDNZoneIsLookedUpInALabelForm() throws {
        fake.addZone("xn--bcher-kva.example", id: 4712)
        fake.put("xn--bcher-kva.example", "@", "MX", ttl: 300, ["10 mail.xn--bcher-kva.example."])
        XCTAssertEqual(try provider().readZone(try DomainName("bücher.example")), [rr("xn--bcher-kva.example.", .mx, 300, ["10 mail.xn--bcher-kva.example."])])
        XCTAssertEqual(fake.requests.map(\.line), ["GET /v1/zones/xn--bcher-kva.example", "GET /v1/zones/xn--bcher-kva.example/rrsets?page=1&per_page=2"])
    }

    func testC11RetryAfterTwiceThenSuccessIsANoOpAfterWaiting() throws {
        _ = try engine().apply(try engine().makePlan())
        let before = fake.requests.count
        let rec = SleepRecorder()
        fake.faults.add("GET", "/rrsets?page=1", times: 2, FakeHTTPServer.Response(429, headers: ["Retry-After": "2"],
            #"{"error":{"code":"rate_limit_exceeded","message":"limit of 3600 requests per hour reached"}}"#))
        XCTAssertEqual(try CloudPlan.planText(try engine(rec)), "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(rec.waits, [2, 2])
        XCTAssertEqual(fake.requests.dropFirst(before).map(\.line), [
            "GET /v1/zones/example.com",
            "GET /v1/zones/example.com/rrsets?page=1&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=1&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=1&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=2&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=3&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=4&per_page=2",
            "GET /v1/zones/example.com/rrsets?page=5&per_page=2",
        ])
    }

    func testC11RetriesExhaustedExitOneNamingProviderEndpointStatusAttempts() throws {
        fake.faults.add("GET", "/rrsets", times: nil, FakeHTTPServer.Response(429, headers: ["Retry-After": "0"],
            #"{"error":{"code":"rate_limit_exceeded","message":"limit reached"}}"#))
        let r = try CloudPlan.run(["plan"], yaml: yaml, env: env)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("provider p: reading zone example.com. failed: GET \(fake.url)/zones/example.com/rrsets?page=1&per_page=2 returned HTTP 429 after 5 attempts"), r.stderr)
        XCTAssertFalse(r.stderr.contains(fake.token), "the token never appears")
        XCTAssertEqual(fake.writes.count, 0)
        XCTAssertEqual(fake.requests.count, 6, "one zone lookup, five attempts at page 1")
    }

    func testC11HTMLServiceUnavailableIsARetryableProviderErrorNotAParseCrash() throws {
        let rec = SleepRecorder()
        fake.faults.add("GET", "/rrsets", times: nil, FakeHTTPServer.Response(503, headers: ["Content-Type": "text/html"],
            "<html><body><h1>503 Service Unavailable</h1></body></html>"))
        XCTAssertThrowsError(try engine(rec, maxAttempts: 3).makePlan()) { e in
            XCTAssertTrue(e is ProviderError)
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: GET \(fake.url)/zones/example.com/rrsets?page=1&per_page=2 returned HTTP 503 after 3 attempts: <html><body><h1>503 Service Unavailable</h1></body></html>; refusing to plan from a partial listing")
        }
        XCTAssertEqual(rec.waits.count, 2)
        XCTAssertEqual(fake.writes.count, 0)
    }

    // MARK: - pagination

    func testShortPageAbortsTheRead() throws {
        fake.faults.add("GET", "rrsets?page=2", FakeSupport.json(200, [
            "rrsets": [["id": "@/TXT", "name": "@", "type": "TXT", "ttl": 3600, "records": [["value": "\"x\""]]]],
            "meta": ["pagination": ["page": 2, "per_page": 2, "next_page": 3, "last_page": 3, "total_entries": 5]]]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: GET \(fake.url)/zones/example.com/rrsets?page=2&per_page=2 returned 1 RRsets on a page of 2 that is not the last (a short page); refusing to plan from a partial listing")
        }
    }

    func testTotalEntriesMismatchAbortsTheRead() throws {
        fake.faults.add("GET", "rrsets?page=3", FakeSupport.json(200, [
            "rrsets": [] as [Any], "meta": ["pagination": ["page": 3, "per_page": 2, "next_page": NSNull(), "last_page": 3, "total_entries": 5]]]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: got 4 RRsets over 3 pages but Hetzner reports total_entries 5; refusing to plan from a partial listing")
        }
    }

    func testFailedPageAbortsTheRead() throws {
        fake.faults.add("GET", "rrsets?page=3", HetznerCloudFake.error(500, "server_error", "internal error"))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", #"provider p: reading zone example.com. failed: GET "# + fake.url + #"/zones/example.com/rrsets?page=3&per_page=2 returned HTTP 500: {"error":{"code":"server_error","details":{},"message":"internal error"}}; refusing to plan from a partial listing"#)
        }
    }

    func testMissingZoneSecondaryZoneAndRejectedToken() throws {
        XCTAssertThrowsError(try provider().readZone(n("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider p: zone example.org. does not exist in this Hetzner Cloud project (GET \(fake.url)/zones/example.org returned 404)")
        }
        fake.setMode("example.com", "secondary")
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: zone example.com. is a secondary zone at Hetzner; only primary zones accept RRset changes (incorrect_zone_mode)")
        }
        let wrong = HetznerCloudProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: "legacy-dns-token-999", variable: "HCLOUD_TOKEN"))
        XCTAssertThrowsError(try wrong.readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: hetzner rejected the token in ${HCLOUD_TOKEN} (HTTP 401; check scope: a Hetzner Cloud project API token with Read & Write permission (tokens of the legacy DNS Console are not valid here))")
            XCTAssertFalse("\(e)".contains("legacy-dns-token-999"))
        }
    }

    // MARK: - apply

    func testFailureOnTheThirdWriteReportsAppliedFailedNotAttemptedAndReplanShowsTheRest() throws {
        fake.faults.add("POST", "/rrsets", skip: 2, HetznerCloudFake.error(422, "invalid_input", "invalid input in field 'records'"))
        let e = try engine()
        let plan = try e.makePlan()
        let changes = plan.changesets[0].changes
        XCTAssertEqual(changes.count, 6)
        let report = e.apply(plan)
        XCTAssertFalse(report.succeeded)
        let z = report.zones[0]
        XCTAssertEqual(z.applied.map(\.key.description), ["example.com. MX", "_dmarc.example.com. TXT"])
        XCTAssertEqual(z.failed.map(\.key.description), ["mail2026._domainkey.example.com. TXT"])
        XCTAssertEqual(z.notAttempted.map(\.key.description), ["mail.example.com. A", "noreply.example.com. MX", "example.com. TXT"])
        let dkim = try CloudPlan.dkimValue()
        let sent = #"{"name":"mail2026._domainkey","records":[{"value":""# + CloudPlan.twoChunks(dkim).replacingOccurrences(of: "\"", with: "\\\"") + #""}],"ttl":3600,"type":"TXT"}"#
        XCTAssertEqual(z.error, "provider p, zone example.com.: Hetzner refused the create of mail2026._domainkey.example.com. TXT: POST \(fake.url)/zones/example.com/rrsets returned HTTP 422: \"invalid_input: invalid input in field 'records'\"; body sent: \(sent)")
        XCTAssertEqual(fake.writes.count, 3)
        XCTAssertEqual(try CloudPlan.planText(try engine()), """
        mailplan will perform the following actions:

          # zone example.com. (provider p, hetzner)
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + noreply.example.com. MX ttl 3600
              + 0 .
          ~ example.com. TXT ttl 3600
                "google-site-verification=abc123"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 3 to add, 1 to change, 0 to destroy.

        """)
    }

    func testUpdateOfValuesAndTTLIsTwoActionsAndDeleteIsOne() throws {
        let zone = n("example.com")
        let old = rr("www.example.com.", .a, 300, ["192.0.2.80"])
        let cs = ZoneChangeset(zone: zone, provider: "p", providerType: "hetzner", changes: [
            .update(from: old, to: rr("www.example.com.", .a, 600, ["192.0.2.81"])),
            .delete(rr("_acme-challenge.example.com.", .txt, 300, ["\"token-xyz\""])),
        ])
        fake.pollsUntilDone = 3
        let rec = SleepRecorder()
        try provider(rec).apply(cs)
        XCTAssertEqual(fake.writes.map { "\($0.line) \($0.text)" }, [
            #"POST /v1/zones/example.com/rrsets/www/A/actions/set_records {"records":[{"value":"192.0.2.81"}]}"#,
            #"POST /v1/zones/example.com/rrsets/www/A/actions/change_ttl {"ttl":600}"#,
            "DELETE /v1/zones/example.com/rrsets/_acme-challenge/TXT ",
        ])
        XCTAssertEqual(rec.waits, [0.25, 0.5, 1, 0.25, 0.5, 1, 0.25, 0.5, 1], "three polls per action, backing off")
        XCTAssertEqual(fake.rrset("example.com", "www", "A")?.ttl, 600)
        XCTAssertNil(fake.rrset("example.com", "_acme-challenge", "TXT"))
    }

    func testFailedActionAndActionTimeout() throws {
        let zone = n("example.com")
        let c1 = Change.create(rr("a.example.com.", .a, 300, ["192.0.2.1"]))
        let c2 = Change.create(rr("b.example.com.", .a, 300, ["192.0.2.2"]))
        fake.failNextAction(code: "action_failed", message: "zone update failed")
        XCTAssertThrowsError(try provider().apply(ZoneChangeset(zone: zone, provider: "p", providerType: "hetzner", changes: [c1, c2]))) { e in
            let ae = e as! ApplyError
            XCTAssertEqual(ae.applied, []); XCTAssertEqual(ae.failed, [c1]); XCTAssertEqual(ae.notAttempted, [c2])
            XCTAssertEqual(ae.reason, "Hetzner action 9001 (create of a.example.com. A) failed: action_failed: zone update failed")
        }
        fake.pollsUntilDone = 1000
        XCTAssertThrowsError(try provider(actionTimeout: 1).apply(ZoneChangeset(zone: zone, provider: "p", providerType: "hetzner", changes: [c2]))) { e in
            XCTAssertEqual((e as! ApplyError).reason, "Hetzner action 9002 (create of b.example.com. A) was still running after 1 s; it may still complete: run plan again to see the live state")
        }
    }

    // MARK: - the fake's strict mode and the adapter's settings

    func testStrictFakeRejectsWhatTheAPIRejects() throws {
        let c = HTTPClient()
        func post(_ body: String) throws -> HTTPResponse {
            try c.send(HTTPRequest(.post, URL(string: fake.url + "/zones/example.com/rrsets")!,
                                   headers: ["Authorization": "Bearer \(fake.token)", "Content-Type": "application/json"], body: Data(body.utf8)))
        }
        XCTAssertEqual(try post(#"{"name":"x","type":"TXT","ttl":300,"records":[{"value":"v=spf1 -all"}]}"#).status, 422)
        XCTAssertEqual(try post(#"{"name":"x.example.com.","type":"A","ttl":300,"records":[{"value":"192.0.2.1"}]}"#).status, 422)
        XCTAssertEqual(try post(#"{"name":"x","type":"A","ttl":30,"records":[{"value":"192.0.2.1"}]}"#).status, 422)
        XCTAssertEqual(try post(#"{"name":"x","type":"TXT","ttl":300,"records":[{"value":"\""# + String(repeating: "a", count: 256) + #"\""}]}"#).status, 422)
        XCTAssertEqual(try post(#"{"name":"www","type":"A","ttl":300,"records":[{"value":"192.0.2.1"}]}"#).status, 409)
        XCTAssertEqual(try post(#"{"name":"x","type":"A","ttl":300,"records":[{"value":"192.0.2.1"}]}"#).status, 201)
    }

    func testSettingsAndCapabilitiesAreCheckedOffline() throws {
        func config(_ s: [String: PlanValue]) -> ProviderConfig {
            ProviderConfig(name: "p", type: "hetzner", location: nil, settings: s, baseDirectory: URL(fileURLWithPath: "/tmp"))
        }
        let tok = PlanValue(text: "x", location: nil, secret: Secret(value: "x", variable: "HCLOUD_TOKEN"))
        let p = try ProviderRegistry.make(config(["token": tok])) as! HetznerCloudProvider
        XCTAssertEqual(p.baseURL.absoluteString, "https://api.hetzner.cloud/v1")
        XCTAssertEqual(p.pageSize, 100)
        XCTAssertEqual(p.capabilities.ttlRange, 60...2_147_483_647)
        XCTAssertThrowsError(try ProviderRegistry.make(config(["token": PlanValue(text: "literal", location: nil)]))) {
            XCTAssertEqual("\($0)", "error: providers.p: 'token' is a secret: write it as ${ENV_VAR} and set the variable, never the value itself")
        }
        XCTAssertThrowsError(try ProviderRegistry.make(config(["token": tok, "api_url": PlanValue(text: "http://dns.example.net/v1", location: nil)]))) {
            XCTAssertEqual("\($0)", "error: providers.p: plain http:// to dns.example.net would send the token in clear; use https://, or set insecure: true")
        }
        XCTAssertThrowsError(try ProviderRegistry.make(config(["token": tok, "page_size": PlanValue(text: "500", location: nil)]))) {
            XCTAssertEqual("\($0)", "error: providers.p: 'page_size' must be an integer from 1 to 100, got '500'")
        }
        // validate: a TTL below 60 is clamped with a note, offline.
        let low = CloudPlan.yaml(type: "hetzner", settings: ["token: ${HCLOUD_TOKEN}", "api_url: \(fake.url)"], ttl: 30)
        let (zones, warnings) = try CloudPlan.engine(low, env: env).validate()
        XCTAssertEqual(zones[0].rrsets.map(\.rrset.ttl), Array(repeating: 60, count: zones[0].rrsets.count))
        XCTAssertEqual(warnings.count, zones[0].rrsets.count)
        XCTAssertTrue(warnings[0].description.contains("TTL 30 is outside what hetzner accepts (60–2147483647 s); using 60"), warnings[0].description)
        XCTAssertEqual(fake.requests.count, 0, "validate makes no API call")
    }
}
