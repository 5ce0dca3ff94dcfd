import Foundation
import MailPlan

/// Shared logic for record-level APIs (one object per value, each with an ID: Cloudflare,
/// DigitalOcean; providers.md §0.1): the records of the last read, and the minimal record
/// operations that turn one ``Change`` into API writes.
///
/// An adapter keeps a ``RecordLevelState`` from its last ``DNSProvider/readZone(_:)``, so
/// apply knows the ID of each live record without reading again.
public enum RecordLevel {
    /// One live record as the adapter read it.
    public struct LiveRecord: Sendable, Hashable {
        /// The provider's record ID.
        public let id: String
        public let name: DomainName
        public let rdata: RData
        /// TTL in seconds as stored.
        public let ttl: UInt32
        /// True when the record must be rewritten even if its data and TTL stay the same
        /// (a ``ProviderFix``: proxied mail host, over-long TXT string).
        public let needsRewrite: Bool
        public init(id: String, name: DomainName, rdata: RData, ttl: UInt32, needsRewrite: Bool = false) {
            self.id = id; self.name = name; self.rdata = rdata; self.ttl = ttl; self.needsRewrite = needsRewrite
        }
        public var key: RRsetKey { RRsetKey(name, rdata.type) }
    }

    /// A fix for each RRset that holds the same value more than once (a record API keeps
    /// each copy as its own record, for example after a create whose reply was lost was sent
    /// again). The engine turns it into an update of an RRset the plan manages, and
    /// ``operations(for:live:)`` deletes the extra copies.
    public static func duplicateFixes(_ records: [LiveRecord]) -> [ProviderFix] {
        var seen = Set<RData>()
        var fixes: [ProviderFix] = []
        for r in records where !seen.insert(r.rdata).inserted {
            let fix = ProviderFix(key: r.key, note: "the provider holds \(r.rdata.display) more than once: the extra copy is deleted", mailSafety: false)
            if !fixes.contains(fix) { fixes.append(fix) }
        }
        return fixes
    }

    /// Whether one record write took effect, judged from a listing read after its reply
    /// was lost: `knownIDs` are the record IDs that existed (or that this apply created)
    /// before the write.
    /// - Returns: true when the listing shows the write done, false when it does not (yet).
    public static func tookEffect(_ op: Operation, in records: [LiveRecord], knownIDs: Set<String>) -> Bool {
        switch op {
        case .create(let name, let rdata, let ttl):
            return records.contains { !knownIDs.contains($0.id) && $0.name == name && $0.rdata == rdata && $0.ttl == ttl }
        case .replace(let id, _, let rdata, let ttl), .rewrite(let id, _, let rdata, let ttl):
            return records.contains { $0.id == id && $0.rdata == rdata && $0.ttl == ttl }
        case .delete(let id, _, _):
            return !records.contains { $0.id == id }
        }
    }

    /// One record write.
    public enum Operation: Sendable, Hashable {
        /// Create a record.
        case create(name: DomainName, rdata: RData, ttl: UInt32)
        /// Edit record `id` in place to new data (a removed value paired with an added one,
        /// so a single-value RRset never has a gap).
        case replace(id: String, name: DomainName, rdata: RData, ttl: UInt32)
        /// Rewrite record `id` with the same data: a TTL change or a provider-side fix.
        case rewrite(id: String, name: DomainName, rdata: RData, ttl: UInt32)
        /// Delete record `id`.
        case delete(id: String, name: DomainName, rdata: RData)
    }

    /// A change the live records no longer match (the plan is stale).
    public struct StaleError: Error, CustomStringConvertible, Sendable {
        public let key: RRsetKey
        public var description: String {
            "the live \(key) RRset changed since the plan was made; run plan again"
        }
    }

    /// The record operations for one change, in the order they may run without a window
    /// where mail has no record: creates, in-place replacements, rewrites, then deletes.
    /// - Parameters:
    ///   - change: a create, update or delete of one RRset.
    ///   - live: the live records of that RRset (name and type) from the last read.
    /// - Throws: ``StaleError`` when `live` does not hold exactly the records of `change.before`.
    public static func operations(for change: Change, live: [LiveRecord]) throws -> [Operation] {
        let liveData = Set(live.map(\.rdata))
        guard liveData == Set(change.before?.rdata ?? []) else {
            throw StaleError(key: change.key)
        }
        let name = change.name
        guard let after = change.after, change.action != .delete else {
            return live.map { .delete(id: $0.id, name: name, rdata: $0.rdata) }
        }
        var ops: [Operation] = []
        // Each value of `after` is matched with one live record: the same rdata exactly, else
        // the same logical value in another form (a TXT split otherwise), which is rewritten
        // in the planned form. A live record matched by nothing (a second copy of a value
        // included) is removed; a value matched by no record is added.
        var unmatched = after.rdata
        var removed: [LiveRecord] = []
        var rewrites: [Operation] = []
        var sameForm: [(LiveRecord, RData)] = [], otherForm: [LiveRecord] = []
        for r in live {
            if let i = unmatched.firstIndex(of: r.rdata) { sameForm.append((r, unmatched.remove(at: i))) } else { otherForm.append(r) }
        }
        var matched = sameForm
        for r in otherForm {
            let logical = Differ.comparable(r.rdata, at: name)
            if let i = unmatched.firstIndex(where: { Differ.comparable($0, at: name) == logical }) {
                matched.append((r, unmatched.remove(at: i)))
            } else { removed.append(r) }
        }
        for (r, planned) in matched where r.rdata != planned || r.ttl != after.ttl || r.needsRewrite {
            rewrites.append(.rewrite(id: r.id, name: name, rdata: planned, ttl: after.ttl))
        }
        var added = unmatched
        var replaces: [Operation] = []
        while !added.isEmpty && !removed.isEmpty {
            let r = removed.removeFirst()
            replaces.append(.replace(id: r.id, name: name, rdata: added.removeFirst(), ttl: after.ttl))
        }
        ops += added.map { .create(name: name, rdata: $0, ttl: after.ttl) }
        ops += replaces + rewrites
        ops += removed.map { .delete(id: $0.id, name: name, rdata: $0.rdata) }
        return ops
    }
}

/// The records of each zone from an adapter's last read, by RRset, guarded by a lock.
final class RecordLevelState: @unchecked Sendable {
    private let lock = NSLock()
    private var zones: [DomainName: (zoneID: String, records: [RecordLevel.LiveRecord])] = [:]

    func store(_ zone: DomainName, zoneID: String, records: [RecordLevel.LiveRecord]) {
        lock.lock(); zones[zone] = (zoneID, records); lock.unlock()
    }
    func get(_ zone: DomainName) -> (zoneID: String, records: [RecordLevel.LiveRecord])? {
        lock.lock(); defer { lock.unlock() }; return zones[zone]
    }
    /// Forgets a zone (after a write, its IDs and contents are no longer known).
    func forget(_ zone: DomainName) { lock.lock(); zones[zone] = nil; lock.unlock() }
}
