import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// Colour only on a terminal, never with NO_COLOR or --no-color: run under a real
/// pseudo-terminal (util-linux `script`), and through a pipe.
final class ColourCLITests: XCTestCase {
    func runOnTerminal(_ command: String, env: [String: String] = [:]) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("util-linux script is not installed") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", command, "/dev/null"]
        var e = ProcessInfo.processInfo.environment
        e.removeValue(forKey: "NO_COLOR")
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }

    func testColourOnlyOnATerminalAndNeverWithNoColor() throws {
        let dir = try copyOfPlans()
        let cmd = "\(mailplanBinary().path) plan \(dir.appendingPathComponent("example.yaml").path)"
        let tty = try runOnTerminal(cmd)
        XCTAssertTrue(tty.contains("\u{1B}[32m  + _dmarc.example.com. TXT ttl 3600\u{1B}[0m\n"), tty)
        XCTAssertTrue(tty.contains("\u{1B}[1mPlan: 6 to add, 2 to change, 0 to destroy.\u{1B}[0m\n"), tty)
        for plain in [try runOnTerminal(cmd, env: ["NO_COLOR": "1"]), try runOnTerminal(cmd + " --no-color"),
                      try runMailplan(["plan", dir.appendingPathComponent("example.yaml").path]).stdout] {
            XCTAssertFalse(plain.contains("\u{1B}["), plain)
            XCTAssertTrue(plain.contains("  + _dmarc.example.com. TXT ttl 3600\n"), plain)
        }
    }
}
