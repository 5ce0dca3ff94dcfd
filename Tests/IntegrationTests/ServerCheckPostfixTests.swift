import Foundation
import MailPlan
import XCTest
@testable import MailPlanTestSupport

/// Runs a shell command (openssl, for values computed independently of the code under test).
func sh(_ command: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let d = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// `mailplan check` against real Postfix (good, misconfigured, renewed key) and a real
/// validating unbound over signed, unsigned and bogus PowerDNS zones.
final class ServerCheckPostfixTests: XCTestCase {
    var pdns: PDNSServer!
    var mail: MailServers!
    var zones: [DomainName] = []
    let rev = try! DomainName("25.0.127.in-addr.arpa")
    static let serverChecks: Set<String> = ["smtp", "tls", "certificate", "tlsa", "dnssec", "open-relay"]

    override func setUpWithError() throws {
        pdns = try PDNSServer.fromEnvironment()
        mail = try MailServers.fromEnvironment()
        try pdns.createZone(rev, [rrset("1", rev, .ptr, 60, [mail.host + "."]), rrset("2", rev, .ptr, 60, [mail.badHost + "."])])
        zones.append(rev)
    }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    /// SHA-256 of the SubjectPublicKeyInfo of a PEM certificate or public key, by openssl.
    func spkiHash(cert: String) throws -> String {
        try sh("openssl x509 -in '\(cert)' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1")
    }
    /// The notAfter of a certificate as `yyyy-MM-dd HH:mm:ss UTC` and as a Date, by openssl.
    func notAfter(_ cert: String) throws -> (String, Date) {
        let s = try sh("openssl x509 -in '\(cert)' -enddate -noout | cut -d= -f2")   // "Mar  1 16:11:13 2027 GMT"
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "MMM d HH:mm:ss yyyy 'GMT'"
        let d = try XCTUnwrap(f.date(from: s.replacingOccurrences(of: "  ", with: " ")), s)
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return (f.string(from: d), d)
    }

    /// Publishes `records` in the child zone `child` of the DANE test parent.
    func publish(_ child: String, _ records: [RRset]) throws {
        try pdns.replace(try DomainName("\(child).\(mail.daneParent)"), records)
    }

    /// A plan for `host` at `addr` whose domain (a fresh zone) has `host` as its MX.
    func writePlan(host: String, addr: String, ports: String, extra: String = "", dane: String = "") throws -> (URL, DomainName) {
        let z = uniqueZone()
        try pdns.createZone(z, [rrset("@", z, .mx, 60, ["10 \(host)."])])
        zones.append(z)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server: {hostname: \(host), ipv4: \(addr)\(dane)}
        providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
        dns: {resolvers: ["${MAILPLAN_PDNS_DNS}"], validating_resolvers: ["${MAILPLAN_UNBOUND}"], timeout: 2}
        check:
          dnsbl: {ip: [], domain: []}
          ca_file: \(mail.ca)
          smtp: {ports: {\(ports)}, ehlo_name: probe.example.net, timeout: 5\(extra)}
        domains:
          - name: \(z.withoutTrailingDot)
            mx: [\(host)]
        """.write(to: file, atomically: true, encoding: .utf8)
        return (file, z)
    }

    func serverFindings(_ r: RunResult) throws -> [Finding] {
        let doc = try JSONDecoder().decode(CheckDocument.self, from: Data(r.stdout.utf8))
        return doc.findings.filter { Self.serverChecks.contains($0.check) }
    }

    func testGoodPostfixSignedZonePassesEveryServerCheck() throws {
        let h = mail.host, a = mail.goodAddr, s = "\(a):\(mail.goodPort)", s465 = "\(a):\(mail.goodSubmissions)"
        let hash = try spkiHash(cert: mail.cert)
        try publish("signed", [rrset(h + ".", .root, .a, 60, [a]), rrset("_25._tcp.\(h).", .root, .tlsa, 60, ["3 1 1 \(hash)"])])
        let (until, untilDate) = try notAfter(mail.cert)
        let now = untilDate.addingTimeInterval(-30 * 86_400 - 3600)   // 30 days and 1 hour before expiry
        let iso = ISO8601DateFormatter().string(from: now)
        let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.goodPort), submissions: \(mail.goodSubmissions)", extra: ", open_relay_probe: true")
        let r = try runMailplan(["check", plan.path, "--json"], env: ["MAILPLAN_NOW": iso])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let store = "check.ca_file \(mail.ca)"
        XCTAssertEqual(try serverFindings(r), [
            Finding(.ok, "smtp", s, "greeting name \(h) is server.hostname \(h)", expected: h, actual: h),
            Finding(.ok, "smtp", s, "greeting name \(h) is the PTR of \(a)", expected: h, actual: h),
            Finding(.ok, "open-relay", s, "relaying refused: RCPT TO an outside address answered 554 5.7.1 <mailplan-probe@example.net>: Relay access denied", expected: "4xx or 5xx", actual: "554 5.7.1 <mailplan-probe@example.net>: Relay access denied"),
            Finding(.ok, "smtp", s, "STARTTLS offered"),
            Finding(.ok, "tls", s, "TLSv1.3 negotiated", expected: "TLSv1.2 or later", actual: "TLSv1.3"),
            Finding(.ok, "tls", s, "chain verifies against \(store)"),
            Finding(.ok, "certificate", s, "names cover \(h)", expected: h, actual: h),
            Finding(.ok, "certificate", s, "valid until \(until) (30 days)", expected: ">= 21 days", actual: "30 days"),
            Finding(.ok, "tlsa", "_25._tcp.\(h).", "TLSA 3 1 1 matches the served certificate's public key at \(s)", expected: "3 1 1 \(hash)", actual: "3 1 1 \(hash)"),
            Finding(.ok, "smtp", s465, "greeting name \(h) is server.hostname \(h)", expected: h, actual: h),
            Finding(.ok, "smtp", s465, "greeting name \(h) is the PTR of \(a)", expected: h, actual: h),
            Finding(.ok, "tls", s465, "TLSv1.3 negotiated", expected: "TLSv1.2 or later", actual: "TLSv1.3"),
            Finding(.ok, "tls", s465, "chain verifies against \(store)"),
            Finding(.ok, "certificate", s465, "names cover \(h)", expected: h, actual: h),
            Finding(.ok, "certificate", s465, "valid until \(until) (30 days)", expected: ">= 21 days", actual: "30 days"),
            Finding(.info, "tlsa", "_465._tcp.\(h).", "no TLSA published (NXDOMAIN): DANE senders use TLS without authenticating \(h)", expected: "3 1 1 \(hash)", actual: "NXDOMAIN"),
            Finding(.ok, "dnssec", "_25._tcp.\(h).", "TLSA: DNSSEC secure (validated by \(mail.unbound))", expected: "secure", actual: "secure"),
            Finding(.ok, "dnssec", "\(h).", "A: DNSSEC secure (validated by \(mail.unbound))", expected: "secure", actual: "secure"),
        ])

        // Within check.cert_warn_days: a warning, exit 2.
        let soon = ISO8601DateFormatter().string(from: untilDate.addingTimeInterval(-10 * 86_400 - 3600))
        let w = try runMailplan(["check", plan.path, "--json"], env: ["MAILPLAN_NOW": soon])
        XCTAssertEqual(w.status, 2, w.stderr)
        XCTAssertEqual(try serverFindings(w).filter(\.isProblem), [
            Finding(.warning, "certificate", s, "expires on \(until), in 10 days (check.cert_warn_days: 21); renew the certificate", expected: ">= 21 days", actual: "10 days"),
            Finding(.warning, "certificate", s465, "expires on \(until), in 10 days (check.cert_warn_days: 21); renew the certificate", expected: ">= 21 days", actual: "10 days"),
        ])
    }

    func testGoodPostfixOverIPv6() throws {
        guard let v6 = mail.goodV6Port else {
            if ProcessInfo.processInfo.environment["MAILPLAN_NO_IPV6"] == "1" { throw XCTSkip("no IPv6 loopback on this machine (scripts/servers)") }
            XCTFail("MAILPLAN_POSTFIX_GOOD_V6_PORT not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env"); return
        }
        let h = mail.host, s = "[::1]:\(v6)"
        let rev6 = IPv6Address("::1")!.reverseName, zone6 = rev6.parent!
        try pdns.createZone(zone6, [rrset(rev6.fqdn, zone6, .ptr, 60, [h + "."])])
        zones.append(zone6)
        let hash = try spkiHash(cert: mail.cert)
        try publish("signed", [rrset(h + ".", .root, .aaaa, 60, ["::1"]), rrset("_25._tcp.\(h).", .root, .tlsa, 60, ["3 1 1 \(hash)"])])
        let (plan, _) = try writePlan(host: h, addr: "::1", ports: "smtp: \(v6)")
        let text = try String(contentsOf: plan, encoding: .utf8).replacingOccurrences(of: "ipv4: ::1", with: "ipv6: \"::1\"")
        try text.write(to: plan, atomically: true, encoding: .utf8)
        let r = try runMailplan(["check", plan.path, "--json"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        let f = try serverFindings(r)
        XCTAssertEqual(f.filter { $0.check == "smtp" || $0.check == "tlsa" || $0.check == "dnssec" }, [
            Finding(.ok, "smtp", s, "greeting name \(h) is server.hostname \(h)", expected: h, actual: h),
            Finding(.ok, "smtp", s, "greeting name \(h) is the PTR of ::1", expected: h, actual: h),
            Finding(.ok, "smtp", s, "STARTTLS offered"),
            Finding(.ok, "tlsa", "_25._tcp.\(h).", "TLSA 3 1 1 matches the served certificate's public key at \(s)", expected: "3 1 1 \(hash)", actual: "3 1 1 \(hash)"),
            Finding(.ok, "dnssec", "_25._tcp.\(h).", "TLSA: DNSSEC secure (validated by \(mail.unbound))", expected: "secure", actual: "secure"),
            Finding(.ok, "dnssec", "\(h).", "AAAA: DNSSEC secure (validated by \(mail.unbound))", expected: "secure", actual: "secure"),
        ])
        XCTAssertEqual(f.filter { $0.check == "tls" }.map(\.message), ["TLSv1.3 negotiated", "chain verifies against check.ca_file \(mail.ca)"])
    }

    func testMisconfiguredPostfixHasExactlyTheExpectedFindings() throws {
        let h = mail.badHost, a = mail.badAddr, s = "\(a):\(mail.badPort)"
        try publish("signed", [rrset(h + ".", .root, .a, 60, [a])])
        let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.badPort), submissions: \(mail.badSubmissions)")
        let r = try runMailplan(["check", plan.path, "--json"])
        XCTAssertEqual(r.status, 2, r.stdout + r.stderr)
        let g = mail.badGreeting
        XCTAssertEqual(try serverFindings(r).filter(\.isProblem), [
            Finding(.error, "smtp", s, "greeting name \(g) is not server.hostname \(h); set the SMTP server's host name to it (Postfix: myhostname)", expected: h, actual: g),
            Finding(.error, "smtp", s, "PTR mismatch: the greeting name \(g) is not the PTR of \(a) (\(h)); receivers compare them: make both \(h)", expected: h, actual: g),
            Finding(.error, "smtp", s, "STARTTLS not offered: mail to \(h) travels unencrypted; give the SMTP server a certificate (Postfix: smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_security_level = may)",
                    expected: "STARTTLS", actual: "PIPELINING SIZE VRFY ETRN ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING"),
            Finding(.error, "certificate", "\(a):\(mail.badSubmissions)", "expired on 2020-04-01 00:00:00 UTC (\(Int((Date().timeIntervalSince1970 - 1_585_699_200) / 86_400)) days ago); renew the certificate",
                    expected: "valid", actual: "notAfter 2020-04-01 00:00:00 UTC"),
        ])
        // No TLSA: the host's A still gets its DNSSEC state.
        XCTAssertEqual(try serverFindings(r).filter { $0.check == "dnssec" }, [
            Finding(.ok, "dnssec", "\(h).", "A: DNSSEC secure (validated by \(mail.unbound))", expected: "secure", actual: "secure"),
        ])
    }

    func testTLSAWithAnUnknownUsageIsUnusable() throws {
        let h = mail.host, a = mail.goodAddr, s = "\(a):\(mail.goodPort)"
        let hash = try spkiHash(cert: mail.cert)
        try publish("signed", [rrset(h + ".", .root, .a, 60, [a]), rrset("_25._tcp.\(h).", .root, .tlsa, 60, ["3 1 1 \(hash)", "4 1 1 \(hash)", "1 1 1 \(hash)"])])
        let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.goodPort)")
        let r = try runMailplan(["check", plan.path, "--json"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try serverFindings(r).filter { $0.check == "tlsa" }, [
            Finding(.warning, "tlsa", "_25._tcp.\(h).", "TLSA 1 1 1 \(hash) is unusable: usage 1 (PKIX-EE) is not used for SMTP (RFC 7672 §3.1.3); publish 3 1 1", actual: "1 1 1 \(hash)"),
            Finding(.ok, "tlsa", "_25._tcp.\(h).", "TLSA 3 1 1 matches the served certificate's public key at \(s)", expected: "3 1 1 \(hash)", actual: "3 1 1 \(hash)"),
            Finding(.warning, "tlsa", "_25._tcp.\(h).", "TLSA 4 1 1 \(hash) is unusable: usage 4 is not a DANE usage (RFC 6698 §2.1.1: 0 to 3); publish 3 1 1", actual: "4 1 1 \(hash)"),
        ])
    }

    func testOpenRelayIsAFinding() throws {
        let h = mail.badHost, a = mail.badAddr
        try publish("signed", [rrset(h + ".", .root, .a, 60, [a])])
        let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.badPort)", extra: ", open_relay_probe: {from: probe@example.org, to: someone@example.net}")
        let r = try runMailplan(["check", plan.path, "--json"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try serverFindings(r).filter { $0.check == "open-relay" }, [
            Finding(.error, "open-relay", "\(a):\(mail.badPort)", "open relay: RCPT TO an outside address was accepted (250 2.1.5 Ok); relay only for your own users (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; mynetworks without this network)",
                    expected: "5xx", actual: "250 2.1.5 Ok"),
        ])
    }

    func testRenewedKeyWithTheOldTLSAIsAMismatch() throws {
        let h = mail.host, a = mail.goodAddr, s = "\(a):\(mail.renewedPort)"
        let old = try spkiHash(cert: mail.cert), new = try spkiHash(cert: mail.renewedCert)
        try publish("signed", [rrset(h + ".", .root, .a, 60, [a]), rrset("_25._tcp.\(h).", .root, .tlsa, 60, ["3 1 1 \(old)"])])
        let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.renewedPort)")
        let r = try runMailplan(["check", plan.path, "--json"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try serverFindings(r).filter { $0.check == "tlsa" }, [
            Finding(.info, "tlsa", "_25._tcp.\(h).", "TLSA 3 1 1 \(old) matches nothing served at \(s) (a next key, published ahead of a rollover?)", expected: "3 1 1 \(old)", actual: "3 1 1 \(new)"),
            Finding(.error, "tlsa", "_25._tcp.\(h).", "no TLSA record matches the chain served at \(s): DANE senders will not deliver (RFC 7672 §2.2); publish 3 1 1 \(new) (the served key) before removing the old record",
                    expected: "3 1 1 \(new)", actual: "3 1 1 \(old)"),
        ])
    }

    func testTLSAInUnsignedAndBogusZones() throws {
        let a = mail.goodAddr
        for (child, tlsaMessage, addrMessage, state) in [
            ("unsigned", "TLSA: zone not signed: DANE senders ignore this TLSA (RFC 7672 §2.2); sign the zone and publish its DS at the parent (\(mail.unbound) answered without AD)",
             "A: zone not signed: DANE senders ignore the TLSA of this host (RFC 7672 §2.2.1); sign the zone and publish its DS at the parent (\(mail.unbound) answered without AD)", "insecure"),
            ("bogus", "TLSA: DNSSEC bogus: \(mail.unbound) answers SERVFAIL, and the data with checking disabled; DANE senders cannot reach this server: fix the zone's signatures or its DS at the parent",
             "A: DNSSEC bogus: \(mail.unbound) answers SERVFAIL, and the data with checking disabled; DANE senders cannot reach this server: fix the zone's signatures or its DS at the parent", "bogus"),
        ] {
            let h = "mail.\(child).\(mail.daneParent)"
            try publish(child, [rrset(h + ".", .root, .a, 60, [a]), rrset("_25._tcp.\(h).", .root, .tlsa, 60, ["3 1 1 \(try spkiHash(cert: mail.cert))"])])
            let (plan, _) = try writePlan(host: h, addr: a, ports: "smtp: \(mail.goodPort)")
            let r = try runMailplan(["check", plan.path, "--json"])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertEqual(try serverFindings(r).filter { $0.check == "dnssec" }, [
                Finding(.error, "dnssec", "_25._tcp.\(h).", tlsaMessage, expected: "secure", actual: state),
                Finding(.error, "dnssec", "\(h).", addrMessage, expected: "secure", actual: state),
            ], child)
        }
    }

    /// Deletes RRsets of a zone (PATCH changetype DELETE).
    func delete(_ zone: DomainName, _ keys: [(String, RRType)]) throws {
        let body = "{\"rrsets\": [" + keys.map { "{\"name\": \"\($0.0)\", \"type\": \"\($0.1.rawValue)\", \"changetype\": \"DELETE\"}" }.joined(separator: ",") + "]}"
        let resp = try pdns.http.send(HTTPRequest(.patch, pdns.zoneURL(zone), headers: pdns.headers, body: Data(body.utf8)))
        XCTAssertEqual(resp.status, 204, resp.text)
        try pdns.flushCache(zone)
    }

    func testPlanAndApplyGateTLSAThatMatchesNeitherServedNorNextKey() throws {
        let h = mail.host, a = mail.goodAddr, zone = try DomainName("signed.\(mail.daneParent)")
        let owner = "_25._tcp.\(h)."
        try delete(zone, [(owner, .tlsa), ("\(h).", .a)])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-gate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        func plan(_ dane: String) throws -> String {
            let file = dir.appendingPathComponent("plan.yaml")
            try """
            version: 1
            server: {hostname: \(h), ipv4: \(a), dane: {\(dane)}}
            providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
            check:
              smtp: {ports: {smtp: \(mail.renewedPort)}, timeout: 5}
            domains:
              - name: \(zone.withoutTrailingDot)
                mx: [\(h)]
            """.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
        let old = try spkiHash(cert: mail.cert), new = try spkiHash(cert: mail.renewedCert)
        // The plan still holds only the old key; the server presents the renewed one.
        let onlyOld = try plan("certificate_file: \(mail.cert)")
        let p = try runMailplan(["plan", onlyOld, "--no-color"])
        XCTAssertEqual(p.status, 0, p.stderr)
        let why = "no planned TLSA record matches the key the mail server presents (3 1 1 \(new)) or server.dane.next_public_key_file; DANE senders will not deliver"
        XCTAssertTrue(p.stdout.contains("      # apply needs --allow=tlsa-mismatch: \(SafetyGate.tlsaMismatch.explanation)\n"), p.stdout)
        XCTAssertTrue(p.stdout.contains("tlsa-mismatch: \(why)"), p.stdout)
        let refused = try runMailplan(["apply", onlyOld, "--auto-approve", "--no-color"])
        XCTAssertEqual(refused.status, 1, refused.stdout)
        XCTAssertTrue(refused.stderr.hasSuffix("error: refusing to apply: 1 change needs an explicit --allow:\n  \(owner) TLSA: \(SafetyGate.tlsaMismatch.explanation); rerun with --allow=tlsa-mismatch\n"), refused.stderr)
        XCTAssertEqual(try live(owner), [], "nothing was written")

        // Publish the next key with the old one: no gate; apply writes both.
        let withNext = try plan("certificate_file: \(mail.cert), next_public_key_file: \(mail.renewedPubkey)")
        let ok = try runMailplan(["apply", withNext, "--auto-approve", "--no-color"])
        XCTAssertEqual(ok.status, 0, ok.stdout + ok.stderr)
        XCTAssertFalse(ok.stdout.contains("tlsa-mismatch"), ok.stdout)
        XCTAssertEqual(try live(owner), ["3 1 1 \(new)", "3 1 1 \(old)"].sorted())

        // Dropping the record of the presented key is gated too.
        let wrongDrop = try plan("public_key_file: \(dir.path)/old.pem")
        _ = try sh("openssl x509 -in '\(mail.cert)' -pubkey -noout > '\(dir.path)/old.pem'")
        let d = try runMailplan(["apply", wrongDrop, "--auto-approve", "--no-color"])
        XCTAssertEqual(d.status, 1, d.stdout)
        XCTAssertTrue(d.stdout.contains("tlsa-mismatch: deletes the TLSA record that matches the key the mail server presents (3 1 1 \(new)); publish its replacement first"), d.stdout)
        XCTAssertEqual(try live(owner), ["3 1 1 \(new)", "3 1 1 \(old)"].sorted())
    }

    /// The TLSA values PowerDNS serves at `owner`, sorted.
    func live(_ owner: String) throws -> [String] {
        let a = try Resolver().query(try DomainName(owner), .tlsa, at: pdns.dns)
        return a.answerRecords.map(\.rdata.presentation).sorted()
    }
}
