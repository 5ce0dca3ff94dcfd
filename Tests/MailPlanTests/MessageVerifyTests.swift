import Crypto
import Foundation
@testable import MailPlan
import XCTest

/// Message reading, canonicalization, DKIM, the Public Suffix List and DMARC without a
/// network: keys and records come from a map. The same code against real DNS and messages
/// signed by dkimpy is in Tests/IntegrationTests/VerifyMessageTests.swift.
final class MessageVerifyTests: XCTestCase {
    static let psl: PublicSuffixList = try! PublicSuffixList()

    func lookup(_ map: [String: [String]]) -> SPFDNSLookup {
        { name, type in
            guard type == .txt else { return [] }
            return (map[name.fqdn] ?? []).map { .txt($0) }
        }
    }

    func verify(_ text: String, _ map: [String: [String]], envelope: SMTPEnvelope = SMTPEnvelope(), now: Date = Date()) throws -> MessageReport {
        try MessageVerifier(lookup: lookup(map), suffixes: Self.psl, now: now)
            .verify(MessageReader.bytes(Array(text.utf8)), file: "test.eml", envelope: envelope)
    }

    // RFC 8463 Appendix A: the keys (§A.2) and the message signed with both (§A.3).
    static let rfc8463Keys = [
        "brisbane._domainkey.football.example.com.": ["v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="],
        "test._domainkey.football.example.com.": ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"],
        "_dmarc.football.example.com.": ["v=DMARC1; p=reject"],
    ]
    static let rfc8463Message = [
        "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;",
        " d=football.example.com; i=@football.example.com;",
        " q=dns/txt; s=brisbane; t=1528637909; h=from : to :",
        " subject : date : message-id : from : subject : date;",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
        " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus",
        " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==",
        "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;",
        " d=football.example.com; i=@football.example.com;",
        " q=dns/txt; s=test; t=1528637909; h=from : to : subject :",
        " date : message-id : from : subject : date;",
        " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;",
        " b=F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3",
        " DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz",
        " dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=",
        "From: Joe SixPack <joe@football.example.com>",
        "To: Suzie Q <suzie@shopping.example.net>",
        "Subject: Is dinner ready?",
        "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)",
        "Message-ID: <20030712040037.46341.5F8J@football.example.com>",
        "",
        "Hi.",
        "",
        "We lost the game.  Are you hungry yet?",
        "",
        "Joe.",
        "",
    ].joined(separator: "\r\n")

    func testRFC8463AppendixAVerifiesBothSignatures() throws {
        let r = try verify(Self.rfc8463Message, Self.rfc8463Keys)
        XCTAssertEqual(r.dkim.map(\.result), [.pass, .pass])
        XCTAssertEqual(r.dkim.map { $0.key?.bits }, [256, 1024])
        XCTAssertEqual(r.dkim.map(\.reason), [nil, "1024-bit key is weak, RFC 8301 §3.2"])
        XCTAssertEqual(r.authenticationResults, "Authentication-Results: mailplan; "
            + "dkim=pass header.d=football.example.com header.s=brisbane header.a=ed25519-sha256 header.b=/gCrinpc; "
            + "dkim=pass (1024-bit key is weak, RFC 8301 §3.2) header.d=football.example.com header.s=test header.a=rsa-sha256 header.b=F45dVWDf; "
            + "spf=none (not evaluated: give --ip, the address the message came from); "
            + "dmarc=pass (p=reject) header.from=football.example.com")
        // LF line ends (a mailbox file) verify the same.
        let lf = try verify(Self.rfc8463Message.replacingOccurrences(of: "\r\n", with: "\n"), Self.rfc8463Keys)
        XCTAssertEqual(lf.dkim.map(\.result), [.pass, .pass])
        // One body byte changed: both body hashes fail; the From over-signed twice in h=.
        let edited = try verify(Self.rfc8463Message.replacingOccurrences(of: "hungry", with: "Hungry"), Self.rfc8463Keys)
        XCTAssertEqual(edited.dkim.map(\.reason), ["body hash did not verify", "body hash did not verify"])
        XCTAssertEqual(edited.dkim.map(\.failure), [.bodyHash, .bodyHash])
        // A second Subject added below the signed one: h= lists subject twice, so it is covered and fails.
        let added = try verify(Self.rfc8463Message.replacingOccurrences(of: "Subject: Is dinner ready?\r\n", with: "Subject: Is dinner ready?\r\nSubject: Win a prize\r\n"), Self.rfc8463Keys)
        XCTAssertEqual(added.dkim.map(\.reason), ["signature did not verify", "signature did not verify"])
        XCTAssertEqual(added.dmarc.result, .fail)
    }

    /// RFC 6376 §3.4.5: the canonicalization examples, fed whole and one byte at a time.
    func testCanonicalizationExamplesOfRFC6376Section345() throws {
        let message = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n"
        for chunk in [message.utf8.count, 1, 3] {
            var bytes = Array(message.utf8)[...]
            let reader = MessageReader {
                guard !bytes.isEmpty else { return nil }
                let c = Array(bytes.prefix(chunk)); bytes = bytes.dropFirst(chunk); return c
            }
            let h = try reader.readHeaderSection()
            XCTAssertNil(h.error)
            XCTAssertEqual(h.fields.map { String(decoding: DKIMCanonicalization.relaxed.header($0), as: UTF8.self) }, ["a:X\r\n", "b:Y Z\r\n"])
            XCTAssertEqual(h.fields.map { String(decoding: DKIMCanonicalization.simple.header($0), as: UTF8.self) }, ["A: X\r\n", "B : Y\t\r\n\tZ  \r\n"])
            let body = BodyCanonicalizers()
            let relaxed = body.sink(.relaxed, .sha256, limit: nil), simple = body.sink(.simple, .sha256, limit: nil)
            let cut = body.sink(.relaxed, .sha256, limit: 4)
            try reader.readBody(into: body)
            XCTAssertEqual(relaxed.digest, Array(SHA256.hash(data: Data(" C\r\nD E\r\n".utf8))), "chunk \(chunk)")
            XCTAssertEqual(simple.digest, Array(SHA256.hash(data: Data(" C \r\nD \t E\r\n".utf8))), "chunk \(chunk)")
            XCTAssertEqual(cut.digest, Array(SHA256.hash(data: Data(" C\r\n".utf8))), "chunk \(chunk)")
            XCTAssertEqual(relaxed.canonicalLength, 9)
        }
        // Empty bodies: simple is one CRLF, relaxed is empty (§3.4.3, §3.4.4).
        let body = BodyCanonicalizers()
        let s = body.sink(.simple, .sha256, limit: nil), r = body.sink(.relaxed, .sha256, limit: nil)
        try MessageReader.bytes(Array("\r\n\r\n".utf8)).readBody(into: body)
        XCTAssertEqual(s.digest, Array(SHA256.hash(data: Data("\r\n".utf8))))
        XCTAssertEqual(r.digest, Array(SHA256.hash(data: Data())))
    }

    func testPublicSuffixListOrganizationalDomain() throws {
        let psl = Self.psl
        func org(_ d: String) throws -> String { psl.organizationalDomain(try DomainName(d)).withoutTrailingDot }
        XCTAssertEqual(try org("a.b.example.co.uk"), "example.co.uk")   // a plain two-label rule
        XCTAssertEqual(try org("mail.example.com"), "example.com")
        XCTAssertEqual(try org("www.ck"), "www.ck")                     // the exception !www.ck
        XCTAssertEqual(try org("a.b.foo.ck"), "b.foo.ck")               // the wildcard *.ck
        XCTAssertEqual(try org("sub.org.example"), "org.example")       // no rule: the implicit *
        XCTAssertEqual(try org("co.uk"), "co.uk")                       // a public suffix itself
        // A rule with Unicode labels is matched in A-label form.
        let small = PublicSuffixList(text: "// comment\nуфа.рф\n*.kawasaki.jp\n!city.kawasaki.jp\n")
        XCTAssertEqual(small.organizationalDomain(try DomainName("a.b.xn--80a1bd.xn--p1ai")).withoutTrailingDot, "b.xn--80a1bd.xn--p1ai")
        XCTAssertEqual(small.organizationalDomain(try DomainName("x.city.kawasaki.jp")).withoutTrailingDot, "city.kawasaki.jp")
        XCTAssertEqual(small.organizationalDomain(try DomainName("x.y.kawasaki.jp")).withoutTrailingDot, "x.y.kawasaki.jp")
        XCTAssertThrowsError(try PublicSuffixList(path: "/nonexistent/psl.dat")) { e in
            XCTAssertEqual("\(e)", "cannot read the Public Suffix List at /nonexistent/psl.dat: install the Debian package 'publicsuffix' (apt-get install publicsuffix)")
        }
    }

    func testDMARCPolicyDiscoveryAndAlignment() throws {
        let map = ["_dmarc.example.co.uk.": ["v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; pct=20"],
                   "_dmarc.two.example.": ["v=DMARC1; p=none", "v=DMARC1; p=reject"]]
        let a: SPFDNSLookup = { name, type in
            if type == .txt { return (map[name.fqdn] ?? []).map { .txt($0) } }
            return name.fqdn == "sub.example.co.uk." && type == .a ? [.a(IPv4Address("192.0.2.1")!)] : []
        }
        let e = DMARCEvaluator(lookup: a, suffixes: Self.psl)
        let pass = DKIMSignatureResult(result: .pass, line: 1, domain: "example.co.uk")
        let org = e.evaluate(from: try DomainName("example.co.uk"), dkim: [pass], spf: nil)
        XCTAssertEqual([org.result.rawValue, org.appliedPolicy, org.appliedPolicyTag], ["pass", "reject", "p"])
        let sub = e.evaluate(from: try DomainName("sub.example.co.uk"), dkim: [pass], spf: nil)
        XCTAssertEqual([sub.result.rawValue, sub.appliedPolicy, sub.appliedPolicyTag], ["fail", "quarantine", "sp"])  // adkim=s
        XCTAssertEqual(sub.reason, "DKIM passes only for d=example.co.uk, not aligned with sub.example.co.uk (adkim=s); SPF does not pass")
        let ghost = e.evaluate(from: try DomainName("ghost.example.co.uk"), dkim: [], spf: (.pass, try DomainName("ghost.example.co.uk")))
        XCTAssertEqual([ghost.result.rawValue, ghost.appliedPolicy, ghost.appliedPolicyTag], ["pass", "none", "np"])
        XCTAssertEqual(ghost.policy?.pct, 20)
        let two = e.evaluate(from: try DomainName("two.example"), dkim: [], spf: nil)
        XCTAssertEqual(two.result, .none)
        XCTAssertEqual(two.reason, "_dmarc.two.example has 2 DMARC records; a receiver applies none (RFC 7489 §6.6.3)")
        XCTAssertEqual(MessageFrom.addresses("\"Doe, John\" <j@a.example> (comment), b@b.example, Group: c@c.example;"), ["j@a.example", "b@b.example", "c@c.example"])
    }

    /// The bad input of issue 16: each a result with its reason, never a crash.
    func testBadInputGivesAReason() throws {
        let keys = Self.rfc8463Keys
        // A header line without a colon.
        let noColon = try verify("From: a@football.example.com\r\nno colon here\r\n\r\nbody\r\n", keys)
        XCTAssertEqual(noColon.dkimSummary, .permerror)
        XCTAssertEqual(noColon.messageError, "line 2: a header line without a colon (no colon here); a header field is 'Name: value' (RFC 5322 §2.2)")
        XCTAssertEqual(noColon.dmarc.result, .permerror)
        XCTAssertEqual(noColon.authenticationResults, "Authentication-Results: mailplan; dkim=permerror (malformed header at line 2); spf=none (not evaluated: give --ip, the address the message came from); dmarc=permerror (malformed header at line 2)")
        // Binary garbage.
        var rng = SystemRandomNumberGenerator()
        let garbage = (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let g = try MessageVerifier(lookup: lookup(keys), suffixes: Self.psl, now: Date()).verify(MessageReader.bytes(garbage), file: "g", envelope: SMTPEnvelope())
        XCTAssertEqual([g.dkimSummary, g.dmarc.result], [.permerror, .permerror])
        // A message without a blank line: all header, no body.
        let noBlank = try verify("From: a@football.example.com\r\nSubject: x", keys)
        XCTAssertNil(noBlank.messageError)
        XCTAssertEqual(noBlank.dkimSummary, .none)
        XCTAssertEqual(noBlank.dmarc.result, .fail)
        // b= that is not base64; a key record that is not DKIM; a missing key.
        let sig = Self.rfc8463Message
        let badB = try verify(sig.replacingOccurrences(of: "b=/gCrinpc", with: "b=/gCr!npc"), keys)
        XCTAssertEqual(badB.dkim.map(\.result), [.neutral, .pass])
        XCTAssertEqual(badB.dkim[0].reason, "b= is not base64 (RFC 6376 §3.5)")
        var notDKIM = keys
        notDKIM["brisbane._domainkey.football.example.com."] = ["v=spf1 -all"]
        let nd = try verify(sig, notDKIM)
        XCTAssertEqual(nd.dkim[0].result, .permerror)
        XCTAssertEqual(nd.dkim[0].reason, "the key record is not a DKIM key: v=spf1 -all is not DKIM1 as the first tag: not a DKIM key record (RFC 6376 §3.6.1)")
        var noKey = keys
        noKey["test._domainkey.football.example.com."] = nil
        XCTAssertEqual(try verify(sig, noKey).dkim[1].reason, "no key")
        var revoked = keys
        revoked["test._domainkey.football.example.com."] = ["v=DKIM1; k=rsa; p="]
        XCTAssertEqual(try verify(sig, revoked).dkim[1].reason, "key revoked")
        // 100 DKIM-Signature fields: 20 verified, the rest neutral; one key lookup for all.
        let first = sig.components(separatedBy: "DKIM-Signature: v=1; a=rsa-sha256")[0]
        var asked = 0
        let counting: SPFDNSLookup = { n, t in asked += 1; return try self.lookup(keys)(n, t) }
        let many = try MessageVerifier(lookup: counting, suffixes: Self.psl, now: Date()).verify(
            MessageReader.bytes(Array((String(repeating: first, count: 98) + sig).utf8)), file: "m", envelope: SMTPEnvelope())
        XCTAssertEqual(many.dkim.count, 100)
        XCTAssertEqual(many.dkim.filter { $0.result == .pass }.count, 20)
        XCTAssertEqual(many.dkim.filter { $0.result == .neutral }.count, 80)
        XCTAssertEqual(many.dkim[99].reason, "not verified: only the first 20 signatures are")
        XCTAssertEqual(asked, 2)  // the brisbane key, then _dmarc.football.example.com
        // Expired (x= before now), and x= before t=.
        let expired = sig.replacingOccurrences(of: "t=1528637909; h=from : to :", with: "t=1528637909; x=1528637910; h=from : to :")
        XCTAssertEqual(try verify(expired, keys).dkim[0].reason, "signature expired at 2018-06-10T13:38:30Z")
        let backwards = sig.replacingOccurrences(of: "t=1528637909; h=from : to :", with: "t=1528637909; x=1; h=from : to :")
        XCTAssertEqual(try verify(backwards, keys).dkim[0].reason, "x=1 is before t=1528637909 (RFC 6376 §3.5)")
        // A header section that never ends (no blank line within 4 MiB).
        let huge = Array(repeating: Array("X-Fill: 0123456789012345678901234567890123456789\r\n".utf8), count: 100_000).flatMap { $0 }
        let h = try MessageVerifier(lookup: lookup(keys), suffixes: Self.psl, now: Date()).verify(MessageReader.bytes(huge), file: "h", envelope: SMTPEnvelope())
        XCTAssertEqual(h.messageError, "line 10001: more than 10000 header fields")
    }

    /// With a plan, each failure names the plan entry or the pending apply behind it.
    func testPlanHintsNameTheCause() throws {
        let edKey = Self.rfc8463Keys["brisbane._domainkey.football.example.com."]![0]
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.football.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: x.zone}}
        domains:
          - name: football.example.com
            spf: {senders: ["ip4:192.0.2.25"]}
            dkim:
              - {selector: brisbane, public_key: "\(edKey)"}
            dmarc: {policy: reject}

        """)
        func hints(_ keys: [String: [String]], _ message: String = Self.rfc8463Message, ip: String? = nil) throws -> [String] {
            let env = SMTPEnvelope(ip: ip.flatMap(SPFAddress.init), mailFrom: ip == nil ? nil : "bounce@football.example.com")
            let r = try verify(message, keys, envelope: env)
            return MessagePlanHints(plan: plan, now: Date(), lookup: lookup(keys)).hints(r, envelope: env)
        }
        var keys = Self.rfc8463Keys
        keys["test._domainkey.football.example.com."] = nil
        keys["_dmarc.football.example.com."] = nil
        keys["football.example.com."] = ["v=spf1 -all"]  // served: not yet applied
        XCTAssertEqual(try hints(keys, ip: "192.0.2.25"), [
            "selector test is not in domains[0].dkim of test.yaml (test.yaml:5:5): add it, or sign with selector brisbane",
            "the planned SPF record of football.example.com passes 192.0.2.25 but the served one gives fail: run `mailplan apply test.yaml`",
            "domains[0].dmarc is in the plan (test.yaml:5:5) but no DMARC record is served for football.example.com: run `mailplan apply test.yaml`",
        ])
        XCTAssertEqual(try hints(keys, ip: "203.0.113.9").dropFirst().first,
                       "the sending address 203.0.113.9 is not in domains[0].spf.senders (test.yaml:5:5): add ip4:203.0.113.9, or send through a listed host")
        // Another key served under brisbane; the planned key served but the header changed; revoked.
        var other = Self.rfc8463Keys
        other["brisbane._domainkey.football.example.com."] = ["v=DKIM1; k=ed25519; p=" + Data(Curve25519.Signing.PrivateKey().publicKey.rawRepresentation).base64EncodedString()]
        XCTAssertEqual(try hints(other).first, "the key served for selector brisbane differs from the plan (domains[0].dkim at test.yaml:8:9): run `mailplan apply test.yaml`")
        XCTAssertEqual(try hints(Self.rfc8463Keys, Self.rfc8463Message.replacingOccurrences(of: "Subject: Is dinner", with: "Subject: Was dinner")).first,
                       "the signature does not verify with the key the plan publishes for selector brisbane (domains[0].dkim at test.yaml:8:9): the message was changed after signing, or the signer uses another private key")
        var revoked = Self.rfc8463Keys
        revoked["brisbane._domainkey.football.example.com."] = ["v=DKIM1; k=ed25519; p="]
        XCTAssertEqual(try hints(revoked).first, "selector brisbane is active in the plan (domains[0].dkim at test.yaml:8:9) but served revoked: run `mailplan apply test.yaml`")
        // A From domain the plan does not have.
        let foreign = Self.rfc8463Message.replacingOccurrences(of: "From: Joe SixPack <joe@football.example.com>", with: "From: joe@elsewhere.example")
        XCTAssertEqual(try hints(Self.rfc8463Keys, foreign).last, "the From domain elsewhere.example is not a domain of test.yaml")
    }

    /// SPF identities (RFC 7208 §2.3, §2.4): MAIL FROM, Return-Path, and postmaster@HELO for `<>`.
    func testSPFIdentities() throws {
        var keys = Self.rfc8463Keys
        keys["mail.football.example.com."] = ["v=spf1 ip4:192.0.2.25 -all"]
        keys["football.example.com."] = ["v=spf1 ip4:198.51.100.7 -all"]
        let ip = SPFAddress("192.0.2.25")
        let helo = try DomainName("mail.football.example.com")
        let null = try verify(Self.rfc8463Message, keys, envelope: SMTPEnvelope(ip: ip, helo: helo, mailFrom: ""))
        XCTAssertEqual([null.spf.identity, null.spf.result.rawValue, null.spf.sender], ["helo", "pass", "postmaster@mail.football.example.com"])
        XCTAssertNil(null.spfHelo)
        XCTAssertEqual(null.dmarc.spfDomain, "mail.football.example.com")
        XCTAssertTrue(null.authenticationResults.contains("; spf=pass smtp.helo=mail.football.example.com; "), null.authenticationResults)
        let rp = try verify("Return-Path: <bounce@football.example.com>\r\n" + Self.rfc8463Message, keys, envelope: SMTPEnvelope(ip: ip, helo: helo))
        XCTAssertEqual([rp.spf.identity, rp.spf.result.rawValue, rp.spf.sender], ["mailfrom", "fail", "bounce@football.example.com"])
        XCTAssertEqual(rp.spfHelo?.result, .pass)
        XCTAssertTrue(rp.authenticationResults.contains("; spf=fail (matched '-all' in football.example.com) smtp.mailfrom=football.example.com; spf=pass smtp.helo=mail.football.example.com; "), rp.authenticationResults)
    }
}
