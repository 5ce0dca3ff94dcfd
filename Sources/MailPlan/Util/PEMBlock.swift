import Foundation

/// The first PEM block of a text (RFC 7468 §2): its label and the lines between its
/// `-----BEGIN label-----` and the next `-----END` line, each trimmed of spaces. The callers
/// (DKIM key files, DANE certificates and keys) decode the base64 and word their own errors.
struct PEMBlock {
    /// The label, e.g. `PUBLIC KEY` or `CERTIFICATE`.
    let label: String
    /// The lines inside the block (base64, and any RFC 1421 `Name: value` header lines).
    let lines: [String]

    /// nil when `text` has no BEGIN line followed by an END line.
    init?(_ text: String) {
        let all = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = all.firstIndex(where: { $0.hasPrefix("-----BEGIN ") }),
              let end = all[begin...].firstIndex(where: { $0.hasPrefix("-----END ") }) else { return nil }
        label = all[begin].replacingOccurrences(of: "-----BEGIN ", with: "").replacingOccurrences(of: "-----", with: "")
        lines = Array(all[(begin + 1)..<end])
    }
}
