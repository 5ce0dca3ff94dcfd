import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

struct Validate: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a plan file offline: syntax, schema, keys, and what each provider can hold. No API call is made.",
        discussion: """
        Secrets are not needed: a setting written as ${VAR} whose variable is unset is a \
        warning here (plan, apply, check and import need it), unless --strict-env.

        Example: mailplan validate plans/example.yaml
        """)
    @OptionGroup var options: CommonOptions
    var log: LogOptions { options.log }
    @Flag(help: "Treat an unset ${VAR} in a secret setting as an error, as plan and apply do.")
    var strictEnv = false

    func run() throws {
        let engine = try options.loadEngine(unsetSecretsAreWarnings: !strictEnv)
        // Zone by zone: nothing of a zone is kept once it is checked (docs/architecture.md, "Streaming").
        let summary = try engine.validateZoneByZone()
        printWarnings(summary.warnings)
        let count = summary.rrsets
        print("\(options.planFile): valid (\(engine.plan.domains.count) domain\(engine.plan.domains.count == 1 ? "" : "s"), \(summary.zones) zone\(summary.zones == 1 ? "" : "s"), \(count) managed RRset\(count == 1 ? "" : "s")).")
    }
}
