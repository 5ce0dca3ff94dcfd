import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// The read-by-query fallback against the real BIND zone that refuses every transfer
/// (`MAILPLAN_BIND_NOXFR_ZONE`, `allow-transfer { none; }`, updates allowed with the key).
/// The zone is checked with `dig` queries (BIND's own tool), not with the adapter.
extension RFC2136BINDTests {
    func noTransferZone() throws -> String {
        let env = ProcessInfo.processInfo.environment
        guard let z = env["MAILPLAN_BIND_NOXFR_ZONE"], !z.isEmpty else {
            throw missingServer("MAILPLAN_BIND_NOXFR_ZONE not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env")
        }
        return z
    }

    /// What BIND serves for the names the plan touches, plus www (unmanaged), by plain queries.
    func served(_ z: String) throws -> [String] {
        var out: [String] = []
        for (name, type) in [("\(z).", "MX"), ("\(z).", "TXT"), ("_dmarc.\(z).", "TXT"), ("mail2026._domainkey.\(z).", "TXT"),
                             ("mail.\(z).", "A"), ("www.\(z).", "A")] {
            let text = try run("/usr/bin/dig", ["+noall", "+answer", "-p", String(port), "@\(host)", name, type])
            out += text.split(separator: "\n").map { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ") }
        }
        return out.sorted()
    }

    func warning(_ z: String) -> String {
        "warning: provider bind: zone transfer of \(z). refused by \(host):\(port) (REFUSED); read the 6 RRsets the plan manages or checks by query instead: unmanaged records are not seen\n"
    }

    /// plan → apply → plan is a no-op on a zone whose transfer is refused: the plan is read by
    /// query (with the warning on stderr every time), the apex TXT keeps its token, the
    /// 2048-bit DKIM key's two strings are written and read back, and www is left alone.
    func testNoTransferZoneCLIRoundTripReadsByQuery() throws {
        let z = try noTransferZone()
        try reset(z)
        // BIND really refuses the signed transfer.
        XCTAssertTrue(try run("/usr/bin/dig", ["+tcp", "-k", keyFile.path, "-p", String(port), "@\(host)", z, "AXFR"]).contains("; Transfer failed."))
        let plan = try writePlan(z).path
        let env = ["MAILPLAN_TEST_TSIG_SECRET": secret]

        let first = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stdout, expectedPlan(z))
        XCTAssertEqual(first.stderr, warning(z))

        let apply = try runMailplan(["apply", plan, "--auto-approve"], env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertEqual(apply.stdout, expectedPlan(z) + "\nApply complete! Records: 3 added, 2 changed, 0 destroyed.\n")
        XCTAssertEqual(apply.stderr, warning(z) + "\(z).: applying 5 changes at bind (rfc2136)\n")
        XCTAssertFalse((apply.stdout + apply.stderr).contains(secret))

        let second = try runMailplan(["plan", plan, "--detailed-exitcode"], env: env)
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(second.stderr, warning(z))

        let k = dkimValue
        XCTAssertEqual(try served(z), [
            "\(z). 300 IN TXT \"google-site-verification=tok123\"",
            "\(z). 300 IN TXT \"v=spf1 mx -all\"",
            "\(z). 3600 IN MX 10 mail.\(z).",
            "_dmarc.\(z). 3600 IN TXT \"v=DMARC1; p=quarantine\"",
            "mail.\(z). 3600 IN A 192.0.2.25",
            "mail2026._domainkey.\(z). 3600 IN TXT \"\(k.prefix(255))\" \"\(k.dropFirst(255))\"",
            "www.\(z). 300 IN A 192.0.2.80",
        ].sorted())
    }

    /// The adapter directly: without managed keys the refusal is an error that says what to
    /// allow; with them, exactly the managed RRsets that exist (and a CNAME at a managed name)
    /// are read; prerequisites built from the query read still catch a concurrent change.
    func testNoTransferZoneAdapterReadsManagedRRsetsByQuery() throws {
        let z = try noTransferZone()
        try reset(z)
        let p = provider()
        XCTAssertThrowsError(try p.readZone(n(z))) {
            XCTAssertEqual("\($0)", "provider bind: the primary \(host):\(port) refused the zone transfer (AXFR) of \(z). (REFUSED): mailplan reads zones by AXFR; allow it for the key (BIND: allow-transfer { key \(keyName); };)")
        }
        XCTAssertEqual(p.readWarnings(n(z)), [])
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate add mail.\(z). 300 CNAME www.\(z).\nsend\n")
        defer { _ = try? run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate delete mail.\(z). CNAME\nsend\n") }
        let managed = [RRsetKey(n(z), .mx), RRsetKey(n(z), .txt), RRsetKey(n("_dmarc.\(z)"), .txt), RRsetKey(n("mail.\(z)"), .a)]
        let live = try p.readZone(n(z), managed: managed)
        XCTAssertEqual(live, [
            rr("\(z).", .mx, 300, ["10 old-mx.example.net."]),
            rr("\(z).", .txt, 300, ["\"google-site-verification=tok123\"", "\"v=spf1 a -all\""]),
            rr("mail.\(z).", .cname, 300, ["www.\(z)."]),
        ])
        XCTAssertEqual(p.readWarnings(n(z)).map(\.description), [
            "warning: provider bind: zone transfer of \(z). refused by \(host):\(port) (REFUSED); read the 4 RRsets the plan manages or checks by query instead: unmanaged records are not seen",
        ])

        // Someone adds an MX after the read: the update's "exactly these records" prerequisite fails.
        try run("/usr/bin/nsupdate", ["-k", keyFile.path], stdin: "server \(host) \(port)\nzone \(z)\nupdate add \(z). 300 MX 20 backup.example.net.\nsend\n")
        let mx = live.first { $0.key == RRsetKey(n(z), .mx) }!
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136",
                                                       changes: [.update(from: mx, to: rr("\(z).", .mx, 3600, ["10 mail.\(z)."]))]))) {
            XCTAssertEqual(($0 as! ApplyError).reason, "a prerequisite of the update of zone \(z). failed (NXRRSET): the zone changed since the plan read it; run plan again; nothing was applied (one UPDATE message is all-or-nothing)")
        }
        // Read again: the TXT update goes through, and is verified by query.
        let again = try p.readZone(n(z), managed: managed)
        let txt = again.first { $0.key == RRsetKey(n(z), .txt) }!
        try p.apply(ZoneChangeset(zone: n(z), provider: "bind", providerType: "rfc2136", changes: [
            .update(from: txt, to: rr("\(z).", .txt, 300, ["\"google-site-verification=tok123\"", "\"v=spf1 mx -all\""])),
        ]))
        XCTAssertEqual(try served(z).filter { $0.contains(" TXT ") && $0.hasPrefix("\(z).") }, [
            "\(z). 300 IN TXT \"google-site-verification=tok123\"",
            "\(z). 300 IN TXT \"v=spf1 mx -all\"",
        ])
    }
}
