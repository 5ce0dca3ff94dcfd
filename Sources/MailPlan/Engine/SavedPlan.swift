import Crypto
import Foundation

/// Hex SHA-256 of bytes.

/// A fingerprint of the live RRsets of one zone as read from its provider.
///
/// `sha256` is the SHA-256 of the canonical presentation: one line per record,
/// `<owner> <TTL> IN <type> <rdata>` (owner absolute and lower-case, TXT as quoted ≤255-byte
/// strings), sorted and joined with `\n`. So it is independent of the order a provider
/// returns records in and changes with any record, TTL or type at any name, managed or not.
/// `rrsets` keeps a short digest per RRset (`"<owner> <type>"` → first 16 hex digits of the
/// SHA-256 of its lines) so a stale plan can say which RRsets changed.
public struct LiveFingerprint: Codable, Sendable, Hashable {
    public let sha256: String
    public let rrsets: [String: String]

    public init(_ live: [RRset]) {
        var lines: [String] = []
        var per: [String: String] = [:]
        for r in live {
            let l = r.rdata.map { "\(r.name.fqdn) \(r.ttl) IN \(r.type) \($0.presentation)" }.sorted()
            lines += l
            per[r.key.description] = String(hexSHA256(Data(l.joined(separator: "\n").utf8)).prefix(16))
        }
        sha256 = hexSHA256(Data(lines.sorted().joined(separator: "\n").utf8))
        rrsets = per
    }

    /// What differs from an older fingerprint, one line per RRset: `added X`, `removed X`,
    /// `changed X`, in name order.
    public func differences(since old: LiveFingerprint) -> [String] {
        let keys = Set(old.rrsets.keys).union(rrsets.keys).sorted()
        return keys.compactMap { k in
            switch (old.rrsets[k], rrsets[k]) {
            case (nil, _?): "\(k) was added"
            case (_?, nil): "\(k) was removed"
            case (let a?, let b?) where a != b: "\(k) changed"
            default: nil
            }
        }
    }
}

/// A file's path (as written in the plan) and its SHA-256.
public struct FileDigest: Codable, Sendable, Hashable {
    public let path: String
    public let sha256: String
    public init(path: String, sha256: String) { self.path = path; self.sha256 = sha256 }
}

/// A saved plan (`mailplan plan PLAN --out FILE`): everything `apply FILE` needs to do
/// exactly what was reviewed, and to refuse when the world moved on (a stale plan).
///
/// It is JSON with `kind` `mailplan-saved-plan` and `format_version` `1`. It holds the
/// mailplan version, the plan file's path and SHA-256, the SHA-256 of each key file the plan
/// read, the `--target`s, `--shard` and `--allow` gates given, and per zone the fingerprint of the live
/// RRsets read and the Changeset. Provider settings are not in it (so no secret ever is):
/// apply reads them from the plan file and the environment again.
public struct SavedPlan: Codable, Sendable {
    public static let kindName = "mailplan-saved-plan"
    public static let supportedFormat = "1"

    public struct Zone: Codable, Sendable {
        public let fingerprint: LiveFingerprint
        public let changeset: ZoneChangeset
        public init(fingerprint: LiveFingerprint, changeset: ZoneChangeset) {
            self.fingerprint = fingerprint; self.changeset = changeset
        }
    }

    public var kind = SavedPlan.kindName
    public var formatVersion = SavedPlan.supportedFormat
    public var mailplanVersion: String
    /// When the plan was made, ISO 8601 UTC.
    public var createdAt: String
    /// The plan file path as given on the command line (relative to the working directory).
    public var planFile: String
    public var planFileSHA256: String
    public var keyFiles: [FileDigest]
    public var targets: [String]
    /// The shard the plan was made for (`--shard K/N`, written `"K/N"`); nil (no `shard` key)
    /// for a plan of every zone.
    public var shard: Shard?
    /// Safety gates allowed when the plan was made (`--allow`).
    public var allowed: [SafetyGate]
    public var zones: [Zone]
    public var warnings: [String]
    public var summary: ChangeSummary

    enum CodingKeys: String, CodingKey {
        case kind, formatVersion = "format_version", mailplanVersion = "mailplan_version", createdAt = "created_at"
        case planFile = "plan_file", planFileSHA256 = "plan_file_sha256", keyFiles = "key_files", targets, shard, allowed
        case zones, warnings, summary
    }

    /// Builds the saved plan of a fresh plan result.
    /// - Throws: when a key file the plan read cannot be read again for hashing.
    public init(result: PlanResult, plan: MailPlan, targets: [String], shard: Shard? = nil, allowed: [SafetyGate],
                version: String = MailPlanVersion.current, now: Date) throws {
        mailplanVersion = version
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        createdAt = f.string(from: now)
        // Absolute, so the saved plan applies from any working directory.
        planFile = URL(fileURLWithPath: plan.file).standardizedFileURL.path
        planFileSHA256 = plan.sha256
        keyFiles = try SavedPlan.digests(plan.keyFiles)
        self.targets = targets
        self.shard = shard
        self.allowed = allowed.sorted()
        zones = try result.zones.map { z in
            guard let fp = z.fingerprint else {
                throw DiagnosticsError(Diagnostic(at: nil, "zone \(z.changeset.zone.fqdn): the plan run kept no fingerprint of the live records (PlanRun.fingerprints), so it cannot be saved"))
            }
            return Zone(fingerprint: fp, changeset: z.changeset)
        }
        warnings = result.warnings.map(\.description)
        summary = result.summary
    }

    static func digests(_ files: [PlanKeyFile]) throws -> [FileDigest] {
        var seen = Set<String>()
        return try files.compactMap { f in
            guard seen.insert(f.path).inserted else { return nil }
            return FileDigest(path: f.path, sha256: hexSHA256(try Data(contentsOf: f.url)))
        }
    }

    /// The Changesets, in zone order.
    public var changesets: [ZoneChangeset] { zones.map(\.changeset) }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }

    /// Recognizes a saved plan by content (not by file name): a JSON object whose `kind` is
    /// `mailplan-saved-plan`.
    /// - Returns: nil when `data` is not a saved plan (e.g. a YAML plan file).
    /// - Throws: ``DiagnosticsError`` when it is a saved plan of another `format_version`
    ///   or does not decode, naming `file`.
    public static func detect(_ data: Data, file: String) throws -> SavedPlan? {
        guard let first = data.first(where: { !" \t\r\n".utf8.contains($0) }), first == UInt8(ascii: "{"),
              let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              obj["kind"] as? String == kindName else { return nil }
        let v = obj["format_version"] as? String ?? "?"
        guard v == supportedFormat else {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file): saved plan format_version \(v) is not supported by mailplan \(MailPlanVersion.current) (supported: \(supportedFormat)); make the plan again"))
        }
        do { return try JSONDecoder().decode(SavedPlan.self, from: data) } catch {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file): the saved plan does not decode: \(error)"))
        }
    }
}

extension Engine {
    /// Why a saved plan no longer matches the world, one line per reason; empty when it is
    /// current. Compares the mailplan version, the plan file's SHA-256 (this engine's plan
    /// must be loaded from `saved.planFile`), every key file's SHA-256, the fingerprint of
    /// each saved zone's live RRsets, read again now, and the saved changes against the
    /// changes planned again from the same inputs (an edited saved plan is refused). The plan
    /// is made again for the saved `--target`s and shard (``shard`` is left as it was).
    /// - Throws: ``ProviderError`` when a zone cannot be read (never treated as a match).
    public func staleness(of saved: SavedPlan, parallelism: Int = 8,
                          progress: (@Sendable (String) -> Void)? = nil) throws -> [String] {
        var reasons: [String] = []
        if saved.mailplanVersion != MailPlanVersion.current {
            reasons.append("the plan was made by mailplan \(saved.mailplanVersion); this is \(MailPlanVersion.current)")
        }
        if plan.sha256 != saved.planFileSHA256 {
            reasons.append("plan file \(saved.planFile) changed (SHA-256 \(saved.planFileSHA256.prefix(12))… is now \(plan.sha256.prefix(12))…)")
        }
        let now = Dictionary(plan.keyFiles.map { ($0.path, $0.url) }, uniquingKeysWith: { a, _ in a })
        for k in saved.keyFiles {
            guard let url = now[k.path] ?? Optional(plan.baseDirectory.appendingPathComponent(k.path)),
                  let data = try? Data(contentsOf: url) else {
                reasons.append("key file \(k.path) cannot be read any more"); continue
            }
            let h = hexSHA256(data)
            if h != k.sha256 { reasons.append("key file \(k.path) changed (SHA-256 \(k.sha256.prefix(12))… is now \(h.prefix(12))…)") }
        }
        for p in plan.keyFiles where !saved.keyFiles.contains(where: { $0.path == p.path }) {
            reasons.append("the plan now reads key file \(p.path), which the saved plan did not")
        }
        let zones = saved.zones.map { ($0.changeset.zone, $0.changeset.provider) }
        // An edited saved plan that names a zone twice would write it twice.
        let twice = Dictionary(zones.map { ($0.0, 1) }, uniquingKeysWith: +).filter { $0.value > 1 }.keys.map(\.fqdn).sorted()
        if !twice.isEmpty {
            return reasons + ["the saved plan lists zone \(twice.joined(separator: ", ")) more than once: it was edited"]
        }
        guard zones.allSatisfy({ z in plan.provider(named: z.1) != nil }) else {
            let gone = zones.filter { plan.provider(named: $0.1) == nil }.map { "\($0.0.fqdn) (provider '\($0.1)')" }
            return reasons + ["provider of zone \(gone.joined(separator: ", ")) is no longer defined in the plan file"]
        }
        // Plan again from the plan file and the live records, exactly as `plan` did: the live
        // fingerprints must match, and so must every saved change, so an edited saved plan
        // (another address, an extra delete, a dropped safety gate) is refused too.
        let kept = shard
        shard = saved.shard
        defer { shard = kept }
        let fresh = try makePlan(parallelism: parallelism, targets: saved.targets, progress: progress)
        let freshZones = Dictionary(fresh.zones.map { ($0.changeset.zone, $0) }, uniquingKeysWith: { a, _ in a })
        var edited: [String] = []
        for z in saved.zones {
            guard let f = freshZones[z.changeset.zone] else {
                reasons.append("zone \(z.changeset.zone.fqdn) is no longer planned by \(saved.planFile)"); continue
            }
            // makePlan keeps fingerprints; a missing one can only read as "changed".
            let fp = f.fingerprint ?? LiveFingerprint([])
            if fp.sha256 != z.fingerprint.sha256 {
                let what = fp.differences(since: z.fingerprint)
                reasons.append("zone \(z.changeset.zone.fqdn) at provider \(z.changeset.provider) changed since the plan was made"
                               + (what.isEmpty ? "" : ": " + what.joined(separator: "; ")))
            } else if f.changeset.changes != z.changeset.changes {
                edited.append(z.changeset.zone.fqdn)
            }
        }
        if reasons.isEmpty && !edited.isEmpty {
            reasons.append("the saved changes for \(edited.joined(separator: ", ")) are not what \(saved.planFile) gives for the same live records: the saved plan was edited, or the plan depends on something else that changed (a date, live DNS)")
        }
        return reasons
    }
}
