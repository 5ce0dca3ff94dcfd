import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// RFC 2136 + TSIG against a real BIND 9 started by `scripts/servers start`
/// (`MAILPLAN_BIND_ADDR`, `MAILPLAN_BIND_TSIG_NAME`, `MAILPLAN_BIND_TSIG_SECRET`,
/// `MAILPLAN_BIND_ZONES`). Zones are reset with `nsupdate` and read back with `dig AXFR`
/// (BIND's own tools), so the adapter is checked by something other than itself.
final class RFC2136BINDTests: XCTestCase {
    var host = "", port: UInt16 = 0, keyName = "", secret = ""
    var cliZone = "", providerZone = ""
    var keyFile: URL!

    override func setUpWithError() throws {
        let bind = try BINDServer.fromEnvironment()
        host = bind.host; port = bind.port
        keyName = bind.keyName; secret = bind.secret; cliZone = bind.zones[0]; providerZone = bind.zones[1]
        keyFile = try bind.keyFile(removedAfter: self)
    }

    @discardableResult
    func run(_ tool: String, _ args: [String], stdin: String = "") throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out; p.standardError = err; p.standardInput = inp
        try p.run()
        inp.fileHandleForWriting.write(Data(stdin.utf8)); try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw NSError(domain: tool, code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: String(decoding: o + e, as: UTF8.self)])
        }
        return String(decoding: o, as: UTF8.self)
    }

    /// Puts `zone` back to the starting state: old MX, apex TXT with a verification token
    /// and an old SPF, an unrelated www A; nothing at the mail names.
    func reset(_ zone: String) throws {
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: """
        server \(host) \(port)
        zone \(zone)
        update delete \(zone). MX
        update delete \(zone). TXT
        update delete _dmarc.\(zone). TXT
        update delete mail2026._domainkey.\(zone). TXT
        update delete mail.\(zone). A
        update delete mail.\(zone). CNAME
        update delete www.\(zone). A
        update add \(zone). 300 MX 10 old-mx.example.net.
        update add \(zone). 300 TXT "google-site-verification=tok123"
        update add \(zone). 300 TXT "v=spf1 a -all"
        update add www.\(zone). 300 A 192.0.2.80
        send

        """)
    }

    /// The zone as BIND serves it (AXFR with the key), one line per RR, sorted, SOA left out.
    func axfr(_ zone: String) throws -> [String] {
        let text = try run("/usr/bin/dig", ["+tcp", "+noall", "+answer", "-k", keyFile.path, "-p", String(port), "@\(host)", zone, "AXFR"])
        return Set(text.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
            .filter { !$0.contains(" SOA ") && !$0.contains(" TSIG ") }).sorted()
    }

    var dkimValue: String {
        let body = try! String(contentsOf: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        return "v=DKIM1; k=rsa; p=" + body
    }

    func writePlan(_ zone: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-rfc2136-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"), to: dir.appendingPathComponent("keys/mail2026.pub"))
        let plan = dir.appendingPathComponent("plan.yaml")
        try """
        version: 1
        server:
          hostname: mail.\(zone)
          ipv4: 192.0.2.25
        providers:
          bind:
            type: rfc2136
            server: \(host):\(port)
            tsig_key_name: \(keyName)
            tsig_secret: ${MAILPLAN_TEST_TSIG_SECRET}
        defaults:
          ttl: 3600
        domains:
          - name: \(zone)
            provider: bind
            spf: {senders: [mx], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: quarantine}

        """.write(to: plan, atomically: true, encoding: .utf8)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return plan
    }

    func expectedPlan(_ z: String) -> String {
        """
        mailplan will perform the following actions:

          # zone \(z). (provider bind, rfc2136)
          + _dmarc.\(z). TXT ttl 3600
              + "v=DMARC1; p=quarantine"
          + mail2026._domainkey.\(z). TXT ttl 3600
              + "\(dkimValue)"
          + mail.\(z). A ttl 3600
              + 192.0.2.25
          ~ \(z). MX ttl 300 -> 3600
              - 10 old-mx.example.net.
              + 10 mail.\(z).
          ~ \(z). TXT ttl 300
                "google-site-verification=tok123"
              - "v=spf1 a -all"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 1 TXT value is kept

        Plan: 3 to add, 2 to change, 0 to destroy.

        """
    }

    /// The must-show round trip at the CLI: plan → apply → plan is a no-op, with a 2048-bit
    /// DKIM key (two strings on the wire), an apex TXT shared with a token, and an MX change.
    func testCLIPlanApplyPlanRoundTrip() throws {
        let z = cliZone
        try reset(z)
        let plan = try writePlan(z).path
        let env = ["MAILPLAN_TEST_TSIG_SECRET": secret]

        let first = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, expectedPlan(z))
        XCTAssertEqual(first.stderr, "")

        let apply = try runMailplan(["apply", plan, "--auto-approve"], env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, expectedPlan(z) + "\nApply complete! Records: 3 added, 2 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, "\(z).: applying 5 changes at bind (rfc2136)\n")
        XCTAssertFalse((apply.stdout + apply.stderr).contains(secret))

        let second = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "No changes. The live DNS matches the plan.\n")

        let k = dkimValue
        XCTAssertEqual(k.utf8.count, 410)
        XCTAssertEqual(try axfr(z), [
            "\(z). 300 IN TXT \"google-site-verification=tok123\"",
            "\(z). 300 IN TXT \"v=spf1 mx -all\"",
            "\(z). 3600 IN MX 10 mail.\(z).",
            "\(z). 3600 IN NS ns1.\(z).",
            "_dmarc.\(z). 3600 IN TXT \"v=DMARC1; p=quarantine\"",
            "mail.\(z). 3600 IN A 192.0.2.25",
            "mail2026._domainkey.\(z). 3600 IN TXT \"\(k.prefix(255))\" \"\(k.dropFirst(255))\"",
            "ns1.\(z). 3600 IN A 127.0.0.1",
            "www.\(z). 300 IN A 192.0.2.80",
        ].sorted())
    }

    /// A wrong TSIG secret: exit 1, a message that says what to check (never the secret),
    /// and the zone on the server unchanged.
    func testCLIWrongSecretExits1AndChangesNothing() throws {
        let z = cliZone
        try reset(z)
        let before = try axfr(z)
        let plan = try writePlan(z).path
        let wrong = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let r = try runMailplan(["apply", plan, "--auto-approve"], env: ["MAILPLAN_TEST_TSIG_SECRET": wrong])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "error: provider bind: the primary \(host):\(port) rejected the TSIG signature for the zone transfer (AXFR) of \(z). (NOTAUTH, BADSIG): check that tsig_key_name '\(keyName).', tsig_algorithm hmac-sha256 and the secret in ${MAILPLAN_TEST_TSIG_SECRET} match the key on the server\n")
        XCTAssertFalse(r.stderr.contains(wrong))
        XCTAssertEqual(try axfr(z), before)
    }

    /// `--verbose`: the AXFR and the UPDATE, each with its server, key name, outcome and
    /// time, on stderr; the TSIG secret never appears.
    func testCLIVerboseApplyLogsTheTransferAndTheUpdate() throws {
        let z = cliZone
        try reset(z)
        let plan = try writePlan(z).path
        let r = try runMailplan(["apply", plan, "--auto-approve", "--verbose"], env: ["MAILPLAN_TEST_TSIG_SECRET": secret])
        XCTAssertEqual(r.status, 0, r.stderr)
        let ms = try NSRegularExpression(pattern: " in [0-9]+ ms$")
        let lines = r.stderr.split(separator: "\n").map(String.init).filter { $0.hasPrefix("debug mailplan.dns: ") }
            .map { ms.stringByReplacingMatches(in: $0, range: NSRange($0.startIndex..., in: $0), withTemplate: " in N ms") }
        let at = "@\(host):\(port) (tcp, TSIG \(keyName).)"
        XCTAssertEqual(lines, [
            // The zone as reset (SOA, NS, ns1 A, www A, MX, two TXT), the UPDATE, then the
            // transfer that verifies it (three RRsets added: DMARC, DKIM, mail A).
            "debug mailplan.dns: AXFR \(z). \(at) → 7 records in N ms",
            "debug mailplan.dns: UPDATE \(z). (5 prerequisites, 8 updates) \(at) → NOERROR in N ms",
            "debug mailplan.dns: AXFR \(z). \(at) → 10 records in N ms",
        ])
        XCTAssertFalse(r.stderr.contains(secret), "the TSIG secret leaked")
    }

    // MARK: - the adapter directly

    func provider(secret s: String? = nil, key: String? = nil) -> RFC2136Provider {
        RFC2136Provider(name: "bind", address: host, port: port, keyName: key ?? keyName,
                        secret: Secret(value: s ?? secret, variable: "MAILPLAN_BIND_TSIG_SECRET"), timeout: 5)
    }
    func n(_ s: String) -> DomainName { try! DomainName(s) }
    func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
    }

    func testReadZoneExactRRsets() throws {
        let z = providerZone
        try reset(z)
        let sets = try provider().readZone(n(z)).filter { $0.type != .soa }
        XCTAssertEqual(Set(sets), [
            rr("\(z).", .mx, 300, ["10 old-mx.example.net."]),
            rr("\(z).", .txt, 300, ["\"google-site-verification=tok123\"", "\"v=spf1 a -all\""]),
            rr("\(z).", .ns, 3600, ["ns1.\(z)."]),
            rr("ns1.\(z).", .a, 3600, ["127.0.0.1"]),
            rr("www.\(z).", .a, 300, ["192.0.2.80"]),
        ])
    }

    /// A wrong secret at UPDATE time (the read went through with the right key): BADSIG,
    /// nothing applied.
    func testWrongSecretAtUpdateAppliesNothing() throws {
        let z = providerZone
        try reset(z)
        let before = try axfr(z)
        let live = try provider().readZone(n(z))
        let mx = live.first { $0.key == RRsetKey(n(z), .mx) }!
        let cs = ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136", changes: [
            .create(rr("mail.\(z).", .a, 3600, ["192.0.2.25"])),
            .update(from: mx, to: rr("\(z).", .mx, 3600, ["10 mail.\(z)."])),
        ])
        let bad = provider(secret: Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString())
        XCTAssertThrowsError(try bad.apply(cs)) {
            let e = $0 as! ApplyError
            XCTAssertEqual(e.applied, [])
            XCTAssertEqual(e.failed.count, 2)
            // ldns drops the unsigned BADSIG reply and reports "Bogus TSIG signature".
            XCTAssertEqual(e.reason, "the primary \(host):\(port) did not accept the TSIG signature for the update of zone \(z). (Bogus TSIG signature: the reply is not signed with this key): check that tsig_key_name '\(keyName).', tsig_algorithm hmac-sha256 and the secret in ${MAILPLAN_BIND_TSIG_SECRET} match the key on the server; nothing was applied (one UPDATE message is all-or-nothing)")
        }
        XCTAssertEqual(try axfr(z), before)
        XCTAssertThrowsError(try provider(key: "no-such-key").readZone(n(z))) {
            XCTAssertEqual("\($0)", "provider bind: the primary \(host):\(port) does not know TSIG key 'no-such-key.' with algorithm hmac-sha256 (NOTAUTH, BADKEY): check that tsig_key_name 'no-such-key.', tsig_algorithm hmac-sha256 and the secret in ${MAILPLAN_BIND_TSIG_SECRET} match the key on the server")
        }
    }

    /// A change made after the read makes the whole UPDATE fail on its prerequisite instead
    /// of clobbering it, and the create in the same message does not happen either.
    func testConcurrentChangeFailsThePrerequisiteAndAppliesNothing() throws {
        let z = providerZone
        try reset(z)
        let p = provider()
        let live = try p.readZone(n(z))
        let mx = live.first { $0.key == RRsetKey(n(z), .mx) }!
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate add \(z). 300 MX 20 backup.example.net.\nsend\n")
        let before = try axfr(z)
        let cs = ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136", changes: [
            .create(rr("mail.\(z).", .a, 3600, ["192.0.2.25"])),
            .update(from: mx, to: rr("\(z).", .mx, 3600, ["10 mail.\(z)."])),
        ])
        XCTAssertThrowsError(try p.apply(cs)) {
            XCTAssertEqual(($0 as! ApplyError).reason, "a prerequisite of the update of zone \(z). failed (NXRRSET): the zone changed since the plan read it; run plan again; nothing was applied (one UPDATE message is all-or-nothing)")
        }
        XCTAssertEqual(try axfr(z), before)
        XCTAssertTrue(before.contains("\(z). 300 IN MX 20 backup.example.net."))

        // A set created meanwhile where the plan creates one: YXRRSET.
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate add mail.\(z). 60 A 192.0.2.99\nsend\n")
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136",
                                                       changes: [.create(rr("mail.\(z).", .a, 3600, ["192.0.2.25"]))]))) {
            XCTAssertEqual(($0 as! ApplyError).reason, "a prerequisite of the update of zone \(z). failed (YXRRSET): the zone changed since the plan read it; run plan again; nothing was applied (one UPDATE message is all-or-nothing)")
        }
        XCTAssertTrue(try axfr(z).contains("mail.\(z). 60 IN A 192.0.2.99"))
    }

    /// The apex TXT values mailplan does not own (DNS-SD strings, a NUL, bytes that are not
    /// UTF-8, empty strings) come back byte for byte after an UPDATE that changes the SPF
    /// value: checked in BIND's zone transfer (issue 12).
    func testForeignApexValuesAreKeptByteForByte() throws {
        let z = providerZone
        try reset(z)
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: """
            server \(host) \(port)
            zone \(z)
            update add \(z). 300 TXT "txtvers=1" "path=/x" "k=v"
            update add \(z). 300 TXT "a\\000b"
            update add \(z). 300 TXT "caf\\195\\169" "\\255\\128" ""
            update add \(z). 300 TXT ""
            send

            """)
        let p = provider()
        let apex = try p.readZone(n(z)).first { $0.key == RRsetKey(n(z), .txt) }!
        let foreign = apex.rdata.filter { !($0.txtValue?.hasPrefix("v=spf1") ?? false) }
        XCTAssertEqual(foreign.count, 5)
        let after = apex.with(rdata: foreign + [.txt("v=spf1 mx -all")])
        try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136", changes: [.update(from: apex, to: after, shared: true)]))
        let lines = try axfr(z).filter { $0.hasPrefix("\(z). 300 IN TXT ") }.sorted()
        XCTAssertEqual(lines, [
            "\(z). 300 IN TXT \"\"",
            "\(z). 300 IN TXT \"a\\000b\"",
            "\(z). 300 IN TXT \"caf\\195\\169\" \"\\255\\128\" \"\"",
            "\(z). 300 IN TXT \"google-site-verification=tok123\"",
            "\(z). 300 IN TXT \"txtvers=1\" \"path=/x\" \"k=v\"",
            "\(z). 300 IN TXT \"v=spf1 mx -all\"",
        ])
    }

    /// A replace is delete-RRset + add in one message; a delete removes the set; a TTL change goes through.
    func testReplaceAndDeleteInOneMessage() throws {
        let z = providerZone
        try reset(z)
        let p = provider()
        let live = try p.readZone(n(z))
        let txt = live.first { $0.key == RRsetKey(n(z), .txt) }!
        let www = live.first { $0.key == RRsetKey(n("www.\(z)"), .a) }!
        try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136", changes: [
            .update(from: txt, to: rr("\(z).", .txt, 600, ["\"google-site-verification=tok123\"", "\"v=spf1 mx -all\""])),
            .delete(www),
        ]))
        let after = try axfr(z)
        XCTAssertTrue(after.contains("\(z). 600 IN TXT \"v=spf1 mx -all\""), "\(after)")
        XCTAssertTrue(after.contains("\(z). 600 IN TXT \"google-site-verification=tok123\""), "\(after)")
        XCTAssertFalse(after.contains { $0.hasPrefix("www.") })
        XCTAssertFalse(after.contains { $0.contains("v=spf1 a -all") })
    }

    /// BIND answers NOERROR but ignores an A added where a CNAME is: apply reads the zone
    /// back and reports the change that did not take.
    func testSilentlyIgnoredAdditionIsReported() throws {
        let z = providerZone
        try reset(z)
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate add mail.\(z). 300 CNAME www.\(z).\nsend\n")
        let p = provider()
        _ = try p.readZone(n(z))
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136",
                                                       changes: [.create(rr("mail.\(z).", .a, 3600, ["192.0.2.25"]))]))) {
            let e = $0 as! ApplyError
            XCTAssertEqual(e.failed.map(\.key.description), ["mail.\(z). A"])
            XCTAssertEqual(e.reason, "the primary \(host):\(port) answered NOERROR but ignored part of the update (a server drops an addition that conflicts with a CNAME): mail.\(z). A holds nothing")
        }
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate delete mail.\(z). CNAME\nsend\n")
    }

    func testZoneNotServedIsNotAuth() throws {
        XCTAssertThrowsError(try provider().readZone(n("not-served.mailplan.test"))) {
            XCTAssertEqual("\($0)", "provider bind: the primary \(host):\(port) is not authoritative for zone not-served.mailplan.test. (NOTAUTH)")
        }
        XCTAssertThrowsError(try provider().apply(ZoneChangeset(zone: n("not-served.mailplan.test"), provider: "bind", providerType: "rfc2136",
                                                                 changes: [.create(rr("mail.not-served.mailplan.test.", .a, 60, ["192.0.2.1"]))]))) {
            XCTAssertEqual(($0 as! ApplyError).reason, "the primary \(host):\(port) is not authoritative for zone not-served.mailplan.test. (NOTAUTH); nothing was applied (one UPDATE message is all-or-nothing)")
        }
    }
}
