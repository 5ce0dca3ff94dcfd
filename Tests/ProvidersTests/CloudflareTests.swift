import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// The Cloudflare adapter over real HTTP (libcurl) against the stateful fake.
final class CloudflareTests: XCTestCase {
    let token = "cf-test-token-0123456789abcdef"
    var env: [String: String] { ["CLOUDFLARE_API_TOKEN": token] }
    let verification = "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"

    func plan(_ fake: CloudflareFake, extraSettings: String = "", domains: String) -> String {
        """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
          ipv6: 2001:db8::25
        providers:
          cf:
            type: cloudflare
            token: ${CLOUDFLARE_API_TOKEN}
            api_url: \(fake.url)
        \(extraSettings)
        defaults:
          ttl: 3600
        domains:
        \(domains)
        """
    }

    /// A JSON string literal.
    func js(_ s: String) -> String { FakeSupport.json(s) }

    func engine(_ yaml: String) throws -> Engine {
        Engine(plan: try loadTestPlan(yaml, env: env), now: Date(), makeProvider: ProviderRegistry.make)
    }

    // MARK: - must show: plan → apply → plan

    func testRoundTripWithDKIM2048NullMXPreference0AndSharedApexTXT() throws {
        let fake = try cloudflareFake(token)
        fake.maxPerPage = 2
        let z1 = fake.addZone("example.com")
        let z2 = fake.addZone("example.net")
        let tokenID = fake.seed(zone: "example.com", "TXT", "example.com", q(verification))
        let mxID = fake.seed(zone: "example.com", "MX", "example.com", "old-mx.example.net", priority: 10)
        fake.seed(zone: "example.com", "A", "www.example.com", "192.0.2.80", proxied: true)
        let untouched = fake.records.filter { $0.id != mxID }

        let yaml = plan(fake, domains: """
          - name: example.com
            provider: cf
            mx: [{host: mail.example.com, preference: 0}]
            spf: {senders: [mx], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: reject, rua: ["mailto:dmarc@example.com"]}
          - name: example.net
            provider: cf
            mx: [{host: ".", preference: 0}]
            spf: {senders: [], all: "-all"}
        """)
        let expected = """
        mailplan will perform the following actions:

          # zone example.com. (provider cf, cloudflare)
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

          # zone example.net. (provider cf, cloudflare)
          + example.net. MX ttl 3600
              + 0 .
          + example.net. TXT ttl 3600
              + "v=spf1 -all"

        Plan: 6 to add, 2 to change, 0 to destroy.

        """
        let e = try engine(yaml)
        let result = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(result.changesets), expected)
        XCTAssertEqual(fake.writes.count, 0, "plan never writes")

        let report = e.apply(result)
        XCTAssertTrue(report.succeeded, "\(reportLines(report))")
        let writes = fake.writes
        XCTAssertEqual(writes.map(\.path), ["/client/v4/zones/\(z1)/dns_records/batch", "/client/v4/zones/\(z2)/dns_records/batch"],
                       "one batch request per zone")
        XCTAssertEqual(dkim2048.utf8.count, 410)
        let dkimContent = q(String(dkim2048.prefix(255))) + " " + q(String(dkim2048.dropFirst(255)))
        XCTAssertEqual(writes[0].body, """
        {"deletes":[],"patches":[],"posts":[\
        {"content":\(js(q("v=DMARC1; p=reject; rua=mailto:dmarc@example.com"))),"name":"_dmarc.example.com","ttl":3600,"type":"TXT"},\
        {"content":\(js(dkimContent)),"name":"mail2026._domainkey.example.com","ttl":3600,"type":"TXT"},\
        {"content":"192.0.2.25","name":"mail.example.com","proxied":false,"ttl":3600,"type":"A"},\
        {"content":"2001:db8::25","name":"mail.example.com","proxied":false,"ttl":3600,"type":"AAAA"},\
        {"content":\(js(q("v=spf1 mx -all"))),"name":"example.com","ttl":3600,"type":"TXT"}],\
        "puts":[{"content":"mail.example.com","id":"\(mxID)","name":"example.com","priority":0,"ttl":3600,"type":"MX"}]}
        """)
        XCTAssertEqual(writes[1].body, """
        {"deletes":[],"patches":[],"posts":[\
        {"content":".","name":"example.net","priority":0,"ttl":3600,"type":"MX"},\
        {"content":\(js(q("v=spf1 -all"))),"name":"example.net","ttl":3600,"type":"TXT"}],"puts":[]}
        """)

        let before = fake.requests.count
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(fake.writes.count, 2)
        // example.com now holds 8 records: 4 pages of 2, every one read.
        let pages = fake.requests[before...].filter { $0.path.hasPrefix("/client/v4/zones/\(z1)/dns_records") }.map(\.path)
        XCTAssertEqual(pages, (1...4).map { "/client/v4/zones/\(z1)/dns_records?page=\($0)&per_page=100" })
        // The verification token and the unmanaged proxied www record are untouched.
        for r in untouched { XCTAssertEqual(fake.records.first { $0.id == r.id }, r) }
        XCTAssertEqual(fake.records.first { $0.id == tokenID }?.content, q(verification))
        XCTAssertEqual(fake.records.count, 10)
    }

    // MARK: - cases

    func testC01SplitDKIMIsNoOpAndOneUnsplitStringIsOneUpdate() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.com")
        fake.seed(zone: "example.com", "MX", "example.com", "mail.example.com", priority: 10)
        let id = fake.seed(zone: "example.com", "TXT", "sel._domainkey.example.com", q(String(k410.prefix(255))) + " " + q(String(k410.dropFirst(255))))
        let yaml = plan(fake, domains: """
          - name: example.com
            provider: cf
            mx: [{host: mail.example.com, preference: 10}]
            records: [{name: sel._domainkey, type: TXT, values: ["\(k410)"]}]
        """).replacingOccurrences(of: "hostname: mail.example.com", with: "hostname: mail.example.org")
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")

        // The same value stored as one quoted 410-byte string: one update, then a no-op.
        let fake2 = try cloudflareFake(token)
        fake2.addZone("example.com")
        fake2.seed(zone: "example.com", "MX", "example.com", "mail.example.com", priority: 10)
        let id2 = fake2.seed(zone: "example.com", "TXT", "sel._domainkey.example.com", q(k410))
        let yaml2 = yaml.replacingOccurrences(of: fake.url, with: fake2.url)
        let e = try engine(yaml2)
        let result = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.com. (provider cf, cloudflare)
          ~ sel._domainkey.example.com. TXT ttl 3600
                "\(k410)"
              # a TXT string over 255 bytes is stored as one string; rewritten as ≤255-byte strings

        Plan: 0 to add, 1 to change, 0 to destroy.

        """)
        XCTAssertTrue(e.apply(result).succeeded)
        XCTAssertEqual(fake2.writes.map(\.body), ["""
        {"deletes":[],"patches":[{"content":\(js(q(String(k410.prefix(255))) + " " + q(String(k410.dropFirst(255))))),"id":"\(id2)","ttl":3600}],"posts":[],"puts":[]}
        """])
        XCTAssertEqual(try planText(try engine(yaml2)), "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(fake.records.first { $0.id == id }?.content.count, 415, "the split form: 410 bytes, 4 quotes, 1 space")
    }

    func testC07PreferenceZeroIsSentAndReadBack() throws {
        let fake = try cloudflareFake(token)
        let z = fake.addZone("example.org")
        let yaml = plan(fake, domains: """
          - name: example.org
            provider: cf
            mx: [{host: mail.example.com, preference: 0}]
        """)
        let e = try engine(yaml)
        XCTAssertTrue(e.apply(try e.makePlan()).succeeded)
        XCTAssertEqual(fake.writes.map(\.path), ["/client/v4/zones/\(z)/dns_records/batch"])
        XCTAssertEqual(fake.writes[0].body, #"{"deletes":[],"patches":[],"posts":[{"content":"mail.example.com","name":"example.org","priority":0,"ttl":3600,"type":"MX"}],"puts":[]}"#)
        XCTAssertEqual(fake.records.map(\.priority), [0])
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
    }

    func testC08NullMXIsNoOpAndNullMXWithAnotherIsAnError() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.org")
        fake.seed(zone: "example.org", "MX", "example.org", ".", priority: 0)
        let yaml = plan(fake, domains: """
          - name: example.org
            provider: cf
            mx: [{host: ".", preference: 0}]
        """)
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
        let bad = yaml.replacingOccurrences(of: #"mx: [{host: ".", preference: 0}]"#, with: #"mx: [{host: ".", preference: 0}, {host: mail.example.com, preference: 10}]"#)
        XCTAssertEqual(validationErrors(bad, env: env), ["test.yaml:17:9: error: example.org. MX: a null MX (0 .) must be the only MX record at the name (RFC 7505 §3)"])
    }

    func testC10AutoTTLIsNoOpAgainstTTL1AndCreatesWithTTL1() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.org")
        fake.seed(zone: "example.org", "MX", "example.org", "mail.example.com", ttl: 1, priority: 10)
        let yaml = plan(fake, domains: """
          - name: example.org
            provider: cf
            ttl: auto
            dmarc: {policy: none}
        """)
        let e = try engine(yaml)
        let result = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.org. (provider cf, cloudflare)
          + _dmarc.example.org. TXT ttl 1
              + "v=DMARC1; p=none"
              # ttl auto is cloudflare ttl 1 (automatic)

        Plan: 1 to add, 0 to change, 0 to destroy.

        """, "the MX at ttl 1 is a no-op")
        XCTAssertTrue(e.apply(result).succeeded)
        XCTAssertEqual(fake.writes[0].body, #"{"deletes":[],"patches":[],"posts":[{"content":"\"v=DMARC1; p=none\"","name":"_dmarc.example.org","ttl":1,"type":"TXT"}],"puts":[]}"#)
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
    }

    func testC10AutoTTLOnAProviderWithoutItIsAValidationError() throws {
        let yaml = """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          do: {type: digitalocean, token: "${DIGITALOCEAN_TOKEN}", api_url: "http://127.0.0.1:9/v2"}
        domains:
          - name: example.org
            ttl: auto
            dmarc: {policy: none}
        """
        XCTAssertEqual(validationErrors(yaml, env: ["DIGITALOCEAN_TOKEN": "dop_v1_x"]), [
            "test.yaml:6:5: error: example.org. MX: ttl: auto is not supported by provider 'do' (digitalocean); give a TTL in seconds (30–2147483647)",
            "test.yaml:6:5: error: _dmarc.example.org. TXT: ttl: auto is not supported by provider 'do' (digitalocean); give a TTL in seconds (30–2147483647)",
        ])
    }

    func testC13ProxiedMailHostGetsTwoMailSafetyUpdates() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.com")
        fake.seed(zone: "example.com", "MX", "example.com", "mail.example.com", priority: 10)
        let a = fake.seed(zone: "example.com", "A", "mail.example.com", "192.0.2.25", proxied: true)
        let aaaa = fake.seed(zone: "example.com", "AAAA", "mail.example.com", "2001:db8::25", proxied: true)
        fake.seed(zone: "example.com", "A", "www.example.com", "192.0.2.80", proxied: true)
        let yaml = plan(fake, domains: "  - name: example.com\n    provider: cf")
        let e = try engine(yaml)
        let result = try e.makePlan()
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.com. (provider cf, cloudflare)
          ~ mail.example.com. A ttl 1 -> 3600
                192.0.2.25
              # mail-safety fix: proxied → false
              # class mail-breaking: live data breaks mail
          ~ mail.example.com. AAAA ttl 1 -> 3600
                2001:db8::25
              # mail-safety fix: proxied → false
              # class mail-breaking: live data breaks mail

        Plan: 0 to add, 2 to change, 0 to destroy.

        """)
        XCTAssertEqual(result.warnings.map(\.description), [], "www is proxied but no mail host: left alone, no warning")
        XCTAssertTrue(e.apply(result).succeeded)
        XCTAssertEqual(fake.writes.map(\.body), ["""
        {"deletes":[],"patches":[{"id":"\(a)","proxied":false,"ttl":3600},{"id":"\(aaaa)","proxied":false,"ttl":3600}],"posts":[],"puts":[]}
        """])
        XCTAssertEqual(try planText(try engine(yaml)), "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(fake.records.first { $0.name == "www.example.com" }?.proxied, true)
    }

    func testC13AskingProxiedForAnMXTargetIsAValidationError() throws {
        let fake = try cloudflareFake(token)
        let yaml = plan(fake, extraSettings: "    proxied_names: www.example.com, mail.example.com", domains: "  - name: example.com\n    provider: cf")
        XCTAssertEqual(validationErrors(yaml, env: env), [
            "error: providers.cf.proxied_names: mail.example.com. is an MX target of example.com.; SMTP is not proxied by Cloudflare, so mail to it would fail: remove it from proxied_names",
        ])
        XCTAssertEqual(fake.requests.count, 0, "validate makes no API call")
    }

    func testC13UnmanagedProxiedMXTargetIsAWarning() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.com")
        fake.seed(zone: "example.com", "A", "mx2.example.com", "192.0.2.26", proxied: true)
        let yaml = plan(fake, domains: """
          - name: example.com
            provider: cf
            mx: [{host: mail.example.com, preference: 10}, {host: mx2.example.com, preference: 20}]
        """).replacingOccurrences(of: "hostname: mail.example.com", with: "hostname: mail.example.org")
        let result = try engine(yaml).makePlan()
        XCTAssertEqual(result.warnings.map(\.description), [
            "warning: mx2.example.com. A at provider 'cf' (cloudflare) needs a mail-safety fix: proxied → false, but the plan does not manage it; fix it at the provider",
        ])
        XCTAssertEqual(result.changesets[0].changes.map(\.key.description), ["example.com. MX"])
    }

    // MARK: - reading

    func testC11RateLimitedListIsRetriedAfterRetryAfterThenNoOp() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.org")
        fake.seed(zone: "example.org", "MX", "example.org", "mail.example.com", priority: 10)
        fake.script("GET", "/dns_records", CloudflareFake.rateLimited(retryAfter: 2), times: 2)
        let rec = SleepRecorder()
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(rec))
        XCTAssertEqual(try p.readZone(try DomainName("example.org")).map(\.description), ["example.org. 3600 IN MX 10 mail.example.com."])
        XCTAssertEqual(rec.waits, [2, 2])
        XCTAssertEqual(fake.requests.filter { $0.path.contains("dns_records") }.count, 3, "one list call per page, never per record")

        fake.script("GET", "/dns_records", CloudflareFake.rateLimited(retryAfter: 2), times: 3)
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider cf: listing records for zone example.org. failed: GET \(fake.url)/zones/\(fake.records[0].zoneID)/dns_records?page=1&per_page=100 returned HTTP 429 after 3 attempts: {\"errors\":[{\"code\":971,\"message\":\"Please wait and consider throttling your request speed\"}],\"messages\":[],\"result\":null,\"success\":false}")
        }
        XCTAssertEqual(fake.writes.count, 0)
    }

    func testShortOrFailedPageAbortsThePlan() throws {
        let fake = try cloudflareFake(token)
        fake.maxPerPage = 1
        let z = fake.addZone("example.org")
        for i in 1...3 { fake.seed(zone: "example.org", "A", "h\(i).example.org", "192.0.2.\(i)") }
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(SleepRecorder()))
        XCTAssertEqual(try p.readZone(try DomainName("example.org")).count, 3)
        XCTAssertEqual(fake.requests.filter { $0.path.contains("dns_records") }.count, 3, "three pages")

        fake.totalCountSkew = 1
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider cf: listing records for zone example.org.: got 3 records over 3 pages but Cloudflare reports total_count 4; refusing to plan from a partial listing")
        }
        fake.totalCountSkew = 0
        fake.script("GET", "page=2", .init(500, "<html>oops</html>"))
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider cf: listing records for zone example.org. failed: GET \(fake.url)/zones/\(z)/dns_records?page=2&per_page=100 returned HTTP 500: <html>oops</html>")
        }
    }

    func testRejectedTokenNamesTheScopeAndNeverTheToken() throws {
        let fake = try cloudflareFake("another-token-entirely")
        fake.addZone("example.org")
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(SleepRecorder()))
        XCTAssertThrowsError(try p.readZone(try DomainName("example.org"))) { e in
            XCTAssertEqual("\(e)", "provider cf: cloudflare rejected the token in ${CLOUDFLARE_API_TOKEN} (HTTP 403; check scope: the token needs Zone:Read and DNS:Edit for example.org): 10000 Authentication error")
            XCTAssertFalse("\(e)".contains(token))
        }
        XCTAssertEqual(fake.requests[0].headers["authorization"], "Bearer \(token)")
    }

    func testMissingZone() throws {
        let fake = try cloudflareFake(token)
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(SleepRecorder()))
        XCTAssertThrowsError(try p.readZone(try DomainName("bücher.example"))) { e in
            XCTAssertEqual("\(e)", "provider cf: zone xn--bcher-kva.example was not found in the Cloudflare accounts the token can see; add the zone at Cloudflare or check the token's zone scope")
        }
        XCTAssertEqual(fake.requests[0].path, "/client/v4/zones?name=xn--bcher-kva.example&page=1&per_page=50", "IDN zone looked up in A-label form")
    }

    // MARK: - writing

    func testFailedBatchInTheMiddleReportsExactlyAndPlanShowsWhatIsLeft() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.com")
        let yaml = plan(fake, extraSettings: "    batch_size: 2", domains: """
          - name: example.com
            provider: cf
            dmarc: {policy: none}
            tls_rpt: {rua: ["mailto:tlsrpt@example.com"]}
        """)
        fake.failBatches = [1]
        let e = try engine(yaml)
        let report = e.apply(try e.makePlan())
        XCTAssertFalse(report.succeeded)
        XCTAssertEqual(reportLines(report), [
            "error: provider cf, zone example.com.: Cloudflare refused the batch for create _smtp._tls.example.com. TXT, create mail.example.com. A (HTTP 400): 1004 DNS Validation Error; the batch is one transaction, so none of it was applied; the changes before it were applied",
            "applied: create example.com. MX",
            "applied: create _dmarc.example.com. TXT",
            "failed: create _smtp._tls.example.com. TXT",
            "failed: create mail.example.com. A",
            "not attempted: create mail.example.com. AAAA",
        ])
        XCTAssertEqual(fake.writes.count, 2, "the third batch is not sent")
        XCTAssertEqual(try planText(try engine(yaml)), """
        mailplan will perform the following actions:

          # zone example.com. (provider cf, cloudflare)
          + _smtp._tls.example.com. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25

        Plan: 3 to add, 0 to change, 0 to destroy.

        """)
    }

    func testDeleteAndTTLChangeAreMinimalRecordOperations() throws {
        let fake = try cloudflareFake(token)
        let z = DomainName.root.prepending("com").prepending("example")
        fake.addZone("example.com")
        let keep = fake.seed(zone: "example.com", "MX", "example.com", "mail.example.com", ttl: 300, priority: 10)
        let drop = fake.seed(zone: "example.com", "MX", "example.com", "backup.example.net", ttl: 300, priority: 20)
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(SleepRecorder()))
        let live = try p.readZone(z)
        let want = live[0].with(rdata: [.mx(preference: 10, exchange: try DomainName("mail.example.com"))]).with(ttl: 3600)
        try p.apply(ZoneChangeset(zone: z, provider: "cf", providerType: "cloudflare", changes: [.update(from: live[0], to: want)]))
        XCTAssertEqual(fake.writes.map(\.body), [#"{"deletes":[{"id":"\#(drop)"}],"patches":[{"id":"\#(keep)","ttl":3600}],"posts":[],"puts":[]}"#])
        XCTAssertEqual(try p.readZone(z), [want])
    }

    func testStalePlanIsRefusedBeforeAnyWrite() throws {
        let fake = try cloudflareFake(token)
        fake.addZone("example.com")
        let p = CloudflareProvider(name: "cf", token: Secret(value: token, variable: "CLOUDFLARE_API_TOKEN"), baseURL: fake.url, client: testClient(SleepRecorder()))
        let z = try DomainName("example.com")
        _ = try p.readZone(z)
        let mx = RRset(name: z, type: .mx, ttl: 3600, rdata: [.mx(preference: 10, exchange: try DomainName("mail.example.com"))])
        let change = Change.update(from: mx, to: mx.with(ttl: 60))
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: z, provider: "cf", providerType: "cloudflare", changes: [change]))) { e in
            XCTAssertEqual("\(e)", "provider cf, zone example.com.: the live example.com. MX RRset changed since the plan was made; run plan again; nothing was applied")
            XCTAssertEqual((e as? ApplyError)?.failed, [change])
        }
        XCTAssertEqual(fake.writes.count, 0)
    }

    func testFakeStrictModeRejectsWhatTheAPIRejects() throws {
        let fake = try cloudflareFake(token)
        let z = fake.addZone("example.com")
        let client = testClient(SleepRecorder())
        func post(_ body: String) throws -> (Int, String) {
            let r = try client.send(HTTPRequest(.post, URL(string: "\(fake.url)/zones/\(z)/dns_records/batch")!,
                                                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json"], body: Data(body.utf8)))
            return (r.status, CloudflareConvert.errorText(r.body) ?? r.text)
        }
        XCTAssertEqual(try post(#"{"posts":[{"type":"MX","name":"@","content":"mail.example.com","ttl":3600}]}"#).1, "9100 priority is required for MX records")
        XCTAssertEqual(try post(#"{"posts":[{"type":"TXT","name":"@","content":"\"x\"","ttl":3600,"proxied":true}]}"#).1, "9004 This record type cannot be proxied.")
        XCTAssertEqual(try post(#"{"posts":[{"type":"A","name":"@","content":"192.0.2.1","ttl":30}]}"#).1, "1004 TTL must be between 60 and 86400 seconds, or 1 for Automatic.")
        XCTAssertEqual(try post(#"{"posts":[{"type":"A","name":"a","content":"192.0.2.1","ttl":60},{"type":"A","name":"a.example.com.","content":"192.0.2.1","ttl":60}]}"#).1, "81058 An identical record already exists.")
        XCTAssertEqual(try post(#"{"deletes":[{"id":"0000"}]}"#).1, "81044 Record does not exist.")
        XCTAssertEqual(fake.records.count, 0, "a refused batch is rolled back whole")
        XCTAssertEqual(try post(#"{"posts":[{"type":"MX","name":"@","content":"mail.example.com.","priority":0,"ttl":3600}]}"#).0, 200)
        XCTAssertEqual(fake.records.map(\.content), ["mail.example.com"], "the trailing dot is stripped")
        XCTAssertEqual(fake.records.map(\.name), ["example.com"], "@ comes back as the FQDN")
    }

    func testConfigErrorsNameTheSetting() throws {
        func errors(_ settings: String) -> [String] {
            validationErrors("""
            version: 1
            server: {hostname: mail.example.com, ipv4: 192.0.2.25}
            providers:
              cf:
                type: cloudflare
            \(settings)
            domains:
              - name: example.com
            """, env: env)
        }
        XCTAssertEqual(errors("    token: literal-token"), ["test.yaml:6:12: error: providers.cf: 'token' is a secret: write it as ${ENV_VAR} and set the variable, never the value itself"])
        XCTAssertEqual(errors("    token: ${CLOUDFLARE_API_TOKEN}\n    batchsize: 5"), ["test.yaml:7:16: error: providers.cf: unknown setting 'batchsize' for type cloudflare; did you mean 'batch_size'? (valid keys: account_id, api_url, batch_size, ca_file, insecure, proxied_names, timeout, token)"])
    }
}
