import XCTest
@testable import MailPlan

/// K410 from ../shared/cases: a 410-byte DKIM value.
let k410 = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
let k410First = String(k410.prefix(255)), k410Last = String(k410.dropFirst(255))

final class RDataTests: XCTestCase {
    let zone = try! DomainName("example.com")

    func testTXTChunkingSplitsAt255Bytes() {
        XCTAssertEqual(k410.utf8.count, 410)
        XCTAssertEqual(TXTCodec.chunks(k410).map(\.count), [255, 155])
        XCTAssertEqual(RData.txt(k410).presentation, "\"\(k410First)\" \"\(k410Last)\"")
        XCTAssertEqual(TXTCodec.chunks("").map(\.count), [0])
    }

    func testEscapingHappensAfterSplitting() {
        let v = String(repeating: "a", count: 254) + "\"b"
        XCTAssertEqual(RData.txt(v).presentation, "\"" + String(repeating: "a", count: 254) + "\\\"\" \"b\"")
        XCTAssertEqual(try RData.parse(type: .txt, RData.txt(v).presentation), .txt(v))
        XCTAssertEqual(RData.txt("é\\").presentation, "\"\\195\\169\\\\\"")
        XCTAssertEqual(try RData.parse(type: .txt, "\"\\195\\169\\\\\""), .txt("é\\"))
    }

    /// C01: live content as two quoted chunks equals the logical K410.
    func testC01_TwoQuotedChunksAreTheLogicalValue() throws {
        XCTAssertEqual(try RData.parse(type: .txt, "\"\(k410First)\" \"\(k410Last)\""), .txt(k410))
        XCTAssertEqual(TXTCodec.decodeStrings("\"\(k410First)\" \"\(k410Last)\"").value, k410)
        // One unsplit quoted string > 255 bytes is the same logical value too.
        XCTAssertEqual(TXTCodec.decodeStrings("\"\(k410)\"").value, k410)
    }

    /// C02: a trailing space after the chunks changes nothing.
    func testC02_TrailingSpaceIgnored() throws {
        XCTAssertEqual(try RData.parse(type: .txt, "\"\(k410First)\" \"\(k410Last)\" "), .txt(k410))
        XCTAssertEqual(TXTCodec.decodeStrings("\"\(k410First)\" \"\(k410Last)\" ").value, k410)
    }

    func testDecodeRawTextIsTakenAsIs() {
        XCTAssertEqual(TXTCodec.decodeStrings("v=spf1 mx -all").value, "v=spf1 mx -all")
        XCTAssertEqual(TXTCodec.decodeStrings("\"v=spf1 mx -all\"").value, "v=spf1 mx -all")
    }

    /// C06: an MX target written without the dot, relative to a zone, is never re-suffixed.
    func testC06_MXTargetWithoutDotIsNotReSuffixed() throws {
        XCTAssertEqual(try RData.parse(type: .mx, "10 mail.example.com", origin: zone),
                       .mx(preference: 10, exchange: try DomainName("mail.example.com.")))
        XCTAssertEqual(try RData.parse(type: .mx, "10 mail", origin: zone),
                       .mx(preference: 10, exchange: try DomainName("mail.example.com.")))
        XCTAssertEqual(RData.mx(preference: 10, exchange: try DomainName("mail.example.com")).presentation, "10 mail.example.com.")
    }

    /// C08: null MX reads as preference 0, exchange root.
    func testC08_NullMX() throws {
        XCTAssertEqual(try RData.parse(type: .mx, "0 ."), .mx(preference: 0, exchange: .root))
        XCTAssertEqual(RData.mx(preference: 0, exchange: .root).presentation, "0 .")
    }

    /// C09: the apex spelt `example.com.`, `@`, `""` or `example.com` is the apex.
    func testC09_ApexSpellings() throws {
        for s in ["example.com.", "@", "", "example.com", "EXAMPLE.COM"] {
            XCTAssertEqual(try DomainName(s, relativeTo: zone).fqdn, "example.com.", s)
        }
        XCTAssertEqual(try DomainName("www", relativeTo: zone).fqdn, "www.example.com.")
        XCTAssertEqual(try DomainName("mail.example.com", relativeTo: zone).fqdn, "mail.example.com.")
        XCTAssertEqual(try DomainName("www.example.com", relativeTo: zone).relative(to: zone), "www")
        XCTAssertEqual(zone.relative(to: zone), "@")
    }

    /// C15: TXT is case-sensitive, names are not.
    func testC15_TXTNotCaseFoldedNamesAre() throws {
        XCTAssertNotEqual(RData.txt("p=AbC"), RData.txt("p=abc"))
        XCTAssertEqual(try DomainName("Mail.Example.COM"), try DomainName("mail.example.com."))
        XCTAssertEqual(try RData.parse(type: .mx, "10 MAIL.Example.com."), try RData.parse(type: .mx, "10 mail.example.com."))
    }

    func testIPv6IsCanonical() throws {
        XCTAssertEqual(try RData.parse(type: .aaaa, "2001:DB8:0:0:0:0:0:25"), .aaaa(IPv6Address("2001:db8::25")!))
        XCTAssertEqual(RData.aaaa(IPv6Address("2001:0db8:0000:0000:0001:0000:0000:0001")!).presentation, "2001:db8::1:0:0:1")
        XCTAssertNil(IPv4Address("192.0.2.300"))
        XCTAssertEqual(IPv4Address("192.0.2.25")!.reverseName.fqdn, "25.2.0.192.in-addr.arpa.")
    }

    func testIDNBecomesALabel() throws {
        XCTAssertEqual(try DomainName("bücher.example").fqdn, "xn--bcher-kva.example.")
        XCTAssertThrowsError(try DomainName("a..b"))
        XCTAssertThrowsError(try DomainName(String(repeating: "a", count: 64) + ".com"))
    }

    func testOtherTypesParse() throws {
        XCTAssertEqual(try RData.parse(type: .srv, "0 1 465 mail", origin: zone).presentation, "0 1 465 mail.example.com.")
        XCTAssertEqual(try RData.parse(type: .caa, "0 issue \"letsencrypt.org\"").presentation, "0 issue \"letsencrypt.org\"")
        XCTAssertEqual(try RData.parse(type: .tlsa, "3 1 1 ABCDEF01").presentation, "3 1 1 abcdef01")
        XCTAssertThrowsError(try RData.parse(type: .mx, "ten mail.example.com.")) { e in
            XCTAssertEqual("\(e)", "invalid MX rdata 'ten mail.example.com.': preference 'ten' is not a number from 0 to 65535")
        }
    }

    func testRRsetEqualityIgnoresOrderAndDuplicates() throws {
        let n = try DomainName("example.com")
        let a = RRset(name: n, type: .txt, ttl: 300, rdata: [.txt("b"), .txt("a"), .txt("a")])
        let b = RRset(name: n, type: .txt, ttl: 300, rdata: [.txt("a"), .txt("b")])
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.rdata.count, 2)
    }
}
