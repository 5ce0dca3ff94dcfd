import Crypto
import Foundation

/// Lower-case hexadecimal of bytes (`0a1b…`), for digests shown in records and files.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    bytes.map { String(format: "%02x", $0) }.joined()
}

/// Lower-case hexadecimal SHA-256 of `data` (64 characters).
public func hexSHA256(_ data: Data) -> String { hexString(SHA256.hash(data: data)) }
