import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// The apex TXT values mailplan does not own are written back byte for byte, string for
/// string, by the adapters that replace whole RRsets (issue 12), checked in each contract
/// fake's state after an apply through the real binary that changes only the SPF value.
final class ForeignValuesFakeTests: XCTestCase {
    static let foreign = ForeignTXT.presentation

    static func yaml(_ type: String, _ settings: String) -> String {
        """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers:
          p: {type: \(type), \(settings)}
        domains:
          - {name: example.com, provider: p, spf: {senders: [mx]}}

        """
    }

    /// plan shows the foreign values as they are, apply exits 0, a second plan is a no-op.
    func roundTrip(_ yaml: String, env: [String: String]) throws {
        let plan = try CloudPlan.run(["plan"], yaml: yaml, env: env)
        XCTAssertEqual(plan.status, 0, plan.stderr)
        XCTAssertTrue(plan.stdout.contains("  ~ example.com. TXT ttl 3600\n" + ForeignTXT.planLines + "\n"), plan.stdout)
        let apply = try CloudPlan.run(["apply", "--auto-approve"], yaml: yaml, env: env)
        XCTAssertEqual(apply.status, 0, apply.stderr)
        let again = try CloudPlan.run(["plan", "--detailed-exitcode"], yaml: yaml, env: env)
        XCTAssertEqual(again.status, 0, again.stderr + again.stdout)
        XCTAssertEqual(again.stdout, "No changes. The live DNS matches the plan.\n")
    }

    func testDeSEC() throws {
        let fake = try DeSECFake()
        defer { fake.stop() }
        fake.addDomain("example.com")
        fake.put("example.com", "", "TXT", ttl: 3600, Self.foreign + [#""v=spf1 a -all""#])
        try roundTrip(Self.yaml("desec", "token: \"${T}\", api_url: \"\(fake.url)\""), env: ["T": fake.token])
        XCTAssertEqual(Set(fake.rrset("example.com", "", "TXT")?.records ?? []), Set(Self.foreign + [#""v=spf1 mx -all""#]))
    }

    func testHetzner() throws {
        let fake = try HetznerCloudFake()
        defer { fake.stop() }
        fake.addZone("example.com")
        fake.put("example.com", "@", "TXT", ttl: 3600, Self.foreign + [#""v=spf1 a -all""#])
        try roundTrip(Self.yaml("hetzner", "token: \"${T}\", api_url: \"\(fake.url)\""), env: ["T": fake.token])
        XCTAssertEqual(Set(fake.rrset("example.com", "@", "TXT")?.records ?? []), Set(Self.foreign + [#""v=spf1 mx -all""#]))
    }

    func testGandi() throws {
        let fake = try GandiFake()
        defer { fake.stop() }
        fake.addDomain("example.com")
        fake.put("example.com", "@", "TXT", ttl: 3600, Self.foreign + [#""v=spf1 a -all""#])
        try roundTrip(Self.yaml("gandi", "token: \"${T}\", api_url: \"\(fake.url)\""), env: ["T": fake.token])
        XCTAssertEqual(Set(fake.rrset("example.com", "@", "TXT")?.values ?? []), Set(Self.foreign + [#""v=spf1 mx -all""#]))
    }
}
