import Foundation
@testable import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// The read-by-query fallback's mapping from answers to live RRsets (``RFC2136Query``):
/// authoritative NOERROR/NXDOMAIN/NODATA give records or absence; everything else is an error
/// naming the server, the name and the type.
final class RFC2136QueryTests: XCTestCase {
    let ns = NameServer(address: "127.0.0.1", port: 38354)
    let server = "127.0.0.1:38354"
    func n(_ s: String) -> DomainName { try! DomainName(s) }
    func rec(_ name: String, _ ttl: UInt32, _ type: RRType, _ value: String, strings: [String] = []) -> ServedRecord {
        ServedRecord(name: n(name), ttl: ttl, rdata: strings.isEmpty ? try! RData.parse(type: type, value)
                        : .txt(TXTData(strings: strings.map { Array($0.utf8) })))
    }
    func answer(_ name: String, _ type: RRType, _ rcode: ResponseCode, aa: Bool = true, _ records: [ServedRecord] = []) -> RFC2136Query.Outcome {
        .init(key: RRsetKey(n(name), type), answer: .success(DNSAnswer(
            server: ns, name: n(name), type: type, rcode: rcode, authoritative: aa, transport: .udp,
            answerRecords: records, authorityRecords: [], additionalRecords: [])))
    }
    func rrset(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
        RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
    }

    func testAnswersBecomeRRsetsAndNegativeAnswersAreAbsent() throws {
        let long = String(repeating: "a", count: 255) + "bc"
        let read = try RFC2136Query.rrsets([
            // The whole apex TXT RRset (partly managed): the token comes along, as the diff needs.
            answer("z.test", .txt, .noError, [
                rec("z.test", 300, .txt, "\"google-site-verification=tok123\"", strings: ["google-site-verification=tok123"]),
                rec("z.test", 300, .txt, "\"v=spf1 a -all\"", strings: ["v=spf1 a -all"]),
            ]),
            answer("z.test", .mx, .noError, [rec("z.test", 300, .mx, "10 old-mx.example.net.")]),
            // NODATA and NXDOMAIN: absent.
            answer("_dmarc.z.test", .txt, .noError),
            answer("sel._domainkey.z.test", .txt, .nxDomain),
            // A CNAME at a managed name, with its in-zone target chased: only the CNAME is kept.
            answer("mail.z.test", .a, .noError, [
                rec("mail.z.test", 60, .cname, "www.z.test."), rec("www.z.test", 60, .a, "192.0.2.80"),
            ]),
            answer("mail.z.test", .aaaa, .noError, [rec("mail.z.test", 60, .cname, "www.z.test.")]),
            // Two strings on the wire stay two strings in the prerequisite line.
            answer("k._domainkey.z.test", .txt, .noError, [
                rec("k._domainkey.z.test", 3600, .txt, "\"\(long)\"", strings: [String(long.prefix(255)), "bc"]),
            ]),
        ], server: server)
        XCTAssertEqual(read.rrsets, [
            rrset("z.test.", .txt, 300, ["\"google-site-verification=tok123\"", "\"v=spf1 a -all\""]),
            rrset("z.test.", .mx, 300, ["10 old-mx.example.net."]),
            rrset("mail.z.test.", .cname, 60, ["www.z.test."]),
            rrset("k._domainkey.z.test.", .txt, 3600, ["\"\(long.prefix(255))\" \"bc\""]),
        ])   // in query order
        XCTAssertEqual(read.lines, [
            RRsetKey(n("z.test"), .txt): ["z.test. 300 IN TXT \"google-site-verification=tok123\"", "z.test. 300 IN TXT \"v=spf1 a -all\""],
            RRsetKey(n("z.test"), .mx): ["z.test. 300 IN MX 10 old-mx.example.net."],
            RRsetKey(n("mail.z.test"), .cname): ["mail.z.test. 60 IN CNAME www.z.test."],
            RRsetKey(n("k._domainkey.z.test"), .txt): ["k._domainkey.z.test. 3600 IN TXT \"\(long.prefix(255))\" \"bc\""],
        ])
    }

    func testFailedReadsAreErrorsNeverAbsent() {
        func failure(_ o: RFC2136Query.Outcome) -> String? {
            do { _ = try RFC2136Query.rrsets([answer("z.test", .mx, .noError), o], server: server); return nil }
            catch { return "\(error)" }
        }
        XCTAssertEqual(failure(answer("_dmarc.z.test", .txt, .servFail)),
                       "the zone transfer was refused and 127.0.0.1:38354 answered the query for _dmarc.z.test. TXT with SERVFAIL; the RRset cannot be read, so nothing is planned for this zone")
        XCTAssertEqual(failure(answer("_dmarc.z.test", .txt, .refused, aa: false)),
                       "the zone transfer was refused and 127.0.0.1:38354 also refused the query for _dmarc.z.test. TXT (REFUSED): allow queries from this host (BIND: allow-query) or allow the transfer for the key (allow-transfer { key …; })")
        // A referral (delegated child) or any answer without AA is not the zone's data.
        XCTAssertEqual(failure(answer("a.sub.z.test", .txt, .noError, aa: false)),
                       "the zone transfer was refused and 127.0.0.1:38354 answered the query for a.sub.z.test. TXT without authority (AA bit clear: the name is delegated elsewhere, or the server is not authoritative for it); mailplan cannot read it")
        XCTAssertEqual(failure(answer("gone.z.test", .a, .nxDomain, aa: false)),
                       "the zone transfer was refused and 127.0.0.1:38354 answered the query for gone.z.test. A without authority (AA bit clear: the name is delegated elsewhere, or the server is not authoritative for it); mailplan cannot read it")
        let timeout = RFC2136Query.Outcome(key: RRsetKey(n("mail.z.test"), .a), answer: .failure(ResolverError(
            server: ns, name: n("mail.z.test"), type: .a, reason: "no answer within 10 s per attempt, 2 attempts (server unreachable or not answering)")))
        XCTAssertEqual(failure(timeout),
                       "the zone transfer was refused and the query for mail.z.test. A at 127.0.0.1:38354 failed: no answer within 10 s per attempt, 2 attempts (server unreachable or not answering)")
    }

    /// Which transfer failures fall back to queries: refusals only, never a key problem.
    func testOnlyRefusalsFallBack() {
        XCTAssertEqual(RFC2136Provider.refusal(.rcode(code: 5, tsigError: nil)), "REFUSED")
        XCTAssertEqual(RFC2136Provider.refusal(.rcode(code: 5, tsigError: 0)), "REFUSED")
        XCTAssertEqual(RFC2136Provider.refusal(.rcode(code: 9, tsigError: nil)), "NOTAUTH")
        XCTAssertEqual(RFC2136Provider.refusal(.transferClosed), "connection closed")
        XCTAssertNil(RFC2136Provider.refusal(.rcode(code: 9, tsigError: 16)))   // BADSIG
        XCTAssertNil(RFC2136Provider.refusal(.rcode(code: 9, tsigError: 17)))   // BADKEY
        XCTAssertNil(RFC2136Provider.refusal(.rcode(code: 9, tsigError: 18)))   // BADTIME
        XCTAssertNil(RFC2136Provider.refusal(.bogusTSIG))
        XCTAssertNil(RFC2136Provider.refusal(.network("connection refused")))
        XCTAssertNil(RFC2136Provider.refusal(.rcode(code: 2, tsigError: nil)))  // SERVFAIL
    }
}
