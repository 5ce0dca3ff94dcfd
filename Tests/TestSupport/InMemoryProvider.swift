import Foundation
import MailPlan

/// The one in-memory `DNSProvider` of the engine tests: zones as RRsets in a dictionary,
/// written the way the `DNSProvider` contract says (Sources/MailPlan/Provider/DNSProvider.swift):
/// an atomic provider (`capabilities.applyMode == .atomic`) writes all of a Changeset or nothing, a
/// record-level one writes change by change and reports what was applied, what failed and
/// what was not attempted. Real adapters are tested against real servers and the contract
/// fakes (Tests/TestSupport/Fakes, Tests/IntegrationTests/ConformanceTests.swift).
///
/// Thread-safe: the engine reads zones from several threads at once.
final class InMemoryProvider: DNSProvider, @unchecked Sendable {
    let instanceName: String
    let typeName: String
    let capabilities: ProviderCapabilities
    private let lock = NSLock()
    private var _zones: [DomainName: [RRset]]
    private var _writes: [ZoneChangeset] = []
    private var _reads = 0

    /// Runs at the start of every read, on the reading thread, before the zone is looked up:
    /// a test can block here to synchronise concurrent reads, or throw to fail the read.
    var onRead: @Sendable (DomainName) throws -> Void = { _ in }
    /// Runs at the start of every write, on the writing thread, before anything is written.
    var onWrite: @Sendable (ZoneChangeset) -> Void = { _ in }
    /// RRset keys whose write fails with "refused by the test" (see ``apply(_:)``).
    var failingWrites: Set<RRsetKey> = []
    /// When set, every write loses its reply: the Changeset is written (`written`) or not, then
    /// ``apply(_:)`` throws `ApplyError.outcomeUnknown` with `reason`, as an adapter whose
    /// connection dropped before the answer (docs/architecture.md, "Lost replies").
    var lostReply: (written: Bool, reason: String)? = nil
    /// What ``providerFixes(_:)`` returns.
    var fixes: [ProviderFix] = []

    /// The capabilities the engine tests assume unless they say otherwise: every modelled
    /// type, TTL 60–86400 s, atomic.
    static let defaultCapabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), ttlRange: 60...86400,
                                                          applyMode: .atomic)

    /// - Parameters:
    ///   - name: the instance name (`providers:` key of the plan).
    ///   - type: the type name shown in plans and notes ("memory").
    ///   - zones: the zones it holds; reading any other zone throws "not found".
    init(name: String, type: String = "memory", zones: [DomainName: [RRset]] = [:],
         capabilities: ProviderCapabilities = InMemoryProvider.defaultCapabilities) {
        instanceName = name; typeName = type; _zones = zones; self.capabilities = capabilities
    }

    /// The zones as held now.
    var zones: [DomainName: [RRset]] {
        get { lock.lock(); defer { lock.unlock() }; return _zones }
        set { lock.lock(); _zones = newValue; lock.unlock() }
    }
    /// Every Changeset ``apply(_:)`` was given, in order.
    var writes: [ZoneChangeset] { lock.lock(); defer { lock.unlock() }; return _writes }
    /// How many reads were made.
    var reads: Int { lock.lock(); defer { lock.unlock() }; return _reads }

    func readZone(_ zone: DomainName) throws -> [RRset] {
        try onRead(zone)
        lock.lock(); defer { lock.unlock() }
        _reads += 1
        guard let z = _zones[zone] else { throw ProviderError(provider: instanceName, "zone \(zone.fqdn) not found") }
        return z
    }

    /// Writes `changeset`. A change whose key is in ``failingWrites`` fails: an atomic provider
    /// then writes nothing (every other change is "not attempted"), a record-level one keeps
    /// what it wrote before the failure and does not attempt the rest.
    /// With ``lostReply`` set, the outcome is reported unknown instead.
    /// - Throws: ``ApplyError`` with exactly what was applied, failed and not attempted.
    func apply(_ changeset: ZoneChangeset) throws {
        onWrite(changeset)
        lock.lock(); defer { lock.unlock() }
        _writes.append(changeset)
        let changes = changeset.changes
        if let bad = changes.firstIndex(where: { failingWrites.contains($0.key) }) {
            let failed = changes[bad]
            let reason = "\(failed.key) refused by the test"
            if capabilities.applyMode == .atomic {
                throw ApplyError(provider: instanceName, zone: changeset.zone, applied: [], failed: [failed],
                                 notAttempted: changes.enumerated().filter { $0.offset != bad }.map(\.element), reason: reason)
            }
            write(Array(changes[..<bad]), to: changeset.zone)
            throw ApplyError(provider: instanceName, zone: changeset.zone, applied: Array(changes[..<bad]), failed: [failed],
                             notAttempted: Array(changes[(bad + 1)...]), reason: reason)
        }
        if let lost = lostReply {
            if lost.written { write(changes, to: changeset.zone) }
            throw ApplyError.outcomeUnknown(provider: instanceName, zone: changeset.zone, changes, reason: lost.reason)
        }
        write(changes, to: changeset.zone)
    }

    func providerFixes(_ zone: DomainName) -> [ProviderFix] { fixes }

    private func write(_ changes: [Change], to zone: DomainName) {
        var z = _zones[zone] ?? []
        for c in changes {
            z.removeAll { $0.key == c.key }
            if let a = c.after { z.append(a) }
        }
        _zones[zone] = z
    }
}
