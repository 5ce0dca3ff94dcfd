import ArgumentParser
import Foundation
import Logging
import MailPlan

/// `--verbose`, on every command: the debug log on stderr (the same as `MAILPLAN_LOG=debug`).
struct LogOptions: ParsableArguments {
    @Flag(help: "Log each HTTP request (method, URL, status, timing, retries and waits) and each DNS query with its server to stderr, credentials redacted. The same as MAILPLAN_LOG=debug; MAILPLAN_LOG=trace adds each DNS answer record.")
    var verbose = false
}

/// A command that takes `--verbose`; main.swift bootstraps the log from it before `run()`.
protocol LoggingCommand {
    var log: LogOptions { get }
}

/// The debug log users turn on with `--verbose` or `MAILPLAN_LOG`: swift-log bootstrapped once
/// to a handler that writes `<level> <label>: <message>` lines to stderr.
enum DebugLog {
    /// The level from `--verbose` and `MAILPLAN_LOG` (`debug` or `trace`; `off`, `info`,
    /// `warning` and `error` are accepted too; empty means unset).
    /// - Returns: `.debug` for `--verbose`, the variable's level when it is finer, else `.warning`.
    /// - Throws: `ValidationError` naming the valid values when `MAILPLAN_LOG` holds another word.
    static func level(verbose: Bool, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Logger.Level {
        var level: Logger.Level = verbose ? .debug : .warning
        let raw = (environment["MAILPLAN_LOG"] ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let known: [String: Logger.Level] = ["trace": .trace, "debug": .debug, "info": .info, "warning": .warning, "error": .error, "off": .critical]
        if !raw.isEmpty {
            guard let fromEnv = known[raw] else {
                throw ValidationError("MAILPLAN_LOG=\(raw) is not a log level; use debug or trace (or off, info, warning, error)")
            }
            if fromEnv < level { level = fromEnv }
        }
        return level
    }

    /// Sends every swift-log logger of the process to stderr at `level`. Call once, before
    /// any adapter or transport is built.
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in StderrLogHandler(label: label, logLevel: level) }
    }
}

/// The values that must never reach the log, in addition to what the transport redacts
/// itself (credential headers, secret query parameters): every secret the plan file reads
/// from the environment and the AWS credentials.
final class LogRedactions: @unchecked Sendable {
    static let shared = LogRedactions()
    private let lock = NSLock()
    private var values: [String] = []

    /// Adds secret values; those shorter than 4 characters are ignored (they would mask ordinary text).
    func add(_ new: [String]) {
        lock.lock(); defer { lock.unlock() }
        for v in new where v.count >= 4 && !values.contains(v) { values.append(v) }
        values.sort { $0.count > $1.count }
    }

    /// `text` with every registered value replaced by `<redacted>`.
    func apply(_ text: String) -> String {
        lock.lock(); defer { lock.unlock() }
        var out = text
        for v in values where out.contains(v) { out = out.replacingOccurrences(of: v, with: "<redacted>") }
        return out
    }
}

/// One line per message on stderr: `debug mailplan.http: → GET https://… (attempt 1/4) …`.
/// Metadata is appended as `key=value`; control characters are escaped and secrets redacted.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    init(label: String, logLevel: Logger.Level) { self.label = label; self.logLevel = logLevel }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let meta = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        printError(LogRedactions.shared.apply("\(event.level) \(label): \(event.message)\(meta)"))
    }
}
