import Crypto
import _CryptoExtras
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `mailplan dkim keygen` wrote.
public struct DKIMGeneratedKey: Sendable {
    /// The private key file (PKCS#8 PEM for Ed25519, PKCS#1 `RSA PRIVATE KEY` PEM for RSA), mode 0600.
    public let privateKeyPath: String
    /// The public key file (SubjectPublicKeyInfo `PUBLIC KEY` PEM), mode 0644.
    public let publicKeyPath: String
    /// The owner name of the TXT record: `<selector>._domainkey.<domain>`.
    public let recordName: DomainName
    /// The TXT value, `v=DKIM1; k=…; p=…`.
    public let txtValue: String
    /// The lines to paste under the domain's `dkim:` in the plan file.
    public let planSnippet: String
}

/// A key that could not be generated or written, with the reason.
public struct DKIMKeyGenError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public var description: String { reason }
}

/// Generates DKIM key pairs (RFC 6376 §3.3, RFC 8463 for Ed25519, RFC 8301 for RSA sizes).
public enum DKIMKeyGen {
    public enum Algorithm: String, Sendable, CaseIterable { case rsa, ed25519 }

    /// Generates a key pair and writes `<selector>.private.pem` (mode 0600, created exclusively,
    /// never printed) and `<selector>.public.pem` into `directory`.
    /// - Parameters:
    ///   - selector: the DKIM selector (letters, digits, hyphen, underscore; dot-separated labels).
    ///   - domain: the signing domain (`d=`).
    ///   - algorithm: `rsa` (default) or `ed25519`.
    ///   - bits: RSA modulus size, 2048 or 4096; ignored for Ed25519.
    ///   - directory: where to write; created (mode 0700) when missing.
    ///   - planDirectory: when given, `public_key_file` in the snippet is written relative to it.
    /// - Returns: the paths, the DNS TXT value and the plan snippet.
    /// - Throws: ``DKIMKeyGenError`` when a file already exists (nothing is overwritten), the
    ///   selector or size is invalid, or a file cannot be written.
    public static func generate(selector: String, domain: DomainName, algorithm: Algorithm = .rsa, bits: Int = 2048,
                                directory: String, planDirectory: String? = nil) throws -> DKIMGeneratedKey {
        guard !selector.isEmpty, selector.split(separator: ".", omittingEmptySubsequences: false).allSatisfy({ l in
            !l.isEmpty && l.count <= 63 && l.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") } }) else {
            throw DKIMKeyGenError(reason: "'\(selector)' is not a valid selector (letters, digits, hyphen, underscore; dot-separated labels)")
        }
        if algorithm == .rsa && bits != 2048 && bits != 4096 {
            throw DKIMKeyGenError(reason: "--bits must be 2048 or 4096 for RSA (RFC 8301 §3.2), got \(bits)")
        }
        let dir = URL(fileURLWithPath: directory)
        let privURL = dir.appendingPathComponent("\(selector).private.pem")
        let pubURL = dir.appendingPathComponent("\(selector).public.pem")
        for u in [privURL, pubURL] where FileManager.default.fileExists(atPath: u.path) {
            throw DKIMKeyGenError(reason: "\(u.path) already exists; mailplan never overwrites a key (choose another selector or directory)")
        }
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch { throw DKIMKeyGenError(reason: "cannot create \(directory): \(PlanLoader.reason(error))") }

        let privatePEM: String, publicPEM: String, txt: String
        switch algorithm {
        case .rsa:
            let key = try _RSA.Signing.PrivateKey(keySize: bits == 4096 ? .bits4096 : .bits2048)
            privatePEM = key.pemRepresentation
            publicPEM = key.publicKey.pemRepresentation
            txt = "v=DKIM1; k=rsa; p=" + key.publicKey.derRepresentation.base64EncodedString()
        case .ed25519:
            let key = Curve25519.Signing.PrivateKey()
            // PKCS#8 (RFC 8410 §7) and SubjectPublicKeyInfo (RFC 8410 §4) with OID 1.3.101.112.
            let pkcs8 = Data([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]) + key.rawRepresentation
            let spki = Data([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]) + key.publicKey.rawRepresentation
            privatePEM = pem("PRIVATE KEY", pkcs8)
            publicPEM = pem("PUBLIC KEY", spki)
            txt = "v=DKIM1; k=ed25519; p=" + key.publicKey.rawRepresentation.base64EncodedString()
        }
        try writeExclusive(privURL.path, privatePEM, mode: 0o600)
        do { try writeExclusive(pubURL.path, publicPEM, mode: 0o644) } catch {
            unlink(privURL.path)  // leave nothing half-made
            throw error
        }
        var shown = pubURL.path
        if let planDirectory {
            let base = URL(fileURLWithPath: planDirectory).standardizedFileURL.path
            let full = pubURL.standardizedFileURL.path
            if full.hasPrefix(base + "/") { shown = String(full.dropFirst(base.count + 1)) }
        }
        let snippet = "- selector: \(selector)\n  public_key_file: \(shown)\n"
        return DKIMGeneratedKey(privateKeyPath: privURL.path, publicKeyPath: pubURL.path,
                                recordName: domain.prepending("_domainkey").prepending(selector.lowercased()),
                                txtValue: txt, planSnippet: snippet)
    }

    static func pem(_ label: String, _ der: Data) -> String {
        let b64 = der.base64EncodedString()
        var lines: [String] = []
        var i = b64.startIndex
        while i < b64.endIndex {
            let j = b64.index(i, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
            lines.append(String(b64[i..<j])); i = j
        }
        return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
    }

    /// Creates `path` with O_EXCL and `mode` from the first byte (no window with wider permissions).
    static func writeExclusive(_ path: String, _ text: String, mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else {
            throw DKIMKeyGenError(reason: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        _ = fchmod(fd, mode)  // the umask may have narrowed it; never widened beyond `mode`
        let bytes = Array(text.utf8)
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw DKIMKeyGenError(reason: "cannot write \(path): \(String(cString: strerror(errno)))") }
            off += n
        }
        guard fsync(fd) == 0 else { throw DKIMKeyGenError(reason: "cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}
