import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

/// Writes to standard error.
func printError(_ s: String) { FileHandle.standardError.write(Data((s.hasSuffix("\n") ? s : s + "\n").utf8)) }

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
