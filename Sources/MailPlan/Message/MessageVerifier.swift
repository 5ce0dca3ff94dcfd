import Foundation

/// What `verify-message` is told about the SMTP session the message came in (RFC 5321).
public struct SMTPEnvelope: Sendable, Hashable {
    /// The connecting client's address (`--ip`); SPF is not evaluated without it.
    public var ip: SPFAddress?
    /// The EHLO/HELO name (`--helo`).
    public var helo: DomainName?
    /// The MAIL FROM address (`--mail-from`); nil: taken from the Return-Path field; "" is
    /// the null reverse-path `<>`.
    public var mailFrom: String?
    public init(ip: SPFAddress? = nil, helo: DomainName? = nil, mailFrom: String? = nil) { self.ip = ip; self.helo = helo; self.mailFrom = mailFrom }
}

/// One SPF `check_host()` (RFC 7208 §4) as reported.
public struct SPFCheckResult: Sendable, Codable, Hashable {
    public var result: AuthResult
    public var reason: String
    /// `mailfrom` or `helo` (RFC 7208 §2.3, §2.4).
    public var identity: String
    /// The domain checked and the sender it was checked for (`postmaster@<helo>` for HELO).
    public var domain: String?
    public var sender: String?
    public var ip: String?
}

/// Everything `verify-message` found about one message.
public struct MessageReport: Sendable, Codable {
    public var formatVersion = "1"
    public var mailplanVersion = MailPlanVersion.current
    /// The file as given (`-` for standard input).
    public var file: String
    /// The From domain(s) and the reason when none is usable.
    public var from: [String]
    /// Set when the header section could not be read.
    public var messageError: String?
    /// The line of the message where the header section stops parsing.
    public var headerLine: Int?
    public var dkim: [DKIMSignatureResult]
    /// `none` with a reason when the message has no signature or cannot be read.
    public var dkimSummary: AuthResult
    public var dkimReason: String?
    /// SPF for the MAIL FROM identity (or HELO for a null MAIL FROM).
    public var spf: SPFCheckResult
    /// SPF for the HELO identity, when `--helo` is given and MAIL FROM is not null.
    public var spfHelo: SPFCheckResult?
    public var dmarc: DMARCResult
    /// The RFC 8601 header field, one line.
    public var authenticationResults: String
    /// With `--plan`: each failure's cause in plan terms.
    public var hints: [String] = []

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", mailplanVersion = "mailplan_version", file, from
        case messageError = "message_error", headerLine = "message_error_line", dkim, dkimSummary = "dkim_result", dkimReason = "dkim_reason"
        case spf, spfHelo = "spf_helo", dmarc, authenticationResults = "authentication_results", hints
    }

    /// Pretty-printed JSON with sorted keys, ending in a newline.
    public func json() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }
}

/// Verifies a message as a receiving server would: DKIM (RFC 6376), SPF (RFC 7208, through
/// ``SPFEvaluator``), DMARC (RFC 7489), reported as RFC 8601 Authentication-Results.
public struct MessageVerifier {
    public let lookup: SPFDNSLookup
    public let suffixes: PublicSuffixList
    public let now: Date
    /// The authserv-id of the Authentication-Results field (RFC 8601 §2.5).
    public var authservID = "mailplan"

    public init(lookup: @escaping SPFDNSLookup, suffixes: PublicSuffixList, now: Date) {
        self.lookup = lookup; self.suffixes = suffixes; self.now = now
    }

    /// Reads the message from `reader` (the body streamed once) and verifies it.
    /// - Throws: only when reading the input fails (an I/O error); a malformed message is
    ///   a result (permerror), not an error.
    public func verify(_ reader: MessageReader, file: String, envelope: SMTPEnvelope) throws -> MessageReport {
        let headers = try reader.readHeaderSection()
        let dkimV = DKIMVerifier(lookup: lookup, now: now)
        let body = BodyCanonicalizers()
        let pending = headers.error == nil ? dkimV.prepare(headers, body: body) : []
        if headers.error == nil, headers.hasBody, !pending.isEmpty { try reader.readBody(into: body) } else { body.finish() }
        let dkim = dkimV.finish(pending, headers: headers)

        // SPF (RFC 7208 §2.3, §2.4): MAIL FROM, or postmaster@HELO when it is null.
        var mailFrom = envelope.mailFrom
        if mailFrom == nil, headers.error == nil, let rp = headers.fields(named: "return-path").first {
            let v = rp.value.trimmingCharacters(in: .whitespaces)
            mailFrom = v.hasPrefix("<") ? String(v.dropFirst().prefix { $0 != ">" }) : v
        }
        let spfEval = SPFEvaluator(lookup: lookup)
        func check(_ identity: String, _ domainText: String?, sender: String?) -> SPFCheckResult {
            var r = SPFCheckResult(result: .none, reason: "", identity: identity, domain: domainText, sender: sender, ip: envelope.ip?.description)
            guard let ip = envelope.ip else { r.reason = "not evaluated: give --ip, the address the message came from"; return r }
            guard let domainText, let d = try? DomainName(domainText), !domainText.isEmpty else {
                r.result = .none; r.reason = "no \(identity == "helo" ? "HELO name" : "MAIL FROM domain") to check (give --mail-from or --helo)"
                return r
            }
            let (res, why) = spfEval.checkHost(ip, domain: d, sender: sender)
            r.result = AuthResult(rawValue: res.rawValue) ?? .permerror
            r.reason = why
            r.domain = d.withoutTrailingDot
            return r
        }
        let heloText = envelope.helo?.withoutTrailingDot
        var spfDomain: DomainName? = nil
        let spf: SPFCheckResult
        var spfHelo: SPFCheckResult? = nil
        if envelope.ip == nil {
            spf = check("mailfrom", nil, sender: nil)
        } else if let mf = mailFrom, !mf.isEmpty {
            let dom = mf.split(separator: "@", omittingEmptySubsequences: false).last.map(String.init)
            spf = check("mailfrom", dom, sender: mf.contains("@") ? mf : "postmaster@\(mf)")
            spfDomain = dom.flatMap { try? DomainName($0.lowercased()) }
            if let h = heloText { spfHelo = check("helo", h, sender: "postmaster@\(h)") }
        } else {
            spf = check("helo", heloText, sender: heloText.map { "postmaster@\($0)" })
            spfDomain = envelope.helo
        }

        // DMARC (RFC 7489 §6.6).
        var fromDomains: [String] = []
        var dmarc: DMARCResult
        if let e = headers.error {
            dmarc = DMARCResult(result: .permerror, reason: "the header section cannot be read (\(e)), so there is no From domain")
        } else {
            switch MessageFrom.domains(headers) {
            case .failure(let e): dmarc = DMARCResult(result: .permerror, reason: e.reason)
            case .success(let ds):
                fromDomains = ds.map(\.withoutTrailingDot)
                if ds.count > 1 {
                    dmarc = DMARCResult(result: .permerror, reason: "From holds addresses in \(ds.count) domains (\(fromDomains.joined(separator: ", "))); RFC 7489 §6.6.1 lets a receiver reject such a message")
                } else {
                    dmarc = DMARCEvaluator(lookup: lookup, suffixes: suffixes)
                        .evaluate(from: ds[0], dkim: dkim, spf: (SPFResult(rawValue: spf.result.rawValue) ?? .none, spfDomain))
                }
            }
        }

        var summary: AuthResult = .none
        var summaryReason: String? = nil
        if let e = headers.error {
            summary = .permerror; summaryReason = "the header section cannot be read: \(e)"
        } else if dkim.isEmpty {
            summaryReason = "the message has no DKIM-Signature field"
        } else if dkim.contains(where: { $0.result == .pass }) { summary = .pass } else { summary = dkim[0].result }
        var report = MessageReport(file: file, from: fromDomains, messageError: headers.error?.description, dkim: dkim,
                                   dkimSummary: summary, dkimReason: summaryReason, spf: spf, spfHelo: spfHelo, dmarc: dmarc,
                                   authenticationResults: "")
        report.headerLine = headers.error?.line
        report.authenticationResults = AuthenticationResultsRenderer.header(report, authservID: authservID)
        return report
    }
}

/// Renders a ``MessageReport`` as an RFC 8601 Authentication-Results field and as plain words.
public enum AuthenticationResultsRenderer {
    /// A comment (RFC 5322 §3.2.2): parentheses kept only when balanced, backslashes escaped.
    static func comment(_ text: String?) -> String {
        guard let text, !text.isEmpty else { return "" }
        var depth = 0, balanced = true
        for c in text { if c == "(" { depth += 1 } else if c == ")" { depth -= 1; if depth < 0 { balanced = false } } }
        var t = text.replacingOccurrences(of: "\\", with: "\\\\")
        if !balanced || depth != 0 { t = t.replacingOccurrences(of: "(", with: "[").replacingOccurrences(of: ")", with: "]") }
        t = String(t.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? " " : Character($0) })
        return " (\(t))"
    }

    /// `Authentication-Results: mailplan; dkim=pass header.d=… header.s=… header.a=… header.b=…;
    /// spf=pass smtp.mailfrom=…; dmarc=pass header.from=…` (RFC 8601 §2.2, §2.7; RFC 6008
    /// `header.b`; RFC 7489 §11.2 `dmarc`).
    public static func header(_ r: MessageReport, authservID: String) -> String {
        var parts: [String] = []
        if r.dkim.isEmpty {
            parts.append("dkim=\(r.dkimSummary.rawValue)" + comment(r.dkimSummary == .none ? "no signature" : r.headerLine.map { "malformed header at line \($0)" }))
        }
        for d in r.dkim {
            var s = "dkim=\(d.result.rawValue)" + comment(d.reason)
            if let v = d.domain { s += " header.d=\(v)" }
            if let v = d.selector { s += " header.s=\(v)" }
            if let v = d.algorithm { s += " header.a=\(v)" }
            if let v = d.headerB, !v.isEmpty { s += " header.b=\(v)" }
            parts.append(s)
        }
        func spf(_ x: SPFCheckResult) -> String {
            var s = "spf=\(x.result.rawValue)" + comment(x.result == .none || x.result == .pass ? (x.result == .none ? x.reason : nil) : x.reason)
            if let d = x.domain { s += x.identity == "helo" ? " smtp.helo=\(d)" : " smtp.mailfrom=\(d)" }
            return s
        }
        parts.append(spf(r.spf))
        if let h = r.spfHelo { parts.append(spf(h)) }
        var dm = "dmarc=\(r.dmarc.result.rawValue)"
        switch r.dmarc.result {
        case .pass: dm += comment(r.dmarc.appliedPolicy.map { "\(r.dmarc.appliedPolicyTag ?? "p")=\($0)" })
        case .fail: dm += comment(r.dmarc.appliedPolicy.map { "\(r.dmarc.appliedPolicyTag ?? "p")=\($0)" })
        default: dm += comment(r.headerLine.map { "malformed header at line \($0)" } ?? r.dmarc.reason)
        }
        if let f = r.dmarc.fromDomain { dm += " header.from=\(f)" }
        parts.append(dm)
        return "Authentication-Results: \(authservID); " + parts.joined(separator: "; ")
    }

    /// The field, then one verdict per mechanism in plain words, then the hints.
    public static func text(_ r: MessageReport) -> String {
        var out = r.authenticationResults + "\n\n"
        func line(_ what: String, _ result: AuthResult, _ words: String) {
            out += what.padding(toLength: 6, withPad: " ", startingAt: 0) + result.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) + words + "\n"
        }
        if let e = r.messageError { line("DKIM", .permerror, "the message's header section cannot be read: \(e)") }
        else if r.dkim.isEmpty { line("DKIM", .none, "the message is not signed (no DKIM-Signature field)") }
        for d in r.dkim {
            var w = "line \(d.line)"
            if let dom = d.domain, let s = d.selector { w += ": d=\(dom) s=\(s)" }
            if let a = d.algorithm, let c = d.canonicalization { w += " \(a) \(c)" }
            if let k = d.key, k.bits > 0 { w += ", key \(k.type == "rsa" ? "RSA \(k.bits)-bit" : "Ed25519")" }
            if let l = d.bodyLength { w += ", l=\(l) of \(d.canonicalBodyLength.map(String.init) ?? "?") body bytes" }
            if d.result == .pass {
                w += ": signature verified"
                if let why = d.reason { w += " (\(why))" }
            } else if let why = d.reason { w += ": \(why)" }
            line("DKIM", d.result, w)
        }
        func spfLine(_ x: SPFCheckResult) {
            var w: String
            if let ip = x.ip, let d = x.domain, x.result != .none || !x.reason.hasPrefix("not evaluated") {
                switch x.result {
                case .pass: w = "\(ip) may send for \(d)"
                case .fail: w = "\(ip) is not allowed to send for \(d)"
                case .softfail: w = "\(ip) is probably not allowed to send for \(d)"
                case .none: w = "\(d) has no SPF record"
                default: w = "\(d) for \(ip)"
                }
                w += " (\(x.identity == "helo" ? "HELO" : "MAIL FROM") identity): \(x.reason)"
            } else { w = x.reason }
            line(x.identity == "helo" ? "HELO" : "SPF", x.result, w)
        }
        spfLine(r.spf)
        if let h = r.spfHelo { spfLine(h) }
        var w = ""
        let dm = r.dmarc
        if let f = dm.fromDomain { w = "From \(f)" + (dm.organizationalDomain.map { $0 != f ? " (organizational domain \($0))" : "" } ?? "") }
        switch dm.result {
        case .pass:
            var how: [String] = []
            if !dm.dkimAligned.isEmpty { how.append("DKIM d=\(dm.dkimAligned.joined(separator: ", "))") }
            if dm.spfAligned, let s = dm.spfDomain { how.append("SPF \(s)") }
            w += ": aligned through \(how.joined(separator: " and "))"
        case .fail: w += ": not aligned: \(dm.reason ?? "")"
        default: w += (w.isEmpty ? "" : ": ") + (dm.reason ?? "")
        }
        if let p = dm.appliedPolicy, let pol = dm.policy {
            w += "; policy \(dm.appliedPolicyTag ?? "p")=\(p)" + (pol.pct < 100 ? " for \(pol.pct)% of failing messages" : "")
            if dm.result == .fail { w += p == "none" ? " (delivered, reported)" : p == "quarantine" ? " (a receiver puts it in spam)" : " (a receiver rejects it)" }
        }
        line("DMARC", dm.result, w)
        if !r.hints.isEmpty {
            out += "\n"
            for h in r.hints { out += "hint: \(h)\n" }
        }
        return out
    }
}
