import XCTest
@testable import MailPlan

final class SPFTests: XCTestCase {
    let header = """
    version: 1
    server: {hostname: mail.example.com, ipv4: [192.0.2.25, 192.0.2.26], ipv6: 2001:db8::25}
    providers: {local: {type: zonefile, path: x.zone}}
    domains:
      - name: example.com

    """

    func spfRRset(_ plan: MailPlan, _ name: String = "example.com") throws -> String? {
        try Compiler.compile(plan, now: Date()).flatMap(\.rrsets).first { $0.rrset.key == RRsetKey(dn(name), .txt) }?.rrset.description
    }

    /// Without senders the record lists the server's own addresses.
    func testDefaultSendersAreTheServerAddresses() throws {
        let plan = try loadPlan(header + "    spf: {}\n")
        XCTAssertEqual(plan.domains[0].spf?.record, "v=spf1 ip4:192.0.2.25 ip4:192.0.2.26 ip6:2001:db8::25 -all")
        let soft = try loadPlan(header + "    spf: {all: \"~all\"}\n")
        XCTAssertEqual(try spfRRset(soft), "example.com. 3600 IN TXT \"v=spf1 ip4:192.0.2.25 ip4:192.0.2.26 ip6:2001:db8::25 ~all\"")
    }

    func testEveryMechanismKindAndRedirect() throws {
        let plan = try loadPlan(header + """
            spf: {senders: [mx, a, "a:out.example.com", "ip4:198.51.100.0/24", "ip6:2001:db8:1::/48", "include:_spf.example.net", "~exists:%{i}._spf.example.com", "?all-ignored-not"]}

        """.replacingOccurrences(of: ", \"?all-ignored-not\"", with: ""))
        XCTAssertEqual(plan.domains[0].spf?.record,
                       "v=spf1 mx a a:out.example.com ip4:198.51.100.0/24 ip6:2001:db8:1::/48 include:_spf.example.net ~exists:%{i}._spf.example.com -all")
        let r = try loadPlan(header + "    spf: {senders: [\"redirect=_spf.example.net\"]}\n")
        XCTAssertEqual(r.domains[0].spf?.record, "v=spf1 redirect=_spf.example.net")
    }

    func testHostBitsWarningAndCIDRErrors() throws {
        let plan = try loadPlan(header + "    spf: {senders: [\"ip4:192.0.2.1/24\", \"ip6:2001:db8::1/64\"]}\n")
        XCTAssertEqual(plan.warnings.map(\.description), [
            "test.yaml:6:21: warning: domains[example.com].spf.senders: 'ip4:192.0.2.1/24' has host bits set below the prefix; receivers match the network 192.0.2.0/24",
            "test.yaml:6:41: warning: domains[example.com].spf.senders: 'ip6:2001:db8::1/64' has host bits set below the prefix; receivers match the network 2001:db8::/64",
        ])
        XCTAssertEqual(diagnostics(header + "    spf: {senders: [\"ip6:2001:db8::/129\", \"ip4:10.0.0.0/\"]}\n"), [
            "test.yaml:6:21: error: domains[example.com].spf.senders: 'ip6:2001:db8::/129': prefix length must be 0 to 128",
            "test.yaml:6:43: error: domains[example.com].spf.senders: 'ip4:10.0.0.0/': prefix length must be 0 to 32",
        ])
    }

    /// RFC 7208 §3.4: a record over 450 bytes may not fit one UDP answer.
    func testLongRecordWarning() throws {
        let nets = (0..<24).map { "\"ip4:198.51.\($0).0/24\"" }.joined(separator: ", ")
        let plan = try loadPlan(header + "    spf: {senders: [\(nets)]}\n")
        XCTAssertEqual(plan.domains[0].spf!.record.utf8.count, 457)
        XCTAssertEqual(plan.warnings.map(\.description), [
            "test.yaml:6:10: warning: domains[example.com].spf: the record is 457 bytes; keep SPF records under 450 bytes so the answer fits one UDP datagram (RFC 7208 §3.4)",
        ])
    }

    /// More than 10 lookup terms at the top level is a permerror before any include is followed.
    func testMoreThanTenTopLevelLookupsIsAnError() {
        let terms = (1...11).map { "\"include:s\($0).example.net\"" }.joined(separator: ", ")
        XCTAssertEqual(diagnostics(header + "    spf: {senders: [\(terms)]}\n"), [
            "test.yaml:6:20: error: domains[example.com].spf.senders: 11 terms need a DNS lookup (" + (1...11).map { "include:s\($0).example.net" }.joined(separator: ", ") + "), more than the 10 allowed before any include is followed (RFC 7208 §4.6.4)",
        ])
    }

    func testParseModel() throws {
        let r = try SPFRecord.parse("v=spf1 -a:mail.example.com/24//64 mx/28 ?ip4:192.0.2.0/24 ip6:2001:DB8::1 include:_spf.example.net ptr exists:%{ir}.x.example.net redirect=example.org exp=explain.example.org foo=bar ~all")
        XCTAssertEqual(r.directives.map(\.qualifier), [.fail, .pass, .neutral, .pass, .pass, .pass, .pass, .softfail])
        XCTAssertEqual(r.directives.map(\.mechanism), [
            .a(domain: "mail.example.com", ip4Prefix: 24, ip6Prefix: 64), .mx(domain: nil, ip4Prefix: 28, ip6Prefix: nil),
            .ip4(IPv4Address("192.0.2.0")!, prefix: 24), .ip6(IPv6Address("2001:db8::1")!, prefix: nil),
            .include("_spf.example.net"), .ptr(nil), .exists("%{ir}.x.example.net"), .all,
        ])
        XCTAssertEqual(r.redirect, "example.org")
        XCTAssertEqual(r.explanation, "explain.example.org")
        XCTAssertEqual(r.terms[9], .modifier(name: "foo", value: "bar"))
        XCTAssertEqual(r.description, "v=spf1 -a:mail.example.com/24//64 mx/28 ?ip4:192.0.2.0/24 ip6:2001:DB8::1 include:_spf.example.net ptr exists:%{ir}.x.example.net redirect=example.org exp=explain.example.org foo=bar ~all")
        for (text, error) in [
            ("v=spf2 mx", "an SPF record starts with v=spf1 (RFC 7208 §4.5)"),
            ("v=spf1 ip4:192.0.2.0/33", "'ip4:192.0.2.0/33': prefix length must be 0 to 32"),
            ("v=spf1 include:", "'include:': include needs a domain"),
            ("v=spf1 redirect=a.example redirect=b.example", "'redirect=b.example': redirect= may appear only once (RFC 7208 §6)"),
            ("v=spf1 -redirect=a.example", "'-redirect=a.example': a modifier takes no qualifier"),
            ("v=spf1 mx:bad..name", "'mx:bad..name': 'bad..name' is not a domain name"),
            ("v=spf1 bogus", "'bogus': not an SPF mechanism (valid: all, include:, a, mx, ptr, ip4:, ip6:, exists:, redirect=, exp=)"),
        ] {
            XCTAssertThrowsError(try SPFRecord.parse(text), text) { XCTAssertEqual("\($0)", error) }
        }
    }

    /// An in-memory DNS: name → TXT values (absent = void); no other types.
    func lookup(_ zone: [String: [String]]) -> SPFDNSLookup {
        { name, type in type == .txt ? (zone[name.withoutTrailingDot] ?? []).map { RData.txt($0) } : [] }
    }

    /// A chain of includes that costs 11 lookups: the 11th is named with the chain to it.
    func testLookupBudgetElevenThroughAChain() throws {
        var zone: [String: [String]] = [:]
        // example.com → include:a (1) → a includes b (2) → … → j (10) → j has "mx" (11).
        let names = "abcdefghij".map { "\($0).spf.example.net" }
        for (i, n) in names.enumerated() {
            zone[n] = [i + 1 < names.count ? "v=spf1 include:\(names[i + 1]) -all" : "v=spf1 mx -all", "unrelated=1"]
        }
        let record = try SPFRecord.parse("v=spf1 ip4:192.0.2.25 include:a.spf.example.net -all")
        let report = SPFEvaluator(lookup: lookup(zone)).evaluate(record, at: dn("example.com"))
        XCTAssertEqual(report.lookupCount, 11)
        XCTAssertEqual(report.perTerm.map { "\($0.term)=\($0.lookups)" }, ["ip4:192.0.2.25=0", "include:a.spf.example.net=11", "-all=0"])
        XCTAssertEqual(report.problems, [
            "11 DNS lookups, more than the 10 allowed (RFC 7208 §4.6.4); lookup 11 is example.com → include:a.spf.example.net → include:b.spf.example.net → include:c.spf.example.net → include:d.spf.example.net → include:e.spf.example.net → include:f.spf.example.net → include:g.spf.example.net → include:h.spf.example.net → include:i.spf.example.net → include:j.spf.example.net → mx",
        ])
        // Ten is allowed.
        zone["j.spf.example.net"] = ["v=spf1 ip4:203.0.113.0/24 -all"]
        let ok = SPFEvaluator(lookup: lookup(zone)).evaluate(record, at: dn("example.com"))
        XCTAssertEqual(ok.lookupCount, 10)
        XCTAssertEqual(ok.problems, [])
    }

    func testVoidLookupsLoopsAndMissingSPF() throws {
        let zone: [String: [String]] = [
            "loop.example.net": ["v=spf1 include:example.com -all"],
            "nospf.example.net": ["google-site-verification=x"],
            "two.example.net": ["v=spf1 -all", "v=spf1 mx -all"],
        ]
        let record = try SPFRecord.parse("v=spf1 include:gone1.example.net include:gone2.example.net include:gone3.example.net include:loop.example.net include:nospf.example.net include:two.example.net a exists:%{i}.e.example.net -all")
        let report = SPFEvaluator(lookup: lookup(zone)).evaluate(record, at: dn("example.com"))
        XCTAssertEqual(report.lookupCount, 9)
        XCTAssertEqual(report.voidLookups.map(\.path), [
            "example.com → include:gone1.example.net", "example.com → include:gone2.example.net", "example.com → include:gone3.example.net",
            "example.com → a",  // example.com has no A/AAAA here: a void lookup too
        ])
        XCTAssertEqual(report.problems, [
            "example.com → include:gone1.example.net: gone1.example.net has no SPF record (a permerror, RFC 7208 §5.2)",
            "example.com → include:gone2.example.net: gone2.example.net has no SPF record (a permerror, RFC 7208 §5.2)",
            "example.com → include:gone3.example.net: gone3.example.net has no SPF record (a permerror, RFC 7208 §5.2)",
            "example.com → include:loop.example.net → include:example.com: loops back to example.com",
            "example.com → include:nospf.example.net: nospf.example.net has no SPF record (a permerror, RFC 7208 §5.2)",
            "example.com → include:two.example.net: two.example.net has 2 SPF records (a permerror, RFC 7208 §5.2)",
            "4 void lookups, more than the 2 allowed (RFC 7208 §4.6.4): example.com → include:gone1.example.net; example.com → include:gone2.example.net; example.com → include:gone3.example.net; example.com → a",
        ])
    }

    /// HELO identity: `v=spf1 a -all` at the host name, sharing the TXT RRset like an apex SPF.
    func testHELOSPF() throws {
        let plan = try loadPlan(header.replacingOccurrences(of: "ipv6: 2001:db8::25}", with: "ipv6: 2001:db8::25, helo_spf: true}"))
        let host = try Compiler.compile(plan, now: Date())[0].rrsets.first { $0.rrset.key == RRsetKey(dn("mail.example.com"), .txt) }
        XCTAssertEqual(host?.rrset.description, "mail.example.com. 3600 IN TXT \"v=spf1 a -all\"")
        XCTAssertEqual(host?.ownership, .spfValues)
        XCTAssertEqual(host?.purpose, .heloSPF)

        // The host name is itself a planned domain with spf: refused, with the way out.
        let clash = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25, helo_spf: true}
        providers: {local: {type: zonefile, path: x.zone}}
        domains:
          - name: example.com
          - name: mail.example.com
            zone: example.com
            spf: {senders: [a]}
        """)
        XCTAssertThrowsError(try Compiler.compile(clash, now: Date())) { e in
            XCTAssertEqual("\(e)", "test.yaml:2:9: error: server.helo_spf: mail.example.com is also the planned domain at test.yaml:6:5 with spf:, which is the HELO record too; remove helo_spf and list 'a' in that domain's spf.senders")
        }
    }
}
