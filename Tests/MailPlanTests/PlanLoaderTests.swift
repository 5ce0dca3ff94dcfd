import XCTest
@testable import MailPlan

final class PlanLoaderTests: XCTestCase {
    let header = """
    version: 1
    server:
      hostname: mail.example.com
      ipv4: 192.0.2.25
    providers:
      local:
        type: zonefile
        path: zones/example.com.zone

    """

    func testExamplePlanLoads() throws {
        let plan = try PlanLoader(environment: [:]).load(path: repoRoot.appendingPathComponent("plans/example.yaml").path)
        XCTAssertEqual(plan.server.hostname.fqdn, "mail.example.com.")
        XCTAssertEqual(plan.server.ipv4.map(\.description), ["192.0.2.25"])
        XCTAssertEqual(plan.server.ipv6.map(\.description), ["2001:db8::25"])
        XCTAssertEqual(plan.domains.count, 1)
        let d = plan.domains[0]
        XCTAssertEqual(d.spf?.record, "v=spf1 mx include:_spf.example.net -all")
        XCTAssertEqual(d.dmarc?.record, "v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc@example.com")
        XCTAssertEqual(d.tlsRPT?.record, "v=TLSRPTv1; rua=mailto:tlsrpt@example.com")
        XCTAssertEqual(d.dkim.first?.record, "v=DKIM1; k=rsa; p=" + (try pemBody("plans/keys/mail2026.pub")))
        XCTAssertEqual(d.dkim.first?.key.bits, 2048)
        XCTAssertEqual(plan.sha256.count, 64)
    }

    func testYAMLSyntaxErrorNamesLineAndColumn() {
        XCTAssertEqual(diagnostics("version: 1\nserver: [\n"),
                       ["test.yaml:3:1: error: YAML syntax error: did not find expected node content (while parsing a flow node at line 3)"])
    }

    func testUnknownKeyHasDidYouMean() {
        let d = diagnostics(header + "domains:\n  - name: example.com\n    dmarcc: {policy: none}\n")
        XCTAssertEqual(d, ["test.yaml:11:5: error: domains[0]: unknown key 'dmarcc'; did you mean 'dmarc'? (valid keys: name, provider, zone, ttl, mx, spf, dkim, dmarc, tls_rpt, mta_sts, records, no_mail, autoconfig, caa)"])
    }

    func testWrongTypeBadIPBadHostname() {
        let d = diagnostics("""
        version: 1
        server:
          hostname: -mail.example.com
          ipv4: 192.0.2.256
          ipv6: 2001:db8::zz
        providers:
          local: {type: zonefile, path: x.zone}
        defaults:
          ttl: [1]
        domains:
          - name: example.com
            mx: mail.example.com
        """)
        XCTAssertEqual(d, [
            "test.yaml:3:13: error: server.hostname: '-mail.example.com' is not a valid host name: label '-mail' may hold only letters, digits and hyphens, not at either end (RFC 1123)",
            "test.yaml:4:9: error: server.ipv4: '192.0.2.256' is not an IPv4 address (expected dotted quad such as 192.0.2.25)",
            "test.yaml:5:9: error: server.ipv6: '2001:db8::zz' is not an IPv6 address (expected a form such as 2001:db8::25)",
            "test.yaml:9:8: error: defaults.ttl must be an integer from 0 to 2147483647, found a list",
            "test.yaml:12:9: error: domains[example.com].mx must be a list of {host, preference}, found a scalar",
        ])
    }

    func testDuplicateDomainUndefinedProviderUnsetEnv() {
        let d = diagnostics("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          local: {type: zonefile, path: x.zone}
          pdns: {type: powerdns, url: "http://127.0.0.1:8081", api_key: "${PDNS_API_KEY}"}
        domains:
          - name: example.com
            provider: loca
          - name: Example.COM
            provider: local
        """)
        XCTAssertEqual(d, [
            "test.yaml:5:65: error: providers.pdns.api_key: environment variable PDNS_API_KEY is not set (export PDNS_API_KEY=… before running mailplan)",
            "test.yaml:8:15: error: domains[example.com].provider: 'loca' is not defined under providers; did you mean 'local'? (defined: local, pdns)",
            "test.yaml:9:5: error: domains[1]: domain example.com is listed twice (first at test.yaml:7:5)",
        ])
    }

    func testSecretFromEnvironmentIsRedacted() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          pdns: {type: powerdns, url: "http://127.0.0.1:8081", api_key: "${PDNS_API_KEY}"}
        domains:
          - name: example.com
        """, env: ["PDNS_API_KEY": "s3cr3t-value"])
        let key = try plan.providers[0].secret("api_key")!
        XCTAssertEqual(key.value, "s3cr3t-value")
        XCTAssertEqual("\(key)", "${PDNS_API_KEY}")
        XCTAssertEqual(String(reflecting: key), "Secret(${PDNS_API_KEY})")
        XCTAssertEqual(plan.domains[0].provider, "pdns")  // the only provider is the default
        XCTAssertEqual(plan.domains[0].mx, [MXTarget(preference: 10, exchange: dn("mail.example.com"))])
    }

    func testLiteralSecretIsRefused() throws {
        let plan = try loadPlan(header + "  pdns: {type: powerdns, api_key: hunter2}\ndomains:\n  - {name: example.com, provider: local}\n")
        XCTAssertThrowsError(try plan.providers[1].secret("api_key")) { e in
            XCTAssertEqual("\(e)", "test.yaml:9:35: error: providers.pdns: 'api_key' is a secret: write it as ${ENV_VAR} and set the variable, never the value itself")
        }
    }

    /// C14: a DKIM p= that is not base64, an Ed25519 key that is not 32 bytes, an empty p=.
    func testC14_DKIMValidationNamesTheSelector() {
        let d = diagnostics(header + """
        domains:
          - name: example.com
            dkim:
              - {selector: bad64, public_key: "v=DKIM1; k=rsa; p=MIIB!!"}
              - {selector: ed, public_key: "v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
              - {selector: empty, public_key: "v=DKIM1; k=rsa; p="}
              - {selector: nofile, public_key_file: keys/missing.pub}
        """)
        XCTAssertEqual(d, [
            "test.yaml:12:39: error: domains[example.com].dkim[bad64]: DKIM key does not parse: p= is not valid base64",
            "test.yaml:13:36: error: domains[example.com].dkim[ed]: DKIM key does not parse: an Ed25519 p= must decode to 32 bytes (RFC 8463 §4.2), got 39",
            "test.yaml:14:39: error: domains[example.com].dkim[empty]: DKIM key does not parse: p= is empty, which revokes the key; set revoked: true if that is intended",
            "test.yaml:15:45: error: domains[example.com].dkim[nofile].public_key_file: cannot read keys/missing.pub (No such file or directory)",
        ])
    }

    func testRevokedDKIMIsAllowedWhenAskedFor() throws {
        let plan = try loadPlan(header + "domains:\n  - name: example.com\n    dkim: [{selector: old, revoked: true}]\n")
        XCTAssertEqual(plan.domains[0].dkim[0].record, "v=DKIM1; p=")
        XCTAssertTrue(plan.domains[0].dkim[0].key.revoked)
    }

    func testDKIMFromOpenDKIMTxtFile() throws {
        let p = try pemBody("plans/keys/mail2026.pub")
        let txt = "mail._domainkey\tIN\tTXT\t( \"v=DKIM1; h=sha256; k=rsa; \"\n\t  \"p=\(p.prefix(200))\"\n\t  \"\(p.dropFirst(200))\" )  ; ----- DKIM key mail for example.com\n"
        let (record, info) = try DKIMKeyParser.parse(txt)
        XCTAssertEqual(record, "v=DKIM1; h=sha256; k=rsa; p=\(p)")
        XCTAssertEqual(info.bits, 2048)
    }

    func testDKIMFromPrivateKeysAndEd25519() throws {
        // An Ed25519 PKCS#8 private key (RFC 8410 §10.3 example) gives its public key.
        let ed = """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
        -----END PRIVATE KEY-----
        """
        let (record, info) = try DKIMKeyParser.parse(ed)
        XCTAssertEqual(record, "v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
        XCTAssertEqual(info.description, "Ed25519")
    }

    /// C08: null MX with another MX is an error naming `example.com. MX`.
    func testC08_NullMXMustBeAlone() {
        let d = diagnostics(header + "domains:\n  - name: example.com\n    mx: [{host: \".\", preference: 0}, {host: mail.example.com}]\n")
        XCTAssertEqual(d, ["test.yaml:11:9: error: example.com. MX: a null MX (0 .) must be the only MX record at the name (RFC 7505 §3)"])
    }

    func testSPFTermsValidated() {
        let d = diagnostics(header + "domains:\n  - name: example.com\n    spf: {senders: [mx, \"ip4:192.0.2.0/33\", \"include:\", bogus], all: \"+all\"}\n")
        XCTAssertEqual(d, [
            "test.yaml:11:25: error: domains[example.com].spf.senders: 'ip4:192.0.2.0/33': prefix length must be 0 to 32",
            "test.yaml:11:45: error: domains[example.com].spf.senders: 'include:': include needs a domain",
            "test.yaml:11:57: error: domains[example.com].spf.senders: 'bogus' is not an SPF mechanism (valid: mx, a, a:host, ip4:, ip6:, include:, exists:, ptr, redirect=, exp=)",
            "test.yaml:11:70: error: domains[example.com].spf.all: '+all' lets anyone send as this domain; use -all, ~all or ?all",
        ])
    }
}

final class PlanFileDocTests: XCTestCase {
    /// The complete example in docs/plan-file.md loads and compiles, so the docs stay true.
    func testDocumentedExampleLoads() throws {
        let doc = try String(contentsOf: repoRoot.appendingPathComponent("docs/plan-file.md"), encoding: .utf8)
        let start = doc.range(of: "```yaml\n")!.upperBound
        let yaml = String(doc[start...].prefix { _ in true }.components(separatedBy: "```")[0])
        let plan = try loadPlan(yaml, env: ["PDNS_API_KEY": "k"])
        XCTAssertEqual(plan.domains.map(\.name.fqdn), ["example.com.", "example.org."])
        let zones = try Compiler.compile(plan, now: Date())
        XCTAssertEqual(zones.map(\.zone.fqdn), ["example.com.", "example.org."])
        XCTAssertEqual(zones[1].rrsets.map(\.rrset.description), [
            "example.org. 3600 IN MX 0 .",
            "example.org. 3600 IN TXT \"v=spf1 -all\"",
            "_dmarc.example.org. 3600 IN TXT \"v=DMARC1; p=reject\"",
        ])
        XCTAssertEqual(plan.domains[0].dmarc?.record, "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=100; fo=1; rua=mailto:dmarc@example.com; ruf=mailto:dmarc-forensic@example.com")
        XCTAssertEqual(zones[0].rrsets.filter { $0.rrset.type == .srv || $0.rrset.type == .caa }.map(\.rrset.description), [
            "example.com. 3600 IN CAA 0 issue \"letsencrypt.org\"",
            "_submissions._tcp.example.com. 3600 IN SRV 0 1 465 mail.example.com.",
        ])
    }
}

/// Each test is the failing input of a bug found by trying bad plan files.
final class PlanLoaderHardeningTests: XCTestCase {
    let head = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {local: {type: zonefile, path: x.zone}}\n"

    /// A duplicated key printed the whole document (secrets included) at 1:1.
    func testDuplicateKeyPointsAtTheSecondOccurrence() {
        let d = diagnostics("version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders:\n  l:\n    type: zonefile\n    path: x\n    api_key: \"LITERAL-SECRET\"\n    path: y\ndomains: [{name: example.com}]\n")
        XCTAssertEqual(d, ["test.yaml:8:5: error: key 'path' is given twice in one mapping (first at line 6); give each key once"])
    }

    /// ip4:0.0.0.0/0 passed where +all is refused.
    func testSPFNetworkOfEveryAddressIsRefused() {
        let d = diagnostics(head + "domains:\n  - name: example.com\n    spf: {senders: [\"ip4:0.0.0.0/0\", \"ip6:::/0\", \"ip4:10.0.0.0/7\", ptr]}\n")
        XCTAssertEqual(d, [
            "test.yaml:6:21: error: domains[example.com].spf.senders: 'ip4:0.0.0.0/0' lets every IPv4 address send as this domain, like +all; list the networks that really send",
            "test.yaml:6:38: error: domains[example.com].spf.senders: 'ip6:::/0' lets every IPv6 address send as this domain, like +all; list the networks that really send",
        ])
    }

    /// `ipv4: []` and `ipv6: []` passed: an MX host without any address.
    func testEmptyAddressListsAreRefused() {
        let d = diagnostics("version: 1\nserver: {hostname: mail.example.com, ipv4: [], ipv6: []}\nproviders: {local: {type: zonefile, path: x.zone}}\ndomains: [{name: example.com}]\n")
        XCTAssertEqual(d, ["test.yaml:2:9: error: server: ipv4 and ipv6 are empty; give at least one address (the MX host needs an A or AAAA record)"])
    }

    /// Empty `values:` was silently ignored; a TXT over 65535 bytes passed validate and failed at apply.
    func testRecordsValuesAreCheckedBeforeApply() {
        let big = String(repeating: "a", count: 70_000)
        let d = diagnostics(head + "domains:\n  - name: example.com\n    records:\n      - {name: zz, type: TXT, values: []}\n      - {name: big, type: TXT, values: [\"\(big)\"]}\n")
        XCTAssertEqual(d, [
            "test.yaml:7:39: error: domains[example.com].records[0].values is empty; give at least one value",
            "test.yaml:8:9: error: domains[example.com].records[1]: a 70000-byte TXT value does not fit in one DNS record (65535 bytes of rdata)",
        ])
    }
}

extension PlanLoaderHardeningTests {
    /// A certificate given as a DKIM key got the same vague message as a short RSA key.
    func testCertificateIsNotADKIMKey() {
        let d = diagnostics(head + "domains:\n  - name: example.com\n    dkim: [{selector: s1, public_key_file: keys/mail.example.com.crt}]\n")
        XCTAssertEqual(d, ["test.yaml:6:44: error: domains[example.com].dkim[s1]: DKIM key does not parse: the PEM block is a certificate, not a key; give the public key (openssl x509 -in CERT -pubkey -noout)"])
    }

    /// A private key as public_key_file was accepted without a word.
    func testPrivateKeyFileIsWarnedAbout() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try """
        -----BEGIN PRIVATE KEY-----
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC
        -----END PRIVATE KEY-----

        """.write(to: dir.appendingPathComponent("k.pem"), atomically: true, encoding: .utf8)
        let plan = try PlanLoader(environment: [:]).load(text: head + "domains:\n  - name: example.com\n    dkim: [{selector: s1, public_key_file: k.pem}]\n",
                                                         file: "test.yaml", baseDirectory: dir)
        XCTAssertEqual(plan.domains[0].dkim[0].record, "v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=")
        XCTAssertEqual(plan.warnings.map(\.description), ["test.yaml:6:44: warning: domains[example.com].dkim[s1].public_key_file: k.pem holds a private key; only its public half is published, but keep private keys with the MTA, out of the plan's directory"])
    }
}

/// `version: 2` said "must be from 1 to 1" (failing input of a fix found by a newcomer's run).
final class PlanVersionMessageTests: XCTestCase {
    func testAnUnknownVersionSaysWhichOneIsRead() throws {
        XCTAssertThrowsError(try PlanLoader(environment: [:]).load(text: """
            version: 2
            server: {hostname: mail.example.com, ipv4: 192.0.2.25}
            providers: {l: {type: zonefile, path: x.zone}}
            domains: [{name: example.com}]
            """, file: "p.yaml", baseDirectory: URL(fileURLWithPath: "/tmp"))) { e in
            XCTAssertEqual("\(e)", "p.yaml:1:10: error: version (the plan-file format this mailplan reads) must be 1, found 2")
        }
    }
}

/// A key file that is not UTF-8 read "it is not UTF-8 text, not a regular file" while the
/// FIFO checks were added (failing input of the review's fix).
final class KeyFileTextTests: XCTestCase {
    func testANonUTF8KeyFileIsNamedAsSuch() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("keyfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data([0xff, 0xfe]).write(to: dir.appendingPathComponent("keys/k.pub"))
        XCTAssertThrowsError(try PlanLoader(environment: [:]).load(text: """
            version: 1
            server: {hostname: mail.example.com, ipv4: 192.0.2.25}
            providers: {l: {type: zonefile, path: x.zone}}
            domains: [{name: example.com, dkim: [{selector: s, public_key_file: keys/k.pub}]}]
            """, file: "p.yaml", baseDirectory: dir)) { e in
            XCTAssertEqual("\(e)", "p.yaml:4:69: error: domains[example.com].dkim[s].public_key_file: cannot read keys/k.pub (it is not UTF-8 text)")
        }
    }
}
