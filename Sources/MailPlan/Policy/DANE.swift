import Crypto
import Foundation

/// A certificate or public key that cannot be used for a TLSA record, with the reason.
public struct DANEKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// DANE TLSA values for SMTP (RFC 7672, RFC 6698): `3 1 1` = DANE-EE, SubjectPublicKeyInfo,
/// SHA-256. Pinning the public key (not the certificate) survives certificate renewals that
/// keep the key.
public enum DANE {
    /// The SubjectPublicKeyInfo DER inside PEM text: from a `CERTIFICATE` (the
    /// `subjectPublicKeyInfo` field of the TBSCertificate, RFC 5280 §4.1) or a `PUBLIC KEY`
    /// block (which is the SPKI itself).
    /// - Throws: ``DANEKeyError`` for private keys (never accepted), other PEM labels, bad base64
    ///   or a certificate whose DER does not have the X.509 shape.
    public static func subjectPublicKeyInfo(pem text: String) throws -> Data {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(where: { $0.hasPrefix("-----BEGIN ") }),
              let end = lines[begin...].firstIndex(where: { $0.hasPrefix("-----END ") }) else {
            throw DANEKeyError(reason: "no PEM block (-----BEGIN CERTIFICATE----- or -----BEGIN PUBLIC KEY-----)")
        }
        let label = lines[begin].replacingOccurrences(of: "-----BEGIN ", with: "").replacingOccurrences(of: "-----", with: "")
        if label.contains("PRIVATE") {
            throw DANEKeyError(reason: "this is a private key; give the certificate or the public key (openssl pkey -pubout)")
        }
        guard let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw DANEKeyError(reason: "the \(label) block is not valid base64")
        }
        switch label {
        case "PUBLIC KEY":
            guard let (tag, _, total) = DER.element(der, at: 0), tag == 0x30, total == der.count else {
                throw DANEKeyError(reason: "the PUBLIC KEY block is not a SubjectPublicKeyInfo")
            }
            return der
        case "CERTIFICATE", "TRUSTED CERTIFICATE":
            return try spki(fromCertificate: der)
        default:
            throw DANEKeyError(reason: "a \(label) block is neither a CERTIFICATE nor a PUBLIC KEY")
        }
    }

    /// Walks Certificate → tbsCertificate → the 7th field (6th without the optional `[0]` version).
    static func spki(fromCertificate der: Data) throws -> Data {
        let bad = DANEKeyError(reason: "the CERTIFICATE is not X.509 DER")
        guard let (t0, certBody, _) = DER.element(der, at: 0), t0 == 0x30,
              let (t1, tbs, _) = DER.element(der, at: certBody.lowerBound), t1 == 0x30 else { throw bad }
        var offset = tbs.lowerBound
        var fields: [(tag: UInt8, range: Range<Int>)] = []
        while offset < tbs.upperBound, fields.count < 8, let (tag, content, total) = DER.element(der, at: offset) {
            fields.append((tag, offset..<(offset + total)))
            _ = content
            offset += total
        }
        // version [0] EXPLICIT is optional; then serial, signature, issuer, validity, subject, SPKI.
        let start = fields.first?.tag == 0xa0 ? 1 : 0
        guard fields.count > start + 5, fields[start + 5].tag == 0x30 else { throw bad }
        return der.subdata(in: fields[start + 5].range)
    }

    /// The `3 1 1` association data: lower-case hex of SHA-256(SubjectPublicKeyInfo DER).
    public static func sha256Hex(_ spki: Data) -> String {
        hexSHA256(spki)
    }
}

/// Just enough DER (X.690) to find fields by position.
enum DER {
    /// The element at `offset`: its tag, the content range, and its total length (header + content).
    static func element(_ d: Data, at offset: Int) -> (tag: UInt8, content: Range<Int>, total: Int)? {
        let b = [UInt8](d)
        guard offset + 2 <= b.count else { return nil }
        let tag = b[offset]
        var i = offset + 1
        var len = Int(b[i]); i += 1
        if len & 0x80 != 0 {
            let n = len & 0x7f
            guard n >= 1, n <= 4, i + n <= b.count else { return nil }
            len = 0
            for _ in 0..<n { len = len << 8 | Int(b[i]); i += 1 }
        }
        guard i + len <= b.count else { return nil }
        return (tag, i..<(i + len), i + len - offset)
    }
}
