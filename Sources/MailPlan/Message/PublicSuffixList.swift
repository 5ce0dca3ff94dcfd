import Foundation

/// The Public Suffix List (https://publicsuffix.org/list/), read at run time from the file
/// Debian's `publicsuffix` package installs, for the Organizational Domain of DMARC
/// (RFC 7489 §3.2). Both the ICANN and the private sections are used, as RFC 7489 §3.2 reads
/// the list as published. Rules with Unicode labels are kept as A-labels (libidn2).
public struct PublicSuffixList: Sendable {
    /// Where Debian's `publicsuffix` package puts the list.
    public static let debianPath = "/usr/share/publicsuffix/public_suffix_list.dat"

    /// Plain rules (`com`, `co.uk`), wildcard rules without their `*.` (`ck` for `*.ck`) and
    /// exception rules without their `!` (`www.ck`), all lower-case A-labels without a dot at the end.
    let rules: Set<String>
    let wildcards: Set<String>
    let exceptions: Set<String>
    /// The file read.
    public let path: String

    /// Reads the list.
    /// - Throws: ``PublicSuffixListError`` when the file cannot be read (naming the Debian
    ///   package to install) or holds no rule.
    public init(path: String = PublicSuffixList.debianPath) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PublicSuffixListError(message: "cannot read the Public Suffix List at \(path): install the Debian package 'publicsuffix' (apt-get install publicsuffix)")
        }
        self.init(text: String(decoding: data, as: UTF8.self), path: path)
        if rules.isEmpty && wildcards.isEmpty { throw PublicSuffixListError(message: "\(path) holds no Public Suffix List rule") }
    }

    /// Parses list text: one rule per line, the first whitespace-separated word; `//` comments.
    public init(text: String, path: String = "(text)") {
        var r = Set<String>(), w = Set<String>(), e = Set<String>()
        for raw in text.split(whereSeparator: \.isNewline) {
            guard let word = raw.split(whereSeparator: { $0 == " " || $0 == "\t" }).first, !word.hasPrefix("//") else { continue }
            var rule = String(word).lowercased()
            var set = 0
            if rule.hasPrefix("!") { rule.removeFirst(); set = 2 } else if rule.hasPrefix("*.") { rule.removeFirst(2); set = 1 }
            if !rule.allSatisfy(\.isASCII) {
                guard let n = try? DomainName(rule) else { continue }
                rule = n.withoutTrailingDot
            }
            switch set { case 1: w.insert(rule); case 2: e.insert(rule); default: r.insert(rule) }
        }
        rules = r; wildcards = w; exceptions = e; self.path = path
    }

    /// The public suffix of `domain` by the list's algorithm: the longest matching rule, an
    /// exception rule winning with its first label removed, `*` when nothing matches.
    public func publicSuffix(_ domain: DomainName) -> [String] {
        let labels = domain.labels.map { $0.lowercased() }
        guard !labels.isEmpty else { return [] }
        var best = 1  // the implicit rule `*`
        for n in 1...labels.count {
            let suffix = labels.suffix(n).joined(separator: ".")
            if exceptions.contains(suffix) { return Array(labels.suffix(n - 1)) }
            if rules.contains(suffix) { best = max(best, n) }
            if n < labels.count, wildcards.contains(suffix) { best = max(best, n + 1) }
        }
        return Array(labels.suffix(best))
    }

    /// The Organizational Domain (RFC 7489 §3.2): the public suffix plus one label; the
    /// domain itself when it is a public suffix or has no label more.
    public func organizationalDomain(_ domain: DomainName) -> DomainName {
        let labels = domain.labels.map { $0.lowercased() }
        let suffix = publicSuffix(domain).count
        guard labels.count > suffix else { return domain }
        return (try? DomainName(labels.suffix(suffix + 1).joined(separator: "."))) ?? domain
    }
}

public struct PublicSuffixListError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
