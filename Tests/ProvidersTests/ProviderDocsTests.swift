import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// docs/plan-file.md documents exactly the settings each adapter accepts.
final class ProviderDocsTests: XCTestCase {
    func testDocumentedSettingsMatchEachAdapter() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let doc = try String(contentsOf: root.appendingPathComponent("docs/plan-file.md"), encoding: .utf8)
        let accepted: [String: [String]] = [
            "zonefile": ["path", "backup"],
            "powerdns": PowerDNSProvider.settingNames, "cloudflare": CloudflareProvider.settingNames,
            "digitalocean": DigitalOceanProvider.settingNames, "hetzner": HetznerCloudProvider.settingNames,
            "desec": DeSECProvider.settingNames, "gandi": GandiProvider.settingNames,
            "route53": Route53Provider.settingNames, "rfc2136": RFC2136Provider.settingNames,
        ]
        XCTAssertEqual(Set(accepted.keys), Set(ProviderRegistry.typeNames), "every registered type is covered here")
        for (type, names) in accepted {
            guard let start = doc.range(of: "### `type: \(type)`") else { XCTFail("docs/plan-file.md has no section for \(type)"); continue }
            let rest = doc[start.upperBound...]
            let section = rest[..<(rest.range(of: "\n#")?.lowerBound ?? rest.endIndex)]
            var documented = Set<String>()
            for line in section.split(separator: "\n") where line.hasPrefix("| `") {
                let cell = line.split(separator: "|")[0]
                for part in cell.split(separator: ",") {
                    documented.insert(part.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "`")))
                }
            }
            XCTAssertEqual(documented, Set(names), "docs/plan-file.md, type \(type)")
        }
    }
}
