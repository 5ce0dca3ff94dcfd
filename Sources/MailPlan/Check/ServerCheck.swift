import Foundation

/// An address a mail host is reached at, with the host names (MX targets, `server.hostname`)
/// that resolve to it.
public struct SMTPEndpoint: Sendable, Hashable {
    public let address: String
    public let hosts: [DomainName]
    /// `address:port`, IPv6 in brackets.
    public func subject(_ port: UInt16) -> String { address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)" }
}

/// The server checks of `mailplan check` with `check.smtp` (issue 15): for each address of
/// `server.hostname` and of each MX target, and each service of `check.smtp.ports`, the SMTP
/// greeting and EHLO against `server.hostname` and the PTR, STARTTLS, the TLS version, the
/// chain, the names, MTA-STS `mx` coverage, the expiry, the TLSA records at
/// `_PORT._tcp.<host>` against the served chain, and the DNSSEC state of the TLSA and address
/// records. Every failure is a finding naming the address and port; nothing hangs past the
/// timeouts of `check.smtp`.
///
/// Findings use the checks `smtp`, `tls`, `certificate`, `tlsa`, `dnssec` and `open-relay`.
public struct ServerCheck {
    public let plan: MailPlan
    public let live: LiveDNS
    public let settings: SMTPCheckSettings
    /// The instant certificates are checked at.
    public let now: Date

    /// - Parameters:
    ///   - plan: the loaded plan (server, MX hosts, `check`, `dns.validating_resolvers`).
    ///   - live: lookups through `dns.resolvers` (MX host addresses, PTR, TLSA).
    ///   - settings: `check.smtp`.
    ///   - now: the instant certificate dates are compared with.
    public init(plan: MailPlan, live: LiveDNS, settings: SMTPCheckSettings, now: Date) {
        self.plan = plan; self.live = live; self.settings = settings; self.now = now
    }

    var probe: TLSProbe {
        TLSProbe(connectTimeout: settings.timeout, totalTimeout: settings.greetingTimeout + 3 * settings.timeout, ehloName: settings.ehloName)
    }
    var hostname: DomainName { plan.server.hostname }

    /// The addresses to probe: `server.hostname`'s planned addresses, then each planned MX
    /// target's A/AAAA (through `dns.resolvers`), each address once with every host at it.
    public func endpoints() -> (endpoints: [SMTPEndpoint], findings: [Finding]) {
        var order: [String] = []
        var hosts: [String: [DomainName]] = [:]
        var out: [Finding] = []
        func add(_ a: String, _ h: DomainName) {
            if hosts[a] == nil { order.append(a); hosts[a] = [] }
            if !hosts[a]!.contains(h) { hosts[a]!.append(h) }
        }
        for a in plan.server.ipv4 { add(a.description, hostname) }
        for a in plan.server.ipv6 { add(a.description, hostname) }
        var mxHosts: [DomainName] = []
        for d in plan.domains { for m in d.mx where m.exchange != .root && !mxHosts.contains(m.exchange) { mxHosts.append(m.exchange) } }
        for h in mxHosts {
            if h == hostname, !plan.server.ipv4.isEmpty || !plan.server.ipv6.isEmpty { continue }
            var found = false
            for t in [RRType.a, .aaaa] {
                guard let ans = try? live.lookup(h, t) else { continue }
                for r in ans.answerRecords {
                    switch r.rdata { case .a(let ip): add(ip.description, h); found = true; case .aaaa(let ip): add(ip.description, h); found = true; default: break }
                }
            }
            if !found { out.append(Finding(.warning, "smtp", h.withoutTrailingDot, "not probed: MX target \(h.fqdn) has no address through dns.resolvers")) }
        }
        return (order.map { SMTPEndpoint(address: $0, hosts: hosts[$0]!) }, out)
    }

    /// Every server finding.
    public func run() -> [Finding] {
        let (eps, pre) = endpoints()
        var out = pre
        var tlsaOwners: [DomainName: Bool] = [:]   // owner → has records (for the DNSSEC part)
        var tlsaOrder: [DomainName] = []
        for ep in eps {
            for svc in settings.services {
                let (f, owners) = probe(ep, svc)
                out += f
                for (o, has) in owners {
                    if tlsaOwners[o] == nil { tlsaOrder.append(o) }
                    tlsaOwners[o] = (tlsaOwners[o] ?? false) || has
                }
            }
        }
        out += dnssec(owners: tlsaOrder.filter { tlsaOwners[$0] == true }, endpoints: eps)
        return out
    }

    // MARK: one endpoint and service

    func probe(_ ep: SMTPEndpoint, _ svc: SMTPCheckSettings.Service) -> ([Finding], [(DomainName, Bool)]) {
        let subject = ep.subject(svc.port)
        var out: [Finding] = []
        if svc.mode == .startTLS {
            let d: SMTPDialogue
            do {
                d = try SMTPDialogue.run(address: ep.address, port: svc.port, ehloName: settings.ehloName, connectTimeout: settings.timeout,
                                         stepTimeout: settings.timeout, greetingTimeout: settings.greetingTimeout,
                                         relay: svc.name == "smtp" ? settings.openRelay : nil)
            } catch let e as SMTPProbeError {
                return ([connectFinding(e, subject, svc)], [])
            } catch { return ([Finding(.error, "smtp", subject, "could not check: \(error)")], []) }
            out += dialogue(d, ep, subject)
            guard d.greeting.code == 220, d.ehlo.code == 250 else { return (out, []) }
            if !d.ehlo.extensions.contains("STARTTLS") {
                out.append(Finding(.error, "smtp", subject, "STARTTLS not offered: mail to \(ep.hosts.first!.withoutTrailingDot) travels unencrypted; give the SMTP server a certificate (Postfix: smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_security_level = may)",
                                   expected: "STARTTLS", actual: d.ehlo.extensions.joined(separator: " ")))
                return (out, [])
            }
            out.append(Finding(.ok, "smtp", subject, "STARTTLS offered"))
        }
        let sni = ep.hosts.first!
        let hs: TLSHandshake
        do { hs = try probe.handshake(host: sni, address: ep.address, port: svc.port, mode: svc.mode) } catch {
            out.append(Finding(.error, "tls", subject, "could not check TLS: \(error)"))
            return (out, [])
        }
        // Implicit TLS: the greeting and EHLO came through libcurl; their names are checked the same way.
        if svc.mode == .implicit, let d = hs.dialogue { out += dialogue(d, ep, subject) }
        out += tlsFindings(hs, ep, svc, subject)
        var chain: [ServedCertificate] = []
        for (i, der) in hs.chain.enumerated() {
            do { chain.append(try ServedCertificate(der: der)) } catch {
                out.append(Finding(.error, "certificate", subject, "could not check the certificate: certificate \(i + 1) of the served chain: \(error)"))
                return (out, [])
            }
        }
        guard !chain.isEmpty else {
            out.append(Finding(.error, "certificate", subject, "could not check the certificate: the server sent none"))
            return (out, [])
        }
        out += certificateFindings(chain, ep, svc, subject)
        var owners: [(DomainName, Bool)] = []
        for h in ep.hosts {
            let (f, has) = tlsa(h, svc, chain, subject)
            out += f
            owners.append((DomainName(uncheckedFQDN: "_\(svc.standardPort)._tcp." + h.fqdn), has))
        }
        return (out, owners)
    }

    func connectFinding(_ e: SMTPProbeError, _ subject: String, _ svc: SMTPCheckSettings.Service) -> Finding {
        switch e {
        case .refused:
            return Finding(.error, "smtp", subject, "connection refused: nothing accepts SMTP on \(subject); start the mail server or open port \(svc.port) in its firewall")
        case .connectTimeout where svc.standardPort == 25:
            return Finding(.info, "smtp", subject, "not checked from here (outbound port 25 is often blocked by the network): \(e)")
        default:
            return Finding(.error, "smtp", subject, "could not check: \(e)")
        }
    }

    /// Names of the greeting and EHLO reply against `server.hostname` and the PTR; a slow
    /// greeting; the open-relay answer.
    func dialogue(_ d: SMTPDialogue, _ ep: SMTPEndpoint, _ subject: String) -> [Finding] {
        var out: [Finding] = []
        let greetingText = "\(d.greeting.code) \(d.greeting.lines.first ?? "")"
        guard d.greeting.code == 220 else {
            return [Finding(.error, "smtp", subject, "the server refuses SMTP sessions: greeting \(SMTPSession.printable(greetingText))", expected: "220", actual: SMTPSession.printable(greetingText))]
        }
        if d.greetingSeconds > settings.slowGreeting {
            out.append(Finding(.info, "smtp", subject, "slow greeting: \(String(format: "%.1f", d.greetingSeconds)) s (a greet-pause or tarpit; senders wait up to 5 minutes, RFC 5321 §4.5.3.2.1)"))
        }
        // The name the server must announce: server.hostname at its own addresses, else one of
        // the MX names at this address.
        let wanted: [DomainName] = ep.hosts.contains(hostname) ? [hostname] : ep.hosts
        let wantedText = wanted.map(\.withoutTrailingDot).joined(separator: " or ")
        func same(_ s: String?, _ n: DomainName) -> Bool { (s ?? "").lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) == n.withoutTrailingDot.lowercased() }
        let g = d.greeting.domain ?? ""
        let what = ep.hosts.contains(hostname) ? "server.hostname \(hostname.withoutTrailingDot)" : "the MX name \(wantedText)"
        if wanted.contains(where: { same(g, $0) }) {
            out.append(Finding(.ok, "smtp", subject, "greeting name \(g) is \(what)", expected: wantedText, actual: g))
        } else {
            out.append(Finding(.error, "smtp", subject, "greeting name \(SMTPSession.printable(g)) is not \(what); set the SMTP server's host name to it (Postfix: myhostname)", expected: wantedText, actual: SMTPSession.printable(g)))
        }
        // PTR of the address connected to.
        let rev = IPv4Address(ep.address)?.reverseName ?? IPv6Address(ep.address)?.reverseName
        if let rev {
            do {
                let p = try live.lookup(rev, .ptr)
                let ptrs: [DomainName] = p.answerRecords.compactMap { if case .ptr(let n) = $0.rdata { return n }; return nil }
                let list = ptrs.map(\.withoutTrailingDot).joined(separator: ", ")
                if ptrs.isEmpty {
                    out.append(Finding(.error, "smtp", subject, "PTR mismatch: \(ep.address) has no PTR (\(Checker.served(p))), so the greeting name \(SMTPSession.printable(g)) cannot match it; set the PTR of \(ep.address) to \(wanted[0].withoutTrailingDot)", expected: g, actual: Checker.served(p)))
                } else if ptrs.contains(where: { same(g, $0) }) {
                    out.append(Finding(.ok, "smtp", subject, "greeting name \(g) is the PTR of \(ep.address)", expected: list, actual: g))
                } else {
                    out.append(Finding(.error, "smtp", subject, "PTR mismatch: the greeting name \(SMTPSession.printable(g)) is not the PTR of \(ep.address) (\(list)); receivers compare them: make both \(wanted[0].withoutTrailingDot)", expected: list, actual: SMTPSession.printable(g)))
                }
            } catch { out.append(Finding(.warning, "smtp", subject, "PTR of \(ep.address) not checked: \(error)")) }
        }
        guard d.ehlo.code == 250 else {
            let t = "\(d.ehlo.code) \(d.ehlo.lines.first ?? "")"
            out.append(Finding(.error, "smtp", subject, "EHLO refused: \(SMTPSession.printable(t))", expected: "250", actual: SMTPSession.printable(t)))
            return out
        }
        let e = d.ehlo.domain ?? ""
        if !same(e, DomainName(uncheckedFQDN: g.lowercased() + ".")) && !wanted.contains(where: { same(e, $0) }) {
            out.append(Finding(.error, "smtp", subject, "EHLO name \(SMTPSession.printable(e)) is not \(what); set the SMTP server's host name to it (Postfix: myhostname)", expected: wantedText, actual: SMTPSession.printable(e)))
        }
        if let r = d.relay {
            let m = "\(r.mailFrom.code) \(r.mailFrom.lines.first ?? "")"
            if let rcpt = r.rcptTo {
                let t = SMTPSession.printable("\(rcpt.code) \(rcpt.lines.first ?? "")")
                if (200...299).contains(rcpt.code) {
                    out.append(Finding(.error, "open-relay", subject, "open relay: RCPT TO an outside address was accepted (\(t)); relay only for your own users (Postfix: smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination; mynetworks without this network)", expected: "5xx", actual: t))
                } else {
                    out.append(Finding(.ok, "open-relay", subject, "relaying refused: RCPT TO an outside address answered \(t)", expected: "4xx or 5xx", actual: t))
                }
            } else {
                out.append(Finding(.ok, "open-relay", subject, "relaying refused: MAIL FROM an outside address answered \(SMTPSession.printable(m))", expected: "4xx or 5xx", actual: SMTPSession.printable(m)))
            }
        }
        return out
    }

    /// The protocol version and the chain verification.
    func tlsFindings(_ hs: TLSHandshake, _ ep: SMTPEndpoint, _ svc: SMTPCheckSettings.Service, _ subject: String) -> [Finding] {
        var out: [Finding] = []
        switch hs.version {
        case "TLSv1.3"?, "TLSv1.2"?:
            out.append(Finding(.ok, "tls", subject, "\(hs.version!) negotiated", expected: "TLSv1.2 or later", actual: hs.version))
        case let v?:
            out.append(Finding(.error, "tls", subject, "\(v) negotiated: below TLS 1.2 (RFC 8996 deprecates TLS 1.0 and 1.1); allow TLS 1.2 and 1.3 only (Postfix: smtpd_tls_protocols = >=TLSv1.2)", expected: "TLSv1.2 or later", actual: v))
        case nil:
            out.append(Finding(.warning, "tls", subject, "the TLS version is unknown (libcurl did not report the session)"))
        }
        let store = plan.check.caFile.map { "check.ca_file \($0)" } ?? "the system CA store"
        switch probe.verify(host: ep.hosts.first!, address: ep.address, port: svc.port, mode: svc.mode, caFile: plan.check.caFile) {
        case .verified:
            out.append(Finding(.ok, "tls", subject, "chain verifies against \(store)"))
        case .expiredOnly:
            out.append(Finding(.ok, "tls", subject, "chain leads to a CA of \(store); its dates fail (see the expiry finding)"))
        case .failed(let why):
            out.append(Finding(.error, "tls", subject, "chain does not verify against \(store): \(why); serve the certificate with its intermediates, from a CA senders trust", actual: why))
        }
        return out
    }

    static let dateFormat: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX"); f.timeZone = TimeZone(identifier: "UTC"); f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f
    }()

    /// Names (each host, MTA-STS `mx:`) and dates of the leaf certificate.
    func certificateFindings(_ chain: [ServedCertificate], _ ep: SMTPEndpoint, _ svc: SMTPCheckSettings.Service, _ subject: String) -> [Finding] {
        var out: [Finding] = []
        let leaf = chain[0]
        let names = leaf.dnsNames.joined(separator: ", ")
        let uncovered = ep.hosts.filter { !leaf.covers($0) }
        let hostList = ep.hosts.map(\.withoutTrailingDot).joined(separator: ", ")
        if uncovered.isEmpty {
            out.append(Finding(.ok, "certificate", subject, "names cover \(hostList)", expected: hostList, actual: names))
        } else {
            out.append(Finding(.error, "certificate", subject, "names (\(names.isEmpty ? "none" : names)) do not cover \(uncovered.map(\.withoutTrailingDot).joined(separator: ", ")); get a certificate that includes \(uncovered.count == 1 ? "it" : "them")",
                               expected: hostList, actual: names))
        }
        for d in plan.domains {
            guard d.mtaSTS != nil else { continue }
            for m in d.mx where ep.hosts.contains(m.exchange) {
                if leaf.covers(m.exchange) {
                    out.append(Finding(.ok, "certificate", subject, "MTA-STS policy of \(d.name.withoutTrailingDot) lists mx: \(m.exchange.withoutTrailingDot), which the certificate covers (RFC 8461 §4.1)", expected: m.exchange.withoutTrailingDot, actual: names))
                } else {
                    out.append(Finding(.error, "certificate", subject, "MTA-STS policy of \(d.name.withoutTrailingDot) lists mx: \(m.exchange.withoutTrailingDot), which the certificate does not cover: senders that enforce the policy refuse to deliver (RFC 8461 §4.1)", expected: m.exchange.withoutTrailingDot, actual: names))
                }
            }
        }
        let until = leaf.certificate.notValidAfter, from = leaf.certificate.notValidBefore
        let days = Int((until.timeIntervalSince(now) / 86_400).rounded(.down))
        let untilText = Self.dateFormat.string(from: until)
        if now < from {
            out.append(Finding(.error, "certificate", subject, "not valid before \(Self.dateFormat.string(from: from)); check the server's clock and the certificate", actual: Self.dateFormat.string(from: from)))
        } else if now > until {
            let ago = Int((now.timeIntervalSince(until) / 86_400).rounded(.down))
            out.append(Finding(.error, "certificate", subject, "expired on \(untilText) (\(ago) day\(ago == 1 ? "" : "s") ago); renew the certificate", expected: "valid", actual: "notAfter \(untilText)"))
        } else if days < plan.check.certWarnDays {
            out.append(Finding(.warning, "certificate", subject, "expires on \(untilText), in \(days) day\(days == 1 ? "" : "s") (check.cert_warn_days: \(plan.check.certWarnDays)); renew the certificate", expected: ">= \(plan.check.certWarnDays) days", actual: "\(days) days"))
        } else {
            out.append(Finding(.ok, "certificate", subject, "valid until \(untilText) (\(days) days)", expected: ">= \(plan.check.certWarnDays) days", actual: "\(days) days"))
        }
        return out
    }

    /// The TLSA RRset at `_PORT._tcp.<host>` against the served chain. Returns whether any
    /// TLSA record is published there.
    func tlsa(_ host: DomainName, _ svc: SMTPCheckSettings.Service, _ chain: [ServedCertificate], _ subject: String) -> ([Finding], Bool) {
        let owner = DomainName(uncheckedFQDN: "_\(svc.standardPort)._tcp." + host.fqdn)
        let served = "3 1 1 " + TLSAMatcher.associationData(chain[0], selector: 1, matchingType: 1)
        let ans: DNSAnswer
        do { ans = try live.lookup(owner, .tlsa) } catch {
            return ([Finding(.warning, "tlsa", owner.fqdn, "not checked: \(error)")], false)
        }
        var records: [(UInt8, UInt8, UInt8, String)] = []
        for r in ans.answerRecords where r.name == owner {
            if case .tlsa(let u, let s, let m, let d) = r.rdata { records.append((u, s, m, d.lowercased())) }
        }
        // In record order (usage, selector, matching type, data), whatever order the server sent.
        records.sort { ($0.0, $0.1, $0.2, $0.3) < ($1.0, $1.1, $1.2, $1.3) }
        guard !records.isEmpty else {
            return ([Finding(.info, "tlsa", owner.fqdn, "no TLSA published (\(Checker.served(ans))): DANE senders use TLS without authenticating \(host.withoutTrailingDot)", expected: served, actual: Checker.served(ans))], false)
        }
        var out: [Finding] = []
        var matched = false
        for (u, s, m, d) in records {
            let text = "\(u) \(s) \(m) \(d.lowercased())"
            switch TLSAMatcher.match(usage: u, selector: s, matchingType: m, data: d, chain: chain) {
            case .matches(let pos):
                matched = true
                let what = pos == 0 ? (s == 1 ? "the served certificate's public key" : "the served certificate") : "certificate \(pos + 1) of the served chain (\(s == 1 ? "its public key" : "the certificate"))"
                out.append(Finding(.ok, "tlsa", owner.fqdn, "TLSA \(u) \(s) \(m) matches \(what) at \(subject)", expected: text, actual: served))
            case .noMatch:
                out.append(Finding(.info, "tlsa", owner.fqdn, "TLSA \(text) matches nothing served at \(subject) (a next key, published ahead of a rollover?)", expected: text, actual: served))
            case .unusable(let why):
                out.append(Finding(.warning, "tlsa", owner.fqdn, "TLSA \(text) is unusable: \(why)", actual: text))
            }
        }
        if !matched {
            out.append(Finding(.error, "tlsa", owner.fqdn, "no TLSA record matches the chain served at \(subject): DANE senders will not deliver (RFC 7672 §2.2); publish \(served) (the served key) before removing the old record",
                               expected: served, actual: records.map { "\($0.0) \($0.1) \($0.2) \($0.3.lowercased())" }.joined(separator: ", ")))
        }
        return (out, true)
    }

    /// The DNSSEC state of each published TLSA RRset and of the address records of its host
    /// (RFC 7672 §2.2: DANE senders ignore TLSA that does not validate).
    /// Hosts without TLSA get the state of their A/AAAA too (with validating resolvers):
    /// secure, or insecure as information (DANE needs it signed first), or bogus as an error.
    func dnssec(owners: [DomainName], endpoints: [SMTPEndpoint]) -> [Finding] {
        let servers = plan.dns.validatingResolvers
        guard !servers.isEmpty else {
            if owners.isEmpty { return [] }
            return [Finding(.warning, "dnssec", owners.map(\.fqdn).joined(separator: ", "), "DNSSEC not checked: set dns.validating_resolvers to a validating resolver; DANE senders ignore TLSA in a zone that does not validate")]
        }
        let p = DNSSECProbe(servers: servers, timeout: plan.dns.timeout, attempts: plan.dns.attempts)
        var out: [Finding] = []
        var hostsDone: [DomainName] = []
        func addresses(_ host: DomainName, dane: Bool) {
            guard !hostsDone.contains(host) else { return }
            hostsDone.append(host)
            let addrs = endpoints.filter { $0.hosts.contains(host) }.map(\.address)
            var types: [RRType] = []
            if addrs.contains(where: { !$0.contains(":") }) { types.append(.a) }
            if addrs.contains(where: { $0.contains(":") }) { types.append(.aaaa) }
            for t in types { out.append(state(p, host, t, what: t.rawValue, dane: dane)) }
        }
        for owner in owners {
            out.append(state(p, owner, .tlsa, what: "TLSA", dane: true))
            addresses(DomainName(uncheckedFQDN: owner.labels.dropFirst(2).joined(separator: ".") + "."), dane: true)
        }
        for ep in endpoints { for h in ep.hosts { addresses(h, dane: false) } }
        return out
    }

    func state(_ p: DNSSECProbe, _ name: DomainName, _ type: RRType, what: String, dane: Bool) -> Finding {
        do {
            let (s, a) = try p.state(name, type)
            switch s {
            case .secure:
                return Finding(.ok, "dnssec", name.fqdn, "\(what): DNSSEC secure (validated by \(a.server))", expected: "secure", actual: "secure")
            case .insecure where !dane:
                return Finding(.info, "dnssec", name.fqdn, "\(what): not DNSSEC-signed (\(a.server) answered without AD); DANE for this host needs its zone signed first (RFC 7672 §2.2.1)", expected: "secure", actual: "insecure")
            case .insecure:
                let why = what == "TLSA" ? "DANE senders ignore this TLSA (RFC 7672 §2.2)" : "DANE senders ignore the TLSA of this host (RFC 7672 §2.2.1)"
                return Finding(.error, "dnssec", name.fqdn, "\(what): zone not signed: \(why); sign the zone and publish its DS at the parent (\(a.server) answered without AD)", expected: "secure", actual: "insecure")
            case .bogus:
                return Finding(.error, "dnssec", name.fqdn, "\(what): DNSSEC bogus: \(a.server) answers SERVFAIL, and the data with checking disabled; DANE senders cannot reach this server: fix the zone's signatures or its DS at the parent", expected: "secure", actual: "bogus")
            }
        } catch {
            return Finding(.error, "dnssec", name.fqdn, "\(what): could not check: \(error)")
        }
    }
}
