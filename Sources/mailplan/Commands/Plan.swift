import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

struct Plan: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what apply would change: read the live records and diff them against the plan.",
        discussion: """
        Each change has a class: missing, changed (managed records changed outside mailplan), \
        ttl-only, mail-breaking or unwanted (the JSON 'class' field). With a dns: block, name \
        servers that serve something else than the provider holds are reported as "served \
        drift" warnings: nothing to apply, so they do not change the exit code.

        Examples:
          mailplan plan plans/example.yaml
          mailplan plan plans/example.yaml --detailed-exitcode  # 2: changes pending
          mailplan plan plans/example.yaml --json    # docs/json-output.md
          mailplan plan plans/example.yaml --out plan.json  # then: apply plan.json
          mailplan plan plans/example.yaml --shard 2/4  # one job of a CI matrix
          mailplan plan plans/example.yaml --detailed-exitcode \\
            --summary "$GITHUB_STEP_SUMMARY"
        """)
    @OptionGroup var options: CommonOptions
    var log: LogOptions { options.log }
    @OptionGroup var runOptions: RunOptions
    @Flag(help: "Exit 0 when nothing changes, 2 when changes are pending, 1 on error (as Terraform).")
    var detailedExitcode = false
    @Flag(help: "Print the plan as JSON (docs/json-output.md) instead of text; the same as --format json.")
    var json = false
    @Option(help: "Output format: text, json or markdown.")
    var format: OutputFormat = .text
    @Option(help: ArgumentHelp("Also append a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY).", valueName: "file"))
    var summary: String?
    @Option(help: ArgumentHelp("Save the plan to this file; 'mailplan apply FILE' then applies exactly it, or refuses if it is stale.", valueName: "file"))
    var out: String?

    func run() throws {
        if let out { try checkOutTarget(out) }
        let engine = try options.loadEngine()
        try runOptions.sharding.configure(engine)
        let fmt = json ? .json : format
        let title = URL(fileURLWithPath: options.planFile).lastPathComponent
        // Zones are planned one after another and kept only as their Changesets: the text is
        // printed as each zone is planned; JSON and Markdown are printed whole at the end.
        let run = PlanRun(parallelism: runOptions.parallelism, targets: runOptions.target, fingerprints: out != nil, keepZones: false,
                          writes: false)
        let text = PlanTextStream(style: options.style) { print($0, terminator: ""); fflush(nil) }
        let result = try engine.streamPlan(run, progress: runOptions.progress) { event in
            switch (fmt, event) {
            case (.json, _): break
            case (_, .warnings(let w)): printWarnings(w)
            case (.text, .zone(let z)): text.zone(z.changeset)
            case (_, .zone): break
            }
        }
        switch fmt {
        case .json:
            print(try PlanDocument(result: result, version: MailPlanVersion.current).json(), terminator: "")
        case .markdown:
            print(MarkdownRenderer.render(result.changesets, warnings: result.warnings.map(\.description), title: title), terminator: "")
        case .text:
            text.finish(result)
        }
        if let summary {
            try appendText(MarkdownRenderer.render(result.changesets, warnings: result.warnings.map(\.description), title: title), to: summary)
        }
        if let out {
            // created_at is when the plan was saved (the wall clock), not the plan clock.
            let saved = try SavedPlan(result: result, plan: engine.plan, targets: runOptions.target, shard: engine.shard, allowed: try runOptions.gates(), now: Date())
            do { try Data(try saved.json().utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw ValidationError("cannot write the saved plan to \(out): \(error.localizedDescription)")
            }
            let msg = "\nSaved the plan to: \(out)\nTo perform exactly these actions, run: mailplan apply \(out)\n"
            if fmt == .text { print(msg, terminator: "") } else { printError(msg) }
        }
        if detailedExitcode && result.hasChanges { throw ExitCode(2) }
    }

    /// `--out` replaces only a previous saved plan: never the plan file, a zone file, a key or
    /// anything else that happens to be at that path.
    func checkOutTarget(_ out: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: out, isDirectory: &isDir) else { return }
        if isDir.boolValue { throw ValidationError("--out \(out) is a directory; give a file name such as \(out)/plan.json") }
        let data = (try? FileKind.readRegular(out)) ?? Data()
        if (try? SavedPlan.detect(data, file: out)) ?? nil == nil {
            throw ValidationError("--out \(out) exists and is not a saved plan; refusing to overwrite it (remove it first, or choose another name)")
        }
    }
}
