import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

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
        subcommands: [
            // One line per command; each lives in Commands/<Name>.swift.
            Validate.self,
            Plan.self,
            Apply.self,
            Check.self,
            Show.self,
            Import.self,
            DKIM.self,
            VerifyMessage.self,
        ]
    )
}

// Entry point: every error is one clear line on stderr and exit 1 (usage errors included),
// except the exit codes the commands choose (2 for pending changes). No stack traces.
var command: ParsableCommand
do {
    command = try MailPlanCLI.parseAsRoot()
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
do {
    try command.run()
} catch let code as ExitCode {
    Foundation.exit(code.rawValue)
} catch where MailPlanCLI.exitCode(for: error) == .success {
    // ArgumentParser ≥ 1.6 answers --help through a command whose run() throws the request.
    print(MailPlanCLI.fullMessage(for: error))
    Foundation.exit(0)
} catch let e as DiagnosticsError {
    printError(e.description)
    Foundation.exit(1)
} catch let e as ValidationError {
    printError("error: \(e.message)")
    Foundation.exit(1)
} catch {
    printError("error: \(error)")
    Foundation.exit(1)
}
