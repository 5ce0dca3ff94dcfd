import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

func rr(_ n: String, _ t: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: dn(n), type: t, ttl: ttl, rdata: values.map { t == .txt ? .txt($0) : try! RData.parse(type: t, $0) })
}

final class CompileDiffRenderTests: XCTestCase {
    var dkimP: String { try! pemBody("plans/keys/mail2026.pub") }

    func examplePlan() throws -> MailPlan {
        try PlanLoader(environment: [:]).load(path: repoRoot.appendingPathComponent("plans/example.yaml").path)
    }

    /// The live zone of plans/zones/example.com.zone as RRsets.
    let liveExample: [RRset] = [
        rr("example.com", .soa, 3600, []),
        rr("example.com", .ns, 3600, ["ns1.example.com.", "ns2.example.net."]),
        rr("ns1.example.com", .a, 3600, ["192.0.2.53"]),
        rr("example.com", .a, 3600, ["192.0.2.80"]),
        rr("www.example.com", .cname, 3600, ["example.com."]),
        rr("example.com", .txt, 3600, ["google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", "v=spf1 a -all"]),
        rr("example.com", .mx, 300, ["10 old-mx.example.net."]),
        rr("_acme-challenge.example.com", .txt, 3600, ["kLkZm1vB3rL4uXf6wV0u2hQ9Xn8bT5cJ7dE1pA3sY0g"]),
    ]

    func testCompileExample() throws {
        let zones = try Compiler.compile(try examplePlan(), now: Date())
        XCTAssertEqual(zones.count, 1)
        XCTAssertEqual(zones[0].zone.fqdn, "example.com.")
        XCTAssertEqual(zones[0].rrsets.map(\.rrset.description), [
            "example.com. 3600 IN MX 10 mail.example.com.",
            "example.com. 3600 IN TXT \"v=spf1 mx include:_spf.example.net -all\"",
            "_dmarc.example.com. 3600 IN TXT \"v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc@example.com\"",
            "mail2026._domainkey.example.com. 3600 IN TXT " + RData.txt("v=DKIM1; k=rsa; p=" + dkimP).presentation,
            "_mta-sts.example.com. 3600 IN TXT \"v=STSv1; id=a5963b31a082635c6ec6\"",
            "_smtp._tls.example.com. 3600 IN TXT \"v=TLSRPTv1; rua=mailto:tlsrpt@example.com\"",
            "mail.example.com. 3600 IN A 192.0.2.25",
            "mail.example.com. 3600 IN AAAA 2001:db8::25",
        ])
        XCTAssertEqual(zones[0].rrsets.map(\.ownership), [.full, .spfValues, .full, .full, .full, .full, .full, .full])
    }

    /// A 2048-bit DKIM key is written as two strings: 255 bytes and the rest.
    func testDKIM2048IsTwoStrings() throws {
        let v = "v=DKIM1; k=rsa; p=" + dkimP
        XCTAssertEqual(v.utf8.count, 410)
        XCTAssertEqual(RData.txt(v).presentation, "\"\(v.prefix(255))\" \"\(v.dropFirst(255))\"")
        XCTAssertEqual(try RData.parse(type: .txt, RData.txt(v).presentation), .txt(v))
    }

    func testMTASTSIdFollowsThePolicy() {
        let mx = [MXTarget(preference: 10, exchange: dn("mail.example.com"))]
        let p = MTASTSPolicy(mode: .enforce, maxAge: 604800)
        XCTAssertEqual(Compiler.mtaSTSPolicy(p, mx: mx), "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n")
        // printf 'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n' | sha256sum | cut -c1-20
        XCTAssertEqual(Compiler.mtaSTSRecord(p, mx: mx), "v=STSv1; id=a5963b31a082635c6ec6")
        XCTAssertNotEqual(Compiler.mtaSTSRecord(p, mx: mx), Compiler.mtaSTSRecord(MTASTSPolicy(mode: .testing, maxAge: 604800), mx: mx))
    }

    func planFor(_ plan: MailPlan, live: [RRset]) throws -> (PlanResult, InMemoryProvider) {
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): live])
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        return (try engine.makePlan(), mem)
    }

    func testExamplePlanTextIsExact() throws {
        let (result, _) = try planFor(try examplePlan(), live: liveExample)
        let dkim = "v=DKIM1; k=rsa; p=" + dkimP
        let sts = "v=STSv1; id=a5963b31a082635c6ec6"
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.com. (provider local, memory)
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=quarantine; adkim=s; rua=mailto:dmarc@example.com"
          + mail2026._domainkey.example.com. TXT ttl 3600
              + "\(dkim)"
          + _mta-sts.example.com. TXT ttl 3600
              + "\(sts)"
          + _smtp._tls.example.com. TXT ttl 3600
              + "v=TLSRPTv1; rua=mailto:tlsrpt@example.com"
          + mail.example.com. A ttl 3600
              + 192.0.2.25
          + mail.example.com. AAAA ttl 3600
              + 2001:db8::25
          ~ example.com. MX ttl 300 -> 3600
              - 10 old-mx.example.net.
              + 10 mail.example.com.
          ~ example.com. TXT ttl 3600
                "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
              - "v=spf1 a -all"
              + "v=spf1 mx include:_spf.example.net -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 6 to add, 2 to change, 0 to destroy.

        """)
        XCTAssertEqual(result.summary, ChangeSummary([]).with(add: 6, change: 2))
    }

    func testApplyThenPlanIsNoOpAndUnmanagedRecordsSurvive() throws {
        let plan = try examplePlan()
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): liveExample])
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let report = engine.apply(try engine.makePlan())
        XCTAssertTrue(report.succeeded)
        XCTAssertEqual(report.appliedSummary, ChangeSummary([]).with(add: 6, change: 2))
        let again = try Engine(plan: plan, now: Date(), makeProvider: { _ in mem }).makePlan()
        XCTAssertEqual(again.changesets.map(\.changes), [[]])
        XCTAssertEqual(PlanRenderer.text(again.changesets), "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(mem.writes.map { $0.changes.count }, [8], "one atomic write of the 6 creates and 2 updates")
        let after = Set(mem.zones[dn("example.com")]!)
        for keep in liveExample where ![RRsetKey(dn("example.com"), .txt), RRsetKey(dn("example.com"), .mx)].contains(keep.key) {
            XCTAssertTrue(after.contains(keep), "\(keep.key) changed")
        }
        XCTAssertEqual(after.first { $0.key == RRsetKey(dn("example.com"), .txt) }?.rdata.compactMap(\.txtValue),
                       ["google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", "v=spf1 mx include:_spf.example.net -all"])
    }

    let minimal = """
    version: 1
    server: {hostname: mail.example.com, ipv4: 192.0.2.25}
    providers: {local: {type: zonefile, path: x.zone}}
    domains:
      - name: example.com

    """

    /// C12: an SPF value in spf: and another in records: at the same name.
    func testC12_TwoSPFInThePlan() throws {
        let plan = try loadPlan(minimal + "    spf: {senders: [mx]}\n    records: [{name: \"@\", type: TXT, values: [\"v=spf1 a -all\"]}]\n")
        XCTAssertThrowsError(try Compiler.compile(plan, now: Date())) { e in
            XCTAssertEqual("\(e)", "test.yaml:5:5: error: example.com. TXT: two SPF records, \"v=spf1 mx -all\" (spf:) and \"v=spf1 a -all\" (records:); a name must have exactly one (RFC 7208 §4.5)")
        }
        let plan2 = try loadPlan(minimal + "    records: [{name: sub, type: TXT, values: [\"v=spf1 a -all\", \"V=SPF1 mx -all\"]}]\n")
        XCTAssertThrowsError(try Compiler.compile(plan2, now: Date())) { e in
            XCTAssertEqual("\(e)", "test.yaml:6:15: error: sub.example.com. TXT: two SPF records, \"V=SPF1 mx -all\" and \"v=spf1 a -all\"; a name must have exactly one (RFC 7208 §4.5)")
        }
    }

    /// C12 with live data: an upper-case live SPF is ours and is replaced, never left as a second SPF.
    func testC12_LiveSPFAnyCaseIsReplaced() throws {
        let plan = try loadPlan(minimal + "    spf: {senders: [mx]}\n")
        let live = [rr("example.com", .txt, 600, ["V=SPF1 include:old.example -all", "v=spf1 a ~all", "token=1"]),
                    rr("example.com", .mx, 3600, ["10 mail.example.com."]),
                    rr("mail.example.com", .a, 3600, ["192.0.2.25"])]
        let (result, _) = try planFor(plan, live: live)
        XCTAssertEqual(result.changesets[0].changes, [
            .update(from: live[0], to: rr("example.com", .txt, 600, ["token=1", "v=spf1 mx -all"]), notes: [
                "only the v=spf1 value is managed; the other 1 TXT value is kept",
                "replaces 2 SPF values with one (RFC 7208 §4.5: more than one is a permerror)"], driftClass: .mailBreaking, shared: true),
        ])
    }

    func testUnmanagedDoubleSPFIsAWarning() throws {
        let plan = try loadPlan(minimal)
        let live = [rr("example.com", .mx, 3600, ["10 mail.example.com."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"]),
                    rr("example.com", .txt, 3600, ["v=spf1 a -all", "v=spf1 mx -all"])]
        let (result, _) = try planFor(plan, live: live)
        XCTAssertTrue(result.summary.isEmpty)
        XCTAssertEqual(result.warnings.map(\.description), ["warning: example.com. TXT holds 2 SPF records (\"v=spf1 a -all\", \"v=spf1 mx -all\"); receivers treat that as a permerror (RFC 7208 §4.5). Add spf: for this domain to let mailplan manage it."])
    }

    func testCNAMEConflictIsAnErrorNotADelete() throws {
        let plan = try loadPlan(minimal + "    dmarc: {policy: none}\n")
        let live = [rr("_dmarc.example.com", .cname, 3600, ["dmarc.vendor.example."])]
        XCTAssertThrowsError(try planFor(plan, live: live)) { e in
            XCTAssertEqual("\(e)", "test.yaml:5:5: error: _dmarc.example.com.: the provider holds a CNAME (→ dmarc.vendor.example.) where the plan needs TXT for example.com dmarc; remove the CNAME at provider 'local' or change the plan (mailplan never deletes it silently)")
        }
    }

    /// C03: a DKIM key stored as two separate TXT records becomes one record of two strings.
    func testC03_SplitRecordsBecomeOneUpdateWithValidKey() throws {
        let v = "v=DKIM1; k=rsa; p=" + dkimP
        let plan = try loadPlan(minimal + "    dkim: [{selector: s1, public_key_file: keys/mail2026.pub}]\n")
        let live = [rr("example.com", .mx, 3600, ["10 mail.example.com."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"]),
                    rr("s1._domainkey.example.com", .txt, 3600, [String(v.prefix(255)), String(v.dropFirst(255))])]
        let (result, _) = try planFor(plan, live: live)
        XCTAssertEqual(result.changesets[0].changes, [
            .update(from: live[2], to: rr("s1._domainkey.example.com", .txt, 3600, [v]), notes: [
                "the live RRset holds a value that does not start with v=DKIM1: \"\(v.dropFirst(255).prefix(40))…\"",
                "2 live TXT records become one record (a value split across records is read as separate records)"], driftClass: .mailBreaking),
        ])
    }

    /// Whitespace inside a live DKIM p= is not a difference.
    func testDKIMWhitespaceInLivePIsNoOp() throws {
        let v = "v=DKIM1; k=rsa; p=" + dkimP
        let spaced = "v=DKIM1;  k=rsa; p=" + dkimP.prefix(100) + " " + dkimP.dropFirst(100)
        let plan = try loadPlan(minimal + "    dkim: [{selector: s1, public_key: \"\(v)\"}]\n")
        let live = [rr("example.com", .mx, 3600, ["10 mail.example.com."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"]),
                    rr("s1._domainkey.example.com", .txt, 3600, [spaced])]
        let (result, _) = try planFor(plan, live: live)
        XCTAssertEqual(result.changesets.map(\.changes), [[]], "no change: the live p= differs only in white space")
        XCTAssertEqual(PlanRenderer.text(result.changesets), "No changes. The live DNS matches the plan.\n")
        // What was compared: the plan's DKIM RRset in the standard two strings (255 + the
        // rest), the live one as read (one string with the spaces).
        let key = RRsetKey(dn("s1._domainkey.example.com"), .txt)
        let desired = result.zones[0].desired.rrsets.map(\.rrset).filter { $0.key == key }
        XCTAssertEqual(desired, [RRset(name: key.name, type: .txt, ttl: 3600, rdata: [.txt(TXTData(strings: [Array(v.utf8.prefix(255)), Array(v.utf8.dropFirst(255))]))])])
        XCTAssertEqual(v.utf8.count, 410)
        XCTAssertEqual(result.zones[0].live.filter { $0.key == key }, [rr("s1._domainkey.example.com", .txt, 3600, [spaced])])
    }

    /// C15: a live DKIM value that differs only in case is a real difference.
    func testC15_TXTCaseDifferenceIsAChange() throws {
        let v = "v=DKIM1; k=rsa; p=" + dkimP
        let plan = try loadPlan(minimal + "    dkim: [{selector: s1, public_key: \"\(v)\"}]\n")
        let live = [rr("EXAMPLE.com", .mx, 3600, ["10 MAIL.example.com."]), rr("Mail.Example.com", .a, 3600, ["192.0.2.25"]),
                    rr("s1._domainkey.example.com", .txt, 3600, ["v=DKIM1; k=rsa; p=" + dkimP.lowercased()])]
        let changes = try planFor(plan, live: live).0.changesets[0].changes
        XCTAssertEqual(changes.map(\.key.description), ["s1._domainkey.example.com. TXT"])
        XCTAssertEqual(changes.map(\.action), [.update])
    }

    func testTTLOutsideProviderRangeIsClampedWithNote() throws {
        let plan = try loadPlan(minimal.replacingOccurrences(of: "  - name: example.com\n", with: "  - name: example.com\n    ttl: 5\n"))
        let (result, _) = try planFor(plan, live: [])
        XCTAssertEqual(result.changesets[0].changes.map { "\($0.key) \($0.after!.ttl) \($0.notes)" }, [
            "example.com. MX 60 [\"TTL 5 is outside what memory accepts (60–86400 s); using 60\"]",
            "mail.example.com. A 60 [\"TTL 5 is outside what memory accepts (60–86400 s); using 60\"]",
        ])
    }

    func testJSONDocument() throws {
        let plan = try loadPlan(minimal)
        let (result, _) = try planFor(plan, live: [rr("example.com", .mx, 3600, ["0 ."]), rr("mail.example.com", .a, 3600, ["192.0.2.25"])])
        XCTAssertEqual(try PlanDocument(result: result, version: "0.1.0").json(), """
        {
          "format_version" : "1",
          "mailplan_version" : "0.1.0",
          "plan_file" : "test.yaml",
          "requests" : {
            "local" : 0
          },
          "summary" : {
            "add" : 0,
            "change" : 1,
            "destroy" : 0
          },
          "warnings" : [

          ],
          "zones" : [
            {
              "changes" : [
                {
                  "action" : "update",
                  "after" : {
                    "name" : "example.com.",
                    "ttl" : 3600,
                    "type" : "MX",
                    "values" : [
                      "10 mail.example.com."
                    ]
                  },
                  "before" : {
                    "name" : "example.com.",
                    "ttl" : 3600,
                    "type" : "MX",
                    "values" : [
                      "0 ."
                    ]
                  },
                  "class" : "changed",
                  "gates" : [

                  ],
                  "name" : "example.com.",
                  "notes" : [

                  ],
                  "type" : "MX"
                }
              ],
              "provider" : "local",
              "provider_type" : "memory",
              "zone" : "example.com."
            }
          ]
        }

        """)
    }

    func testNoChangesText() {
        XCTAssertEqual(PlanRenderer.text([]), "No changes. The live DNS matches the plan.\n")
    }
}

extension ChangeSummary {
    func with(add: Int = 0, change: Int = 0, destroy: Int = 0) -> ChangeSummary {
        var s = self; s.add = add; s.change = change; s.destroy = destroy; return s
    }
}

/// `mailplan check`'s table keeps a multi-line expected or served value (an MTA-STS policy)
/// under its own row, each further line indented past the label.
final class CheckTableTests: XCTestCase {
    func testMultiLineValuesStayIndentedUnderTheirRow() {
        let f = Finding(.error, "mta-sts", "example.com", "served policy differs from the plan",
                        expected: "version: STSv1\nmode: enforce\nmx: mail.example.com\nmax_age: 604800\n",
                        actual: "version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 86400\r\n")
        XCTAssertEqual(CheckRenderer.table([f]), """
        STATUS  CHECK    SUBJECT      MESSAGE
        ERROR   mta-sts  example.com  served policy differs from the plan
                                      expected: version: STSv1
                                                mode: enforce
                                                mx: mail.example.com
                                                max_age: 604800
                                      served:   version: STSv1
                                                mode: testing
                                                mx: mail.example.com
                                                max_age: 86400

        Check: 0 ok, 0 warnings, 1 error.

        """)
    }
}
