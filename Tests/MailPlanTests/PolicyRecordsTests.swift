import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

final class PolicyRecordsTests: XCTestCase {
    let header = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers: {local: {type: zonefile, path: x.zone}}
    domains:
      - name: example.com

    """

    func sets(_ plan: MailPlan, _ zone: Int = 0, where keep: (DesiredRRset) -> Bool = { _ in true }) throws -> [String] {
        try Compiler.compile(plan, now: Date())[zone].rrsets.filter(keep).map(\.rrset.description)
    }

    // MARK: DMARC

    func testDMARCFullTagSetAndDeprecations() throws {
        let plan = try loadPlan(header + """
            dmarc: {policy: reject, sp: quarantine, np: reject, adkim: s, aspf: s, pct: 50, fo: "d:s", rf: afrf, ri: 3600,
                    rua: ["mailto:dmarc@example.com!10m"], ruf: ["mailto:forensic@example.com"]}

        """)
        XCTAssertEqual(plan.domains[0].dmarc?.record,
                       "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=s; pct=50; fo=d:s; rf=afrf; ri=3600; rua=mailto:dmarc@example.com!10m; ruf=mailto:forensic@example.com")
        XCTAssertEqual(plan.warnings.map(\.description), [
            "test.yaml:6:76: warning: domains[example.com].dmarc.pct: the pct= tag is deprecated by DMARCbis (draft-ietf-dmarc-dmarcbis) and ignored by many receivers",
            "test.yaml:6:96: warning: domains[example.com].dmarc.rf: the rf= tag is deprecated by DMARCbis (draft-ietf-dmarc-dmarcbis) and ignored by many receivers",
            "test.yaml:6:106: warning: domains[example.com].dmarc.ri: the ri= tag is deprecated by DMARCbis (draft-ietf-dmarc-dmarcbis) and ignored by many receivers",
        ])
        XCTAssertEqual(diagnostics(header + "    dmarc: {policy: rejected, np: block, rf: iodef, ri: 0, rua: [dmarc@example.com], fo: \"2\", pct: 101}\n"), [
            "test.yaml:6:21: error: domains[example.com].dmarc.policy must be one of none, quarantine, reject, found 'rejected' (did you mean 'reject'?)",
            "test.yaml:6:35: error: domains[example.com].dmarc.np must be one of none, quarantine, reject, found 'block'",
            "test.yaml:6:46: error: domains[example.com].dmarc.rf must be one of afrf, found 'iodef'",
            "test.yaml:6:57: error: domains[example.com].dmarc.ri must be from 1 to 4294967295, found 0",
            "test.yaml:6:66: error: domains[example.com].dmarc.rua: 'dmarc@example.com' must be a mailto: URI (did you mean 'mailto:dmarc@example.com'?)",
            "test.yaml:6:90: error: domains[example.com].dmarc.fo must be 0, 1, d or s, or several joined by ':' (RFC 7489 §6.3), found '2'",
            "test.yaml:6:100: error: domains[example.com].dmarc.pct must be from 0 to 100, found 101",
        ])
    }

    /// RFC 7489 §7.1: reports to another planned domain create the authorization record there;
    /// reports to a domain outside the plan are a warning.
    func testExternalReportAuthorization() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: x.zone}}
        domains:
          - name: example.com
          - name: example.org
            dmarc: {policy: none, rua: ["mailto:dmarc@example.com", "mailto:agg@reports.example.com", "mailto:x@vendor.example"], ruf: ["mailto:f@example.com", "mailto:me@example.org", "mailto:sub@lists.example.org"]}
        """)
        let c = try Compiler.compilePlan(plan, now: Date())
        XCTAssertEqual(c.zones[0].rrsets.filter { $0.rrset.name.labels.contains("_report") }.map { "\($0.rrset) (\($0.purpose))" }, [
            "example.org._report._dmarc.example.com. 3600 IN TXT \"v=DMARC1\" (dmarc report authorization of example.org by example.com)",
            "example.org._report._dmarc.reports.example.com. 3600 IN TXT \"v=DMARC1\" (dmarc report authorization of example.org by reports.example.com)",
        ])
        XCTAssertEqual(c.warnings.map(\.description), [
            "test.yaml:6:5: warning: example.org dmarc: reports go to vendor.example, which is not in this plan; receivers send them only if example.org._report._dmarc.vendor.example. TXT \"v=DMARC1\" exists there (RFC 7489 §7.1)",
        ])
    }

    // MARK: MTA-STS and TLS-RPT

    /// The policy file is written by apply (before DNS), shown by plan when it would change.
    func testMTASTSPolicyFileLifecycle() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-sts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        func plan(_ mode: String) throws -> MailPlan {
            try PlanLoader(environment: [:]).load(text: header + "    mta_sts: {mode: \(mode), policy_file: mta-sts.txt}\n", file: "test.yaml", baseDirectory: dir)
        }
        let live = [rr("example.com", .mx, 3600, ["10 mail.example.com."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"])]
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): live])
        let path = dir.appendingPathComponent("mta-sts.txt").standardizedFileURL.path
        let testing = try plan("testing")
        let r1 = try Engine(plan: testing, now: Date(), makeProvider: { _ in mem }).makePlan()
        let id1 = Compiler.mtaSTSRecord(testing.domains[0].mtaSTS!, mx: testing.domains[0].mx)
        XCTAssertEqual(PlanRenderer.text(r1), """
        mailplan will perform the following actions:

          # zone example.com. (provider local, memory)
          + _mta-sts.example.com. TXT ttl 3600
              + "\(id1)"

          # file \(path) (mta_sts policy for example.com)
          + \(path)
              + version: STSv1
              + mode: testing
              + mx: mail.example.com
              + max_age: 604800

        Plan: 1 to add, 0 to change, 0 to destroy, 1 policy file to write.

        """)
        let engine = Engine(plan: testing, now: Date(), makeProvider: { _ in mem })
        let report = engine.apply(try engine.makePlan())
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.filesWritten.map(\.path), [path])
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n")
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue, 0o644)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["mta-sts.txt"])  // no temporary left
        let again = try Engine(plan: testing, now: Date(), makeProvider: { _ in mem }).makePlan()
        XCTAssertFalse(again.hasChanges)
        XCTAssertEqual(PlanRenderer.text(again), "No changes. The live DNS matches the plan.\n")

        // Switching to enforce: the file and the id change together.
        let enforce = try plan("enforce")
        let r2 = try Engine(plan: enforce, now: Date(), makeProvider: { _ in mem }).makePlan()
        let id2 = Compiler.mtaSTSRecord(enforce.domains[0].mtaSTS!, mx: enforce.domains[0].mx)
        XCTAssertEqual(PlanRenderer.text(r2), """
        mailplan will perform the following actions:

          # zone example.com. (provider local, memory)
          ~ _mta-sts.example.com. TXT ttl 3600
              - "\(id1)"
              + "\(id2)"

          # file \(path) (mta_sts policy for example.com)
          ~ \(path)
                version: STSv1
                mx: mail.example.com
                max_age: 604800
              - mode: testing
              + mode: enforce

        Plan: 0 to add, 1 to change, 0 to destroy, 1 policy file to write.

        """)
        XCTAssertEqual(try PlanDocument(result: r2, version: "0.1.0").files, [
            PolicyFileChange(action: .update, path: path, purpose: "mta_sts policy for example.com",
                             before: "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n",
                             after: "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n"),
        ])
        XCTAssertEqual(diagnostics(header + "    mta_sts: {mode: enforce, policy_file: no/such/dir/p.txt}\n"), [
            "test.yaml:6:43: error: domains[example.com].mta_sts.policy_file: the directory \(repoRoot.path)/plans/no/such/dir does not exist",
        ])
    }

    func testTLSRPTURIs() throws {
        let plan = try loadPlan(header + "    tls_rpt: {rua: [\"mailto:tls@example.com\", \"https://reports.example.net/tlsrpt\"]}\n")
        XCTAssertEqual(plan.domains[0].tlsRPT?.record, "v=TLSRPTv1; rua=mailto:tls@example.com,https://reports.example.net/tlsrpt")
        XCTAssertEqual(diagnostics(header + "    tls_rpt: {rua: [\"https:/x\", \"https://bad_host/\", \"ftp://x.example\", \"mailto:nobody\"]}\n"), [
            "test.yaml:6:21: error: domains[example.com].tls_rpt.rua: 'https:/x' is not an https:// URI with a valid host",
            "test.yaml:6:33: error: domains[example.com].tls_rpt.rua: 'https://bad_host/' is not an https:// URI with a valid host",
            "test.yaml:6:54: error: domains[example.com].tls_rpt.rua: 'ftp://x.example' must be a mailto: or https: URI",
            "test.yaml:6:73: error: domains[example.com].tls_rpt.rua: 'mailto:nobody' is not a mailto: URI with a valid address",
        ])
    }

    // MARK: DANE

    /// The value openssl prints for the checked-in certificate and key:
    /// `openssl x509 -in plans/keys/mail.example.com.crt -noout -pubkey | openssl pkey -pubin -outform DER | openssl dgst -sha256`
    /// `openssl pkey -pubin -in plans/keys/mail.example.com.next.pub -outform DER | openssl dgst -sha256`
    let opensslCurrent = "7b669c0b201109bb6cbb2f5f488b663e5d2176803f897db2cbf8aafb7f8531f2"
    let opensslNext = "1f84f9502d7b905d55e9aee30529daaf8fad83b987af527fd8eceb7f7ba7e3b3"

    func testTLSAValueEqualsOpenSSL() throws {
        let cert = try String(contentsOf: repoRoot.appendingPathComponent("plans/keys/mail.example.com.crt"), encoding: .utf8)
        XCTAssertEqual(DANE.sha256Hex(try DANE.subjectPublicKeyInfo(pem: cert)), opensslCurrent)
        let next = try String(contentsOf: repoRoot.appendingPathComponent("plans/keys/mail.example.com.next.pub"), encoding: .utf8)
        XCTAssertEqual(DANE.sha256Hex(try DANE.subjectPublicKeyInfo(pem: next)), opensslNext)
        // The RSA public key inside the certificate, as a PUBLIC KEY block, gives the same value.
        let spki = try DANE.subjectPublicKeyInfo(pem: cert)
        let pem = "-----BEGIN PUBLIC KEY-----\n" + spki.base64EncodedString(options: .lineLength64Characters) + "\n-----END PUBLIC KEY-----\n"
        XCTAssertEqual(DANE.sha256Hex(try DANE.subjectPublicKeyInfo(pem: pem)), opensslCurrent)

        let plan = try loadPlan(header.replacingOccurrences(of: "ipv4: 192.0.2.25}", with: """
        ipv4: 192.0.2.25, dane: {certificate_file: keys/mail.example.com.crt, next_public_key_file: keys/mail.example.com.next.pub}}
        """))
        XCTAssertEqual(try sets(plan) { $0.rrset.type == .tlsa }, [
            "_25._tcp.mail.example.com. 3600 IN TLSA 3 1 1 \(opensslNext)\n_25._tcp.mail.example.com. 3600 IN TLSA 3 1 1 \(opensslCurrent)",
        ])
        XCTAssertThrowsError(try DANE.subjectPublicKeyInfo(pem: "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n")) {
            XCTAssertEqual("\($0)", "this is a private key; give the certificate or the public key (openssl pkey -pubout)")
        }
        XCTAssertEqual(diagnostics(header.replacingOccurrences(of: "ipv4: 192.0.2.25}", with: "ipv4: 192.0.2.25, dane: {public_key_file: keys/mail2026.pub, certificate_file: keys/x.crt}}")), [
            "test.yaml:2:62: error: server.dane: give certificate_file or public_key_file, not both",
        ])
        XCTAssertEqual(diagnostics(header.replacingOccurrences(of: "ipv4: 192.0.2.25}", with: "ipv4: 192.0.2.25, dane: {certificate_file: example.yaml}}")), [
            "test.yaml:2:81: error: server.dane.certificate_file: example.yaml: no PEM block (-----BEGIN CERTIFICATE----- or -----BEGIN PUBLIC KEY-----)",
        ])
    }

    // MARK: autoconfig, CAA, no_mail

    func testAutoconfigSRVAndCNAMEs() throws {
        let plan = try loadPlan(header + "    autoconfig: {submissions: true, imaps: imap.example.net, submission: false, pop3s: mail.example.com, cnames: [autoconfig, autodiscover]}\n")
        XCTAssertEqual(try sets(plan) { $0.purpose.description.contains("autoconfig") }, [
            "_imaps._tcp.example.com. 3600 IN SRV 0 1 993 imap.example.net.",
            "_pop3s._tcp.example.com. 3600 IN SRV 0 1 995 mail.example.com.",
            "_submission._tcp.example.com. 3600 IN SRV 0 0 0 .",
            "_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.",
            "autoconfig.example.com. 3600 IN CNAME mail.example.com.",
            "autodiscover.example.com. 3600 IN CNAME mail.example.com.",
        ])
        XCTAssertEqual(diagnostics(header + "    autoconfig: {imap: true, cnames: [www]}\n"), [
            "test.yaml:6:17: error: domains[example.com].autoconfig: give at least one of submissions, imaps, submission, pop3s, cnames",
            "test.yaml:6:18: error: domains[example.com].autoconfig: unknown key 'imap'; did you mean 'imaps'? (valid keys: submissions, imaps, submission, pop3s, cnames)",
            "test.yaml:6:39: error: domains[example.com].autoconfig.cnames: 'www' must be autoconfig or autodiscover",
        ])
    }

    func testCAA() throws {
        let plan = try loadPlan(header + "    caa: {issue: [letsencrypt.org, \"sectigo.com; validationmethods=dns-01\"], iodef: \"https://example.com/caa\"}\n")
        XCTAssertEqual(try sets(plan) { $0.rrset.type == .caa }, [
            "example.com. 3600 IN CAA 0 iodef \"https://example.com/caa\"\nexample.com. 3600 IN CAA 0 issue \"letsencrypt.org\"\nexample.com. 3600 IN CAA 0 issue \"sectigo.com; validationmethods=dns-01\"",
        ])
        let none = try loadPlan(header + "    caa: {issue: [], issuewild: []}\n")
        XCTAssertEqual(none.domains[0].caa?.rdata.map(\.presentation), ["0 issue \";\"", "0 issuewild \";\""])
        XCTAssertEqual(diagnostics(header + "    caa: {issue: [\"not a ca\"], iodef: \"security@example.com\"}\n"), [
            "test.yaml:6:19: error: domains[example.com].caa.issue: 'not a ca' must be a CA's domain such as letsencrypt.org, optionally followed by '; parameters'",
            "test.yaml:6:39: error: domains[example.com].caa.iodef: 'security@example.com' must be a mailto: or https: URI (did you mean 'mailto:security@example.com'?)",
        ])
    }

    func testNoMailDomain() throws {
        let plan = try loadPlan(header + "    no_mail: true\n")
        XCTAssertEqual(try sets(plan), [
            "example.com. 3600 IN MX 0 .",
            "example.com. 3600 IN TXT \"v=spf1 -all\"",
            "_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=reject\"",
            "mail.example.com. 3600 IN A 192.0.2.25",
        ])
        let withReports = try loadPlan(header + "    no_mail: true\n    dmarc: {policy: reject, rua: [\"mailto:d@example.com\"]}\n    dkim: [{selector: old, state: removed}]\n")
        XCTAssertEqual(withReports.domains[0].dmarc?.record, "v=DMARC1; p=reject; rua=mailto:d@example.com")
        XCTAssertEqual(diagnostics(header + "    no_mail: true\n    mx: [mail.example.com]\n    spf: {}\n    mta_sts: {mode: testing}\n    dkim: [{selector: s, public_key_file: keys/mail2026.pub}]\n    dmarc: {policy: none}\n"), [
            "test.yaml:7:5: error: domains[example.com].mx: a no_mail domain sends and receives no mail; remove mx (no_mail publishes a null MX, v=spf1 -all and DMARC p=reject)",
            "test.yaml:8:5: error: domains[example.com].spf: a no_mail domain sends and receives no mail; remove spf (no_mail publishes a null MX, v=spf1 -all and DMARC p=reject)",
            "test.yaml:9:5: error: domains[example.com].mta_sts: a no_mail domain sends and receives no mail; remove mta_sts (no_mail publishes a null MX, v=spf1 -all and DMARC p=reject)",
            "test.yaml:10:5: error: domains[example.com].dkim[s]: a no_mail domain signs no mail; only revoked or removed selectors may be listed",
            "test.yaml:11:12: error: domains[example.com].dmarc.policy: a no_mail domain has DMARC p=reject, found 'none'",
        ])
    }
}
