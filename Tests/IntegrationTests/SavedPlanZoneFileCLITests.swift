import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// Saved plans, Markdown summaries, gates and completions through the real CLI on the
/// bundled zone-file example.
final class SavedPlanZoneFileCLITests: XCTestCase {
    func testSummaryFileIsAppendedMarkdown() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let summary = dir.appendingPathComponent("summary.md")
        try "# existing\n".write(to: summary, atomically: true, encoding: .utf8)
        let r = try runMailplan(["plan", plan, "--summary", summary.path, "--detailed-exitcode"])
        XCTAssertEqual(r.status, 2)
        let md = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("# existing\n## mailplan: example.yaml\n\n**Plan: 6 to add, 2 to change, 0 to destroy.** Classes: 6 missing, 2 changed.\n\n### zone `example.com.` (provider `local`, zonefile)\n"), md)
        XCTAssertTrue(md.contains("| ~ | `example.com. MX` | 300 → 3600 | changed | − `10 old-mx.example.net.`<br>+ `10 mail.example.com.` |\n"), md)
        let m = try runMailplan(["plan", plan, "--format", "markdown"])
        XCTAssertEqual(m.status, 0)
        XCTAssertEqual("# existing\n" + m.stdout, md, "--format markdown prints what --summary appends")
    }

    func testSavedPlanShowJSONAndApply() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let saved = dir.appendingPathComponent("p.json").path
        let made = try runMailplan(["plan", plan, "--json", "--out", saved])
        XCTAssertEqual(made.status, 0)
        XCTAssertEqual(made.stderr, "\nSaved the plan to: \(saved)\nTo perform exactly these actions, run: mailplan apply \(saved)\n")
        let show = try runMailplan(["show", saved, "--json"])
        XCTAssertEqual(show.stdout, try String(contentsOfFile: saved, encoding: .utf8))
        let doc = try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(doc["kind"] as? String, "mailplan-saved-plan")
        XCTAssertEqual((doc["key_files"] as? [[String: String]])?.map { $0["path"]! }, ["keys/mail2026.pub"])
        let notSaved = try runMailplan(["show", plan])
        XCTAssertEqual(notSaved.status, 1)
        XCTAssertEqual(notSaved.stderr, "error: \(plan) is not a saved plan (make one with: mailplan plan PLAN --out plan.json, then: mailplan show plan.json)\n")
        let target = try runMailplan(["apply", saved, "--target", "example.com"])
        XCTAssertEqual(target.status, 1)
        XCTAssertEqual(target.stderr, "error: --target cannot be used with a saved plan: it applies the zones it was made for\n")
        let apply = try runMailplan(["apply", saved])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 6 added, 2 changed, 0 destroyed.\n"))
        // The zone file changed (by the apply itself): the same saved plan is now stale.
        let again = try runMailplan(["apply", saved])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.hasPrefix("error: stale plan: \(saved) no longer matches what it was made from:\n  - zone example.com. at provider local changed since the plan was made: _dmarc.example.com. TXT was added; "), again.stderr)
        XCTAssertEqual(try runMailplan(["plan", plan, "--detailed-exitcode"]).status, 0)
    }

    func testUnknownGateIsAUsageError() throws {
        let r = try runMailplan(["plan", "plans/example.yaml", "--allow=dmarc-rejct"], cwd: repoRoot)
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: --allow=dmarc-rejct is not a safety gate; did you mean 'dmarc-reject'? (gates: remove-last-mx, delete-dkim, dmarc-reject, spf-fail-all, tlsa-mismatch)\nRun 'mailplan --help' for usage.\n")
    }

    func testRemovingTheLastMXNeedsItsGate() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml")
        var text = try String(contentsOf: plan, encoding: .utf8)
        text = text.replacingOccurrences(of: "      - host: mail.example.com\n        preference: 10\n", with: "      - {host: \".\", preference: 0}\n")
            .replacingOccurrences(of: "    mta_sts:\n      mode: enforce\n", with: "    mta_sts:\n      mode: none\n")
        try text.write(to: plan, atomically: true, encoding: .utf8)
        let r = try runMailplan(["apply", plan.path, "--auto-approve"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, """
        error: refusing to apply: 1 change needs an explicit --allow:
          example.com. MX: removes the last MX of a domain (it stops receiving mail); rerun with --allow=remove-last-mx

        """)
        let ok = try runMailplan(["apply", plan.path, "--auto-approve", "--allow", "remove-last-mx"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testCompletionScripts() throws {
        for shell in ["bash", "zsh", "fish"] {
            let r = try runMailplan(["--generate-completion-script", shell])
            XCTAssertEqual(r.status, 0, shell)
            XCTAssertTrue(r.stdout.contains("detailed-exitcode"), shell)
            XCTAssertTrue(r.stdout.contains("import"), shell)
        }
    }
}
