import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}

final class GandiTests: XCTestCase {
    let env = ["GANDI_TOKEN": "gandi-pat-test-0123456789"]
    var fake: GandiFake!

    override func setUpWithError() throws {
        fake = try GandiFake()
        fake.addDomain("example.com")
        fake.put("example.com", "@", "NS", ttl: 10800, ["ns-1.gandi.net.", "ns-2.gandi.net."])
        fake.put("example.com", "@", "TXT", ttl: 10800, ["\"google-site-verification=abc123\""])
        fake.put("example.com", "_acme-challenge", "TXT", ttl: 300, ["\"token-xyz\""])
        fake.put("example.com", "www", "A", ttl: 10800, ["192.0.2.80"])
        fake.put("example.com", "www", "AAAA", ttl: 10800, ["2001:db8::80"])
    }
    override func tearDown() { fake.stop() }

    var yaml: String { CloudPlan.yaml(type: "gandi", settings: ["token: ${GANDI_TOKEN}", "api_url: \(fake.url)", "page_size: 2"]) }

    func provider(_ rec: SleepRecorder = SleepRecorder(), sharingID: String? = nil) -> GandiProvider {
        GandiProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: fake.token, variable: "GANDI_TOKEN"), sharingID: sharingID, pageSize: 2,
                      client: HTTPClient(options: HTTPClientOptions(totalTimeout: 5, retry: RetryPolicy(maxAttempts: 3)), sleep: rec.sleep, jitter: { 1 }),
                      sleep: rec.sleep)
    }
    func engine() throws -> Engine { try CloudPlan.engine(yaml, env: env) { [unowned self] _ in self.provider() } }

    var planOne: String {
        HetznerCloudTests.firstPlan.replacingOccurrences(of: "(provider p, hetzner)", with: "(provider p, gandi)")
            .replacingOccurrences(of: "~ example.com. TXT ttl 3600", with: "~ example.com. TXT ttl 10800")
    }

    // MARK: - must show: plan → apply → plan no-op

    func testRoundTripOnePutPerRRset() throws {
        fake.relativeTargets = true // Gandi may return in-zone targets relative
        let dkim = try CloudPlan.dkimValue()
        let e = try engine()
        let plan = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(plan.changesets), planOne.replacingOccurrences(of: "\"DKIM\"", with: "\"\(dkim)\""))
        XCTAssertEqual(fake.requests.map(\.line), [
            "GET /v5/livedns/domains/example.com",
            "GET /v5/livedns/domains/example.com/records?page=1&per_page=2",
            "GET /v5/livedns/domains/example.com/records?page=2&per_page=2",
            "GET /v5/livedns/domains/example.com/records?page=3&per_page=2",
        ])
        XCTAssertEqual(fake.requests[0].headers["authorization"], "Bearer gandi-pat-test-0123456789")

        let report = e.apply(plan)
        XCTAssertTrue(report.succeeded, "\(report.zones.map { $0.error ?? "" })")
        let chunked = CloudPlan.twoChunks(dkim).replacingOccurrences(of: "\"", with: "\\\"")
        XCTAssertEqual(fake.writes.map { "\($0.line) \($0.text)" }, [
            #"PUT /v5/livedns/domains/example.com/records/%40/MX {"rrset_ttl":3600,"rrset_values":["0 mail.example.com."]}"#,
            #"PUT /v5/livedns/domains/example.com/records/_dmarc/TXT {"rrset_ttl":3600,"rrset_values":["\"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\""]}"#,
            #"PUT /v5/livedns/domains/example.com/records/mail2026._domainkey/TXT {"rrset_ttl":3600,"rrset_values":[""# + chunked + #""]}"#,
            #"PUT /v5/livedns/domains/example.com/records/mail/A {"rrset_ttl":3600,"rrset_values":["192.0.2.25"]}"#,
            #"PUT /v5/livedns/domains/example.com/records/noreply/MX {"rrset_ttl":3600,"rrset_values":["0 ."]}"#,
            #"PUT /v5/livedns/domains/example.com/records/%40/TXT {"rrset_ttl":10800,"rrset_values":["\"google-site-verification=abc123\"","\"v=spf1 mx -all\""]}"#,
        ])
        XCTAssertEqual(fake.rrset("example.com", "@", "TXT")?.values, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
        XCTAssertEqual(fake.rrset("example.com", "_acme-challenge", "TXT")?.values, ["\"token-xyz\""])
        // Read back with "0 mail" (relative) for the MX: still a no-op.
        XCTAssertEqual(try CloudPlan.planText(try engine()), "No changes. The live DNS matches the plan.\n")
    }

    func testFailureOnTheThirdWriteReportsAppliedFailedNotAttemptedAndReplanShowsTheRest() throws {
        fake.faults.add("PUT", "/records/", skip: 2, FakeSupport.json(400, ["status": "error", "errors": [["location": "body", "name": "rrset_values", "description": "invalid value"]]]))
        let e = try engine()
        let report = e.apply(try e.makePlan())
        let z = report.zones[0]
        XCTAssertEqual(z.applied.map(\.key.description), ["example.com. MX", "_dmarc.example.com. TXT"])
        XCTAssertEqual(z.failed.map(\.key.description), ["mail2026._domainkey.example.com. TXT"])
        XCTAssertEqual(z.notAttempted.map(\.key.description), ["mail.example.com. A", "noreply.example.com. MX", "example.com. TXT"])
        let dkim = try CloudPlan.dkimValue()
        let body = #"{"rrset_ttl":3600,"rrset_values":[""# + CloudPlan.twoChunks(dkim).replacingOccurrences(of: "\"", with: "\\\"") + #""]}"#
        XCTAssertEqual(z.error, "provider p, zone example.com.: Gandi refused the create of mail2026._domainkey.example.com. TXT: PUT \(fake.url)/domains/example.com/records/mail2026._domainkey/TXT returned HTTP 400: \"rrset_values: invalid value\"; body sent: \(body)")
        XCTAssertEqual(fake.writes.count, 3)
        XCTAssertEqual(try CloudPlan.planText(try engine()), """
        mailplan will perform the following actions:

          # zone example.com. (provider p, gandi)
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + noreply.example.com. MX ttl 3600
              + 0 .
          ~ example.com. TXT ttl 10800
                "google-site-verification=abc123"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 3 to add, 1 to change, 0 to destroy.

        """)
    }

    // MARK: - reading

    func testTotalCountMismatchShortPageAndFailedPageAbortTheRead() throws {
        fake.faults.add("GET", "?page=3", FakeSupport.json(200, [] as [Any], headers: ["Total-Count": "5"]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: GET \(fake.url)/domains/example.com/records?page=3&per_page=2 returned no RRsets on a page that is not the last (an empty page); refusing to plan from a partial listing")
        }
        fake.faults.add("GET", "?page=2", FakeSupport.json(200, [] as [Any], headers: ["Total-Count": "6"]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: Total-Count changed from 5 to 6 while paging (the listing changed during the read); run plan again")
        }
        fake.faults.add("GET", "?page=2", GandiFake.error(500, "Internal Server Error", "HTTPInternalServerError", "Internal Server Error"))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertTrue("\(e)".hasPrefix("provider p: reading zone example.com. failed: GET \(fake.url)/domains/example.com/records?page=2&per_page=2 returned HTTP 500: "), "\(e)")
            XCTAssertTrue("\(e)".hasSuffix("; refusing to plan from a partial listing"), "\(e)")
        }
    }

    func testRejectedTokenUnknownDomainAndSharingID() throws {
        let wrong = GandiProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: "wrong-pat-77777", variable: "GANDI_TOKEN"))
        XCTAssertThrowsError(try wrong.readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", #"provider p: gandi rejected the token in ${GANDI_TOKEN} (HTTP 401; check scope: a Gandi personal access token with the "Manage domain name technical configurations" (LiveDNS) permission for this domain): "The server could not verify that you authorized to access the document you requested.""#)
        }
        XCTAssertThrowsError(try provider().readZone(n("example.net"))) { e in
            XCTAssertEqual("\(e)", "provider p: zone example.net. is not a LiveDNS domain of this Gandi account (GET \(fake.url)/domains/example.net returned 404)")
        }
        _ = try provider(sharingID: "org 1").readZone(n("example.com"))
        XCTAssertEqual(fake.requests.suffix(4).map(\.path), [
            "/v5/livedns/domains/example.com?sharing_id=org%201",
            "/v5/livedns/domains/example.com/records?page=1&per_page=2&sharing_id=org%201",
            "/v5/livedns/domains/example.com/records?page=2&per_page=2&sharing_id=org%201",
            "/v5/livedns/domains/example.com/records?page=3&per_page=2&sharing_id=org%201",
        ])
    }

    func testPutRetriedAfter429AndDeleteOfAGoneRRsetIsDone() throws {
        let rec = SleepRecorder()
        fake.faults.add("PUT", "/records/www/A", FakeSupport.json(429, ["code": 429, "message": "Too Many Requests"], headers: ["Retry-After": "3"]))
        let cs = ZoneChangeset(zone: n("example.com"), provider: "p", providerType: "gandi", changes: [
            .update(from: rr("www.example.com.", .a, 10800, ["192.0.2.80"]), to: rr("www.example.com.", .a, 300, ["192.0.2.81"])),
            .delete(rr("gone.example.com.", .a, 300, ["192.0.2.9"])),
        ])
        try provider(rec).apply(cs)
        XCTAssertEqual(rec.waits, [3])
        XCTAssertEqual(fake.writes.map { "\($0.line) \($0.text)" }, [
            #"PUT /v5/livedns/domains/example.com/records/www/A {"rrset_ttl":300,"rrset_values":["192.0.2.81"]}"#,
            #"PUT /v5/livedns/domains/example.com/records/www/A {"rrset_ttl":300,"rrset_values":["192.0.2.81"]}"#,
            "DELETE /v5/livedns/domains/example.com/records/gone/A ",
        ])
        XCTAssertEqual(fake.rrset("example.com", "www", "A")?.values, ["192.0.2.81"])
    }

    func testConversionApexRelativeTargetsAndTTLBounds() throws {
        let zone = n("example.com")
        XCTAssertEqual(try GandiConvert.name(zone, zone: zone), "@")
        let api = try JSONDecoder().decode([GandiConvert.APIRRset].self, from: Data(#"[{"rrset_name":"@","rrset_type":"MX","rrset_ttl":10800,"rrset_values":["10 spool.mail.gandi.net.","50 fb"],"rrset_href":"x"},{"rrset_name":"@","rrset_type":"TXT","rrset_values":["\"v=spf1 include:_mailcust.gandi.net ?all\""]}]"#.utf8))
        XCTAssertEqual(try GandiConvert.rrset(api[0], zone: zone), rr("example.com.", .mx, 10800, ["10 spool.mail.gandi.net.", "50 fb.example.com."]))
        XCTAssertEqual(try GandiConvert.rrset(api[1], zone: zone), RRset(name: zone, type: .txt, ttl: 10800, rdata: [.txt("v=spf1 include:_mailcust.gandi.net ?all")]))
        XCTAssertEqual(GandiProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: "x", variable: "X")).capabilities.ttlRange, 300...2_592_000)
        // The strict fake refuses what Gandi refuses.
        let c = HTTPClient()
        func put(_ path: String, _ body: String) throws -> Int {
            try c.send(HTTPRequest(.put, URL(string: fake.url + "/domains/example.com/records/" + path)!,
                                   headers: ["Authorization": "Bearer \(fake.token)", "Content-Type": "application/json"], body: Data(body.utf8))).status
        }
        XCTAssertEqual(try put("x/TXT", #"{"rrset_ttl":300,"rrset_values":["v=spf1 -all"]}"#), 400)
        XCTAssertEqual(try put("x/A", #"{"rrset_ttl":299,"rrset_values":["192.0.2.1"]}"#), 400)
        XCTAssertEqual(try put("x.example.com./A", #"{"rrset_ttl":300,"rrset_values":["192.0.2.1"]}"#), 400)
        XCTAssertEqual(try put("x/A", #"{"rrset_ttl":300,"rrset_values":["192.0.2.1"]}"#), 201)
    }
}
