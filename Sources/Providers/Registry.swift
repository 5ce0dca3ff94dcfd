import Foundation
import MailPlan

/// Maps a plan file's provider `type:` to the adapter that implements it.
public enum ProviderRegistry {
    /// Builds an adapter instance from its settings.
    public typealias Factory = @Sendable (ProviderConfig) throws -> any DNSProvider

    /// Every adapter by `type:` name. One line per adapter.
    public static let factories: [String: Factory] = [
        "zonefile": { try ZoneFileProvider(config: $0) },
        "powerdns": { try PowerDNSProvider(config: $0) },
        "cloudflare": { try CloudflareProvider(config: $0) },
        "digitalocean": { try DigitalOceanProvider(config: $0) },
        "hetzner": { try HetznerCloudProvider(config: $0) },
        "desec": { try DeSECProvider(config: $0) },
        "gandi": { try GandiProvider(config: $0) },
        "route53": { try Route53Provider(config: $0) },
        "rfc2136": { try RFC2136Provider(config: $0) },
    ]

    /// The known type names, sorted.
    public static var typeNames: [String] { factories.keys.sorted() }

    /// Builds the adapter for `config`.
    /// - Throws: ``DiagnosticsError`` for an unknown type (with a did-you-mean) or invalid settings.
    public static func make(_ config: ProviderConfig) throws -> any DNSProvider {
        guard let f = factories[config.type] else {
            if ReverseProviderRegistry.factories[config.type] != nil {
                throw DiagnosticsError(Diagnostic(at: config.location,
                    "providers.\(config.name): type '\(config.type)' sets PTR records only: name it in server.reverse.provider, not as a domain's provider"))
            }
            throw DiagnosticsError(Diagnostic(at: config.location,
                "providers.\(config.name): unknown provider type '\(config.type)'; \(Suggest.hint(config.type, typeNames).replacingOccurrences(of: "valid keys", with: "valid types"))"))
        }
        return try f(config)
    }
}
