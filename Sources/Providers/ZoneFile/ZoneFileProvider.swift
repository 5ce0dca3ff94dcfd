import CLDNS
import Foundation
import MailPlan

/// Placeholder: the RFC 1035 master-file adapter (`type: zonefile`). Implemented over ldns.
public final class ZoneFileProvider: DNSProvider {
    public let instanceName: String
    public let typeName = "zonefile"
    public let capabilities = ProviderCapabilities(supportedTypes: Set(RRType.modelled), granularity: .rrset, atomicApply: true)
    public init(config: ProviderConfig) throws { instanceName = config.name }
    public func readZone(_ zone: DomainName) throws -> [RRset] { throw ProviderError(provider: instanceName, "not implemented") }
    public func apply(_ changeset: ZoneChangeset) throws { throw ProviderError(provider: instanceName, "not implemented") }
}
