import Foundation

/// The identity of an RRset within a zone: owner name and type.
public struct RRsetKey: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let name: DomainName
    public let type: RRType
    public init(_ name: DomainName, _ type: RRType) { self.name = name; self.type = type }
    public var description: String { "\(name.fqdn) \(type)" }
    public static func < (a: Self, b: Self) -> Bool {
        a.name != b.name ? a.name < b.name : a.type < b.type
    }
}

/// A resource record set: all records of one owner name and type (RFC 2181 §5), with one
/// TTL in seconds. The rdata is kept sorted by presentation and free of duplicates, so two
/// RRsets with the same records compare equal whatever order a provider returned them in.
public struct RRset: Hashable, Sendable, CustomStringConvertible {
    public let name: DomainName
    public let type: RRType
    /// Time to live, in seconds.
    public var ttl: UInt32
    public private(set) var rdata: [RData]

    /// - Parameters:
    ///   - name: absolute owner name.
    ///   - type: RR type; every element of `rdata` must have this type.
    ///   - ttl: time to live in seconds.
    ///   - rdata: the records; order and duplicates are normalized away.
    public init(name: DomainName, type: RRType, ttl: UInt32, rdata: [RData]) {
        self.name = name; self.type = type; self.ttl = ttl
        // Most RRsets hold one record: nothing to deduplicate or sort.
        if rdata.count < 2 { self.rdata = rdata; return }
        var seen = Set<RData>()
        self.rdata = rdata.filter { seen.insert($0).inserted }.sorted { $0.presentation < $1.presentation }
    }

    public var key: RRsetKey { RRsetKey(name, type) }
    public var description: String {
        rdata.map { "\(name.fqdn) \(ttl) IN \(type) \($0.presentation)" }.joined(separator: "\n")
    }

    /// The same RRset with other records.
    public func with(rdata: [RData]) -> RRset { RRset(name: name, type: type, ttl: ttl, rdata: rdata) }
    /// The same RRset with another TTL.
    public func with(ttl: UInt32) -> RRset { var r = self; r.ttl = ttl; return r }
}

extension RRset: Codable {
    enum CodingKeys: String, CodingKey { case name, type, ttl, values }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(DomainName.self, forKey: .name)
        let type = try c.decode(RRType.self, forKey: .type)
        let texts = try c.decode([String].self, forKey: .values)
        let rdata = try texts.map { t -> RData in
            do { return try RData.parse(type: type, t) } catch {
                throw DecodingError.dataCorruptedError(forKey: .values, in: c, debugDescription: "\(error)")
            }
        }
        self.init(name: name, type: type, ttl: try c.decode(UInt32.self, forKey: .ttl), rdata: rdata)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type, forKey: .type)
        try c.encode(ttl, forKey: .ttl)
        try c.encode(rdata.map(\.presentation), forKey: .values)
    }
}

extension Array where Element == RRset {
    /// Groups single records (owner, rdata, TTL) into RRsets, as record-level providers
    /// and zone files return them. When the records of one set disagree on TTL, the lowest
    /// wins (RFC 2181 §5.2 says they must agree; resolvers treat the lowest as the set's).
    public static func grouping(_ records: [(name: DomainName, ttl: UInt32, rdata: RData)]) -> [RRset] {
        var order: [RRsetKey] = []
        var sets: [RRsetKey: (ttl: UInt32, rdata: [RData])] = [:]
        for r in records {
            let k = RRsetKey(r.name, r.rdata.type)
            if var e = sets[k] {
                e.ttl = Swift.min(e.ttl, r.ttl); e.rdata.append(r.rdata); sets[k] = e
            } else { order.append(k); sets[k] = (r.ttl, [r.rdata]) }
        }
        return order.map { k in RRset(name: k.name, type: k.type, ttl: sets[k]!.ttl, rdata: sets[k]!.rdata) }
    }
}
