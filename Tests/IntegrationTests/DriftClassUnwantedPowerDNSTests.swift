import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// The drift classes `SavedPlanPowerDNSTests.testDriftClassesAndExitCodes` leaves out, on the
/// same real PowerDNS and through the real binary: `unwanted` (a DKIM selector the plan marks
/// `state: removed`: exit 2, no gate, applied without --allow, then exit 0) against a selector
/// dropped from the plan by accident (never deleted: exit 0), and `mail-breaking` for two
/// DMARC records at the managed `_dmarc` name.
extension SavedPlanPowerDNSTests {
    /// The JSON plan's exit status and one `action name type class [gates]` line per change.
    func jsonClasses(_ plan: String) throws -> (Int32, [String]) {
        let r = try mailplan(["plan", plan, "--json", "--detailed-exitcode"])
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let changes = ((doc?["zones"] as? [[String: Any]])?.first?["changes"] as? [[String: Any]]) ?? []
        return (r.status, changes.map { "\($0["action"]!) \($0["name"]!) \($0["type"]!) \($0["class"]!) \(($0["gates"] as? [String]) ?? ["?"])" })
    }

    func testUnwantedDKIMSelectorMarkedRemovedVersusDroppedByAccident() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        let d = zone.fqdn
        let dkimName = zone.prepending("_domainkey").prepending("mail2026")
        let text = try String(contentsOfFile: plan, encoding: .utf8)
        let selectorLine = "      - {selector: mail2026, public_key_file: keys/mail2026.pub}\n"
        XCTAssertTrue(text.contains(selectorLine))

        // Dropped from the plan by accident (the list is now another selector): mailplan no
        // longer manages mail2026 and never deletes it.
        try text.replacingOccurrences(of: selectorLine, with: "      - {selector: mail2027, public_key: \"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\"}\n")
            .write(toFile: plan, atomically: true, encoding: .utf8)
        var (status, got) = try jsonClasses(plan)
        XCTAssertEqual(status, 2)
        XCTAssertEqual(got, ["create mail2027._domainkey.\(d) TXT missing []"], "only the new selector; mail2026 is left alone")
        try text.replacingOccurrences(of: selectorLine, with: "").replacingOccurrences(of: "    dkim:\n", with: "")
            .write(toFile: plan, atomically: true, encoding: .utf8)
        let dropped = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(dropped.status, 0, dropped.stderr)
        XCTAssertEqual(dropped.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertTrue(try liveRRsets().contains { $0.key == RRsetKey(dkimName, .txt) }, "an unlisted selector is never deleted")

        // Marked `state: removed`: an unwanted delete that needs no --allow (the plan says so).
        try text.replacingOccurrences(of: selectorLine, with: "      - {selector: mail2026, state: removed}\n")
            .write(toFile: plan, atomically: true, encoding: .utf8)
        (status, got) = try jsonClasses(plan)
        XCTAssertEqual(status, 2)
        XCTAssertEqual(got, ["delete mail2026._domainkey.\(d) TXT unwanted []"])
        let key = try DKIMKeyParser.parse(String(contentsOf: dir.appendingPathComponent("keys/mail2026.pub"), encoding: .utf8)).record
        let shown = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(shown.status, 2)
        XCTAssertEqual(shown.stdout, """
        mailplan will perform the following actions:

          # zone \(d) (provider pdns, powerdns)
          - mail2026._domainkey.\(d) TXT ttl 3600
              - "\(key)"
              # dkim selector mail2026: removed

        DKIM selectors in rotation:
          \(z) dkim selector mail2026: removed

        Plan: 0 to add, 0 to change, 1 to destroy.

        """)
        let applied = try mailplan(["apply", plan, "--auto-approve"])
        XCTAssertEqual(applied.status, 0, applied.stderr)
        XCTAssertTrue(applied.stdout.contains("Apply complete! Records: 0 added, 0 changed, 1 destroyed.\n"), applied.stdout)
        XCTAssertFalse(try liveRRsets().contains { $0.name == dkimName })
        (status, got) = try jsonClasses(plan)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(got, [])
    }

    func testMailBreakingSecondDMARCRecordAndExitCodes() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        let d = zone.fqdn
        // Someone adds a second DMARC record next to the managed one: no policy applies.
        try replace("_dmarc.\(d)", "TXT", ttl: 3600, ["\"v=DMARC1; p=none; rua=mailto:dmarc@\(z)\"", "\"v=DMARC1; p=reject\""])
        var (status, got) = try jsonClasses(plan)
        XCTAssertEqual(status, 2)
        XCTAssertEqual(got, ["update _dmarc.\(d) TXT mail-breaking []"])
        let text = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(text.status, 2)
        XCTAssertEqual(text.stdout, """
        mailplan will perform the following actions:

          # zone \(d) (provider pdns, powerdns)
          ~ _dmarc.\(d) TXT ttl 3600
                "v=DMARC1; p=none; rua=mailto:dmarc@\(z)"
              - "v=DMARC1; p=reject"
              # replaces 2 DMARC records with one (RFC 7489 §6.6.3: with more than one, no policy applies)
              # class mail-breaking: live data breaks mail

        Plan: 0 to add, 1 to change, 0 to destroy.

        """)
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        (status, got) = try jsonClasses(plan)
        XCTAssertEqual(status, 0)
        XCTAssertEqual(got, [])
    }
}
