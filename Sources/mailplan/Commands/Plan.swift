import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

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
            print(PlanRenderer.text(result, style: options.style), terminator: "")
        }
        if detailedExitcode && result.hasChanges { throw ExitCode(2) }
    }
}
