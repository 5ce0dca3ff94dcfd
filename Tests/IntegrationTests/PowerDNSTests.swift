import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// Drives the PowerDNS adapter against a real PowerDNS started by `scripts/servers start`
/// (`MAILPLAN_PDNS_URL`, `MAILPLAN_PDNS_API_KEY`). Each test makes its own zone.
final class PowerDNSIntegrationTests: XCTestCase {
    var baseURL: URL!
    var apiKey: Secret!
    let http = HTTPClient(options: HTTPClientOptions(totalTimeout: 20))

    override func setUpWithError() throws {
        let pdns = try PDNSServer.fromEnvironment()
        baseURL = pdns.url
        apiKey = Secret(value: pdns.key, variable: "PDNS_API_KEY")
    }

    func provider(key: Secret? = nil) -> PowerDNSProvider {
        PowerDNSProvider(name: "pdns", url: baseURL, apiKey: key ?? apiKey)
    }

    func n(_ s: String, _ zone: DomainName) -> DomainName { try! DomainName(s, relativeTo: zone) }
    func rr(_ name: String, _ zone: DomainName, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: n(name, zone), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0, origin: zone) })
    }

    /// ~30 records that mailplan does not manage, as a real zone would have.
    func unrelated(_ z: DomainName) -> [RRset] {
        var sets = [
            rr("@", z, .a, 3600, ["192.0.2.10"]),
            rr("@", z, .aaaa, 3600, ["2001:db8::10"]),
            rr("@", z, .txt, 3600, ["\"google-site-verification=abc123XYZ\"", "\"MS=ms12345678\""]),
            rr("@", z, .caa, 3600, ["0 issue \"letsencrypt.org\"", "0 iodef \"mailto:security@example.com\""]),
            rr("www", z, .a, 300, ["192.0.2.10", "192.0.2.11"]),
            rr("www", z, .aaaa, 300, ["2001:db8::10"]),
            rr("blog", z, .cname, 300, ["www"]),
            rr("_acme-challenge", z, .txt, 120, ["\"xQz-token_1234567890abcdef\""]),
            rr("_acme-challenge.www", z, .txt, 120, ["\"another-token\""]),
            rr("*.apps", z, .a, 600, ["192.0.2.50"]),
            rr("_sip._tcp", z, .srv, 3600, ["10 60 5060 sip.example.net."]),
            rr("api", z, .a, 60, ["192.0.2.20", "192.0.2.21", "192.0.2.22"]),
            rr("api", z, .aaaa, 60, ["2001:db8::20"]),
            rr("shop", z, .cname, 3600, ["shops.example.net."]),
        ]
        for i in 1...16 { sets.append(rr("host\(i)", z, .a, 3600, ["198.51.100.\(i)"])) }
        return sets
    }

    func zonesURL() -> URL { URL(string: baseURL.absoluteString + "/api/v1/servers/localhost/zones")! }

    /// Creates a fresh, uniquely named zone (POST /zones) holding `records(zone)` plus the
    /// NS and SOA PowerDNS adds; it is deleted when the test ends.
    func createZone(_ records: (DomainName) -> [RRset] = { _ in [] }) throws -> DomainName {
        let zone = try DomainName("t\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example")
        let rrsets = records(zone)
        struct Body: Encodable { var name: String; var kind = "Native"; var nameservers: [String]; var rrsets: [PowerDNSConvert.APIRRset] }
        let body = Body(name: zone.fqdn, nameservers: ["ns1.example.net.", "ns2.example.net."],
                        rrsets: rrsets.map { var r = PowerDNSConvert.replace($0); r.changetype = nil; return r })
        let req = HTTPRequest(.post, zonesURL(), headers: ["X-API-Key": apiKey.value, "Content-Type": "application/json", "Accept": "application/json"],
                              body: try JSONEncoder().encode(body))
        let resp = try http.send(req)
        XCTAssertEqual(resp.status, 201, resp.text)
        guard resp.status == 201 else { throw HTTPError(request: req, response: resp) }
        addTeardownBlock { [http, apiKey, baseURL] in
            let url = URL(string: baseURL!.absoluteString + "/api/v1/servers/localhost/zones/" + zone.fqdn)!
            _ = try? http.send(HTTPRequest(.delete, url, headers: ["X-API-Key": apiKey!.value]))
        }
        return zone
    }

    func nsSet(_ zone: DomainName) -> RRset { rr("@", zone, .ns, 3600, ["ns1.example.net.", "ns2.example.net."]) }
    func withoutSOA(_ sets: [RRset]) -> Set<RRset> { Set(sets.filter { $0.type != .soa }) }

    func testReadZoneReturnsExactRRsets() throws {
        let z = try createZone(unrelated)
        XCTAssertGreaterThanOrEqual(unrelated(z).count, 30)
        let live = try provider().readZone(z)
        XCTAssertEqual(withoutSOA(live), Set(unrelated(z) + [nsSet(z)]))
        XCTAssertEqual(live.filter { $0.type == .soa }.count, 1)
    }

    func testApplyMailRecordsThenReadBackExactly() throws {
        let z = try createZone(unrelated)
        let p = provider()
        let before = try p.readZone(z)
        let apexTXT = try XCTUnwrap(before.first { $0.name == z && $0.type == .txt })
        let dkim = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        XCTAssertEqual(dkim.utf8.count, 410)
        let newTXT = apexTXT.with(rdata: apexTXT.rdata + [.txt("v=spf1 mx -all")])
        let created = [
            rr("@", z, .mx, 3600, ["10 mail"]),
            rr("mail", z, .a, 3600, ["192.0.2.25"]),
            rr("mail", z, .aaaa, 3600, ["2001:db8::25"]),
            RRset(name: n("mail2026._domainkey", z), type: .txt, ttl: 3600, rdata: [.txt(dkim)]),
        ]
        try p.apply(ZoneChangeset(zone: z, provider: "pdns", providerType: "powerdns",
                                  changes: created.map { Change.create($0) } + [.update(from: apexTXT, to: newTXT)]))
        let after = try p.readZone(z)
        let expected = withoutSOA(before).subtracting([apexTXT]).union(created).union([newTXT])
        XCTAssertEqual(withoutSOA(after), expected)
        let dk = try XCTUnwrap(after.first { $0.name == n("mail2026._domainkey", z) })
        XCTAssertEqual(dk.rdata, [.txt(dkim)], "410-byte DKIM value round-trips as one logical string")
        XCTAssertEqual(Set(after.first { $0.name == z && $0.type == .txt }!.rdata.compactMap(\.txtValue)),
                       ["google-site-verification=abc123XYZ", "MS=ms12345678", "v=spf1 mx -all"])

        // A delete and an identical re-apply (idempotent REPLACE) both work.
        try p.apply(ZoneChangeset(zone: z, provider: "pdns", providerType: "powerdns",
                                  changes: [.delete(created[2]), .update(from: newTXT, to: newTXT)]))
        XCTAssertEqual(withoutSOA(try p.readZone(z)), expected.subtracting([created[2]]))
    }

    func testWrongAPIKeyIs401() throws {
        let z = try createZone()
        let p = provider(key: Secret(value: "wrong-key-\(UUID().uuidString)", variable: "PDNS_API_KEY"))
        XCTAssertThrowsError(try p.readZone(z)) { e in
            XCTAssertTrue(e is ProviderError)
            XCTAssertTrue("\(e)".contains("provider pdns: rejected the API key (check api_key / PDNS_API_KEY)"), "\(e)")
            XCTAssertFalse("\(e)".contains("wrong-key-"))
        }
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: z, provider: "pdns", providerType: "powerdns",
                                                       changes: [.create(rr("mail", z, .a, 60, ["192.0.2.1"]))]))) { e in
            XCTAssertTrue((e as? ApplyError)?.reason.contains("rejected the API key") == true, "\(e)")
        }
    }

    func testMissingZoneIs404NamingDomainAndServer() throws {
        let missing = try DomainName("missing-\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example")
        XCTAssertThrowsError(try provider().readZone(missing)) { e in
            let s = "\(e)"
            XCTAssertTrue(e is ProviderError)
            XCTAssertTrue(s.contains(missing.fqdn), s)
            XCTAssertTrue(s.contains(baseURL.absoluteString), s)
            XCTAssertTrue(s.contains("does not exist"), s)
        }
    }

    func testConflictingCNAMEIs422AndNothingApplied() throws {
        let z = try createZone(unrelated)
        let p = provider()
        let before = try p.readZone(z)
        let cname = Change.create(rr("www", z, .cname, 300, ["web.example.net."]))
        let mx = Change.create(rr("@", z, .mx, 3600, ["10 mail"]))
        XCTAssertThrowsError(try p.apply(ZoneChangeset(zone: z, provider: "pdns", providerType: "powerdns", changes: [mx, cname]))) { e in
            guard let ae = e as? ApplyError else { return XCTFail("\(e)") }
            XCTAssertTrue(ae.applied.isEmpty)
            XCTAssertEqual(ae.failed.map(\.key), [cname.key], ae.reason)
            XCTAssertTrue(ae.reason.contains("www.\(z.fqdn) CNAME"), ae.reason)
            XCTAssertTrue(ae.reason.contains("Conflicts with pre-existing RRset"), ae.reason)
            XCTAssertTrue(ae.reason.contains("nothing was applied"), ae.reason)
        }
        XCTAssertEqual(withoutSOA(try p.readZone(z)), withoutSOA(before), "the MX in the same PATCH was not applied")
    }

    /// C05: a server error while reading must abort, never look like an empty zone.
    func testServerError500OnReadAborts() throws {
        let script = """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                b = b'{"error":"Internal Server Error"}'
                self.send_response(500); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
            def log_message(self, *a): pass
        s = http.server.HTTPServer(('127.0.0.1', 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """
        let proc = Process()
        proc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proc.arguments = ["python3", "-c", script]
        let out = Pipe()
        proc.standardOutput = out
        try proc.run()
        defer { kill(proc.processIdentifier, SIGKILL); proc.waitUntilExit() } // SIGKILL: SIGTERM may be blocked in tests
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let port = try XCTUnwrap(Int(line), "fake server printed '\(line)'")
        let fake = PowerDNSProvider(name: "pdns", url: URL(string: "http://127.0.0.1:\(port)")!, apiKey: apiKey,
                                    client: HTTPClient(sleep: { _ in }))
        let zone = try DomainName("example.com")
        XCTAssertThrowsError(try fake.readZone(zone)) { e in
            let s = "\(e)"
            XCTAssertTrue(e is ProviderError, s)
            XCTAssertTrue(s.contains("example.com."), s)
            XCTAssertTrue(s.contains("GET http://127.0.0.1:\(port)/api/v1/servers/localhost/zones/example.com."), s)
            XCTAssertTrue(s.contains("HTTP 500"), s)
            XCTAssertFalse(s.contains(apiKey.value))
        }
    }
}
