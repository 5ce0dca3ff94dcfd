import Foundation
import XCTest

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
    let p = Process()
    p.executableURL = mailplanBinary()
    p.arguments = args
    if let cwd { p.currentDirectoryURL = cwd }
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "NO_COLOR")
    for (k, v) in extra { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out; p.standardError = err; p.standardInput = inp
    try p.run()
    inp.fileHandleForWriting.write(Data(stdin.utf8))
    try inp.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// A fresh copy of plans/ in a temporary directory, so tests can apply to it.
func copyOfPlans() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-test-\(UUID().uuidString)")
    try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans"), to: dir)
    return dir
}
