import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// `apply --auto-approve` through the real binary over zone files: zones are written as they
/// are planned, so a safety gate refusing a later zone leaves the earlier zones applied, and
/// the output says exactly which (docs/architecture.md, "Pipelined apply").
final class PipelinedApplyCLITests: XCTestCase {
    /// a.example lacks its DMARC record; b.example, planned `no_mail`, still has an MX: making
    /// it a null MX removes the last MX (the remove-last-mx gate).
    func writePlan() throws -> (plan: URL, dir: URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for z in ["a", "b"] {
            try """
            $ORIGIN \(z).example.
            $TTL 3600
            @ IN SOA ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 3600
            @ IN NS ns1.example.net.
            \(z == "b" ? "@ IN MX 10 mail.a.example.\n" : "")
            """.write(to: dir.appendingPathComponent("\(z).zone"), atomically: true, encoding: .utf8)
        }
        let plan = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: mail.a.example, ipv4: 192.0.2.25}
        providers:
          za: {type: zonefile, path: a.zone}
          zb: {type: zonefile, path: b.zone}
        domains:
          - {name: a.example, provider: za, dmarc: {policy: none}}
          - {name: b.example, provider: zb, no_mail: true}

        """.write(to: plan, atomically: true, encoding: .utf8)
        return (plan, dir)
    }

    func testAGateOnALaterZoneLeavesTheEarlierZoneAppliedAndSaysSo() throws {
        let (plan, dir) = try writePlan()
        let before = try String(contentsOf: dir.appendingPathComponent("b.zone"), encoding: .utf8)
        let r = try runMailplan(["apply", plan.path, "--auto-approve"], env: ["NO_COLOR": "1"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertEqual(r.stdout, """
        mailplan will perform the following actions:

          # zone a.example. (provider za, zonefile)
          + a.example. MX ttl 3600
              + 10 mail.a.example.
          + _dmarc.a.example. TXT ttl 3600
              + "v=DMARC1; p=none"
          + mail.a.example. A ttl 3600
              + 192.0.2.25

          # zone b.example. (provider zb, zonefile)
          + b.example. TXT ttl 3600
              + "v=spf1 -all"
          + _dmarc.b.example. TXT ttl 3600
              + "v=DMARC1; p=reject"
          ~ b.example. MX ttl 3600
              - 10 mail.a.example.
              + 0 .
              # apply needs --allow=remove-last-mx: removes the last MX of a domain (it stops receiving mail)

        Plan: 5 to add, 1 to change, 0 to destroy.

        Apply failed. Applied: 3 added, 0 changed, 0 destroyed; run 'mailplan plan' to see what is left.

        """)
        XCTAssertEqual(r.stderr, """
        a.example.: applying 3 changes at za (zonefile)
        error: refusing to apply: 1 change needs an explicit --allow:
          b.example. MX: removes the last MX of a domain (it stops receiving mail); rerun with --allow=remove-last-mx
        error: not attempted: a change needs an explicit --allow
          not attempted: create b.example. TXT
          not attempted: create _dmarc.b.example. TXT
          not attempted: update b.example. MX

        """)
        // b.example's zone file is untouched; a.example got its records.
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("b.zone"), encoding: .utf8), before)
        let a = try String(contentsOf: dir.appendingPathComponent("a.zone"), encoding: .utf8)
        XCTAssertTrue(a.contains("v=DMARC1; p=none"), a)
        // With the gate allowed, the rest applies and a second apply has nothing to do.
        let allowed = try runMailplan(["apply", plan.path, "--auto-approve", "--allow=remove-last-mx"], env: ["NO_COLOR": "1"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)
        let again = try runMailplan(["plan", plan.path, "--detailed-exitcode"], env: ["NO_COLOR": "1"])
        XCTAssertEqual(again.status, 0, again.stdout + again.stderr)
    }
}
