import Foundation
import Logging
@testable import MailPlanTestSupport

/// A swift-log handler that keeps every message (with metadata) in memory.
final class LogCapture: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return _lines }
    var text: String { lines.joined(separator: "\n") }
    func append(_ s: String) { lock.lock(); _lines.append(s); lock.unlock() }

    /// A logger at trace level writing here.
    func logger(label: String = "mailplan.http") -> Logger {
        Logger(label: label) { label in Handler(label: label, sink: self) }
    }

    struct Handler: LogHandler {
        let label: String
        let sink: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] } set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = self.metadata.merging(event.metadata ?? [:]) { $1 }
            sink.append("\(event.level) \(label): \(event.message) \(all)")
        }
    }
}
