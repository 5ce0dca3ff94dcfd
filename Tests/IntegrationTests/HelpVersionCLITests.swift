import Foundation
import XCTest
@testable import MailPlanTestSupport

/// `--version`, `--help` text and `dkim keygen --plan` through the real binary (issue 14).
final class HelpVersionCLITests: XCTestCase {
    /// A debug build has no commit recorded; `make release` records it (checked by
    /// scripts/check-install on the release binary).
    func testVersionNamesTheCommitOrSaysThereIsNone() throws {
        let r = try runMailplan(["--version"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stdout, "0.1.0 (commit unknown: not built by make release)\n")
    }

    /// Help is wrapped at 80 columns: every example line must fit, or its tail lands in
    /// column 0 where it reads as prose. Each line of an Examples block starts indented.
    func testHelpExamplesNeverWrapIntoColumnZero() throws {
        let commands = [[], ["validate"], ["plan"], ["apply"], ["check"], ["show"], ["import"], ["dkim", "keygen"]]
        var blocks = 0
        for c in commands {
            let r = try runMailplan(c + ["--help"], env: ["COLUMNS": "80"])
            XCTAssertEqual(r.status, 0, r.stderr)
            var inExamples = false
            for line in r.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasSuffix("Examples:") || line.hasSuffix("Example:") { inExamples = true; blocks += 1; continue }
                if line.isEmpty { inExamples = false; continue }
                guard inExamples else { continue }
                XCTAssertTrue(line.hasPrefix("  "), "mailplan \(c.joined(separator: " ")) --help: '\(line)' wrapped into column 0")
                XCTAssertLessThanOrEqual(line.count, 80, "mailplan \(c.joined(separator: " ")) --help: '\(line)'")
            }
        }
        XCTAssertEqual(blocks, 7, "one Examples block per command but validate (inline example)")
        let plan = try runMailplan(["plan", "--help"], env: ["COLUMNS": "80"])
        XCTAssertTrue(plan.stdout.contains("""
          mailplan plan plans/example.yaml --detailed-exitcode \\
            --summary "$GITHUB_STEP_SUMMARY"
        """), plan.stdout)
    }

    func testTopLevelHelpSaysHowToGetCompletionsAndTheDebugLog() throws {
        let r = try runMailplan(["--help"], env: ["COLUMNS": "80"])
        XCTAssertTrue(r.stdout.contains("""
          Shell completion: mailplan --generate-completion-script bash|zsh|fish (make
          install puts the scripts where bash, zsh and fish look). Debug log: --verbose
          or MAILPLAN_LOG=debug.
          """), r.stdout)
        let bash = try runMailplan(["--generate-completion-script", "bash"])
        XCTAssertEqual(bash.status, 0)
        XCTAssertTrue(bash.stdout.contains("complete -o filenames -F _mailplan mailplan"), String(bash.stdout.suffix(300)))
    }

    /// The snippet's public_key_file is the path the plan file holds: relative to --plan's
    /// directory, or to the parent of --out by default (plans/keys → keys/…).
    func testKeygenPrintsThePathAsThePlanHoldsIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-keygen-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let keys = dir.appendingPathComponent("keys").path
        let r = try runMailplan(["dkim", "keygen", "--selector", "ed1", "--domain", "example.com", "--algorithm", "ed25519", "--out", keys])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("  - selector: ed1\n    public_key_file: keys/ed1.public.pem\n"), r.stdout)
        let sub = dir.appendingPathComponent("sub").path
        let p = try runMailplan(["dkim", "keygen", "--selector", "ed2", "--domain", "example.com", "--algorithm", "ed25519",
                                 "--out", keys, "--plan", sub + "/mail.yaml"])
        XCTAssertEqual(p.status, 0, p.stderr)
        // keys/ is not under sub/: the plan then holds the full path.
        XCTAssertTrue(p.stdout.contains("    public_key_file: \(URL(fileURLWithPath: keys).standardizedFileURL.path)/ed2.public.pem\n"), p.stdout)
        let top = try runMailplan(["dkim", "keygen", "--selector", "ed3", "--domain", "example.com", "--algorithm", "ed25519",
                                   "--out", keys, "--plan", dir.path + "/mail.yaml"])
        XCTAssertTrue(top.stdout.contains("    public_key_file: keys/ed3.public.pem\n"), top.stdout)
    }
}

/// `mailplan paln plan.yaml` said "2 unexpected arguments" (failing input of a newcomer's run).
final class UnknownCommandCLITests: XCTestCase {
    func testAMisspeltCommandGetsADidYouMean() throws {
        let r = try runMailplan(["paln", "plans/example.yaml"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "error: 'paln' is not a mailplan command; did you mean 'plan'? (commands: validate, plan, apply, check, show, import, dkim, verify-message, help)\nRun 'mailplan --help' for usage.\n")
        let other = try runMailplan(["plan"])
        XCTAssertEqual(other.stderr, "error: Missing expected argument '<plan-file>'\nRun 'mailplan --help' for usage.\n")
    }
}
