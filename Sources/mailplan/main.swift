import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard error.
func printError(_ s: String) { FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8)) }

struct MailPlanCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailplan",
        abstract: "Declarative DNS for mail servers: plan, apply and verify MX, SPF, DKIM, DMARC, MTA-STS and TLS-RPT.",
        discussion: """
        Exit codes: 0 success (and, with --detailed-exitcode, nothing to change); 1 error; \
        2 changes pending (plan --detailed-exitcode).

        Example:
          mailplan validate plans/example.yaml
          mailplan plan plans/example.yaml --detailed-exitcode
          mailplan apply plans/example.yaml
        """,
        version: MailPlanVersion.current,
        subcommands: [Validate.self, Plan.self, Apply.self]
    )
}

struct CommonOptions: ParsableArguments {
    @Argument(help: "Path to the plan file (YAML).")
    var planFile: String

    @Flag(name: .customLong("no-color"), help: "Never colour the output (colour is used only on a terminal and never when NO_COLOR is set).")
    var noColor = false

    var style: Style { noColor ? Style(enabled: false) : Style.auto(isTerminal: isatty(STDOUT_FILENO) == 1) }

    func loadEngine() throws -> Engine {
        let plan = try PlanLoader().load(path: planFile)
        return Engine(plan: plan, makeProvider: ProviderRegistry.make)
    }
}

func printWarnings(_ w: [Diagnostic]) { for d in w { printError(d.description) } }

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

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what apply would change: read the live records and diff them against the plan.",
        discussion: """
        Examples:
          mailplan plan plans/example.yaml
          mailplan plan plans/example.yaml --detailed-exitcode   # exit 2 when changes are pending
          mailplan plan plans/example.yaml --json                # the JSON document of docs/json-output.md
        """)
    @OptionGroup var options: CommonOptions
    @Flag(help: "Exit 0 when nothing changes, 2 when changes are pending, 1 on error (as Terraform).")
    var detailedExitcode = false
    @Flag(help: "Print the plan as JSON (docs/json-output.md) instead of text.")
    var json = false

    func run() throws {
        let engine = try options.loadEngine()
        let result = try engine.makePlan()
        if json {
            print(try PlanDocument(result: result, version: MailPlanVersion.current).json(), terminator: "")
        } else {
            printWarnings(result.warnings)
            print(PlanRenderer.text(result.changesets, style: options.style), terminator: "")
        }
        if detailedExitcode && !result.summary.isEmpty { throw ExitCode(2) }
    }
}

struct Apply: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the plan, ask for confirmation, and write the changes through each provider.",
        discussion: """
        Only the answer 'yes' proceeds. With --auto-approve no question is asked.

        Example: mailplan apply plans/example.yaml --auto-approve
        """)
    @OptionGroup var options: CommonOptions
    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false

    func run() throws {
        let engine = try options.loadEngine()
        let result = try engine.makePlan()
        printWarnings(result.warnings)
        print(PlanRenderer.text(result.changesets, style: options.style), terminator: "")
        if result.summary.isEmpty { return }
        if !autoApprove {
            print("\nDo you want to perform these actions?\n  mailplan will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
            fflush(nil)
            let answer = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces)
            guard answer == "yes" else {
                print("\nApply cancelled.")
                throw ExitCode(1)
            }
        }
        print("")
        let report = engine.apply(result) { printError($0) }
        for z in report.zones where z.error != nil {
            printError("error: \(z.error!)")
            for c in z.applied { printError("  applied:       \(actionWord(c.action)) \(c.key)") }
            for c in z.failed { printError("  failed:        \(actionWord(c.action)) \(c.key)") }
            for c in z.notAttempted { printError("  not attempted: \(actionWord(c.action)) \(c.key)") }
        }
        let s = report.appliedSummary
        if report.succeeded {
            print("Apply complete! Records: \(s.add) added, \(s.change) changed, \(s.destroy) destroyed.")
        } else {
            print("Apply failed. Applied: \(s.add) added, \(s.change) changed, \(s.destroy) destroyed; run 'mailplan plan' to see what is left.")
            throw ExitCode(1)
        }
    }

    func actionWord(_ a: ChangeAction) -> String { a.rawValue }
}

// Entry point: every error is one clear line on stderr and exit 1 (usage errors included),
// except the exit codes the commands choose (2 for pending changes).
do {
    var command = try MailPlanCLI.parseAsRoot()
    try command.run()
} catch let code as ExitCode {
    Foundation.exit(code.rawValue)
} catch let e as DiagnosticsError {
    printError(e.description)
    Foundation.exit(1)
} catch let e as ProviderError {
    printError("error: \(e.description)")
    Foundation.exit(1)
} catch {
    let code = MailPlanCLI.exitCode(for: error)
    if code == .success {
        print(MailPlanCLI.fullMessage(for: error))
        Foundation.exit(0)
    }
    printError("error: " + MailPlanCLI.message(for: error).replacingOccurrences(of: "Error: ", with: ""))
    printError("Run 'mailplan --help' for usage.")
    Foundation.exit(1)
}
