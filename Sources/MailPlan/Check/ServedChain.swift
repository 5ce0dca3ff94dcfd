import Crypto
import Foundation
import SwiftASN1
import X509

/// One served certificate: its DER, its SubjectPublicKeyInfo DER exactly as served, and the
/// parsed certificate (swift-certificates).
public struct ServedCertificate: Sendable {
    /// The certificate as served (DER).
    public let der: [UInt8]
    /// The `subjectPublicKeyInfo` field of the TBSCertificate (RFC 5280 §4.1), as served.
    public let spki: [UInt8]
    public let certificate: Certificate

    /// Parses DER.
    /// - Throws: ``DANEKeyError`` naming what does not parse.
    public init(der: [UInt8]) throws {
        self.der = der
        do { certificate = try Certificate(derEncoded: der) } catch {
            throw DANEKeyError(reason: "the certificate does not parse (\(error))")
        }
        spki = try Self.subjectPublicKeyInfo(der)
    }

    /// The SubjectPublicKeyInfo DER of a certificate: Certificate → tbsCertificate → the field
    /// after subject (the version `[0]` is optional), read with SwiftASN1.
    /// - Throws: ``DANEKeyError`` when the DER does not have the X.509 shape.
    public static func subjectPublicKeyInfo(_ der: [UInt8]) throws -> [UInt8] {
        let bad = DANEKeyError(reason: "the certificate is not X.509 DER")
        guard let root = try? SwiftASN1.DER.parse(der), case .constructed(let top) = root.content,
              let tbs = top.first(where: { _ in true }), case .constructed(let fields) = tbs.content else { throw bad }
        let list = Array(fields)
        let start = list.first?.identifier == ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific) ? 1 : 0
        guard list.count > start + 5, list[start + 5].identifier == ASN1Identifier.sequence else { throw bad }
        return Array(list[start + 5].encodedBytes)
    }

    /// The DNS names the certificate is for: its subjectAltName dNSName entries (RFC 5280
    /// §4.2.1.6), or its subject common names when it has no subjectAltName (RFC 6125 §6.4.4).
    public var dnsNames: [String] {
        if let san = try? certificate.extensions.subjectAlternativeNames {
            let names = san.compactMap { n -> String? in if case .dnsName(let d) = n { return d.lowercased() }; return nil }
            if !names.isEmpty { return names }
        }
        var cns: [String] = []
        for rdn in certificate.subject {
            for a in rdn where a.type == .RDNAttributeType.commonName { cns.append(String(describing: a.value).lowercased()) }
        }
        return cns
    }

    /// True when a name of ``dnsNames`` matches `host`: equal (case-insensitive), or a
    /// wildcard `*.suffix` standing for exactly one leftmost label (RFC 6125 §6.4.3).
    public func covers(_ host: DomainName) -> Bool {
        dnsNames.contains { hostMatches(host.withoutTrailingDot, pattern: $0) }
    }
}

/// How one TLSA record relates to a served chain (RFC 6698 §2.1, RFC 7671, RFC 7672 §3.1).
public enum TLSAMatch: Sendable, Hashable {
    /// The record matches: usage 3 the leaf, usage 2 the certificate at this chain position.
    case matches(position: Int)
    /// Usable for SMTP but matches nothing served.
    case noMatch
    /// Not usable for SMTP: the reason (usage 0/1 or unknown, unknown selector or matching type).
    case unusable(String)
}

/// DANE TLSA matching against a served chain.
public enum TLSAMatcher {
    /// Compares one TLSA record with the chain (leaf first).
    /// - usage 3 (DANE-EE) compares with the leaf only; usage 2 (DANE-TA) with each
    ///   certificate after the leaf (RFC 7671 §5.2.2); usages 0 and 1 (PKIX-TA, PKIX-EE) are
    ///   not used by SMTP (RFC 7672 §3.1.3).
    /// - selector 0 = the whole certificate DER, 1 = its SubjectPublicKeyInfo DER.
    /// - matching type 0 = the bytes, 1 = SHA-256, 2 = SHA-512 (compared as hex, case-insensitive).
    public static func match(usage: UInt8, selector: UInt8, matchingType: UInt8, data: String, chain: [ServedCertificate]) -> TLSAMatch {
        switch usage {
        case 2, 3: break
        case 0, 1: return .unusable("usage \(usage) (\(usage == 0 ? "PKIX-TA" : "PKIX-EE")) is not used for SMTP (RFC 7672 §3.1.3); publish 3 1 1")
        default: return .unusable("usage \(usage) is not a DANE usage (RFC 6698 §2.1.1: 0 to 3); publish 3 1 1")
        }
        guard selector <= 1 else { return .unusable("selector \(selector) is unknown (RFC 6698 §2.1.2: 0 or 1)") }
        guard matchingType <= 2 else { return .unusable("matching type \(matchingType) is unknown (RFC 6698 §2.1.3: 0, 1 or 2)") }
        let want = data.lowercased()
        let positions = usage == 3 ? Array(chain.indices.prefix(1)) : Array(chain.indices.dropFirst())
        for i in positions where associationData(chain[i], selector: selector, matchingType: matchingType) == want {
            return .matches(position: i)
        }
        return .noMatch
    }

    /// The association data a certificate gives for a selector and matching type, lower-case hex.
    public static func associationData(_ c: ServedCertificate, selector: UInt8, matchingType: UInt8) -> String {
        let bytes = selector == 0 ? c.der : c.spki
        switch matchingType {
        case 1: return hexSHA256(Data(bytes))
        case 2: return hexString(SHA512.hash(data: bytes))
        default: return hexString(bytes)
        }
    }
}
