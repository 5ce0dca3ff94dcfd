import Foundation
import XCTest
@testable import MailPlan

/// The byte-level checks of the plan reader (issue 17, validate at 10,000 domains) give the
/// answers of the character-level code they replace, quirks included.
final class PlanReaderFastPathTests: XCTestCase {
    func testReportURIProblemMailto() {
        let mailto = ["mailto"]
        let ok = ["mailto:dmarc@example.com", "MAILTO:dmarc@example.com", "mailto:dmarc@example.com!10m",
                  // The address is the first non-empty run between '!', and empty runs between
                  // '@' are skipped, as String.split does.
                  "mailto:!dmarc@example.com", "mailto:a@@example.com",
                  "mailto:dmarc@bücher.example"]
        for s in ok { XCTAssertNil(PlanReader.reportURIProblem(s, schemes: mailto), s) }
        let bad: [(String, String)] = [
            ("mailto:@example.com", "'mailto:@example.com' is not a mailto: URI with a valid address"),
            ("mailto:a@b@example.com", "'mailto:a@b@example.com' is not a mailto: URI with a valid address"),
            ("mailto:dmarc@exa_mple.com", "'mailto:dmarc@exa_mple.com' is not a mailto: URI with a valid address"),
            ("mailto:", "'mailto:' is not a mailto: URI with a valid address"),
            ("mailto:!!", "'mailto:!!' is not a mailto: URI with a valid address"),
            ("mailto:nobody", "'mailto:nobody' is not a mailto: URI with a valid address"),
            ("mailto:dmarc@bü_cher.example", "'mailto:dmarc@bü_cher.example' is not a mailto: URI with a valid address"),
            ("mailto:a,b@example.com", "'mailto:a,b@example.com' must not contain ',', ';' or spaces"),
            ("mailto:a@example.com,mailto:b@example.com", "'mailto:a@example.com,mailto:b@example.com' is not a mailto: URI with a valid address"),
            ("dmarc@example.com", "'dmarc@example.com' must be a mailto: URI (did you mean 'mailto:dmarc@example.com'?)"),
            ("mailtox:dmarc@example.com", "'mailtox:dmarc@example.com' must be a mailto: URI"),
            ("mailt", "'mailt' must be a mailto: URI"),
            ("https://reports.example.com/", "'https://reports.example.com/' must be a mailto: URI"),
        ]
        for (s, problem) in bad { XCTAssertEqual(PlanReader.reportURIProblem(s, schemes: mailto), problem, s) }
    }

    func testReportURIProblemHTTPS() {
        let both = ["mailto", "https"]
        for s in ["https://reports.example.com/tlsrpt", "HTTPS://reports.example.com", "https://reports.example.com:8443/x?y=1",
                  "mailto:tlsrpt@example.com"] {
            XCTAssertNil(PlanReader.reportURIProblem(s, schemes: both), s)
        }
        XCTAssertEqual(PlanReader.reportURIProblem("https:/reports.example.com", schemes: both), "'https:/reports.example.com' is not an https:// URI with a valid host")
        XCTAssertEqual(PlanReader.reportURIProblem("https://", schemes: both), "'https://' is not an https:// URI with a valid host")
        XCTAssertEqual(PlanReader.reportURIProblem("ftp://reports.example.com", schemes: both), "'ftp://reports.example.com' must be a mailto: or https: URI")
    }

    func testSelectorCheck() {
        for s in ["mail2026", "s1.example", "a_b-c", "A", String(repeating: "x", count: 63), "x." + String(repeating: "y", count: 63)] {
            XCTAssertTrue(PlanReader.isValidSelector(s), s)
        }
        for s in ["", ".", "a.", ".a", "a..b", "bad selector", "sél", "a/b", "a@b", "a^b", "a[b", String(repeating: "x", count: 64)] {
            XCTAssertFalse(PlanReader.isValidSelector(s), s)
        }
    }

    /// A key file named by many domains is read once and listed once for the saved plan; a
    /// missing one is an error at every selector that names it.
    func testKeyFileReadOnce() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: example.com, dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]}
          - {name: example.net, dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]}
          - {name: example.org, dkim: [{selector: a, public_key_file: keys/mail2026.pub}, {selector: b, public_key_file: keys/mail2026.pub}]}
        """)
        XCTAssertEqual(plan.keyFiles.map(\.path), ["keys/mail2026.pub"])
        XCTAssertEqual(plan.keyFiles.map(\.url.path), [repoRoot.appendingPathComponent("plans/keys/mail2026.pub").path])
        XCTAssertEqual(plan.domains.flatMap { $0.dkim.map(\.record) }, Array(repeating: "v=DKIM1; k=rsa; p=" + (try pemBody("plans/keys/mail2026.pub")), count: 4))
        XCTAssertEqual(diagnostics("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: example.com, dkim: [{selector: s, public_key_file: keys/absent.pub}]}
          - {name: example.net, dkim: [{selector: s, public_key_file: keys/absent.pub}]}
        """), [
            "test.yaml:5:63: error: domains[example.com].dkim[s].public_key_file: cannot read keys/absent.pub (No such file or directory)",
            "test.yaml:6:63: error: domains[example.net].dkim[s].public_key_file: cannot read keys/absent.pub (No such file or directory)",
        ])
    }

    /// The last MTA-STS id is kept: a different mode, max_age or MX set is computed afresh.
    func testMTASTSRecordMemo() {
        let enforce = MTASTSPolicy(mode: .enforce, maxAge: 604800)
        let one = [MXTarget(preference: 10, exchange: dn("mail.example.com"))]
        let two = [MXTarget(preference: 10, exchange: dn("mx1.example.net")), MXTarget(preference: 20, exchange: dn("mx2.example.net"))]
        XCTAssertEqual(Compiler.mtaSTSRecord(enforce, mx: one), "v=STSv1; id=a5963b31a082635c6ec6")
        XCTAssertEqual(Compiler.mtaSTSRecord(enforce, mx: two), "v=STSv1; id=a9571b7ea03d37b07a1d")
        XCTAssertEqual(Compiler.mtaSTSRecord(enforce, mx: two), "v=STSv1; id=a9571b7ea03d37b07a1d")
        XCTAssertEqual(Compiler.mtaSTSRecord(enforce, mx: one), "v=STSv1; id=a5963b31a082635c6ec6")
        XCTAssertEqual(Compiler.mtaSTSRecord(MTASTSPolicy(mode: .enforce, maxAge: 86400), mx: one), "v=STSv1; id=9ebad69d69d237d74acd")
        XCTAssertEqual(Compiler.mtaSTSRecord(MTASTSPolicy(mode: .testing, maxAge: 604800), mx: one), "v=STSv1; id=c0a762642c8ff96deabc")
    }

    /// Subdomain and trailing-dot tests on the canonical bytes.
    func testNameBytes() {
        XCTAssertTrue(dn("mail.example.com").isSubdomain(of: dn("example.com")))
        XCTAssertTrue(dn("example.com").isSubdomain(of: dn("example.com")))
        XCTAssertTrue(dn("example.com").isSubdomain(of: .root))
        XCTAssertFalse(dn("badexample.com").isSubdomain(of: dn("example.com")))
        XCTAssertFalse(dn("example.com").isSubdomain(of: dn("mail.example.com")))
        XCTAssertFalse(dn("com").isSubdomain(of: dn("example.com")))
        XCTAssertTrue(dn("mail.bücher.example").isSubdomain(of: dn("BÜCHER.example")))
        XCTAssertEqual(dn("Mail.Example.COM").withoutTrailingDot, "mail.example.com")
        XCTAssertEqual(dn("bücher.example").withoutTrailingDot, "xn--bcher-kva.example")
        XCTAssertEqual(DomainName.root.withoutTrailingDot, "")
    }

    /// A DMARC report address's domain, as the reader checks it and the compiler authorizes it.
    func testMailtoDomain() {
        XCTAssertEqual(MailtoURI.domain("mailto:dmarc@Reports.Example.NET"), "Reports.Example.NET")
        XCTAssertEqual(MailtoURI.domain("mailto:dmarc@reports.example.net!10m"), "reports.example.net")
        XCTAssertEqual(MailtoURI.domain("mailto:!dmarc@reports.example.net"), "reports.example.net")
        XCTAssertEqual(MailtoURI.domain("mailto:a@@reports.example.net"), "reports.example.net")
        XCTAssertEqual(MailtoURI.domain("mailto:dmarc@bücher.example"), "bücher.example")
        XCTAssertNil(MailtoURI.domain("mailto:nobody"))
        XCTAssertNil(MailtoURI.domain("mailto:a@b@example.com"))
        XCTAssertNil(MailtoURI.domain("mailto:@example.com"))
        XCTAssertNil(MailtoURI.domain("mailto:!!"))
    }

    /// The one-pass byte scan of an ASCII URI answers as `split` does on characters (the
    /// reading the domain had before it), for every URI of up to 6 characters after
    /// `mailto:` over `a @ ! .` and a non-ASCII letter.
    func testMailtoDomainScanAnswersAsSplit() {
        func bySplit(_ uri: String) -> String? {
            let addr = uri.dropFirst(7).split(separator: "!").first.map(String.init) ?? ""
            let parts = addr.split(separator: "@")
            return parts.count == 2 ? String(parts[1]) : nil
        }
        let alphabet: [String] = ["a", "@", "!", ".", "é"]
        var tails = [""]
        var checked = 0
        for _ in 0..<6 {
            tails = tails.flatMap { t in alphabet.map { t + $0 } }
            for t in tails {
                let uri = "mailto:" + t
                XCTAssertEqual(MailtoURI.domain(uri), bySplit(uri), uri)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 5 + 25 + 125 + 625 + 3125 + 15625)
        XCTAssertNil(MailtoURI.domain("mail"))
        XCTAssertEqual(MailtoURI.domain("mailté:x@y"), bySplit("mailté:x@y"))
    }

    /// Failing input of a differential run: the SPF term cache keyed by `String` (canonical
    /// equivalence) quoted the first domain's spelling of a term in the second domain's
    /// warning (U+212A KELVIN SIGN equals "K" as a `String`).
    func testSPFNotesQuoteEachDomainsOwnTerm() {
        let plan = """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: d1.test, spf: {senders: ["ptr:Kx.example"]}}
          - {name: d2.test, spf: {senders: ["ptr:\u{212A}x.example"]}}
        """
        // Compared as bytes: XCTAssertEqual on String would call the two spellings equal.
        XCTAssertEqual(try loadPlan(plan).warnings.map { Array($0.description.utf8) }, [
            "test.yaml:5:37: warning: domains[d1.test].spf.senders: 'ptr:Kx.example' is slow and unreliable; RFC 7208 §5.5 says it should not be used",
            "test.yaml:6:37: warning: domains[d2.test].spf.senders: 'ptr:\u{212A}x.example' is slow and unreliable; RFC 7208 §5.5 says it should not be used",
        ].map { Array($0.utf8) })
    }

    func testAnMXHostReadAgainIsTheSameNameAndAnotherSpellingIsReadOnItsOwn() throws {
        let plan = """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: d1.test, mx: [mail.example.com]}
          - {name: d2.test, mx: ["mail.example.com"]}
          - {name: d3.test, mx: [MAIL.Example.com]}
          - {name: d4.test, mx: [mx.example.net]}
          - {name: d5.test, mx: [mail.example.com]}
          - {name: d6.test, mx: [mail.Kx.example]}
          - {name: d7.test, mx: [mail.\u{212A}x.example]}
        """
        let loaded = try loadPlan(plan)
        XCTAssertEqual(loaded.domains.map { $0.mx.map(\.exchange.fqdn) }, [
            ["mail.example.com."], ["mail.example.com."], ["mail.example.com."], ["mx.example.net."], ["mail.example.com."],
            ["mail.kx.example."], ["mail.kx.example."],
        ])
        // After a valid host, an IP address and a bad name are still refused, each at its place.
        let bad = plan + "\n  - {name: d8.test, mx: [192.0.2.1]}\n  - {name: d9.test, mx: [mail.example.com, -bad.example.com]}\n"
            + "  - {name: d10.test, mx: [\"null\", null]}\n"
        XCTAssertThrowsError(try loadPlan(bad)) { e in
            XCTAssertEqual((e as? DiagnosticsError)?.diagnostics.map(\.description), [
                "test.yaml:12:26: error: domains[d8.test].mx[0]: an MX target must be a host name, not an IP address (RFC 5321 §5.1)",
                "test.yaml:13:44: error: domains[d9.test].mx[1]: '-bad.example.com' is not a valid host name: label '-bad' may hold only letters, digits and hyphens, not at either end (RFC 1123)",
                // A quoted "null" is a host name; the plain null after it is still empty.
                "test.yaml:14:35: error: domains[d10.test].mx[1] must not be empty",
            ])
        }
    }

    /// Two key file names that differ only in Unicode normalization are two files (Linux
    /// compares bytes): each selector gets its own file's key (both versions before this test
    /// gave the second domain the first one's key).
    func testKeyFileNamesAreComparedAsBytes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nfc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let composed = "caf\u{E9}.pub", decomposed = "cafe\u{301}.pub"
        XCTAssertEqual(composed, decomposed, "Swift String equality is canonical equivalence")
        try "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".write(to: dir.appendingPathComponent(composed), atomically: true, encoding: .utf8)
        try "v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=".write(to: dir.appendingPathComponent(decomposed), atomically: true, encoding: .utf8)
        let plan = try PlanLoader(environment: [:]).load(text: """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: d1.test, dkim: [{selector: s, public_key_file: "\(composed)"}]}
          - {name: d2.test, dkim: [{selector: s, public_key_file: "\(decomposed)"}]}
        """, file: "test.yaml", baseDirectory: dir)
        XCTAssertEqual(plan.domains.map { $0.dkim[0].record }, ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                                                              "v=DKIM1; k=ed25519; p=Gb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE="])
        XCTAssertEqual(plan.keyFiles.map { Array($0.path.utf8) }, [Array(composed.utf8), Array(decomposed.utf8)])
    }
}
