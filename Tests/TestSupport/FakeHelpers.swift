import Foundation
import MailPlan
@testable import Providers
import XCTest

/// Records the waits the client asks for instead of sleeping.
final class SleepRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var _waits: [TimeInterval] = []
    var waits: [TimeInterval] { lock.lock(); defer { lock.unlock() }; return _waits }
    var sleep: @Sendable (TimeInterval) -> Void { { [self] t in lock.lock(); _waits.append(t); lock.unlock() } }
}

/// The repository's plans/ directory (key files for test plans).
let plansDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("plans")

/// The DKIM TXT value of plans/keys/mail2026.pub (a 2048-bit RSA key): 410 bytes.
let dkim2048: String = {
    let body = try! String(contentsOf: plansDirectory.appendingPathComponent("keys/mail2026.pub"), encoding: .utf8)
        .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    return "v=DKIM1; k=rsa; p=" + body
}()

/// K410: `v=DKIM1; k=rsa; p=` and 392 `A`.
let k410 = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)

/// A quoted zone-file string (JSON-escaped when put into a JSON body by the encoder).
func q(_ s: String) -> String { "\"" + s + "\"" }

/// Loads plan text with `env` for `${VAR}`; key files resolve in plans/.
func loadTestPlan(_ yaml: String, env: [String: String]) throws -> MailPlan {
    try PlanLoader(environment: env).load(text: yaml, file: "test.yaml", baseDirectory: plansDirectory)
}

/// The diagnostics of `Engine.validate()` (or of loading), as printed.
func validationErrors(_ yaml: String, env: [String: String]) -> [String] {
    do {
        let engine = Engine(plan: try loadTestPlan(yaml, env: env), now: Date(), makeProvider: ProviderRegistry.make)
        _ = try engine.validate()
        return []
    } catch let e as DiagnosticsError { return e.diagnostics.map(\.description) } catch { return ["unexpected: \(error)"] }
}

/// A client that records waits instead of sleeping.
func testClient(_ rec: SleepRecorder, attempts: Int = 3) -> HTTPClient {
    HTTPClient(options: HTTPClientOptions(connectTimeout: 2, totalTimeout: 10, retry: RetryPolicy(maxAttempts: attempts)),
               sleep: rec.sleep, jitter: { 1.0 })
}

/// Plan text as `mailplan plan` prints it.
func planText(_ engine: Engine) throws -> String {
    PlanRenderer.text(try engine.makePlan().changesets)
}

/// `applied` / `failed` / `not attempted` lines of an apply report, as the CLI prints them.
func reportLines(_ report: ApplyReport) -> [String] {
    var out: [String] = []
    for z in report.zones {
        if let e = z.error { out.append("error: \(e)") }
        out += z.applied.map { "applied: \($0.action) \($0.key)" }
        out += z.failed.map { "failed: \($0.action) \($0.key)" }
        out += z.notAttempted.map { "not attempted: \($0.action) \($0.key)" }
    }
    return out
}

extension XCTestCase {
    /// A Cloudflare fake kept alive until the test ends (ARC may otherwise free it after its
    /// last use while the adapter still talks to its server).
    func cloudflareFake(_ token: String) throws -> CloudflareFake {
        let f = try CloudflareFake(token: token)
        addTeardownBlock { f.server.stop() }
        return f
    }
    /// A DigitalOcean fake kept alive until the test ends.
    func digitalOceanFake(_ token: String) throws -> DigitalOceanFake {
        let f = try DigitalOceanFake(token: token)
        addTeardownBlock { f.server.stop() }
        return f
    }
}
