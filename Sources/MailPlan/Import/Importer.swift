import Foundation
import Yams

/// Writes a plan file from the live mail records of one zone (`mailplan import`), so an
/// existing setup can be adopted: MX, SPF, DKIM selectors found by name
/// (`<selector>._domainkey`), DMARC, MTA-STS and TLS-RPT, plus the mail host's A/AAAA.
///
/// The goal is that `plan` on the imported file is a no-op. Where the live data cannot be
/// expressed exactly (an SPF record without an `all` term, DMARC tags mailplan does not
/// model, several TTLs, an MTA-STS `id` that matches no policy mailplan would write), the
/// record is left out or written in mailplan's form, and a warning says which and why.
public enum Importer {
    /// The generated plan text and what could not be imported exactly.
    public struct Output: Sendable {
        public let yaml: String
        public let warnings: [String]
    }

    /// Builds the plan file text.
    /// - Parameters:
    ///   - domain: the mail domain to import.
    ///   - zone: the zone holding it (usually the domain itself).
    ///   - live: every RRset of the zone as the provider returned it.
    ///   - providerName: the `providers:` instance name to reference.
    ///   - providerYAML: that instance's settings as YAML (from ``providerBlock(planText:name:)``),
    ///     written under `providers:` as is, so `${ENV}` references stay references.
    ///   - fallbackServer: the `server:` of the plan given with `--plan`, used when the mail
    ///     host's addresses are not in the zone.
    /// - Returns: the YAML and warnings.
    public static func planFile(domain: DomainName, zone: DomainName, live: [RRset], providerName: String,
                                providerYAML: String, fallbackServer: ServerPlan?) -> Output {
        var warnings: [String] = []
        var ttls: [UInt32] = []
        func at(_ name: DomainName, _ type: RRType) -> RRset? { live.first { $0.key == RRsetKey(name, type) } }
        var domainLines: [String] = ["  - name: \(q(domain.withoutTrailingDot))", "    provider: \(q(providerName))"]
        if zone != domain { domainLines.append("    zone: \(q(zone.withoutTrailingDot))") }

        // MX
        var mx: [(UInt16, DomainName)] = []
        if let set = at(domain, .mx) {
            ttls.append(set.ttl)
            for r in set.rdata { if case .mx(let p, let x) = r { mx.append((p, x)) } }
            mx.sort { ($0.0, $0.1) < ($1.0, $1.1) }
            domainLines.append("    mx:")
            for (p, x) in mx { domainLines.append("      - {host: \(q(x == .root ? "." : x.withoutTrailingDot)), preference: \(p)}") }
        } else {
            warnings.append("\(domain.fqdn) has no MX: mx is left out, so the plan will create MX 10 <server.hostname>")
        }

        // Server: the most preferred MX host inside the zone, with its live addresses.
        var host = fallbackServer?.hostname
        if let first = mx.first(where: { $0.1 != .root })?.1, host == nil || !mx.contains(where: { $0.1 == host }) { host = first }
        var v4: [String] = [], v6: [String] = []
        if let h = host, h.isSubdomain(of: zone) {
            if let a = at(h, .a) { ttls.append(a.ttl); v4 = a.rdata.map(\.presentation) }
            if let aaaa = at(h, .aaaa) { ttls.append(aaaa.ttl); v6 = aaaa.rdata.map(\.presentation) }
        }
        if v4.isEmpty && v6.isEmpty, let f = fallbackServer, f.hostname == host {
            v4 = f.ipv4.map(\.description); v6 = f.ipv6.map(\.description)
            if host.map({ $0.isSubdomain(of: zone) }) == true {
                warnings.append("\(host!.fqdn) has no A/AAAA in the zone: the addresses come from --plan and the plan will create them")
            }
        }
        if v4.isEmpty && v6.isEmpty {
            v4 = ["192.0.2.1"]
            warnings.append("the mail host's addresses are unknown: server.ipv4 is a placeholder (192.0.2.1); set the real address before planning")
        }

        // SPF
        if let txt = at(domain, .txt) {
            let spfs = txt.rdata.compactMap(\.txtValue).filter(SPF.isSPF)
            if spfs.count > 1 {
                warnings.append("\(domain.fqdn) TXT holds \(spfs.count) SPF records (RFC 7208 §4.5 permerror): spf is left out; add it by hand to replace them with one")
            } else if let v = spfs.first {
                var terms = v.split(separator: " ").map(String.init).dropFirst().map { $0 }
                var all: String? = nil
                if let last = terms.last, ["-all", "~all", "?all"].contains(last.lowercased()) { all = terms.removeLast().lowercased() }
                let hasRedirect = terms.contains { $0.lowercased().hasPrefix("redirect=") }
                if let bad = terms.lazy.compactMap({ SPFTerm.problem($0) }).first {
                    warnings.append("\(domain.fqdn) SPF \"\(v)\": \(bad); spf is left out")
                } else if all == nil && !hasRedirect {
                    warnings.append("\(domain.fqdn) SPF \"\(v)\" ends in neither an all term nor redirect=; spf is left out (mailplan always writes one)")
                } else {
                    let policy = SPFPolicy(terms: terms, all: all)
                    if policy.record != v { warnings.append("\(domain.fqdn) SPF will be rewritten as \"\(policy.record)\"") }
                    var line = "    spf: {senders: [\(terms.map(q).joined(separator: ", "))]"
                    if let all { line += ", all: \(q(all))" }
                    domainLines.append(line + "}")
                }
            }
        }

        // DKIM: every TXT RRset at <selector>._domainkey.<domain>.
        let dk = domain.prepending("_domainkey")
        var dkimLines: [String] = []
        for set in live.filter({ $0.type == .txt && $0.name.isSubdomain(of: dk) && $0.name != dk }).sorted(by: { $0.name < $1.name }) {
            let selector = set.name.relative(to: dk)
            let values = set.rdata.compactMap(\.txtValue)
            guard values.count == 1, let value = values.first else {
                warnings.append("\(set.name.fqdn) TXT holds \(values.count) values (a key split across records?): selector \(selector) is left out")
                continue
            }
            do {
                let (record, info) = try DKIMKeyParser.parse(value, allowRevoked: true)
                ttls.append(set.ttl)
                if info.revoked {
                    dkimLines.append("      - {selector: \(q(selector)), revoked: true}")
                } else {
                    dkimLines.append("      - {selector: \(q(selector)), public_key: \(q(value))}")
                }
                if Differ.comparable(.txt(record), at: set.name) != Differ.comparable(.txt(value), at: set.name) {
                    warnings.append("\(set.name.fqdn): the DKIM record will be rewritten as \"\(record.prefix(60))…\"")
                }
            } catch {
                warnings.append("\(set.name.fqdn): not a DKIM key mailplan can publish (\(error)); selector \(selector) is left out")
            }
        }
        if !dkimLines.isEmpty { domainLines.append("    dkim:"); domainLines += dkimLines }

        // DMARC
        if let set = at(domain.prepending("_dmarc"), .txt) {
            let values = set.rdata.compactMap(\.txtValue).filter { $0.lowercased().hasPrefix("v=dmarc1") }
            if values.count > 1 {
                warnings.append("_dmarc.\(domain.fqdn) holds \(values.count) DMARC records (no policy applies, RFC 7489 §6.6.3): dmarc is left out")
            } else if let v = values.first {
                let list = TagList.lenient(v)
                let order = list.tags.map { $0.name.lowercased() }
                let tags = Dictionary(list.tags.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
                let known = ["v", "p", "sp", "adkim", "aspf", "pct", "fo", "rua", "ruf"]
                let unknown = order.filter { !known.contains($0) }
                if let p = tags["p"].flatMap({ DMARCPolicyValue(rawValue: $0.lowercased()) }) {
                    ttls.append(set.ttl)
                    func list(_ s: String?) -> [String] { s.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? [] }
                    let policy = DMARCPolicy(policy: p, subdomainPolicy: tags["sp"].flatMap { DMARCPolicyValue(rawValue: $0.lowercased()) }, rua: list(tags["rua"]), ruf: list(tags["ruf"]),
                                             adkim: tags["adkim"], aspf: tags["aspf"], pct: tags["pct"].flatMap { Int($0) }, fo: tags["fo"])
                    var parts = ["policy: \(q(p.rawValue))"]
                    if let sp = tags["sp"] { parts.append("sp: \(q(sp))") }
                    if let a = tags["adkim"] { parts.append("adkim: \(q(a))") }
                    if let a = tags["aspf"] { parts.append("aspf: \(q(a))") }
                    if let pct = policy.pct { parts.append("pct: \(pct)") }
                    if let fo = tags["fo"] { parts.append("fo: \(q(fo))") }
                    if !policy.rua.isEmpty { parts.append("rua: [\(policy.rua.map(q).joined(separator: ", "))]") }
                    if !policy.ruf.isEmpty { parts.append("ruf: [\(policy.ruf.map(q).joined(separator: ", "))]") }
                    domainLines.append("    dmarc: {\(parts.joined(separator: ", "))}")
                    if !unknown.isEmpty { warnings.append("_dmarc.\(domain.fqdn): tags \(unknown.joined(separator: ", ")) are not modelled and will be dropped") }
                    if policy.record != v { warnings.append("_dmarc.\(domain.fqdn) will be rewritten as \"\(policy.record)\"") }
                } else {
                    warnings.append("_dmarc.\(domain.fqdn) \"\(v)\" has no p= tag: dmarc is left out")
                }
            }
        }

        // MTA-STS: the policy is not in DNS; find the mode and max_age whose id matches.
        if let set = at(domain.prepending("_mta-sts"), .txt), let v = set.rdata.compactMap(\.txtValue).first(where: { $0.hasPrefix("v=STSv1") }) {
            ttls.append(set.ttl)
            let targets = mx.map { MXTarget(preference: $0.0, exchange: $0.1) }
            let ages = [604800, 86400, 1209600, 2592000, 5184000, 7776000, 15552000, 31557600, 3600]
            var found: MTASTSPolicy? = nil
            search: for mode in [MTASTSMode.enforce, .testing, .none] {
                for age in ages {
                    let p = MTASTSPolicy(mode: mode, maxAge: age)
                    if Compiler.mtaSTSRecord(p, mx: targets) == v { found = p; break search }
                }
            }
            let p = found ?? MTASTSPolicy(mode: .testing, maxAge: 604800)
            if found == nil {
                warnings.append("_mta-sts.\(domain.fqdn) \"\(v)\": the policy is not in DNS and no mode/max_age mailplan would write gives that id; imported as mode testing, max_age 604800: check https://mta-sts.\(domain.withoutTrailingDot)/.well-known/mta-sts.txt")
            }
            domainLines.append("    mta_sts: {mode: \(q(p.mode.rawValue)), max_age: \(p.maxAge)}")
        }

        // TLS-RPT
        if let set = at(domain.prepending("_tls").prepending("_smtp"), .txt),
           let v = set.rdata.compactMap(\.txtValue).first(where: { $0.hasPrefix("v=TLSRPTv1") }) {
            let rua = TagList.lenient(v).value(caseInsensitive: "rua")
            let uris = rua.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            if uris.isEmpty { warnings.append("_smtp._tls.\(domain.fqdn) has no rua=: tls_rpt is left out") } else {
                ttls.append(set.ttl)
                let policy = TLSRPTPolicy(rua: uris)
                if policy.record != v { warnings.append("_smtp._tls.\(domain.fqdn) will be rewritten as \"\(policy.record)\"") }
                domainLines.append("    tls_rpt: {rua: [\(uris.map(q).joined(separator: ", "))]}")
            }
        }

        // One TTL for the domain: the most common one.
        let counts = Dictionary(ttls.map { ($0, 1) }, uniquingKeysWith: +)
        let ttl = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key ?? 3600
        if Set(ttls).count > 1 {
            warnings.append("the mail records use several TTLs (\(Set(ttls).sorted().map(String.init).joined(separator: ", ")) s); ttl is \(ttl), so the plan will show TTL-only changes for the others")
        }
        domainLines.insert("    ttl: \(ttl)", at: zone != domain ? 3 : 2)

        var out = """
        # Imported by mailplan \(MailPlanVersion.current) from zone \(zone.fqdn) at provider \(providerName).
        # Review it, then run: mailplan plan <this file>   (it should show no changes)
        version: 1

        server:
          hostname: \(q(host?.withoutTrailingDot ?? "mail.\(domain.withoutTrailingDot)"))

        """
        if !v4.isEmpty { out += "  ipv4: [\(v4.map(q).joined(separator: ", "))]\n" }
        if !v6.isEmpty { out += "  ipv6: [\(v6.map(q).joined(separator: ", "))]\n" }
        out += "\nproviders:\n" + providerYAML.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.isEmpty }.map { "  " + $0 }.joined(separator: "\n") + "\n"
        out += "\ndefaults:\n  ttl: \(ttl)\n\ndomains:\n" + domainLines.joined(separator: "\n") + "\n"
        return Output(yaml: out, warnings: warnings)
    }

    /// One provider instance of a plan file as YAML (`name:` and its settings), re-serialized
    /// from the file's own text so `${ENV}` references are kept, never their values.
    /// - Throws: ``DiagnosticsError`` when the plan has no such provider.
    public static func providerBlock(planText: String, file: String, name: String) throws -> String {
        guard let root = try Yams.compose(yaml: planText), case .mapping(let top) = root,
              let providers = top["providers"], case .mapping(let pm) = providers,
              let entry = pm.first(where: { $0.key.scalar?.string == name }) else {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file): no provider '\(name)' under providers"))
        }
        let node = Node.mapping(Node.Mapping([(Node(name), entry.value)]))
        return try Yams.serialize(node: node)
    }

    /// Checks an imported plan against the live RRsets it came from: loads it, compiles it
    /// and diffs the zone.
    /// - Returns: the changes `plan` would show for the zone (empty for an exact import).
    /// - Throws: ``DiagnosticsError`` when the generated plan does not load or compile.
    public static func check(yaml: String, file: String, baseDirectory: URL, environment: [String: String],
                             zone: DomainName, live: [RRset], providerType: String, now: Date) throws -> ZoneChangeset {
        let plan = try PlanLoader(environment: environment).load(text: yaml, file: file, baseDirectory: baseDirectory)
        guard let z = try Compiler.compile(plan, now: now).first(where: { $0.zone == zone }) else {
            return ZoneChangeset(zone: zone, provider: "", providerType: providerType, changes: [])
        }
        return try Differ.diff(z, live: live, providerType: providerType).0
    }

    /// A YAML double-quoted scalar (JSON string syntax is valid YAML).
    static func q(_ s: String) -> String {
        let data = try! JSONEncoder().encode(s)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/")
    }
}
