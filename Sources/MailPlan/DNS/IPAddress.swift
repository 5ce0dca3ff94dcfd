import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 address held in its canonical dotted-quad text (`192.0.2.25`).
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The four octets in network order.
    public let octets: [UInt8]
    /// Parses dotted-quad text with `inet_pton`; nil when it is not exactly an IPv4 address.
    public init?(_ text: String) {
        var addr = in_addr()
        guard inet_pton(AF_INET, text.trimmingASCIIWhitespace, &addr) == 1 else { return nil }
        octets = withUnsafeBytes(of: addr.s_addr) { Array($0) }
    }
    public var description: String { octets.map(String.init).joined(separator: ".") }
    /// The reverse-DNS owner name (`25.2.0.192.in-addr.arpa.`).
    public var reverseName: DomainName {
        DomainName(uncheckedFQDN: octets.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa.")
    }
    public static func < (a: Self, b: Self) -> Bool { a.octets.lexicographicallyPrecedes(b.octets) }
}

/// An IPv6 address held in RFC 5952 canonical text (lower-case, longest zero run compressed).
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The sixteen bytes in network order.
    public let bytes: [UInt8]
    /// Parses any valid IPv6 text form with `inet_pton`; nil otherwise.
    public init?(_ text: String) {
        var addr = in6_addr()
        guard inet_pton(AF_INET6, text.trimmingASCIIWhitespace, &addr) == 1 else { return nil }
        bytes = withUnsafeBytes(of: addr) { Array($0) }
    }
    /// RFC 5952 text, as `inet_ntop` prints it.
    public var description: String {
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { buf in for i in 0..<16 { buf[i] = bytes[i] } }
        var out = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = inet_ntop(AF_INET6, &addr, &out, socklen_t(out.count))
        return String(decoding: out.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    /// The reverse-DNS owner name under `ip6.arpa.` (RFC 3596 §2.5).
    public var reverseName: DomainName {
        var nibbles: [String] = []
        for b in bytes.reversed() {
            nibbles.append(String(b & 0xf, radix: 16))
            nibbles.append(String(b >> 4, radix: 16))
        }
        return DomainName(uncheckedFQDN: nibbles.joined(separator: ".") + ".ip6.arpa.")
    }
    public static func < (a: Self, b: Self) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}
