import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// The main job end to end, as a newcomer runs it: the real CLI binary on the bundled
/// example (plans/example.yaml with its zone file), through the ldns zone-file adapter.
final class ExampleZoneFileCLITests: XCTestCase {
    var dkimValue: String {
        let body = try! String(contentsOf: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return "v=DKIM1; k=rsa; p=" + body
    }

    var expectedPlan: String {
        """
        mailplan will perform the following actions:

          # zone example.com. (provider local, zonefile)
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkimValue)"
          + _mta-sts.example.com. TXT ttl 3600
              + "v=STSv1; id=a5963b31a082635c6ec6"
          + _smtp._tls.example.com. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25
          ~ example.com. MX ttl 300 -> 3600
              - 10 old-mx.example.net.
              + 10 mail.example.com.
          ~ example.com. TXT ttl 3600
                "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
              - "v=spf1 a -all"
              + "v=spf1 mx include:_spf.example.net -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 6 to add, 2 to change, 0 to destroy.

        """
    }

    func readZone(_ dir: URL) throws -> [RRset] {
        let config = ProviderConfig(name: "local", type: "zonefile", location: nil,
                                    settings: ["path": PlanValue(text: "zones/example.com.zone", location: nil)], baseDirectory: dir)
        return try ZoneFileProvider(config: config).readZone(try DomainName("example.com"))
    }

    func testPlanApplyPlanRoundTrip() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let before = try readZone(dir)

        let first = try runMailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, expectedPlan)
        XCTAssertEqual(first.stderr, "")

        let apply = try runMailplan(["apply", plan, "--auto-approve"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, expectedPlan + "\nApply complete! Records: 6 added, 2 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, "example.com.: applying 8 changes at local (zonefile)\n")

        let second = try runMailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "No changes. The live DNS matches the plan.\n")

        // Unrelated records are the same RRsets before and after (SOA aside: its serial moves).
        let after = try readZone(dir)
        let managed: Set<String> = ["example.com. MX", "example.com. TXT", "example.com. SOA"]
        let keep = before.filter { !managed.contains($0.key.description) }
        XCTAssertEqual(keep.count, 5)
        for r in keep { XCTAssertTrue(after.contains(r), "\(r.key) changed") }
        // The 410-byte DKIM value is written as two strings of 255 and 155 bytes.
        let text = try String(contentsOf: dir.appendingPathComponent("zones/example.com.zone"), encoding: .utf8)
        XCTAssertTrue(text.contains("\"\(dkimValue.prefix(255))\" \"\(dkimValue.dropFirst(255))\""))
        XCTAssertEqual(dkimValue.utf8.count, 410)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("zones/example.com.zone.bak").path))
    }

    func testApplyAsksAndOnlyYesProceeds() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let zone = dir.appendingPathComponent("zones/example.com.zone")
        let original = try Data(contentsOf: zone)
        let no = try runMailplan(["apply", plan], stdin: "y\n")
        XCTAssertEqual(no.status, 1)
        XCTAssertTrue(no.stdout.hasSuffix("Only 'yes' will be accepted to approve.\n\n  Enter a value: \n\nApply cancelled.\n"), no.stdout)
        XCTAssertEqual(try Data(contentsOf: zone), original)
        let yes = try runMailplan(["apply", plan], stdin: "yes\n")
        XCTAssertEqual(yes.status, 0, yes.stderr)
        XCTAssertTrue(yes.stdout.hasSuffix("Apply complete! Records: 6 added, 2 changed, 0 destroyed.\n"))
        // The piped answer is not echoed: the prompt line still ends, then the blank line.
        XCTAssertEqual(yes.stdout.components(separatedBy: "  Enter a value: ").last?.prefix(2), "\n\n", yes.stdout)
    }

    func testJSONOutput() throws {
        let dir = try copyOfPlans()
        let r = try runMailplan(["plan", dir.appendingPathComponent("example.yaml").path, "--json", "--detailed-exitcode"])
        XCTAssertEqual(r.status, 2)
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["format_version"] as? String, "1")
        XCTAssertEqual(doc["summary"] as? [String: Int], ["add": 6, "change": 2, "destroy": 0])
        let zones = doc["zones"] as! [[String: Any]]
        XCTAssertEqual(zones.map { $0["zone"] as? String }, ["example.com."])
        let changes = zones[0]["changes"] as! [[String: Any]]
        XCTAssertEqual(changes.map { "\($0["action"]!) \($0["name"]!) \($0["type"]!)" }, [
            "create _dmarc.example.com. TXT", "create mail2026._domainkey.example.com. TXT", "create _mta-sts.example.com. TXT",
            "create _smtp._tls.example.com. TXT", "create mail.example.com. A", "create mail.example.com. AAAA",
            "update example.com. MX", "update example.com. TXT",
        ])
    }

    func testBadPlanFileGivesOneLinePerProblem() throws {
        let dir = try copyOfPlans()
        let bad = dir.appendingPathComponent("bad.yaml")
        try """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
        providers:
          local: {type: zonefile, path: zones/example.com.zone}
          cf: {type: cloudflare, token: "${MAILPLAN_TEST_UNSET_TOKEN}"}
        domains:
          - name: example.com
            provider: local
            spf: {sender: [mx]}
        """.write(to: bad, atomically: true, encoding: .utf8)
        // Plain validate lets the unset token pass (a warning, issue 14); the spf key is an error.
        let lenient = try runMailplan(["validate", bad.path])
        XCTAssertEqual(lenient.status, 1)
        XCTAssertEqual(lenient.stderr, "\(bad.path):11:11: error: domains[example.com].spf: unknown key 'sender'; did you mean 'senders'? (valid keys: senders, all, senders_expected)\n")
        let r = try runMailplan(["validate", "--strict-env", bad.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, """
        \(bad.path):7:33: error: providers.cf.token: environment variable MAILPLAN_TEST_UNSET_TOKEN is not set (export MAILPLAN_TEST_UNSET_TOKEN=… before running mailplan)
        \(bad.path):11:11: error: domains[example.com].spf: unknown key 'sender'; did you mean 'senders'? (valid keys: senders, all, senders_expected)

        """)
    }

    func testUnknownProviderTypeAndSetting() throws {
        let dir = try copyOfPlans()
        let bad = dir.appendingPathComponent("bad.yaml")
        try """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          local: {type: zonefile, pth: zones/example.com.zone}
          other: {type: zonefil, path: x}
        domains:
          - {name: example.com, provider: local}
        """.write(to: bad, atomically: true, encoding: .utf8)
        let r = try runMailplan(["validate", bad.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("\(bad.path):4:32: error: providers.local: unknown setting 'pth' for type zonefile; did you mean 'path'?"), r.stderr)
        XCTAssertTrue(r.stderr.contains("\(bad.path):5:3: error: providers.other: unknown provider type 'zonefil'; did you mean 'zonefile'?"), r.stderr)
    }

    func testBrokenZoneFileAbortsAndIsUntouched() throws {
        let dir = try copyOfPlans()
        let zone = dir.appendingPathComponent("zones/example.com.zone")
        var text = try String(contentsOf: zone, encoding: .utf8)
        text += "broken IN MX not-a-number\n"
        try text.write(to: zone, atomically: true, encoding: .utf8)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).count - 1
        let r = try runMailplan(["apply", dir.appendingPathComponent("example.yaml").path, "--auto-approve"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.hasPrefix("error: provider local: zone file \(zone.path), line \(lines):"), r.stderr)
        XCTAssertEqual(try String(contentsOf: zone, encoding: .utf8), text)
    }

    func testUsageErrorsExitOne() throws {
        let r = try runMailplan(["plan"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: Missing expected argument '<plan-file>'\nRun 'mailplan --help' for usage.\n")
        let h = try runMailplan(["--help"])
        XCTAssertEqual(h.status, 0)
        XCTAssertTrue(h.stdout.contains("SUBCOMMANDS:"))
    }

    func testValidateExample() throws {
        let r = try runMailplan(["validate", "plans/example.yaml"], cwd: repoRoot)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "plans/example.yaml: valid (1 domain, 1 zone, 8 managed RRsets).\n")
    }
}
