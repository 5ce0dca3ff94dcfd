import Foundation
import MailPlan
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import MailPlanTestSupport

/// The MTA-STS policy fetch over the shared libcurl client against a local HTTPS server
/// (Python `http.server` + `ssl`) with a CA generated here by the openssl CLI; nothing
/// private is committed. The host name `mta-sts.example.com` is pointed at loopback with
/// `check.mta_sts.resolve` (libcurl CURLOPT_CONNECT_TO), so TLS verifies the real name.
final class MTASTSCheckTests: XCTestCase {
    var dir: URL!
    var server: Process?
    /// In the spf-live range; override with MAILPLAN_MTASTS_TEST_PORT.
    let port = UInt16(ProcessInfo.processInfo.environment["MAILPLAN_MTASTS_TEST_PORT"] ?? "") ?? 37443

    func sh(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        p.currentDirectoryURL = dir
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, args.joined(separator: " "))
    }

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-mtasts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("www/.well-known"), withIntermediateDirectories: true)
        try sh(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=mailplan test CA"])
        try sh(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=mta-sts.example.com"])
        try "subjectAltName=DNS:mta-sts.example.com\n".write(to: dir.appendingPathComponent("san.ext"), atomically: true, encoding: .utf8)
        try sh(["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.ext"])
        try """
        import functools, http.server, ssl, sys
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory="www")
        httpd = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain("server.pem", "server.key")
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
        print("ready", flush=True)
        httpd.serve_forever()
        """.write(to: dir.appendingPathComponent("serve.py"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "serve.py", String(port)]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        _ = out.fileHandleForReading.availableData  // blocks until "ready"
    }

    override func tearDown() {
        if let p = server, p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        try? FileManager.default.removeItem(at: dir)
    }

    func serve(_ policy: String) throws {
        try policy.write(to: dir.appendingPathComponent("www/.well-known/mta-sts.txt"), atomically: true, encoding: .utf8)
    }

    func plan(mode: String) throws -> URL {
        let zone = dir.appendingPathComponent("example.com.zone")
        if !FileManager.default.fileExists(atPath: zone.path) {
            try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans/zones/example.com.zone"), to: zone)
        }
        let file = dir.appendingPathComponent("plan-\(mode).yaml")
        try """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: example.com.zone}}
        check: {mta_sts: {ca_file: ca.pem, resolve: {mta-sts.example.com: "127.0.0.1:\(port)"}}}
        domains:
          - name: example.com
            mx: [{host: mail.example.com, preference: 10}, {host: mx2.example.net, preference: 20}]
            mta_sts: {mode: \(mode), max_age: 86400}
        """.write(to: file, atomically: true, encoding: .utf8)
        return file
    }

    func testPolicyFetchedOverHTTPSWithThePlansCA() throws {
        let p = try PlanLoader().load(path: try plan(mode: "enforce").path)
        let d = p.domains[0]
        let planned = "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: mx2.example.net\r\nmax_age: 86400\r\n"
        XCTAssertEqual(Compiler.mtaSTSPolicy(d.mtaSTS!, mx: d.mx), planned)
        let check = MTASTSCheck(settings: p.check.mtaSTS)

        try serve(planned)
        XCTAssertEqual(check.findings(d), [Finding(.ok, "mta-sts", "mta-sts.example.com", "policy served as planned (mode enforce)", expected: planned, actual: planned)])

        // A wildcard covers one label (RFC 8461 §4.1): *.example.com covers mail.example.com;
        // mx2.example.net is left out, so enforce is refused.
        let served = "version: STSv1\nmode: testing\nmx: *.example.com\nmax_age: 86400\n"
        try serve(served)
        XCTAssertEqual(check.findings(d), [
            Finding(.error, "mta-sts", "mta-sts.example.com", "refusing mode: enforce: the served policy's mx (*.example.com) does not cover mx2.example.net (RFC 8461 §4.1); publish the planned policy first",
                    expected: "mail.example.com, mx2.example.net", actual: "*.example.com"),
            Finding(.error, "mta-sts", "mta-sts.example.com", "served policy differs from the plan", expected: planned, actual: served),
        ])
        XCTAssertTrue(MTASTSServedPolicy(text: "mx: *.example.com\n").covers(try DomainName("mail.example.com")))
        XCTAssertFalse(MTASTSServedPolicy(text: "mx: *.example.com\n").covers(try DomainName("a.mail.example.com")))
        XCTAssertFalse(MTASTSServedPolicy(text: "mx: *.example.com\n").covers(try DomainName("example.com")))

        // Without the plan's CA the certificate is not trusted: an error finding, never a pass.
        var noCA = p.check.mtaSTS!
        noCA.caFile = nil
        let untrusted = MTASTSCheck(settings: noCA).findings(d)
        XCTAssertEqual(untrusted.map(\.severity), [.error])
        XCTAssertTrue(untrusted[0].message.hasPrefix("cannot fetch https://mta-sts.example.com/.well-known/mta-sts.txt: "), untrusted[0].message)

        // `plan` refuses enforce while the served policy leaves out a planned MX (exit 1).
        let r = try runMailplan(["plan", try plan(mode: "enforce").path, "--no-color"], cwd: dir)
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertEqual(r.stderr, "\(dir.path)/plan-enforce.yaml:6:5: error: domains[example.com].mta_sts: refusing mode: enforce: the served policy's mx (*.example.com) does not cover mx2.example.net (RFC 8461 §4.1); publish the planned policy first\n")
        // mode: testing is not refused.
        XCTAssertEqual(try runMailplan(["plan", try plan(mode: "testing").path, "--no-color"], cwd: dir).status, 0)
    }
}
