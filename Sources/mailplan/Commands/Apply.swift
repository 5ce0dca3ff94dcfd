import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

struct Apply: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the plan, ask for confirmation, and write the changes through each provider.",
        discussion: """
        Only the answer 'yes' proceeds. With --auto-approve no question is asked, and each \
        zone is written as soon as it is planned while later zones are still read; a safety \
        gate is then checked zone by zone: a refused change stops the writes after it, and \
        the report lists the zones already applied.

        The argument may also be a saved plan (mailplan plan PLAN --out FILE), recognized by \
        its content: mailplan reads the live records again and refuses with exit 1 ("stale \
        plan") when the plan file, a key file or any zone it read changed since; otherwise \
        it applies exactly the saved changes, without asking.

        Changes that remove the last MX, delete a DKIM selector, or move DMARC to p=reject \
        or SPF to -all for the first time (an existing policy moving; a first record needs \
        no gate) are refused unless allowed with --allow=<gate>. With check.smtp, so are \
        TLSA changes that match neither the key the mail server presents nor \
        server.dane.next_public_key_file, or that delete the TLSA of the presented key \
        (--allow=tlsa-mismatch).

        Examples:
          mailplan apply plans/example.yaml --auto-approve
          mailplan apply plan.json
        """)
    @OptionGroup var options: CommonOptions
    var log: LogOptions { options.log }
    @OptionGroup var runOptions: RunOptions
    @Flag(help: "Apply without asking for confirmation.")
    var autoApprove = false
    @Flag(inversion: .prefixedNo, help: "After applying, poll every authoritative server of each changed zone until each changed RRset is served as planned (default: on when the plan's dns: block configures or can discover authoritative servers).")
    var wait: Bool? = nil
    @Option(name: .customLong("wait-timeout"), help: "Seconds to wait for the changes to be served.")
    var waitTimeout: Double = 120

    func validate() throws {
        if !(waitTimeout > 0 && waitTimeout <= 86_400) { throw ValidationError("--wait-timeout must be a number of seconds from 0 to 86400, got \(waitTimeout)") }
    }

    func run() throws {
        let data: Data
        do { data = try FileKind.readRegular(options.planFile) } catch {
            throw DiagnosticsError(Diagnostic(at: nil, "\(options.planFile): cannot read the plan file (\(PlanLoader.reason(error, path: options.planFile)))"))
        }
        if let saved = try SavedPlan.detect(data, file: options.planFile) { return try applySaved(saved) }
        let engine = try options.loadEngine()
        try runOptions.sharding.configure(engine)
        let run = PlanRun(parallelism: runOptions.parallelism, targets: runOptions.target, servedDrift: false,
                          fingerprints: false, keepZones: false)
        let text = PlanTextStream(style: options.style) { print($0, terminator: ""); fflush(nil) }
        let render: (PlanEvent) -> Void = { event in
            switch event {
            case .warnings(let w): printWarnings(w)
            case .zone(let z): text.zone(z.changeset)
            }
        }
        if autoApprove { return try applyPipelined(engine, run: run, text: text, events: render) }
        let result = try engine.streamPlan(run, progress: runOptions.progress, events: render)
        text.finish(result)
        if !result.hasChanges { return }
        try enforceGates(result.changesets, allowed: Set(try runOptions.gates()))
        // Interactive: --auto-approve took the pipelined path above.
        print("\nDo you want to perform these actions?\n  mailplan will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", terminator: "")
        fflush(nil)
        let answer = readLine(strippingNewline: true)?.trimmingCharacters(in: .whitespaces)
        // A terminal echoes the answer and its newline; a piped answer is not echoed, so
        // end the prompt line here and the output reads the same as on a terminal.
        if isatty(STDIN_FILENO) != 1 { print("") }
        guard answer == "yes" else {
            print("\nApply cancelled.")
            throw ExitCode(1)
        }
        print("")
        try finish(engine.apply(result) { printError($0) }, plan: engine.plan)
    }

    /// `--auto-approve` on a plan file: zones are written as they are planned (the engine's
    /// pipelined apply). A gate refusal or a failure part-way still prints exactly what was
    /// applied before it.
    func applyPipelined(_ engine: Engine, run: PlanRun, text: PlanTextStream, events: @escaping (PlanEvent) -> Void) throws {
        let outcome = engine.planAndApply(run, allowed: Set(try runOptions.gates()), progress: runOptions.progress,
                                          applyProgress: { printError($0) }, events: events)
        if let result = outcome.result { text.finish(result) }
        // Stopped part-way: the refusal, then the report when something was tried.
        if outcome.error != nil || !outcome.refused.isEmpty {
            if !outcome.refused.isEmpty { printError("error: " + SafetyGate.refusal(outcome.refused)) }
            if outcome.triedAnything { print(""); printReport(outcome.report) }
            throw outcome.error ?? ExitCode(1)
        }
        guard let result = outcome.result else { return }
        if !result.hasChanges { return }
        print("")
        try finish(outcome.report, plan: engine.plan)
    }

    /// Applies a saved plan after checking it is not stale.
    func applySaved(_ saved: SavedPlan) throws {
        guard runOptions.target.isEmpty else {
            throw ValidationError("--target cannot be used with a saved plan: it applies the zones it was made for")
        }
        guard runOptions.sharding.shard == nil else {
            throw ValidationError("--shard cannot be used with a saved plan: it applies the zones of the shard it was made for" + (saved.shard.map { " (\($0))" } ?? " (every zone)"))
        }
        let engine: Engine
        do { engine = try makeEngine(path: saved.planFile) } catch let e as DiagnosticsError {
            printError("error: stale plan: \(options.planFile) was made from \(saved.planFile), which no longer loads:")
            printError(e.description)
            throw ExitCode(1)
        }
        let plan = engine.plan
        engine.shard = saved.shard
        if let note = engine.emptyShardNote { printError("note: " + note) }
        let reasons = try engine.staleness(of: saved, parallelism: runOptions.parallelism, progress: runOptions.progress)
        if !reasons.isEmpty {
            printError("error: stale plan: \(options.planFile) no longer matches what it was made from:")
            for r in reasons { printError("  - \(r)") }
            printError("Make a new plan: mailplan plan \(saved.planFile) --out \(options.planFile)")
            throw ExitCode(1)
        }
        if plan.server.reverse != nil {
            printError("note: a saved plan does not carry PTR changes (server.reverse); run 'mailplan apply \(saved.planFile)' to set PTRs")
        }
        print(PlanRenderer.text(saved.changesets, style: options.style), terminator: "")
        if saved.summary.isEmpty { return }
        try enforceGates(saved.changesets, allowed: Set(saved.allowed + (try runOptions.gates())))
        print("")
        try finish(engine.apply(changesets: saved.changesets) { printError($0) }, plan: engine.plan)
    }

    func finish(_ report: ApplyReport, plan: MailPlan) throws {
        printReport(report)
        guard report.succeeded else { throw ExitCode(1) }
        try waitForServedRecords(plan, report)
    }

    /// Prints what an apply did (``ApplyReportRenderer``).
    func printReport(_ report: ApplyReport) {
        let text = ApplyReportRenderer.render(report)
        for l in text.stderr { printError(l) }
        for l in text.stdout { print(l) }
    }

    /// The propagation wait (issue 4): on by default when the plan's dns: block gives
    /// authoritative servers or resolvers to discover them; --wait without either is an error.
    func waitForServedRecords(_ plan: MailPlan, _ report: ApplyReport) throws {
        let dns = plan.dns
        let possible = !dns.authoritative.isEmpty || !dns.resolvers.isEmpty
        if wait == false || (wait == nil && !possible) { return }
        if !possible { throw ValidationError("--wait needs name servers: add dns.authoritative (or dns.resolvers to discover them) to \(options.planFile)") }
        let live = LiveDNS(settings: dns)
        let expectations = try PropagationWaiter.expectations(report) { try live.authoritativeServers(for: $0) }
        if expectations.isEmpty { return }
        let servers = Set(expectations.flatMap(\.servers)).map(\.description).sorted()
        printError("Waiting up to \(Int(waitTimeout)) s for \(expectations.count) RRset\(expectations.count == 1 ? "" : "s") to be served by \(servers.joined(separator: ", ")) ...")
        let result = PropagationWaiter(resolver: live.authoritative).wait(expectations, timeout: waitTimeout) { printError($0) }
        if result.succeeded { print(result.message) } else { printError(result.message); throw ExitCode(1) }
    }

}
