import Foundation

/// The tags of a published DMARC record that decide a message's result (RFC 7489 §6.3;
/// `np` from RFC 9091 §4).
public struct DMARCRecordPolicy: Sendable, Codable, Hashable {
    public var p: String
    public var sp: String?
    public var np: String?
    /// `r` (relaxed, default) or `s` (strict).
    public var adkim: String
    public var aspf: String
    /// Percent of failing messages the policy is applied to (default 100, RFC 7489 §6.6.4).
    public var pct: Int

    /// Parses a TXT value that starts with `v=DMARC1` (RFC 7489 §6.4).
    /// - Returns: nil when the value is not a DMARC record (it is then ignored, §6.6.3).
    /// - Throws: ``TagError`` when it is a DMARC record without a valid `p=` (§6.6.3:
    ///   such a record gives no policy).
    public static func parse(_ text: String) throws -> DMARCRecordPolicy? {
        let parts = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard let first = parts.first, first.replacingOccurrences(of: " ", with: "") == "v=DMARC1" else { return nil }
        // §6.3: syntax errors are ignored; a repeated tag keeps its first value.
        var tags: [String: String] = [:]
        for case .tag(let name, let value) in TagList.parts(text).dropFirst() where tags[name.lowercased()] == nil {
            tags[name.lowercased()] = value.lowercased()
        }
        let policies = ["none", "quarantine", "reject"]
        guard let p = tags["p"], policies.contains(p) else {
            throw TagError("the record has no valid p= (none, quarantine or reject; RFC 7489 §6.3)")
        }
        func policy(_ k: String) -> String? { tags[k].flatMap { policies.contains($0) ? $0 : nil } }
        func mode(_ k: String) -> String { tags[k] == "s" ? "s" : "r" }
        let pct = tags["pct"].flatMap { Int($0) }.map { min(100, max(0, $0)) } ?? 100
        return DMARCRecordPolicy(p: p, sp: policy("sp"), np: policy("np"), adkim: mode("adkim"), aspf: mode("aspf"), pct: pct)
    }
}

/// The DMARC result of a message (RFC 7489 §6.6).
public struct DMARCResult: Sendable, Codable, Hashable {
    /// `pass`, `fail`, `none` (no policy published), `temperror`, `permerror` (no usable From domain).
    public var result: AuthResult
    public var reason: String?
    /// The RFC5322.From domain (§3.1) and its Organizational Domain (§3.2).
    public var fromDomain: String?
    public var organizationalDomain: String?
    /// Where the record was found (`_dmarc.example.com.`) and its TXT value.
    public var recordName: String?
    public var record: String?
    public var policy: DMARCRecordPolicy?
    /// The policy for this From domain: `p`, `sp` for a subdomain, `np` for a subdomain
    /// that does not exist (RFC 9091 §4); what a receiver does when DMARC fails.
    public var appliedPolicy: String?
    /// Which tag `appliedPolicy` came from: `p`, `sp` or `np`.
    public var appliedPolicyTag: String?
    /// `d=` of each passing DKIM signature that aligns with the From domain.
    public var dkimAligned: [String] = []
    /// The SPF-authenticated domain, and whether it aligns.
    public var spfDomain: String?
    public var spfAligned: Bool = false

    enum CodingKeys: String, CodingKey {
        case result, reason, fromDomain = "from_domain", organizationalDomain = "organizational_domain"
        case recordName = "record_name", record, policy, appliedPolicy = "applied_policy", appliedPolicyTag = "applied_policy_tag"
        case dkimAligned = "dkim_aligned", spfDomain = "spf_domain", spfAligned = "spf_aligned"
    }
}

/// The RFC5322.From domain of a message (RFC 7489 §3.1, §6.6.1).
public enum MessageFrom {
    /// The domains of the addresses in the From fields, lower-case.
    /// - Returns: the domains (in order, de-duplicated) or the reason there is none usable:
    ///   no From field, an address without a domain, a domain that is not a DNS name.
    public static func domains(_ headers: MessageHeaderSection) -> Result<[DomainName], TagError> {
        let fields = headers.fields(named: "from")
        guard !fields.isEmpty else { return .failure(TagError("the message has no From field (RFC 5322 §3.6.2)")) }
        var out: [DomainName] = []
        for f in fields {
            let addrs = addresses(f.value)
            guard !addrs.isEmpty else { return .failure(TagError("From: \(f.value.prefix(60)) holds no address")) }
            for a in addrs {
                guard let at = a.lastIndex(of: "@") else { return .failure(TagError("From address '\(a.prefix(60))' has no domain")) }
                var d = String(a[a.index(after: at)...]).trimmingCharacters(in: .whitespaces)
                if d.hasSuffix(".") { d.removeLast() }
                guard !d.isEmpty, !d.hasPrefix("["), let n = try? DomainName(d.lowercased()) else {
                    return .failure(TagError("From domain '\(d.prefix(60))' is not a domain name"))
                }
                if !out.contains(n) { out.append(n) }
            }
        }
        return .success(out)
    }

    /// The addr-specs of a mailbox list (RFC 5322 §3.4): comments and display names dropped,
    /// `<…>` taken when present.
    static func addresses(_ value: String) -> [String] {
        var items: [String] = []
        var cur = "", depth = 0, quoted = false, angle = false, escaped = false
        for ch in value {
            if escaped { if depth == 0 { cur.append(ch) }; escaped = false; continue }
            if ch == "\\" { escaped = true; continue }
            if quoted { if ch == "\"" { quoted = false }; continue }
            if depth > 0 { if ch == "(" { depth += 1 } else if ch == ")" { depth -= 1 }; continue }
            switch ch {
            case "\"": quoted = true
            case "(": depth = 1
            case "<": angle = true; cur = ""
            case ">": angle = false; items.append(cur); cur = ""
            case "," where !angle:
                if !cur.trimmingCharacters(in: .whitespaces).isEmpty { items.append(cur) }
                cur = ""
            case ":" where !angle: cur = ""  // group name
            case ";" where !angle:
                if !cur.trimmingCharacters(in: .whitespaces).isEmpty { items.append(cur) }
                cur = ""
            default: cur.append(ch)
            }
        }
        if !cur.trimmingCharacters(in: .whitespaces).isEmpty { items.append(cur) }
        return items.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

/// DMARC policy discovery and alignment (RFC 7489 §3.1, §6.6.2, §6.6.3; `np`: RFC 9091).
public struct DMARCEvaluator {
    public let lookup: SPFDNSLookup
    public let suffixes: PublicSuffixList

    public init(lookup: @escaping SPFDNSLookup, suffixes: PublicSuffixList) { self.lookup = lookup; self.suffixes = suffixes }

    /// The DMARC record for `domain` (§6.6.3): the `v=DMARC1` TXT values at `_dmarc.<domain>`.
    /// - Throws: when the lookup fails (a temperror).
    func records(_ domain: DomainName) throws -> (name: DomainName, values: [String]) {
        let name = domain.prepending("_dmarc")
        let values = try lookup(name, .txt).compactMap(\.txtValue).filter { v in
            v.split(separator: ";").first.map { $0.replacingOccurrences(of: " ", with: "") == "v=DMARC1" } ?? false
        }
        return (name, values)
    }

    /// Relaxed alignment: the same Organizational Domain; strict: the same domain (§3.1.1, §3.1.2).
    public func aligned(_ a: DomainName, _ b: DomainName, mode: String) -> Bool {
        mode == "s" ? a == b : suffixes.organizationalDomain(a) == suffixes.organizationalDomain(b)
    }

    /// Evaluates DMARC for a message whose From domain is `from`.
    /// - Parameters:
    ///   - dkim: the DKIM results; a `pass` with an aligned `d=` passes DMARC.
    ///   - spf: the SPF result and the domain it authenticated (MAIL FROM, or HELO for a null
    ///     MAIL FROM); a `pass` with an aligned domain passes DMARC.
    public func evaluate(from: DomainName, dkim: [DKIMSignatureResult], spf: (result: SPFResult, domain: DomainName?)?) -> DMARCResult {
        let org = suffixes.organizationalDomain(from)
        var r = DMARCResult(result: .none, fromDomain: from.withoutTrailingDot, organizationalDomain: org.withoutTrailingDot)
        r.spfDomain = spf?.domain?.withoutTrailingDot
        var found: (name: DomainName, values: [String])
        do {
            found = try records(from)
            if found.values.isEmpty, org != from { found = try records(org) }
        } catch {
            r.result = .temperror; r.reason = "DMARC record lookup failed: \(error)"
            return r
        }
        guard found.values.count == 1 else {
            r.reason = found.values.isEmpty
                ? "no DMARC record at _dmarc.\(from.withoutTrailingDot)" + (org != from ? " or _dmarc.\(org.withoutTrailingDot)" : "")
                : "\(found.name.withoutTrailingDot) has \(found.values.count) DMARC records; a receiver applies none (RFC 7489 §6.6.3)"
            return r
        }
        r.recordName = found.name.fqdn; r.record = found.values[0]
        let policy: DMARCRecordPolicy
        do {
            guard let p = try DMARCRecordPolicy.parse(found.values[0]) else { return r }
            policy = p
        } catch {
            r.reason = "\(found.name.withoutTrailingDot): \(error)"
            return r
        }
        r.policy = policy
        // The policy for this From domain (§6.6.3; np: RFC 9091 §4, a domain with no A,
        // AAAA or MX is non-existent, RFC 9091 §2.1).
        if found.name == from.prepending("_dmarc") || from == org {
            r.appliedPolicy = policy.p; r.appliedPolicyTag = "p"
        } else if let np = policy.np, exists(from) == false {
            r.appliedPolicy = np; r.appliedPolicyTag = "np"
        } else if let sp = policy.sp {
            r.appliedPolicy = sp; r.appliedPolicyTag = "sp"
        } else {
            r.appliedPolicy = policy.p; r.appliedPolicyTag = "p"
        }
        for d in dkim where d.result == .pass {
            if let dd = d.domain, let n = try? DomainName(dd.lowercased()), aligned(n, from, mode: policy.adkim) { r.dkimAligned.append(n.withoutTrailingDot) }
        }
        if let spf, spf.result == .pass, let d = spf.domain, aligned(d, from, mode: policy.aspf) { r.spfAligned = true }
        if !r.dkimAligned.isEmpty || r.spfAligned {
            r.result = .pass
            return r
        }
        r.result = .fail
        var why: [String] = []
        let passing = dkim.filter { $0.result == .pass }.compactMap(\.domain)
        if passing.isEmpty { why.append("no DKIM signature passes") } else {
            why.append("DKIM passes only for d=\(passing.joined(separator: ", ")), not aligned with \(from.withoutTrailingDot) (adkim=\(policy.adkim))")
        }
        if let spf, spf.result == .pass, let d = spf.domain {
            why.append("SPF passes for \(d.withoutTrailingDot), not aligned with \(from.withoutTrailingDot) (aspf=\(policy.aspf))")
        } else {
            why.append("SPF does not pass")
        }
        r.reason = why.joined(separator: "; ")
        return r
    }

    /// False when `domain` has no A, AAAA or MX records; nil when a lookup failed.
    func exists(_ domain: DomainName) -> Bool? {
        do {
            for t in [RRType.a, .aaaa, .mx] where !(try lookup(domain, t)).isEmpty { return true }
            return false
        } catch { return nil }
    }
}
