import Foundation
import XCTest
@testable import MailPlan

/// `DomainName.<` (canonical order, RFC 4034 §6.1) compares ASCII names in place; it must
/// order exactly as comparing the labels from the right does. `hexString` is a table.
final class CanonicalOrderTests: XCTestCase {
    /// The order through ``DomainName/labels``, as `<` was written before the in-place path.
    func reference(_ a: DomainName, _ b: DomainName) -> Bool {
        let la = Array(a.labels.reversed()), lb = Array(b.labels.reversed())
        for (x, y) in zip(la, lb) where x != y { return x < y }
        return la.count < lb.count
    }

    func testInPlaceOrderIsTheLabelOrder() throws {
        let fixed = [".", "com.", "example.com.", "a.example.com.", "b.example.com.", "ab.example.com.", "a-b.example.com.",
                     "_dmarc.example.com.", "z.example.", "example.", "xn--bcher-kva.example.", "_25._tcp.mail.example.com.",
                     "mail2026._domainkey.example.com.", "example.co.", "example.comm.", "a..b.", "1.example.com."]
        var names = fixed.map { DomainName(uncheckedFQDN: $0) }
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("ab-_0.")
        for _ in 0..<400 {
            let n = Int.random(in: 1...12, using: &rng)
            var s = String((0..<n).map { _ in alphabet.randomElement(using: &rng)! })
            while s.hasPrefix(".") { s.removeFirst() }
            if s.isEmpty { s = "a" }
            names.append(DomainName(uncheckedFQDN: s.hasSuffix(".") ? s : s + "."))
        }
        for a in names { for b in names {
            XCTAssertEqual(a < b, reference(a, b), "\(a.fqdn) < \(b.fqdn)")
        } }
        XCTAssertEqual(["b.example.com.", "example.com.", "a.example.com.", "com.", "."].map { DomainName(uncheckedFQDN: $0) }.sorted().map(\.fqdn),
                       [".", "com.", "example.com.", "a.example.com.", "b.example.com."])
        // A non-ASCII name (never made by the loader) still orders through its labels.
        XCTAssertEqual(DomainName(uncheckedFQDN: "é.example.") < DomainName(uncheckedFQDN: "z.example."), reference(DomainName(uncheckedFQDN: "é.example."), DomainName(uncheckedFQDN: "z.example.")))
    }

    func testHexString() {
        XCTAssertEqual(hexString([0x00, 0x0a, 0xff, 0x7f]), "000aff7f")
        XCTAssertEqual(hexString([UInt8]()), "")
        XCTAssertEqual(hexSHA256(Data("example.com".utf8)), "a379a6f6eeafb9a55e378c118034e2751e682fab9f2d30ab13d2125586ce1947")  // sha256sum
    }
}
