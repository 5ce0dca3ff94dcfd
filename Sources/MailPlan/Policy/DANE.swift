import Crypto
import Foundation
import SwiftASN1

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
        guard let block = PEMBlock(text) else {
            throw DANEKeyError(reason: "no PEM block (-----BEGIN CERTIFICATE----- or -----BEGIN PUBLIC KEY-----)")
        }
        let label = block.label
        if label.contains("PRIVATE") {
            throw DANEKeyError(reason: "this is a private key; give the certificate or the public key (openssl pkey -pubout)")
        }
        guard let der = Data(base64Encoded: block.lines.joined()) else {
            throw DANEKeyError(reason: "the \(label) block is not valid base64")
        }
        switch label {
        case "PUBLIC KEY":
            guard let node = try? SwiftASN1.DER.parse([UInt8](der)), node.identifier == .sequence, node.encodedBytes.count == der.count else {
                throw DANEKeyError(reason: "the PUBLIC KEY block is not a SubjectPublicKeyInfo")
            }
            return der
        case "CERTIFICATE", "TRUSTED CERTIFICATE":
            return try spki(fromCertificate: der)
        default:
            throw DANEKeyError(reason: "a \(label) block is neither a CERTIFICATE nor a PUBLIC KEY")
        }
    }

    /// The SubjectPublicKeyInfo of certificate DER (``ServedCertificate/subjectPublicKeyInfo(_:)``).
    static func spki(fromCertificate der: Data) throws -> Data {
        do { return Data(try ServedCertificate.subjectPublicKeyInfo([UInt8](der))) } catch {
            throw DANEKeyError(reason: "the CERTIFICATE is not X.509 DER")
        }
    }

    /// The `3 1 1` association data: lower-case hex of SHA-256(SubjectPublicKeyInfo DER).
    public static func sha256Hex(_ spki: Data) -> String {
        hexSHA256(spki)
    }
}
