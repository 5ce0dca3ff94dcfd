import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// The real `mailplan` binary against the in-process fakes: plan (exit 2 with
/// --detailed-exitcode) → apply --auto-approve → plan (exit 0), and a failed apply's report.
final class CloudCLITests: XCTestCase {
    func roundTrip(type: String, env: [String: String], settings: [String], fakeStop: () -> Void,
                   file: StaticString = #filePath, line: UInt = #line) throws {
        defer { fakeStop() }
        let yaml = CloudPlan.yaml(type: type, settings: settings)
        let first = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(first.status, 2, first.stderr, file: file, line: line)
        XCTAssertTrue(first.stdout.hasSuffix("Plan: 5 to add, 1 to change, 0 to destroy.\n"), first.stdout, file: file, line: line)
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr, file: file, line: line)
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 5 added, 1 changed, 0 destroyed.\n"), apply.stdout, file: file, line: line)
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(again.status, 0, again.stderr, file: file, line: line)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n", file: file, line: line)
        for r in [first, apply, again] {
            for secret in env.values { XCTAssertFalse((r.stdout + r.stderr).contains(secret), "a token leaked", file: file, line: line) }
        }
    }

    func testHetznerCLIRoundTrip() throws {
        let fake = try HetznerCloudFake()
        fake.addZone("example.com")
        fake.put("example.com", "@", "TXT", ttl: 3600, ["\"google-site-verification=abc123\""])
        try roundTrip(type: "hetzner", env: ["HCLOUD_TOKEN": fake.token], settings: ["token: ${HCLOUD_TOKEN}", "api_url: \(fake.url)"], fakeStop: fake.stop)
        XCTAssertEqual(fake.rrset("example.com", "@", "TXT")?.records, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
    }

    func testDeSECCLIRoundTrip() throws {
        let fake = try DeSECFake()
        fake.addDomain("example.com")
        fake.put("example.com", "", "TXT", ttl: 3600, ["\"google-site-verification=abc123\""])
        try roundTrip(type: "desec", env: ["DESEC_TOKEN": fake.token], settings: ["token: ${DESEC_TOKEN}", "api_url: \(fake.url)"], fakeStop: fake.stop)
        XCTAssertEqual(fake.writes.count, 1, "one bulk PATCH")
        XCTAssertEqual(fake.rrset("example.com", "", "TXT")?.records, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
    }

    func testGandiCLIRoundTrip() throws {
        let fake = try GandiFake()
        fake.addDomain("example.com")
        fake.put("example.com", "@", "TXT", ttl: 3600, ["\"google-site-verification=abc123\""])
        try roundTrip(type: "gandi", env: ["GANDI_TOKEN": fake.token], settings: ["token: ${GANDI_TOKEN}", "api_url: \(fake.url)"], fakeStop: fake.stop)
        XCTAssertEqual(fake.rrset("example.com", "@", "TXT")?.values, ["\"google-site-verification=abc123\"", "\"v=spf1 mx -all\""])
    }

    func testGandiCLIApplyFailingOnTheThirdWriteExitsOneWithTheReport() throws {
        let fake = try GandiFake()
        defer { fake.stop() }
        fake.addDomain("example.com")
        fake.faults.add("PUT", "/records/", skip: 2, FakeSupport.json(400, ["status": "error", "errors": [["location": "body", "name": "rrset_values", "description": "invalid value"]]]))
        let yaml = CloudPlan.yaml(type: "gandi", settings: ["token: ${GANDI_TOKEN}", "api_url: \(fake.url)"])
        let r = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: ["GANDI_TOKEN": fake.token])
        XCTAssertEqual(r.status, 1)
        let report = r.stderr.split(separator: "\n").filter { $0.hasPrefix("  ") }
        XCTAssertEqual(report, [
            "  applied:       create example.com. MX",
            "  applied:       create example.com. TXT",
            "  failed:        create _dmarc.example.com. TXT",
            "  not attempted: create mail2026._domainkey.example.com. TXT",
            "  not attempted: create mail.example.com. A",
            "  not attempted: create noreply.example.com. MX",
        ])
        XCTAssertTrue(r.stdout.hasSuffix("Apply failed. Applied: 2 added, 0 changed, 0 destroyed; run 'mailplan plan' to see what is left.\n"), r.stdout)
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: ["GANDI_TOKEN": fake.token])
        XCTAssertEqual(again.status, 2)
        XCTAssertTrue(again.stdout.hasSuffix("Plan: 4 to add, 0 to change, 0 to destroy.\n"), again.stdout)
        XCTAssertEqual(again.stdout.split(separator: "\n").filter { $0.hasPrefix("  + ") }, [
            "  + _dmarc.example.com. TXT ttl 3600", "  + mail2026._domainkey.example.com. TXT ttl 3600",
            "  + mail.example.com. A ttl 3600", "  + noreply.example.com. MX ttl 3600",
        ])
    }
}
