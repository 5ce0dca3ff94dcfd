import ArgumentParser
import Foundation
import MailPlan
#if canImport(Glibc)
import Glibc
#endif

/// `--shard K/N`, shared by `plan`, `apply` and `check`: run on one part of a stable
/// partition of the plan's zones (``Shard``), one part per job of a CI matrix.
struct ShardOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Limit the run to shard K of N of the plan's zones (K from 1 to N): a stable split by zone name, for CI matrix jobs. Every domain of a zone is in the same shard; adding a zone moves no other.",
        valueName: "K/N"))
    var shard: String?

    func validate() throws { _ = try value() }

    /// The shard, nil without `--shard`.
    func value() throws -> Shard? {
        guard let shard else { return nil }
        do { return try Shard(parsing: shard) } catch { throw ValidationError("--shard \(error)") }
    }

    /// Sets the engine's shard and prints the note for a shard without zones (then the run
    /// does nothing and exits 0).
    func configure(_ engine: Engine) throws {
        engine.shard = try value()
        if let note = engine.emptyShardNote { printError("note: " + note) }
    }
}

/// Options shared by `plan` and `apply`: how many zones to read at once, which zones, and
/// which safety gates to open.
struct RunOptions: ParsableArguments {
    @Option(help: "Read at most N zones at the same time.")
    var parallelism: Int = 8

    @Option(help: ArgumentHelp("Limit the run to the zone of this domain (or this zone apex). Repeatable.", valueName: "domain"))
    var target: [String] = []

    @OptionGroup var sharding: ShardOptions

    @Option(help: ArgumentHelp(
        "Allow a risky change at apply (repeatable). Gates: "
            + SafetyGate.allCases.map { "\($0.rawValue) (\($0.explanation))" }.joined(separator: "; ") + ".",
        valueName: "gate"), completion: .list(SafetyGate.allValueStrings))
    var allow: [String] = []

    func validate() throws {
        guard parallelism >= 1 && parallelism <= 256 else { throw ValidationError("--parallelism must be from 1 to 256, got \(parallelism)") }
        _ = try gates()
    }

    /// The `--allow` values as gates.
    func gates() throws -> [SafetyGate] {
        try allow.map { a in
            guard let g = SafetyGate(rawValue: a) else {
                let names = SafetyGate.allCases.map(\.rawValue)
                let hint = Suggest.closest(to: a, in: names).map { "did you mean '\($0)'? " } ?? ""
                throw ValidationError("--allow=\(a) is not a safety gate; \(hint)(gates: \(names.joined(separator: ", ")))")
            }
            return g
        }
    }

    /// Progress lines on stderr, shown only on a terminal and only once the run has taken
    /// more than a second.
    var progress: @Sendable (String) -> Void { ProgressReporter(enabled: isatty(STDERR_FILENO) == 1).report }
}

/// Writes progress lines to stderr after a short delay, so quick runs stay quiet.
final class ProgressReporter: @unchecked Sendable {
    private let enabled: Bool
    private let start = Date()
    private let lock = NSLock()
    init(enabled: Bool) { self.enabled = enabled }
    func report(_ line: String) {
        guard enabled, Date().timeIntervalSince(start) > 1 else { return }
        lock.lock(); defer { lock.unlock() }
        printError("… " + line)
    }
}

/// The output formats of `plan` and `show`.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, markdown
}

/// Appends to a file (as `$GITHUB_STEP_SUMMARY` expects), creating it when missing.
func appendText(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
        if !FileManager.default.fileExists(atPath: path) {
            try Data(text.utf8).write(to: url)
            return
        }
        let h = try FileHandle(forWritingTo: url)
        defer { try? h.close() }
        try h.seekToEnd()
        try h.write(contentsOf: Data(text.utf8))
    } catch {
        throw ValidationError("--summary \(path): cannot write the summary (\(PlanLoader.reason(error, path: path)))")
    }
}

/// Refuses (exit 1) when changes need safety gates that were not allowed.
func enforceGates(_ changesets: [ZoneChangeset], allowed: Set<SafetyGate>) throws {
    let blocked = SafetyGate.blocked(changesets, allowed: allowed)
    if !blocked.isEmpty {
        printError("error: " + SafetyGate.refusal(blocked))
        throw ExitCode(1)
    }
}

/// The safety gates as `--allow` values: completions list them. `--allow` itself is read as
/// text so that a misspelt gate gets a did-you-mean (``RunOptions/gates()``).
extension SafetyGate: ExpressibleByArgument {}
