import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// The resolver and the checks of issue 4 against the real PowerDNS (queries over ldns to
/// `MAILPLAN_PDNS_DNS`), plus a loopback UDP fake for SERVFAIL, truncation and silence.
final class LiveDNSTests: XCTestCase {
    var pdns: PDNSServer!
    var zones: [DomainName] = []

    override func setUpWithError() throws { pdns = try PDNSServer.fromEnvironment() }
    override func tearDown() { for z in zones { pdns?.deleteZone(z) } }

    func zone(_ z: DomainName, nameservers: [String] = ["ns1.example.net.", "ns2.example.net."], _ sets: [RRset]) throws {
        try pdns.createZone(z, nameservers: nameservers, sets)
        zones.append(z)
    }

    var resolver: Resolver { Resolver(options: ResolverOptions(timeout: 1, attempts: 2, recursionDesired: false)) }

    // MARK: resolver

    func testQueryDecodesExactRRsetsOverUDP() throws {
        let z = uniqueZone()
        try zone(z, [rrset("@", z, .mx, 300, ["10 mail.example.com.", "20 backup.example.com."]),
                     rrset("mail", z, .a, 600, ["192.0.2.25", "192.0.2.26"]),
                     rrset("@", z, .txt, 3600, ["v=spf1 mx -all"])])
        let mx = try resolver.query(z, .mx, at: pdns.dns)
        XCTAssertEqual(mx.rcode, .noError)
        XCTAssertTrue(mx.authoritative)
        XCTAssertEqual(mx.transport, .udp)
        XCTAssertEqual(mx.rrset, rrset("@", z, .mx, 300, ["10 mail.example.com.", "20 backup.example.com."]))
        let a = try resolver.query(z.prepending("mail"), .a, at: pdns.dns)
        XCTAssertEqual(a.answer, [rrset("mail", z, .a, 600, ["192.0.2.25", "192.0.2.26"])])
        let txt = try resolver.query(z, .txt, at: pdns.dns)
        XCTAssertEqual(txt.answerRecords.map(\.txtStrings), [["v=spf1 mx -all"]])
    }

    func testNXDOMAINNodataAndRefusedAreAnswersNotErrors() throws {
        let z = uniqueZone()
        try zone(z, [rrset("www", z, .a, 60, ["192.0.2.10"])])
        let nx = try resolver.query(z.prepending("nope"), .a, at: pdns.dns)
        XCTAssertEqual(nx.rcode, .nxDomain)
        XCTAssertTrue(nx.isEmpty)
        XCTAssertEqual(nx.authorityRecords.map(\.rdata.type), [.soa])
        let nodata = try resolver.query(z.prepending("www"), .aaaa, at: pdns.dns)
        XCTAssertEqual(nodata.rcode, .noError)
        XCTAssertTrue(nodata.isEmpty)
        let refused = try resolver.query(try DomainName("not-hosted.invalid"), .a, at: pdns.dns)
        XCTAssertEqual(refused.rcode, .refused)
    }

    func testTruncatedUDPAnswerIsRepeatedOverTCP() throws {
        let z = uniqueZone()
        let values = (1...12).map { i in "record-\(i)-" + String(repeating: "x", count: 150) }
        try zone(z, [rrset("big", z, .txt, 300, values)])
        var small = resolver
        small.options.ednsBufferSize = 512
        let a = try small.query(z.prepending("big"), .txt, at: pdns.dns)
        XCTAssertEqual(a.transport, .tcp)
        XCTAssertEqual(a.rcode, .noError)
        XCTAssertEqual(Set(a.answerRecords.compactMap(\.rdata.txtValue)), Set(values))
        // With the default 1232-byte EDNS buffer the same answer (~2 KB) is also too big for UDP.
        XCTAssertEqual(try resolver.query(z.prepending("big"), .txt, at: pdns.dns).transport, .tcp)
    }

    func testSilentServerTimesOutWithinTheBoundAndNamesServerAndName() throws {
        let fake = try FakeUDPNameServer(.silent)
        defer { fake.stop() }
        let r = Resolver(options: ResolverOptions(timeout: 0.5, attempts: 2, recursionDesired: false))
        let name = try DomainName("mail.example.com")
        let start = Date()
        XCTAssertThrowsError(try r.query(name, .a, at: fake.server)) { e in
            XCTAssertEqual("\(e)", "DNS query mail.example.com. A to 127.0.0.1:\(fake.port): no answer within 0.5 s per attempt, 2 attempts (server unreachable or not answering)")
        }
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 2.0)
        XCTAssertGreaterThanOrEqual(elapsed, 0.9)
    }

    func testServfailIsAnAnswerAndTruncationWithoutTCPIsAClearError() throws {
        let sf = try FakeUDPNameServer(.rcode(2))
        defer { sf.stop() }
        let name = try DomainName("example.com")
        let a = try resolver.query(name, .mx, at: sf.server)
        XCTAssertEqual(a.rcode, .servFail)
        XCTAssertEqual(a.server, sf.server)

        let tc = try FakeUDPNameServer(.truncated)
        defer { tc.stop() }
        XCTAssertThrowsError(try resolver.query(name, .txt, at: tc.server)) { e in
            XCTAssertEqual("\(e)", "DNS query example.com. TXT to 127.0.0.1:\(tc.port): the UDP answer was truncated and the query over TCP got no answer (General LDNS error; 1 s per attempt, 2 attempts)")
        }
    }

    // MARK: FCrDNS and PTR

    /// Reverse zones with a right PTR (.25, ::25), a wrong PTR (.26) and a PTR whose name
    /// lacks the address (.27, ::27).
    func reverseZones(host: String) throws -> (DomainName, DomainName) {
        let v4 = try DomainName("2.0.192.in-addr.arpa"), v6 = try DomainName("8.b.d.0.1.0.0.2.ip6.arpa")
        try zone(v4, [rrset("25", v4, .ptr, 3600, [host]), rrset("26", v4, .ptr, 3600, ["wrong.example.net."]),
                      rrset("27", v4, .ptr, 3600, [host])])
        let n25 = IPv6Address("2001:db8::25")!.reverseName, n27 = IPv6Address("2001:db8::27")!.reverseName
        try zone(v6, [RRset(name: n25, type: .ptr, ttl: 3600, rdata: [.ptr(try DomainName(host))]),
                      RRset(name: n27, type: .ptr, ttl: 3600, rdata: [.ptr(try DomainName(host))])])
        return (v4, v6)
    }

    func plan(host: String, v4: [String], v6: [String], zone z: DomainName, extra: String = "", domain: String = "") throws -> MailPlan {
        try loadPlan("""
        version: 1
        server: {hostname: \(host), ipv4: [\(v4.joined(separator: ", "))], ipv6: [\(v6.joined(separator: ", "))]}
        providers: {pdns: {type: powerdns, url: "http://127.0.0.1:1", api_key: "${K}"}}
        dns:
          resolvers: ["${DNS}"]
          timeout: 1
        \(extra)
        domains:
          - name: \(z.withoutTrailingDot)
            \(domain)
        """, env: ["K": "k", "DNS": pdns.dns.description])
    }

    func testFCrDNSPassAndBothFailureModes() throws {
        let z = uniqueZone()
        let host = "mail.\(z.fqdn)"
        try zone(z, [rrset("mail", z, .a, 3600, ["192.0.2.25", "192.0.2.26"]), rrset("mail", z, .aaaa, 3600, ["2001:db8::25"])])
        _ = try reverseZones(host: host)
        let p = try plan(host: host, v4: ["192.0.2.25", "192.0.2.26", "192.0.2.27", "192.0.2.28"], v6: ["2001:db8::25", "2001:db8::27"], zone: z)
        let f = Checker(plan: p, live: LiveDNS(settings: p.dns), now: Date()).fcrdns()
        let rev28 = "28.2.0.192.in-addr.arpa."
        XCTAssertEqual(f, [
            Finding(.ok, "fcrdns", "192.0.2.25", "PTR is \(host) and \(host) A holds 192.0.2.25", expected: host, actual: host),
            Finding(.error, "fcrdns", "192.0.2.26", "PTR of 192.0.2.26 is wrong.example.net., not \(host); set PTR for 192.0.2.26 to \(host) at your IP provider", expected: host, actual: "wrong.example.net."),
            Finding(.error, "fcrdns", "192.0.2.27", "PTR of 192.0.2.27 is \(host) but \(host) A does not hold 192.0.2.27 (served: 192.0.2.25, 192.0.2.26); forward-confirmed reverse DNS fails", expected: "192.0.2.27", actual: "192.0.2.25, 192.0.2.26"),
            Finding(.error, "fcrdns", "192.0.2.28", "no PTR for 192.0.2.28 (\(rev28) answered NXDOMAIN from \(pdns.dns)); set PTR for 192.0.2.28 to \(host) at your IP provider", expected: host, actual: "NXDOMAIN"),
            Finding(.ok, "fcrdns", "2001:db8::25", "PTR is \(host) and \(host) AAAA holds 2001:db8::25", expected: host, actual: host),
            Finding(.error, "fcrdns", "2001:db8::27", "PTR of 2001:db8::27 is \(host) but \(host) AAAA does not hold 2001:db8::27 (served: 2001:db8::25); forward-confirmed reverse DNS fails", expected: "2001:db8::27", actual: "2001:db8::25"),
        ])
    }

    // MARK: DNSBL

    func testDNSBLListedNotListedAndRefused() throws {
        let z = uniqueZone(), bl = uniqueZone("bl"), dbl = uniqueZone("dbl")
        try zone(z, [])
        try zone(bl, [rrset("25.2.0.192", bl, .a, 60, ["127.0.0.2"]), rrset("25.2.0.192", bl, .txt, 60, ["listed for testing"]),
                      rrset("27.2.0.192", bl, .a, 60, ["127.255.255.254"])])
        try zone(dbl, [rrset(z.withoutTrailingDot, dbl, .a, 60, ["127.0.1.2"])])
        let p = try plan(host: "mail.\(z.fqdn)", v4: ["192.0.2.25", "192.0.2.26", "192.0.2.27"], v6: [], zone: z,
                         extra: "check: {dnsbl: {ip: [\(bl.withoutTrailingDot)], domain: [\(dbl.withoutTrailingDot)]}}")
        let f = Checker(plan: p, live: LiveDNS(settings: p.dns), now: Date()).dnsbl()
        let b = bl.withoutTrailingDot
        XCTAssertEqual(f, [
            Finding(.error, "dnsbl", "192.0.2.25", "listed on \(b) (25.2.0.192.\(bl.fqdn) A 127.0.0.2): listed for testing", expected: "NXDOMAIN", actual: "127.0.0.2"),
            Finding(.ok, "dnsbl", "192.0.2.26", "not listed on \(b)", expected: "NXDOMAIN", actual: "NXDOMAIN"),
            Finding(.warning, "dnsbl", "192.0.2.27", "not checked on \(b): the list refused the query (127.255.255.254); use a resolver of your own, not a public one", actual: "127.255.255.254"),
            Finding(.error, "dnsbl", z.withoutTrailingDot, "listed on \(dbl.withoutTrailingDot) (\(z.fqdn)\(dbl.fqdn) A 127.0.1.2)", expected: "NXDOMAIN", actual: "127.0.1.2"),
        ])
    }

    // MARK: SPF

    func testSPFLookupCountPerMechanismOverTheLimit() throws {
        let z = uniqueZone()
        func n(_ s: String) -> DomainName { try! DomainName(s, relativeTo: z) }
        let d = z.withoutTrailingDot
        try zone(z, [
            rrset("@", z, .txt, 60, ["v=spf1 mx a include:s1.\(d) include:s2.\(d) -all"]),
            rrset("@", z, .mx, 60, ["10 mail.\(d)."]), rrset("@", z, .a, 60, ["192.0.2.1"]),
            rrset("s1", z, .txt, 60, ["v=spf1 a:h1.\(d) a:h2.\(d) include:s3.\(d) ~all"]),
            rrset("s2", z, .txt, 60, ["v=spf1 exists:h3.\(d) mx:\(d) ptr ?all"]),
            rrset("s3", z, .txt, 60, ["v=spf1 a:h4.\(d) redirect=s4.\(d)"]),
            rrset("s4", z, .txt, 60, ["v=spf1 ip4:192.0.2.0/24 -all"]),
            rrset("h1", z, .a, 60, ["192.0.2.11"]), rrset("h2", z, .a, 60, ["192.0.2.12"]),
            rrset("h3", z, .a, 60, ["127.0.0.2"]), rrset("h4", z, .aaaa, 60, ["2001:db8::4"]),
        ])
        let live = LiveDNS(settings: DNSSettings(resolvers: [pdns.dns], timeout: 1, configured: true))
        let e = try SPFEvaluator(lookup: SPFEvaluator.live(live)).evaluate(z)
        XCTAssertEqual(e.lookups.map(\.description), [
            "mx (in \(z.withoutTrailingDot))",
            "a (in \(z.withoutTrailingDot))",
            "include:s1.\(d) (in \(z.withoutTrailingDot))",
            "a:h1.\(d) (in \(n("s1").withoutTrailingDot))",
            "a:h2.\(d) (in \(n("s1").withoutTrailingDot))",
            "include:s3.\(d) (in \(n("s1").withoutTrailingDot))",
            "a:h4.\(d) (in \(n("s3").withoutTrailingDot))",
            "redirect=s4.\(d) (in \(n("s3").withoutTrailingDot))",
            "include:s2.\(d) (in \(z.withoutTrailingDot))",
            "exists:h3.\(d) (in \(n("s2").withoutTrailingDot))",
            "mx:\(d) (in \(n("s2").withoutTrailingDot))",
            "ptr (in \(n("s2").withoutTrailingDot))",
        ])
        XCTAssertEqual(e.lookupCount, 12)
        XCTAssertEqual(e.voidCount, 0)
        XCTAssertEqual(e.errors, ["s2.\(d): 'ptr' is slow and unreliable and must not be used (RFC 7208 §5.5)"])

        let p = try plan(host: "mail.\(z.fqdn)", v4: ["192.0.2.25"], v6: [], zone: z,
                         domain: "spf: {senders: [mx, a, \"include:s1.\(d)\", \"include:s2.\(d)\"]}")
        let f = Checker(plan: p, live: live, now: Date()).spf(p.domains[0])
        XCTAssertEqual(f.map(\.severity), [.error, .error])
        XCTAssertEqual(f[0].message, "12 DNS lookups (limit 10): receivers return permerror: mx (in \(d)), a (in \(d)), include:s1.\(d) (in \(d)), a:h1.\(d) (in s1.\(d)), a:h2.\(d) (in s1.\(d)), include:s3.\(d) (in s1.\(d)), a:h4.\(d) (in s3.\(d)), redirect=s4.\(d) (in s3.\(d)), include:s2.\(d) (in \(d)), exists:h3.\(d) (in s2.\(d)), mx:\(d) (in s2.\(d)), ptr (in s2.\(d))")
        XCTAssertEqual(f[0].actual, "12")
        XCTAssertEqual(f[1].message, "s2.\(d): 'ptr' is slow and unreliable and must not be used (RFC 7208 §5.5)")
    }

    func testSPFVoidLookupsAndPlusAll() throws {
        let z = uniqueZone()
        let d = z.withoutTrailingDot
        try zone(z, [rrset("@", z, .txt, 60, ["v=spf1 a:nx1.\(d) mx:nx2.\(d) exists:nx3.\(d) include:inc.\(d) +all"]),
                     rrset("inc", z, .txt, 60, ["v=spf1 ip4:192.0.2.0/24 -all"])])
        let live = LiveDNS(settings: DNSSettings(resolvers: [pdns.dns], timeout: 1, configured: true))
        let e = try SPFEvaluator(lookup: SPFEvaluator.live(live)).evaluate(z)
        XCTAssertEqual(e.lookups.map(\.description), ["a:nx1.\(d) (in \(d)) void", "mx:nx2.\(d) (in \(d)) void", "exists:nx3.\(d) (in \(d)) void", "include:inc.\(d) (in \(d))"])
        XCTAssertEqual(e.lookupCount, 4)
        XCTAssertEqual(e.voidCount, 3)
        XCTAssertEqual(e.errors, ["\(d): '+all' lets any host send as this domain"])
        let p = try plan(host: "mail.\(z.fqdn)", v4: ["192.0.2.25"], v6: [], zone: z, domain: "spf: {senders: [mx]}")
        let f = Checker(plan: p, live: live, now: Date()).spf(p.domains[0])
        XCTAssertEqual(f, [
            Finding(.ok, "spf", d, "4 DNS lookups (limit 10): a:nx1.\(d) (in \(d)) void, mx:nx2.\(d) (in \(d)) void, exists:nx3.\(d) (in \(d)) void, include:inc.\(d) (in \(d))", expected: "<= 10", actual: "4"),
            Finding(.error, "spf", d, "3 void lookups (limit 2): a:nx1.\(d) (in \(d)) void, mx:nx2.\(d) (in \(d)) void, exists:nx3.\(d) (in \(d)) void", expected: "<= 2", actual: "3"),
            Finding(.error, "spf", d, "\(d): '+all' lets any host send as this domain"),
            Finding(.error, "spf", d, "served SPF differs from the plan", expected: "v=spf1 mx -all", actual: "v=spf1 a:nx1.\(d) mx:nx2.\(d) exists:nx3.\(d) include:inc.\(d) +all"),
        ])
    }

    // MARK: delegation

    func testDelegationMismatchAndMatch() throws {
        let parent = uniqueZone("p")
        let child = parent.prepending("child"), other = parent.prepending("other")
        try zone(parent, [rrset("child", parent, .ns, 3600, ["ns.wrong.example."]),
                          rrset("other", parent, .ns, 3600, ["ns1.right.example.", "ns2.right.example."])])
        let settings = DNSSettings(authoritative: [parent: [pdns.dns]], timeout: 1, configured: true)
        let p = try plan(host: "mail.example.com", v4: ["192.0.2.25"], v6: [], zone: child)
        let right: Set<DomainName> = [try DomainName("ns1.right.example"), try DomainName("ns2.right.example")]
        let checker = Checker(plan: p, live: LiveDNS(settings: settings), now: Date(), providerNS: { _ in right })
        XCTAssertEqual(checker.delegation(child), [
            Finding(.error, "delegation", child.fqdn, "the zone is not delegated to this provider: the parent serves NS ns.wrong.example.; the provider holds NS ns1.right.example., ns2.right.example.",
                    expected: "ns1.right.example., ns2.right.example.", actual: "ns.wrong.example."),
        ])
        XCTAssertEqual(checker.delegation(other), [
            Finding(.ok, "delegation", other.fqdn, "parent NS equals the provider's NS", expected: "ns1.right.example., ns2.right.example.", actual: "ns1.right.example., ns2.right.example."),
        ])
        let missing = parent.prepending("missing")
        XCTAssertEqual(checker.delegation(missing).map(\.message), ["the parent's servers (\(pdns.dns)) serve no NS for \(missing.fqdn) (NXDOMAIN): the zone is not delegated"])
    }

    // MARK: propagation wait

    func testPropagationWaitSucceedsAfterTheChangeIsServed() throws {
        let z = uniqueZone()
        try zone(z, [])
        let want = rrset("_dmarc", z, .txt, 300, ["v=DMARC1; p=reject"])
        let clock = FakeClock()
        let server = pdns!
        clock.onSleep = { n in if n == 2 { try? server.replace(z, [want]) } }
        let waiter = PropagationWaiter(resolver: resolver, clock: clock, interval: 5)
        var lines: [String] = []
        let r = waiter.wait([ServedExpectation(zone: z, servers: [pdns.dns], key: want.key, rrset: want)], timeout: 60) { lines.append($0) }
        XCTAssertTrue(r.succeeded)
        XCTAssertEqual(r.polls, 3)
        XCTAssertEqual(r.elapsed, 10)
        XCTAssertEqual(clock.sleeps, [5, 5])
        XCTAssertEqual(lines, ["waiting for 1 RRset to be served (0 s of 60 s)", "waiting for 1 RRset to be served (5 s of 60 s)"])
        XCTAssertEqual(r.message, "Verified over DNS: every changed RRset is served as planned by every authoritative server (3 polls, 10 s).")
    }

    func testPropagationWaitTimesOutWithAClearMessage() throws {
        let z = uniqueZone()
        try zone(z, [])
        let want = rrset("_dmarc", z, .txt, 300, ["v=DMARC1; p=reject"])
        let clock = FakeClock()
        let r = PropagationWaiter(resolver: resolver, clock: clock, interval: 2).wait(
            [ServedExpectation(zone: z, servers: [pdns.dns], key: want.key, rrset: want)], timeout: 7)
        XCTAssertFalse(r.succeeded)
        XCTAssertEqual(r.polls, 4)   // at 0, 2, 4 and 6 s; a fifth would start past 7 s
        XCTAssertEqual(clock.sleeps, [2, 2, 2])
        XCTAssertEqual(r.message, """
        error: after 7 s (4 polls), 1 RRset is not served as planned:
          _dmarc.\(z.fqdn) TXT at \(pdns.dns): planned ttl 300: "v=DMARC1; p=reject"; served no records
        A value that differs (not just missing) means the provider changed it on the way: fix the plan or the provider; a missing one may still be propagating (raise --wait-timeout).
        """)
    }

    func testServedValueThatDiffersFromThePlanNamesTheRRsetAndBothValues() throws {
        let z = uniqueZone()
        let planned = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 300)
        let truncated = String(planned.prefix(255))
        try zone(z, [rrset("sel._domainkey", z, .txt, 3600, [truncated]), rrset("gone", z, .a, 3600, ["192.0.2.9"])])
        let want = rrset("sel._domainkey", z, .txt, 3600, [planned])
        let waiter = PropagationWaiter(resolver: resolver, clock: FakeClock(), interval: 1)
        let r = waiter.wait([ServedExpectation(zone: z, servers: [pdns.dns], key: want.key, rrset: want),
                             ServedExpectation(zone: z, servers: [pdns.dns], key: RRsetKey(z.prepending("gone"), .a), rrset: nil)], timeout: 0.5)
        XCTAssertFalse(r.succeeded)
        XCTAssertEqual(r.polls, 1)
        XCTAssertEqual(r.mismatches, [
            ServedMismatch(key: want.key, server: pdns.dns, planned: "ttl 3600: \"\(planned)\"", served: "ttl 3600: \"\(truncated)\""),
            ServedMismatch(key: RRsetKey(z.prepending("gone"), .a), server: pdns.dns, planned: "(deleted)", served: "ttl 3600: 192.0.2.9"),
        ])
        // A server that does not serve the zone at all is named as such.
        let other = uniqueZone()
        let m = waiter.mismatch(ServedExpectation(zone: other, servers: [pdns.dns], key: RRsetKey(other, .mx), rrset: nil), at: pdns.dns)
        XCTAssertEqual(m?.served, "REFUSED (the server does not serve zone \(other.fqdn))")
    }

    // MARK: plan file

    func testDNSBlockDiagnostics() throws {
        XCTAssertThrowsError(try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: z.zone}}
        dns:
          resolver: ["127.0.0.1"]
          authoritative: {example.com: ["mail.example.com:53"]}
          timeout: 0
        domains: [{name: example.com}]
        """)) { e in
            XCTAssertEqual("\(e)", """
            test.yaml:5:3: error: dns: unknown key 'resolver'; did you mean 'resolvers'? (valid keys: resolvers, authoritative, timeout, attempts, validating_resolvers)
            test.yaml:6:33: error: dns.authoritative.example.com: invalid name server 'mail.example.com:53': 'mail.example.com' is not an IP address; name servers are given as address or address:port (IPv6 as [address]:port)
            test.yaml:7:12: error: dns.timeout must be a number of seconds from 0.1 to 60, found '0'
            """)
        }
        let p = try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: z.zone}}
        dns: {resolvers: ["127.0.0.1:5300", "[::1]:5301", "192.0.2.53"], authoritative: {example.com: ["${NS}"]}, attempts: 3}
        domains: [{name: example.com}]
        """, env: ["NS": "127.0.0.2:25353"])
        XCTAssertEqual(p.dns.resolvers, [NameServer(address: "127.0.0.1", port: 5300), NameServer(address: "::1", port: 5301), NameServer(address: "192.0.2.53", port: 53)])
        XCTAssertEqual(p.dns.authoritative, [try DomainName("example.com"): [NameServer(address: "127.0.0.2", port: 25353)]])
        XCTAssertEqual(p.dns.attempts, 3)
        XCTAssertEqual(p.dns.timeout, 3)
        XCTAssertEqual(p.check.ipLists.map(\.fqdn), ["zen.spamhaus.org.", "bl.spamcop.net."])
        XCTAssertEqual(p.check.domainLists.map(\.fqdn), ["dbl.spamhaus.org."])
    }
}
