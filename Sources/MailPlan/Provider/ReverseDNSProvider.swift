import Foundation

/// An IPv4 or IPv6 address of the server, as a reverse provider sees it.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses IPv4 dotted-quad or any IPv6 text form; nil otherwise.
    public init?(_ text: String) {
        if let a = IPv4Address(text) { self = .v4(a) } else if let a = IPv6Address(text) { self = .v6(a) } else { return nil }
    }
    /// Canonical text (dotted quad, or RFC 5952).
    public var description: String {
        switch self { case .v4(let a): a.description; case .v6(let a): a.description }
    }
    /// The PTR owner name (`25.2.0.192.in-addr.arpa.` or the nibble name under `ip6.arpa.`).
    public var reverseName: DomainName {
        switch self { case .v4(let a): a.reverseName; case .v6(let a): a.reverseName }
    }
    /// The forward type that must hold this address for FCrDNS: A or AAAA.
    public var forwardType: RRType {
        switch self { case .v4: .a; case .v6: .aaaa }
    }
    /// True when this address is the rdata `r` (an A or AAAA record).
    public func matches(_ r: RData) -> Bool {
        switch (self, r) {
        case (.v4(let a), .a(let b)): a == b
        case (.v6(let a), .aaaa(let b)): a == b
        default: false
        }
    }
    public static func < (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.v4(let x), .v4(let y)): x < y
        case (.v6(let x), .v6(let y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let ip = IPAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not an IP address"))
        }
        self = ip
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An adapter to a hosting provider's API that sets the PTR (reverse DNS) of one of the
/// server's IP addresses (the vendor's API reference for reverse DNS). The PTR lives in the IP owner's `in-addr.arpa` /
/// `ip6.arpa` zone, so it is set through the hosting API, not a DNS provider. Most hosting
/// providers check forward DNS first (the name's A/AAAA must hold the address), so the
/// engine sets A/AAAA, waits until they are served, and only then calls ``setPTR(_:to:)``.
public protocol ReverseDNSProvider: AnyObject {
    /// The instance name from the plan file's `providers:` map (e.g. `hz`).
    var instanceName: String { get }
    /// The adapter's `type:` name (e.g. `hetzner`, `vultr`, `linode`).
    var typeName: String { get }

    /// Reads the PTR the provider holds for `ip` now.
    /// - Returns: the name (absolute), or nil when the provider holds no PTR for it.
    /// - Throws: ``ProviderError`` when the address is not one of this account's, or the
    ///   read fails (a failed read is never "no PTR").
    func readPTR(_ ip: IPAddress) throws -> DomainName?

    /// Sets the PTR of `ip` to `name`, waiting for the provider to finish (asynchronous
    /// actions are polled).
    /// - Throws: ``ProviderError`` naming the address, the provider and the provider's reason
    ///   (e.g. forward DNS does not match yet).
    func setPTR(_ ip: IPAddress, to name: DomainName) throws
}
