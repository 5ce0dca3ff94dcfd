import Foundation
import MailPlan
import Providers
import XCTest

/// The repository root, found from this file's path.
let cloudRepoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Support for plan → apply → plan round trips of the cloud adapters against their fakes.
enum CloudPlan {
    /// The DKIM `p=` of plans/keys/mail2026.pub (a 2048-bit RSA key): the base64 body of the PEM.
    static func dkimP() throws -> String {
        try String(contentsOf: cloudRepoRoot.appendingPathComponent("plans/keys/mail2026.pub"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
    }
    /// The DKIM TXT value mailplan compiles from that key.
    static func dkimValue() throws -> String { "v=DKIM1; k=rsa; p=" + (try dkimP()) }

    /// A plan for zone example.com at provider `p` with a 2048-bit DKIM key, MX preference 0,
    /// SPF at the apex (shared with an unmanaged token), DMARC, and a null MX at
    /// noreply.example.com. `settings` are the provider's YAML lines (indented by 4).
    static func yaml(type: String, settings: [String], ttl: Int = 3600) -> String {
        """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
        providers:
          p:
            type: \(type)
        \(settings.map { "    " + $0 }.joined(separator: "\n"))
        defaults:
          ttl: \(ttl)
        domains:
          - name: example.com
            provider: p
            mx: [{host: mail.example.com, preference: 0}]
            spf: {senders: [mx], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: quarantine, rua: ["mailto:dmarc@example.com"]}
          - name: noreply.example.com
            zone: example.com
            provider: p
            mx: [{host: ".", preference: 0}]

        """
    }

    /// Loads plan text as if it were `plans/test.yaml`.
    static func load(_ yaml: String, env: [String: String]) throws -> MailPlan {
        try PlanLoader(environment: env).load(text: yaml, file: "test.yaml", baseDirectory: cloudRepoRoot.appendingPathComponent("plans"))
    }

    /// An engine over the registry, with `make` overriding how adapters are built (tests
    /// inject a client whose sleeps are recorded).
    static func engine(_ yaml: String, env: [String: String],
                       make: @escaping (ProviderConfig) throws -> any DNSProvider = ProviderRegistry.make) throws -> Engine {
        Engine(plan: try load(yaml, env: env), now: Date(), makeProvider: make)
    }

    /// The plan text of an engine's current plan.
    static func planText(_ engine: Engine) throws -> String { PlanRenderer.text(try engine.makePlan().changesets) }

    /// The first "\"<255>\" \"<rest>\"" split of a value, written out by hand for assertions.
    static func twoChunks(_ v: String) -> String { "\"" + String(v.prefix(255)) + "\" \"" + String(v.dropFirst(255)) + "\"" }

    /// The `mailplan` executable built next to the test bundle.
    static func binary() -> URL {
        if let p = ProcessInfo.processInfo.environment["MAILPLAN_BIN"] { return URL(fileURLWithPath: p) }
        for b in Bundle.allBundles where b.bundlePath.hasSuffix(".xctest") {
            return b.bundleURL.deletingLastPathComponent().appendingPathComponent("mailplan")
        }
        return Bundle.main.bundleURL.appendingPathComponent("mailplan")
    }

    /// Runs the CLI with a plan file written to a temporary copy of plans/.
    static func run(_ args: [String], yaml: String, env: [String: String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-cloud-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: cloudRepoRoot.appendingPathComponent("plans/keys/mail2026.pub"), to: dir.appendingPathComponent("keys/mail2026.pub"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let planPath = dir.appendingPathComponent("plan.yaml")
        try yaml.write(to: planPath, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = binary()
        p.arguments = args + [planPath.path]
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        e["NO_COLOR"] = "1"
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let r = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: r, as: UTF8.self))
    }
}

extension FakeHTTPServer.Request {
    /// The body as text.
    var text: String { String(decoding: body, as: UTF8.self) }
    /// "METHOD path".
    var line: String { "\(method) \(path)" }
}
