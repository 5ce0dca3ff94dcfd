import Foundation
import XCTest
@testable import MailPlan
@testable import MailPlanTestSupport

/// Counts reads that are in progress at the same time. Reads wait on conditions (how many
/// have started or finished), never on a clock, so what overlaps is decided by the engine.
final class ReadOverlap: @unchecked Sendable {
    private let cond = NSCondition()
    private(set) var now = 0, max = 0, started = 0, finished = 0
    private(set) var order: [String] = []

    /// A provider over six zones d0…d5.example whose reads `hold` (given the zone and this
    /// counter) before answering; d3 cannot be read.
    func provider(hold: @escaping @Sendable (String, ReadOverlap) -> Void) -> InMemoryProvider {
        let zones = Dictionary(uniqueKeysWithValues: (0..<6).map { (dn("d\($0).example"), [rr("d\($0).example", .mx, 3600, ["10 mail.example.com."])]) })
        let p = InMemoryProvider(name: "slow", type: "slow", zones: zones)
        p.onRead = { [self] zone in
            enter(zone.fqdn)
            defer { leave() }
            hold(zone.fqdn, self)
            if zone.fqdn.hasPrefix("d3") { throw ProviderError(provider: "slow", "zone \(zone.fqdn) cannot be read") }
        }
        return p
    }

    private func enter(_ z: String) {
        cond.lock(); now += 1; max = Swift.max(max, now); started += 1; order.append(z); cond.broadcast(); cond.unlock()
    }
    private func leave() { cond.lock(); now -= 1; finished += 1; cond.broadcast(); cond.unlock() }

    /// Waits until `condition` holds (checked under the lock) or `seconds` pass.
    /// - Returns: whether the condition held.
    @discardableResult
    func wait(upTo seconds: Double, until condition: (ReadOverlap) -> Bool) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        cond.lock(); defer { cond.unlock() }
        while !condition(self) { if !cond.wait(until: deadline) { return condition(self) } }
        return true
    }
}

final class DriftGatesSavedPlanTests: XCTestCase {
    func gates(_ c: Change) -> [String] { c.gates.map(\.rawValue) }

    func testRemoveLastMXGate() {
        let mx = rr("example.com", .mx, 3600, ["10 mail.example.com."])
        XCTAssertEqual(gates(.update(from: mx, to: rr("example.com", .mx, 3600, ["0 ."]))), ["remove-last-mx"])
        XCTAssertEqual(gates(.delete(mx)), ["remove-last-mx"])
        XCTAssertEqual(gates(.update(from: mx, to: rr("example.com", .mx, 3600, ["20 mx2.example.com."]))), [])
        XCTAssertEqual(gates(.create(rr("example.com", .mx, 3600, ["0 ."]))), [])
        XCTAssertEqual(gates(.delete(rr("example.com", .mx, 3600, ["0 ."]))), [], "removing a null MX removes no mail route")
    }

    func testDeleteDKIMGate() {
        let k = rr("old._domainkey.example.com", .txt, 3600, ["v=DKIM1; k=rsa; p=AAAA"])
        XCTAssertEqual(gates(.delete(k)), ["delete-dkim"])
        XCTAssertEqual(gates(.update(from: k, to: k.with(rdata: [.txt("v=DKIM1; p=")]))), [], "a revocation is not a delete")
        XCTAssertEqual(gates(.delete(rr("_acme-challenge.example.com", .txt, 60, ["x"]))), [])
    }

    func testDMARCRejectGateOnlyTheFirstTime() {
        let none = rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=none"])
        let reject = rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=reject; rua=mailto:d@example.com"])
        XCTAssertEqual(gates(.update(from: none, to: reject)), ["dmarc-reject"])
        XCTAssertEqual(gates(.create(reject)), [], "a first DMARC record is not a move")
        XCTAssertEqual(gates(.update(from: rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1;p=REJECT"]), to: reject)), [])
        XCTAssertEqual(gates(.update(from: reject, to: none)), [])
    }

    func testSPFFailAllGateOnlyTheFirstTime() {
        let soft = rr("example.com", .txt, 3600, ["v=spf1 mx ~all", "google-site-verification=x"])
        let hard = rr("example.com", .txt, 3600, ["v=spf1 mx -all", "google-site-verification=x"])
        XCTAssertEqual(gates(.update(from: soft, to: hard)), ["spf-fail-all"])
        XCTAssertEqual(gates(.update(from: hard, to: rr("example.com", .txt, 3600, ["v=spf1 mx a -all"]))), [])
        XCTAssertEqual(gates(.create(rr("example.com", .txt, 3600, ["v=spf1 mx -all"]))), [], "a first SPF record is not a move")
        XCTAssertEqual(gates(.update(from: rr("example.com", .txt, 3600, ["google-site-verification=x"]), to: hard)), [], "adding the first SPF value")
    }

    func testRefusalNamesEveryGate() {
        let cs = ZoneChangeset(zone: dn("example.com"), provider: "p", providerType: "memory", changes: [
            .delete(rr("example.com", .mx, 3600, ["10 mail.example.com."])),
            .update(from: rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=quarantine"]), to: rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=reject"])),
        ])
        let blocked = SafetyGate.blocked([cs], allowed: [.removeLastMX])
        XCTAssertEqual(SafetyGate.refusal(blocked), """
        refusing to apply: 1 change needs an explicit --allow:
          _dmarc.example.com. TXT: moves DMARC to p=reject for the first time (receivers refuse failing mail); rerun with --allow=dmarc-reject
        """)
        XCTAssertTrue(SafetyGate.blocked([cs], allowed: Set(SafetyGate.allCases)).isEmpty)
    }

    func testDefaultDriftClasses() {
        let a = rr("mail.example.com", .a, 300, ["192.0.2.1"])
        XCTAssertEqual(Change.create(a).driftClass, .missing)
        XCTAssertEqual(Change.delete(a).driftClass, .unwanted)
        XCTAssertEqual(Change.update(from: a, to: a.with(ttl: 3600)).driftClass, .ttlOnly)
        XCTAssertEqual(Change.update(from: a, to: rr("mail.example.com", .a, 3600, ["192.0.2.2"])).driftClass, .changed)
        // Whitespace inside a DKIM p= is not a data difference.
        let k1 = rr("s._domainkey.example.com", .txt, 300, ["v=DKIM1; k=rsa; p=AB CD"])
        let k2 = rr("s._domainkey.example.com", .txt, 3600, ["v=DKIM1; k=rsa; p=ABCD"])
        XCTAssertEqual(Change.update(from: k1, to: k2).driftClass, .ttlOnly)
    }

    func testChangeJSONRoundTripCarriesClassAndGates() throws {
        let c = Change.update(from: rr("_dmarc.example.com", .txt, 300, ["v=DMARC1; p=none"]),
                              to: rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=reject"]), notes: ["n"])
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        let json = String(decoding: try enc.encode(c), as: UTF8.self)
        XCTAssertEqual(json, #"{"action":"update","after":{"name":"_dmarc.example.com.","ttl":3600,"type":"TXT","values":["\"v=DMARC1; p=reject\""]},"before":{"name":"_dmarc.example.com.","ttl":300,"type":"TXT","values":["\"v=DMARC1; p=none\""]},"class":"changed","gates":["dmarc-reject"],"name":"_dmarc.example.com.","notes":["n"],"type":"TXT"}"#)
        XCTAssertEqual(try JSONDecoder().decode(Change.self, from: Data(json.utf8)), c)
    }

    func testLiveFingerprintIsCanonical() {
        let sets = [rr("example.com", .mx, 3600, ["20 mx2.example.com.", "10 mail.example.com."]), rr("a.example.com", .a, 300, ["192.0.2.1"])]
        let fp = LiveFingerprint(sets)
        XCTAssertEqual(fp.sha256, "b6ff1d605b89a6658017c2860483023f81105696752e70c80fe02bdb170c078a")
        XCTAssertEqual(fp.rrsets, ["example.com. MX": "0ea810dfcfaeab56", "a.example.com. A": "33ec718b69ccb228"])
        XCTAssertEqual(LiveFingerprint(sets.reversed()), fp, "order of the read does not matter")
        let moved = LiveFingerprint([sets[0].with(ttl: 300), rr("b.example.com", .a, 300, ["192.0.2.2"])])
        XCTAssertEqual(moved.differences(since: fp), ["a.example.com. A was removed", "b.example.com. A was added", "example.com. MX changed"])
        XCTAssertEqual(fp.differences(since: fp), [])
    }

    func testSavedPlanDetectionByContent() throws {
        XCTAssertNil(try SavedPlan.detect(Data("version: 1\n".utf8), file: "p.yaml"))
        XCTAssertNil(try SavedPlan.detect(Data(#"{"version": 1}"#.utf8), file: "p.json"))
        XCTAssertThrowsError(try SavedPlan.detect(Data(#"{"kind": "mailplan-saved-plan", "format_version": "9"}"#.utf8), file: "old.json")) { e in
            XCTAssertEqual("\(e)", "error: old.json: saved plan format_version 9 is not supported by mailplan \(MailPlanVersion.current) (supported: 1); make the plan again")
        }
    }

    func testSavedPlanRoundTripAndStaleness() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: example.com, dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]}
        """)
        XCTAssertEqual(plan.keyFiles.map(\.path), ["keys/mail2026.pub"])
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): [rr("example.com", .mx, 300, ["10 old.example.net."])]])
        let engine = Engine(plan: plan, now: Date(), makeProvider: { _ in mem })
        let result = try engine.makePlan()
        let saved = try SavedPlan(result: result, plan: plan, targets: [], allowed: [.dmarcReject], now: Date(timeIntervalSince1970: 0))
        XCTAssertEqual(saved.createdAt, "1970-01-01T00:00:00Z")
        let decoded = try XCTUnwrap(try SavedPlan.detect(Data(try saved.json().utf8), file: "s.json"))
        XCTAssertEqual(decoded.changesets, result.changesets)
        XCTAssertEqual(decoded.zones.map(\.fingerprint), [LiveFingerprint(mem.zones[dn("example.com")]!)])
        XCTAssertEqual(decoded.allowed, [.dmarcReject])
        XCTAssertEqual(decoded.keyFiles.map(\.sha256), ["8fb012da7080791b5c81a4bfb01efa1367e427319ab385dc7f63abceb7a09ba6"], "sha256sum plans/keys/mail2026.pub")
        XCTAssertEqual(try engine.staleness(of: decoded), [])
        // A saved plan edited to list its zone twice would write it twice: refused (review finding).
        var doubled = decoded
        doubled.zones += decoded.zones
        XCTAssertEqual(try engine.staleness(of: doubled), ["the saved plan lists zone example.com. more than once: it was edited"])
        mem.zones[dn("example.com")]!.append(rr("www.example.com", .a, 60, ["192.0.2.80"]))
        XCTAssertEqual(try engine.staleness(of: decoded), ["zone example.com. at provider local changed since the plan was made: www.example.com. A was added"])
    }

    func testParallelReadsAreBoundedAndOrdered() throws {
        let yaml = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p: {type: slow}}\ndomains:\n"
            + (0..<6).map { "  - {name: d\($0).example}\n" }.joined()
        // d0 finishes last: it holds its slot until the four other reads are done (through the
        // second slot, one at a time, each after d0 has started), so exactly two reads overlap and the results must still
        // come back in the order given. An engine that read one at a time would keep d0 waiting
        // for nothing (10 s) and see at most one read at a time.
        let counter = ReadOverlap()
        let p1 = counter.provider { zone, c in
            if zone.hasPrefix("d0") {
                XCTAssertTrue(c.wait(upTo: 10) { $0.finished == 4 }, "the other four reads ran beside d0")
            } else {
                XCTAssertTrue(c.wait(upTo: 10) { $0.order.contains("d0.example.") }, "d0 holds the other slot")
            }
        }
        let engine = Engine(plan: try loadPlan(yaml), now: Date(), makeProvider: { _ in p1 })
        let zones = (0..<6).filter { $0 != 3 }.map { (dn("d\($0).example"), "p") }
        let lives = try engine.readLive(zones, parallelism: 2)
        XCTAssertEqual(lives.map { $0.first!.name.fqdn }, ["d0.example.", "d1.example.", "d2.example.", "d4.example.", "d5.example."])
        XCTAssertEqual(counter.max, 2)

        // Every read waits until all six have started: only a pool of at least six gets there.
        let c2 = ReadOverlap()
        let p2 = c2.provider { _, c in XCTAssertTrue(c.wait(upTo: 10) { $0.started == 6 }, "all six reads started together") }
        let e2 = Engine(plan: try loadPlan(yaml), now: Date(), makeProvider: { _ in p2 })
        XCTAssertThrowsError(try e2.makePlan(parallelism: 8)) { e in
            XCTAssertEqual("\(e)", "provider slow: zone d3.example. cannot be read")
        }
        XCTAssertEqual(c2.max, 6, "all six zones were read at once")

        // One at a time: each read waits (briefly) for a second read that must never come.
        let c3 = ReadOverlap()
        let p3 = c3.provider { _, c in XCTAssertFalse(c.wait(upTo: 0.2) { $0.now > 1 }, "a second read ran beside this one") }
        let e3 = Engine(plan: try loadPlan(yaml), now: Date(), makeProvider: { _ in p3 })
        let r = try e3.makePlan(parallelism: 1, targets: ["d1.example", "d4.example."])
        XCTAssertEqual(r.zones.map(\.changeset.zone.fqdn), ["d1.example.", "d4.example."])
        XCTAssertEqual(c3.max, 1)
        XCTAssertEqual(c3.order, ["d1.example.", "d4.example."])
        XCTAssertThrowsError(try e3.makePlan(targets: ["d9.example"])) { e in
            XCTAssertEqual("\(e)", "error: --target d9.example: not a domain or zone of test.yaml; did you mean 'd0.example'? (domains: d0.example, d1.example, d2.example, d3.example, d4.example, d5.example)")
        }
    }

    func testMailBreakingClassesFromTheDiffer() throws {
        let plan = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: memory}}
        domains:
          - {name: example.com, spf: {senders: [mx]}, dmarc: {policy: none}}
        """)
        let live = [
            rr("example.com", .mx, 3600, ["10 mail.example.com."]),
            rr("mail.example.com", .a, 3600, ["192.0.2.25"]),
            rr("example.com", .txt, 3600, ["v=spf1 mx -all", "v=spf1 a -all"]),
            rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=none", "v=DMARC1; p=reject"]),
        ]
        let mem = InMemoryProvider(name: "local", zones: [dn("example.com"): live])
        let result = try Engine(plan: plan, now: Date(), makeProvider: { _ in mem }).makePlan()
        XCTAssertEqual(result.changesets[0].changes.map { "\($0.key) \($0.driftClass.rawValue) \($0.gates.map(\.rawValue))" },
                       ["example.com. TXT mail-breaking []", "_dmarc.example.com. TXT mail-breaking []"])
        XCTAssertEqual(PlanRenderer.text(result.changesets), """
        mailplan will perform the following actions:

          # zone example.com. (provider local, memory)
          ~ example.com. TXT ttl 3600
                "v=spf1 mx -all"
              - "v=spf1 a -all"
              # replaces 2 SPF values with one (RFC 7208 §4.5: more than one is a permerror)
              # class mail-breaking: live data breaks mail
          ~ _dmarc.example.com. TXT ttl 3600
                "v=DMARC1; p=none"
              - "v=DMARC1; p=reject"
              # replaces 2 DMARC records with one (RFC 7489 §6.6.3: with more than one, no policy applies)
              # class mail-breaking: live data breaks mail

        Plan: 0 to add, 2 to change, 0 to destroy.

        """)
    }

    func testMarkdownSummaryIsExact() {
        let cs = ZoneChangeset(zone: dn("example.com"), provider: "pdns", providerType: "powerdns", changes: [
            .create(rr("_dmarc.example.com", .txt, 3600, ["v=DMARC1; p=reject"])),
            .update(from: rr("example.com", .txt, 3600, ["v=spf1 mx ~all"]), to: rr("example.com", .txt, 3600, ["v=spf1 mx -all"])),
            .update(from: rr("example.com", .mx, 300, ["10 mail.example.com."]), to: rr("example.com", .mx, 3600, ["10 mail.example.com."])),
        ])
        XCTAssertEqual(MarkdownRenderer.render([cs], warnings: ["a | b"], title: "mail.yaml"), """
        ## mailplan: mail.yaml

        **Plan: 1 to add, 2 to change, 0 to destroy.** Classes: 1 missing, 1 changed, 1 ttl-only.

        > [!WARNING]
        > apply needs `--allow=spf-fail-all`

        ### zone `example.com.` (provider `pdns`, powerdns)

        | | RRset | TTL | class | records |
        |---|---|---|---|---|
        | + | `_dmarc.example.com. TXT` | 3600 | missing | + `"v=DMARC1; p=reject"` |
        | ~ | `example.com. MX` | 300 → 3600 | ttl-only | `10 mail.example.com.` |
        | ~ | `example.com. TXT` | 3600 | changed ⚠ `--allow=spf-fail-all` | − `"v=spf1 mx ~all"`<br>+ `"v=spf1 mx -all"` |

        **Warnings**

        - a \\| b

        <details><summary>Full plan</summary>

        ```
        mailplan will perform the following actions:

          # zone example.com. (provider pdns, powerdns)
          + _dmarc.example.com. TXT ttl 3600
              + "v=DMARC1; p=reject"
          ~ example.com. MX ttl 300 -> 3600
                10 mail.example.com.
              # class ttl-only: only the TTL differs
          ~ example.com. TXT ttl 3600
              - "v=spf1 mx ~all"
              + "v=spf1 mx -all"
              # apply needs --allow=spf-fail-all: moves SPF to -all for the first time (unlisted senders hard-fail)

        Plan: 1 to add, 2 to change, 0 to destroy.
        ```

        </details>

        """)
        XCTAssertEqual(MarkdownRenderer.render([], title: "mail.yaml"), "## mailplan: mail.yaml\n\n**No changes.** The live DNS matches the plan.\n")
    }

    func testImporterWarnsWhatItCannotExpress() throws {
        let z = dn("example.org")
        let live = [
            rr("example.org", .mx, 300, ["10 mx.example.net."]),
            rr("example.org", .txt, 3600, ["v=spf1 mx"]),
            rr("_dmarc.example.org", .txt, 3600, ["v=DMARC1; rua=mailto:d@example.org; p=quarantine; ri=3600"]),
            rr("_mta-sts.example.org", .txt, 3600, ["v=STSv1; id=20240101"]),
        ]
        let out = try Importer.planFile(domain: z, zone: z, live: live, providerName: "p", providerBlock: Importer.providerBlock(planText: "providers:\n  p:\n    type: memory\n", file: "p.yaml", name: "p"),
                                    fallbackServer: nil)
        XCTAssertEqual(out.warnings, [
            "the mail host's addresses are unknown: server.ipv4 is a placeholder (192.0.2.1); set the real address before planning",
            "example.org. SPF \"v=spf1 mx\" ends in neither an all term nor redirect=; spf is left out (mailplan always writes one)",
            "_dmarc.example.org.: tags ri are not modelled and will be dropped",
            "_dmarc.example.org. will be rewritten as \"v=DMARC1; p=quarantine; rua=mailto:d@example.org\"",
            "_mta-sts.example.org. \"v=STSv1; id=20240101\": the policy is not in DNS and no mode/max_age mailplan would write gives that id; imported as mode testing, max_age 604800: check https://mta-sts.example.org/.well-known/mta-sts.txt",
            "the mail records use several TTLs (300, 3600 s); ttl is 3600, so the plan will show TTL-only changes for the others",
        ])
        XCTAssertEqual(out.yaml, """
        # Imported by mailplan \(MailPlanVersion.current) from zone example.org. at provider p.
        # Review it, then run: mailplan plan <this file>   (it should show no changes)
        version: 1

        server:
          hostname: "mx.example.net"
          ipv4: ["192.0.2.1"]

        providers:
          p:
            type: memory

        defaults:
          ttl: 3600

        domains:
        - name: "example.org"
          provider: "p"
          ttl: 3600
          mx:
          - {host: "mx.example.net", preference: 10}
          dmarc: {policy: "quarantine", rua: ["mailto:d@example.org"]}
          mta_sts: {mode: "testing", max_age: 604800}

        """)
        let check = try Importer.check(yaml: out.yaml, file: "i.yaml", baseDirectory: repoRoot, environment: [:], zone: z, live: live, providerType: "memory", now: Date())
        XCTAssertEqual(check.changes.map { "\($0.key) \($0.driftClass.rawValue)" },
                       ["example.org. MX ttl-only", "_dmarc.example.org. TXT changed", "_mta-sts.example.org. TXT changed"])
    }

    /// Values with YAML-special characters (`#`, `: `, a leading `*`, quotes) and a long DKIM
    /// key survive import: written by Yams, loaded back equal, `plan` a no-op; a `${VAR}`
    /// stays a reference; the same input gives the same bytes.
    func testImportedSpecialCharactersLoadBackEqual() throws {
        let z = dn("example.org")
        let key = "v=DKIM1; k=rsa; n=rotated: #2 *old* 'q'; p=" + (try pemBody("plans/keys/mail2026.pub"))
        let spf = "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all"
        let live = [
            rr("example.org", .mx, 3600, ["10 mail.example.org."]),
            rr("mail.example.org", .a, 3600, ["192.0.2.25"]),
            rr("example.org", .txt, 3600, [spf]),
            rr("s1._domainkey.example.org", .txt, 3600, [key]),
            rr("_dmarc.example.org", .txt, 3600, ["v=DMARC1; p=quarantine; rua=mailto:d@example.org!10m"]),
        ]
        let note = #"*: not an alias # nor a comment "double" 'single'"#
        let source = #"""
        version: 1
        providers:
          other: {type: memory}
          p:
            type: memory
            note: '*: not an alias # nor a comment "double" ''single'''
            url: "http://127.0.0.1:8081/#frag"
            api_key: ${PDNS_API_KEY}
            port: "8081"

        """#
        func importIt() throws -> Importer.Output {
            try Importer.planFile(domain: z, zone: z, live: live, providerName: "p",
                                  providerBlock: Importer.providerBlock(planText: source, file: "p.yaml", name: "p"), fallbackServer: nil)
        }
        let out = try importIt()
        XCTAssertEqual(out.warnings, [])
        XCTAssertEqual(out.yaml, #"""
        # Imported by mailplan \#(MailPlanVersion.current) from zone example.org. at provider p.
        # Review it, then run: mailplan plan <this file>   (it should show no changes)
        version: 1

        server:
          hostname: "mail.example.org"
          ipv4: ["192.0.2.25"]

        providers:
          p:
            type: memory
            note: '*: not an alias # nor a comment "double" ''single'''
            url: "http://127.0.0.1:8081/#frag"
            api_key: ${PDNS_API_KEY}
            port: "8081"

        defaults:
          ttl: 3600

        domains:
        - name: "example.org"
          provider: "p"
          ttl: 3600
          mx:
          - {host: "mail.example.org", preference: 10}
          spf: {senders: ["ip4:192.0.2.0/24", "include:_spf.example.net"], all: "-all"}
          dkim:
          - {selector: "s1", public_key: "\#(key)"}
          dmarc: {policy: "quarantine", rua: ["mailto:d@example.org!10m"]}

        """#)
        XCTAssertEqual(try importIt().yaml, out.yaml)
        XCTAssertFalse(out.yaml.contains("s3cret"))

        let env = ["PDNS_API_KEY": "s3cret"]
        let plan = try PlanLoader(environment: env).load(text: out.yaml, file: "i.yaml", baseDirectory: repoRoot)
        XCTAssertEqual(plan.providers.map(\.name), ["p"])
        let p = try XCTUnwrap(plan.providers.first)
        XCTAssertEqual(p.settings["note"]?.text, note)
        XCTAssertEqual(p.settings["url"]?.text, "http://127.0.0.1:8081/#frag")
        XCTAssertEqual(p.settings["port"]?.text, "8081")
        XCTAssertNotNil(p.settings["api_key"]?.secret)
        let d = try XCTUnwrap(plan.domains.first)
        XCTAssertEqual(d.dkim.map(\.selector), ["s1"])
        XCTAssertEqual(d.dkim.first?.record, key)
        XCTAssertEqual(d.spf?.record, spf)
        XCTAssertEqual(d.dmarc?.rua, ["mailto:d@example.org!10m"])
        let check = try Importer.check(yaml: out.yaml, file: "i.yaml", baseDirectory: repoRoot, environment: env,
                                       zone: z, live: live, providerType: "memory", now: Date())
        XCTAssertEqual(check.changes.map(\.key.description), [])
    }
}
