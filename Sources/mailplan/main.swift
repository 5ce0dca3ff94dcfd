import ArgumentParser
import CBuildInfo
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

        Shell completion: mailplan --generate-completion-script bash|zsh|fish (make install \
        puts the scripts where bash, zsh and fish look). Debug log: --verbose or MAILPLAN_LOG=debug.
        """,
        version: BuildInfo.versionLine,
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

/// What `mailplan --version` prints: the version and the git commit of the build.
enum BuildInfo {
    /// The commit `make release` passed in (`git describe --always --dirty`), or nil.
    static var commit: String? {
        let c = String(cString: mailplan_git_commit())
        return c.isEmpty ? nil : c
    }

    /// `0.1.0 (commit 1a2b3c4d5e6f)`, or `0.1.0 (commit unknown: not built by make release)`.
    static var versionLine: String {
        "\(MailPlanVersion.current) (commit \(commit ?? "unknown: not built by make release"))"
    }
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
    // A misspelt command reads better as one than as "unexpected arguments".
    let names = MailPlanCLI.configuration.subcommands.map { $0._commandName } + ["help"]
    if let first = CommandLine.arguments.dropFirst().first, !first.hasPrefix("-"), !names.contains(first) {
        let hint = Suggest.closest(to: first, in: names).map { "did you mean '\($0)'? " } ?? ""
        printError("error: '\(first)' is not a mailplan command; \(hint)(commands: \(names.joined(separator: ", ")))")
    } else {
        printError("error: " + MailPlanCLI.message(for: error).replacingOccurrences(of: "Error: ", with: ""))
    }
    printError("Run 'mailplan --help' for usage.")
    Foundation.exit(1)
}
do {
    // The debug log (--verbose, MAILPLAN_LOG) goes to stderr; set up before any adapter exists.
    try DebugLog.bootstrap(level: DebugLog.level(verbose: (command as? LoggingCommand)?.log.verbose ?? false))
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
