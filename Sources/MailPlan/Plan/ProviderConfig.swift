import Foundation

/// A scalar setting from the plan file with where it was written. A value written as
/// `${VAR}` is read from the environment and carried as a ``Secret``.
public struct PlanValue: Sendable {
    /// The text with `${VAR}` already substituted. For a secret, use ``secret`` instead.
    public let text: String
    public let location: SourceLocation?
    /// Set when the value came from an environment variable.
    public let secret: Secret?
    /// The variable of a `${VAR}` left unset under ``PlanLoader/unsetSecretsAreWarnings``;
    /// `text` is then empty and ``secret`` a placeholder.
    public let unsetVariable: String?
    public init(text: String, location: SourceLocation?, secret: Secret? = nil, unsetVariable: String? = nil) {
        self.text = text; self.location = location; self.secret = secret; self.unsetVariable = unsetVariable
    }
}

/// One entry of the plan file's `providers:` map: an instance name, an adapter `type` and
/// the adapter's settings. Adapters read their settings through the typed accessors, which
/// throw ``DiagnosticsError`` naming the file, line and column.
public struct ProviderConfig: Sendable {
    /// The instance name (the key under `providers:`).
    public let name: String
    /// The adapter type name (`zonefile`, `powerdns`, …).
    public let type: String
    public let location: SourceLocation?
    public let settings: [String: PlanValue]
    /// The directory of the plan file; relative paths in settings resolve against it.
    public let baseDirectory: URL
    /// What this run shares between the adapter instances built from this entry (request
    /// count, pacer, the account's zone listing). Copies of the config share it.
    public let session: ProviderSession

    public init(name: String, type: String, location: SourceLocation?, settings: [String: PlanValue], baseDirectory: URL,
                session: ProviderSession = ProviderSession()) {
        self.name = name; self.type = type; self.location = location
        self.settings = settings; self.baseDirectory = baseDirectory; self.session = session
    }

    func error(_ key: String?, _ message: String) -> DiagnosticsError {
        let loc = key.flatMap { settings[$0]?.location } ?? location
        return DiagnosticsError(Diagnostic(at: loc, "providers.\(name): \(message)"))
    }

    /// Rejects settings the adapter does not know, with a did-you-mean hint.
    /// - Parameter allowed: the adapter's setting names (without `type`).
    public func checkKeys(allowed: [String]) throws {
        var problems: [Diagnostic] = []
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) where !allowed.contains(key) {
            problems.append(Diagnostic(at: value.location,
                "providers.\(name): unknown setting '\(key)' for type \(type); \(Suggest.hint(key, allowed.sorted()))"))
        }
        if !problems.isEmpty { throw DiagnosticsError(problems) }
    }

    /// A plain (non-secret) string setting; nil when absent.
    /// - Throws: when `required` and absent, or when it is a `${VAR}` left unset.
    public func string(_ key: String, required: Bool = false) throws -> String? {
        guard let v = try plain(key) else {
            if required { throw error(nil, "missing required setting '\(key)'") }
            return nil
        }
        return v.text
    }

    /// The setting, refusing one whose `${VAR}` was left unset: only a secret can stay unset.
    func plain(_ key: String) throws -> PlanValue? {
        guard let v = settings[key] else { return nil }
        if let n = v.unsetVariable {
            throw DiagnosticsError(Diagnostic(at: v.location, "providers.\(name).\(key): environment variable \(n) is not set (export \(n)=… before running mailplan)"))
        }
        return v
    }

    /// An integer setting within `range`; nil when absent.
    public func int(_ key: String, in range: ClosedRange<Int> = Int.min...Int.max) throws -> Int? {
        guard let v = try plain(key) else { return nil }
        guard let n = Int(v.text), range.contains(n) else {
            throw error(key, "'\(key)' must be an integer from \(range.lowerBound) to \(range.upperBound), got '\(v.text)'")
        }
        return n
    }

    /// A boolean setting (`true`/`false`); nil when absent.
    public func bool(_ key: String) throws -> Bool? {
        guard let v = try plain(key) else { return nil }
        switch v.text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error(key, "'\(key)' must be true or false, got '\(v.text)'")
        }
    }

    /// A credential, which must be written as `${ENV_VAR}` so it never lives in the plan file.
    /// - Throws: when absent and required, or when written literally.
    public func secret(_ key: String, required: Bool = true) throws -> Secret? {
        guard let v = settings[key] else {
            if required { throw error(nil, "missing required setting '\(key)' (write it as \(key): ${ENV_VAR})") }
            return nil
        }
        guard let s = v.secret else {
            throw error(key, "'\(key)' is a secret: write it as ${ENV_VAR} and set the variable, never the value itself")
        }
        return s
    }

    /// A file path, resolved against the plan file's directory when relative.
    public func path(_ key: String, required: Bool = false) throws -> URL? {
        guard let text = try string(key, required: required) else { return nil }
        if text.hasPrefix("/") { return URL(fileURLWithPath: text) }
        return baseDirectory.appendingPathComponent(text).standardizedFileURL
    }
}
