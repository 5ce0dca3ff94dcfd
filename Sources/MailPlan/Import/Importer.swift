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

    /// Builds the plan file: the document as Yams nodes (block mappings for the sections,
    /// flow mappings for MX entries, DKIM selectors and the SPF/DMARC/MTA-STS/TLS-RPT
    /// policies, every string value double-quoted so none is misread as a number, boolean,
    /// alias or comment), serialized by `Yams.serialize(node:)` with unlimited line width. Only the two header comment lines and the blank lines
    /// between the top-level sections are added as text (they are not YAML data). The same
    /// input gives the same bytes.
    /// - Parameters:
    ///   - domain: the mail domain to import.
    ///   - zone: the zone holding it (usually the domain itself).
    ///   - live: every RRset of the zone as the provider returned it.
    ///   - providerName: the `providers:` instance name to reference.
    ///   - providerBlock: the `providers:` mapping to write, from ``providerBlock(planText:file:name:)``
    ///     (the instance copied from the user's plan, so `${ENV}` references stay references).
    ///   - fallbackServer: the `server:` of the plan given with `--plan`, used when the mail
    ///     host's addresses are not in the zone.
    /// - Returns: the YAML and warnings.
    /// - Throws: `YamlError` when Yams cannot emit the document.
    public static func planFile(domain: DomainName, zone: DomainName, live: [RRset], providerName: String,
                                providerBlock: Node, fallbackServer: ServerPlan?) throws -> Output {
        var warnings: [String] = []
        var ttls: [UInt32] = []
        func at(_ name: DomainName, _ type: RRType) -> RRset? { live.first { $0.key == RRsetKey(name, type) } }
        var fields: [(String, Node)] = [("name", ImportNode.str(domain.withoutTrailingDot)), ("provider", ImportNode.str(providerName))]
        if zone != domain { fields.append(("zone", ImportNode.str(zone.withoutTrailingDot))) }

        // MX
        var mx: [(UInt16, DomainName)] = []
        if let set = at(domain, .mx) {
            ttls.append(set.ttl)
            for r in set.rdata { if case .mx(let p, let x) = r { mx.append((p, x)) } }
            mx.sort { ($0.0, $0.1) < ($1.0, $1.1) }
            fields.append(("mx", ImportNode.seq(mx.map { p, x in
                ImportNode.flow([("host", ImportNode.str(x == .root ? "." : x.withoutTrailingDot)), ("preference", ImportNode.int(p))])
            })))
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
                    var spf: [(String, Node)] = [("senders", ImportNode.strings(terms))]
                    if let all { spf.append(("all", ImportNode.str(all))) }
                    fields.append(("spf", ImportNode.flow(spf)))
                }
            }
        }

        // DKIM: every TXT RRset at <selector>._domainkey.<domain>.
        let dk = domain.prepending("_domainkey")
        var selectors: [Node] = []
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
                    selectors.append(ImportNode.flow([("selector", ImportNode.str(selector)), ("revoked", ImportNode.bool(true))]))
                } else {
                    selectors.append(ImportNode.flow([("selector", ImportNode.str(selector)), ("public_key", ImportNode.str(value))]))
                }
                if Differ.comparable(.txt(record), at: set.name) != Differ.comparable(.txt(value), at: set.name) {
                    warnings.append("\(set.name.fqdn): the DKIM record will be rewritten as \"\(record.prefix(60))…\"")
                }
            } catch {
                warnings.append("\(set.name.fqdn): not a DKIM key mailplan can publish (\(error)); selector \(selector) is left out")
            }
        }
        if !selectors.isEmpty { fields.append(("dkim", ImportNode.seq(selectors))) }

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
                    var dmarc: [(String, Node)] = [("policy", ImportNode.str(p.rawValue))]
                    if let sp = tags["sp"] { dmarc.append(("sp", ImportNode.str(sp))) }
                    if let a = tags["adkim"] { dmarc.append(("adkim", ImportNode.str(a))) }
                    if let a = tags["aspf"] { dmarc.append(("aspf", ImportNode.str(a))) }
                    if let pct = policy.pct { dmarc.append(("pct", ImportNode.int(pct))) }
                    if let fo = tags["fo"] { dmarc.append(("fo", ImportNode.str(fo))) }
                    if !policy.rua.isEmpty { dmarc.append(("rua", ImportNode.strings(policy.rua))) }
                    if !policy.ruf.isEmpty { dmarc.append(("ruf", ImportNode.strings(policy.ruf))) }
                    fields.append(("dmarc", ImportNode.flow(dmarc)))
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
            fields.append(("mta_sts", ImportNode.flow([("mode", ImportNode.str(p.mode.rawValue)), ("max_age", ImportNode.int(p.maxAge))])))
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
                fields.append(("tls_rpt", ImportNode.flow([("rua", ImportNode.strings(uris))])))
            }
        }

        // One TTL for the domain: the most common one.
        let counts = Dictionary(ttls.map { ($0, 1) }, uniquingKeysWith: +)
        let ttl = counts.max { a, b in a.value != b.value ? a.value < b.value : a.key > b.key }?.key ?? 3600
        if Set(ttls).count > 1 {
            warnings.append("the mail records use several TTLs (\(Set(ttls).sorted().map(String.init).joined(separator: ", ")) s); ttl is \(ttl), so the plan will show TTL-only changes for the others")
        }
        fields.insert(("ttl", ImportNode.int(ttl)), at: zone != domain ? 3 : 2)

        var server: [(String, Node)] = [("hostname", ImportNode.str(host?.withoutTrailingDot ?? "mail.\(domain.withoutTrailingDot)"))]
        if !v4.isEmpty { server.append(("ipv4", ImportNode.strings(v4))) }
        if !v6.isEmpty { server.append(("ipv6", ImportNode.strings(v6))) }
        let document = ImportNode.block([
            ("version", ImportNode.int(1)),
            ("server", ImportNode.block(server)),
            ("providers", providerBlock),
            ("defaults", ImportNode.block([("ttl", ImportNode.int(ttl))])),
            ("domains", ImportNode.seq([ImportNode.block(fields)])),
        ])
        let body = try Yams.serialize(node: document, width: -1, allowUnicode: true)
        // A blank line before each top-level key but the first: presentation, not data.
        // Nested content is indented or an indentless `- ` entry, so a top-level key is
        // exactly a line starting with one of these keys and a colon.
        let sections = ["server:", "providers:", "defaults:", "domains:"]
        let spaced = body.split(separator: "\n", omittingEmptySubsequences: false)
            .map { line in sections.contains { line.hasPrefix($0) } ? "\n" + line : String(line) }
            .joined(separator: "\n")
        let header = """
        # Imported by mailplan \(MailPlanVersion.current) from zone \(zone.fqdn) at provider \(providerName).
        # Review it, then run: mailplan plan <this file>   (it should show no changes)

        """
        return Output(yaml: header + spaced, warnings: warnings)
    }

    /// One provider instance of a plan file as a `providers:` mapping with that single entry
    /// (`name:` and its settings), composed from the file's own text so `${ENV}` references
    /// are kept, never their values. Scalars keep the style they were written in (a quoted
    /// `"8081"` stays a string); anchors, tags and aliases are not carried over (an alias is
    /// replaced by the node it names).
    /// - Throws: ``DiagnosticsError`` when the plan has no such provider; `YamlError` when
    ///   the text is not YAML.
    public static func providerBlock(planText: String, file: String, name: String) throws -> Node {
        guard let root = try Yams.compose(yaml: planText), case .mapping(let top) = root,
              let providers = top["providers"], case .mapping(let pm) = providers,
              let entry = pm.first(where: { $0.key.scalar?.string == name }) else {
            throw DiagnosticsError(Diagnostic(at: nil, "\(file): no provider '\(name)' under providers"))
        }
        return ImportNode.block([(name, ImportNode.copy(entry.value))])
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

}

/// Builders for the Yams nodes of an imported plan file.
enum ImportNode {
    /// A string value, double-quoted: never read back as a number, boolean, null, alias
    /// (`*x`), comment (`#`) or mapping (`a: b`).
    static func str(_ s: String) -> Node { .scalar(.init(s, .implicit, .doubleQuoted)) }
    static func int<T: BinaryInteger>(_ n: T) -> Node { .scalar(.init(String(n), .implicit, .plain)) }
    static func bool(_ b: Bool) -> Node { .scalar(.init(b ? "true" : "false", .implicit, .plain)) }
    /// A flow sequence of double-quoted strings: `["a", "b"]`.
    static func strings(_ items: [String]) -> Node { .sequence(.init(items.map(str), .implicit, .flow)) }
    /// A block sequence (`- item` lines).
    static func seq(_ items: [Node]) -> Node { .sequence(.init(items, .implicit, .block)) }
    static func block(_ pairs: [(String, Node)]) -> Node { mapping(pairs, .block) }
    /// A flow mapping on one line: `{key: value, …}`.
    static func flow(_ pairs: [(String, Node)]) -> Node { mapping(pairs, .flow) }
    private static func mapping(_ pairs: [(String, Node)], _ style: Node.Mapping.Style) -> Node {
        .mapping(.init(pairs.map { (.scalar(.init($0.0, .implicit, .plain)), $0.1) }, .implicit, style))
    }
    /// A copy of a composed node with the scalars' text and style, without anchors, tags
    /// or source marks, so the emitter writes the same values and nothing else.
    static func copy(_ node: Node) -> Node {
        switch node {
        case .scalar(let s): return .scalar(.init(s.string, .implicit, s.style))
        case .sequence(let q): return .sequence(.init(q.map(copy), .implicit, q.style))
        case .mapping(let m): return .mapping(.init(m.map { (copy($0.key), copy($0.value)) }, .implicit, m.style))
        case .alias: return node
        }
    }
}
