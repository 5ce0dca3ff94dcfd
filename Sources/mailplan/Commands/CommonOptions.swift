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

    var style: Style { noColor ? Style(enabled: false) : Style.auto(isTerminal: isatty(STDOUT_FILENO) == 1) }

    func loadEngine() throws -> Engine {
        let plan = try PlanLoader().load(path: planFile)
        // MAILPLAN_NOW (an ISO date) overrides the clock, for reviewing a future rotation stage.
        return Engine(plan: plan, now: try PlanClock.now(), makeProvider: ProviderRegistry.make, makeReverseProvider: ReverseProviderRegistry.make)
    }
}

func printWarnings(_ w: [Diagnostic]) { for d in w { printError(d.description) } }
