import Foundation

/// True when `host` matches `pattern` (both without trailing dot, case-insensitive): equal, or
/// the pattern is `*.` + a suffix and `host` is exactly one label more — the wildcard rule of
/// certificate names (RFC 6125 §6.4.3) and MTA-STS `mx` patterns (RFC 8461 §4.1).
public func hostMatches(_ host: String, pattern: String) -> Bool {
    let h = host.lowercased(), p = pattern.lowercased()
    if p.hasPrefix("*.") {
        let suffix = String(p.dropFirst(1))
        guard h.hasSuffix(suffix) else { return false }
        let label = h.dropLast(suffix.count)
        return !label.isEmpty && !label.contains(".")
    }
    return p == h
}
