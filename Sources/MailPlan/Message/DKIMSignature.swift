import Crypto
import Foundation

/// The hash algorithms DKIM signs with (RFC 6376 §3.3; sha1 only for rsa-sha1, which
/// RFC 8301 §3.1 says not to trust).
public enum DKIMHashAlgorithm: String, Sendable, Codable, Hashable {
    case sha256, sha1
}

/// An incremental hash through swift-crypto.
struct DKIMHasher {
    private var sha256: SHA256?
    private var sha1: Insecure.SHA1?
    init(_ a: DKIMHashAlgorithm) {
        switch a { case .sha256: sha256 = SHA256(); case .sha1: sha1 = Insecure.SHA1() }
    }
    mutating func update(_ bytes: UnsafeBufferPointer<UInt8>) {
        if sha256 != nil { sha256!.update(bufferPointer: UnsafeRawBufferPointer(bytes)) } else { sha1!.update(bufferPointer: UnsafeRawBufferPointer(bytes)) }
    }
    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { update($0) } }
    func finalize() -> [UInt8] {
        if let h = sha256 { return Array(h.finalize()) }
        return Array(sha1!.finalize())
    }
}


/// A parsed DKIM-Signature field (RFC 6376 §3.5).
public struct DKIMSignatureFields: Sendable, Hashable {
    public enum Algorithm: String, Sendable, Codable, Hashable {
        case rsaSHA256 = "rsa-sha256", rsaSHA1 = "rsa-sha1", ed25519SHA256 = "ed25519-sha256"
        public var hash: DKIMHashAlgorithm { self == .rsaSHA1 ? .sha1 : .sha256 }
        /// The key type (`k=`) the algorithm needs.
        public var keyType: String { self == .ed25519SHA256 ? "ed25519" : "rsa" }
    }
    public let tags: TagList
    public let algorithm: Algorithm
    /// `b=`, decoded.
    public let signature: [UInt8]
    /// `bh=`, decoded.
    public let bodyHash: [UInt8]
    public let headerCanonicalization: DKIMCanonicalization
    public let bodyCanonicalization: DKIMCanonicalization
    /// `d=`, the signing domain.
    public let domain: DomainName
    /// `s=`.
    public let selector: String
    /// `h=`, lower-cased, in order.
    public let signedHeaders: [String]
    /// `i=` as written, or `@<d=>` when absent (§3.5).
    public let identity: String
    /// `l=`: the number of canonical body bytes signed.
    public let bodyLength: Int?
    /// `t=` and `x=`, seconds since 1970 (UTC).
    public let timestamp: Int?
    public let expiration: Int?

    /// The key record's name: `<s>._domainkey.<d>` (§3.6.2.1).
    public var keyName: DomainName { get throws { try DomainName("\(selector)._domainkey.\(domain.withoutTrailingDot)") } }

    /// Parses and checks the value of a DKIM-Signature field (RFC 6376 §3.5, §6.1.1): every
    /// required tag (`v a b bh d h s`), `v=1`, a known `a=` and `c=`, base64 `b=`/`bh=`,
    /// `h=` including `from`, `i=` in `d=` or a subdomain of it, decimal `l=`, `t=`, `x=`,
    /// `x=` after `t=`, `q=dns/txt`.
    /// - Throws: ``TagError`` with the reason.
    public static func parse(_ value: String) throws -> DKIMSignatureFields {
        let tags = try TagList.parse(value)
        for t in ["v", "a", "b", "bh", "d", "h", "s"] where tags[t] == nil {
            throw TagError("the signature has no \(t)= tag (RFC 6376 §3.5, §6.1.1)")
        }
        guard tags["v"] == "1" else { throw TagError("v=\(tags["v"]!) is not 1 (RFC 6376 §3.5)") }
        guard let a = Algorithm(rawValue: tags["a"]!.lowercased()) else {
            throw TagError("a=\(tags["a"]!.prefix(40)) is not a signing algorithm (valid: rsa-sha256, ed25519-sha256, rsa-sha1)")
        }
        guard let b = TagList.base64(tags["b"]!), !b.isEmpty else { throw TagError("b= is not base64 (RFC 6376 §3.5)") }
        guard let bh = TagList.base64(tags["bh"]!), !bh.isEmpty else { throw TagError("bh= is not base64 (RFC 6376 §3.5)") }
        var hc = DKIMCanonicalization.simple, bc = DKIMCanonicalization.simple
        if let c = tags["c"] {
            let parts = c.lowercased().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            guard parts.count <= 2, let h = DKIMCanonicalization(rawValue: parts[0]),
                  let bb = parts.count == 2 ? DKIMCanonicalization(rawValue: parts[1]) : .simple else {
                throw TagError("c=\(c.prefix(40)) is not a canonicalization (valid: simple, relaxed, as header/body)")
            }
            hc = h; bc = bb
        }
        if let q = tags["q"], !q.split(separator: ":").contains(where: { $0.trimmingCharacters(in: .whitespaces).lowercased() == "dns/txt" }) {
            throw TagError("q=\(q.prefix(40)) does not offer dns/txt (RFC 6376 §3.5)")
        }
        let dText = tags["d"]!
        guard !dText.isEmpty, dText.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && !"()<>[]:;@\\,\"".unicodeScalars.contains($0) }),
              let d = try? DomainName(dText), d.labels.count >= 1 else {
            throw TagError("d=\(dText.prefix(60)) is not a domain name")
        }
        let s = tags["s"]!
        guard !s.isEmpty, (try? DomainName("\(s)._domainkey.\(d.withoutTrailingDot)")) != nil,
              s.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 }) else {
            throw TagError("s=\(s.prefix(60)) is not a selector (RFC 6376 §3.1)")
        }
        let h = tags["h"]!.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }
        guard !h.contains(where: \.isEmpty) else { throw TagError("h= has an empty field name (RFC 6376 §3.5)") }
        guard h.contains("from") else { throw TagError("h= does not include From, which must be signed (RFC 6376 §5.4)") }
        let identity: String
        if let i = tags["i"] {
            guard let at = i.lastIndex(of: "@") else { throw TagError("i=\(i.prefix(60)) has no @ (RFC 6376 §3.5)") }
            let idom = i[i.index(after: at)...].lowercased()
            let dd = d.withoutTrailingDot.lowercased()
            guard idom == dd || idom.hasSuffix("." + dd) else {
                throw TagError("i= domain \(idom.prefix(60)) is not d=\(dd) or a subdomain of it (RFC 6376 §3.5)")
            }
            identity = i
        } else { identity = "@" + d.withoutTrailingDot }
        func number(_ t: String) throws -> Int? {
            guard let v = tags[t] else { return nil }
            guard !v.isEmpty, v.count <= 76, v.allSatisfy(\.isASCII), v.allSatisfy(\.isNumber) else { throw TagError("\(t)=\(v.prefix(40)) is not a decimal number (RFC 6376 §3.5)") }
            // More than 18 digits: past any file size or date a signature can mean.
            return Int(v.prefix(18)) ?? Int.max
        }
        let l = try number("l"), t = try number("t"), x = try number("x")
        if let t, let x, x < t { throw TagError("x=\(x) is before t=\(t) (RFC 6376 §3.5)") }
        return DKIMSignatureFields(tags: tags, algorithm: a, signature: b, bodyHash: bh, headerCanonicalization: hc,
                                   bodyCanonicalization: bc, domain: d, selector: s, signedHeaders: h, identity: identity,
                                   bodyLength: l, timestamp: t, expiration: x)
    }
}

/// A DKIM key record (RFC 6376 §3.6.1; `k=ed25519` RFC 8463 §4.2).
public struct DKIMKeyRecord: Sendable, Hashable {
    /// `k=`, lower-cased: `rsa` (default) or `ed25519`.
    public let keyType: String
    /// `p=`, decoded; empty when the key is revoked.
    public let publicKey: [UInt8]
    /// `h=`: acceptable hash algorithms, lower-cased; empty for any.
    public let hashes: [String]
    /// `t=` flags, lower-cased (`y` testing, `s` no subdomains in `i=`).
    public let flags: [String]
    /// `s=` service types.
    public let services: [String]

    public var revoked: Bool { publicKey.isEmpty }

    /// Parses a key record's TXT value.
    /// - Throws: ``TagError`` when it is not a tag list, `v=` is there but not the first
    ///   tag or not `DKIM1`, `p=` is missing or not base64, `k=` is unknown, or `s=` does not
    ///   allow email.
    public static func parse(_ text: String) throws -> DKIMKeyRecord {
        let tags = try TagList.parse(text)
        if let v = tags["v"], tags.tags.first?.name != "v" || v != "DKIM1" {
            throw TagError("v=\(v.prefix(20)) is not DKIM1 as the first tag: not a DKIM key record (RFC 6376 §3.6.1)")
        }
        guard let p = tags["p"] else { throw TagError("the record has no p= tag: not a DKIM key record (RFC 6376 §3.6.1)") }
        let key: [UInt8]
        if TagList.compact(p).isEmpty { key = [] } else {
            guard let k = TagList.base64(p) else { throw TagError("p= is not base64 (RFC 6376 §3.6.1)") }
            key = k
        }
        let k = (tags["k"] ?? "rsa").lowercased()
        guard k == "rsa" || k == "ed25519" else { throw TagError("k=\(k.prefix(20)) is not a key type mailplan verifies (rsa, ed25519)") }
        func list(_ t: String) -> [String] {
            (tags[t] ?? "").split(separator: ":").map { $0.trimmingCharacters(in: .whitespacesAndNewlines).lowercased() }.filter { !$0.isEmpty }
        }
        let services = list("s")
        if !services.isEmpty, !services.contains("*"), !services.contains("email") {
            throw TagError("s=\(tags["s"]!.prefix(20)) does not allow email (RFC 6376 §3.6.1)")
        }
        return DKIMKeyRecord(keyType: k, publicKey: key, hashes: list("h"), flags: list("t"), services: services)
    }
}
