import Foundation
import XCTest
@testable import MailPlan

/// A large plan is composed one `domains:` item at a time (``DomainSlices``). Whatever the
/// file holds, the result must be exactly the whole-file load's: the same plan, the same
/// warnings, the same errors at the same file:line:column.
final class SlicedLoadTests: XCTestCase {
    /// Loads `text` whole and cut (threshold 1), and checks both give the same outcome.
    /// - Returns: the outcome (the plan dumped, or the diagnostics).
    @discardableResult
    func same(_ text: String, cut: Bool = true, file: StaticString = #filePath, line: UInt = #line) -> String {
        func outcome(_ threshold: Int?) -> String {
            var loader = PlanLoader(environment: ["TOKEN": "t0ken"])
            loader.domainSliceThreshold = threshold
            do {
                let plan = try loader.load(text: text, file: "big.yaml", baseDirectory: repoRoot.appendingPathComponent("plans"))
                var s = ""
                dump(plan.domains, to: &s)
                dump(plan.providers.map(\.name), to: &s)
                dump(plan.keyFiles, to: &s)
                return s + plan.warnings.map(\.description).joined(separator: "\n")
            } catch let e as DiagnosticsError {
                return "errors:\n" + e.diagnostics.map(\.description).joined(separator: "\n")
            } catch { return "unexpected: \(error)" }
        }
        XCTAssertEqual(DomainSlices(text, minimumItems: 1) != nil, cut, "the layout is cut", file: file, line: line)
        let whole = outcome(nil), sliced = outcome(1)
        XCTAssertEqual(sliced, whole, file: file, line: line)
        return whole
    }

    static func plan(_ n: Int, item: (Int) -> String = { i in
        "  - name: d\(i).example\n    provider: p\(i % 2)\n    dkim:\n      - selector: mail2026\n        public_key_file: keys/mail2026.pub\n    dmarc: {policy: none}\n"
    }, tail: String = "") -> String {
        "version: 1\nserver:\n  hostname: mail.d0.example\n  ipv4: 192.0.2.25\nproviders:\n  p0: {type: zonefile, path: zones/example.com.zone}\n"
            + "  p1: {type: powerdns, url: \"http://127.0.0.1:8081\", api_key: \"${TOKEN}\"}\ndomains:\n"
            + (0..<n).map(item).joined() + tail
    }

    func testAValidPlanLoadsTheSame() {
        let out = same(Self.plan(100))
        XCTAssertFalse(out.hasPrefix("errors:"), out)
        // Comments, blank lines, flow items, a key after the domains, CRLF-free tabs in values.
        same(Self.plan(80, item: { i in
            i % 3 == 0 ? "  # domain \(i)\n\n  - {name: d\(i).example, provider: p0}\n"
                : "  -   name: d\(i).example\n      provider: p1\n      mx: [{host: mail.d0.example, preference: \(i)}]\n"
        }, tail: "# the end\ndefaults:\n  ttl: 600\n"))
        // Items at column 1.
        same(Self.plan(70).replacingOccurrences(of: "\n  - name", with: "\n- name").replacingOccurrences(of: "\n    ", with: "\n  ")
            .replacingOccurrences(of: "\n      ", with: "\n    ").replacingOccurrences(of: "\n        ", with: "\n      "))
    }

    func testErrorsInsideItemsNameTheSameLines() {
        let text = Self.plan(100, item: { i in
            switch i {
            case 17: "  - name: d17.example\n    provider: p9\n"
            case 42: "  - name: d42.example\n    providr: p0\n"
            case 63: "  - name: d1.example\n    provider: p1\n"
            case 88: "  - name: d88.example\n    provider: p0\n    dkim: [{selector: x, public_key_file: keys/none.pub}]\n    dmarc: {policy: sometimes}\n"
            default: "  - {name: d\(i).example, provider: p\(i % 2)}\n"
            }
        })
        let out = same(text)
        XCTAssertTrue(out.hasPrefix("errors:\nbig.yaml:27:15: error: domains[d17.example].provider: 'p9' is not defined under providers"), out)
    }

    /// YAML problems: the cut is given up and the whole file gives the diagnostic.
    func testYAMLErrorsAndAliasesFallBackToTheWholeFile() {
        let broken = same(Self.plan(90, item: { i in i == 50 ? "  - name: d50.example\n    dmarc: {policy: none\n" : "  - {name: d\(i).example, provider: p0}\n" }))
        XCTAssertTrue(broken.hasPrefix("errors:\nbig.yaml:"), broken)
        XCTAssertTrue(broken.contains("YAML syntax error"), broken)
        let dup = same(Self.plan(90, item: { i in i == 30 ? "  - name: d30.example\n    provider: p0\n    provider: p1\n" : "  - {name: d\(i).example, provider: p0}\n" }))
        XCTAssertTrue(dup.contains("key 'provider' is given twice in one mapping"), dup)
        // An anchor in one item and its alias in another compose only as one document.
        let aliased = same(Self.plan(90, item: { i in
            i == 10 ? "  - name: d10.example\n    provider: p0\n    dmarc: &policy {policy: reject}\n"
                : i == 20 ? "  - name: d20.example\n    provider: p0\n    dmarc: *policy\n" : "  - {name: d\(i).example, provider: p0}\n"
        }))
        XCTAssertFalse(aliased.hasPrefix("errors:"), aliased)
        XCTAssertTrue(aliased.contains("reject"), aliased)
    }

    func testLayoutsThatAreNotCut() {
        same(Self.plan(10), cut: true)
        same("version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p0: {type: zonefile, path: zones/example.com.zone}}\n"
             + "domains: [" + (0..<80).map { "{name: d\($0).example}" }.joined(separator: ", ") + "]\n", cut: false)
        same(Self.plan(80).replacingOccurrences(of: "\n  - name: d5.example", with: "\n\t- name: d5.example"), cut: false)
        XCTAssertNil(DomainSlices(Self.plan(10)), "fewer than 64 items are composed whole")
        XCTAssertEqual(DomainSlices(Self.plan(64))?.items.count, 64)
    }
}
