import Foundation
import XCTest
@testable import MailPlan

/// The repository root, found from this file's path.
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The base64 body of a PEM file (for a SubjectPublicKeyInfo PEM, exactly the DKIM p= value).
func pemBody(_ path: String) throws -> String {
    try String(contentsOf: repoRoot.appendingPathComponent(path), encoding: .utf8)
        .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
}

/// Loads plan text as if it were the file `plans/test.yaml` (relative paths resolve in plans/).
func loadPlan(_ yaml: String, env: [String: String] = [:]) throws -> MailPlan {
    try PlanLoader(environment: env).load(text: yaml, file: "test.yaml", baseDirectory: repoRoot.appendingPathComponent("plans"))
}

/// The diagnostics a plan text produces, as printed.
func diagnostics(_ yaml: String, env: [String: String] = [:]) -> [String] {
    do { _ = try loadPlan(yaml, env: env); return [] } catch let e as DiagnosticsError {
        return e.diagnostics.map(\.description)
    } catch { return ["unexpected: \(error)"] }
}

func dn(_ s: String) -> DomainName { try! DomainName(s) }
