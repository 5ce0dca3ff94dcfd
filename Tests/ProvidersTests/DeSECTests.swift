import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}

final class DeSECTests: XCTestCase {
    let env = ["DESEC_TOKEN": "desec-test-token-0123456789"]
    var fake: DeSECFake!

    override func setUpWithError() throws {
        fake = try DeSECFake()
        fake.addDomain("example.com", minimumTTL: 3600)
        // Five RRsets and a page limit of 2: the listing needs three cursor pages.
        fake.pageLimit = 2
        fake.put("example.com", "", "NS", ttl: 3600, ["ns1.desec.io.", "ns2.desec.org."])
        fake.put("example.com", "", "TXT", ttl: 3600, ["\"google-site-verification=abc123\""])
        fake.put("example.com", "_acme-challenge", "TXT", ttl: 3600, ["\"token-xyz\""])
        fake.put("example.com", "www", "A", ttl: 3600, ["192.0.2.80"])
        fake.put("example.com", "www", "AAAA", ttl: 3600, ["2001:db8::80"])
    }
    override func tearDown() { fake.stop() }

    var yaml: String { CloudPlan.yaml(type: "desec", settings: ["token: ${DESEC_TOKEN}", "api_url: \(fake.url)"]) }

    func provider(_ rec: SleepRecorder = SleepRecorder(), minimumTTL: UInt32 = 3600) -> DeSECProvider {
        DeSECProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: fake.token, variable: "DESEC_TOKEN"), minimumTTL: minimumTTL,
                      client: HTTPClient(options: HTTPClientOptions(totalTimeout: 5, retry: RetryPolicy(maxAttempts: 3)), sleep: rec.sleep, jitter: { 1 }))
    }
    func engine(_ yaml: String? = nil, rec: SleepRecorder = SleepRecorder()) throws -> Engine {
        try CloudPlan.engine(yaml ?? self.yaml, env: env) { [unowned self] _ in self.provider(rec) }
    }

    var listing: [String] {
        ["GET /api/v1/domains/example.com/", "GET /api/v1/domains/example.com/rrsets/", "GET /api/v1/domains/example.com/rrsets/?cursor=",
         "GET /api/v1/domains/example.com/rrsets/?cursor=cur2", "GET /api/v1/domains/example.com/rrsets/?cursor=cur4"]
    }

    // MARK: - must show: plan → apply → plan no-op

    func testRoundTripIsOneBulkPatch() throws {
        let dkim = try CloudPlan.dkimValue()
        let e = try engine()
        let plan = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(plan.changesets), HetznerCloudTests.firstPlan
            .replacingOccurrences(of: "\"DKIM\"", with: "\"\(dkim)\"").replacingOccurrences(of: "(provider p, hetzner)", with: "(provider p, desec)"))
        XCTAssertEqual(fake.requests.map(\.line), listing, "more than pageLimit RRsets: 400 with Link, then every cursor page")
        XCTAssertEqual(fake.requests[0].headers["authorization"], "Token desec-test-token-0123456789")

        let report = e.apply(plan)
        XCTAssertTrue(report.succeeded, "\(report.zones.map { $0.error ?? "" })")
        let chunked = CloudPlan.twoChunks(dkim).replacingOccurrences(of: "\"", with: "\\\"")
        XCTAssertEqual(fake.writes.map(\.line), ["PATCH /api/v1/domains/example.com/rrsets/"])
        XCTAssertEqual(fake.writes[0].text, "[" + [
            #"{"records":["0 mail.example.com."],"subname":"","ttl":3600,"type":"MX"}"#,
            #"{"records":["\"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com\""],"subname":"_dmarc","ttl":3600,"type":"TXT"}"#,
            #"{"records":[""# + chunked + #""],"subname":"mail2026._domainkey","ttl":3600,"type":"TXT"}"#,
            #"{"records":["192.0.2.25"],"subname":"mail","ttl":3600,"type":"A"}"#,
            #"{"records":["0 ."],"subname":"noreply","ttl":3600,"type":"MX"}"#,
            #"{"records":["\"google-site-verification=abc123\"","\"v=spf1 mx -all\""],"subname":"","ttl":3600,"type":"TXT"}"#,
        ].joined(separator: ",") + "]")
        XCTAssertEqual(fake.rrset("example.com", "", "TXT")?.records, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
        XCTAssertEqual(fake.keys("example.com"), ["/MX", "/NS", "/TXT", "_acme-challenge/TXT", "_dmarc/TXT", "mail/A", "mail2026._domainkey/TXT", "noreply/MX", "www/A", "www/AAAA"])
        XCTAssertEqual(try CloudPlan.planText(try engine()), "No changes. The live DNS matches the plan.\n")
    }

    // MARK: - C04

    func testC04QuotedSPFIsANoOpAndANewDKIMIsSentAsTwoQuotedStrings() throws {
        fake.put("example.com", "", "TXT", ttl: 3600, ["\"v=spf1 mx -all\""])
        let k410 = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        let yaml = """
        version: 1
        server: {hostname: mail.example.net, ipv4: 192.0.2.25}
        providers:
          p: {type: desec, token: "${DESEC_TOKEN}", api_url: "\(fake.url)"}
        domains:
          - name: example.com
            mx: [{host: mx.example.net, preference: 10}]
            spf: {senders: [mx], all: "-all"}
            records:
              - {name: k410._domainkey, type: TXT, values: ["\(k410)"]}
        """
        let e = try engine(yaml)
        let plan = try e.makePlan()
        XCTAssertEqual(plan.changesets[0].changes.map(\.key.description), ["example.com. MX", "k410._domainkey.example.com. TXT"], "the apex SPF is a no-op")
        XCTAssertTrue(e.apply(plan).succeeded)
        XCTAssertEqual(fake.writes[0].text, #"[{"records":["10 mx.example.net."],"subname":"","ttl":3600,"type":"MX"},{"records":[""#
            + CloudPlan.twoChunks(k410).replacingOccurrences(of: "\"", with: "\\\"") + #""],"subname":"k410._domainkey","ttl":3600,"type":"TXT"}]"#)
        XCTAssertEqual(fake.rrset("example.com", "", "TXT")?.records, ["\"v=spf1 mx -all\""])
        XCTAssertEqual(try CloudPlan.planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
    }

    func testC04A400NamesTheRRsetAndShowsTheBodySentWithoutTheToken() throws {
        let cs = ZoneChangeset(zone: n("example.com"), provider: "p", providerType: "desec", changes: [
            .create(rr("mail.example.com.", .a, 3600, ["192.0.2.25"])),
            .create(RRset(name: n("sel._domainkey.example.com"), type: .txt, ttl: 3600, rdata: [.txt("v=DKIM1; p=abc")])),
        ])
        fake.faults.add("PATCH", "/rrsets/", FakeSupport.json(400, [["records": ["Record content for type TXT malformed: abc"]], [:]] as [Any]))
        XCTAssertThrowsError(try provider().apply(cs)) { e in
            let ae = e as! ApplyError
            XCTAssertEqual(ae.applied, [])
            XCTAssertEqual(cs.changes.map(\.key.description), ["sel._domainkey.example.com. TXT", "mail.example.com. A"], "canonical order")
            XCTAssertEqual(ae.failed, [cs.changes[0]])
            XCTAssertEqual(ae.notAttempted, [cs.changes[1]])
            XCTAssertEqual(ae.description, #"provider p, zone example.com.: deSEC refused sel._domainkey.example.com. TXT: records: Record content for type TXT malformed: abc (HTTP 400); nothing was applied (bulk writes are atomic); body sent: [{"records":["\"v=DKIM1; p=abc\""],"subname":"sel._domainkey","ttl":3600,"type":"TXT"},{"records":["192.0.2.25"],"subname":"mail","ttl":3600,"type":"A"}]"#)
            XCTAssertFalse(ae.description.contains(fake.token))
        }
        XCTAssertNil(fake.rrset("example.com", "mail", "A"), "nothing was written")
    }

    func testStrictFakeRejectsTheWholeBulkWithAnAlignedErrorArray() throws {
        let c = HTTPClient()
        let body = #"[{"subname":"ok","type":"A","ttl":3600,"records":["192.0.2.1"]},{"subname":"@","type":"TXT","ttl":3600,"records":["v=spf1 -all"]},{"subname":"x","type":"MX","ttl":60,"records":["10 mail.example.com"]}]"#
        let r = try c.send(HTTPRequest(.patch, URL(string: fake.url + "/domains/example.com/rrsets/")!,
                                       headers: ["Authorization": "Token \(fake.token)", "Content-Type": "application/json"], body: Data(body.utf8)))
        XCTAssertEqual(r.status, 400)
        XCTAssertEqual(r.text, #"[{},{"records":["Record content for type TXT malformed: v=spf1 -all"],"subname":["Subname can only use (lowercase) a-z, 0-9, ., -, and _, may start with a '*.', or just be '*'."]},{"records":["Record content for type MX malformed: Hostname must be fully qualified."],"ttl":["Ensure this value is greater than or equal to 3600."]}]"#)
        XCTAssertNil(fake.rrset("example.com", "ok", "A"), "atomic: the valid item was not applied either")
    }

    // MARK: - TTL bounds, auth, rate limits, pagination

    func testMinimumTTLIsClampedOfflineAndAHigherDomainMinimumStopsTheApply() throws {
        let low = CloudPlan.yaml(type: "desec", settings: ["token: ${DESEC_TOKEN}", "api_url: \(fake.url)"], ttl: 300)
        let (zones, warnings) = try CloudPlan.engine(low, env: env).validate()
        XCTAssertEqual(Set(zones[0].rrsets.map(\.rrset.ttl)), [3600])
        XCTAssertEqual(warnings.first?.description.contains("TTL 300 is outside what desec accepts (3600–86400 s); using 3600"), true, "\(warnings)")
        XCTAssertEqual(zones[0].rrsets[0].notes, ["TTL 300 is outside what desec accepts (3600–86400 s); using 3600"])

        fake.addDomain("example.org", minimumTTL: 7200)
        let p = provider()
        _ = try p.readZone(n("example.org"))
        let c = Change.create(rr("mail.example.org.", .a, 3600, ["192.0.2.25"]))
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: n("example.org"), provider: "p", providerType: "desec", changes: [c]))) { e in
            XCTAssertEqual((e as! ApplyError).reason, "deSEC domain example.org. has minimum_ttl 7200 but mail.example.org. A has TTL 3600; set minimum_ttl: 7200 under providers.p and plan again; nothing was applied")
        }
        XCTAssertEqual(fake.writes.count, 0)
    }

    func testRejectedTokenAndUnknownDomain() throws {
        let wrong = DeSECProvider(name: "p", baseURL: URL(string: fake.url)!, token: Secret(value: "not-the-token-42", variable: "DESEC_TOKEN"))
        XCTAssertThrowsError(try wrong.readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", #"provider p: desec rejected the token in ${DESEC_TOKEN} (HTTP 401; check scope: a deSEC token that may manage this domain (perm_manage_tokens is not needed; check allowed_subnets and the token's domain policy)) "Invalid token.""#)
        }
        XCTAssertThrowsError(try provider().readZone(n("example.net"))) { e in
            XCTAssertEqual("\(e)", "provider p: zone example.net. is not a domain of this deSEC account (GET \(fake.url)/domains/example.net/ returned 404)")
        }
    }

    func testBulkPatchIsRetriedAfterRetryAfter() throws {
        let rec = SleepRecorder()
        fake.faults.add("PATCH", "/rrsets/", FakeSupport.json(429, ["detail": "Request was throttled. Expected available in 1 second."], headers: ["Retry-After": "1"]))
        try provider(rec).apply(ZoneChangeset(zone: n("example.com"), provider: "p", providerType: "desec",
                                              changes: [.delete(rr("www.example.com.", .aaaa, 3600, ["2001:db8::80"]))]))
        XCTAssertEqual(rec.waits, [1])
        XCTAssertEqual(fake.writes.map(\.text), [#"[{"records":[],"subname":"www","type":"AAAA"}]"#, #"[{"records":[],"subname":"www","type":"AAAA"}]"#])
        XCTAssertNil(fake.rrset("example.com", "www", "AAAA"))
    }

    func testShortFailedOrForeignPagesAbortTheRead() throws {
        fake.faults.add("GET", "cursor=cur2", FakeSupport.json(200, [] as [Any], headers: ["Link": "<\(fake.url)/domains/example.com/rrsets/?cursor=cur4>; rel=\"next\""]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: GET \(fake.url)/domains/example.com/rrsets/?cursor=cur2 returned no RRsets on a page that is not the last (an empty page); refusing to plan from a partial listing")
        }
        fake.faults.add("GET", "cursor=cur4", FakeSupport.json(500, ["detail": "boom"]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", #"provider p: reading zone example.com. failed: GET "# + fake.url + #"/domains/example.com/rrsets/?cursor=cur4 returned HTTP 500: {"detail":"boom"}; refusing to plan from a partial listing"#)
        }
        fake.faults.add("GET", "rrsets/", FakeSupport.json(400, ["detail": "Pagination required."], headers: ["Link": "<https://evil.example.net/api/v1/domains/example.com/rrsets/?cursor=>; rel=\"first\""]))
        XCTAssertThrowsError(try provider().readZone(n("example.com"))) { e in
            XCTAssertEqual("\(e)", "provider p: reading zone example.com. failed: the pagination link 'https://evil.example.net/api/v1/domains/example.com/rrsets/?cursor=' does not point at \(fake.url); not following it with the token")
        }
    }

    func testConversionNamesAndTXT() throws {
        let zone = n("example.com")
        XCTAssertEqual(try DeSECConvert.subname(zone, zone: zone), "")
        XCTAssertEqual(try DeSECConvert.subname(n("_dmarc.example.com"), zone: zone), "_dmarc")
        let api = try JSONDecoder().decode(DeSECConvert.APIRRset.self, from: Data(#"{"domain":"example.com","subname":"","name":"example.com.","type":"TXT","records":["\"v=spf1 \" \"mx -all\"","\"tok\""],"ttl":3600,"created":"x"}"#.utf8))
        XCTAssertEqual(try DeSECConvert.rrset(api, zone: zone), RRset(name: zone, type: .txt, ttl: 3600, rdata: [.txt(TXTData(strings: [Array("v=spf1 ".utf8), Array("mx -all".utf8)])), .txt("tok")]))
        let bad = try JSONDecoder().decode(DeSECConvert.APIRRset.self, from: Data(#"{"subname":"mail","name":"www.example.com.","type":"A","records":["192.0.2.1"],"ttl":3600}"#.utf8))
        XCTAssertThrowsError(try DeSECConvert.rrset(bad, zone: zone)) { XCTAssertEqual("\($0)", "RRset subname 'mail' and name 'www.example.com.' disagree") }
    }
}
