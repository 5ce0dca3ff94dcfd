import XCTest
@testable import MailPlan

final class RDataTests: XCTestCase {
    func testTXTChunking() {
        let k410 = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        XCTAssertEqual(k410.utf8.count, 410)
        let chunks = TXTCodec.chunks(k410)
        XCTAssertEqual(chunks.map(\.count), [255, 155])
    }
}
