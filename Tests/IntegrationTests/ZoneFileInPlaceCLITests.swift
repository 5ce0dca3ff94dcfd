import Foundation
import MailPlan
import Providers
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import MailPlanTestSupport

/// A hand-kept zone file is edited in place by `apply` (issue 12): only the lines of the
/// records that change, the serial where it stands; comments, directives, layout and every
/// other record byte for byte.
final class ZoneFileInPlaceCLITests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("zf-inplace-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    static let handWritten = #"""
        ; example.org -- kept by hand in git
        $TTL 3600
        $ORIGIN example.org.
        @   IN  SOA   ns1.example.org. hostmaster.example.org. (
                      2026010101 ; serial
                      7200       ; refresh
                      3600       ; retry
                      1209600    ; expire
                      300 )      ; minimum

        ; name servers
                    IN  NS    ns1
                    IN  NS    ns2.example.net.
        @           IN  MX    20   old-mx.example.net. ; the old relay
        @   3600    IN  TXT   "v=spf1 a -all"   ; managed by mailplan
                    IN  TXT   "txtvers=1" "path=/x" "k=v"
        @           IN  TXT   "a\000b"
        @           IN  TXT   "caf\195\169" "\255\128" ""
        @           IN  TXT   ""
        @           IN  TXT   "google-site-verification=tok123"
        ns1         IN  A     192.0.2.53
        mail        IN  A     192.0.2.25
        _dmarc      IN  TXT   "v=DMARC1; p=none"
        www   300   IN  CNAME  @     ; web

        $ORIGIN sub.example.org.
        host        IN  A     192.0.2.99

        """#

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        let u = dir.appendingPathComponent(name)
        try Data(text.utf8).write(to: u)
        return u
    }

    func plan(_ extra: String = "") throws -> String {
        try write("plan.yaml", """
            version: 1
            server: {hostname: mail.example.org, ipv4: 192.0.2.25, ipv6: 2001:db8::25}
            providers:
              local: {type: zonefile, path: example.org.zone}
            domains:
              - name: example.org
                provider: local
                spf: {senders: [mx]}
                dmarc: {policy: quarantine}
            \(extra)
            """).path
    }

    /// `diff old new` (diffutils), as a reviewer reads the change.
    func diff(_ a: URL, _ b: URL) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/diff")
        p.arguments = [a.path, b.path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let d = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: d, as: UTF8.self)
    }

    func testApplyChangesOnlyTheChangedLinesAndTheSerial() throws {
        let zone = try write("example.org.zone", Self.handWritten)
        let old = try write("old.zone", Self.handWritten)
        let planPath = try plan()
        let apply = try runMailplan(["apply", planPath, "--auto-approve", "--no-color"], env: ["MAILPLAN_NOW": "2026-12-01"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 1 added, 3 changed, 0 destroyed.\n"), apply.stdout)
        let serial = ZoneFileProvider.nextSerial(after: 2026010101, now: Date())
        XCTAssertEqual(try diff(old, zone), """
            5c5
            <               2026010101 ; serial
            ---
            >               \(serial) ; serial
            14,15c14,15
            < @           IN  MX    20   old-mx.example.net. ; the old relay
            < @   3600    IN  TXT   "v=spf1 a -all"   ; managed by mailplan
            ---
            > @           IN  MX    10 mail.example.org. ; the old relay
            > @   3600    IN  TXT   "v=spf1 mx -all"   ; managed by mailplan
            23c23,24
            < _dmarc      IN  TXT   "v=DMARC1; p=none"
            ---
            > mail        IN  AAAA     2001:db8::25
            > _dmarc      IN  TXT   "v=DMARC1; p=quarantine"

            """)
        // The backup is the old file byte for byte; a second plan is a no-op.
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: zone.path + ".bak")), Data(Self.handWritten.utf8))
        let again = try runMailplan(["plan", planPath, "--detailed-exitcode"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
    }

    /// Removing a record whose owner the next line inherits hands the owner field on, so the
    /// next record keeps its owner (and ldns reads back exactly the planned RRsets).
    func testRemovingALineWhoseOwnerTheNextLineInheritsKeepsThatOwner() throws {
        let text = """
            $ORIGIN example.org.
            @ 3600 IN SOA ns1 hostmaster 7 7200 3600 1209600 300
              3600 IN NS ns1.example.net.
            mail 3600 IN A 192.0.2.99
                 3600 IN AAAA 2001:db8::99
            selector1._domainkey 3600 IN TXT "v=DKIM1; k=rsa; p="
                 3600 IN SPF "kept"

            """
        let zone = try write("example.org.zone", text)
        let p = try ZoneFileProvider(config: ProviderConfig(name: "z", type: "zonefile", location: nil,
            settings: ["path": PlanValue(text: zone.path, location: nil)], baseDirectory: dir))
        let z = try DomainName("example.org")
        let live = Dictionary(uniqueKeysWithValues: try p.readZone(z).map { ($0.key, $0) })
        let a = live[RRsetKey(try DomainName("mail.example.org"), .a)]!
        let dkim = live[RRsetKey(try DomainName("selector1._domainkey.example.org"), .txt)]!
        try p.apply(ZoneChangeset(zone: z, provider: "z", providerType: "zonefile", changes: [.delete(a), .delete(dkim)]))
        XCTAssertEqual(try String(contentsOf: zone, encoding: .utf8), """
            $ORIGIN example.org.
            @ 3600 IN SOA ns1 hostmaster 8 7200 3600 1209600 300
              3600 IN NS ns1.example.net.
            mail 3600 IN AAAA 2001:db8::99
            selector1._domainkey 3600 IN SPF "kept"

            """)
        let after = Dictionary(uniqueKeysWithValues: try p.readZone(z).map { ($0.key, $0) })
        XCTAssertEqual(after[RRsetKey(try DomainName("mail.example.org"), .aaaa)]?.rdata.map(\.presentation), ["2001:db8::99"])
        XCTAssertEqual(after[RRsetKey(try DomainName("selector1._domainkey.example.org"), RRType("SPF"))]?.rdata.map(\.presentation), ["\"kept\""])
    }

    /// `$INCLUDE` of a file in the zone file's directory is read; a change to one of its
    /// records is refused naming the file; an include outside the directory is refused.
    func testIncludedFilesAreReadNeverWritten() throws {
        try write("example.org.zone", """
            $ORIGIN example.org.
            @ 3600 IN SOA ns1 hostmaster 7 7200 3600 1209600 300
            @ 3600 IN NS ns1.example.net.
            $INCLUDE mail.inc ; the mail records
            www 3600 IN A 192.0.2.80

            """)
        let inc = try write("mail.inc", "@ 3600 IN MX 10 mail.example.org.\nmail 3600 IN A 192.0.2.25\nmail 3600 IN AAAA 2001:db8::25\n@ 3600 IN TXT \"v=spf1 a -all\"\n")
        let planPath = try plan()
        let r = try runMailplan(["plan", planPath, "--no-color"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, """
            mailplan will perform the following actions:

              # zone example.org. (provider local, zonefile)
              + _dmarc.example.org. TXT ttl 3600
                  + "v=DMARC1; p=quarantine"
              ~ example.org. TXT ttl 3600
                  - "v=spf1 a -all"
                  + "v=spf1 mx -all"

            Plan: 1 to add, 1 to change, 0 to destroy.

            """)
        let apply = try runMailplan(["apply", planPath, "--auto-approve", "--no-color"])
        XCTAssertEqual(apply.status, 1)
        XCTAssertTrue(apply.stderr.contains("error: provider local, zone example.org.: example.org. TXT: a record to change is in the included file \(inc.resolvingSymlinksInPath().path); mailplan does not edit included files: move it into \(dir.appendingPathComponent("example.org.zone").path) or keep it out of the plan; nothing was applied"), apply.stderr)

        try write("example.org.zone", "$ORIGIN example.org.\n@ 3600 IN SOA ns1 hostmaster 7 7200 3600 1209600 300\n$INCLUDE /etc/hostname\n")
        let outside = try runMailplan(["plan", planPath])
        XCTAssertEqual(outside.status, 1)
        XCTAssertEqual(outside.stderr, "error: provider local: zone file \(dir.appendingPathComponent("example.org.zone").path), line 3: $INCLUDE /etc/hostname is outside \(dir.resolvingSymlinksInPath().path); mailplan reads included files only from the zone file's directory\n")
    }

    /// A FIFO given as the zone file or the plan file is named as what it is, without being
    /// opened (opening a FIFO would wait for a writer).
    func testAFIFOIsNamedNotOpened() throws {
        let fifo = dir.appendingPathComponent("example.org.zone")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        let planPath = try plan()
        let r = try runMailplan(["plan", planPath])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "\(planPath):4:33: error: providers.local.path: \(fifo.path) is a FIFO (named pipe); give the master file of zone example.org. (RFC 1035 §5)\n")
        let asPlan = try runMailplan(["validate", fifo.path])
        XCTAssertEqual(asPlan.status, 1)
        XCTAssertEqual(asPlan.stderr, "error: \(fifo.path): cannot read the plan file (it is a FIFO (named pipe), not a regular file)\n")
    }

    /// The plan reads only the managed names of a zone file (streamed), yet still warns about
    /// an unmanaged TXT RRset with two SPF values and a `_dmarc` one with two DMARC values,
    /// records apart in the file: those are read whole in a second pass over the same bytes.
    func testUnmanagedRecordsThatBreakMailAreStillWarnedAbout() throws {
        try write("example.org.zone", """
            $TTL 3600
            @ IN SOA ns1 hostmaster 5 7200 3600 1209600 3600
              IN NS ns1
            @ TXT "v=spf1 a -all"
            mail A 192.0.2.25
             AAAA 2001:db8::25
            _dmarc TXT "v=DMARC1; p=quarantine"
            legacy TXT "v=spf1 a -all"
            other A 192.0.2.1
            legacy TXT "v=spf1 mx -all"
            single TXT "v=spf1 -all"
            _dmarc.shop TXT "v=DMARC1; p=none"
            _dmarc.shop TXT "v=DMARC1; p=reject"

            """)
        let r = try runMailplan(["plan", try plan(), "--no-color"])
        XCTAssertEqual(r.status, 0)
        XCTAssertEqual(r.stderr, """
            warning: legacy.example.org. TXT holds 2 SPF records ("v=spf1 a -all", "v=spf1 mx -all"); receivers treat that as a permerror (RFC 7208 §4.5). Add spf: for this domain to let mailplan manage it.
            warning: _dmarc.shop.example.org. TXT holds 2 DMARC records; receivers then apply no DMARC policy at all (RFC 7489 §6.6.3). Add dmarc: for this domain to let mailplan manage it.

            """)
    }

    // MARK: - failing inputs found by attacking the editor (each was wrong before its fix)

    /// Writes `zone` as example.org.zone, applies the base plan, and returns apply's exit code,
    /// its stderr and `diff old new`; a successful apply must be followed by a no-op plan.
    func applied(_ zone: String, files: [String: String] = [:]) throws -> (status: Int32, stderr: String, diff: String) {
        let z = try write("example.org.zone", zone)
        let old = try write("old.zone", zone)
        for (name, text) in files {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(name).deletingLastPathComponent(), withIntermediateDirectories: true)
            try write(name, text)
        }
        let planPath = try plan()
        let r = try runMailplan(["apply", planPath, "--auto-approve", "--no-color"], env: ["MAILPLAN_NOW": "2026-12-01"])
        if r.status == 0 {
            let again = try runMailplan(["plan", planPath, "--detailed-exitcode"])
            XCTAssertEqual(again.status, 0, again.stdout)
        }
        return (r.status, r.stderr, try diff(old, z))
    }

    let head = "$TTL 3600\n@ IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\n  IN NS ns1\n"
    let serialDiff = "2c2\n< @ IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\n---\n> @ IN SOA ns1 hostmaster 6 7200 3600 1209600 3600\n"
    let mailSet = "mail A 192.0.2.25\n AAAA 2001:db8::25\n_dmarc TXT \"v=DMARC1; p=quarantine\"\n"

    /// Blank lines after a changed record stay (ldns reads past them; they are not its text).
    func testBlankLinesAfterAChangedRecordStay() throws {
        let r = try applied(head + "  MX 10 mail\n@ TXT \"v=spf1 a -all\"\n\n\n; section: hosts\n" + mailSet)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.diff, serialDiff + "5c5\n< @ TXT \"v=spf1 a -all\"\n---\n> @ TXT \"v=spf1 mx -all\"\n")
    }

    /// In the shared apex TXT, a foreign line with another TTL and a duplicate foreign line are
    /// left exactly as they are; only the SPF line changes.
    func testForeignApexLinesWithOtherTTLsOrTwiceStayAsTheyAre() throws {
        let r = try applied(head + "  MX 10 mail\n@ 300 TXT \"v=spf1 a -all\"\n@ TXT \"foreign\\065\" ; keep me\n@ TXT \"foreign\\065\" ; twice\n" + mailSet)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.diff, serialDiff + "5c5\n< @ 300 TXT \"v=spf1 a -all\"\n---\n> @ 300 TXT \"v=spf1 mx -all\"\n")
    }

    /// Without $TTL a record without a TTL takes the last TTL stated (RFC 1035 §5.1, as BIND
    /// reads it): an edit that would change the TTL of a record the plan does not manage is
    /// refused, saying why, and nothing is written.
    func testWithoutDollarTTLAnEditThatMovesAnotherRecordsTTLIsRefused() throws {
        let zone = "@ 300 IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\n  NS ns1\n@ 300 TXT \"v=spf1 a -all\"\nmail 600 A 192.0.2.25\n AAAA 2001:db8::25\n_dmarc TXT \"v=DMARC1; p=quarantine\"\nns1 A 192.0.2.1\n"
        let r = try applied(zone)
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("the edit would also change ns1.example.org. A, which the plan does not manage (the file has no $TTL, so a record without a TTL takes the last TTL stated before it, RFC 1035 §5.1: add a $TTL line); nothing was applied"), r.stderr)
        XCTAssertEqual(r.diff, "")
        // And the TTLs read are BIND's: the AAAA without a TTL after `mail 600 A` is 600, not 3600.
        let plan = try runMailplan(["plan", try plan(), "--no-color"])
        XCTAssertTrue(plan.stdout.contains("~ mail.example.org. AAAA ttl 600 -> 3600"), plan.stdout)
    }

    /// Parentheses around a record's fields, CRLF line breaks and a one-line parenthesised
    /// record's comment: the edited lines stay balanced and in the file's line-break style.
    func testParenthesesAndCRLF() throws {
        let zone = "$TTL 3600\r\n@ IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\r\n  IN NS ns1\r\n@ ( TXT \"v=spf1 a -all\" )\r\n@ 3600 (\r\n   IN MX 10 old.example.net. )\r\n@ TXT ( \"x\" ) ; keep this comment\r\n" + mailSet.replacingOccurrences(of: "\n", with: "\r\n")
        let r = try applied(zone)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.diff, "2c2\n< @ IN SOA ns1 hostmaster 5 7200 3600 1209600 3600\r\n---\n> @ IN SOA ns1 hostmaster 6 7200 3600 1209600 3600\r\n4,6c4,5\n< @ ( TXT \"v=spf1 a -all\" )\r\n< @ 3600 (\r\n<    IN MX 10 old.example.net. )\r\n---\n> @ TXT \"v=spf1 mx -all\"\r\n> @ 3600 IN MX 10 mail.example.org.\r\n")
    }

    /// A foreign apex value in an included file does not block the SPF change in the zone
    /// file; a $TTL set in the included file carries on after it, as in BIND.
    func testIncludedForeignValueAndItsTTL() throws {
        let r = try applied(head + mailSet + "$INCLUDE sub/spf.inc\n@ TXT \"v=spf1 a -all\"\n",
                            files: ["sub/spf.inc": "@ TXT \"google-site-verification=zzz\"\n$TTL 60\n"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // The SPF line's TTL is 60 (the included $TTL), the set's too, so it stays without a TTL;
        // the new MX after it states its 3600.
        XCTAssertEqual(r.diff, serialDiff + "8c8,9\n< @ TXT \"v=spf1 a -all\"\n---\n> @ TXT \"v=spf1 mx -all\"\n> @ 3600 MX 10 mail.example.org.\n")
    }
}
