import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a plan file offline: syntax, schema, keys, and what each provider can hold. No API call is made.",
        discussion: "Example: mailplan validate plans/example.yaml")
    @OptionGroup var options: CommonOptions

    func run() throws {
        let engine = try options.loadEngine()
        let (zones, warnings) = try engine.validate()
        printWarnings(warnings)
        let count = zones.reduce(0) { $0 + $1.rrsets.count }
        print("\(options.planFile): valid (\(engine.plan.domains.count) domain\(engine.plan.domains.count == 1 ? "" : "s"), \(zones.count) zone\(zones.count == 1 ? "" : "s"), \(count) managed RRset\(count == 1 ? "" : "s")).")
    }
}
