import Foundation
import MailPlan

/// Maps a plan file's provider `type:` to the adapter that implements it.
public enum ProviderRegistry {
    /// Every DNS adapter. One line per adapter: each describes itself (``DNSProviderType``).
    public static let types: [any DNSProviderType.Type] = [
        ZoneFileProvider.self, PowerDNSProvider.self, CloudflareProvider.self, DigitalOceanProvider.self,
        HetznerCloudProvider.self, DeSECProvider.self, GandiProvider.self, Route53Provider.self, RFC2136Provider.self,
    ]

    /// The adapter type for each `type:` name.
    public static let byName: [String: any DNSProviderType.Type] = Dictionary(uniqueKeysWithValues: types.map { ($0.typeName, $0) })

    /// The known type names, sorted.
    public static var typeNames: [String] { byName.keys.sorted() }

    /// Builds the adapter for `config`.
    /// - Throws: ``DiagnosticsError`` for an unknown type (with a did-you-mean) or invalid settings.
    public static func make(_ config: ProviderConfig) throws -> any DNSProvider {
        try make(config, environment: ProcessInfo.processInfo.environment)
    }

    /// Builds the adapter for `config`, with `environment` as the environment an adapter
    /// reads credentials from (Route 53; tests pass their own).
    /// - Throws: as ``make(_:)``.
    public static func make(_ config: ProviderConfig, environment: [String: String]) throws -> any DNSProvider {
        guard let t = byName[config.type] else {
            if ReverseProviderRegistry.factories[config.type] != nil {
                throw DiagnosticsError(Diagnostic(at: config.location,
                    "providers.\(config.name): type '\(config.type)' sets PTR records only: name it in server.reverse.provider, not as a domain's provider"))
            }
            throw DiagnosticsError(Diagnostic(at: config.location,
                "providers.\(config.name): unknown provider type '\(config.type)'; \(Suggest.hint(config.type, typeNames).replacingOccurrences(of: "valid keys", with: "valid types"))"))
        }
        return try t.init(config: config, environment: environment)
    }
}
