import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard error.
func printError(_ s: String) {
    let line = s.hasSuffix("\n") ? s : s + "\n"
    FileHandle.standardError.write(Data(escapingControlCharacters(line).utf8))
}

/// Text from a plan file or a provider can hold control characters; they are shown as `\xHH`
/// so they cannot move the cursor or rewrite a terminal or CI log. Newlines and tabs stay.
func escapingControlCharacters(_ s: String) -> String {
    guard s.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\n" && $0 != "\t") || $0.value == 0x7f }) else { return s }
    var out = ""
    for u in s.unicodeScalars {
        if (u.value < 0x20 && u != "\n" && u != "\t") || u.value == 0x7f { out += String(format: "\\x%02x", u.value) } else { out.unicodeScalars.append(u) }
    }
    return out
}

struct CommonOptions: ParsableArguments {
    @Argument(help: "Path to the plan file (YAML).")
    var planFile: String

    @Flag(name: .customLong("no-color"), help: "Never colour the output (colour is used only on a terminal and never when NO_COLOR is set).")
    var noColor = false

    @OptionGroup var log: LogOptions

    var style: Style { noColor ? Style(enabled: false) : Style.auto(isTerminal: isatty(STDOUT_FILENO) == 1) }

    /// Loads the plan file and builds the engine.
    /// - Parameter unsetSecretsAreWarnings: `validate` without `--strict-env`: an unset
    ///   `${VAR}` written as a whole setting is a warning, not an error (see ``PlanLoader``).
    func loadEngine(unsetSecretsAreWarnings: Bool = false) throws -> Engine {
        try makeEngine(path: planFile, unsetSecretsAreWarnings: unsetSecretsAreWarnings)
    }
}

/// The engine for the plan file at `path`, the one way every command builds it: the plan
/// clock (MAILPLAN_NOW, an ISO date, overrides it, for reviewing a future rotation stage), the
/// adapter registries, and the plan's secrets kept out of the debug log.
func makeEngine(path: String, unsetSecretsAreWarnings: Bool = false) throws -> Engine {
    let engine = try Engine.load(path: path, now: try PlanClock.now(), unsetSecretsAreWarnings: unsetSecretsAreWarnings,
                                 makeProvider: ProviderRegistry.make, makeReverseProvider: ReverseProviderRegistry.make)
    redactSecrets(of: engine.plan)
    return engine
}

/// Keeps every secret the plan reads (and the AWS credentials) out of the debug log.
func redactSecrets(of plan: MailPlan, environment: [String: String] = ProcessInfo.processInfo.environment) {
    let aws = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"].compactMap { environment[$0] }
    LogRedactions.shared.add(plan.providers.flatMap { $0.settings.values.compactMap { $0.secret?.value } } + aws)
}

func printWarnings(_ w: [Diagnostic]) { for d in w { printError(d.description) } }
