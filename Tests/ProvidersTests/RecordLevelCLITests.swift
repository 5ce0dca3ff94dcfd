import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// The real `mailplan` binary against the Cloudflare and DigitalOcean fakes (the two
/// record-level APIs; issue 5): plan (exit 2 with --detailed-exitcode, exact text) →
/// apply --auto-approve (exit 0) → plan (exit 0), and for DigitalOcean an apply whose third
/// write is refused (exit 1, the exact applied / failed / not-attempted report), then the
/// plan of exactly what is left. The token never appears in stdout or stderr.
final class RecordLevelCLITests: XCTestCase {
    let verification = "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"

    func assertNoSecret(_ runs: [(status: Int32, stdout: String, stderr: String)], _ token: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        for r in runs {
            XCTAssertFalse(r.stdout.contains(token), "the token leaked to stdout", file: file, line: line)
            XCTAssertFalse(r.stderr.contains(token), "the token leaked to stderr", file: file, line: line)
        }
    }

    // MARK: - Cloudflare

    func testCloudflareCLIPlanApplyPlan() throws {
        let token = "cf-cli-token-5f0c1d2e3a4b5c6d7e8f9a0b"
        let fake = try cloudflareFake(token)
        fake.maxPerPage = 2
        let zoneID = fake.addZone("example.com")
        let tokenID = fake.seed(zone: "example.com", "TXT", "example.com", q(verification))
        let env = ["CLOUDFLARE_API_TOKEN": token]
        let yaml = CloudPlan.yaml(type: "cloudflare", settings: ["token: ${CLOUDFLARE_API_TOKEN}", "api_url: \(fake.url)"])
        let planText = """
        mailplan will perform the following actions:

          # zone example.com. (provider p, cloudflare)
          + example.com. MX ttl 3600
              + 0 mail.example.com.
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim2048)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + noreply.example.com. MX ttl 3600
              + 0 .
          ~ example.com. TXT ttl 3600
                "\(verification)"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 5 to add, 1 to change, 0 to destroy.

        """

        let first = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, planText)
        XCTAssertEqual(first.stderr, "")
        XCTAssertEqual(fake.writes.count, 0, "plan never writes")

        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, planText + "\nApply complete! Records: 5 added, 1 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, "example.com.: applying 6 changes at p (cloudflare)\n")
        // One batch request for the whole zone (Cloudflare's batch endpoint).
        XCTAssertEqual(fake.writes.map { "\($0.method) \($0.path)" }, ["POST /client/v4/zones/\(zoneID)/dns_records/batch"])
        XCTAssertTrue(fake.writes[0].body.contains(#"{"content":"mail.example.com","name":"example.com","priority":0,"ttl":3600,"type":"MX"}"#), fake.writes[0].body)
        XCTAssertTrue(fake.writes[0].body.contains(#"{"content":".","name":"noreply.example.com","priority":0,"ttl":3600,"type":"MX"}"#), fake.writes[0].body)
        XCTAssertTrue(fake.writes[0].body.contains(#"{"content":"192.0.2.25","name":"mail.example.com","proxied":false,"ttl":3600,"type":"A"}"#), fake.writes[0].body)

        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(again.stderr, "")
        XCTAssertEqual(fake.writes.count, 1, "a no-op plan writes nothing")
        XCTAssertEqual(fake.records.first { $0.id == tokenID }?.content, q(verification), "the unmanaged token is untouched")
        XCTAssertEqual(fake.records.count, 7)
        assertNoSecret([first, apply, again], token)
    }

    func testCloudflareCLIRejectedTokenExitsOneWithoutTheToken() throws {
        let fake = try cloudflareFake("cf-the-right-token-000000000000")
        fake.addZone("example.com")
        let wrong = "cf-wrong-token-1111111111111111"
        let yaml = CloudPlan.yaml(type: "cloudflare", settings: ["token: ${CLOUDFLARE_API_TOKEN}", "api_url: \(fake.url)"])
        let r = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: ["CLOUDFLARE_API_TOKEN": wrong])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("error: provider p: cloudflare rejected the token in ${CLOUDFLARE_API_TOKEN} (HTTP 403"), r.stderr)
        assertNoSecret([r], wrong)
    }

    // MARK: - DigitalOcean

    /// DigitalOcean refuses a null MX (`0 .`), so its plan has a real MX at noreply instead.
    func digitalOceanYAML(_ fake: DigitalOceanFake) -> String {
        CloudPlan.yaml(type: "digitalocean", settings: ["token: ${DIGITALOCEAN_TOKEN}", "api_url: \(fake.url)"])
            .replacingOccurrences(of: #"mx: [{host: ".", preference: 0}]"#, with: "mx: [{host: mail.example.com, preference: 10}]")
    }

    func testDigitalOceanCLIPlanApplyPlan() throws {
        let token = "dop_v1_cli0123456789abcdef0123456789"
        let fake = try digitalOceanFake(token)
        fake.maxPerPage = 2
        fake.addDomain("example.com")
        let tokenID = fake.seed(domain: "example.com", "TXT", "@", verification)
        let env = ["DIGITALOCEAN_TOKEN": token]
        let yaml = digitalOceanYAML(fake)
        let planText = """
        mailplan will perform the following actions:

          # zone example.com. (provider p, digitalocean)
          + example.com. MX ttl 3600
              + 0 mail.example.com.
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim2048)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + noreply.example.com. MX ttl 3600
              + 10 mail.example.com.
          ~ example.com. TXT ttl 3600
                "\(verification)"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 5 to add, 1 to change, 0 to destroy.

        """
        let first = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, planText)
        XCTAssertEqual(first.stderr, "")
        XCTAssertEqual(fake.writes.count, 0, "plan never writes")

        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, planText + "\nApply complete! Records: 5 added, 1 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, "example.com.: applying 6 changes at p (digitalocean)\n")
        let recs = "/v2/domains/example.com/records"
        XCTAssertEqual(fake.writes.map { "\($0.method) \($0.path) \($0.body)" }, [
            #"POST \#(recs) {"data":"mail.example.com.","name":"@","priority":0,"ttl":3600,"type":"MX"}"#,
            #"POST \#(recs) {"data":"v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com","name":"_dmarc","ttl":3600,"type":"TXT"}"#,
            #"POST \#(recs) {"data":\#(FakeSupport.json(dkim2048)),"name":"mail2026._domainkey","ttl":3600,"type":"TXT"}"#,
            #"POST \#(recs) {"data":"192.0.2.25","name":"mail","ttl":3600,"type":"A"}"#,
            #"POST \#(recs) {"data":"mail.example.com.","name":"noreply","priority":10,"ttl":3600,"type":"MX"}"#,
            #"POST \#(recs) {"data":"v=spf1 mx -all","name":"@","ttl":3600,"type":"TXT"}"#,
        ])

        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(again.stderr, "")
        XCTAssertEqual(fake.writes.count, 6, "a no-op plan writes nothing")
        XCTAssertEqual(fake.records.first { $0.id == tokenID }?.data, verification, "the unmanaged token is untouched")
        assertNoSecret([first, apply, again], token)
    }

    func testDigitalOceanCLIApplyFailingOnTheThirdWriteExitsOneThenPlanShowsWhatIsLeft() throws {
        let token = "dop_v1_clifail0123456789abcdef012345"
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        fake.failWrites = [2]
        let env = ["DIGITALOCEAN_TOKEN": token]
        let yaml = digitalOceanYAML(fake)

        let failed = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(failed.status, 1)
        XCTAssertEqual(fake.writes.count, 3, "nothing is written after the refused write")
        XCTAssertTrue(failed.stdout.hasSuffix("\nApply failed. Applied: 2 added, 0 changed, 0 destroyed; run 'mailplan plan' to see what is left.\n"), failed.stdout)
        XCTAssertEqual(failed.stderr, """
        example.com.: applying 6 changes at p (digitalocean)
        error: provider p, zone example.com.: DigitalOcean refused POST \(fake.url)/domains/example.com/records for create _dmarc.example.com. TXT (HTTP 400): bad_request: There was an error processing your request.; none of its record calls were done; run plan again to see what is left
          applied:       create example.com. MX
          applied:       create example.com. TXT
          failed:        create _dmarc.example.com. TXT
          not attempted: create mail2026._domainkey.example.com. TXT
          not attempted: create mail.example.com. A
          not attempted: create noreply.example.com. MX

        """)

        let left = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(left.status, 2, left.stderr)
        XCTAssertEqual(left.stdout, """
        mailplan will perform the following actions:

          # zone example.com. (provider p, digitalocean)
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim2048)"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + noreply.example.com. MX ttl 3600
              + 10 mail.example.com.

        Plan: 4 to add, 0 to change, 0 to destroy.

        """)
        XCTAssertEqual(left.stderr, "")

        // The rest goes through on the next apply, and then nothing is left.
        let rest = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(rest.status, 0, rest.stderr)
        XCTAssertTrue(rest.stdout.hasSuffix("\nApply complete! Records: 4 added, 0 changed, 0 destroyed.\n"), rest.stdout)
        let done = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertEqual(done.stdout, "No changes. The live DNS matches the plan.\n")
        assertNoSecret([failed, left, rest, done], token)
    }
}
