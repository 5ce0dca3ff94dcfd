import Crypto
import Foundation

/// Lower-case hexadecimal of bytes (`0a1b…`), for digests shown in records and files.
public func hexString<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    // A table, not String(format:) per byte: an MTA-STS id per domain is hashed at every load.
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.underestimatedCount * 2)
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
    return String(decoding: out, as: UTF8.self)
}

/// Lower-case hexadecimal SHA-256 of `data` (64 characters).
public func hexSHA256(_ data: Data) -> String { hexString(SHA256.hash(data: data)) }
