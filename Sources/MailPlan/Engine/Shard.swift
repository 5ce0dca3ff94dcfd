import Crypto
import Foundation

/// One part of a stable partition of a plan's zones, for running mailplan across the jobs of
/// a CI matrix (`--shard K/N`: shard K of N, K from 1 to N).
///
/// A zone belongs to shard `(u mod N) + 1`, where `u` is the first 8 bytes, big-endian, of the
/// SHA-256 of the zone apex written in lower case without the trailing dot (`example.com`;
/// an IDN as its A-labels). So every domain of a zone lands in the same shard, the shard of a
/// zone depends on nothing but its name and N (adding or removing other domains or zones
/// moves no zone), and the same N gives the same partition on every machine and every run.
/// The union of shards 1…N is the whole plan, with no zone in two shards.
///
/// To see where a zone goes from a shell:
/// `printf %s example.com | sha256sum | cut -c1-16` gives `u` in hex.
public struct Shard: Sendable, Hashable, Codable, CustomStringConvertible {
    /// K: which shard, from 1 to ``count``.
    public let index: Int
    /// N: how many shards the zones are split into (at least 1).
    public let count: Int

    /// The most shards a plan can be split into (far more than any CI matrix runs).
    public static let maxCount = 10_000

    /// - Throws: ``ShardError`` unless `1 <= count <= maxCount` and `1 <= index <= count`.
    public init(index: Int, count: Int) throws(ShardError) {
        let text = "\(index)/\(count)"
        guard count >= 1, count <= Shard.maxCount else {
            throw ShardError(text: text, reason: "N (the number of shards) must be from 1 to \(Shard.maxCount)")
        }
        guard index >= 1, index <= count else {
            throw ShardError(text: text, reason: "K must be from 1 to \(count) (shard K of N)")
        }
        self.index = index
        self.count = count
    }

    /// Parses `K/N` (two decimal whole numbers, e.g. `2/4`).
    /// - Throws: ``ShardError`` naming the text and what would be valid.
    public init(parsing text: String) throws(ShardError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        func number(_ s: Substring) -> Int? {
            guard !s.isEmpty, s.count <= 9, s.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
            return Int(s)
        }
        guard parts.count == 2, let k = number(parts[0]), let n = number(parts[1]) else {
            throw ShardError(text: text, reason: "expected K/N, shard K of N with 1 ≤ K ≤ N (e.g. 1/4)")
        }
        try self.init(index: k, count: n)
    }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }

    /// The shard (1…`count`) the zone with apex `zone` belongs to.
    public static func number(ofZone zone: DomainName, count: Int) -> Int {
        let digest = SHA256.hash(data: Data(zone.withoutTrailingDot.lowercased().utf8))
        let u = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(u % UInt64(Swift.max(1, count))) + 1
    }

    /// True when the zone with apex `zone` is in this shard.
    public func contains(zone: DomainName) -> Bool { Shard.number(ofZone: zone, count: count) == index }

    /// True when this shard runs the server-wide parts of a run (the PTRs of `server.reverse`;
    /// in `check`, forward-confirmed reverse DNS, the address blocklists and the SMTP probe):
    /// the shard of `hostZone`, the planned zone that holds `server.hostname`, or shard 1 when
    /// no planned zone holds it. So exactly one shard of N runs them.
    public func runsServerParts(hostZone: DomainName?) -> Bool {
        hostZone.map(contains(zone:)) ?? (index == 1)
    }

    /// Encoded as its text, `K/N` (the saved plan's `shard`).
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A `--shard` value that is not `K/N` with 1 ≤ K ≤ N.
public struct ShardError: Error, CustomStringConvertible, Equatable {
    /// The text given.
    public let text: String
    /// What is wrong and what would be valid.
    public let reason: String
    public var description: String { "'\(text)': \(reason)" }
}
