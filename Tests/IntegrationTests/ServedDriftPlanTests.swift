import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// `mailplan plan` reporting served drift and a delegation mismatch (issue 4), through the
/// real binary, with two real name servers from `scripts/servers start`:
///
/// - the zone is held by the real PowerDNS (the provider, read through its API);
/// - the real BIND 9 plays the other side: the old DNS host that still serves the zone's
///   names with other data (served drift), or the parent zone whose delegation points
///   elsewhere (delegation mismatch). BIND's data is written with `nsupdate` (BIND's own
///   tool), under a unique name inside its zones, and removed again after each test.
///
/// Served drift and delegation are warnings: they change nothing the plan would apply, so
/// `--detailed-exitcode` stays 0 when the provider already holds the plan.
final class ServedDriftPlanTests: XCTestCase {
    var pdns: PDNSServer!
    var bind: NameServer!
    var bindZones: [String] = []
    var keyFile: URL!
    var dir: URL!

    override func setUpWithError() throws {
        pdns = try PDNSServer.fromEnvironment()
        let server = try BINDServer.fromEnvironment()
        bind = NameServer(address: server.host, port: server.port); bindZones = server.zones
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-served-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        keyFile = try server.keyFile(removedAfter: self)
        addTeardownBlock { [dir] in try? FileManager.default.removeItem(at: dir!) }
    }

    /// Sends one dynamic update to BIND with `nsupdate` (lines like `update add NAME TTL TYPE RDATA`).
    func nsupdate(_ zone: String, _ lines: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/nsupdate")
        p.arguments = ["-k", keyFile.path]
        let inp = Pipe(), out = Pipe()
        p.standardInput = inp; p.standardOutput = out; p.standardError = out
        try p.run()
        let script = (["server \(bind.address) \(bind.port)", "zone \(zone)"] + lines + ["send", ""]).joined(separator: "\n")
        inp.fileHandleForWriting.write(Data(script.utf8)); try inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw LiveDNSError("nsupdate failed: \(String(decoding: o, as: UTF8.self))") }
    }

    /// A plan for `zone` at the real PowerDNS: the MX (default: the server, 10) and DMARC
    /// `p=reject`; the server's host name is outside the zone, so no A is planned.
    func writePlan(_ zone: DomainName, authoritative: [(String, [NameServer])]) throws -> String {
        let path = dir.appendingPathComponent("plan.yaml").path
        try """
        version: 1
        server:
          hostname: mail.example.com
          ipv4: 192.0.2.25
        providers:
          pdns:
            type: powerdns
            url: \(pdns.url.absoluteString)
            api_key: ${PDNS_API_KEY}
        dns:
          authoritative:
        \(authoritative.map { "    \($0.0): [\($0.1.map { "\"\($0)\"" }.joined(separator: ", "))]" }.joined(separator: "\n"))
          timeout: 1
          attempts: 1
        domains:
          - name: \(zone.withoutTrailingDot)
            provider: pdns
            dmarc: {policy: reject}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The zone at PowerDNS, holding exactly what the plan wants (NS ns1/ns2.example.net.).
    func createProviderZone(_ zone: DomainName) throws {
        try pdns.createZone(zone, [rrset("@", zone, .mx, 3600, ["10 mail.example.com."]),
                                   rrset("_dmarc", zone, .txt, 3600, ["v=DMARC1; p=reject"])])
        addTeardownBlock { [pdns] in pdns?.deleteZone(zone) }
    }

    func mailplan(_ args: [String]) throws -> RunResult {
        try runMailplan(args, cwd: dir, env: ["PDNS_API_KEY": pdns.key, "NO_COLOR": "1"])
    }

    /// The provider holds the plan; BIND (still authoritative for the names under its zone)
    /// serves an older DMARC and no MX: one warning per RRset and server that disagrees,
    /// naming both values; exit 0; gone once BIND serves what the provider holds.
    func testPlanReportsServedDriftWhenAnotherAuthoritativeServerServesSomethingElse() throws {
        let zone = try DomainName("sd\(UUID().uuidString.prefix(8).lowercased()).\(bindZones[1])")
        try createProviderZone(zone)
        try nsupdate(bindZones[1], ["update add _dmarc.\(zone.fqdn) 3600 TXT \"v=DMARC1; p=none\""])
        addTeardownBlock { [self] in
            try? nsupdate(bindZones[1], ["update delete _dmarc.\(zone.fqdn) TXT", "update delete \(zone.fqdn) MX"])
        }
        let plan = try writePlan(zone, authoritative: [(zone.withoutTrailingDot, [pdns.dns, bind])])
        let d = zone.fqdn

        let r = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(r.status, 0, "served drift is a warning, not a change: " + r.stderr)
        XCTAssertEqual(r.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(r.stderr, """
        \(plan):16:5: warning: served drift: \(d) MX at \(bind!) serves no records; provider 'pdns' holds ttl 3600: 10 mail.example.com. (propagation pending, or the zone is not served from this provider)
        \(plan):16:5: warning: served drift: _dmarc.\(d) TXT at \(bind!) serves ttl 3600: "v=DMARC1; p=none"; provider 'pdns' holds ttl 3600: "v=DMARC1; p=reject" (propagation pending, or the zone is not served from this provider)

        """)

        // The same warnings in --json, and no change.
        let j = try mailplan(["plan", plan, "--json", "--detailed-exitcode"])
        XCTAssertEqual(j.status, 0, j.stderr)
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(doc["warnings"] as? [String], r.stderr.split(separator: "\n").map(String.init))
        XCTAssertEqual(((doc["zones"] as? [[String: Any]])?.first?["changes"] as? [Any])?.count, 0)

        // BIND catches up: no warning.
        try nsupdate(bindZones[1], ["update delete _dmarc.\(d) TXT", "update add _dmarc.\(d) 3600 TXT \"v=DMARC1; p=reject\"",
                                    "update add \(d) 3600 MX 10 mail.example.com."])
        let ok = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(ok.stderr, "")

        // A TTL that differs is drift too (a secondary serving the old TTL).
        try nsupdate(bindZones[1], ["update delete \(d) MX", "update add \(d) 300 MX 10 mail.example.com."])
        let ttl = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(ttl.status, 0, ttl.stderr)
        XCTAssertEqual(ttl.stderr, """
        \(plan):16:5: warning: served drift: \(d) MX at \(bind!) serves ttl 300: 10 mail.example.com.; provider 'pdns' holds ttl 3600: 10 mail.example.com. (propagation pending, or the zone is not served from this provider)

        """)
    }

    /// The parent zone (BIND) delegates the zone to other name servers than the provider's
    /// apex NS: a warning naming both NS sets; exit 0 with nothing to change; exit 2 with
    /// the same warning when changes are pending; no warning once the delegation matches;
    /// "not delegated" when the parent has no NS for it.
    func testPlanReportsADelegationThatDoesNotPointAtTheProvider() throws {
        let parent = bindZones[0]
        let zone = try DomainName("dl\(UUID().uuidString.prefix(8).lowercased()).\(parent)")
        let d = zone.fqdn
        try createProviderZone(zone)
        try nsupdate(parent, ["update add \(d) 3600 NS ns1.old-host.example.", "update add \(d) 3600 NS ns2.old-host.example."])
        addTeardownBlock { [self] in try? nsupdate(parent, ["update delete \(d) NS"]) }
        let plan = try writePlan(zone, authoritative: [(zone.withoutTrailingDot, [pdns.dns]), (parent, [bind])])

        let r = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "No changes. The live DNS matches the plan.\n")
        XCTAssertEqual(r.stderr, """
        \(plan):11:3: warning: \(d): the zone is not delegated to this provider: the parent serves NS ns1.old-host.example., ns2.old-host.example.; the provider holds NS ns1.example.net., ns2.example.net.

        """)

        // With a change pending: exit 2, the same warning.
        try pdns.replace(zone, [rrset("_dmarc", zone, .txt, 3600, ["v=DMARC1; p=none"])])
        let pending = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(pending.status, 2, pending.stderr)
        XCTAssertTrue(pending.stdout.hasSuffix("Plan: 0 to add, 1 to change, 0 to destroy.\n"), pending.stdout)
        XCTAssertEqual(pending.stderr, r.stderr)
        try pdns.replace(zone, [rrset("_dmarc", zone, .txt, 3600, ["v=DMARC1; p=reject"])])

        // The parent delegates to the provider's name servers: no warning.
        try nsupdate(parent, ["update delete \(d) NS", "update add \(d) 3600 NS ns1.example.net.", "update add \(d) 3600 NS ns2.example.net."])
        let ok = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertEqual(ok.stderr, "")

        // No delegation at all.
        try nsupdate(parent, ["update delete \(d) NS"])
        let none = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(none.status, 0, none.stderr)
        XCTAssertEqual(none.stderr, """
        \(plan):11:3: warning: \(d): the parent's servers (\(bind!)) serve no NS for \(d) (NXDOMAIN): the zone is not delegated

        """)
    }
}
