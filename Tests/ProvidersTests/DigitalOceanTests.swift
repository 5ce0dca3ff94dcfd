import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// The DigitalOcean adapter over real HTTP (libcurl) against the stateful fake.
final class DigitalOceanTests: XCTestCase {
    let token = "dop_v1_test0123456789abcdef"
    var env: [String: String] { ["DIGITALOCEAN_TOKEN": token] }
    let verification = "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"

    func plan(_ fake: DigitalOceanFake, domains: String) -> String {
        """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          ipv6: 2001:db8::25
        providers:
          do:
            type: digitalocean
            token: ${DIGITALOCEAN_TOKEN}
            api_url: \(fake.url)
        defaults:
          ttl: 3600
        domains:
        \(domains)
        """
    }
    func js(_ s: String) -> String { FakeSupport.json(s) }
    func engine(_ yaml: String) throws -> Engine { Engine(plan: try loadTestPlan(yaml, env: env), now: Date(), makeProvider: ProviderRegistry.make) }
    func provider(_ fake: DigitalOceanFake, _ rec: SleepRecorder = SleepRecorder()) -> DigitalOceanProvider {
        DigitalOceanProvider(name: "do", token: Secret(value: token, variable: "DIGITALOCEAN_TOKEN"), baseURL: fake.url, client: testClient(rec))
    }
    let noChanges = "No changes. The live DNS matches the plan.\n"

    // MARK: - must show: plan → apply → plan

    func testRoundTripWithDKIM2048Preference0AndSharedApexTXT() throws {
        let fake = try digitalOceanFake(token)
        fake.maxPerPage = 2
        fake.addDomain("example.com")
        fake.addDomain("example.net")
        let tokenID = fake.seed(domain: "example.com", "TXT", "@", verification)
        let mxID = fake.seed(domain: "example.com", "MX", "@", "old-mx.example.net", priority: 10)
        fake.seed(domain: "example.com", "A", "www", "192.0.2.80")
        let untouched = fake.records.filter { $0.id != mxID }
        let yaml = plan(fake, domains: """
          - name: example.com
            mx: [{host: mail.example.com, preference: 0}]
            spf: {senders: [mx], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: reject, rua: ["mailto:dmarc@example.com"]}
          - name: example.net
            mx: [{host: mail.example.com, preference: 0}]
            spf: {senders: [], all: "-all"}
        """)
        let e = try engine(yaml)
        let result = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.com. (provider do, digitalocean)
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim2048)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25
          ~ example.com. MX ttl 3600
              - 10 old-mx.example.net.
              + 0 mail.example.com.
          ~ example.com. TXT ttl 3600
                "\(verification)"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

          # zone example.net. (provider do, digitalocean)
          + example.net. MX ttl 3600
              + 0 mail.example.com.
          + example.net. TXT ttl 3600
              + "v=spf1 -all"

        Plan: 6 to add, 2 to change, 0 to destroy.

        """)
        XCTAssertEqual(fake.writes.count, 0)
        let report = e.apply(result)
        XCTAssertTrue(report.succeeded, "\(reportLines(report))")
        let recs = "/v2/domains/example.com/records", net = "/v2/domains/example.net/records"
        XCTAssertEqual(fake.writes.map { "\($0.method) \($0.path) \($0.body)" }, [
            #"POST \#(recs) {"data":"v=DMARC1; p=reject; rua=mailto:dmarc@example.com","name":"_dmarc","ttl":3600,"type":"TXT"}"#,
            #"POST \#(recs) {"data":\#(js(dkim2048)),"name":"mail2026._domainkey","ttl":3600,"type":"TXT"}"#,
            #"POST \#(recs) {"data":"192.0.2.25","name":"mail","ttl":3600,"type":"A"}"#,
            #"POST \#(recs) {"data":"2001:db8::25","name":"mail","ttl":3600,"type":"AAAA"}"#,
            #"PUT \#(recs)/\#(mxID) {"data":"mail.example.com.","name":"@","priority":0,"ttl":3600,"type":"MX"}"#,
            #"POST \#(recs) {"data":"v=spf1 mx -all","name":"@","ttl":3600,"type":"TXT"}"#,
            #"POST \#(net) {"data":"mail.example.com.","name":"@","priority":0,"ttl":3600,"type":"MX"}"#,
            #"POST \#(net) {"data":"v=spf1 -all","name":"@","ttl":3600,"type":"TXT"}"#,
        ])
        let before = fake.requests.count
        XCTAssertEqual(try planText(try engine(yaml)), noChanges)
        XCTAssertEqual(fake.writes.count, 8)
        let pages = fake.requests[before...].filter { $0.path.hasPrefix(recs) }.map(\.path)
        XCTAssertEqual(pages, (1...4).map { "\(recs)?page=\($0)&per_page=200" }, "8 records, 2 per page: every page read")
        for r in untouched { XCTAssertEqual(fake.records.first { $0.id == r.id }, r) }
        XCTAssertEqual(fake.records.first { $0.id == tokenID }?.data, verification)
    }

    func testNullMXIsAValidationErrorBeforeAnyCall() throws {
        let fake = try digitalOceanFake(token)
        let yaml = plan(fake, domains: "  - name: example.net\n    mx: [{host: \".\", preference: 0}]")
        XCTAssertEqual(validationErrors(yaml, env: env), [
            "test.yaml:14:5: error: example.net. MX: provider 'do' (digitalocean) does not accept a null MX (0 .); host this zone at a provider that does, or list a real MX",
        ])
        XCTAssertEqual(fake.requests.count, 0)
    }

    // MARK: - cases

    func testC06MXTargetWithoutDotIsNoOpAndNeverReappendsTheZone() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        fake.seed(domain: "example.com", "MX", "@", "mail.example.com", priority: 10)
        fake.seed(domain: "example.com", "MX", "sub", "@", priority: 5)
        let sets = try provider(fake).readZone(try DomainName("example.com"))
        XCTAssertEqual(sets.map(\.description), ["example.com. 3600 IN MX 10 mail.example.com.", "sub.example.com. 3600 IN MX 5 example.com."])
        let yaml = plan(fake, domains: "  - name: example.com").replacingOccurrences(of: "hostname: mail.example.com\n  ipv4: 192.0.2.25\n  ipv6: 2001:db8::25", with: "hostname: mail.example.com\n  ipv4: 192.0.2.25")
        let text = try planText(try engine(yaml))
        XCTAssertFalse(text.contains("example.com. MX"), text)
        XCTAssertFalse(text.contains("example.com.example.com"), text)
    }

    func testC09ApexSpelledThreeWaysIsNoOpAndWrittenAsAt() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.org")
        fake.seed(domain: "example.org", "MX", "@", "mail.example.com", priority: 10)
        fake.seed(domain: "example.org", "A", "@", "192.0.2.80")
        for spelling in ["example.org.", "\"@\"", "\"\"", "example.org"] {
            let yaml = plan(fake, domains: "  - name: example.org\n    records: [{name: \(spelling), type: A, values: [192.0.2.80]}]")
            XCTAssertEqual(try planText(try engine(yaml)), noChanges, spelling)
        }
        let yaml = plan(fake, domains: "  - name: example.org\n    records: [{name: example.org, type: A, values: [192.0.2.81]}]")
        let e = try engine(yaml)
        XCTAssertTrue(e.apply(try e.makePlan()).succeeded)
        XCTAssertEqual(fake.writes.map(\.body), [#"{"data":"192.0.2.81","name":"@","ttl":3600,"type":"A"}"#])
        XCTAssertEqual(try planText(try engine(yaml)), noChanges)
    }

    func testTXTTooLongIsAValidationErrorBeforeAnyWrite() throws {
        let fake = try digitalOceanFake(token)
        let k4096 = "v=DKIM1; k=rsa; p=" + String(repeating: "B", count: 718)
        let quoted = String(repeating: "x", count: 490) + String(repeating: "\"", count: 10)
        let yaml = plan(fake, domains: """
          - name: example.org
            records:
              - {name: big._domainkey, type: TXT, values: ["\(k4096)"]}
              - {name: quoted, type: TXT, values: ['\(quoted)']}
        """)
        XCTAssertEqual(validationErrors(yaml, env: env), [
            "test.yaml:16:9: error: big._domainkey.example.org. TXT: a 736-byte TXT value exceeds what provider 'do' (digitalocean) accepts (504 bytes)",
            "test.yaml:17:9: error: quoted.example.org. TXT: the TXT value encodes to 515 bytes, more than provider 'do' (digitalocean) accepts (509)",
        ])
        XCTAssertEqual(fake.requests.count, 0, "validate makes no API call")
    }

    func testC11RateLimitedListIsRetriedAfterRetryAfter() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.org")
        fake.seed(domain: "example.org", "MX", "@", "mail.example.com", priority: 10)
        fake.script("GET", "/records", DigitalOceanFake.rateLimited(retryAfter: 2), times: 2)
        let rec = SleepRecorder()
        let p = provider(fake, rec)
        XCTAssertEqual(try p.readZone(try DomainName("example.org")).map(\.description), ["example.org. 3600 IN MX 10 mail.example.com."])
        XCTAssertEqual(rec.waits, [2, 2])
        fake.script("GET", "/records", DigitalOceanFake.rateLimited(retryAfter: 2), times: 3)
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", #"provider do: listing records for zone example.org. failed at page 1: GET \#(fake.url)/domains/example.org/records?page=1&per_page=200 returned HTTP 429 after 3 attempts: {"id":"too_many_requests","message":"API Rate limit exceeded."}; refusing to plan from a partial listing"#)
        }
        XCTAssertEqual(fake.writes.count, 0)
    }

    func testThreePagesShortListingAndFailedPage() throws {
        let fake = try digitalOceanFake(token)
        fake.maxPerPage = 1
        fake.addDomain("example.org")
        for i in 1...3 { fake.seed(domain: "example.org", "A", "h\(i)", "192.0.2.\(i)") }
        let p = provider(fake)
        XCTAssertEqual(try p.readZone(try DomainName("example.org")).map(\.name.fqdn), ["h1.example.org.", "h2.example.org.", "h3.example.org."])
        XCTAssertEqual(fake.requests.filter { $0.path.contains("/records") }.count, 3)
        fake.totalSkew = 1
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider do: listing records for zone example.org.: got 3 records over 3 pages but DigitalOcean reports meta.total 4; refusing to plan from a partial listing")
        }
        fake.totalSkew = 0
        fake.script("GET", "page=3", .init(503, "<html><body>Service Unavailable</body></html>"), times: 3)
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider do: listing records for zone example.org. failed at page 3: GET \(fake.url)/domains/example.org/records?page=3&per_page=200 returned HTTP 503 after 3 attempts: <html><body>Service Unavailable</body></html>; refusing to plan from a partial listing")
        }
    }

    func testRejectedTokenAndMissingDomain() throws {
        let fake = try digitalOceanFake("dop_v1_other")
        let p = provider(fake)
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider do: digitalocean rejected the token in ${DIGITALOCEAN_TOKEN} (HTTP 401; check scope: the token needs domain:read, and domain:create, domain:update and domain:delete to apply, for example.org): unauthorized: Unable to authenticate you")
            XCTAssertFalse("\(e)".contains(token))
        }
        let fake2 = try digitalOceanFake(token)
        XCTAssertThrowsError(try provider(fake2).readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider do: domain example.org is not in the DigitalOcean account of ${DIGITALOCEAN_TOKEN}; add it at DigitalOcean first")
        }
    }

    // MARK: - writing

    func testThirdWriteAnswering400ReportsExactlyAndPlanShowsWhatIsLeft() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        fake.failWrites = [2]
        let yaml = plan(fake, domains: """
          - name: example.com
            dmarc: {policy: none}
            tls_rpt: {rua: ["mailto:tlsrpt@example.com"]}
        """)
        let e = try engine(yaml)
        let report = e.apply(try e.makePlan())
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(reportLines(report), [
            "error: provider do, zone example.com.: DigitalOcean refused POST \(fake.url)/domains/example.com/records for create _smtp._tls.example.com. TXT (HTTP 400): bad_request: There was an error processing your request.; none of its record calls were done; run plan again to see what is left",
            "applied: create example.com. MX",
            "applied: create _dmarc.example.com. TXT",
            "failed: create _smtp._tls.example.com. TXT",
            "not attempted: create mail.example.com. A",
            "not attempted: create mail.example.com. AAAA",
        ])
        XCTAssertEqual(fake.writes.count, 3, "nothing after the failed write")
        XCTAssertEqual(try planText(try engine(yaml)), """
        mailplan will perform the following actions:

          # zone example.com. (provider do, digitalocean)
          + _smtp._tls.example.com. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25

        Plan: 3 to add, 0 to change, 0 to destroy.

        """)
    }

    func testUpdateIsMinimalPerRecordCallsInSafeOrder() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        let a = fake.seed(domain: "example.com", "MX", "@", "mx1.example.com", ttl: 300, priority: 10)
        let b = fake.seed(domain: "example.com", "MX", "@", "mx2.example.com", ttl: 300, priority: 20)
        let c = fake.seed(domain: "example.com", "MX", "@", "mx3.example.com", ttl: 300, priority: 30)
        let z = try DomainName("example.com")
        let p = provider(fake)
        let live = try p.readZone(z)
        let want = live[0].with(rdata: [.mx(preference: 10, exchange: try DomainName("mx1.example.com")),
                                        .mx(preference: 40, exchange: try DomainName("mx4.example.com"))]).with(ttl: 600)
        try p.apply(ZoneChangeset(zone: z, provider: "do", providerType: "digitalocean", changes: [.update(from: live[0], to: want)]))
        XCTAssertEqual(fake.writes.map { "\($0.method) \($0.path) \($0.body)" }, [
            #"PUT /v2/domains/example.com/records/\#(b) {"data":"mx4.example.com.","name":"@","priority":40,"ttl":600,"type":"MX"}"#,
            #"PUT /v2/domains/example.com/records/\#(a) {"data":"mx1.example.com.","name":"@","priority":10,"ttl":600,"type":"MX"}"#,
            "DELETE /v2/domains/example.com/records/\(c) ",
        ])
        XCTAssertEqual(try p.readZone(z), [want])
    }

    func testFakeStrictModeRejectsWhatTheAPIRejects() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        let client = testClient(SleepRecorder())
        func post(_ body: String) throws -> String {
            let r = try client.send(HTTPRequest(.post, URL(string: "\(fake.url)/domains/example.com/records")!,
                                                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Data(body.utf8)))
            return "\(r.status) " + (DigitalOceanConvert.errorText(r.body) ?? r.text)
        }
        XCTAssertEqual(try post(#"{"type":"MX","name":"@","data":"mail.example.com","priority":10,"ttl":3600}"#), "422 unprocessable_entity: Data needs to end with a dot (.)")
        XCTAssertEqual(try post(#"{"type":"MX","name":"@","data":".","priority":0,"ttl":3600}"#), "422 unprocessable_entity: Data is invalid")
        XCTAssertEqual(try post(#"{"type":"MX","name":"@","data":"mail.example.com.","ttl":3600}"#), "422 unprocessable_entity: Priority can't be blank")
        XCTAssertEqual(try post(#"{"type":"A","name":"www.example.com.","data":"192.0.2.1","ttl":3600}"#), "422 unprocessable_entity: Name is invalid")
        XCTAssertEqual(try post(#"{"type":"A","name":"www","data":"192.0.2.1","ttl":20}"#), "422 unprocessable_entity: Ttl must be greater than or equal to 30")
        XCTAssertEqual(try post("{\"type\":\"TXT\",\"name\":\"k\",\"data\":\"\(String(repeating: "a", count: 505))\",\"ttl\":3600}"), "422 unprocessable_entity: Data is too long (maximum is 512 characters)")
        XCTAssertEqual(fake.records.count, 0)
        XCTAssertTrue(try post(#"{"type":"MX","name":"@","data":"example.com.","priority":0,"ttl":3600}"#).hasPrefix("201 "))
        XCTAssertEqual(fake.records.map(\.data), ["@"], "a target at the apex reads back as @")
    }
}
