import Foundation
import XCTest
import MailPlan
@testable import MailPlanTestSupport

/// The repository root, found from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The built `mailplan` executable next to the test bundle (or `MAILPLAN_BIN`).
func mailplanBinary() -> URL {
    if let p = ProcessInfo.processInfo.environment["MAILPLAN_BIN"] { return URL(fileURLWithPath: p) }
    for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
        return b.bundleURL.deletingLastPathComponent().appendingPathComponent("mailplan")
    }
    return Bundle.main.bundleURL.appendingPathComponent("mailplan")
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs the CLI as a user would, with `stdin` as its input.
func runMailplan(_ args: [String], stdin: String = "", cwd: URL? = nil, env extra: [String: String] = [:]) throws -> RunResult {
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "NO_COLOR")
    for (k, v) in extra { env[k] = v }
    let r = try runProgram(mailplanBinary(), args, stdin: Data(stdin.utf8), cwd: cwd, environment: env)
    return RunResult(status: r.status, stdout: String(decoding: r.stdout, as: UTF8.self), stderr: String(decoding: r.stderr, as: UTF8.self))
}

/// Runs a program; `stdin` is written and standard error read on their own threads, so
/// neither pipe can fill up and stall it.
func runProgram(_ exe: URL, _ args: [String], stdin: Data = Data(), cwd: URL? = nil, environment: [String: String]? = nil) throws -> (status: Int32, stdout: Data, stderr: Data) {
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    if let environment { p.environment = environment }
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = inp
    try p.run()
    let writer = Thread { try? inp.fileHandleForWriting.write(contentsOf: stdin); try? inp.fileHandleForWriting.close() }
    writer.start()
    final class Collected: @unchecked Sendable { var data = Data() }
    let e = Collected()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); done.signal() }
    let o = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return (p.terminationStatus, o, e.data)
}

/// A fresh copy of plans/ in a temporary directory, so tests can apply to it.
func copyOfPlans() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-test-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans"), to: dir)
    return dir
}

/// Loads plan text with an environment (for `${VAR}`), relative to `dir`.
func loadPlan(_ text: String, dir: URL = FileManager.default.temporaryDirectory, env: [String: String] = [:]) throws -> MailPlan {
    try PlanLoader(environment: env).load(text: text, file: "test.yaml", baseDirectory: dir)
}
