import Foundation

/// One name server to send queries to: an IP address (never a host name, so no lookup is
/// needed to reach it) and a UDP/TCP port.
public struct NameServer: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The address in canonical text (`127.0.0.1`, `::1`).
    public let address: String
    /// The port, 53 unless the plan says otherwise.
    public let port: UInt16
    /// True for an IPv6 address.
    public var isIPv6: Bool { address.contains(":") }

    public init(address: String, port: UInt16 = 53) { self.address = address; self.port = port }

    /// Parses `127.0.0.1`, `127.0.0.1:5353`, `::1`, `[::1]:5353`.
    /// - Throws: ``NameServerSyntaxError`` when the host is not an IP address or the port is not 1–65535.
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host = t, portText: String? = nil
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { throw NameServerSyntaxError(text: text, reason: "missing ']' after the IPv6 address") }
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw NameServerSyntaxError(text: text, reason: "expected ':port' after ']'") }
                portText = String(rest.dropFirst())
            }
        } else if t.filter({ $0 == ":" }).count == 1, let colon = t.firstIndex(of: ":") {
            host = String(t[..<colon]); portText = String(t[t.index(after: colon)...])
        }
        var port: UInt16 = 53
        if let portText {
            guard let p = UInt16(portText), p > 0 else { throw NameServerSyntaxError(text: text, reason: "port '\(portText)' is not a number from 1 to 65535") }
            port = p
        }
        if let v4 = IPv4Address(host) { self.init(address: v4.description, port: port); return }
        if let v6 = IPv6Address(host) { self.init(address: v6.description, port: port); return }
        throw NameServerSyntaxError(text: text, reason: "'\(host)' is not an IP address; name servers are given as address or address:port (IPv6 as [address]:port)")
    }

    /// `127.0.0.1:5353`, `[::1]:5353`, or the bare address for port 53.
    public var description: String {
        if port == 53 { return address }
        return isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)"
    }
}

/// A name server written in a form mailplan cannot use.
public struct NameServerSyntaxError: Error, CustomStringConvertible, Equatable {
    public let text: String
    public let reason: String
    public var description: String { "invalid name server '\(text)': \(reason)" }
}
