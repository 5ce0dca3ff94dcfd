import Crypto
import _CryptoExtras
import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

final class DKIMPolicyTests: XCTestCase {
    let header = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers: {local: {type: zonefile, path: x.zone}}
    domains:
      - name: example.com

    """

    func tempDir() -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-dkim-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
        return d
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    /// keygen RSA: the private key parses back, signs, and the published key verifies it.
    func testKeygenRSASignsAndVerifies() throws {
        let dir = tempDir()
        let k = try DKIMKeyGen.generate(selector: "mail2027", domain: dn("example.com"), directory: dir.path)
        XCTAssertEqual(k.privateKeyPath, dir.appendingPathComponent("mail2027.private.pem").path)
        XCTAssertEqual(k.publicKeyPath, dir.appendingPathComponent("mail2027.public.pem").path)
        XCTAssertEqual(try mode(k.privateKeyPath), 0o600)
        XCTAssertEqual(try mode(k.publicKeyPath), 0o644)
        XCTAssertEqual(k.recordName.fqdn, "mail2027._domainkey.example.com.")
        XCTAssertEqual(k.planSnippet, "- selector: mail2027\n  public_key_file: \(k.publicKeyPath)\n")

        let priv = try _RSA.Signing.PrivateKey(pemRepresentation: try String(contentsOfFile: k.privateKeyPath, encoding: .utf8))
        XCTAssertEqual(priv.keySizeInBits, 2048)
        let publicPEM = try String(contentsOfFile: k.publicKeyPath, encoding: .utf8)
        XCTAssertTrue(publicPEM.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        // The TXT value is what the plan publishes from the public key file.
        let (record, info) = try DKIMKeyParser.parse(publicPEM)
        XCTAssertEqual(record, k.txtValue)
        XCTAssertEqual(info.description, "RSA 2048-bit")
        // Sign with the private key (RSASSA-PKCS1-v1_5 SHA-256, as DKIM rsa-sha256) and verify
        // with the key decoded from the DNS value.
        let message = Data("From: a@example.com\r\nSubject: hi\r\n".utf8)
        let sig = try priv.signature(for: message, padding: .insecurePKCS1v1_5)
        let pDER = Data(base64Encoded: String(k.txtValue.split(separator: "=").last!))!
        let pub = try _RSA.Signing.PublicKey(derRepresentation: pDER)
        XCTAssertTrue(pub.isValidSignature(sig, for: message, padding: .insecurePKCS1v1_5))
        XCTAssertFalse(pub.isValidSignature(sig, for: Data("tampered".utf8), padding: .insecurePKCS1v1_5))

        // Never overwrites.
        XCTAssertThrowsError(try DKIMKeyGen.generate(selector: "mail2027", domain: dn("example.com"), directory: dir.path)) { e in
            XCTAssertEqual("\(e)", "\(k.privateKeyPath) already exists; mailplan never overwrites a key (choose another selector or directory)")
        }
    }

    func testKeygenEd25519SignsAndVerifies() throws {
        let dir = tempDir()
        let k = try DKIMKeyGen.generate(selector: "ed", domain: dn("example.com"), algorithm: .ed25519, directory: dir.path,
                                        planDirectory: dir.deletingLastPathComponent().path)
        XCTAssertEqual(k.planSnippet, "- selector: ed\n  public_key_file: \(dir.lastPathComponent)/ed.public.pem\n")
        XCTAssertEqual(try mode(k.privateKeyPath), 0o600)
        let privPEM = try String(contentsOfFile: k.privateKeyPath, encoding: .utf8)
        XCTAssertTrue(privPEM.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let der = Data(base64Encoded: privPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())!
        XCTAssertEqual(der.count, 48)
        let priv = try Curve25519.Signing.PrivateKey(rawRepresentation: der.suffix(32))
        XCTAssertEqual(k.txtValue, "v=DKIM1; k=ed25519; p=" + priv.publicKey.rawRepresentation.base64EncodedString())
        XCTAssertEqual(k.txtValue.count, "v=DKIM1; k=ed25519; p=".count + 44)
        // The private and the public file both give the published value.
        XCTAssertEqual(try DKIMKeyParser.parse(privPEM).record, k.txtValue)
        XCTAssertEqual(try DKIMKeyParser.parse(try String(contentsOfFile: k.publicKeyPath, encoding: .utf8)).record, k.txtValue)
        let message = Data("body".utf8)
        let sig = try priv.signature(for: message)
        let pub = try Curve25519.Signing.PublicKey(rawRepresentation: Data(base64Encoded: String(k.txtValue.dropFirst("v=DKIM1; k=ed25519; p=".count)))!)
        XCTAssertTrue(pub.isValidSignature(sig, for: message))
        XCTAssertFalse(pub.isValidSignature(sig, for: Data("other".utf8)))
    }

    func testKeygenRefusesBadInput() {
        let dir = tempDir().path
        XCTAssertThrowsError(try DKIMKeyGen.generate(selector: "bad selector", domain: dn("example.com"), directory: dir)) {
            XCTAssertEqual("\($0)", "'bad selector' is not a valid selector (letters, digits, hyphen, underscore; dot-separated labels)")
        }
        XCTAssertThrowsError(try DKIMKeyGen.generate(selector: "s", domain: dn("example.com"), bits: 1024, directory: dir)) {
            XCTAssertEqual("\($0)", "--bits must be 2048 or 4096 for RSA (RFC 8301 §3.2), got 1024")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir))
    }

    /// t=, h=, s= are validated, in a key value and from the plan keys.
    func testTagsValidated() throws {
        let p = try pemBody("plans/keys/mail2026.pub")
        for (tags, error) in [
            ("h=sha1", "h=sha1 must include sha256: sha1 signatures must not be accepted (RFC 8301 §3.1)"),
            ("h=md5:sha256", "h=md5:sha256: 'md5' is not a hash algorithm (valid: sha256; RFC 6376 §3.6.1, RFC 8301)"),
            ("s=web", "s=web: 'web' is not a service type (valid: email, *; RFC 6376 §3.6.1)"),
            ("t=y:x", "t=y:x: 'x' is not a flag (valid: y for testing, s for no subdomains; RFC 6376 §3.6.1)"),
        ] {
            XCTAssertThrowsError(try DKIMKeyParser.parse("v=DKIM1; \(tags); k=rsa; p=\(p)"), tags) { XCTAssertEqual("\($0)", error) }
        }
        XCTAssertEqual(try DKIMKeyParser.parse("v=DKIM1; h=sha256; s=email; t=y:s; k=rsa; p=\(p)").record, "v=DKIM1; h=sha256; s=email; t=y:s; k=rsa; p=\(p)")

        let plan = try loadPlan(header + "    dkim: [{selector: s1, public_key_file: keys/mail2026.pub, flags: [y], hash_algorithms: [sha256], service_types: email}]\n")
        XCTAssertEqual(plan.domains[0].dkim[0].record, "v=DKIM1; k=rsa; h=sha256; s=email; t=y; p=\(p)")
        XCTAssertEqual(diagnostics(header + "    dkim: [{selector: s1, public_key_file: keys/mail2026.pub, flags: [q]}]\n"), [
            "test.yaml:6:70: error: domains[example.com].dkim[s1]: t=q: 'q' is not a flag (valid: y for testing, s for no subdomains; RFC 6376 §3.6.1)",
        ])
    }

    func testCNAMEDelegation() throws {
        let plan = try loadPlan(header + "    dkim: [{selector: s1, cname: s1.domainkey.u123.wl.sender.example.net}, {selector: selector1, cname: selector1-example-com._domainkey.example.onmicrosoft.com.}]\n")
        let sets = try Compiler.compile(plan, now: Date())[0].rrsets.filter { $0.purpose.description.hasPrefix("dkim") }.map(\.rrset.description)
        XCTAssertEqual(sets, [
            "s1._domainkey.example.com. 3600 IN CNAME s1.domainkey.u123.wl.sender.example.net.",
            "selector1._domainkey.example.com. 3600 IN CNAME selector1-example-com._domainkey.example.onmicrosoft.com.",
        ])
        XCTAssertEqual(diagnostics(header + "    dkim: [{selector: s1, cname: x.example.net, public_key: abc, state: retiring, until: 2027-01-01}]\n"), [
            "test.yaml:6:49: error: domains[example.com].dkim[s1]: cname delegates the selector to its host; remove public_key",
            "test.yaml:6:73: error: domains[example.com].dkim[s1]: a delegated (cname) selector is rotated by the host it points to; its state is active or removed",
        ])
    }

    let rotation = """
        dkim:
          - {selector: new, public_key_file: keys/mail2027.pub}
          - {selector: old, public_key_file: keys/mail2026.pub, state: retiring, until: 2026-12-31, remove_after: 2027-03-31}
          - {selector: ancient, state: removed}

    """

    func date(_ s: String) -> Date { PlanDate(s)!.start }

    /// The stages of a retiring selector across dates (the clock is injected).
    func testRotationStagesAcrossDates() throws {
        let plan = try loadPlan(header + rotation)
        let p26 = try pemBody("plans/keys/mail2026.pub")
        let ed = "v=DKIM1; k=ed25519; p=QpJPK8z02S6Tm08J88lXR+qZuZfOCOoMz9xkoHPtXfo="
        func dkimSets(_ day: String, hour: Int = 0) throws -> (sets: [String], rotation: [String]) {
            let c = try Compiler.compilePlan(plan, now: date(day).addingTimeInterval(TimeInterval(hour * 3600)))
            let sets = c.zones[0].rrsets.filter { $0.purpose.description.hasPrefix("dkim") }
                .map { "\($0.ownership.rawValue) \($0.rrset.name.fqdn) \($0.rrset.type) \($0.rrset.rdata.map(\.display).joined(separator: ","))" }
            return (sets, c.rotation.map(\.line))
        }
        let before = try dkimSets("2026-12-31", hour: 23)
        XCTAssertEqual(before.sets, [
            "absent ancient._domainkey.example.com. CNAME ", "absent ancient._domainkey.example.com. TXT ",
            "full new._domainkey.example.com. TXT \"\(ed)\"",
            "full old._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\(p26)\"",
        ])
        XCTAssertEqual(before.rotation, [
            "example.com dkim selector old: retiring: published until 2026-12-31, revoked from 2027-01-01, removed from 2027-04-01",
            "example.com dkim selector ancient: removed",
        ])
        let revoked = try dkimSets("2027-01-01")
        XCTAssertEqual(revoked.sets[3], "full old._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\"")
        XCTAssertEqual(revoked.rotation[0], "example.com dkim selector old: revoked since 2027-01-01 (p= empty), removed from 2027-04-01")
        XCTAssertEqual(try dkimSets("2027-03-31", hour: 23).sets[3], "full old._domainkey.example.com. TXT \"v=DKIM1; k=rsa; p=\"")
        let removed = try dkimSets("2027-04-01")
        XCTAssertEqual(removed.sets, [
            "absent ancient._domainkey.example.com. CNAME ", "absent ancient._domainkey.example.com. TXT ",
            "full new._domainkey.example.com. TXT \"\(ed)\"",
            "absent old._domainkey.example.com. CNAME ", "absent old._domainkey.example.com. TXT ",
        ])
        XCTAssertEqual(removed.rotation[0], "example.com dkim selector old: removed since 2027-04-01")
    }

    /// The plan text says which stage each selector is in, also when nothing changes.
    func testRotationInPlanText() throws {
        let plan = try loadPlan(header + rotation)
        let p26 = try pemBody("plans/keys/mail2026.pub")
        let ed = "v=DKIM1; k=ed25519; p=QpJPK8z02S6Tm08J88lXR+qZuZfOCOoMz9xkoHPtXfo="
        let live = [rr("example.com", .mx, 3600, ["10 mail.example.com."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"]),
                    rr("new._domainkey.example.com", .txt, 3600, [ed]),
                    rr("old._domainkey.example.com", .txt, 3600, ["v=DKIM1; k=rsa; p=\(p26)"]),
                    rr("ancient._domainkey.example.com", .txt, 3600, ["v=DKIM1; k=rsa; p=AAAA"])]
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): live])
        let r1 = try Engine(plan: plan, now: date("2027-01-01"), makeProvider: { _ in mem }).makePlan()
        XCTAssertEqual(PlanRenderer.text(r1), """
        mailplan will perform the following actions:

          # zone example.com. (provider local, memory)
          ~ old._domainkey.example.com. TXT ttl 3600
              - "v=DKIM1; k=rsa; p=\(p26)"
              + "v=DKIM1; k=rsa; p="
              # dkim selector old: revoked since 2027-01-01 (p= empty), removed from 2027-04-01
          - ancient._domainkey.example.com. TXT ttl 3600
              - "v=DKIM1; k=rsa; p=AAAA"
              # dkim selector ancient: removed

        DKIM selectors in rotation:
          example.com dkim selector old: revoked since 2027-01-01 (p= empty), removed from 2027-04-01
          example.com dkim selector ancient: removed

        Plan: 0 to add, 1 to change, 1 to destroy.

        """)
        let engine = Engine(plan: plan, now: date("2027-01-01"), makeProvider: { _ in mem })
        XCTAssertTrue(engine.apply(try engine.makePlan()).succeeded)
        let r2 = try Engine(plan: plan, now: date("2027-01-02"), makeProvider: { _ in mem }).makePlan()
        XCTAssertFalse(r2.hasChanges)
        XCTAssertEqual(PlanRenderer.text(r2), """
        No changes. The live DNS matches the plan.

        DKIM selectors in rotation:
          example.com dkim selector old: revoked since 2027-01-01 (p= empty), removed from 2027-04-01
          example.com dkim selector ancient: removed

        """)
        XCTAssertEqual(try PlanDocument(result: r2, version: "0.1.0").rotation, [
            RotationStatus(domain: "example.com", selector: "old", stage: "revoked since 2027-01-01 (p= empty), removed from 2027-04-01"),
            RotationStatus(domain: "example.com", selector: "ancient", stage: "removed"),
        ])
        // A selector the plan stops listing is never deleted: only the unmanaged live data stays.
        let dropped = try loadPlan(header + "    dkim: [{selector: new, public_key_file: keys/mail2027.pub}]\n")
        XCTAssertFalse(try Engine(plan: dropped, now: Date(), makeProvider: { _ in mem }).makePlan().hasChanges)
    }

    func testLifecycleErrors() {
        XCTAssertEqual(diagnostics(header + """
            dkim:
              - {selector: a, public_key_file: keys/mail2026.pub, state: retiring}
              - {selector: b, public_key_file: keys/mail2026.pub, state: retiring, until: 2027-02-30}
              - {selector: c, public_key_file: keys/mail2026.pub, state: retiring, until: 2027-03-01, remove_after: 2027-02-01}
              - {selector: d, public_key_file: keys/mail2026.pub, state: retire}
              - {selector: e, public_key_file: keys/mail2026.pub, until: 2027-01-01}
              - {selector: f, state: active}

        """), [
            "test.yaml:7:66: error: domains[example.com].dkim[a]: state: retiring needs until: YYYY-MM-DD, the last day the key is published",
            "test.yaml:8:83: error: domains[example.com].dkim[b].until must be a date YYYY-MM-DD (UTC), found '2027-02-30'",
            "test.yaml:9:109: error: domains[example.com].dkim[c].remove_after (2027-02-01) is before until (2027-03-01); the key is revoked after until and removed after remove_after",
            "test.yaml:10:66: error: domains[example.com].dkim[d].state must be one of active, retiring, revoked, removed, found 'retire'",
            "test.yaml:11:59: error: domains[example.com].dkim[e].until applies to state: retiring (or revoked, for remove_after), not active",
            "test.yaml:12:9: error: domains[example.com].dkim[f]: give public_key, public_key_file or cname",
        ])
    }

    func testClockOverride() throws {
        XCTAssertEqual(try PlanClock.now(environment: ["MAILPLAN_NOW": "2027-01-01"]), PlanDate("2027-01-01")!.start)
        XCTAssertEqual(try PlanClock.now(environment: ["MAILPLAN_NOW": "2027-01-01T12:00:00Z"]), PlanDate("2027-01-01")!.start.addingTimeInterval(43200))
        let fixed = Date(timeIntervalSince1970: 1_800_000_000)
        XCTAssertEqual(try PlanClock.now(environment: [:], default: fixed), fixed)
        XCTAssertThrowsError(try PlanClock.now(environment: ["MAILPLAN_NOW": "tomorrow"])) {
            XCTAssertEqual("\($0)", "error: MAILPLAN_NOW='tomorrow' is not an ISO 8601 date (2027-01-01) or instant (2027-01-01T12:00:00Z)")
        }
    }
}
