import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// The real `mailplan` binary against the contract fakes: the debug log (`--verbose`,
/// `MAILPLAN_LOG`), `validate` without secrets, and the adapter messages of issue 14.
final class VerboseLogCLITests: XCTestCase {
    let token = "dop_v1_0123456789abcdef0123456789abcdef"

    /// ``CloudPlan/yaml(type:settings:ttl:)`` without the null-MX domain, which DigitalOcean
    /// refuses offline: one domain, example.com.
    func doYAML(_ settings: [String]) -> String {
        let y = CloudPlan.yaml(type: "digitalocean", settings: settings)
        return String(y[..<y.range(of: "  - name: noreply.example.com")!.lowerBound])
    }

    /// The `→`/`←` lines of the HTTP debug log, with the varying parts (port, timing,
    /// byte counts) replaced by placeholders so the lines compare exactly.
    func httpLines(_ stderr: String, url: String) -> [String] {
        let timing = try! NSRegularExpression(pattern: #" in [0-9]+ ms"#)
        let bytes = try! NSRegularExpression(pattern: #", [0-9]+ bytes$"#)
        return stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("debug mailplan.http: ") }.map { line in
            var l = line.replacingOccurrences(of: url, with: "URL")
            l = timing.stringByReplacingMatches(in: l, range: NSRange(l.startIndex..., in: l), withTemplate: " in N ms")
            return bytes.stringByReplacingMatches(in: l, range: NSRange(l.startIndex..., in: l), withTemplate: ", B bytes")
        }
    }

    func testVerbosePlanAndApplyLogEveryRequestWithStatusAndTimingAndNoToken() throws {
        let fake = try DigitalOceanFake(token: token)
        defer { fake.server.stop() }
        fake.addDomain("example.com")
        let yaml = doYAML(["token: ${DIGITALOCEAN_TOKEN}", "api_url: \(fake.url)"])
        let env = ["DIGITALOCEAN_TOKEN": token]

        let plan = try CloudPlan.run(["plan", "--verbose", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(plan.status, 2, plan.stderr)
        XCTAssertEqual(httpLines(plan.stderr, url: fake.url), [
            "debug mailplan.http: → GET URL/domains/example.com (attempt 1/5) headers: [Authorization: <redacted>, Accept: application/json] body: 0 bytes",
            "debug mailplan.http: ← 200 GET URL/domains/example.com in N ms (attempt 1/5), B bytes",
            "debug mailplan.http: → GET URL/domains/example.com/records?page=1&per_page=200 (attempt 1/5) headers: [Authorization: <redacted>, Accept: application/json] body: 0 bytes",
            "debug mailplan.http: ← 200 GET URL/domains/example.com/records?page=1&per_page=200 in N ms (attempt 1/5), B bytes",
        ])
        // The log goes to stderr only: stdout is the plan as without --verbose.
        let quiet = try CloudPlan.run(["plan"], yaml: yaml, env: env)
        XCTAssertEqual(plan.stdout, quiet.stdout)
        XCTAssertEqual(quiet.stderr, "")

        // MAILPLAN_LOG=debug is the same as --verbose; apply logs each write with its status.
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env.merging(["MAILPLAN_LOG": "debug"]) { $1 })
        XCTAssertEqual(apply.status, 0, apply.stderr)
        let writes = httpLines(apply.stderr, url: fake.url).filter { $0.contains("← ") && !$0.contains(" GET ") }
        XCTAssertEqual(writes, Array(repeating: "debug mailplan.http: ← 201 POST URL/domains/example.com/records in N ms (attempt 1/5), B bytes", count: 5))
        for r in [plan, apply] {
            XCTAssertFalse((r.stdout + r.stderr).contains(token), "the token leaked")
            XCTAssertFalse(r.stderr.contains("dop_v1_"), "a part of the token leaked")
        }
    }

    func testRetriesAndWaitsAreLogged() throws {
        let fake = try DigitalOceanFake(token: token)
        defer { fake.server.stop() }
        fake.addDomain("example.com")
        fake.script("GET", "/records", .init(503, "busy"), times: 1)
        let yaml = doYAML(["token: ${DIGITALOCEAN_TOKEN}", "api_url: \(fake.url)"])
        let r = try CloudPlan.run(["plan", "--verbose"], yaml: yaml, env: ["DIGITALOCEAN_TOKEN": token, "MAILPLAN_LOG": "trace"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = httpLines(r.stderr, url: fake.url).filter { $0.contains("records") }
        let wait = try NSRegularExpression(pattern: #"in [0-9]+\.[0-9]{2} s$"#)
        guard lines.count == 5 else { return XCTFail("expected 5 lines:\n" + r.stderr) }
        XCTAssertEqual(lines[1], "debug mailplan.http: ← 503 GET URL/domains/example.com/records?page=1&per_page=200 in N ms (attempt 1/5), B bytes")
        XCTAssertTrue(lines[2].hasPrefix("debug mailplan.http:    retrying GET URL/domains/example.com/records?page=1&per_page=200 after HTTP 503 in "), lines[2])
        XCTAssertEqual(wait.numberOfMatches(in: lines[2], range: NSRange(lines[2].startIndex..., in: lines[2])), 1, lines[2])
        XCTAssertEqual(lines[4], "debug mailplan.http: ← 200 GET URL/domains/example.com/records?page=1&per_page=200 in N ms (attempt 2/5), B bytes")
        XCTAssertFalse(r.stderr.contains(token))
    }

    func testUnknownLogLevelIsAUsageError() throws {
        let yaml = doYAML(["token: ${DIGITALOCEAN_TOKEN}"])
        let r = try CloudPlan.run(["validate"], yaml: yaml, env: ["DIGITALOCEAN_TOKEN": token, "MAILPLAN_LOG": "verbose"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: MAILPLAN_LOG=verbose is not a log level; use debug or trace (or off, info, warning, error)\n")
        XCTAssertEqual(r.stdout, "")
    }

    // MARK: - validate without secrets

    func testValidateWarnsAboutAnUnsetTokenAndPlanStillRefusesIt() throws {
        let yaml = doYAML(["token: ${MAILPLAN_TEST_UNSET_TOKEN}"])
        let v = try CloudPlan.run(["validate"], yaml: yaml, env: [:])
        XCTAssertEqual(v.status, 0, v.stderr)
        func file(_ r: (status: Int32, stdout: String, stderr: String)) -> String { r.stderr.components(separatedBy: ":").first ?? "" }
        XCTAssertEqual(v.stderr, "\(file(v)):8:12: warning: providers.p.token: environment variable MAILPLAN_TEST_UNSET_TOKEN is not set; validate goes on without it, but plan, apply, check and import need it (--strict-env makes this an error)\n")
        XCTAssertEqual(v.stdout, "\(file(v)): valid (1 domain, 1 zone, 5 managed RRsets).\n")

        let strict = try CloudPlan.run(["validate", "--strict-env"], yaml: yaml, env: [:])
        XCTAssertEqual(strict.status, 1)
        XCTAssertEqual(strict.stderr, "\(file(strict)):8:12: error: providers.p.token: environment variable MAILPLAN_TEST_UNSET_TOKEN is not set (export MAILPLAN_TEST_UNSET_TOKEN=… before running mailplan)\n")

        let plan = try CloudPlan.run(["plan"], yaml: yaml, env: [:])
        XCTAssertEqual(plan.status, 1)
        XCTAssertEqual(plan.stderr, "\(file(plan)):8:12: error: providers.p.token: environment variable MAILPLAN_TEST_UNSET_TOKEN is not set (export MAILPLAN_TEST_UNSET_TOKEN=… before running mailplan)\n")
        XCTAssertEqual(plan.stdout, "")
    }

    func testValidateStillRefusesAnUnsetVariableInASettingThatIsNoSecret() throws {
        let yaml = doYAML(["token: ${MAILPLAN_TEST_UNSET_TOKEN}", "api_url: ${MAILPLAN_TEST_UNSET_URL}"])
        let v = try CloudPlan.run(["validate"], yaml: yaml, env: [:])
        XCTAssertEqual(v.status, 1)
        let file = v.stderr.components(separatedBy: ":").first ?? ""
        XCTAssertEqual(v.stderr, """
        \(file):9:14: error: providers.p.api_url: environment variable MAILPLAN_TEST_UNSET_URL is not set (export MAILPLAN_TEST_UNSET_URL=… before running mailplan)

        """)
    }

    /// The TSIG secret is a secret setting too: unset, validate warns and does not try to
    /// decode it; set but not base64, it is still an error.
    func testValidateWithAnUnsetTSIGSecretWarns() throws {
        let yaml = CloudPlan.yaml(type: "rfc2136", settings: ["server: 127.0.0.1:53", "tsig_key_name: mailplan", "tsig_secret: ${MAILPLAN_TEST_UNSET_TSIG}"])
        let v = try CloudPlan.run(["validate"], yaml: yaml, env: [:])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stderr.hasSuffix(":10:18: warning: providers.p.tsig_secret: environment variable MAILPLAN_TEST_UNSET_TSIG is not set; validate goes on without it, but plan, apply, check and import need it (--strict-env makes this an error)\n"), v.stderr)
        XCTAssertEqual(v.stderr.split(separator: "\n").count, 1)
        let bad = try CloudPlan.run(["validate"], yaml: yaml, env: ["MAILPLAN_TEST_UNSET_TSIG": "not base64!"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.stderr.hasSuffix(":10:18: error: providers.p: the TSIG secret in ${MAILPLAN_TEST_UNSET_TSIG} is not base64 (use the secret \"…\" value that tsig-keygen prints)\n"), bad.stderr)
    }

    // MARK: - adapter messages

    func testDigitalOceanURLWithoutV2SaysSo() throws {
        let fake = try DigitalOceanFake(token: token)
        defer { fake.server.stop() }
        fake.addDomain("example.com")
        let yaml = doYAML(["token: ${DIGITALOCEAN_TOKEN}", "api_url: \(fake.server.url)"])
        let r = try CloudPlan.run(["plan"], yaml: yaml, env: ["DIGITALOCEAN_TOKEN": token])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: provider p: no DigitalOcean API at api_url \(fake.server.url) (did you mean \(fake.server.url)/v2?): GET \(fake.server.url)/domains/example.com returned HTTP 404\n")
        // With /v2, a domain the account lacks is still reported as that.
        let empty = try DigitalOceanFake(token: token)
        defer { empty.server.stop() }
        let missing = try CloudPlan.run(["plan"], yaml: doYAML(["token: ${DIGITALOCEAN_TOKEN}", "api_url: \(empty.url)"]),
                                        env: ["DIGITALOCEAN_TOKEN": token])
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "error: provider p: domain example.com is not in the DigitalOcean account of ${DIGITALOCEAN_TOKEN}; add it at DigitalOcean first\n")
    }

    func testCloudflareZoneLookupFailureReadsFindingZone() throws {
        let cfToken = "cf-token-0123456789"
        let fake = try CloudflareFake(token: cfToken)
        defer { fake.server.stop() }
        fake.addZone("example.com")
        fake.script("GET", "/zones?name=", .init(500, "<html>oops</html>"))
        let yaml = CloudPlan.yaml(type: "cloudflare", settings: ["token: ${CLOUDFLARE_API_TOKEN}", "api_url: \(fake.url)"])
        let r = try CloudPlan.run(["plan"], yaml: yaml, env: ["CLOUDFLARE_API_TOKEN": cfToken])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: provider p: finding zone example.com. failed: GET \(fake.url)/zones?name=example.com&page=1&per_page=50 returned HTTP 500: <html>oops</html>\n")
    }
}
