import ArgumentParser
import Foundation
import MailPlan
#if canImport(Glibc)
import Glibc
#endif

struct Show: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a saved plan (made with 'mailplan plan PLAN --out FILE') without reading any DNS.",
        discussion: """
        Examples:
          mailplan show plan.json
          mailplan show plan.json --json              # the saved plan document itself
          mailplan show plan.json --format markdown
        """)
    @Argument(help: "Path to the saved plan.")
    var file: String
    @Flag(help: "Print the saved plan document (JSON); the same as --format json.")
    var json = false
    @Option(help: "Output format: text, json or markdown.")
    var format: OutputFormat = .text
    @Flag(name: .customLong("no-color"), help: "Never colour the output.")
    var noColor = false
    @OptionGroup var log: LogOptions

    func run() throws {
        let data: Data
        do { data = try FileKind.readRegular(file) } catch {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file): cannot read the file (\(PlanLoader.reason(error, path: file)))"))
        }
        guard let saved = try SavedPlan.detect(data, file: file) else {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file) is not a saved plan (make one with: mailplan plan PLAN --out plan.json, then: mailplan show plan.json)"))
        }
        switch json ? .json : format {
        case .json: print(try saved.json(), terminator: "")
        case .markdown:
            print(MarkdownRenderer.render(saved.changesets, warnings: saved.warnings, title: saved.planFile), terminator: "")
        case .text:
            let style = noColor ? Style(enabled: false) : Style.auto(isTerminal: isatty(STDOUT_FILENO) == 1)
            print("Saved plan of \(saved.planFile), made \(saved.createdAt) by mailplan \(saved.mailplanVersion)"
                  + (saved.targets.isEmpty ? "" : " for --target \(saved.targets.joined(separator: ", "))")
                  + (saved.shard.map { " for --shard \($0)" } ?? "") + ".\n")
            for w in saved.warnings { print(w) }
            if !saved.warnings.isEmpty { print("") }
            print(PlanRenderer.text(saved.changesets, style: style), terminator: "")
        }
    }
}
