import Foundation
@testable import MailPlan
import XCTest

/// TLSA matching (RFC 6698 §2.1, RFC 7671 §5, RFC 7672 §3.1) against a chain made here by
/// openssl; every expected digest is computed by openssl, not by the code under test.
final class TLSAMatcherTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-tlsa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try run("""
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 30 -subj /CN=ca -addext basicConstraints=critical,CA:TRUE 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj /CN=mail.example.com -addext subjectAltName=DNS:mail.example.com,DNS:*.mx.example.net 2>/dev/null
        openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 10 -copy_extensions copy -out leaf.pem 2>/dev/null
        openssl x509 -in leaf.pem -outform DER -out leaf.der
        openssl x509 -in ca.pem -outform DER -out ca.der
        """)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    @discardableResult
    func run(_ script: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-ec", script]
        p.currentDirectoryURL = dir
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, script)
        return String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func chain() throws -> [ServedCertificate] {
        try ["leaf.der", "ca.der"].map { try ServedCertificate(der: [UInt8](try Data(contentsOf: dir.appendingPathComponent($0)))) }
    }

    func testEveryUsageSelectorAndMatchingType() throws {
        let c = try chain()
        let leafSPKI256 = try run("openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1")
        let leafCert512 = try run("sha512sum leaf.der | cut -d' ' -f1")
        let leafSPKIFull = try run("openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER | od -An -v -tx1 | tr -d ' \\n'")
        let caSPKI256 = try run("openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1")
        let caCert256 = try run("sha256sum ca.der | cut -d' ' -f1")

        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 1, matchingType: 1, data: leafSPKI256.uppercased(), chain: c), .matches(position: 0))
        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 0, matchingType: 2, data: leafCert512, chain: c), .matches(position: 0))
        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 1, matchingType: 0, data: leafSPKIFull, chain: c), .matches(position: 0))
        XCTAssertEqual(TLSAMatcher.match(usage: 2, selector: 1, matchingType: 1, data: caSPKI256, chain: c), .matches(position: 1))
        XCTAssertEqual(TLSAMatcher.match(usage: 2, selector: 0, matchingType: 1, data: caCert256, chain: c), .matches(position: 1))
        // DANE-EE never matches a CA certificate, DANE-TA never the leaf.
        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 1, matchingType: 1, data: caSPKI256, chain: c), .noMatch)
        XCTAssertEqual(TLSAMatcher.match(usage: 2, selector: 1, matchingType: 1, data: leafSPKI256, chain: c), .noMatch)
        XCTAssertEqual(TLSAMatcher.match(usage: 1, selector: 1, matchingType: 1, data: leafSPKI256, chain: c),
                       .unusable("usage 1 (PKIX-EE) is not used for SMTP (RFC 7672 §3.1.3); publish 3 1 1"))
        XCTAssertEqual(TLSAMatcher.match(usage: 4, selector: 1, matchingType: 1, data: leafSPKI256, chain: c),
                       .unusable("usage 4 is not a DANE usage (RFC 6698 §2.1.1: 0 to 3); publish 3 1 1"))
        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 2, matchingType: 1, data: leafSPKI256, chain: c),
                       .unusable("selector 2 is unknown (RFC 6698 §2.1.2: 0 or 1)"))
        XCTAssertEqual(TLSAMatcher.match(usage: 3, selector: 1, matchingType: 3, data: leafSPKI256, chain: c),
                       .unusable("matching type 3 is unknown (RFC 6698 §2.1.3: 0, 1 or 2)"))
    }

    func testGateReasons() throws {
        let c = try chain()
        let served = try run("openssl x509 -in leaf.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -d' ' -f1")
        let other = String(repeating: "ab", count: 32), next = String(repeating: "cd", count: 32)
        let owner = dn("_25._tcp.mail.example.com")
        func tlsa(_ values: [String]) -> RRset { RRset(name: owner, type: .tlsa, ttl: 3600, rdata: values.map { .tlsa(usage: 3, selector: 1, matchingType: 1, data: $0) }) }
        func change(_ before: [String]?, _ after: [String]?) -> Change {
            Change(action: before == nil ? .create : after == nil ? .delete : .update, name: owner, type: .tlsa,
                   before: before.map(tlsa), after: after.map(tlsa))
        }
        let mismatch = "no planned TLSA record matches the key the mail server presents (3 1 1 \(served)) or server.dane.next_public_key_file; DANE senders will not deliver"
        let drops = "deletes the TLSA record that matches the key the mail server presents (3 1 1 \(served)); publish its replacement first"
        XCTAssertEqual(TLSAGate.reason(change(nil, [other]), chains: [c], next: nil), mismatch)
        XCTAssertNil(TLSAGate.reason(change(nil, [served]), chains: [c], next: nil))
        XCTAssertNil(TLSAGate.reason(change(nil, [other, next]), chains: [c], next: next), "the next key is published ahead of the renewal")
        XCTAssertEqual(TLSAGate.reason(change([served, other], [other]), chains: [c], next: nil), drops)
        XCTAssertEqual(TLSAGate.reason(change([served], nil), chains: [c], next: nil), drops)
        XCTAssertNil(TLSAGate.reason(change([served, other], [served]), chains: [c], next: nil), "dropping the old key after the renewal")
        XCTAssertNil(TLSAGate.reason(change(nil, [other]), chains: [], next: nil), "not probed: no gate")
    }

    func testCertificateNamesMTASTSAndExpiry() throws {
        let c = try chain()
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: zones/example.com.zone}}
        check: {smtp: true, cert_warn_days: 5}
        domains:
          - name: example.com
            provider: local
            mx: [mail.example.com, mx2.example.org]
            mta_sts: {mode: enforce, max_age: 86400}
        """)
        let until = c[0].certificate.notValidAfter
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        let untilText = f.string(from: until)
        let check = ServerCheck(plan: plan, live: LiveDNS(settings: plan.dns), settings: plan.check.smtp!, now: until.addingTimeInterval(-7 * 86_400 - 60))
        let ep = SMTPEndpoint(address: "192.0.2.25", hosts: [dn("mail.example.com"), dn("mx2.example.org")])
        let svc = plan.check.smtp!.services[0]
        let names = "mail.example.com, *.mx.example.net"
        XCTAssertEqual(check.certificateFindings(c, ep, svc, "192.0.2.25:25"), [
            Finding(.error, "certificate", "192.0.2.25:25", "names (\(names)) do not cover mx2.example.org; get a certificate that includes it", expected: "mail.example.com, mx2.example.org", actual: names),
            Finding(.ok, "certificate", "192.0.2.25:25", "MTA-STS policy of example.com lists mx: mail.example.com, which the certificate covers (RFC 8461 §4.1)", expected: "mail.example.com", actual: names),
            Finding(.error, "certificate", "192.0.2.25:25", "MTA-STS policy of example.com lists mx: mx2.example.org, which the certificate does not cover: senders that enforce the policy refuse to deliver (RFC 8461 §4.1)", expected: "mx2.example.org", actual: names),
            Finding(.ok, "certificate", "192.0.2.25:25", "valid until \(untilText) (7 days)", expected: ">= 5 days", actual: "7 days"),
        ])
    }

    func testNamesAndTheServedSPKI() throws {
        let c = try chain()
        XCTAssertEqual(c[0].dnsNames, ["mail.example.com", "*.mx.example.net"])
        XCTAssertTrue(c[0].covers(dn("MAIL.example.com")))
        XCTAssertTrue(c[0].covers(dn("a.mx.example.net")))
        XCTAssertFalse(c[0].covers(dn("a.b.mx.example.net")))
        XCTAssertFalse(c[0].covers(dn("mx.example.net")))
        // The SPKI is the served bytes: its SHA-256 is DANE.sha256Hex of the PEM public key.
        let pub = try run("openssl x509 -in leaf.pem -pubkey -noout")
        XCTAssertEqual(hexSHA256(Data(c[0].spki)), DANE.sha256Hex(try DANE.subjectPublicKeyInfo(pem: pub)))
    }
}

/// The negotiated protocol is read from libcurl's informational text.
final class TLSVersionTextTests: XCTestCase {
    func testNegotiatedVersion() {
        XCTAssertEqual(TLSProbe.negotiatedVersion("*   Trying 127.0.0.1:25...\n* SSL connection using TLSv1.2 / ECDHE-ECDSA-AES256-GCM-SHA384\n"), "TLSv1.2")
        XCTAssertEqual(TLSProbe.negotiatedVersion("* SSL connection using TLSv1 / AES256-SHA\n"), "TLSv1")
        XCTAssertNil(TLSProbe.negotiatedVersion("* Connected to mail.example.com\n"))
    }
}
