import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Saved plans, stale-plan refusal, drift classes and import, through the real CLI against
/// a real PowerDNS started by `scripts/servers start` (`MAILPLAN_PDNS_URL`,
/// `MAILPLAN_PDNS_API_KEY`). Out-of-band changes are made directly with the PowerDNS API,
/// as another tool or a person would. Each test makes its own zone.
final class SavedPlanPowerDNSTests: XCTestCase {
    var baseURL = ""
    var apiKey = ""
    let http = HTTPClient(options: HTTPClientOptions(totalTimeout: 20))
    var dir: URL!
    var zone: DomainName!
    var z: String { zone.withoutTrailingDot }

    override func setUpWithError() throws {
        let pdns = try PDNSServer.fromEnvironment()
        baseURL = pdns.url.absoluteString; apiKey = pdns.key
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-saved-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: repoRoot.appendingPathComponent("plans/keys/mail2026.pub"),
                                         to: dir.appendingPathComponent("keys/mail2026.pub"))
        zone = try DomainName("s\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example")
        try createZone()
    }

    // MARK: PowerDNS API, used directly (out of band)

    func api(_ method: HTTPMethod, _ path: String, _ json: String? = nil) throws -> HTTPResponse {
        let url = URL(string: baseURL + "/api/v1/servers/localhost/zones" + path)!
        return try http.send(HTTPRequest(method, url, headers: ["X-API-Key": apiKey, "Content-Type": "application/json"],
                                         body: json.map { Data($0.utf8) }))
    }

    func createZone() throws {
        let r = try api(.post, "", #"{"name": "\#(zone.fqdn)", "kind": "Native", "nameservers": ["ns1.example.net."], "rrsets": [{"name": "www.\#(zone.fqdn)", "type": "A", "ttl": 300, "records": [{"content": "192.0.2.80", "disabled": false}]}]}"#)
        XCTAssertEqual(r.status, 201, r.text)
        addTeardownBlock { [self] in _ = try? api(.delete, "/" + zone.fqdn) }
    }

    /// Replaces one RRset directly through the API.
    func replace(_ name: String, _ type: String, ttl: Int, _ contents: [String]) throws {
        let records = contents.map { #"{"content": \#(jsonString($0)), "disabled": false}"# }.joined(separator: ", ")
        let r = try api(.patch, "/" + zone.fqdn, #"{"rrsets": [{"name": "\#(name)", "type": "\#(type)", "ttl": \#(ttl), "changetype": "REPLACE", "records": [\#(records)]}]}"#)
        XCTAssertEqual(r.status, 204, r.text)
    }

    func jsonString(_ s: String) -> String { String(decoding: try! JSONEncoder().encode(s), as: UTF8.self) }

    func liveRRsets() throws -> [RRset] {
        try PowerDNSProvider(name: "pdns", url: URL(string: baseURL)!, apiKey: Secret(value: apiKey, variable: "PDNS_API_KEY")).readZone(zone)
    }

    // MARK: plan files

    func writePlan(dmarc: String = "none", spfAll: String = "~all", name: String = "mail.yaml") throws -> String {
        let path = dir.appendingPathComponent(name).path
        try """
        version: 1
        server:
          hostname: mail.\(z)
          ipv4: 192.0.2.25
        providers:
          pdns:
            type: powerdns
            url: \(baseURL)
            api_key: ${PDNS_API_KEY}
        domains:
          - name: \(z)
            provider: pdns
            spf: {senders: [mx], all: "\(spfAll)"}
            dkim:
              - {selector: mail2026, public_key_file: keys/mail2026.pub}
            dmarc: {policy: \(dmarc), rua: ["mailto:dmarc@\(z)"]}
            mta_sts: {mode: testing, max_age: 86400}
            tls_rpt: {rua: ["mailto:tlsrpt@\(z)"]}

        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func mailplan(_ args: [String]) throws -> RunResult {
        try runMailplan(args, cwd: dir, env: ["PDNS_API_KEY": apiKey])
    }

    // MARK: tests

    func testSavedPlanAppliesExactlyWhatWasPlannedAndHoldsNoSecret() throws {
        let plan = try writePlan()
        let made = try mailplan(["plan", plan, "--out", "saved.json", "--detailed-exitcode"])
        XCTAssertEqual(made.status, 2, made.stderr)
        XCTAssertTrue(made.stdout.hasSuffix("""
        Plan: 7 to add, 0 to change, 0 to destroy.

        Saved the plan to: saved.json
        To perform exactly these actions, run: mailplan apply saved.json

        """), made.stdout)
        let savedText = try String(contentsOf: dir.appendingPathComponent("saved.json"), encoding: .utf8)
        XCTAssertFalse(savedText.contains(apiKey), "the API key must never be written into a saved plan")
        XCTAssertFalse(savedText.contains("api_key"))
        let saved = try XCTUnwrap(try SavedPlan.detect(Data(savedText.utf8), file: "saved.json"))
        XCTAssertEqual(saved.kind, "mailplan-saved-plan")
        XCTAssertEqual(saved.formatVersion, "1")
        XCTAssertEqual(saved.planFile, plan)
        XCTAssertEqual(saved.keyFiles.map(\.path), ["keys/mail2026.pub"])
        XCTAssertEqual(saved.zones.map(\.changeset.zone), [zone])
        XCTAssertEqual(saved.zones[0].fingerprint, LiveFingerprint(try liveRRsets()))
        XCTAssertEqual(saved.summary, ChangeSummary(saved.changesets.flatMap(\.changes)))
        XCTAssertEqual(saved.summary.add, 7)

        let show = try mailplan(["show", "saved.json"])
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertTrue(show.stdout.hasPrefix("Saved plan of \(plan), made \(saved.createdAt) by mailplan \(MailPlanVersion.current).\n\nmailplan will perform the following actions:\n"), show.stdout)

        let before = try liveRRsets()
        let apply = try mailplan(["apply", "saved.json"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("Apply complete! Records: 7 added, 0 changed, 0 destroyed.\n"), apply.stdout)
        XCTAssertFalse(apply.stdout.contains("Enter a value"), "a saved plan is applied without a prompt")
        let after = try liveRRsets()
        let created = Set(saved.changesets.flatMap(\.changes).compactMap(\.after))
        XCTAssertEqual(Set(after.filter { $0.type != .soa }), Set(before.filter { $0.type != .soa }).union(created))

        let again = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
    }

    func testStalePlanRefusedAfterOutOfBandChange() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["plan", plan, "--out", "saved.json"]).status, 0)
        let before = try liveRRsets()
        // Someone changes the zone directly at PowerDNS between plan and apply.
        try replace("www.\(zone.fqdn)", "A", ttl: 300, ["192.0.2.81"])
        try replace("_dmarc.\(zone.fqdn)", "TXT", ttl: 3600, ["\"v=DMARC1; p=reject\""])
        let changed = try liveRRsets()

        let apply = try mailplan(["apply", "saved.json"])
        XCTAssertEqual(apply.status, 1)
        XCTAssertEqual(apply.stdout, "")
        XCTAssertEqual(apply.stderr, """
        error: stale plan: saved.json no longer matches what it was made from:
          - zone \(zone.fqdn) at provider pdns changed since the plan was made: _dmarc.\(zone.fqdn) TXT was added; \(zone.fqdn) SOA changed; www.\(zone.fqdn) A changed
        Make a new plan: mailplan plan \(plan) --out saved.json

        """)
        XCTAssertEqual(try liveRRsets(), changed, "nothing was written")
        XCTAssertNotEqual(changed, before)
    }

    func testStalePlanWhenPlanFileOrKeyFileChanged() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["plan", plan, "--out", "saved.json"]).status, 0)
        let oldHash = try XCTUnwrap(SavedPlan.detect(Data(contentsOf: dir.appendingPathComponent("saved.json")), file: "")).planFileSHA256
        _ = try writePlan(dmarc: "quarantine")
        let key = dir.appendingPathComponent("keys/mail2026.pub")
        let oldKey = try Data(contentsOf: key)
        try (String(decoding: oldKey, as: UTF8.self) + "\n").write(to: key, atomically: true, encoding: .utf8)
        let newHash = try PlanLoader(environment: ["PDNS_API_KEY": apiKey]).load(path: plan).sha256
        let apply = try mailplan(["apply", "saved.json"])
        XCTAssertEqual(apply.status, 1)
        func sha(_ d: Data) -> String { LiveFingerprintTestSupport.sha256(d) }
        XCTAssertEqual(apply.stderr, """
        error: stale plan: saved.json no longer matches what it was made from:
          - plan file \(plan) changed (SHA-256 \(oldHash.prefix(12))… is now \(newHash.prefix(12))…)
          - key file keys/mail2026.pub changed (SHA-256 \(sha(oldKey).prefix(12))… is now \(sha(try Data(contentsOf: key)).prefix(12))…)
        Make a new plan: mailplan plan \(plan) --out saved.json

        """)
        XCTAssertFalse(try liveRRsets().contains { $0.type == .mx }, "nothing was written")
    }

    /// Exit codes per drift class with --detailed-exitcode: 2 for each kind of pending
    /// change, 0 once applied, 1 for a conflict mailplan refuses to resolve.
    func testDriftClassesAndExitCodes() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        XCTAssertEqual(try mailplan(["plan", plan, "--detailed-exitcode"]).status, 0)
        func classes() throws -> (Int32, [String]) {
            let r = try mailplan(["plan", plan, "--json", "--detailed-exitcode"])
            let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let changes = ((doc?["zones"] as? [[String: Any]])?.first?["changes"] as? [[String: Any]]) ?? []
            return (r.status, changes.map { "\($0["action"]!) \($0["name"]!) \($0["type"]!) \($0["class"]!)" })
        }
        let d = zone.fqdn

        // ttl-only
        try replace("_smtp._tls.\(d)", "TXT", ttl: 60, ["\"v=TLSRPTv1; rua=mailto:tlsrpt@\(z)\""])
        var (status, got) = try classes()
        XCTAssertEqual(status, 2); XCTAssertEqual(got, ["update _smtp._tls.\(d) TXT ttl-only"])
        let text = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(text.status, 2)
        XCTAssertEqual(text.stdout, """
        mailplan will perform the following actions:

          # zone \(d) (provider pdns, powerdns)
          ~ _smtp._tls.\(d) TXT ttl 60 -> 3600
                "v=TLSRPTv1; rua=mailto:tlsrpt@\(z)"
              # class ttl-only: only the TTL differs

        Plan: 0 to add, 1 to change, 0 to destroy.

        """)
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)

        // changed: a managed record edited outside mailplan
        try replace("_dmarc.\(d)", "TXT", ttl: 3600, ["\"v=DMARC1; p=none\""])
        (status, got) = try classes()
        XCTAssertEqual(status, 2); XCTAssertEqual(got, ["update _dmarc.\(d) TXT changed"])
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)

        // mail-breaking: a second SPF record at the apex
        try replace(d, "TXT", ttl: 3600, ["\"v=spf1 mx ~all\"", "\"v=spf1 include:_spf.example.net ~all\""])
        (status, got) = try classes()
        XCTAssertEqual(status, 2); XCTAssertEqual(got, ["update \(d) TXT mail-breaking"])
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)

        // missing: a managed record deleted outside mailplan
        XCTAssertEqual(try api(.patch, "/" + d, #"{"rrsets": [{"name": "mail.\#(d)", "type": "A", "changetype": "DELETE"}]}"#).status, 204)
        (status, got) = try classes()
        XCTAssertEqual(status, 2); XCTAssertEqual(got, ["create mail.\(d) A missing"])
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        XCTAssertEqual(try classes().0, 0)

        // A CNAME at a DKIM name: a conflict mailplan never resolves by deleting: exit 1.
        XCTAssertEqual(try api(.patch, "/" + d, #"{"rrsets": [{"name": "mail2026._domainkey.\#(d)", "type": "TXT", "changetype": "DELETE"}, {"name": "mail2026._domainkey.\#(d)", "type": "CNAME", "ttl": 300, "changetype": "REPLACE", "records": [{"content": "mail2026.dkim.example.net.", "disabled": false}]}]}"#).status, 204)
        let conflict = try mailplan(["plan", plan, "--detailed-exitcode"])
        XCTAssertEqual(conflict.status, 1)
        XCTAssertTrue(conflict.stderr.contains("mail2026._domainkey.\(d): the provider holds a CNAME (→ mail2026.dkim.example.net.) where the plan needs TXT for dkim selector mail2026"), conflict.stderr)
    }

    func testImportThenPlanIsNoOp() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        // A verification token at the apex must not be imported (only SPF is).
        try replace(zone.fqdn, "TXT", ttl: 3600, ["\"v=spf1 mx ~all\"", "\"google-site-verification=abc\""])
        let r = try mailplan(["import", "--plan", plan, "--provider", "pdns", "--domain", z, "--out", "imported.yaml"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "Imported \(zone.fqdn) from zone \(zone.fqdn) at pdns into imported.yaml: 'mailplan plan' on it shows no changes.\n")
        let key = try DKIMKeyParser.parse(String(contentsOf: dir.appendingPathComponent("keys/mail2026.pub"), encoding: .utf8)).record
        let imported = try String(contentsOf: dir.appendingPathComponent("imported.yaml"), encoding: .utf8)
        XCTAssertEqual(imported, """
        # Imported by mailplan \(MailPlanVersion.current) from zone \(zone.fqdn) at provider pdns.
        # Review it, then run: mailplan plan <this file>   (it should show no changes)
        version: 1

        server:
          hostname: "mail.\(z)"
          ipv4: ["192.0.2.25"]

        providers:
          pdns:
            type: powerdns
            url: \(baseURL)
            api_key: ${PDNS_API_KEY}

        defaults:
          ttl: 3600

        domains:
        - name: "\(z)"
          provider: "pdns"
          ttl: 3600
          mx:
          - {host: "mail.\(z)", preference: 10}
          spf: {senders: ["mx"], all: "~all"}
          dkim:
          - {selector: "mail2026", public_key: "\(key)"}
          dmarc: {policy: "none", rua: ["mailto:dmarc@\(z)"]}
          mta_sts: {mode: "testing", max_age: 86400}
          tls_rpt: {rua: ["mailto:tlsrpt@\(z)"]}

        """)
        XCTAssertFalse(imported.contains(apiKey))
        let p = try mailplan(["plan", "imported.yaml", "--detailed-exitcode"])
        XCTAssertEqual(p.status, 0, p.stderr)
        XCTAssertEqual(p.stdout, "No changes. The live DNS matches the plan.\n")
    }

    func testSafetyGateRefusesThenAllows() throws {
        let plan = try writePlan()
        XCTAssertEqual(try mailplan(["apply", plan, "--auto-approve"]).status, 0)
        _ = try writePlan(dmarc: "reject")
        let refused = try mailplan(["apply", plan, "--auto-approve"])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.stdout.contains("      # apply needs --allow=dmarc-reject: moves DMARC to p=reject for the first time (receivers refuse failing mail)\n"), refused.stdout)
        XCTAssertEqual(refused.stderr, """
        error: refusing to apply: 1 change needs an explicit --allow:
          _dmarc.\(zone.fqdn) TXT: moves DMARC to p=reject for the first time (receivers refuse failing mail); rerun with --allow=dmarc-reject

        """)
        XCTAssertTrue(try liveRRsets().contains { $0.name == zone.prepending("_dmarc") && $0.rdata == [.txt("v=DMARC1; p=none; rua=mailto:dmarc@\(z)")] })
        // A saved plan carries the --allow it was made with.
        XCTAssertEqual(try mailplan(["plan", plan, "--out", "saved.json", "--allow=dmarc-reject"]).status, 0)
        let ok = try mailplan(["apply", "saved.json"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        XCTAssertTrue(try liveRRsets().contains { $0.name == zone.prepending("_dmarc") && $0.rdata == [.txt("v=DMARC1; p=reject; rua=mailto:dmarc@\(z)")] })
    }

    func testTargetLimitsTheRun() throws {
        let plan = try writePlan()
        let r = try mailplan(["plan", plan, "--target", "nope.example"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "error: --target nope.example: not a domain or zone of \(plan); (domains: \(z))\n")
        let ok = try mailplan(["plan", plan, "--target", z, "--parallelism", "1", "--detailed-exitcode"])
        XCTAssertEqual(ok.status, 2, ok.stderr)
    }
}

enum LiveFingerprintTestSupport {
    static func sha256(_ d: Data) -> String {
        // The same digest mailplan uses (SHA-256, hex), computed through a fingerprint-free path.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        let inp = Pipe(), out = Pipe()
        p.standardInput = inp; p.standardOutput = out
        try! p.run()
        inp.fileHandleForWriting.write(d); try! inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(String(decoding: o, as: UTF8.self).prefix(64))
    }
}
