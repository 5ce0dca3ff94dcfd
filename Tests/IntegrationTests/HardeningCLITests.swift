import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Bad input and misuse found by trying the CLI as an attacker would; each test is the failing
/// input of a fixed bug.
final class HardeningCLITests: XCTestCase {
    /// `--wait-timeout nan` crashed (signal 4) after the zone had been written.
    func testWaitTimeoutMustBeAFiniteNumberOfSeconds() throws {
        let dir = try copyOfPlans()
        let zone = dir.appendingPathComponent("zones/example.com.zone")
        let before = try Data(contentsOf: zone)
        for bad in ["nan", "inf", "1e308", "0", "-5"] {
            let r = try runMailplan(["apply", dir.appendingPathComponent("example.yaml").path, "--auto-approve", "--wait-timeout=\(bad)"])
            XCTAssertEqual(r.status, 1, bad)
            XCTAssertTrue(r.stderr.hasPrefix("error: --wait-timeout must be a number of seconds from 0 to 86400, got "), r.stderr)
            XCTAssertEqual(try Data(contentsOf: zone), before, "nothing is applied")
        }
    }

    /// With no thread to be had (RLIMIT_NPROC reached, here 1 for user nobody), `validate`
    /// hung: the plan reader's second thread never started and the loader waited for it
    /// (Foundation's Thread.start() fails silently). It now reads on the calling thread;
    /// `plan` and `apply`, whose zone reads need threads, hung the same way and now fail with
    /// the reason, writing nothing. Needs root (to become nobody) and util-linux's prlimit
    /// and setpriv.
    func testWithoutThreadsValidateStillRunsAndPlanFailsWithTheReason() throws {
        let prlimit = URL(fileURLWithPath: "/usr/bin/prlimit"), setpriv = "/usr/bin/setpriv"
        guard getuid() == 0, FileManager.default.isExecutableFile(atPath: prlimit.path),
              FileManager.default.isExecutableFile(atPath: "/usr/bin/timeout"),
              FileManager.default.isExecutableFile(atPath: setpriv) else {
            throw XCTSkip("needs root, /usr/bin/prlimit and /usr/bin/setpriv")
        }
        let dir = try copyOfPlans()
        _ = try runProgram(URL(fileURLWithPath: "/bin/chmod"), ["-R", "a+rwX", dir.path])
        let zone = dir.appendingPathComponent("zones/example.com.zone")
        let before = try Data(contentsOf: zone)
        func asNobodyWithOneTask(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            // timeout(1): a hang (as before the fix) fails the test with status 124.
            let r = try runProgram(URL(fileURLWithPath: "/usr/bin/timeout"), ["60", prlimit.path, "--nproc=1:1", setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                             mailplanBinary().path] + args, cwd: dir)
            return (r.status, String(decoding: r.stdout, as: UTF8.self), String(decoding: r.stderr, as: UTF8.self))
        }
        let v = try asNobodyWithOneTask(["validate", "example.yaml"])
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertEqual(v.stdout, "example.yaml: valid (1 domain, 1 zone, 8 managed RRsets).\n")
        let reason = "error: no thread could be started to read zone example.com. (pthread_create: Resource temporarily unavailable)\n"
        let p = try asNobodyWithOneTask(["plan", "example.yaml"])
        XCTAssertEqual(p.status, 1)
        XCTAssertEqual(p.stderr, reason)
        let a = try asNobodyWithOneTask(["apply", "--auto-approve", "example.yaml"])
        XCTAssertEqual(a.status, 1)
        XCTAssertEqual(a.stderr, reason)
        XCTAssertEqual(try Data(contentsOf: zone), before, "nothing is applied")
    }

    /// `plan --out` overwrote the plan file itself, or the zone file, with JSON.
    func testOutNeverOverwritesAFileThatIsNotASavedPlan() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let zone = dir.appendingPathComponent("zones/example.com.zone").path
        for target in [plan, zone] {
            let before = try Data(contentsOf: URL(fileURLWithPath: target))
            let r = try runMailplan(["plan", plan, "--out", target])
            XCTAssertEqual(r.status, 1)
            XCTAssertEqual(r.stderr, "error: --out \(target) exists and is not a saved plan; refusing to overwrite it (remove it first, or choose another name)\n")
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), before)
        }
        // A previous saved plan is replaced as before.
        let saved = dir.appendingPathComponent("p.json").path
        XCTAssertEqual(try runMailplan(["plan", plan, "--out", saved]).status, 0)
        XCTAssertEqual(try runMailplan(["plan", plan, "--out", saved]).status, 0)
    }

    /// An edited saved plan (another address, an extra delete, a dropped gate) was applied as written.
    func testEditedSavedPlanIsRefused() throws {
        let dir = try copyOfPlans()
        let plan = dir.appendingPathComponent("example.yaml").path
        let saved = dir.appendingPathComponent("p.json")
        XCTAssertEqual(try runMailplan(["plan", plan, "--out", saved.path]).status, 0)
        let zone = dir.appendingPathComponent("zones/example.com.zone")
        let before = try Data(contentsOf: zone)
        let text = try String(contentsOf: saved, encoding: .utf8)
        XCTAssertTrue(text.contains("192.0.2.25"))
        try text.replacingOccurrences(of: "192.0.2.25", with: "203.0.113.66").write(to: saved, atomically: true, encoding: .utf8)
        let r = try runMailplan(["apply", saved.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, """
        error: stale plan: \(saved.path) no longer matches what it was made from:
          - the saved changes for example.com. are not what \(plan) gives for the same live records: the saved plan was edited, or the plan depends on something else that changed (a date, live DNS)
        Make a new plan: mailplan plan \(plan) --out \(saved.path)

        """)
        XCTAssertEqual(try Data(contentsOf: zone), before)
    }

    /// A saved plan made from a relative plan path could not be applied from another directory.
    func testSavedPlanAppliesFromAnotherWorkingDirectory() throws {
        let dir = try copyOfPlans()
        let saved = dir.appendingPathComponent("p.json").path
        XCTAssertEqual(try runMailplan(["plan", "example.yaml", "--out", saved], cwd: dir).status, 0)
        let r = try runMailplan(["apply", saved], cwd: URL(fileURLWithPath: "/"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.hasSuffix("Apply complete! Records: 6 added, 2 changed, 0 destroyed.\n"), r.stdout)
    }

    /// Control characters from a plan file were echoed raw to the terminal.
    func testControlCharactersAreEscapedInErrors() throws {
        let dir = try copyOfPlans()
        let bad = dir.appendingPathComponent("ctl.yaml")
        try "version: 1\nserver: {hostname: \"ex\\e]0;pwned\\aample.com\", ipv4: 192.0.2.1}\nproviders: {l: {type: zonefile, path: x}}\ndomains: [{name: example.com}]\n"
            .write(to: bad, atomically: true, encoding: .utf8)
        let r = try runMailplan(["validate", bad.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(r.stderr.unicodeScalars.contains { $0.value == 0x1b || $0.value == 0x07 })
        XCTAssertTrue(r.stderr.contains("'ex\\x1b]0;pwned\\x07ample.com'"), r.stderr)
    }

    /// A directory as the plan file gave a Foundation error code instead of a reason.
    func testDirectoryAsPlanFile() throws {
        let dir = try copyOfPlans()
        for cmd in ["validate", "plan", "apply"] {
            let r = try runMailplan([cmd, dir.path])
            XCTAssertEqual(r.status, 1, cmd)
            XCTAssertEqual(r.stderr, "error: \(dir.path): cannot read the plan file (Is a directory)\n", cmd)
        }
    }
}

/// A value of megabytes pasted into a plan is named in errors by its first 80 characters and
/// its length, never echoed whole (issue 12).
final class LongValueCLITests: XCTestCase {
    func testAMegabyteValueIsQuotedShortened() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-long-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let big = String(repeating: "A", count: 7_000_000)
        let plan = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          local: {type: zonefile, path: example.com.zone}
        domains:
          - name: example.com
            provider: local
            dmarc: {policy: "\(big)"}

        """.write(to: plan, atomically: true, encoding: .utf8)
        let r = try runMailplan(["validate", plan.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "\(plan.path):8:21: error: domains[example.com].dmarc.policy must be one of none, quarantine, reject, found '\(big.prefix(79))…(7000002 bytes)\n")
    }
}
