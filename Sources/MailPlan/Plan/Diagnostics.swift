import Foundation

/// A position in a source file, 1-based, as shown in every error (`file:line:column`).
public struct SourceLocation: Hashable, Sendable, Codable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public init(file: String, line: Int, column: Int) { self.file = file; self.line = line; self.column = column }
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in user input, with where it is and what would be valid.
public struct Diagnostic: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }
    public let severity: Severity
    public let location: SourceLocation?
    public let message: String
    /// - Parameter message: what is wrong and what would be valid; a value quoted in it that is
    ///   very long (a megabyte pasted into a plan) is shortened (``shortened(_:)``).
    public init(_ severity: Severity = .error, at location: SourceLocation?, _ message: String) {
        self.severity = severity; self.location = location; self.message = Self.shortened(message)
    }

    /// The message with every run of more than 200 characters without a space cut to its
    /// first 80 characters, "…" and its length, and, when still longer than 2,000 characters,
    /// the middle cut the same way: an error names the bad value without echoing megabytes.
    public static func shortened(_ message: String) -> String {
        let bytes = Array(message.utf8)
        guard bytes.count > 200 else { return message }
        var out: [UInt8] = []
        var start = 0
        func flush(_ end: Int) {
            let run = bytes[start..<end]
            if end - start > 200, let text = String(bytes: run, encoding: .utf8) {
                out += Array(text.prefix(80).utf8) + Array("…(\(end - start) bytes)".utf8)
            } else { out += run }
        }
        for (i, b) in bytes.enumerated() where b == 0x20 || b == 0x0a {
            flush(i); out.append(b); start = i + 1
        }
        flush(bytes.count)
        let text = String(decoding: out, as: UTF8.self)
        guard out.count > 2_000 else { return text }
        return text.prefix(1_000) + "…(\(out.count) bytes in all)…" + text.suffix(200)
    }
    /// `file:line:column: error: message`, or `error: message` without a location.
    public var description: String {
        (location.map { "\($0): " } ?? "") + "\(severity.rawValue): \(message)"
    }
}

/// One or more diagnostics, thrown when input is invalid. Every one is reported, not just
/// the first.
public struct DiagnosticsError: Error, CustomStringConvertible, Sendable {
    public let diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public init(_ one: Diagnostic) { self.diagnostics = [one] }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A credential read from the environment. Its text never appears in `description`,
/// `debugDescription`, logs, plans or JSON: only adapters read ``value`` to authenticate.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret text; pass it only to the transport.
    public let value: String
    /// The environment variable it came from, safe to show.
    public let variable: String
    public init(value: String, variable: String) { self.value = value; self.variable = variable }
    /// True for the stand-in of an unset variable that `mailplan validate` accepts
    /// (``PlanLoader/unsetSecretsAreWarnings``): its value is empty and must not be checked.
    public var isPlaceholder: Bool { value.isEmpty }
    public var description: String { "${\(variable)}" }
    public var debugDescription: String { "Secret(${\(variable)})" }
}

/// Suggests the closest candidate to a misspelt key, for "did you mean" hints.
public enum Suggest {
    /// The candidate with the smallest edit distance, when it is close enough to be a typo.
    public static func closest(to word: String, in candidates: [String]) -> String? {
        // A word much longer than every candidate is no misspelling of one (and a megabyte
        // value must not cost an edit distance).
        guard let longest = candidates.map(\.count).max(), word.utf8.count <= 2 * longest + 2 else { return nil }
        let w = word.lowercased()
        var best: (String, Int)? = nil
        for c in candidates {
            let d = distance(w, c.lowercased())
            if best == nil || d < best!.1 { best = (c, d) }
        }
        guard let (cand, d) = best, d <= max(2, w.count / 3) else { return nil }
        return cand
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        for i in 1...a.count {
            var cur = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                cur[j] = Swift.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            prev = cur
        }
        return prev[b.count]
    }

    /// " (did you mean 'x'?)" or "" when nothing is close; followed by the valid keys.
    public static func hint(_ word: String, _ candidates: [String]) -> String {
        let valid = "valid keys: " + candidates.joined(separator: ", ")
        if let c = closest(to: word, in: candidates) { return "did you mean '\(c)'? (\(valid))" }
        return valid
    }
}
