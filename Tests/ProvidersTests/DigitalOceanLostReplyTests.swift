import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// A create whose reply is lost is never sent again blindly (issue 12): the fake carries out
/// the POST and closes the connection without answering; mailplan reads the zone again,
/// finds the record and goes on. A record held twice is planned as one delete.
final class DigitalOceanLostReplyTests: XCTestCase {
    let token = "dop_v1_test0123456789abcdef"
    var env: [String: String] { ["DIGITALOCEAN_TOKEN": token] }

    func yaml(_ fake: DigitalOceanFake) -> String {
        """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          do: {type: digitalocean, token: "${DIGITALOCEAN_TOKEN}", api_url: "\(fake.url)"}
        domains:
          - name: example.com
            provider: do
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]

        """
    }

    func dkimRecords(_ fake: DigitalOceanFake) -> [DigitalOceanFake.Record] {
        fake.records.filter { $0.type == "TXT" && $0.name == "mail2026._domainkey" }
    }

    func testALostReplyToACreateLeavesOneRecord() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        fake.dropReplies = [0]   // the first write (the DKIM create, creates run first) is done, its reply lost
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml(fake), env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 3 added, 0 changed, 0 destroyed.\n"), apply.stdout)
        XCTAssertEqual(dkimRecords(fake).count, 1, "\(fake.records)")
        XCTAssertEqual(dkimRecords(fake).first?.data, try CloudPlan.dkimValue())
        // The plan's read, the re-read before writing (the creates must still be absent), one
        // POST per record: the lost one was not repeated, the zone was read again after it.
        let lines = fake.requests.map { "\($0.method) \($0.path.split(separator: "?")[0])" }
        XCTAssertEqual(lines.filter { $0.hasPrefix("POST") }.count, 3, "\(lines)")
        XCTAssertEqual(lines, [
            "GET /v2/domains/example.com", "GET /v2/domains/example.com/records",
            "GET /v2/domains/example.com", "GET /v2/domains/example.com/records",
            "POST /v2/domains/example.com/records",
            "GET /v2/domains/example.com", "GET /v2/domains/example.com/records",
            "POST /v2/domains/example.com/records", "POST /v2/domains/example.com/records",
        ])
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml(fake), env: env)
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
    }

    /// The transport itself: a POST whose connection is closed without a reply is an error
    /// whose outcome is unknown, and is sent exactly once (libcurl would otherwise send it
    /// again on a fresh connection when the closed one had been reused).
    func testTheTransportNeverResendsAPOSTWhoseReplyWasLost() throws {
        let server = try FakeHTTPServer { req, _ in
            var r = FakeHTTPServer.Response(200, "{}")
            r.dropConnection = req.method == "POST"
            return r
        }
        defer { server.stop() }
        let client = HTTPClient(options: HTTPClientOptions(connectTimeout: 2, totalTimeout: 5))
        _ = try client.send(HTTPRequest(.get, URL(string: server.url + "/warm")!))   // a connection to reuse
        XCTAssertThrowsError(try client.send(HTTPRequest(.post, URL(string: server.url + "/records")!, body: Data("{}".utf8)))) { e in
            XCTAssertTrue((e as? HTTPError)?.outcomeUnknown ?? false, "\(e)")
        }
        XCTAssertEqual(server.requests.map(\.method), ["GET", "POST"])
    }

    func testAValueHeldTwiceIsPlannedAsOneDelete() throws {
        let fake = try digitalOceanFake(token)
        fake.addDomain("example.com")
        let dkim = try CloudPlan.dkimValue()
        fake.seed(domain: "example.com", "MX", "@", "mail.example.com", priority: 10)
        fake.seed(domain: "example.com", "A", "mail", "192.0.2.25")
        let first = fake.seed(domain: "example.com", "TXT", "mail2026._domainkey", dkim)
        let copy = fake.seed(domain: "example.com", "TXT", "mail2026._domainkey", dkim)
        let plan = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml(fake), env: env)
        XCTAssertEqual(plan.status, 2, plan.stderr)
        XCTAssertEqual(plan.stdout, """
        mailplan will perform the following actions:

          # zone example.com. (provider do, digitalocean)
          ~ mail2026._domainkey.example.com. TXT ttl 3600
                "\(dkim)"
              # the provider holds "\(dkim)" more than once: the extra copy is deleted

        Plan: 0 to add, 1 to change, 0 to destroy.

        """)
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml(fake), env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(fake.writes.map { "\($0.method) \($0.path)" }, ["DELETE /v2/domains/example.com/records/\(copy)"])
        XCTAssertEqual(dkimRecords(fake).map(\.id), [first])
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml(fake), env: env)
        XCTAssertEqual(again.status, 0, again.stdout)
    }
}
