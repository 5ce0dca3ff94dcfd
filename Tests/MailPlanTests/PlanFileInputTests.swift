import Crypto
import Foundation
import XCTest
@testable import MailPlan

/// `PlanLoader.load(path:)` reads the plan file in 64 KiB chunks (YAMLFileInput): the same
/// plan, hash and messages as reading the whole text.
final class PlanFileInputTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A plan of `count` domains whose comments hold 2-, 3- and 4-byte UTF-8 characters, so
    /// that some sequence is cut by every chunk boundary it spans.
    func bigPlan(_ count: Int) -> String {
        var s = "version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {local: {type: memory}}\ndomains:\n"
        for i in 0..<count {
            s += "  # é€😀 domain \(i) — \(String(repeating: "ü", count: i % 7))\n  - name: d\(i).example\n    dmarc: {policy: quarantine}\n"
        }
        return s
    }

    func write(_ bytes: [UInt8], _ name: String = "plan.yaml") throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func testChunkedReadEqualsWholeText() throws {
        let text = bigPlan(3000)
        XCTAssertGreaterThan(text.utf8.count, 4 * 65536)
        let path = try write(Array(text.utf8))
        let fromFile = try PlanLoader(environment: [:]).load(path: path)
        let fromText = try PlanLoader(environment: [:]).load(text: text, file: path, baseDirectory: dir, sha256: "")
        XCTAssertEqual(fromFile.domains.map(\.name.fqdn), fromText.domains.map(\.name.fqdn))
        XCTAssertEqual(fromFile.domains.count, 3000)
        XCTAssertEqual(fromFile.domains.last?.location, SourceLocation(file: path, line: 3 * 2999 + 6, column: 5))
        XCTAssertEqual(fromFile.sha256, hexSHA256(Data(text.utf8)))
    }

    func testInvalidUTF8AnywhereIsOneMessage() throws {
        for (name, bytes) in [
            ("late", Array(bigPlan(3000).utf8) + [0x23, 0x20, 0xC3, 0x28, 0x0A]),       // '#', ' ', a 2-byte lead then '('
            ("early", [0xFF] + Array(bigPlan(10).utf8)),
            ("cut at the end", Array(bigPlan(3000).utf8) + [0x23, 0x20, 0xF0, 0x9F, 0x98]), // 😀 without its last byte
        ] {
            let path = try write(bytes, "\(name).yaml")
            XCTAssertThrowsError(try PlanLoader(environment: [:]).load(path: path), name) {
                XCTAssertEqual("\($0)", "\(path):1:1: error: the plan file is not UTF-8 text", name)
            }
        }
    }

    func testUnreadablePlanFiles() throws {
        let missing = dir.appendingPathComponent("absent.yaml").path
        XCTAssertThrowsError(try PlanLoader(environment: [:]).load(path: missing)) {
            XCTAssertEqual("\($0)", "error: \(missing): cannot read the plan file (No such file or directory)")
        }
        XCTAssertThrowsError(try PlanLoader(environment: [:]).load(path: dir.path)) {
            XCTAssertEqual("\($0)", "error: \(dir.path): cannot read the plan file (Is a directory)")
        }
        let empty = try write([], "empty.yaml")
        XCTAssertThrowsError(try PlanLoader(environment: [:]).load(path: empty)) {
            XCTAssertEqual("\($0)", "\(empty):1:1: error: the plan file is empty; it needs at least version, server, providers and domains")
        }
    }

    /// `defaults:` after the domains: the file is read a second time, whole, with the same hash.
    func testDefaultsAfterDomainsReadsTheFileAgain() throws {
        let text = bigPlan(100) + "defaults: {ttl: 600}\n"
        let path = try write(Array(text.utf8))
        let plan = try PlanLoader(environment: [:]).load(path: path)
        XCTAssertEqual(Set(plan.domains.map(\.ttl)), [600])
        XCTAssertEqual(plan.sha256, hexSHA256(Data(text.utf8)))
    }
}
