import XCTest
@testable import MailPlan

/// check_host(), flattening and the split layout over an in-memory DNS.
final class SPFEvaluatorTests: XCTestCase {
    /// name → records in zone-file form, per type.
    func lookup(_ zone: [String: [(RRType, String)]]) -> SPFDNSLookup {
        { name, type in
            try (zone[name.withoutTrailingDot] ?? []).filter { $0.0 == type }.map { try RData.parse(type: $0.0, $0.1, origin: .root) }
        }
    }
    let zone: [String: [(RRType, String)]] = [
        "example.com": [(.txt, "\"v=spf1 mx include:_spf.example.net ~all\""), (.mx, "10 mail.example.com.")],
        "mail.example.com": [(.a, "192.0.2.25"), (.aaaa, "2001:db8::25")],
        "_spf.example.net": [(.txt, "\"v=spf1 ip4:198.51.100.0/24 -ip4:203.0.113.5 exists:%{i}.allow.example.net ?all\"")],
        "203.0.113.9.allow.example.net": [(.a, "127.0.0.2")],
        "redir.example.org": [(.txt, "\"v=spf1 redirect=example.com\"")],
    ]

    func testCheckHostResults() throws {
        let ev = SPFEvaluator(lookup: lookup(zone))
        let d = try DomainName("example.com")
        func r(_ ip: String, _ dom: String = "example.com") throws -> String {
            let (res, why) = ev.checkHost(SPFAddress(ip)!, domain: try DomainName(dom))
            return "\(res.rawValue): \(why)"
        }
        XCTAssertEqual(try r("192.0.2.25"), "pass: matched 'mx' in example.com")
        XCTAssertEqual(try r("2001:db8::25"), "pass: matched 'mx' in example.com")
        XCTAssertEqual(try r("198.51.100.77"), "pass: matched 'include:_spf.example.net' in example.com")
        // -ip4 in the include: the include does not match; the outer ~all does.
        XCTAssertEqual(try r("203.0.113.5"), "softfail: matched '~all' in example.com")
        // exists with the %{i} macro.
        XCTAssertEqual(try r("203.0.113.9"), "pass: matched 'include:_spf.example.net' in example.com")
        XCTAssertEqual(try r("192.0.2.254", "redir.example.org"), "softfail: matched '~all' in example.com")
        XCTAssertEqual(try r("192.0.2.254", "none.example.org"), "none: none.example.org has no SPF record")
        let planned = try SPFRecord.parse("v=spf1 include:gone.example.net -all")
        XCTAssertEqual(ev.checkHost(SPFAddress("192.0.2.1")!, domain: d, record: planned).result, .permerror)
    }

    func testFlattenAndRefusals() throws {
        let ev = SPFEvaluator(lookup: lookup(zone.merging([
            "flat.example.net": [(.txt, "\"v=spf1 ip4:198.51.100.9 ip4:192.0.2.0/24 a:mail.example.com include:n.example.net -all\"")],
            "n.example.net": [(.txt, "\"v=spf1 ip6:2001:db8:1::/48 ip4:192.0.2.0/24 ~all\"")],
        ]) { a, _ in a }))
        XCTAssertEqual(try ev.flatten(try DomainName("flat.example.net")),
                       ["ip4:192.0.2.0/24", "ip4:192.0.2.25", "ip4:198.51.100.9", "ip6:2001:db8::25", "ip6:2001:db8:1::/48"])
        XCTAssertThrowsError(try ev.flatten(try DomainName("_spf.example.net"))) {
            XCTAssertEqual("\($0)", "cannot flatten include:_spf.example.net: '-ip4:203.0.113.5' in _spf.example.net has a fail qualifier; a list of passing ranges cannot say that")
        }
        XCTAssertThrowsError(try ev.flatten(try DomainName("gone.example.net"))) {
            XCTAssertEqual("\($0)", "cannot flatten include:gone.example.net: gone.example.net has no SPF record")
        }
    }

    /// Over 450 bytes: the apex includes _spf1, which chains to _spf2; each part ≤ 450 bytes.
    func testLayoutSplitsIntoAChain() throws {
        let ranges = (0..<40).map { "ip4:198.51.\($0).0/24" }
        let (apex, parts) = SPFPlanning.layout(domain: try DomainName("example.com"), before: ["mx"], ranges: ranges, after: [], all: "-all")
        XCTAssertEqual(apex, "v=spf1 mx include:_spf1.example.com -all")
        XCTAssertEqual(parts.map(\.name.fqdn), ["_spf1.example.com.", "_spf2.example.com."])
        XCTAssertEqual(parts.map(\.value.utf8.count), [440, 348])
        XCTAssertTrue(parts[0].value.hasSuffix(" ip4:198.51.21.0/24 include:_spf2.example.com"), parts[0].value)
        XCTAssertTrue(parts[1].value.hasPrefix("v=spf1 ip4:198.51.22.0/24 "), parts[1].value)
        XCTAssertTrue(parts[1].value.hasSuffix(" ip4:198.51.39.0/24"), parts[1].value)
        let small = SPFPlanning.layout(domain: try DomainName("example.com"), before: [], ranges: ["ip4:192.0.2.0/24"], after: ["mx"], all: "~all")
        XCTAssertEqual(small.apex, "v=spf1 ip4:192.0.2.0/24 mx ~all")
        XCTAssertEqual(small.parts.count, 0)
    }

    func testLoaderSendersFlattenAndExpected() throws {
        let base = """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: x.zone}}
        domains:
          - name: example.com

        """
        let plan = try loadPlan(base + "    spf: {senders: [mx, {include: _spf.example.net, flatten: true}], senders_expected: [192.0.2.25, \"2001:db8::1\"]}\n")
        XCTAssertEqual(plan.domains[0].spf?.record, "v=spf1 mx include:_spf.example.net -all")
        XCTAssertEqual(plan.domains[0].spf?.flatten, ["_spf.example.net"])
        XCTAssertEqual(plan.domains[0].spf?.sendersExpected.map(\.description), ["192.0.2.25", "2001:db8::1"])
        XCTAssertEqual(diagnostics(base + "    spf: {senders: [{include: _spf.example.net, flaten: true}], senders_expected: [mail]}\n"), [
            "test.yaml:6:49: error: domains[example.com].spf.senders[0]: unknown key 'flaten'; did you mean 'flatten'? (valid keys: include, flatten)",
            "test.yaml:6:84: error: domains[example.com].spf.senders_expected: 'mail' is not an IPv4 or IPv6 address",
        ])
    }
}
