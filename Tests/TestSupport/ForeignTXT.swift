import Foundation
import MailPlan

/// The apex TXT values of a colleague's that every foreign-values test puts next to the SPF
/// value (issue 12): DNS-SD style strings (RFC 6763 §6), a NUL, bytes that are not UTF-8 with
/// an empty string, an empty value alone, a verification token.
enum ForeignTXT {
    static let values: [TXTData] = [
        TXTData(strings: [Array("txtvers=1".utf8), Array("path=/x".utf8), Array("k=v".utf8)]),
        TXTData(strings: [[0x61, 0x00, 0x62]]),
        TXTData(strings: [[0x63, 0x61, 0x66, 0xc3, 0xa9], [0xff, 0x80], []]),
        TXTData(strings: [[]]),
        TXTData("google-site-verification=tok123"),
    ]

    /// The same values as the APIs store them (zone-file presentation).
    static var presentation: [String] { values.map(\.presentation) }

    /// The lines `mailplan plan` shows for them (sorted, as the plan prints an RRset), under
    /// an apex TXT whose SPF changes from `v=spf1 a -all` to `v=spf1 mx -all`.
    static let planLines = """
                ""
                "a\\000b"
                "caf\\195\\169" "\\255\\128" ""
                "google-site-verification=tok123"
                "txtvers=1" "path=/x" "k=v"
              - "v=spf1 a -all"
              + "v=spf1 mx -all"
              # only the v=spf1 value is managed; the other 5 TXT values are kept
        """
}
