import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// docs/plan-file.md documents exactly the settings each adapter accepts.
final class ProviderDocsTests: XCTestCase {
    /// Each registered adapter describes its settings (``DNSProviderType/settings``): the
    /// docs table of its section lists exactly those names, and marks exactly the required
    /// ones "yes".
    func testDocumentedSettingsMatchEachAdapter() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/plan-file.md"), encoding: .utf8)
        XCTAssertEqual(ProviderRegistry.typeNames, ["cloudflare", "desec", "digitalocean", "gandi", "hetzner", "powerdns", "rfc2136", "route53", "zonefile"])
        for type in ProviderRegistry.types {
            guard let start = doc.range(of: "### `type: \(type.typeName)`") else { XCTFail("docs/plan-file.md has no section for \(type.typeName)"); continue }
            let rest = doc[start.upperBound...]
            let section = rest[..<(rest.range(of: "\n#")?.lowerBound ?? rest.endIndex)]
            var documented = Set<String>(), required = Set<String>()
            for line in section.split(separator: "\n") where line.hasPrefix("| `") {
                let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
                for part in cells[0].split(separator: ",") {
                    let name = part.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`"))
                    documented.insert(name)
                    if cells.count > 1, cells[1] == "yes" { required.insert(name) }
                }
            }
            XCTAssertEqual(documented, Set(type.settings.map(\.name)), "docs/plan-file.md, type \(type.typeName)")
            XCTAssertEqual(required, Set(type.settings.filter(\.required).map(\.name)), "required settings, type \(type.typeName)")
            XCTAssertEqual(Set(type.settings.map(\.name)).count, type.settings.count, "no setting twice, type \(type.typeName)")
        }
    }
}
