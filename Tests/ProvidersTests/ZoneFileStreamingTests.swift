import Foundation
import MailPlan
import Providers
import XCTest

/// The zone-file adapter on a large generated zone: the managed read keeps exactly the RRsets a
/// plan needs (the rest is read by ldns record by record and dropped), and apply changes the
/// managed lines only, every other byte as it was.
final class ZoneFileStreamingTests: XCTestCase {
    var dir: URL!
    let zone = try! DomainName("example.com")
    static let hosts = 10_000

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zonefile-stream-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func provider() throws -> ZoneFileProvider {
        let config = ProviderConfig(name: "local", type: "zonefile", location: nil,
                                    settings: ["path": PlanValue(text: "example.com.zone", location: nil),
                                               "backup": PlanValue(text: "false", location: nil)],
                                    baseDirectory: dir)
        return try ZoneFileProvider(config: config)
    }

    @discardableResult
    func write(_ text: String) throws -> URL {
        let url = dir.appendingPathComponent("example.com.zone")
        try Data(text.utf8).write(to: url)
        return url
    }

    func name(_ s: String) -> DomainName { try! DomainName(s) }
    func set(_ n: String, _ t: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: name(n), type: t, ttl: ttl, rdata: values.map { try! RData.parse(type: t, $0) })
    }
    func todaySerial() -> UInt32 {
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd"; f.timeZone = TimeZone(identifier: "UTC"); f.locale = Locale(identifier: "en_US_POSIX")
        return UInt32(f.string(from: Date()))! * 100
    }

    static let head = """
        ; generated for ZoneFileStreamingTests
        $TTL 3600
        $ORIGIN example.com.
        @ IN SOA ns1 hostmaster (
                2024010101 ; serial
                7200 3600 1209600 300 )
          IN NS ns1
          IN NS ns2.example.net.
        @ 300 IN MX 10 old-mx.example.net.
        @ IN TXT "google-site-verification=abc"
        @ IN TXT "v=spf1 include:_spf.example.com -all"
        _spf IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
        _dmarc IN TXT "v=DMARC1; p=none"
        mail IN A 192.0.2.25

        """

    /// In the middle of the hosts: a managed name with three types (an inherited owner among
    /// them, one line in capitals), a TXT RRset with two SPF values and one with two DMARC
    /// values (both unmanaged: the differ warns about them), one with a single SPF value (not
    /// needed).
    static let middle = """
        ; the middle
        middle IN A 192.0.2.7
          IN TXT "m"
        MIDDLE IN MX 10 mail
        twospf IN TXT "v=spf1 a -all"
        between IN A 10.9.9.9
        twospf IN TXT "other" "strings"
        twospf IN TXT "V=SPF1 mx -all"
        onespf IN TXT "v=spf1 a -all"
        _dmarc.sub IN TXT "v=DMARC1; p=none"
        _dmarc.sub IN TXT "v=dmarc1; p=reject"

        """

    /// A zone of `hosts` generated owner names (A, AAAA with an inherited owner and a comment,
    /// TXT in two strings, CNAME, SRV, a parenthesised TXT) around ``middle``.
    static func bigZone() -> String {
        var out = head
        for i in 1...hosts {
            if i == hosts / 2 { out += middle }
            if i % 100 == 0 { out += "\n; block \(i / 100)\n" }
            out += "h\(i) IN A 10.\(i >> 16).\((i >> 8) & 255).\(i & 255)\n"
            out += "    IN AAAA 2001:db8::\(String(i, radix: 16)) ; dual stack\n"
            out += "h\(i) 600 IN TXT \"owner=h\(i)\" \"id=\(i)\"\n"
            if i % 3 == 0 { out += "www.h\(i) IN CNAME h\(i)\n" }
            if i % 5 == 0 { out += "_sip._tcp.h\(i) 86400 IN SRV 10 60 5060 h\(i)\n" }
            if i % 17 == 0 { out += "h\(i) IN TXT ( \"multi\"\n        \"line \(i)\" )\n" }
        }
        return out
    }

    var managed: [RRsetKey] {
        [RRsetKey(zone, .mx), RRsetKey(zone, .txt), RRsetKey(name("_dmarc.example.com."), .txt),
         RRsetKey(name("mail.example.com."), .a), RRsetKey(name("mail.example.com."), .aaaa),
         RRsetKey(name("mail2026._domainkey.example.com."), .txt), RRsetKey(name("middle.example.com."), .a)]
    }

    /// Exactly the RRsets the plan needs, with their exact records, in file order: everything
    /// at the managed names and the apex, the `_spf` TXT, and the two unmanaged TXT RRsets
    /// the differ warns about (whole, read in a second pass); nothing else of the 35,000 records.
    func testManagedReadOfALargeZoneIsExactlyTheManagedRRsets() throws {
        try write(Self.bigZone())
        let p = try provider()
        let got = try p.readZone(zone, managed: managed)
        XCTAssertEqual(got, [
            set("example.com.", .soa, 3600, ["ns1.example.com. hostmaster.example.com. 2024010101 7200 3600 1209600 300"]),
            set("example.com.", .ns, 3600, ["ns1.example.com.", "ns2.example.net."]),
            set("example.com.", .mx, 300, ["10 old-mx.example.net."]),
            set("example.com.", .txt, 3600, ["\"google-site-verification=abc\"", "\"v=spf1 include:_spf.example.com -all\""]),
            set("_spf.example.com.", .txt, 3600, ["\"v=spf1 ip4:192.0.2.0/24 -all\""]),
            set("_dmarc.example.com.", .txt, 3600, ["\"v=DMARC1; p=none\""]),
            set("mail.example.com.", .a, 3600, ["192.0.2.25"]),
            set("middle.example.com.", .a, 3600, ["192.0.2.7"]),
            set("middle.example.com.", .txt, 3600, ["\"m\""]),
            set("middle.example.com.", .mx, 3600, ["10 mail.example.com."]),
            set("twospf.example.com.", .txt, 3600, ["\"v=spf1 a -all\"", "\"other\" \"strings\"", "\"V=SPF1 mx -all\""]),
            set("_dmarc.sub.example.com.", .txt, 3600, ["\"v=DMARC1; p=none\"", "\"v=dmarc1; p=reject\""]),
        ])
        // The same RRsets, records and order as the whole read has them.
        let whole = try p.readZone(zone)
        XCTAssertEqual(whole.count, 7 + 7 + Self.hosts * 3 + Self.hosts / 3 + Self.hosts / 5)
        let keys = Set(got.map(\.key))
        XCTAssertEqual(whole.filter { keys.contains($0.key) }, got)
    }

    /// Records elsewhere in a large zone are still checked: one outside the zone, a second SOA
    /// or a record of class CH at a name the plan does not manage fails the managed read as
    /// it fails the whole read, with the same message.
    func testManagedReadStillChecksEveryRecord() throws {
        let p = try provider()
        let file = p.path.path
        let cases: [(String, String)] = [
            ("other.test. IN A 192.0.2.1\n", "provider local: zone file \(file): other.test. A is outside zone example.com."),
            ("sub IN SOA ns1 hostmaster 1 1 1 1 1\n", "provider local: zone file \(file) has more than one SOA record"),
            ("chaos CH TXT \"x\"\n", "provider local: zone file \(file): chaos.example.com. TXT: class CH is not supported (only IN)"),
        ]
        for (bad, message) in cases {
            try write(Self.head + "h1 IN A 192.0.2.1\n" + bad + "h2 IN A 192.0.2.2\n")
            XCTAssertThrowsError(try p.readZone(zone, managed: managed), bad) { e in XCTAssertEqual("\(e)", message) }
            XCTAssertThrowsError(try p.readZone(zone), bad) { e in XCTAssertEqual("\(e)", message) }
        }
    }

    /// Apply to a large zone: the file afterwards is the file before with the managed lines
    /// changed and the serial bumped, every other byte the same (the whole text compared), and
    /// every RRset the plan does not manage reads back exactly as before.
    func testApplyToALargeZoneChangesTheManagedLinesOnly() throws {
        let before = Self.bigZone()
        let url = try write(before)
        let p = try provider()
        let live = Dictionary(uniqueKeysWithValues: try p.readZone(zone, managed: managed).map { ($0.key, $0) })
        let mx = set("example.com.", .mx, 3600, ["10 mail.example.com."])
        let apexTXT = set("example.com.", .txt, 3600, ["\"google-site-verification=abc\"", "\"v=spf1 mx -all\""])
        let dmarc = set("_dmarc.example.com.", .txt, 3600, ["\"v=DMARC1; p=quarantine\""])
        let aaaa = set("mail.example.com.", .aaaa, 3600, ["2001:db8::25"])
        let dkim = set("mail2026._domainkey.example.com.", .txt, 3600, ["\"v=DKIM1; k=rsa; p=AAAA\""])
        let middleA = live[RRsetKey(name("middle.example.com."), .a)]!
        let changes: [Change] = [
            .update(from: live[mx.key]!, to: mx), .update(from: live[apexTXT.key]!, to: apexTXT, shared: true),
            .update(from: live[dmarc.key]!, to: dmarc), .create(aaaa), .create(dkim), .delete(middleA),
        ]
        let wholeBefore = try p.readZone(zone)
        try p.apply(ZoneChangeset(zone: zone, provider: "local", providerType: "zonefile", changes: changes))

        var want = before
        for (old, new) in [
            ("2024010101 ; serial", "\(todaySerial()) ; serial"),
            ("@ 300 IN MX 10 old-mx.example.net.\n", "@ 3600 IN MX 10 mail.example.com.\n"),
            ("@ IN TXT \"v=spf1 include:_spf.example.com -all\"\n", "@ IN TXT \"v=spf1 mx -all\"\n"),
            ("_dmarc IN TXT \"v=DMARC1; p=none\"\n", "_dmarc IN TXT \"v=DMARC1; p=quarantine\"\n"),
            ("mail IN A 192.0.2.25\n", "mail IN A 192.0.2.25\nmail IN AAAA 2001:db8::25\n"),
            // The removed line hands its owner field to the line that inherited it.
            ("middle IN A 192.0.2.7\n  IN TXT \"m\"\n", "middle IN TXT \"m\"\n"),
        ] {
            XCTAssertEqual(want.components(separatedBy: old).count, 2, old)
            want = want.replacingOccurrences(of: old, with: new)
        }
        want += "mail2026._domainkey.example.com. 3600 IN TXT \"v=DKIM1; k=rsa; p=AAAA\"\n"
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), want)

        let changed = Set(changes.map(\.key) + [RRsetKey(zone, .soa)])
        let wholeAfter = try p.readZone(zone)
        XCTAssertEqual(wholeAfter.filter { !changed.contains($0.key) }, wholeBefore.filter { !changed.contains($0.key) })
        XCTAssertEqual(try p.readZone(zone, managed: managed).filter { changed.contains($0.key) && $0.type != .soa },
                       [mx, apexTXT, dmarc, aaaa, dkim])
    }

    /// The re-read before the rename compares every record the plan does not manage with the
    /// first read (a digest per RRset) and names what would change: without a $TTL, a new
    /// line that states a TTL moves the TTL of the unmanaged records after it (RFC 1035 §5.1),
    /// far from the edit in a large file; nothing is written.
    func testAnEditThatWouldMoveAnUnmanagedRecordIsRefusedByName() throws {
        var text = "@ 300 IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\n  NS ns1\nmail 600 A 192.0.2.25\n"
        for i in 1...2_000 { text += "h\(i) 600 A 10.0.\(i >> 8).\(i & 255)\n" }
        text += "_dmarc TXT \"v=DMARC1; p=none\"\nlast A 192.0.2.1\n"
        let url = try write(text)
        let p = try provider()
        let live = Dictionary(uniqueKeysWithValues: try p.readZone(zone).map { ($0.key, $0) })
        XCTAssertEqual(live[RRsetKey(name("last.example.com."), .a)]?.ttl, 600)
        let dmarcKey = RRsetKey(name("_dmarc.example.com."), .txt)
        let change = Change.update(from: live[dmarcKey]!, to: set("_dmarc.example.com.", .txt, 3600, ["\"v=DMARC1; p=quarantine\""]))
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: zone, provider: "local", providerType: "zonefile", changes: [change]))) { e in
            XCTAssertEqual((e as? ApplyError)?.reason, "the edited zone text would not read back as planned at last.example.com. A; the edit would also change last.example.com. A, which the plan does not manage (the file has no $TTL, so a record without a TTL takes the last TTL stated before it, RFC 1035 §5.1: add a $TTL line); nothing was applied and \(p.path.path) is unchanged")
        }
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), text)
    }
}
