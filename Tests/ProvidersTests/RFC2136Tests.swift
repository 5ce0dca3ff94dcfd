import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}

final class RFC2136ProviderTests: XCTestCase {
    func config(_ settings: [String: String], secret: String? = "c2VjcmV0LWtleS1mb3ItdGVzdHM=") -> ProviderConfig {
        var s = settings.mapValues { PlanValue(text: $0, location: SourceLocation(file: "p.yaml", line: 6, column: 20)) }
        if let secret {
            s["tsig_secret"] = PlanValue(text: secret, location: SourceLocation(file: "p.yaml", line: 9, column: 18),
                                         secret: Secret(value: secret, variable: "TSIG_SECRET"))
        }
        return ProviderConfig(name: "ns", type: "rfc2136", location: SourceLocation(file: "p.yaml", line: 4, column: 3),
                              settings: s, baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    func testParseServer() {
        XCTAssertEqual(RFC2136Provider.parseServer("192.0.2.53").map { "\($0.0)|\($0.1)" }, "192.0.2.53|53")
        XCTAssertEqual(RFC2136Provider.parseServer("127.0.0.1:15354").map { "\($0.0)|\($0.1)" }, "127.0.0.1|15354")
        XCTAssertEqual(RFC2136Provider.parseServer("2001:db8::53").map { "\($0.0)|\($0.1)" }, "2001:db8::53|53")
        XCTAssertEqual(RFC2136Provider.parseServer("[2001:db8::53]:5353").map { "\($0.0)|\($0.1)" }, "2001:db8::53|5353")
        XCTAssertNil(RFC2136Provider.parseServer("ns1.example.com:53"))
        XCTAssertNil(RFC2136Provider.parseServer("127.0.0.1:0"))
        XCTAssertNil(RFC2136Provider.parseServer("127.0.0.1:99999"))
        XCTAssertNil(RFC2136Provider.parseServer("[2001:db8::53"))
    }

    func testConfigErrorsNameFileLineColumn() throws {
        XCTAssertThrowsError(try RFC2136Provider(config: config(["server": "ns1.example.com", "tsig_key_name": "k"]))) {
            XCTAssertEqual("\($0)", "p.yaml:6:20: error: providers.ns: 'server' must be an IP address with an optional port, such as 192.0.2.53:53 or [2001:db8::53]:53, got 'ns1.example.com'")
        }
        XCTAssertThrowsError(try RFC2136Provider(config: config(["server": "127.0.0.1", "tsig_key_name": "k", "tsig_algorithm": "hmac-sha257"]))) {
            XCTAssertEqual("\($0)", "p.yaml:6:20: error: providers.ns: unknown tsig_algorithm 'hmac-sha257'; did you mean 'hmac-sha256'? (valid algorithms: hmac-md5, hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512)")
        }
        XCTAssertThrowsError(try RFC2136Provider(config: config(["server": "127.0.0.1", "tsig_key_name": "k"], secret: "not base64!"))) {
            XCTAssertEqual("\($0)", "p.yaml:9:18: error: providers.ns: the TSIG secret in ${TSIG_SECRET} is not base64 (use the secret \"…\" value that tsig-keygen prints)")
        }
        XCTAssertThrowsError(try RFC2136Provider(config: config(["server": "127.0.0.1", "tsig_key_name": "k", "tsig_secret": "literal"], secret: nil))) {
            XCTAssertEqual("\($0)", "p.yaml:6:20: error: providers.ns: 'tsig_secret' is a secret: write it as ${ENV_VAR} and set the variable, never the value itself")
        }
        XCTAssertThrowsError(try RFC2136Provider(config: config(["server": "127.0.0.1"]))) {
            XCTAssertEqual("\($0)", "p.yaml:4:3: error: providers.ns: missing required setting 'tsig_key_name'")
        }
        let p = try RFC2136Provider(config: config(["server": "[::1]:5300", "tsig_key_name": "Mailplan", "timeout": "3"]))
        XCTAssertEqual(p.server, "[::1]:5300")
        XCTAssertEqual(p.keyName, "mailplan.")
        XCTAssertEqual(p.algorithm, "hmac-sha256")
        XCTAssertEqual(p.endpoint.algorithm, "hmac-sha256.")
        XCTAssertEqual(p.endpoint.timeout, 3)
    }

    /// One message: "RRset does not exist" for a create, "exactly these values" for an update
    /// or delete; delete-RRset + add in the same message; TXT in ≤255-byte strings.
    func testMessageLayout() throws {
        let p = RFC2136Provider(name: "ns", address: "127.0.0.1", keyName: "k", secret: Secret(value: "c2VjcmV0", variable: "S"))
        let k = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        let cs = ZoneChangeset(zone: n("example.com"), provider: "ns", providerType: "rfc2136", changes: [
            .create(RRset(name: n("sel._domainkey.example.com"), type: .txt, ttl: 3600, rdata: [.txt(k)])),
            .update(from: rr("example.com.", .mx, 300, ["10 old.example.net."]), to: rr("example.com.", .mx, 3600, ["10 mail.example.com."])),
            .delete(rr("old.example.com.", .a, 60, ["192.0.2.9"])),
        ])
        let m = try p.message(cs)
        func show(_ i: RFC2136Convert.Item) -> String {
            switch i {
            case .exactly(let l): return "exactly " + l.joined(separator: " | ")
            case .absent(let nm, let t): return "absent \(nm.fqdn) \(t)"
            case .deleteSet(let nm, let t): return "delete \(nm.fqdn) \(t)"
            case .add(let l): return "add " + l
            }
        }
        XCTAssertEqual(m.prerequisites.map(show), [
            "absent sel._domainkey.example.com. TXT",
            "exactly example.com. 300 IN MX 10 old.example.net.",
            "exactly old.example.com. 60 IN A 192.0.2.9",
        ])
        XCTAssertEqual(m.updates.map(show), [
            "add sel._domainkey.example.com. 3600 IN TXT \"\(k.prefix(255))\" \"\(k.dropFirst(255))\"",
            "delete example.com. MX",
            "add example.com. 3600 IN MX 10 mail.example.com.",
            "delete old.example.com. A",
        ])
    }

    func testNoServerIsAClearError() throws {
        // A loopback port nobody listens on: TCP connect is refused at once.
        let p = RFC2136Provider(name: "ns", address: "127.0.0.1", port: 9, keyName: "k", secret: Secret(value: "c2VjcmV0", variable: "S"), timeout: 2)
        XCTAssertThrowsError(try p.readZone(n("example.com"))) {
            XCTAssertTrue("\($0)".hasPrefix("provider ns: no answer from the primary 127.0.0.1:9 over TCP within 2 s for the zone transfer (AXFR) of example.com. ("), "\($0)")
        }
    }
}
