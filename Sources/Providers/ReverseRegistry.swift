import Foundation
import MailPlan

/// Maps a provider `type:` to the reverse-DNS adapter that sets PTR records through it
/// (`server.reverse.provider`). A type may be in both registries (`hetzner`: one Cloud
/// project token manages zones and servers).
public enum ReverseProviderRegistry {
    public typealias Factory = @Sendable (ProviderConfig) throws -> any ReverseDNSProvider

    /// Every reverse adapter by `type:` name. One line per adapter.
    public static let factories: [String: Factory] = [
        "hetzner": { try HetznerCloudReverseProvider(config: $0) },
        "vultr": { try VultrReverseProvider(config: $0) },
        "linode": { try LinodeReverseProvider(config: $0) },
    ]

    /// The reverse type names, sorted.
    public static var typeNames: [String] { factories.keys.sorted() }

    /// Builds the reverse adapter for `config`.
    /// - Throws: ``DiagnosticsError`` naming the provider when its type cannot set PTR records.
    public static func make(_ config: ProviderConfig) throws -> any ReverseDNSProvider {
        guard let f = factories[config.type] else {
            throw DiagnosticsError(Diagnostic(at: config.location,
                "providers.\(config.name): type '\(config.type)' cannot set PTR records, so it cannot be server.reverse.provider (reverse types: \(typeNames.joined(separator: ", "))); a PTR is set at the provider that hosts the IP address"))
        }
        return try f(config)
    }
}
