import Foundation
import XCTest
@testable import MailPlan
import Yams

/// A plan's `domains:` items are read one at a time as the YAML parser reaches them
/// (``PlanLoader/streamsDomains``). Whatever the file holds, the result must be exactly the
/// whole-tree load's: the same plan, the same warnings, the same errors at the same
/// file:line:column.
final class StreamedLoadTests: XCTestCase {
    /// Loads `text` from the whole tree and streamed, and checks both give the same outcome.
    /// - Returns: the outcome (the plan dumped, or the diagnostics).
    @discardableResult
    func same(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> String {
        func outcome(_ streams: Bool) -> String {
            var loader = PlanLoader(environment: ["TOKEN": "t0ken"])
            loader.streamsDomains = streams
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
        let whole = outcome(false), streamed = outcome(true)
        XCTAssertEqual(streamed, whole, file: file, line: line)
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

    /// YAML problems anywhere (also after domains already read) give only the YAML diagnostic.
    func testYAMLErrorsAndAliases() {
        let broken = same(Self.plan(90, item: { i in i == 50 ? "  - name: d50.example\n    dmarc: {policy: none\n" : "  - {name: d\(i).example, provider: p0}\n" }))
        XCTAssertEqual(broken, "errors:\nbig.yaml:61:5: error: YAML syntax error: did not find expected ',' or '}' (while parsing a flow mapping at line 60)")
        let dup = same(Self.plan(90, item: { i in i == 30 ? "  - name: d30.example\n    provider: p0\n    provider: p1\n" : "  - {name: d\(i).example, provider: p0}\n" }))
        XCTAssertEqual(dup, "errors:\nbig.yaml:41:5: error: key 'provider' is given twice in one mapping (first at line 40); give each key once")
        // An anchor in one item and its alias in another.
        let aliased = same(Self.plan(90, item: { i in
            i == 10 ? "  - name: d10.example\n    provider: p0\n    dmarc: &policy {policy: reject}\n"
                : i == 20 ? "  - name: d20.example\n    provider: p0\n    dmarc: *policy\n" : "  - {name: d\(i).example, provider: p0}\n"
        }))
        XCTAssertFalse(aliased.hasPrefix("errors:"), aliased)
        XCTAssertTrue(aliased.contains("reject"), aliased)
        let undefined = same(Self.plan(3, item: { i in i == 2 ? "  - name: d2.example\n    dmarc: *nowhere\n" : "  - {name: d\(i).example, provider: p0}\n" }))
        XCTAssertEqual(undefined, "errors:\nbig.yaml:12:12: error: YAML syntax error: found undefined alias")
        XCTAssertEqual(same(Self.plan(2) + "---\nversion: 1\n"),
                       "errors:\nbig.yaml:21:1: error: YAML syntax error: but found another document (expected a single document in the stream at line 1)")
        XCTAssertEqual(same("# nothing\n"), "errors:\nbig.yaml:1:1: error: the plan file is empty; it needs at least version, server, providers and domains")
        // Two top-level keys, one of them after the streamed domains.
        XCTAssertEqual(same(Self.plan(2) + "domains: []\n"),
                       "errors:\nbig.yaml:21:1: error: key 'domains' is given twice in one mapping (first at line 8); give each key once")
    }

    /// Layouts read from the whole tree: flow-style domains, domains before the providers, a
    /// `defaults:` after the domains (read again, so its TTL applies to them).
    func testLayouts() throws {
        same("version: 1\nserver: {hostname: mail.example.com, ipv4: 192.0.2.25}\nproviders: {p0: {type: zonefile, path: zones/example.com.zone}}\n"
             + "domains: [" + (0..<80).map { "{name: d\($0).example}" }.joined(separator: ", ") + "]\n")
        same(Self.plan(80).replacingOccurrences(of: "\n  - name: d5.example", with: "\n\t- name: d5.example"))
        let first = "version: 1\ndomains:\n  - {name: a.example, provider: p0}\n  - {name: b.example, provider: p0, ttl: 60}\n"
            + "server: {hostname: mail.a.example, ipv4: 192.0.2.25}\nproviders: {p0: {type: zonefile, path: zones/example.com.zone}}\n"
        XCTAssertTrue(same(first).contains("ttl: 3600"))
        let late = Self.plan(3) + "defaults:\n  ttl: 600\n"
        let out = same(late)
        XCTAssertFalse(out.contains("ttl: 3600"), out)
        XCTAssertTrue(out.contains("ttl: 600"), out)
        let plan = try PlanLoader(environment: ["TOKEN": "t"]).load(text: late, file: "big.yaml", baseDirectory: repoRoot.appendingPathComponent("plans"))
        XCTAssertEqual(plan.domains.map(\.ttl), [600, 600, 600])
    }

    /// The composer gives the tree Yams composes (the basic resolver: scalars as text): the
    /// same structure, text, scalar styles and marks, for every example plan.
    func testComposerMatchesYams() throws {
        func same(_ a: YAMLNode, _ b: Yams.Node, _ path: String) {
            XCTAssertEqual(a.mark.line, b.mark?.line, path); XCTAssertEqual(a.mark.column, b.mark?.column, path)
            switch (a, b) {
            case (.scalar(let x), .scalar(let y)):
                XCTAssertEqual(x.string, y.string, path); XCTAssertEqual(Int(x.style.rawValue), Int(y.style.rawValue), path)
            case (.sequence(let x), .sequence(let y)):
                XCTAssertEqual(x.count, y.count, path)
                for (i, (p, q)) in zip(x, y).enumerated() { same(p, q, "\(path)[\(i)]") }
            case (.mapping(let x), .mapping(let y)):
                XCTAssertEqual(x.count, y.count, path)
                for ((k1, v1), (k2, v2)) in zip(x.pairs, Array(y)) { same(k1, k2, path + ".key"); same(v1, v2, "\(path).\(k1.scalar?.string ?? "?")") }
            default: XCTFail("\(path): \(a) vs \(b)")
            }
        }
        let dir = repoRoot.appendingPathComponent("plans")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThan(files.count, 3)
        for f in files + ["anchors"] {
            let text = f == "anchors" ? "a: &x\n  b: 'q'\n  c: \"d\"\n  e: |\n    lit\nf: *x\ng: [1, ~, '']\nh: >-\n  folded\n"
                : try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)
            var t = text
            t.makeContiguousUTF8()
            let mine = try t.utf8.withContiguousStorageIfAvailable { try YAMLComposer($0).document() }!
            let theirs = try Yams.compose(yaml: text, .basic, .default)
            guard let mine, let theirs else { XCTFail(f); continue }
            same(mine, theirs, f)
        }
    }
}
