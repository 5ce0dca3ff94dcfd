import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}

final class PowerDNSConvertTests: XCTestCase {
    let zone = n("example.com")

    func testZoneID() {
        XCTAssertEqual(PowerDNSConvert.zoneID(n("example.com")), "example.com.")
        XCTAssertEqual(PowerDNSConvert.zoneID(n("_x.example.com")), "_x.example.com.")
    }

    func testDecodeZone() throws {
        let json = """
        {"id":"example.com.","name":"example.com.","kind":"Native","serial":1,"rrsets":[
         {"name":"example.com.","type":"MX","ttl":3600,"comments":[],"records":[{"content":"10 mail.example.com.","disabled":false},{"content":"20 mx2.example.com.","disabled":false}]},
         {"name":"example.com.","type":"TXT","ttl":300,"records":[{"content":"\\"v=spf1 \\" \\"mx -all\\"","disabled":false},{"content":"\\"google-site-verification=abc\\"","disabled":false}]},
         {"name":"old.example.com.","type":"A","ttl":60,"records":[{"content":"192.0.2.1","disabled":true}]},
         {"name":"mixed.example.com.","type":"A","ttl":60,"records":[{"content":"192.0.2.1","disabled":true},{"content":"192.0.2.2","disabled":false}]},
         {"name":"*.example.com.","type":"AAAA","ttl":60,"records":[{"content":"2001:0db8:0:0::10"}]},
         {"name":"example.com.","type":"SOA","ttl":3600,"records":[{"content":"ns1.example.com. hostmaster.example.com. 1 10800 3600 604800 3600","disabled":false}]}
        ],"extra":{"ignored":true}}
        """
        let sets = try PowerDNSConvert.rrsets(fromZoneJSON: Data(json.utf8), zone: zone)
        XCTAssertEqual(sets.count, 5, "the fully disabled RRset is skipped")
        XCTAssertEqual(sets[0], rr("example.com.", .mx, 3600, ["20 mx2.example.com.", "10 mail.example.com."]))
        XCTAssertEqual(Set(sets[1].rdata.compactMap(\.txtValue)), ["v=spf1 mx -all", "google-site-verification=abc"])
        XCTAssertEqual(sets[2], rr("mixed.example.com.", .a, 60, ["192.0.2.2"]))
        XCTAssertEqual(sets[3].rdata.first?.presentation, "2001:db8::10")
        XCTAssertEqual(sets[3].name.fqdn, "*.example.com.")
        XCTAssertEqual(sets[4].type, .soa)
    }

    func testDecodeErrorsNameTheProblem() {
        XCTAssertThrowsError(try PowerDNSConvert.rrsets(fromZoneJSON: Data("<html>".utf8), zone: zone)) {
            XCTAssertTrue("\($0)".contains("not a PowerDNS zone object"), "\($0)")
        }
        XCTAssertThrowsError(try PowerDNSConvert.rrsets(fromZoneJSON: Data("{\"name\":\"example.com.\"}".utf8), zone: zone)) {
            XCTAssertTrue("\($0)".contains("no 'rrsets'"), "\($0)")
        }
        let bad = #"{"rrsets":[{"name":"mail.example.com.","type":"MX","ttl":1,"records":[{"content":"ten mail.example.com.","disabled":false}]}]}"#
        XCTAssertThrowsError(try PowerDNSConvert.rrsets(fromZoneJSON: Data(bad.utf8), zone: zone)) {
            XCTAssertTrue("\($0)".contains("mail.example.com. MX"), "\($0)")
        }
    }

    func testPatchBodyDeletesFirstThenReplaceWithChunkedTXT() throws {
        let dkim = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        let cs = ZoneChangeset(zone: zone, provider: "pdns", providerType: "powerdns", changes: [
            .delete(rr("old.example.com.", .a, 60, ["192.0.2.9"])),
            .create(rr("example.com.", .mx, 3600, ["10 mail.example.com."])),
            .update(from: rr("example.com.", .txt, 300, ["\"tok\""]), to: rr("example.com.", .txt, 300, ["\"tok\"", "\"v=spf1 mx -all\""])),
            .create(RRset(name: n("sel._domainkey.example.com"), type: .txt, ttl: 3600, rdata: [.txt(dkim)])),
        ])
        let sets = try PowerDNSConvert.patchRRsets(cs)
        XCTAssertEqual(sets.map(\.changetype), ["DELETE", "REPLACE", "REPLACE", "REPLACE"])
        XCTAssertEqual(sets[0], .init(name: "old.example.com.", type: "A", changetype: "DELETE"))
        XCTAssertEqual(sets[1].records, [.init(content: "10 mail.example.com.")])
        XCTAssertEqual(sets[1].ttl, 3600)
        let dk = try XCTUnwrap(sets.first { $0.name == "sel._domainkey.example.com." }?.records?.first?.content)
        XCTAssertEqual(dk, "\"" + String(dkim.prefix(255)) + "\" \"" + String(dkim.dropFirst(255)) + "\"")
        let body = String(decoding: try PowerDNSConvert.patchBody(cs), as: UTF8.self)
        XCTAssertTrue(body.hasPrefix(#"{"rrsets":[{"changetype":"DELETE","name":"old.example.com.","type":"A"}"#), body)
        XCTAssertTrue(body.contains(#"{"changetype":"REPLACE","name":"example.com.","records":[{"content":"10 mail.example.com.","disabled":false}],"ttl":3600,"type":"MX"}"#), body)
    }

    func testDuplicateKeyRejected() {
        let a = rr("x.example.com.", .a, 60, ["192.0.2.1"])
        let cs = ZoneChangeset(zone: zone, provider: "p", providerType: "powerdns", changes: [.create(a), .delete(a)])
        XCTAssertThrowsError(try PowerDNSConvert.patchRRsets(cs)) { XCTAssertTrue("\($0)".contains("x.example.com. A twice")) }
    }

    func testErrorTextAndChangesNamed() {
        XCTAssertEqual(PowerDNSConvert.errorText(Data(#"{"error":"boom","errors":["a","b"]}"#.utf8)), "boom (a; b)")
        XCTAssertNil(PowerDNSConvert.errorText(Data("Not Found".utf8)))
        let changes: [Change] = [
            .create(rr("www.example.com.", .cname, 60, ["web.example.net."])),
            .create(rr("mail.example.com.", .a, 60, ["192.0.2.1"])),
            .create(rr("mail.example.com.", .mx, 60, ["10 mail.example.com."])),
        ]
        XCTAssertEqual(ChangeNames.named(in: "RRset www.example.com. IN CNAME: Conflicts with pre-existing RRset", changes).map(\.key.description), ["www.example.com. CNAME"])
        XCTAssertEqual(ChangeNames.named(in: "Record mail.example.com./MX '10 x': Not in expected format", changes).map(\.key.description), ["mail.example.com. MX"])
        XCTAssertEqual(ChangeNames.named(in: "Name mail.example.com. is weird", changes).count, 2)
        XCTAssertEqual(ChangeNames.named(in: "something else", changes).count, 0)
        XCTAssertEqual(ChangeNames.named(in: "at email.example.com.", changes).count, 0, "word boundary")
    }
}

final class PowerDNSProviderUnitTests: XCTestCase {
    let zone = n("example.com")
    let key = Secret(value: "unit-test-key-123456", variable: "PDNS_API_KEY")

    func provider(_ server: FakeHTTPServer, rec: SleepRecorder = SleepRecorder()) -> PowerDNSProvider {
        PowerDNSProvider(name: "pdns", url: URL(string: server.url + "/")!, apiKey: key,
                         client: HTTPClient(options: HTTPClientOptions(totalTimeout: 5, retry: RetryPolicy(maxAttempts: 3)), sleep: rec.sleep))
    }

    func testReadSendsKeyAndDecodes() throws {
        let server = try FakeHTTPServer { _, _ in
            .init(200, #"{"name":"example.com.","rrsets":[{"name":"example.com.","type":"MX","ttl":60,"records":[{"content":"10 mail.example.com.","disabled":false}]}]}"#)
        }
        defer { server.stop() }
        XCTAssertEqual(try provider(server).readZone(zone), [rr("example.com.", .mx, 60, ["10 mail.example.com."])])
        XCTAssertEqual(server.requests[0].path, "/api/v1/servers/localhost/zones/example.com.")
        XCTAssertEqual(server.requests[0].headers["x-api-key"], key.value)
        XCTAssertEqual(server.requests[0].headers["accept"], "application/json")
    }

    func testRead500IsAnErrorNeverAnEmptyZone() throws {
        let server = try FakeHTTPServer { _, _ in .init(500, #"{"error":"backend exploded"}"#) }
        defer { server.stop() }
        XCTAssertThrowsError(try provider(server).readZone(zone)) { e in
            let s = "\(e)"
            XCTAssertTrue(e is ProviderError)
            XCTAssertTrue(s.contains("example.com."), s)
            XCTAssertTrue(s.contains("GET \(server.url)/api/v1/servers/localhost/zones/example.com."), s)
            XCTAssertTrue(s.contains("HTTP 500"), s)
            XCTAssertTrue(s.contains("backend exploded"), s)
        }
    }

    func testReadUndecodable200() throws {
        let server = try FakeHTTPServer { _, _ in .init(200, "<html>hello</html>") }
        defer { server.stop() }
        XCTAssertThrowsError(try provider(server).readZone(zone)) { e in
            XCTAssertTrue("\(e)".contains("HTTP 200 with a body that cannot be used"), "\(e)")
        }
    }

    func testOldStyle422NotFoundAnd401() throws {
        let server = try FakeHTTPServer { req, _ in
            req.path.contains("missing") ? .init(422, #"{"error":"Could not find domain 'missing.example.'"}"#) : .init(401, "Unauthorized")
        }
        defer { server.stop() }
        XCTAssertThrowsError(try provider(server).readZone(n("missing.example"))) { e in
            XCTAssertEqual("\(e)", "provider pdns: zone missing.example. does not exist on PowerDNS server \(server.url) (server_id localhost)")
        }
        XCTAssertThrowsError(try provider(server).readZone(zone)) { e in
            XCTAssertTrue("\(e)".hasPrefix("provider pdns: rejected the API key (check api_key / PDNS_API_KEY)"), "\(e)")
        }
    }

    func testReplaceOnlyPatchRetriedOn500() throws {
        let server = try FakeHTTPServer { _, i in i == 0 ? .init(500, #"{"error":"database is locked"}"#) : .init(204) }
        defer { server.stop() }
        let rec = SleepRecorder()
        try provider(server, rec: rec).apply(ZoneChangeset(zone: zone, provider: "pdns", providerType: "powerdns",
                                                           changes: [.create(rr("example.com.", .mx, 60, ["10 mail.example.com."]))]))
        XCTAssertEqual(server.requests.count, 2)
        XCTAssertEqual(rec.waits.count, 1)
        XCTAssertEqual(server.requests[1].method, "PATCH")
        XCTAssertEqual(server.requests[1].headers["content-type"], "application/json")
    }

    func testPatchWithDeleteNotRetriedOn500() throws {
        let server = try FakeHTTPServer { _, _ in .init(500, #"{"error":"database is locked"}"#) }
        defer { server.stop() }
        let cs = ZoneChangeset(zone: zone, provider: "pdns", providerType: "powerdns",
                               changes: [.delete(rr("old.example.com.", .a, 60, ["192.0.2.1"]))])
        XCTAssertThrowsError(try provider(server).apply(cs)) { e in
            let ae = e as! ApplyError
            XCTAssertTrue(ae.applied.isEmpty)
            XCTAssertTrue(ae.reason.contains("HTTP 500"), ae.reason)
        }
        XCTAssertEqual(server.requests.count, 1)
    }

    func testPatch422NamesTheRRset() throws {
        let server = try FakeHTTPServer { _, _ in .init(422, #"{"error":"RRset www.example.com. IN CNAME: Conflicts with pre-existing RRset"}"#) }
        defer { server.stop() }
        let cname = Change.create(rr("www.example.com.", .cname, 60, ["web.example.net."]))
        let mx = Change.create(rr("example.com.", .mx, 60, ["10 mail.example.com."]))
        XCTAssertThrowsError(try provider(server).apply(ZoneChangeset(zone: zone, provider: "pdns", providerType: "powerdns", changes: [cname, mx]))) { e in
            let ae = e as! ApplyError
            XCTAssertEqual(ae.failed, [cname])
            XCTAssertEqual(ae.notAttempted, [mx])
            XCTAssertTrue(ae.applied.isEmpty)
            XCTAssertEqual(ae.reason, #"PowerDNS refused the change to www.example.com. CNAME (HTTP 422): "RRset www.example.com. IN CNAME: Conflicts with pre-existing RRset"; nothing was applied (the PATCH is atomic)"#)
        }
        XCTAssertEqual(server.requests.count, 1, "422 is never retried")
    }

    func testEmptyChangesetSendsNothing() throws {
        let server = try FakeHTTPServer { _, _ in .init(500) }
        defer { server.stop() }
        try provider(server).apply(ZoneChangeset(zone: zone, provider: "pdns", providerType: "powerdns", changes: []))
        XCTAssertEqual(server.requests.count, 0)
    }

    func testConfigFromRegistry() throws {
        func config(_ s: [String: PlanValue]) -> ProviderConfig {
            ProviderConfig(name: "pdns", type: "powerdns", location: nil, settings: s, baseDirectory: URL(fileURLWithPath: "/tmp"))
        }
        let keyValue = PlanValue(text: "k", location: nil, secret: Secret(value: "k", variable: "PDNS_API_KEY"))
        let p = try ProviderRegistry.make(config(["url": PlanValue(text: "http://127.0.0.1:8081/api/v1/", location: nil), "api_key": keyValue]))
        XCTAssertEqual(p.typeName, "powerdns")
        XCTAssertEqual((p as! PowerDNSProvider).baseURL.absoluteString, "http://127.0.0.1:8081")
        XCTAssertEqual((p as! PowerDNSProvider).serverID, "localhost")
        XCTAssertEqual(p.capabilities.applyMode, .atomic)
        XCTAssertThrowsError(try ProviderRegistry.make(config(["url": PlanValue(text: "http://dns.example.com:8081", location: nil), "api_key": keyValue]))) {
            XCTAssertTrue("\($0)".contains("in clear"), "\($0)")
        }
        XCTAssertNoThrow(try ProviderRegistry.make(config(["url": PlanValue(text: "http://dns.example.com:8081", location: nil), "api_key": keyValue,
                                                           "insecure": PlanValue(text: "true", location: nil)])))
        XCTAssertThrowsError(try ProviderRegistry.make(config(["url": PlanValue(text: "https://x", location: nil),
                                                               "api_key": PlanValue(text: "literal", location: nil)]))) {
            XCTAssertTrue("\($0)".contains("secret"), "\($0)")
        }
        XCTAssertThrowsError(try ProviderRegistry.make(config(["url": PlanValue(text: "https://x", location: nil), "api_key": keyValue,
                                                               "server": PlanValue(text: "x", location: nil)]))) {
            XCTAssertTrue("\($0)".contains("server_id"), "\($0)")
        }
        // write_concurrency: the default 1 (sqlite takes one write at a time), or the setting,
        // drives the engine's writer.
        XCTAssertEqual(p.capabilities.writeConcurrency, 1)
        let url = PlanValue(text: "http://127.0.0.1:8081", location: nil)
        XCTAssertEqual(try ProviderRegistry.make(config(["url": url, "api_key": keyValue,
                                                         "write_concurrency": PlanValue(text: "8", location: nil)])).capabilities.writeConcurrency, 8)
        XCTAssertThrowsError(try ProviderRegistry.make(config(["url": url, "api_key": keyValue,
                                                               "write_concurrency": PlanValue(text: "0", location: SourceLocation(file: "p.yaml", line: 5, column: 24))]))) {
            XCTAssertEqual("\($0)", "p.yaml:5:24: error: providers.pdns: 'write_concurrency' must be an integer from 1 to 32, got '0'")
        }
    }
}
