import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

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
        print(PlanRenderer.text(result, style: options.style), terminator: "")
        if !result.hasChanges { return }
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
        for f in report.filesWritten { print("Wrote \(f.path) (\(f.purpose)).") }
        if let e = report.fileError { printError("error: \(e); no DNS change was made") }
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
