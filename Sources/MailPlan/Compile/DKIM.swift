import Crypto
import _CryptoExtras
import Foundation

/// What a DKIM public key is: algorithm and strength.
public struct DKIMKeyInfo: Sendable, Hashable, CustomStringConvertible {
    /// `rsa` or `ed25519` (the `k=` tag, RFC 6376 §3.6.1, RFC 8463).
    public let algorithm: String
    /// Key size in bits (RSA modulus size; 256 for Ed25519); 0 for a revoked key.
    public let bits: Int
    /// True when `p=` is empty: the key is revoked (RFC 6376 §3.6.1).
    public let revoked: Bool
    public var description: String { revoked ? "revoked" : algorithm == "rsa" ? "RSA \(bits)-bit" : "Ed25519" }
}

/// A DKIM key that cannot be published, with the reason.
public struct DKIMKeyError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { reason }
}

/// Turns the key material a user has into the DKIM TXT value (RFC 6376 §3.6.1).
public enum DKIMKeyParser {
    /// Parses a PEM public or private key (RSA PKCS#1/PKCS#8/SPKI, Ed25519 PKCS#8/SPKI), a DNS
    /// TXT value (`v=DKIM1; k=rsa; p=…`, also as zone-file text with quoted strings, as
    /// opendkim-genkey writes it) or a bare base64 `p=` value.
    /// - Parameter allowRevoked: accept an empty `p=` (a revocation) only when asked for.
    /// - Returns: the TXT value with whitespace removed from `p=`, and what the key is.
    /// - Throws: ``DKIMKeyError`` when the key does not parse, `p=` is not base64, an RSA key is
    ///   under 1024 bits, or an Ed25519 key is not 32 bytes.
    public static func parse(_ text: String, allowRevoked: Bool = false) throws -> (record: String, info: DKIMKeyInfo) {
        // Pure function of its input: a key shared by many domains is parsed once.
        // Keyed by the exact bytes: texts that are only canonically equal are parsed apart.
        let cacheKey = ExactText(text)
        if let hit = cache.get(cacheKey, allowRevoked: allowRevoked) { return try hit.get() }
        let result = Result { try parseUncached(text, allowRevoked: allowRevoked) }
        cache.set(cacheKey, allowRevoked: allowRevoked, result)
        return try result.get()
    }

    /// The parses so far, one table per `allowRevoked`.
    private final class ParseCache: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [[ExactText: Result<(record: String, info: DKIMKeyInfo), Error>]] = [[:], [:]]
        func get(_ k: ExactText, allowRevoked: Bool) -> Result<(record: String, info: DKIMKeyInfo), Error>? {
            lock.lock(); defer { lock.unlock() }; return entries[allowRevoked ? 1 : 0][k]
        }
        func set(_ k: ExactText, allowRevoked: Bool, _ v: Result<(record: String, info: DKIMKeyInfo), Error>) {
            lock.lock(); entries[allowRevoked ? 1 : 0][k] = v; lock.unlock()
        }
    }
    private static let cache = ParseCache()

    static func parseUncached(_ text: String, allowRevoked: Bool) throws -> (record: String, info: DKIMKeyInfo) {
        let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if t.contains("-----BEGIN") { return try parsePEM(t) }
        if t.range(of: "p=", options: .caseInsensitive) != nil || t.range(of: "v=DKIM1", options: .caseInsensitive) != nil {
            return try parseTXT(t, allowRevoked: allowRevoked)
        }
        return try parseTXT("v=DKIM1; k=rsa; p=" + t, allowRevoked: allowRevoked)
    }

    static let ed25519OID: [UInt8] = [0x06, 0x03, 0x2b, 0x65, 0x70]

    static func parsePEM(_ text: String) throws -> (record: String, info: DKIMKeyInfo) {
        guard let block = PEMBlock(text) else { throw DKIMKeyError(reason: "the PEM block has no matching END line") }
        let label = block.label
        if label.contains("CERTIFICATE") {
            throw DKIMKeyError(reason: "the PEM block is a certificate, not a key; give the public key (openssl x509 -in CERT -pubkey -noout)")
        }
        let body = block.lines.filter { !$0.contains(":") }.joined()
        guard let der = Data(base64Encoded: body) else { throw DKIMKeyError(reason: "the PEM block is not valid base64") }
        let bytes = [UInt8](der)
        let isEd25519 = bytes.count < 100 && bytes.indices.contains { i in Array(bytes[i..<min(i + 5, bytes.count)]) == ed25519OID }
        if isEd25519 {
            let raw: Data
            if label.contains("PRIVATE") {
                guard bytes.count >= 32, let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: bytes.suffix(32)) else {
                    throw DKIMKeyError(reason: "the Ed25519 private key does not parse")
                }
                raw = key.publicKey.rawRepresentation
            } else {
                guard bytes.count >= 32 else { throw DKIMKeyError(reason: "the Ed25519 public key does not parse") }
                raw = Data(bytes.suffix(32))
            }
            return ("v=DKIM1; k=ed25519; p=" + raw.base64EncodedString(), DKIMKeyInfo(algorithm: "ed25519", bits: 256, revoked: false))
        }
        let pub: _RSA.Signing.PublicKey
        do {
            if label.contains("PRIVATE") {
                pub = try _RSA.Signing.PrivateKey(unsafePEMRepresentation: text).publicKey
            } else {
                pub = try _RSA.Signing.PublicKey(unsafePEMRepresentation: text)
            }
        } catch {
            throw DKIMKeyError(reason: "the \(label.isEmpty ? "PEM" : label) block is not an RSA or Ed25519 key, or the RSA key is shorter than 1024 bits")
        }
        let info = DKIMKeyInfo(algorithm: "rsa", bits: pub.keySizeInBits, revoked: false)
        return ("v=DKIM1; k=rsa; p=" + pub.derRepresentation.base64EncodedString(), info)
    }

    /// Checks the optional tags of a key record (RFC 6376 §3.6.1): `h=` hash algorithms
    /// (`sha256`, and `sha1` only beside it, RFC 8301 §3.1), `s=` service types (`*`, `email`),
    /// `t=` flags (`y` testing, `s` no subdomains). Values are colon-separated.
    static func validateTags(_ tags: [(String, String)]) throws {
        func list(_ v: String) -> [String] { v.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        for (name, value) in tags {
            switch name {
            case "h":
                let algs = list(value)
                if let bad = algs.first(where: { $0 != "sha256" && $0 != "sha1" }) {
                    throw DKIMKeyError(reason: "h=\(value): '\(bad)' is not a hash algorithm (valid: sha256; RFC 6376 §3.6.1, RFC 8301)")
                }
                if !algs.contains("sha256") {
                    throw DKIMKeyError(reason: "h=\(value) must include sha256: sha1 signatures must not be accepted (RFC 8301 §3.1)")
                }
            case "s":
                if let bad = list(value).first(where: { $0 != "*" && $0 != "email" }) {
                    throw DKIMKeyError(reason: "s=\(value): '\(bad)' is not a service type (valid: email, *; RFC 6376 §3.6.1)")
                }
            case "t":
                if let bad = list(value).first(where: { $0 != "y" && $0 != "s" }) {
                    throw DKIMKeyError(reason: "t=\(value): '\(bad)' is not a flag (valid: y for testing, s for no subdomains; RFC 6376 §3.6.1)")
                }
            default: break
            }
        }
    }

    static func parseTXT(_ text: String, allowRevoked: Bool) throws -> (record: String, info: DKIMKeyInfo) {
        // Zone-file text (opendkim's selector.txt): keep only the quoted strings, joined.
        var value = text
        if text.contains("\"") {
            var parts: [String] = []
            var current: String? = nil
            var escaped = false
            for ch in text {
                if var c = current {
                    if escaped { c.append(ch); escaped = false; current = c }
                    else if ch == "\\" { escaped = true }
                    else if ch == "\"" { parts.append(c); current = nil }
                    else { c.append(ch); current = c }
                } else if ch == "\"" { current = "" }
            }
            value = parts.joined()
        }
        let parsed: TagList
        do { parsed = try TagList.parse(value) } catch let e as TagError { throw DKIMKeyError(reason: e.reason) }
        let tags: [(String, String)] = parsed.tags.map { ($0.name, $0.name == "p" ? TagList.compact($0.value) : $0.value) }
        if let v = tags.first(where: { $0.0 == "v" }) {
            guard tags.first?.0 == "v", v.1 == "DKIM1" else { throw DKIMKeyError(reason: "v=DKIM1 must be the first tag") }
        }
        try validateTags(tags)
        let k = (tags.first { $0.0 == "k" }?.1 ?? "rsa").lowercased()
        guard let p = tags.first(where: { $0.0 == "p" })?.1 else { throw DKIMKeyError(reason: "the record has no p= tag") }
        let record = tags.map { "\($0.0)=\($0.1)" }.joined(separator: "; ")
        if p.isEmpty {
            guard allowRevoked else {
                throw DKIMKeyError(reason: "p= is empty, which revokes the key; set revoked: true if that is intended")
            }
            return (record, DKIMKeyInfo(algorithm: k, bits: 0, revoked: true))
        }
        guard let der = Data(base64Encoded: p) else { throw DKIMKeyError(reason: "p= is not valid base64") }
        switch k {
        case "rsa":
            guard let key = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: der) else {
                throw DKIMKeyError(reason: "p= is not an RSA public key of at least 1024 bits (SubjectPublicKeyInfo DER, base64)")
            }
            return (record, DKIMKeyInfo(algorithm: "rsa", bits: key.keySizeInBits, revoked: false))
        case "ed25519":
            guard der.count == 32 else {
                throw DKIMKeyError(reason: "an Ed25519 p= must decode to 32 bytes (RFC 8463 §4.2), got \(der.count)")
            }
            return (record, DKIMKeyInfo(algorithm: "ed25519", bits: 256, revoked: false))
        default:
            throw DKIMKeyError(reason: "k=\(k) is not a DKIM key type (valid: rsa, ed25519)")
        }
    }
}
