import Crypto
import _CryptoExtras
import Foundation

/// A result name of RFC 8601 §2.7 (DKIM §2.7.1, SPF §2.7.2, DMARC RFC 7489 §11.2).
public enum AuthResult: String, Sendable, Codable, Hashable {
    case none, pass, fail, softfail, neutral, policy, temperror, permerror
}

/// Why a DKIM signature did not pass, as a stable code (`--json`) with words for people.
public enum DKIMFailure: String, Sendable, Codable, Hashable {
    /// The body hash (`bh=`) differs: the body was changed after signing.
    case bodyHash = "body-hash"
    /// The header signature (`b=`) does not verify with the published key.
    case signature
    /// `x=` is past.
    case expired
    /// The key record's `p=` is empty (RFC 6376 §3.6.1).
    case keyRevoked = "key-revoked"
    /// No key record at `<s>._domainkey.<d>`.
    case noKey = "no-key"
    /// The key record is not a DKIM key, or does not fit the signature (`k=`, `h=`, `t=s`).
    case keyUnusable = "key-unusable"
    /// The signature field does not parse or breaks a rule of RFC 6376 §3.5.
    case syntax
    /// The key lookup failed (SERVFAIL, timeout).
    case dnsError = "dns-error"
    /// `l=` is longer than the body.
    case bodyTooShort = "body-too-short"
    /// The message's header section cannot be read.
    case message
    /// More signatures than mailplan verifies.
    case notVerified = "not-verified"
}

/// The key a signature was checked with.
public struct DKIMKeyReport: Sendable, Codable, Hashable {
    /// `<selector>._domainkey.<domain>.`
    public var name: String
    /// `rsa` or `ed25519`.
    public var type: String
    /// RSA modulus size; 256 for Ed25519; 0 when revoked or unreadable.
    public var bits: Int
    /// `t=` flags (`y`: testing, `s`: `i=` must be in `d=` itself).
    public var flags: [String]
    /// `h=` hash algorithms the key allows (empty: any).
    public var hashes: [String]
    /// The TXT value served.
    public var record: String
}

/// The verification of one DKIM-Signature field (RFC 6376 §6.1).
public struct DKIMSignatureResult: Sendable, Codable, Hashable {
    public var result: AuthResult
    /// Why it did not pass, or a note on a pass (`rsa-sha1 is weak`); nil for a clean pass.
    public var reason: String?
    public var failure: DKIMFailure?
    /// The line of the message the field starts on.
    public var line: Int
    /// `d=`, `s=`, `a=`, `i=` as in the signature (nil when it did not parse that far).
    public var domain: String?
    public var selector: String?
    public var algorithm: String?
    public var identity: String?
    /// `header/body`, e.g. `relaxed/relaxed`.
    public var canonicalization: String?
    public var signedHeaders: [String]?
    /// `l=` and the canonical body length it is compared with.
    public var bodyLength: Int?
    public var canonicalBodyLength: Int?
    /// `t=`, `x=` (seconds since 1970, UTC).
    public var timestamp: Int?
    public var expiration: Int?
    /// The first 8 characters of `b=` (RFC 6008 `header.b`), to tell signatures apart.
    public var headerB: String?
    public var key: DKIMKeyReport?
    /// rsa-sha1 (RFC 8301 §3.1) or an RSA key under 2048 bits.
    public var weak: Bool = false
    /// The key is in testing mode (`t=y`).
    public var testing: Bool = false

    enum CodingKeys: String, CodingKey {
        case result, reason, failure, line, domain, selector, algorithm, identity, canonicalization
        case signedHeaders = "signed_headers", bodyLength = "body_length", canonicalBodyLength = "canonical_body_length"
        case timestamp, expiration, headerB = "header_b", key, weak, testing
    }
}

/// DKIM verification (RFC 6376 §6; Ed25519 RFC 8463; rsa-sha1 accepted but weak, RFC 8301).
/// Keys come from an ``SPFDNSLookup`` (TXT at `<s>._domainkey.<d>`), crypto from swift-crypto.
public struct DKIMVerifier {
    /// Signatures verified per message (RFC 6376 §6.1 lets a verifier limit them); the rest
    /// are `neutral` (not verified).
    public static let maxSignatures = 20

    public let lookup: SPFDNSLookup
    /// The time `x=` is compared with.
    public let now: Date

    public init(lookup: @escaping SPFDNSLookup, now: Date) { self.lookup = lookup; self.now = now }

    /// A signature field read from the message, waiting for its body hash.
    public struct Pending {
        let field: MessageHeaderField
        let index: Int
        var parsed: Result<DKIMSignatureFields, TagError>
        var sink: BodyHashSink?
    }

    /// Parses every DKIM-Signature field and registers the body hashes it needs with `body`.
    public func prepare(_ headers: MessageHeaderSection, body: BodyCanonicalizers) -> [Pending] {
        var out: [Pending] = []
        for (i, f) in headers.fields.enumerated() where f.key == "dkim-signature" {
            var p = Pending(field: f, index: i, parsed: Result { try DKIMSignatureFields.parse(f.value) }.mapError { $0 as? TagError ?? TagError("\($0)") }, sink: nil)
            if out.count < Self.maxSignatures, case .success(let s) = p.parsed {
                p.sink = body.sink(s.bodyCanonicalization, s.algorithm.hash, limit: s.bodyLength)
            }
            out.append(p)
        }
        return out
    }

    /// Verifies each prepared signature once the body has been read.
    public func finish(_ pending: [Pending], headers: MessageHeaderSection) -> [DKIMSignatureResult] {
        var keys: [DomainName: Result<[String], Error>] = [:]
        return pending.enumerated().map { n, p in
            var r = DKIMSignatureResult(result: .permerror, line: p.field.line)
            let s: DKIMSignatureFields
            switch p.parsed {
            case .failure(let e):
                r.result = .neutral; r.failure = .syntax; r.reason = e.reason
                return r
            case .success(let v): s = v
            }
            r.domain = s.domain.withoutTrailingDot; r.selector = s.selector; r.algorithm = s.algorithm.rawValue
            r.identity = s.identity; r.canonicalization = "\(s.headerCanonicalization.rawValue)/\(s.bodyCanonicalization.rawValue)"
            r.signedHeaders = s.signedHeaders; r.bodyLength = s.bodyLength; r.timestamp = s.timestamp; r.expiration = s.expiration
            r.headerB = String(TagList.compact(s.tags["b"] ?? "").prefix(8))
            r.weak = s.algorithm == .rsaSHA1
            func fail(_ f: DKIMFailure, _ why: String, _ result: AuthResult = .fail) -> DKIMSignatureResult {
                r.result = result; r.failure = f; r.reason = why; return r
            }
            guard n < Self.maxSignatures, let sink = p.sink else {
                return fail(.notVerified, "not verified: only the first \(Self.maxSignatures) signatures are", .neutral)
            }
            r.canonicalBodyLength = sink.canonicalLength
            if let x = s.expiration, Double(x) < now.timeIntervalSince1970 {
                return fail(.expired, "signature expired at \(Self.utc(x))")
            }
            // The key (RFC 6376 §6.1.2), asked once per name.
            let keyName: DomainName
            do { keyName = try s.keyName } catch { return fail(.syntax, "s=\(s.selector) does not make a key name: \(error)", .neutral) }
            let answer = keys[keyName] ?? Result { try lookup(keyName, .txt).compactMap(\.txtValue) }
            keys[keyName] = answer
            let records: [String]
            switch answer {
            case .failure(let e): return fail(.dnsError, "key lookup failed: \(e)", .temperror)
            case .success(let v): records = v
            }
            // One TXT record is a key; with several, the first is used (RFC 6376 §3.6.2.2
            // leaves it undefined).
            guard let text = records.first else { return fail(.noKey, "no key") }
            let key: DKIMKeyRecord
            do { key = try DKIMKeyRecord.parse(text) } catch {
                r.key = DKIMKeyReport(name: keyName.fqdn, type: "", bits: 0, flags: [], hashes: [], record: text)
                return fail(.keyUnusable, "the key record is not a DKIM key: \(error)", .permerror)
            }
            r.key = DKIMKeyReport(name: keyName.fqdn, type: key.keyType, bits: 0, flags: key.flags, hashes: key.hashes, record: text)
            r.testing = key.flags.contains("y")
            if key.revoked { return fail(.keyRevoked, "key revoked") }
            if key.keyType != s.algorithm.keyType {
                return fail(.keyUnusable, "the key is k=\(key.keyType) but the signature is a=\(s.algorithm.rawValue)", .permerror)
            }
            if !key.hashes.isEmpty, !key.hashes.contains(s.algorithm.hash.rawValue) {
                return fail(.keyUnusable, "the key allows h=\(key.hashes.joined(separator: ":")), not \(s.algorithm.hash.rawValue)", .permerror)
            }
            if key.flags.contains("s") {
                let idom = s.identity.split(separator: "@", omittingEmptySubsequences: false).last.map { $0.lowercased() } ?? ""
                if idom != s.domain.withoutTrailingDot.lowercased() {
                    return fail(.keyUnusable, "the key has t=s but i=\(s.identity) is a subdomain of d=", .permerror)
                }
            }
            // The body hash (RFC 6376 §6.1.3 step 1-2).
            if let l = s.bodyLength, l > sink.canonicalLength {
                return fail(.bodyTooShort, "l=\(l) is longer than the body (\(sink.canonicalLength) bytes)")
            }
            if sink.digest != s.bodyHash { return fail(.bodyHash, "body hash did not verify") }
            // The header hash (RFC 6376 §3.7, §6.1.3 step 3-4).
            let data = Self.headerHashInput(headers, signatureIndex: p.index, fields: s)
            let ok: Bool
            switch key.keyType {
            case "ed25519":
                r.key?.bits = 256
                guard key.publicKey.count == 32, let pk = try? Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey) else {
                    return fail(.keyUnusable, "p= is not a 32-byte Ed25519 key (RFC 8463 §4.2)", .permerror)
                }
                // Ed25519-SHA256 signs the SHA-256 hash of the header data (RFC 8463 §3).
                ok = pk.isValidSignature(s.signature, for: Data(SHA256.hash(data: data)))
            default:
                guard let pk = try? _RSA.Signing.PublicKey(unsafeDERRepresentation: key.publicKey) else {
                    return fail(.keyUnusable, "p= is not an RSA public key of at least 1024 bits (RFC 6376 §3.6.1, RFC 8301 §3.2)", .permerror)
                }
                r.key?.bits = pk.keySizeInBits
                if pk.keySizeInBits < 2048 { r.weak = true }
                let sig = _RSA.Signing.RSASignature(rawRepresentation: s.signature)
                if s.algorithm == .rsaSHA1 {
                    ok = pk.isValidSignature(sig, for: Insecure.SHA1.hash(data: data), padding: .insecurePKCS1v1_5)
                } else {
                    ok = pk.isValidSignature(sig, for: SHA256.hash(data: data), padding: .insecurePKCS1v1_5)
                }
            }
            guard ok else { return fail(.signature, "signature did not verify") }
            r.result = .pass
            var notes: [String] = []
            if s.algorithm == .rsaSHA1 { notes.append("rsa-sha1 is weak, RFC 8301 §3.1") }
            if let bits = r.key?.bits, key.keyType == "rsa", bits < 2048 { notes.append("\(bits)-bit key is weak, RFC 8301 §3.2") }
            if r.testing { notes.append("key in testing mode t=y") }
            r.reason = notes.isEmpty ? nil : notes.joined(separator: "; ")
            return r
        }
    }

    /// The bytes the header signature covers (RFC 6376 §3.7): each field named in `h=`,
    /// bottom-most unused instance first, absent ones contributing nothing (§5.4.2); then
    /// the DKIM-Signature field itself with the value of `b=` deleted and no final CRLF. When
    /// `h=` names From, a From field not covered by it (a second From added later) is hashed
    /// too, so it fails the signature, as dkimpy does (RFC 6376 §8.15).
    static func headerHashInput(_ headers: MessageHeaderSection, signatureIndex: Int, fields s: DKIMSignatureFields) -> [UInt8] {
        var data: [UInt8] = []
        var used: [String: Int] = [:]  // name → index of the last instance used (search goes up from it)
        var names = s.signedHeaders
        if names.contains("from") { names.append("from") }
        let c = s.headerCanonicalization
        for name in names {
            var i = used[name] ?? headers.fields.count
            while i > 0 {
                i -= 1
                if headers.fields[i].key == name {
                    data += c.header(headers.fields[i])
                    break
                }
            }
            used[name] = i
        }
        let sig = headers.fields[signatureIndex]
        var own = c.header(MessageHeaderField(name: sig.name, raw: emptyingB(sig.raw), line: sig.line))
        if own.count >= 2, own[own.count - 2] == 0x0d, own[own.count - 1] == 0x0a { own.removeLast(2) }
        return data + own
    }

    /// The field with the value of its `b=` tag deleted (RFC 6376 §3.5 `b=`, §3.7): the bytes
    /// between `b=` and the next `;` (or the field's end, before the final CRLF) go.
    static func emptyingB(_ raw: [UInt8]) -> [UInt8] {
        guard let colon = raw.firstIndex(of: UInt8(ascii: ":")) else { return raw }
        var end = raw.count
        if end >= 2, raw[end - 2] == 0x0d, raw[end - 1] == 0x0a { end -= 2 }
        var start = colon + 1
        while start <= end {
            let semi = raw[start..<end].firstIndex(of: UInt8(ascii: ";")) ?? end
            if let eq = raw[start..<semi].firstIndex(of: UInt8(ascii: "=")) {
                let name = raw[start..<eq].filter { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0d || $0 == 0x0a) }
                if name == [UInt8(ascii: "b")] {
                    return Array(raw[..<(eq + 1)]) + Array(raw[semi...])
                }
            }
            start = semi + 1
        }
        return raw
    }

    static func utc(_ t: Int) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(t)))
    }
}
