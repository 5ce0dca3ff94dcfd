import Foundation

/// A calendar date written in a plan file as ISO 8601 `YYYY-MM-DD` (e.g. a DKIM selector's
/// `until:`). Dates are whole days in UTC: a date covers 00:00:00Z to 23:59:59Z.
public struct PlanDate: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let year: Int, month: Int, day: Int

    /// Parses `YYYY-MM-DD`; nil when the text is not a real calendar date.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1...12).contains(m), (1...31).contains(d) else { return nil }
        year = y; month = m; day = d
        // Reject 2026-02-30 and friends: the date must survive a round trip through the calendar.
        guard let start = Self.utc.date(from: DateComponents(year: y, month: m, day: d)),
              Self.utc.component(.day, from: start) == d else { return nil }
    }

    /// The date (UTC) that contains `instant`.
    public init(containing instant: Date) {
        let c = Self.utc.dateComponents([.year, .month, .day], from: instant)
        year = c.year!; month = c.month!; day = c.day!
    }

    static let utc: Calendar = {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        return c
    }()

    /// 00:00:00Z of this date.
    public var start: Date { Self.utc.date(from: DateComponents(year: year, month: month, day: day))! }
    /// 00:00:00Z of the following date: the first instant after this date.
    public var end: Date { Self.utc.date(byAdding: .day, value: 1, to: start)! }
    /// The following date.
    public var next: PlanDate { PlanDate(containing: end) }

    public var description: String { String(format: "%04d-%02d-%02d", year, month, day) }
    public static func < (a: Self, b: Self) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
    public init(from decoder: Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let d = PlanDate(s) else { throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(s)' is not a YYYY-MM-DD date")) }
        self = d
    }
    public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(description) }
}

/// The clock a plan is evaluated at. Stages that depend on dates (DKIM rotation) are computed
/// from it, so tests and reviews can ask "what would the plan be on that day?".
public enum PlanClock {
    /// The environment variable that overrides the current date: `MAILPLAN_NOW=2027-01-01`
    /// (an ISO date, read as 00:00:00Z) or a full ISO 8601 instant (`2027-01-01T12:00:00Z`).
    public static let variable = "MAILPLAN_NOW"

    /// The instant to evaluate a plan at: `MAILPLAN_NOW` when set, otherwise `now`.
    /// - Throws: ``DiagnosticsError`` when `MAILPLAN_NOW` is set but is not an ISO date or instant.
    public static func now(environment: [String: String] = ProcessInfo.processInfo.environment, default now: Date = Date()) throws -> Date {
        guard let text = environment[variable], !text.isEmpty else { return now }
        if let d = PlanDate(text) { return d.start }
        let f = ISO8601DateFormatter()
        if let t = f.date(from: text) { return t }
        throw DiagnosticsError(Diagnostic(at: nil, "\(variable)='\(text)' is not an ISO 8601 date (2027-01-01) or instant (2027-01-01T12:00:00Z)"))
    }
}
