import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

final class ZoneFileTests: XCTestCase {
    var dir: URL!
    let zone = try! DomainName("example.com")

    static let zoneText = """
        ; a hand-written zone
        $TTL 3600
        $ORIGIN example.com.
        @       IN SOA ns1 hostmaster 2024010101 7200 3600 1209600 300
                IN NS  ns1
                IN NS  ns2.example.net.
        @   300 IN MX  10 mail
        @       IN TXT "google-site-verification=abc123"
        mail    IN A    192.0.2.25
        mail    IN AAAA 2001:DB8:0:0::25
        _dmarc  IN TXT "v=DMARC1; " "p=quarantine"
        *.wild  IN A    192.0.2.80
        ns1     IN A    192.0.2.53
        $ORIGIN sub.example.com.
        www 600 IN CNAME @

        """

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zonefile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: helpers

    func provider(_ settings: [String: String] = [:], file: String = "example.com.zone") throws -> ZoneFileProvider {
        var s = ["path": file].merging(settings) { _, b in b }
        s = s.filter { !$0.value.isEmpty }
        let config = ProviderConfig(name: "local", type: "zonefile", location: nil,
                                    settings: s.mapValues { PlanValue(text: $0, location: nil) }, baseDirectory: dir)
        return try ZoneFileProvider(config: config)
    }

    @discardableResult
    func write(_ text: String, to file: String = "example.com.zone") throws -> URL {
        let url = dir.appendingPathComponent(file)
        try Data(text.utf8).write(to: url)
        return url
    }

    func name(_ s: String) -> DomainName { try! DomainName(s) }
    func set(_ n: String, _ t: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: name(n), type: t, ttl: ttl, rdata: values.map { try! RData.parse(type: t, $0) })
    }
    func byKey(_ sets: [RRset]) -> [RRsetKey: RRset] { Dictionary(uniqueKeysWithValues: sets.map { ($0.key, $0) }) }
    func changeset(_ changes: [Change]) -> ZoneChangeset {
        ZoneChangeset(zone: zone, provider: "local", providerType: "zonefile", changes: changes)
    }

    var expected: [RRset] {
        [
            set("example.com.", .soa, 3600, ["ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"]),
            set("example.com.", .ns, 3600, ["ns1.example.com.", "ns2.example.net."]),
            set("example.com.", .mx, 300, ["10 mail.example.com."]),
            set("example.com.", .txt, 3600, ["\"google-site-verification=abc123\""]),
            set("mail.example.com.", .a, 3600, ["192.0.2.25"]),
            set("mail.example.com.", .aaaa, 3600, ["2001:db8::25"]),
            set("_dmarc.example.com.", .txt, 3600, ["\"v=DMARC1; \" \"p=quarantine\""]),
            set("*.wild.example.com.", .a, 3600, ["192.0.2.80"]),
            set("ns1.example.com.", .a, 3600, ["192.0.2.53"]),
            set("www.sub.example.com.", .cname, 600, ["sub.example.com."]),
        ]
    }

    func todaySerial() -> UInt32 {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd"; f.timeZone = TimeZone(identifier: "UTC"); f.locale = Locale(identifier: "en_US_POSIX")
        return UInt32(f.string(from: Date()))! * 100
    }

    func leftovers() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("mailplan-") }
    }

    // MARK: settings

    func testSettings() throws {
        let p = try provider()
        XCTAssertEqual(p.path.path, dir.appendingPathComponent("example.com.zone").standardizedFileURL.path)
        XCTAssertTrue(p.backup)
        XCTAssertFalse(try provider(["backup": "false"]).backup)
        XCTAssertThrowsError(try provider(["bakup": "false"])) { e in
            XCTAssertTrue("\(e)".contains("did you mean 'backup'"), "\(e)")
        }
        XCTAssertThrowsError(try provider(file: "")) { e in XCTAssertTrue("\(e)".contains("'path'"), "\(e)") }
        XCTAssertEqual(p.capabilities.ttlRange, 0...2_147_483_647)
        XCTAssertEqual(p.capabilities.applyMode, .atomic)
        XCTAssertEqual(p.capabilities.applyMode, .atomic)
        XCTAssertEqual(p.capabilities.supportedTypes, Set(RRType.modelled))
        let viaRegistry = try ProviderRegistry.make(ProviderConfig(name: "z", type: "zonefile", location: nil,
            settings: ["path": PlanValue(text: "/x.zone", location: nil)], baseDirectory: dir))
        XCTAssertEqual(viaRegistry.typeName, "zonefile")
    }

    // MARK: reading

    func testReadExactRRsets() throws {
        try write(Self.zoneText)
        let got = try provider().readZone(zone)
        XCTAssertEqual(got.count, expected.count)
        XCTAssertEqual(byKey(got), byKey(expected))
        let dmarc = byKey(got)[RRsetKey(name("_dmarc.example.com."), .txt)]!
        // Two character-strings in the file stay two strings (their logical value is one DMARC record).
        XCTAssertEqual(dmarc.rdata, [.txt(TXTData(strings: [Array("v=DMARC1; ".utf8), Array("p=quarantine".utf8)]))])
        XCTAssertEqual(dmarc.rdata[0].txtValue, "v=DMARC1; p=quarantine")
        XCTAssertEqual(byKey(got)[RRsetKey(name("mail.example.com."), .aaaa)]!.rdata.first?.presentation, "2001:db8::25")
    }

    func testDefaultTTLWithoutDollarTTLAndMixedTTLs() throws {
        try write("""
            example.com. IN SOA ns1.example.com. h.example.com. 7 1 1 1 1
            example.com. IN NS ns1.example.com.
            a 60 IN A 192.0.2.1
            a 30 IN A 192.0.2.2

            """)
        let got = byKey(try provider().readZone(zone))
        XCTAssertEqual(got[RRsetKey(zone, .ns)]!.ttl, 3600)
        XCTAssertEqual(got[RRsetKey(name("a.example.com."), .a)], set("a.example.com.", .a, 30, ["192.0.2.1", "192.0.2.2"]))
    }

    func testMissingFile() throws {
        XCTAssertThrowsError(try provider(file: "nope.zone").readZone(zone)) { e in
            XCTAssertTrue(e is ProviderError)
            XCTAssertTrue("\(e)".contains(self.dir.appendingPathComponent("nope.zone").path), "\(e)")
        }
    }

    func testSyntaxErrorNamesFileAndLine() throws {
        var lines = Self.zoneText.components(separatedBy: "\n")
        lines[8] = "mail    IN A    192.0.2.999"     // line 9
        let url = try write(lines.joined(separator: "\n"))
        let before = try Data(contentsOf: url)
        let p = try provider()
        XCTAssertThrowsError(try p.readZone(zone)) { e in
            XCTAssertTrue(e is ProviderError)
            let msg = "\(e)"
            XCTAssertTrue(msg.contains(url.path), msg)
            XCTAssertTrue(msg.contains("line 9:"), msg)
        }
        let change = Change.create(set("new.example.com.", .a, 300, ["192.0.2.9"]))
        XCTAssertThrowsError(try p.apply(changeset([change]))) { e in
            XCTAssertTrue(e is ApplyError, "\(e)")
            XCTAssertTrue("\(e)".contains("line 9:"), "\(e)")
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + ".bak"))
    }

    func testBadInputIsAnErrorNotACrash() throws {
        let p = try provider()
        let cases: [(String, String)] = [
            ("", "no SOA"),
            ("www IN A 192.0.2.1\n", "no SOA"),
            ("example.org. IN SOA ns1.example.org. h.example.org. 1 1 1 1 1\n", "holds zone example.org."),
            ("@ IN SOA ns1 h 1 1 1 1 1\nother.test. IN A 192.0.2.1\n", "outside zone"),
            ("@ IN SOA ns1 h 1 1 1 1 1\n@ IN MX ten mail\n", "line 2:"),
            ("@ IN SOA ns1 h 1 1 1 1 1\nbad\\032name IN A 192.0.2.1\n", "owner bad\\032name"),
            ("\u{1}\u{2}garbage(((\n", "zone file"),
        ]
        for (text, fragment) in cases {
            try write(text)
            XCTAssertThrowsError(try p.readZone(zone), text) { e in
                XCTAssertTrue(e is ProviderError, "\(e)")
                XCTAssertTrue("\(e)".contains(fragment), "\(text) → \(e)")
            }
        }
    }

    // MARK: applying

    func testApplyCreateUpdateDelete() throws {
        let url = try write(Self.zoneText)
        let p = try provider()
        let live = byKey(try p.readZone(zone))
        let dkimValue = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        XCTAssertEqual(dkimValue.utf8.count, 410)
        let dkim = RRset(name: name("mail2026._domainkey.example.com."), type: .txt, ttl: 3600, rdata: [.txt(dkimValue)])
        let mtaSts = set("_mta-sts.example.com.", .txt, 3600, ["\"v=STSv1; id=20260101\""])
        let oldMX = live[RRsetKey(zone, .mx)]!
        let newMX = set("example.com.", .mx, 3600, ["10 mail.example.com.", "20 backup.example.net."])
        let wildcard = live[RRsetKey(name("*.wild.example.com."), .a)]!
        let changes: [Change] = [.create(dkim), .create(mtaSts), .update(from: oldMX, to: newMX), .delete(wildcard)]
        try p.apply(changeset(changes))

        let after = byKey(try p.readZone(zone))
        var want = live
        want[dkim.key] = dkim; want[mtaSts.key] = mtaSts; want[newMX.key] = newMX; want[wildcard.key] = nil
        let soaKey = RRsetKey(zone, .soa)
        want[soaKey] = set("example.com.", .soa, 3600,
                           ["ns1.example.com. hostmaster.example.com. \(todaySerial()) 7200 3600 1209600 300"])
        XCTAssertEqual(after, want)
        // Unrelated RRsets are identical.
        for (k, v) in live where ![dkim.key, mtaSts.key, newMX.key, wildcard.key, soaKey].contains(k) {
            XCTAssertEqual(after[k], v)
        }
        XCTAssertEqual(after[dkim.key]!.rdata, [.txt(dkimValue)])

        // The backup is the old file, byte for byte; no temporary files are left behind.
        XCTAssertEqual(try String(contentsOf: URL(fileURLWithPath: url.path + ".bak"), encoding: .utf8), Self.zoneText)
        XCTAssertEqual(try leftovers(), [])

        // Edited in place: the changed lines only (the MX replaced in its own layout and the
        // second MX after it, the wildcard line gone, the serial bumped where it stands); new
        // owners at the end with absolute names; the DKIM TXT as 255 + 155 bytes.
        let text = try String(contentsOf: url, encoding: .utf8)
        let key = String(repeating: "A", count: 392)
        XCTAssertEqual(text, """
            ; a hand-written zone
            $TTL 3600
            $ORIGIN example.com.
            @       IN SOA ns1 hostmaster \(todaySerial()) 7200 3600 1209600 300
                    IN NS  ns1
                    IN NS  ns2.example.net.
            @   3600 IN MX  10 mail.example.com.
            @   3600 IN MX  20 backup.example.net.
            @       IN TXT "google-site-verification=abc123"
            mail    IN A    192.0.2.25
            mail    IN AAAA 2001:DB8:0:0::25
            _dmarc  IN TXT "v=DMARC1; " "p=quarantine"
            ns1     IN A    192.0.2.53
            $ORIGIN sub.example.com.
            www 600 IN CNAME @
            mail2026._domainkey.example.com. 3600 IN TXT "v=DKIM1; k=rsa; p=\(key.prefix(255 - 18))" "\(key.dropFirst(255 - 18))"
            _mta-sts.example.com. 3600 IN TXT "v=STSv1; id=20260101"

            """)
    }

    func testApplyWithoutBackupAndTwiceInADay() throws {
        let url = try write(Self.zoneText)
        let p = try provider(["backup": "false"])
        let change = Change.create(set("new.example.com.", .a, 0, ["192.0.2.9"]))
        try p.apply(changeset([change]))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + ".bak"))
        XCTAssertEqual(byKey(try p.readZone(zone))[change.key], change.after)
        // A second apply the same day bumps the serial by one.
        try p.apply(changeset([.delete(change.after!)]))
        let after = byKey(try p.readZone(zone))
        XCTAssertNil(after[change.key])
        let soa = after[RRsetKey(zone, .soa)]!.rdata[0].presentation
        XCTAssertTrue(soa.contains(" \(todaySerial() + 1) "), soa)
    }

    func testApplyKeepsModeAndFollowsSymlink() throws {
        let real = try write(Self.zoneText, to: "real.zone")
        XCTAssertEqual(chmod(real.path, 0o640), 0)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("example.com.zone").path,
                                                   withDestinationPath: real.path)
        let p = try provider()
        let empty = RRset(name: name("empty.example.com."), type: .txt, ttl: 0, rdata: [.txt("")])
        try p.apply(changeset([.create(empty)]))
        XCTAssertEqual(byKey(try p.readZone(zone))[empty.key], empty)
        let attrs = try FileManager.default.attributesOfItem(atPath: real.path)
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o640)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: p.path.path), real.path)
        XCTAssertEqual(try String(contentsOf: URL(fileURLWithPath: real.path + ".bak"), encoding: .utf8), Self.zoneText)
    }

    func testStaleApplyChangesNothing() throws {
        let url = try write(Self.zoneText)
        let p = try provider()
        let live = byKey(try p.readZone(zone))
        let staleBefore = set("example.com.", .mx, 300, ["10 old.example.com."])
        let update = Change.update(from: staleBefore, to: set("example.com.", .mx, 300, ["10 mail2.example.com."]))
        let createExisting = Change.create(set("mail.example.com.", .a, 3600, ["192.0.2.26"]))
        let fine = Change.create(set("fine.example.com.", .a, 3600, ["192.0.2.27"]))
        for changes in [[update], [createExisting], [fine, update]] {
            XCTAssertThrowsError(try p.apply(changeset(changes))) { e in
                guard let e = e as? ApplyError else { return XCTFail("\(e)") }
                XCTAssertTrue(e.reason.contains("changed since the plan was made"), e.reason)
                XCTAssertEqual(e.applied, [])
                XCTAssertEqual(e.failed.count, 1)
            }
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), Self.zoneText)
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path + ".bak"))
        XCTAssertEqual(try leftovers(), [])
        XCTAssertEqual(byKey(try p.readZone(zone)), live)
    }

    func testInvalidChangesAreRefusedBeforeWriting() throws {
        let url = try write(Self.zoneText)
        let p = try provider()
        let bad: [Change] = [
            .create(RRset(name: name("x.example.com."), type: RRType("SSHFP"), ttl: 60,
                          rdata: [.other(type: RRType("SSHFP"), presentation: "1 1 zz-not-hex")])),
            .create(set("elsewhere.test.", .a, 60, ["192.0.2.1"])),
            .create(set("example.com.", .soa, 60, ["a. b. 1 1 1 1 1"])),
        ]
        for c in bad {
            XCTAssertThrowsError(try p.apply(changeset([c]))) { e in
                guard let e = e as? ApplyError else { return XCTFail("\(e)") }
                XCTAssertEqual(e.failed, [c], e.reason)
            }
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), Self.zoneText)
        XCTAssertEqual(try leftovers(), [])
    }

    func testNextSerial() {
        let day = DateComponents(calendar: Calendar(identifier: .gregorian), timeZone: TimeZone(identifier: "UTC"),
                                 year: 2025, month: 11, day: 29, hour: 23).date!
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 42, now: day), 43)
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 4_294_967_295, now: day), 0)
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 2024010101, now: day), 2025112900)
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 2025112900, now: day), 2025112901)
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 2099010101, now: day), 2099010102)
        XCTAssertEqual(ZoneFileProvider.nextSerial(after: 1700000000, now: day), 1700000001) // unixtime-like
    }
}

/// The owner of a zone file survived an apply only as mode bits; a file owned by the name
/// server's user must stay its user's (failing input of a fixed bug).
final class ZoneFileOwnerTests: XCTestCase {
    func testApplyKeepsTheFileOwner() throws {
        guard getuid() == 0 else { throw XCTSkip("changing a file's owner needs root") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-owner-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("example.com.zone")
        try "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 2026010101 7200 3600 1209600 3600\n@ 3600 IN NS ns1\nns1 3600 IN A 192.0.2.53\n"
            .write(to: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chown(path.path, 1234, 2345), 0)
        XCTAssertEqual(chmod(path.path, 0o640), 0)
        let config = ProviderConfig(name: "z", type: "zonefile", location: nil,
                                    settings: ["path": PlanValue(text: path.path, location: nil)], baseDirectory: dir)
        let p = try ZoneFileProvider(config: config)
        let zone = try DomainName("example.com")
        let a = RRset(name: try DomainName("mail.example.com"), type: .a, ttl: 3600, rdata: [.a(IPv4Address("192.0.2.25")!)])
        try p.apply(ZoneChangeset(zone: zone, provider: "z", providerType: "zonefile", changes: [.create(a)]))
        var st = stat()
        XCTAssertEqual(stat(path.path, &st), 0)
        XCTAssertEqual([st.st_uid, st.st_gid], [1234, 2345])
        XCTAssertEqual(st.st_mode & 0o7777, 0o640)
        XCTAssertTrue(try p.readZone(zone).contains(a))
    }
}

/// `validate` did not notice a missing zone file; the first read did (failing input of a fix).
final class ZoneFileAuditTests: XCTestCase {
    func testValidateReportsAMissingZoneFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-audit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let plan = try PlanLoader(environment: [:]).load(text: """
            version: 1
            server: {hostname: mail.example.com, ipv4: 192.0.2.25}
            providers:
              local: {type: zonefile, path: missing.zone}
            domains: [{name: example.com}]
            """, file: "p.yaml", baseDirectory: dir)
        XCTAssertThrowsError(try Engine(plan: plan, now: Date(), makeProvider: ProviderRegistry.make).validate()) { e in
            XCTAssertEqual("\(e)", "p.yaml:4:33: error: providers.local.path: \(dir.appendingPathComponent("missing.zone").standardizedFileURL.path) does not exist; give the master file of zone example.com. (RFC 1035 §5)")
        }
    }
}
