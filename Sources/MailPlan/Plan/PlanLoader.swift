import Crypto
import Foundation

/// Reads and validates a plan file (YAML, `docs/plan-file.md`).
///
/// Every problem is collected and thrown together as ``DiagnosticsError``, each naming
/// `file:line:column`: YAML syntax, unknown keys (with a did-you-mean), wrong types, bad
/// addresses and names, DKIM keys that do not parse, duplicate domains, undefined
/// providers, and unset `${ENV}` variables.
public struct PlanLoader {
    /// Environment used for `${VAR}` substitution in provider settings.
    public var environment: [String: String]
    /// When true (`mailplan validate` without `--strict-env`), a setting written exactly as
    /// `${VAR}` whose variable is unset or empty is a warning, not an error: the setting
    /// becomes a placeholder ``Secret`` (``Secret/isPlaceholder``) that adapters accept as a
    /// credential but that fails as any other setting. CI validates pull requests without tokens.
    public var unsetSecretsAreWarnings = false
    /// Read the top-level `domains:` list item by item as the YAML parser reaches it, so the
    /// node tree of a plan of thousands of domains never exists whole (false: compose the
    /// whole file first). Plan and diagnostics are the same either way.
    var streamsDomains = true

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads the plan file at `path`.
    /// - Returns: the validated plan.
    /// - Throws: ``DiagnosticsError`` with one diagnostic per problem.
    public func load(path: String) throws -> MailPlan {
        let url = URL(fileURLWithPath: path)
        let base = url.deletingLastPathComponent().standardizedFileURL
        // The file is read for the parser a chunk at a time (YAMLFileInput): its text is never
        // held whole, whatever its size.
        func open() throws -> YAMLFileInput {
            do {
                if let kind = FileKind.notRegular(path), kind != "missing" { throw FileKindError(path: path, kind: kind) }
                return try YAMLFileInput(path: path)
            } catch {
                throw DiagnosticsError(Diagnostic(at: nil, "\(path): cannot read the plan file (\(Self.reason(error, path: path)))"))
            }
        }
        func read(streaming: Bool) throws -> MailPlan? {
            let input = try open()
            return try load({ YAMLComposer(reading: input) }, file: path, baseDirectory: base, sha256: { input.sha256 }, streaming: streaming) { e in
                if input.invalidUTF8 {
                    return Diagnostic(at: SourceLocation(file: path, line: 1, column: 1), "the plan file is not UTF-8 text")
                }
                if let code = input.readErrno {
                    let error = NSError(domain: NSPOSIXErrorDomain, code: Int(code))
                    return Diagnostic(at: nil, "\(path): cannot read the plan file (\(Self.reason(error, path: path)))")
                }
                return Self.yamlDiagnostic(e, file: path)
            }
        }
        if streamsDomains, let plan = try read(streaming: true) { return plan }
        return try read(streaming: false)!
    }

    /// A short reason for a failed file read or write, for messages: the POSIX text where
    /// Foundation has one ("No such file or directory", "Is a directory"), never a
    /// Foundation error domain and code.
    /// - Parameter path: the file, to tell a directory or a device from a missing file.
    public static func reason(_ error: Error, path: String? = nil) -> String {
        if let e = error as? FileKindError { return e.description }
        return FileKind.reason(error, path: path)
    }

    /// Loads plan text. `file` is used in messages; `baseDirectory` resolves relative paths.
    public func load(text: String, file: String, baseDirectory: URL, sha256: String = "") throws -> MailPlan {
        var text = text
        text.makeContiguousUTF8()
        return try text.utf8.withContiguousStorageIfAvailable { bytes in
            let diagnostic = { (e: YAMLError) in Self.yamlDiagnostic(e, file: file) }
            if streamsDomains, let plan = try load({ YAMLComposer(bytes) }, file: file, baseDirectory: baseDirectory, sha256: { sha256 },
                                                   streaming: true, diagnostic: diagnostic) {
                return plan
            }
            return try load({ YAMLComposer(bytes) }, file: file, baseDirectory: baseDirectory, sha256: { sha256 }, streaming: false, diagnostic: diagnostic)!
        }!
    }

    /// Composes and reads the plan `composer` makes.
    /// - Parameters:
    ///   - sha256: the plan file's SHA-256 (asked once the document is composed: a file read
    ///     in chunks is hashed as it is read).
    ///   - streaming: read the items of `domains:` as they are composed, when `server` and
    ///     `providers` come before it in the file (what they say is needed to read a domain).
    ///   - diagnostic: the diagnostic of a YAML error.
    /// - Returns: nil when streaming read the domains before a `defaults:` that follows them in
    ///   the file (the caller then reads the whole tree).
    func load(_ composer: () -> YAMLComposer, file: String, baseDirectory: URL, sha256: () -> String, streaming: Bool,
              diagnostic: (YAMLError) -> Diagnostic) throws -> MailPlan? {
        var reader = PlanReader(file: file, baseDirectory: baseDirectory, environment: environment)
        reader.unsetSecretsAreWarnings = unsetSecretsAreWarnings
        var header: PlanReader.Header? = nil
        var domains: [DomainPlan] = []
        var seen: [DomainName: Int] = [:]
        let root: YAMLNode?
        do {
            let composer = composer()
            if streaming {
                // Each item is read into a DomainPlan on a second thread while libyaml and the
                // composer go on with the next ones (reading an item costs more than composing
                // it). Only that thread touches the reader, `seen` and `domains` until the
                // stage has finished or been cancelled.
                var stage: BackgroundStage<(YAMLNode, Int)>? = nil
                do {
                    root = try composer.document(streaming: { pairs in
                        let keys = pairs.compactMap { $0.key.scalar?.string }
                        guard keys.contains("server"), keys.contains("providers") else { return false }
                        header = reader.readHeader(PlanReader.Entries(pairs: pairs.compactMap { p in p.key.scalar.map { ($0.string, p.key, p.value) } }))
                        return true
                    }, item: { node, i in
                        guard let h = header else { return }
                        if stage == nil {
                            stage = BackgroundStage { node, i in
                                reader.readDomainEntry(node, index: i, providers: h.providers, defaultTTL: h.defaultTTL, server: h.server,
                                                       seen: &seen, into: &domains)
                            }
                        }
                        stage!.send((node, i))
                    })
                } catch {
                    stage?.cancel()
                    throw error
                }
                stage?.finish()
            } else {
                root = try composer.document()
            }
        } catch let e as YAMLError {
            throw DiagnosticsError(diagnostic(e))
        }
        guard let root else {
            throw DiagnosticsError(Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "the plan file is empty; it needs at least version, server, providers and domains"))
        }
        if header != nil, case .mapping(let top) = root {
            // A `defaults:` after the domains: they were read with the default TTL.
            let keys = top.pairs.map { $0.key.scalar?.string }
            if let d = keys.firstIndex(of: "domains"), keys[(d + 1)...].contains("defaults") { return nil }
        }
        let plan = reader.readPlan(root, sha256: sha256(), header: header, domains: header == nil ? nil : domains)
        return try finish(reader, plan)
    }

    /// The plan read, or every error in file order.
    func finish(_ reader: PlanReader, _ read: MailPlan?) throws -> MailPlan {
        var plan = read
        let errors = reader.diagnostics.filter { $0.severity == .error }
        if !errors.isEmpty || plan == nil {
            // In file order, as an editor shows them (the reader visits keys in its own order).
            let ordered = errors.enumerated().sorted { a, b in
                let la = a.element.location, lb = b.element.location
                if let la, let lb, (la.line, la.column) != (lb.line, lb.column) { return (la.line, la.column) < (lb.line, lb.column) }
                return a.offset < b.offset
            }.map(\.element)
            throw DiagnosticsError(ordered)
        }
        plan!.warnings = reader.diagnostics.filter { $0.severity == .warning }
        return plan!
    }

    /// The diagnostic of a file that is not one YAML document; never echoes the document (it
    /// may hold secrets and be megabytes long).
    static func yamlDiagnostic(_ e: YAMLError, file: String) -> Diagnostic {
        func at(_ m: YAMLNode.Mark) -> SourceLocation { SourceLocation(file: file, line: m.line, column: m.column) }
        switch e {
        case .syntax(let problem, let mark, let context, let contextMark):
            return Diagnostic(at: at(mark), "YAML syntax error: \(problem)\(context.map { " (\($0) at line \(contextMark.line))" } ?? "")")
        case .duplicateKeys(let keys, let first, let second):
            let names = keys.map { "'\($0)'" }.joined(separator: ", ")
            return Diagnostic(at: at(second), "key \(names) is given twice in one mapping (first at line \(first.line)); give each key once")
        case .reader(let problem):
            return Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "YAML error: \(problem)")
        case .memory:
            return Diagnostic(at: SourceLocation(file: file, line: 1, column: 1), "YAML error: out of memory")
        }
    }
}

/// Walks the YAML node tree, collecting diagnostics instead of stopping at the first.
struct PlanReader {
    let file: String
    let baseDirectory: URL
    let environment: [String: String]
    var unsetSecretsAreWarnings = false
    var diagnostics: [Diagnostic] = []
    /// The UTF-8 text of the regular file `url`.
    func readFile(_ url: URL) throws -> String {
        guard let t = String(data: try FileKind.readRegular(url.path), encoding: .utf8) else {
            throw FileKindError(path: url.path, kind: "text that is not UTF-8")
        }
        return t
    }
    /// Key files read so far (for saved plans), each path as written once.
    var keyFiles: [PlanKeyFile] = []
    /// Each key file path as written, read once: thousands of domains name the same file.
    var keyFileTexts: [ExactText: Result<KeyFileText, Error>] = [:]

    /// A key file's text and what the reader needs to know of it for every selector naming it.
    struct KeyFileText {
        let text: String
        /// The text holds a PEM private key block.
        let holdsPrivateKey: Bool
    }

    /// The key file `path` (relative to the plan file's directory, or absolute), read once.
    /// - Throws: what reading it threw, each time it is asked for.
    mutating func keyFile(_ path: String) throws -> KeyFileText {
        if let hit = keyFileTexts[ExactText(path)] { return try hit.get() }
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
        let r = Result<KeyFileText, Error> {
            let t = try readFile(url)
            keyFiles.append(PlanKeyFile(path: path, url: url.standardizedFileURL))
            return KeyFileText(text: t, holdsPrivateKey: utf8Contains(t, "PRIVATE KEY-----"))
        }
        keyFileTexts[ExactText(path)] = r
        return try r.get()
    }
    /// The MX host read last: its text, how it was written, and its name (``readMXHost(_:_:)``).
    var lastMXHost: (text: String, style: YAMLNode.Scalar.Style, name: DomainName)? = nil
    /// The parse of each key file's text (``DKIMKeyParser/parse(_:allowRevoked:)``), by path
    /// as written, one table per `allowRevoked`: found without hashing the key text again.
    var keyFileParses: [[ExactText: Result<(record: String, info: DKIMKeyInfo), Error>]] = [[:], [:]]

    /// ``DKIMKeyParser/parse(_:allowRevoked:)`` of `text`, the text of the key file `path`
    /// (nil for a key given in the plan), parsed once per path.
    mutating func parsedKey(_ text: String, file path: String?, allowRevoked: Bool) throws -> (record: String, info: DKIMKeyInfo) {
        guard let path else { return try DKIMKeyParser.parse(text, allowRevoked: allowRevoked) }
        let t = allowRevoked ? 1 : 0
        if let hit = keyFileParses[t][ExactText(path)] { return try hit.get() }
        let r = Result { try DKIMKeyParser.parse(text, allowRevoked: allowRevoked) }
        keyFileParses[t][ExactText(path)] = r
        return try r.get()
    }

    /// Each distinct SPF sender term, checked and parsed once (``SPFTerm/problem(_:)``,
    /// ``SPFRecord/parseTerm(_:)``, ``spfTermNotes(_:parsed:)``: pure functions of the term):
    /// thousands of domains repeat the same few terms.
    var spfTerms: [ExactText: CheckedSPFTerm] = [:]

    /// What the reader knows of one SPF sender term.
    struct CheckedSPFTerm {
        /// Why the term is refused, or nil.
        let problem: String?
        let parsed: SPFRecordTerm?
        /// The term needs a DNS lookup (RFC 7208 §4.6.4: include, a, mx, ptr, exists, redirect=).
        let needsLookup: Bool
        /// The warnings (`isError` false) and errors about an accepted term, in this order:
        /// host bits below the prefix, a /0 or very large network, ptr.
        let notes: [(isError: Bool, text: String)]
    }

    mutating func spfTerm(_ t: String) -> CheckedSPFTerm {
        if let hit = spfTerms[ExactText(t)] { return hit }
        let parsed = try? SPFRecord.parseTerm(t)
        let problem = SPFTerm.problem(t)
        let needsLookup = parsed.map { p in
            if case .directive(_, let mech, _) = p { return mech.needsLookup }
            if case .modifier(let n, _) = p { return n == "redirect" }
            return false
        } ?? false
        let r = CheckedSPFTerm(problem: problem, parsed: parsed, needsLookup: needsLookup,
                               notes: problem == nil ? Self.spfTermNotes(t, parsed: parsed) : [])
        spfTerms[ExactText(t)] = r
        return r
    }

    /// What is worth saying about the accepted sender term `t` (see ``CheckedSPFTerm/notes``).
    static func spfTermNotes(_ t: String, parsed: SPFRecordTerm?) -> [(isError: Bool, text: String)] {
        var notes: [(isError: Bool, text: String)] = []
        if case .directive(_, let mech, _)? = parsed, let net = SPFRecord.canonicalNetwork(mech) {
            notes.append((false, "'\(t)' has host bits set below the prefix; receivers match the network \(net)"))
        }
        let lower = t.lowercased()
        let pass = !(lower.hasPrefix("-") || lower.hasPrefix("~") || lower.hasPrefix("?"))
        let bare = lower.hasPrefix("+") ? String(lower.dropFirst()) : lower
        if pass, bare.hasPrefix("ip4:") || bare.hasPrefix("ip6:"), let len = bare.split(separator: "/").dropFirst().first.flatMap({ Int($0) }) {
            let v4 = bare.hasPrefix("ip4:")
            if len == 0 {
                notes.append((true, "'\(t)' lets every \(v4 ? "IPv4" : "IPv6") address send as this domain, like +all; list the networks that really send"))
            } else if len < (v4 ? 8 : 16) {
                notes.append((false, "'\(t)' authorizes a very large network (/\(len)); is that every address that sends for this domain?"))
            }
        }
        if bare == "ptr" || bare.hasPrefix("ptr:") {
            notes.append((false, "'\(t)' is slow and unreliable; RFC 7208 §5.5 says it should not be used"))
        }
        return notes
    }
    /// The `server.reverse.provider` node, checked once providers are read.
    var reverseNode: YAMLNode? = nil
    init(file: String, baseDirectory: URL, environment: [String: String]) {
        self.file = file; self.baseDirectory = baseDirectory; self.environment = environment
    }

    func loc(_ node: YAMLNode?) -> SourceLocation? {
        guard let m = node?.mark else { return nil }
        return SourceLocation(file: file, line: m.line, column: m.column)
    }
    mutating func error(_ node: YAMLNode?, _ message: String) { diagnostics.append(Diagnostic(at: loc(node), message)) }
    mutating func warn(_ node: YAMLNode?, _ message: String) { diagnostics.append(Diagnostic(.warning, at: loc(node), message)) }

    static func kind(_ n: YAMLNode) -> String {
        switch n { case .scalar: "a scalar"; case .mapping: "a mapping"; case .sequence: "a list" }
    }

    /// The checked entries of one plan-file mapping: each key at most once, every key allowed.
    /// A plan mapping has a dozen keys or fewer, so a key is found by a linear search (no
    /// hashing; a plan of 10,000 domains reads ~100,000 of them).
    struct Entries {
        /// The keys, in file order; `nodes[i]` is the key node and value of `names[i]`.
        private(set) var names: [String] = []
        private(set) var nodes: [(key: YAMLNode, value: YAMLNode)] = []

        init(capacity: Int = 0) {
            names.reserveCapacity(capacity)
            nodes.reserveCapacity(capacity)
        }
        init(pairs: [(name: String, key: YAMLNode, value: YAMLNode)]) {
            self.init(capacity: pairs.count)
            for p in pairs { append(p.name, key: p.key, value: p.value) }
        }
        mutating func append(_ name: String, key: YAMLNode, value: YAMLNode) {
            names.append(name)
            nodes.append((key, value))
        }
        /// The mapping gives no (allowed) key.
        var isEmpty: Bool { names.isEmpty }
        /// The key node and the value of `name`; nil when the mapping does not give it.
        subscript(name: String) -> (key: YAMLNode, value: YAMLNode)? {
            // The length first: `==` on two different strings is the slow path.
            let n = name.utf8.count
            for i in names.indices where names[i].utf8.count == n && names[i] == name { return nodes[i] }
            return nil
        }
    }

    /// The entries of a mapping, in order, rejecting unknown and duplicate keys.
    mutating func mapping(_ node: YAMLNode, _ path: @autoclosure () -> String, allowed: [String], required: [String] = []) -> Entries? {
        guard case .mapping(let m) = node else {
            error(node, "\(path()) must be a mapping with keys \(allowed.joined(separator: ", ")), found \(Self.kind(node))")
            return nil
        }
        var out = Entries(capacity: m.count)
        for (k, v) in m {
            guard case .scalar(let ks) = k else { error(k, "\(path()): keys must be plain names"); continue }
            let key = ks.string
            if out[key] != nil { error(k, "\(path()).\(key) is given twice"); continue }
            if !allowed.contains(key) {
                error(k, "\(path()): unknown key '\(key)'; \(Suggest.hint(key, allowed))")
                continue
            }
            out.append(key, key: k, value: v)
        }
        for r in required where out[r] == nil { error(node, "\(path()): missing required key '\(r)'") }
        return out
    }

    mutating func string(_ node: YAMLNode, _ path: @autoclosure () -> String) -> String? {
        guard case .scalar(let s) = node else {
            error(node, "\(path()) must be a string, found \(Self.kind(node))"); return nil
        }
        if s.style == .plain {
            switch s.string {
            case "", "~", "null", "Null", "NULL": error(node, "\(path()) must not be empty"); return nil
            default: break
            }
        }
        return s.string
    }

    mutating func int(_ node: YAMLNode, _ path: @autoclosure () -> String, in range: ClosedRange<Int>) -> Int? {
        guard case .scalar(let s) = node, let n = Int(s.string) else {
            error(node, "\(path()) must be an integer from \(range.lowerBound) to \(range.upperBound), found \(Self.describe(node))"); return nil
        }
        guard range.contains(n) else {
            error(node, range.count == 1 ? "\(path()) must be \(range.lowerBound), found \(n)" : "\(path()) must be from \(range.lowerBound) to \(range.upperBound), found \(n)")
            return nil
        }
        return n
    }

    mutating func bool(_ node: YAMLNode, _ path: @autoclosure () -> String) -> Bool? {
        if case .scalar(let s) = node {
            switch s.string { case "true": return true; case "false": return false; default: break }
        }
        error(node, "\(path()) must be true or false, found \(Self.describe(node))"); return nil
    }

    mutating func ttl(_ node: YAMLNode, _ path: @autoclosure () -> String) -> UInt32? {
        // `auto` is kept; `mailplan validate` rejects it for a provider without an automatic TTL.
        if case .scalar(let s) = node, s.string == "auto" { return Defaults.automaticTTL }
        return int(node, path(), in: 0...2_147_483_647).map { UInt32($0) }
    }

    static func describe(_ n: YAMLNode) -> String {
        if case .scalar(let s) = n { return "'\(s.string)'" }
        return kind(n)
    }

    /// A scalar or a list of scalars, as a list.
    mutating func stringList(_ node: YAMLNode, _ path: @autoclosure () -> String) -> [(String, YAMLNode)] {
        switch node {
        case .sequence(let seq):
            return seq.enumerated().compactMap { (i, n) in string(n, "\(path())[\(i)]").map { ($0, n) } }
        case .scalar:
            return string(node, path()).map { [($0, node)] } ?? []
        default:
            error(node, "\(path()) must be a string or a list of strings, found \(Self.kind(node))"); return []
        }
    }

    mutating func hostname(_ node: YAMLNode, _ path: @autoclosure () -> String) -> DomainName? {
        guard let s = string(node, path()) else { return nil }
        do {
            let n = try DomainName(s)
            guard n.isValidHostname else {
                let bad = n.labels.first { l in l.isEmpty || l.hasPrefix("-") || l.hasSuffix("-") || !l.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2d } } ?? s
                error(node, "\(path()): '\(s)' is not a valid host name: label '\(bad)' may hold only letters, digits and hyphens, not at either end (RFC 1123)")
                return nil
            }
            return n
        } catch let e as DNSNameError {
            error(node, "\(path()): \(e.description)"); return nil
        } catch { self.error(node, "\(path()): \(error)"); return nil }
    }

    // MARK: plan

    /// What reading a domain needs of the rest of the plan.
    struct Header {
        var defaultTTL: UInt32 = 3600
        var server: ServerPlan?
        var providers: [ProviderConfig] = []
    }

    /// `defaults`, `server` and `providers` of the top-level mapping `m`.
    mutating func readHeader(_ m: Entries) -> Header {
        var h = Header()
        if let d = m["defaults"]?.value, let dm = mapping(d, "defaults", allowed: ["ttl"]) {
            if let t = dm["ttl"]?.value, let ttl = ttl(t, "defaults.ttl") { h.defaultTTL = ttl }
        }
        h.server = m["server"].flatMap { readServer($0.value) }
        h.providers = m["providers"].map { readProviders($0.value) } ?? []
        if let r = h.server?.reverse, let n = reverseNode { _ = checkReverseProvider(r.provider, node: n, providers: h.providers) }
        return h
    }

    /// The plan of the document `root`.
    /// - Parameters:
    ///   - header: ``readHeader(_:)`` already read (the loader streamed the domains).
    ///   - domains: the domains read as they were composed; nil: read them from `root`.
    mutating func readPlan(_ root: YAMLNode, sha256: String, header given: Header? = nil, domains streamed: [DomainPlan]? = nil) -> MailPlan? {
        let top = ["version", "server", "providers", "defaults", "domains", "dns", "check"]
        guard let m = mapping(root, "plan", allowed: top, required: ["version", "server", "providers", "domains"]) else { return nil }
        if let v = m["version"]?.value { _ = int(v, "version (the plan-file format this mailplan reads)", in: 1...1) }
        let h = given ?? readHeader(m)
        var domains: [DomainPlan] = streamed ?? []
        if streamed == nil, let d = m["domains"] {
            domains = readDomains(d.value, providers: h.providers, defaultTTL: h.defaultTTL, server: h.server)
        }
        let dns = m["dns"].map { readDNS($0.value) } ?? .notConfigured
        let check = m["check"].map { readCheck($0.value) } ?? .defaults
        guard let server = h.server else { return nil }
        var plan = MailPlan(file: file, baseDirectory: baseDirectory, sha256: sha256, server: server,
                            providers: h.providers, defaults: Defaults(ttl: h.defaultTTL), domains: domains, dns: dns, check: check)
        plan.keyFiles = keyFiles
        return plan
    }

    mutating func readServer(_ node: YAMLNode) -> ServerPlan? {
        guard let m = mapping(node, "server", allowed: ["hostname", "ipv4", "ipv6", "helo_spf", "dane", "reverse"], required: ["hostname"]) else { return nil }
        let host = m["hostname"].flatMap { hostname($0.value, "server.hostname") }
        var v4: [IPv4Address] = [], v6: [IPv6Address] = []
        let errorsBefore = diagnostics.filter { $0.severity == .error }.count
        if let n = m["ipv4"]?.value {
            for (s, sn) in stringList(n, "server.ipv4") {
                if let ip = IPv4Address(s) { v4.append(ip) } else { error(sn, "server.ipv4: '\(s)' is not an IPv4 address (expected dotted quad such as 192.0.2.25)") }
            }
        }
        if let n = m["ipv6"]?.value {
            for (s, sn) in stringList(n, "server.ipv6") {
                if let ip = IPv6Address(s) { v6.append(ip) } else { error(sn, "server.ipv6: '\(s)' is not an IPv6 address (expected a form such as 2001:db8::25)") }
            }
        }
        if m["ipv4"] == nil && m["ipv6"] == nil { error(node, "server: give at least one address in ipv4 or ipv6") }
        else if v4.isEmpty && v6.isEmpty && diagnostics.filter({ $0.severity == .error }).count == errorsBefore {
            error(node, "server: ipv4 and ipv6 are empty; give at least one address (the MX host needs an A or AAAA record)")
        }
        let helo = m["helo_spf"].flatMap { bool($0.value, "server.helo_spf") } ?? false
        let dane = m["dane"].flatMap { readDANE($0.value) }
        let reverse = m["reverse"].flatMap { readReverse($0.value) }
        guard let host else { return nil }
        var server = ServerPlan(hostname: host, ipv4: v4, ipv6: v6, location: loc(node))
        server.heloSPF = helo
        server.dane = dane
        server.reverse = reverse?.0
        reverseNode = reverse?.1
        return server
    }

    mutating func readProviders(_ node: YAMLNode) -> [ProviderConfig] {
        guard case .mapping(let m) = node else {
            error(node, "providers must be a mapping from a name to {type: …, settings…}, found \(Self.kind(node))"); return []
        }
        var out: [ProviderConfig] = []
        for (k, v) in m {
            guard case .scalar(let ks) = k else { error(k, "providers: names must be plain strings"); continue }
            let name = ks.string
            if out.contains(where: { $0.name == name }) { error(k, "providers.\(name) is defined twice"); continue }
            guard case .mapping(let pm) = v else { error(v, "providers.\(name) must be a mapping with at least 'type'"); continue }
            var type: String? = nil
            var settings: [String: PlanValue] = [:]
            for (sk, sv) in pm {
                guard case .scalar(let sks) = sk else { error(sk, "providers.\(name): keys must be plain names"); continue }
                let key = sks.string
                if key == "type" { type = string(sv, "providers.\(name).type"); continue }
                guard case .scalar(let s) = sv else {
                    error(sv, "providers.\(name).\(key) must be a single value, found \(Self.kind(sv))"); continue
                }
                if let value = substitute(s.string, node: sv, path: "providers.\(name).\(key)", providerSetting: true) { settings[key] = value }
            }
            guard let type else { if pm.first(where: { ($0.key.scalar?.string) == "type" }) == nil { error(v, "providers.\(name): missing required key 'type'") }; continue }
            out.append(ProviderConfig(name: name, type: type, location: loc(k), settings: settings, baseDirectory: baseDirectory))
        }
        return out
    }

    /// `${VAR}` substitution. A value that is exactly `${VAR}` becomes a ``Secret``.
    /// - Parameter providerSetting: a provider setting, which may be a credential: an unset
    ///   variable is a warning there under ``PlanLoader/unsetSecretsAreWarnings``.
    mutating func substitute(_ text: String, node: YAMLNode, path: String, providerSetting: Bool = false) -> PlanValue? {
        guard text.contains("${") else { return PlanValue(text: text, location: loc(node)) }
        var out = ""
        var rest = Substring(text)
        var onlyVar: String? = nil
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                error(node, "\(path): unterminated ${ in '\(text)'"); return nil
            }
            let name = String(rest[start.upperBound..<end])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                error(node, "\(path): '${\(name)}' is not an environment variable name"); return nil
            }
            guard let value = environment[name], !value.isEmpty else {
                if unsetSecretsAreWarnings && providerSetting && text == "${\(name)}" {
                    warn(node, "\(path): environment variable \(name) is not set; validate goes on without it, but plan, apply, check and import need it (--strict-env makes this an error)")
                    return PlanValue(text: "", location: loc(node), secret: Secret(value: "", variable: name), unsetVariable: name)
                }
                error(node, "\(path): environment variable \(name) is not set (export \(name)=… before running mailplan)"); return nil
            }
            if text == "${\(name)}" { onlyVar = name }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        out += rest
        return PlanValue(text: out, location: loc(node), secret: onlyVar.map { Secret(value: out, variable: $0) })
    }

    // MARK: domains

    mutating func readDomains(_ node: YAMLNode, providers: [ProviderConfig], defaultTTL: UInt32, server: ServerPlan?) -> [DomainPlan] {
        guard case .sequence(let seq) = node else {
            error(node, "domains must be a list of domains (- name: example.com …), found \(Self.kind(node))"); return []
        }
        var out: [DomainPlan] = []
        out.reserveCapacity(seq.count)
        var seen: [DomainName: Int] = [:]
        seen.reserveCapacity(seq.count)
        for (i, d) in seq.enumerated() {
            readDomainEntry(d, index: i, providers: providers, defaultTTL: defaultTTL, server: server, seen: &seen, into: &out)
        }
        return out
    }

    /// One item of `domains:`, appended to `out` unless it does not read or repeats a domain.
    mutating func readDomainEntry(_ d: YAMLNode, index i: Int, providers: [ProviderConfig], defaultTTL: UInt32, server: ServerPlan?,
                                  seen: inout [DomainName: Int], into out: inout [DomainPlan]) {
        guard let dp = readDomain(d, index: i, providers: providers, defaultTTL: defaultTTL, server: server) else { return }
        // The position in `out` of each domain read so far (its location is there).
        if let first = seen[dp.name] {
            error(d, "domains[\(i)]: domain \(dp.name.withoutTrailingDot) is listed twice (first at \(out[first].location.map(\.description) ?? "?"))")
            return
        }
        seen[dp.name] = out.count
        out.append(dp)
    }

    static let domainKeys = ["name", "provider", "zone", "ttl", "mx", "spf", "dkim", "dmarc", "tls_rpt", "mta_sts", "records",
                             "no_mail", "autoconfig", "caa"]

    mutating func readDomain(_ node: YAMLNode, index i: Int, providers: [ProviderConfig], defaultTTL: UInt32, server: ServerPlan?) -> DomainPlan? {
        let p = "domains[\(i)]"
        guard let m = mapping(node, p, allowed: Self.domainKeys, required: ["name"]) else { return nil }
        guard let name = m["name"].flatMap({ hostname($0.value, "\(p).name") }) else { return nil }
        let dn = "domains[\(name.withoutTrailingDot)]"
        var zone = name
        if let z = m["zone"]?.value, let zn = hostname(z, "\(dn).zone") {
            if name.isSubdomain(of: zn) { zone = zn } else { error(z, "\(dn).zone: \(zn.withoutTrailingDot) does not contain \(name.withoutTrailingDot)") }
        }
        var provider = ""
        if let pn = m["provider"]?.value {
            if let s = string(pn, "\(dn).provider") {
                if providers.contains(where: { $0.name == s }) { provider = s } else {
                    let names = providers.map(\.name)
                    let hint = Suggest.closest(to: s, in: names).map { "did you mean '\($0)'? " } ?? ""
                    error(pn, "\(dn).provider: '\(s)' is not defined under providers; \(hint)(defined: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
                }
            }
        } else if providers.count == 1 {
            provider = providers[0].name
        } else {
            error(node, "\(dn): missing required key 'provider' (defined: \(providers.map(\.name).joined(separator: ", ")))")
        }
        var ttl = defaultTTL
        if let t = m["ttl"]?.value, let v = self.ttl(t, "\(dn).ttl") { ttl = v }

        var mx: [MXTarget] = []
        if let n = m["mx"]?.value { mx = readMX(n, dn, domain: name) }
        else if let server { mx = [MXTarget(preference: 10, exchange: server.hostname)] }

        var spf = m["spf"].flatMap { readSPF($0.value, dn, domain: name, server: server) }
        let dkim = m["dkim"].map { readDKIM($0.value, dn) } ?? []
        var dmarc = m["dmarc"].flatMap { readDMARC($0.value, dn) }
        let tlsrpt = m["tls_rpt"].flatMap { readTLSRPT($0.value, dn) }
        let mtasts = m["mta_sts"].flatMap { readMTASTS($0.value, dn) }
        let records = m["records"].map { readRecords($0.value, dn, domain: name, ttl: ttl) } ?? []
        let autoconfig = m["autoconfig"].flatMap { readAutoconfig($0.value, dn, server: server) }
        let caa = m["caa"].flatMap { readCAA($0.value, dn) }
        let noMail = m["no_mail"].flatMap { bool($0.value, "\(dn).no_mail") } ?? false
        if noMail {
            // A domain that sends and receives no mail (RFC 7505 null MX, RFC 7208 §10.1.2).
            for key in ["mx", "spf", "mta_sts", "tls_rpt", "autoconfig"] where m[key] != nil {
                error(m[key]?.key, "\(dn).\(key): a no_mail domain sends and receives no mail; remove \(key) (no_mail publishes a null MX, v=spf1 -all and DMARC p=reject)")
            }
            if let k = dkim.first(where: { sel in
                if case .revoked = sel.lifecycle { return false }
                if case .removed = sel.lifecycle { return false }
                return true
            }) {
                error(m["dkim"]?.key, "\(dn).dkim[\(k.selector)]: a no_mail domain signs no mail; only revoked or removed selectors may be listed")
            }
            if let d = dmarc, d.policy != .reject {
                error(m["dmarc"]?.value, "\(dn).dmarc.policy: a no_mail domain has DMARC p=reject, found '\(d.policy)'")
            }
            mx = [MXTarget(preference: 0, exchange: .root)]
            spf = SPFPolicy(terms: [], all: "-all")
            if dmarc == nil {
                dmarc = DMARCPolicy(policy: .reject, subdomainPolicy: nil, rua: [], ruf: [], adkim: nil, aspf: nil, pct: nil, fo: nil)
            }
        }
        if !noMail, let mtasts, mtasts.mode != .none, mx.contains(where: { $0.exchange == .root }) {
            error(m["mta_sts"]?.value, "\(dn).mta_sts: a domain with a null MX receives no mail; remove mta_sts or use mode: none")
        }
        if !dkim.isEmpty, !noMail, !dkim.contains(where: { $0.lifecycle == .active || { if case .retiring = $0.lifecycle { return true }; return false }($0) }) {
            warn(m["dkim"]?.key, "\(dn).dkim: no selector is active; mail from this domain will not be DKIM-signed with a published key")
        }
        return DomainPlan(name: name, zone: zone, provider: provider, ttl: ttl, mx: mx, spf: spf, dkim: dkim, dmarc: dmarc,
                          tlsRPT: tlsrpt, mtaSTS: mtasts, records: records, location: loc(node),
                          noMail: noMail, autoconfig: autoconfig, caa: caa)
    }

    mutating func readMX(_ node: YAMLNode, _ dn: String, domain: DomainName) -> [MXTarget] {
        guard case .sequence(let seq) = node else {
            error(node, "\(dn).mx must be a list of {host, preference}, found \(Self.kind(node))"); return []
        }
        var out: [MXTarget] = []
        for (i, e) in seq.enumerated() {
            let p = "\(dn).mx[\(i)]"
            var host: DomainName? = nil
            var pref = 10
            if case .scalar = e {
                host = readMXHost(e, p)
            } else if let m = mapping(e, p, allowed: ["host", "preference"], required: ["host"]) {
                host = m["host"].flatMap { readMXHost($0.value, "\(p).host") }
                if let pn = m["preference"]?.value, let v = int(pn, "\(p).preference", in: 0...65535) { pref = v }
            }
            guard let host else { continue }
            if host == .root && pref != 0 { error(e, "\(p): a null MX ('.') must have preference 0 (RFC 7505 §3)") }
            out.append(MXTarget(preference: UInt16(pref), exchange: host))
        }
        if seq.count == 0 { error(node, "\(dn).mx is empty; a domain that receives no mail uses a null MX: [{host: \".\", preference: 0}]") }
        if out.contains(where: { $0.exchange == .root }) && out.count > 1 {
            error(node, "\(domain.fqdn) MX: a null MX (0 .) must be the only MX record at the name (RFC 7505 §3)")
        }
        return out
    }

    mutating func readMXHost(_ node: YAMLNode, _ path: @autoclosure () -> String) -> DomainName? {
        // hostname says why a mapping or a list is not a host name.
        guard case .scalar(let s) = node else { return hostname(node, path()) }
        // Most domains name the same mail host: the name read last is reused for the same text,
        // so a plan of 100,000 domains holds one copy of it, not 100,000 (6.4 MB), and the text
        // is not parsed again. Compared as bytes (String's == calls canonically equivalent
        // spellings equal) and with the style: a quoted "null" is the host null., a plain null
        // is refused as empty.
        if let last = lastMXHost, last.style == s.style, ExactText(last.text) == ExactText(s.string) { return last.name }
        if s.string == "." { return .root }
        if IPv4Address(s.string) != nil || IPv6Address(s.string) != nil {
            error(node, "\(path()): an MX target must be a host name, not an IP address (RFC 5321 §5.1)"); return nil
        }
        guard let name = hostname(node, path()) else { return nil }
        lastMXHost = (s.string, s.style, name)
        return name
    }

    mutating func readSPF(_ node: YAMLNode, _ dn: String, domain: DomainName, server: ServerPlan?) -> SPFPolicy? {
        guard let m = mapping(node, "\(dn).spf", allowed: ["senders", "all", "senders_expected"]) else { return nil }
        var terms: [String] = []
        var flatten: [String] = []
        if let s = m["senders"]?.value {
            guard case .sequence(let seq) = s else { error(s, "\(dn).spf.senders must be a list such as [mx, \"include:_spf.example.net\"]"); return nil }
            // An entry is a term, or {include: domain, flatten: true} to publish the include's
            // current ip4/ip6 set instead of the include (resolved at plan time).
            var items: [(String, YAMLNode)] = []
            for (i, e) in seq.enumerated() {
                if case .mapping = e {
                    guard let em = mapping(e, "\(dn).spf.senders[\(i)]", allowed: ["include", "flatten"], required: ["include"]),
                          let inc = em["include"].flatMap({ string($0.value, "\(dn).spf.senders[].include") }) else { continue }
                    let term = "include:" + inc
                    if em["flatten"].flatMap({ bool($0.value, "\(dn).spf.senders[].flatten") }) == true, spfTerm(term).problem == nil {
                        if inc.contains("%") { error(em["include"]?.value, "\(dn).spf.senders: '\(term)' uses a macro and cannot be flattened") }
                        else if let n = try? DomainName(inc) { flatten.append(n.withoutTrailingDot) }
                    }
                    items.append((term, e))
                } else {
                    if let t = string(e, "\(dn).spf.senders[\(i)]") { items.append((t, e)) }
                }
            }
            for (t, tn) in items {
                let checked = spfTerm(t)
                if let problem = checked.problem { error(tn, "\(dn).spf.senders: \(problem)") } else {
                    if terms.contains(t) { warn(tn, "\(dn).spf.senders: '\(t)' is listed twice") } else { terms.append(t) }
                    for note in checked.notes {
                        if note.isError { error(tn, "\(dn).spf.senders: \(note.text)") } else { warn(tn, "\(dn).spf.senders: \(note.text)") }
                    }
                }
            }
        } else {
            // Default: the mail server's own addresses (it is the host that sends this domain's mail).
            terms = (server?.ipv4.map { "ip4:\($0)" } ?? []) + (server?.ipv6.map { "ip6:\($0)" } ?? [])
        }
        let lookupTerms = terms.filter { spfTerm($0).needsLookup }
        if lookupTerms.count > SPFEvaluation.maxLookups {
            error(m["senders"]?.value, "\(dn).spf.senders: \(lookupTerms.count) terms need a DNS lookup (\(lookupTerms.joined(separator: ", "))), more than the \(SPFEvaluation.maxLookups) allowed before any include is followed (RFC 7208 §4.6.4)")
        }
        let hasRedirect = terms.contains { $0.lowercased().hasPrefix("redirect=") }
        var all: String? = hasRedirect ? nil : "-all"
        if let a = m["all"]?.value, let s = string(a, "\(dn).spf.all") {
            if hasRedirect { error(a, "\(dn).spf.all: a record with redirect= must not end in an all term (RFC 7208 §6.1 ignores redirect then)") }
            else if s == "+all" || s == "all" { error(a, "\(dn).spf.all: '\(s)' lets anyone send as this domain; use -all, ~all or ?all") }
            else if ["-all", "~all", "?all"].contains(s) { all = s }
            else { error(a, "\(dn).spf.all must be -all, ~all or ?all, found '\(s)'") }
        }
        var policy = SPFPolicy(terms: terms, all: all)
        policy.flatten = flatten
        if let n = m["senders_expected"]?.value {
            for (t, tn) in stringList(n, "\(dn).spf.senders_expected") {
                if let a = SPFAddress(t) { policy.sendersExpected.append(a) }
                else { error(tn, "\(dn).spf.senders_expected: '\(t)' is not an IPv4 or IPv6 address") }
            }
        }
        if policy.record.utf8.count > 450 && flatten.isEmpty {
            warn(node, "\(dn).spf: the record is \(policy.record.utf8.count) bytes; keep SPF records under 450 bytes so the answer fits one UDP datagram (RFC 7208 §3.4)")
        }
        return policy
    }

    mutating func readDKIM(_ node: YAMLNode, _ dn: String) -> [DKIMSelectorPlan] {
        guard case .sequence(let seq) = node else {
            error(node, "\(dn).dkim must be a list of {selector, public_key | public_key_file}, found \(Self.kind(node))"); return []
        }
        var out: [DKIMSelectorPlan] = []
        for (i, e) in seq.enumerated() {
            let p = "\(dn).dkim[\(i)]"
            guard let m = mapping(e, p, allowed: Self.dkimKeys, required: ["selector"]) else { continue }
            guard let sel = m["selector"].flatMap({ string($0.value, "\(p).selector") }) else { continue }
            let sp = "\(dn).dkim[\(sel)]"
            guard Self.isValidSelector(sel) else {
                error(m["selector"]?.value, "\(p).selector: '\(sel)' is not a valid selector (letters, digits, hyphen, underscore; dot-separated labels)"); continue
            }
            if out.contains(where: { $0.selector == sel.lowercased() }) { error(e, "\(sp): selector listed twice"); continue }
            let revoked = m["revoked"].flatMap { bool($0.value, "\(sp).revoked") } ?? false
            guard let lifecycle = readDKIMLifecycle(m, sp, revoked: revoked) else { continue }
            if let c = m["cname"] {
                for k in ["public_key", "public_key_file", "revoked", "flags", "hash_algorithms", "service_types"] where m[k] != nil {
                    error(m[k]?.key, "\(sp): cname delegates the selector to its host; remove \(k)")
                }
                if lifecycle != .active && lifecycle != .removed {
                    error(m["state"]?.value, "\(sp): a delegated (cname) selector is rotated by the host it points to; its state is active or removed")
                }
                guard let target = hostnameOrUnderscore(c.value, "\(sp).cname") else { continue }
                var plan = DKIMSelectorPlan(selector: sel.lowercased(), record: "", key: DKIMKeyInfo(algorithm: "", bits: 0, revoked: false), location: loc(e))
                plan.cname = target
                plan.lifecycle = lifecycle
                out.append(plan)
                continue
            }
            if lifecycle == .removed && m["public_key"] == nil && m["public_key_file"] == nil {
                var plan = DKIMSelectorPlan(selector: sel.lowercased(), record: "", key: DKIMKeyInfo(algorithm: "", bits: 0, revoked: true), location: loc(e))
                plan.lifecycle = .removed
                out.append(plan)
                continue
            }
            var text: String? = nil
            var keyPath: String? = nil
            var at: YAMLNode? = nil
            let keyOptional = revoked || { if case .revoked = lifecycle { return true }; return false }()
            switch (m["public_key"], m["public_key_file"]) {
            case (let k?, nil): text = string(k.value, "\(sp).public_key"); at = k.value
            case (nil, let f?):
                at = f.value
                if let path = string(f.value, "\(sp).public_key_file") {
                    do {
                        let file = try keyFile(path)
                        text = file.text
                        keyPath = path
                        if file.holdsPrivateKey {
                            warn(f.value, "\(sp).public_key_file: \(path) holds a private key; only its public half is published, but keep private keys with the MTA, out of the plan's directory")
                        }
                    } catch {
                        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
                        self.error(f.value, "\(sp).public_key_file: cannot read \(path) (\(PlanLoader.reason(error, path: url.path)))")
                    }
                }
            case (nil, nil):
                if keyOptional { text = "v=DKIM1; p=" } else { error(e, "\(sp): give public_key, public_key_file or cname") }
            case (_?, _?): error(e, "\(sp): give either public_key or public_key_file, not both")
            }
            guard let text else { continue }
            do {
                var (record, info) = try parsedKey(text, file: keyPath, allowRevoked: keyOptional)
                if revoked && !info.revoked { error(at, "\(sp): revoked: true needs an empty p= (or no key at all)"); continue }
                if info.algorithm == "rsa" && info.bits < 2048 && !info.revoked {
                    warn(at, "\(sp): RSA \(info.bits)-bit key; use 2048 bits or more (RFC 8301 §3.2)")
                }
                var extra: [(String, String)] = []
                for (key, tag) in [("hash_algorithms", "h"), ("service_types", "s"), ("flags", "t")] {
                    guard let n = m[key]?.value else { continue }
                    let values = stringList(n, "\(sp).\(key)").map(\.0)
                    if values.isEmpty { continue }
                    extra.append((tag, values.joined(separator: ":")))
                }
                if !extra.isEmpty {
                    let existing = Set(TagList.lenient(record).tags.map(\.name))
                    if let dup = extra.first(where: { existing.contains($0.0) }) {
                        error(at, "\(sp): the key already has a \(dup.0)= tag; give it in one place"); continue
                    }
                    // Insert the tags before p= (p= stays last, as keys are usually written).
                    let pIndex = record.range(of: "p=", options: .backwards)!.lowerBound
                    record = String(record[..<pIndex]) + extra.map { "\($0.0)=\($0.1); " }.joined() + String(record[pIndex...])
                    do { _ = try DKIMKeyParser.parse(record, allowRevoked: keyOptional) } catch let k as DKIMKeyError {
                        error(m[["hash_algorithms", "service_types", "flags"].first { m[$0] != nil }!]?.value, "\(sp): \(k.reason)"); continue
                    }
                }
                if utf8Contains(record, "h=") && utf8Contains(record, "sha1") {
                    warn(at, "\(sp): h= lists sha1, which verifiers must not accept (RFC 8301 §3.1)")
                }
                var plan = DKIMSelectorPlan(selector: sel.lowercased(), record: record, key: info, location: loc(e))
                plan.lifecycle = lifecycle
                out.append(plan)
            } catch let k as DKIMKeyError {
                error(at, "\(sp): DKIM key does not parse: \(k.reason)")
            } catch { self.error(at, "\(sp): \(error)") }
        }
        return out
    }

    /// A DKIM selector: dot-separated labels of 1 to 63 ASCII letters, digits, hyphens and
    /// underscores (RFC 6376 §3.1, with the underscore that selectors use in practice).
    static func isValidSelector(_ sel: String) -> Bool {
        var label = 0
        for b in sel.utf8 {
            if b == 0x2e {
                guard label > 0 else { return false }
                label = 0
                continue
            }
            let lower = b | 0x20
            guard (lower >= 0x61 && lower <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x2d || b == 0x5f else { return false }
            label += 1
            guard label <= 63 else { return false }
        }
        return label > 0
    }

    static let dkimKeys = ["selector", "public_key", "public_key_file", "cname", "revoked", "state", "until", "remove_after",
                           "flags", "hash_algorithms", "service_types"]

    /// `state`, `until`, `remove_after` of a selector (see ``DKIMLifecycle``).
    mutating func readDKIMLifecycle(_ m: Entries, _ sp: String, revoked: Bool) -> DKIMLifecycle? {
        let states = ["active", "retiring", "revoked", "removed"]
        var state = revoked ? "revoked" : "active"
        if let n = m["state"]?.value, let s = string(n, "\(sp).state") {
            guard states.contains(s) else {
                let hint = Suggest.closest(to: s, in: states).map { " (did you mean '\($0)'?)" } ?? ""
                error(n, "\(sp).state must be one of \(states.joined(separator: ", ")), found '\(s)'\(hint)"); return nil
            }
            if revoked && s != "revoked" { error(m["revoked"]?.key, "\(sp): revoked: true contradicts state: \(s)"); return nil }
            state = s
        }
        func date(_ key: String) -> PlanDate?? {
            guard let n = m[key]?.value else { return .some(nil) }
            guard let s = string(n, "\(sp).\(key)") else { return nil }
            guard let d = PlanDate(s) else { error(n, "\(sp).\(key) must be a date YYYY-MM-DD (UTC), found '\(s)'"); return nil }
            return .some(d)
        }
        guard let until = date("until"), let removeAfter = date("remove_after") else { return nil }
        switch state {
        case "retiring":
            guard let until else { error(m["state"]?.value, "\(sp): state: retiring needs until: YYYY-MM-DD, the last day the key is published"); return nil }
            if let r = removeAfter, r < until {
                error(m["remove_after"]?.value, "\(sp).remove_after (\(r)) is before until (\(until)); the key is revoked after until and removed after remove_after"); return nil
            }
            return .retiring(until: until, removeAfter: removeAfter)
        case "revoked":
            if m["until"] != nil { error(m["until"]?.key, "\(sp).until applies to state: retiring only"); return nil }
            return .revoked(removeAfter: removeAfter)
        default:
            for k in ["until", "remove_after"] where m[k] != nil {
                error(m[k]?.key, "\(sp).\(k) applies to state: retiring (or revoked, for remove_after), not \(state)"); return nil
            }
            return state == "removed" ? .removed : .active
        }
    }

    /// A DNS name that may hold underscore labels (CNAME targets such as
    /// `selector1-example-com._domainkey.example.onmicrosoft.com`).
    mutating func hostnameOrUnderscore(_ node: YAMLNode, _ path: @autoclosure () -> String) -> DomainName? {
        guard let s = string(node, path()) else { return nil }
        do {
            let n = try DomainName(s)
            guard n.labels.count >= 2 else { error(node, "\(path()): '\(s)' is not a fully qualified name"); return nil }
            return n
        } catch { self.error(node, "\(path()): \(error)"); return nil }
    }

    /// `server.dane`: certificate_file | public_key_file, and next_public_key_file.
    mutating func readDANE(_ node: YAMLNode) -> DANEPlan? {
        let p = "server.dane"
        guard let m = mapping(node, p, allowed: ["certificate_file", "public_key_file", "next_public_key_file"]) else { return nil }
        func digest(_ key: String) -> String? {
            guard let n = m[key]?.value, let path = string(n, "\(p).\(key)") else { return nil }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                return DANE.sha256Hex(try DANE.subjectPublicKeyInfo(pem: text))
            } catch let e as DANEKeyError {
                error(n, "\(p).\(key): \(path): \(e.reason)")
            } catch { self.error(n, "\(p).\(key): cannot read \(path) (\(PlanLoader.reason(error, path: url.path)))") }
            return nil
        }
        if m["certificate_file"] != nil && m["public_key_file"] != nil {
            error(node, "\(p): give certificate_file or public_key_file, not both"); return nil
        }
        if m["certificate_file"] == nil && m["public_key_file"] == nil {
            error(node, "\(p): give certificate_file or public_key_file (the key the SMTP server presents)"); return nil
        }
        guard let current = digest(m["certificate_file"] != nil ? "certificate_file" : "public_key_file") else { return nil }
        let next = m["next_public_key_file"] != nil ? digest("next_public_key_file") : nil
        if m["next_public_key_file"] != nil && next == nil { return nil }
        if next == current { warn(m["next_public_key_file"]?.value, "\(p).next_public_key_file is the same key as the current one; nothing rolls over") }
        return DANEPlan(current: current, next: next == current ? nil : next, location: loc(node))
    }

    static let autoconfigServices: [(key: String, label: String, port: UInt16)] = [
        ("submissions", "_submissions._tcp", 465), ("imaps", "_imaps._tcp", 993),
        ("submission", "_submission._tcp", 587), ("pop3s", "_pop3s._tcp", 995),
    ]

    /// `autoconfig`: SRV per service (a host, `true` for the mail host, `false` for "not offered")
    /// and `cnames` (autoconfig, autodiscover).
    mutating func readAutoconfig(_ node: YAMLNode, _ dn: String, server: ServerPlan?) -> AutoconfigPlan? {
        let p = "\(dn).autoconfig"
        guard let m = mapping(node, p, allowed: Self.autoconfigServices.map(\.key) + ["cnames"]) else { return nil }
        var services: [AutoconfigPlan.Service] = []
        for s in Self.autoconfigServices {
            guard let n = m[s.key]?.value else { continue }
            if case .scalar(let sc) = n, sc.string == "false" {
                services.append(.init(label: s.label, port: s.port, target: nil)); continue
            }
            if case .scalar(let sc) = n, sc.string == "true" {
                guard let host = server?.hostname else { continue }
                services.append(.init(label: s.label, port: s.port, target: host)); continue
            }
            guard let host = hostname(n, "\(p).\(s.key)") else { continue }
            services.append(.init(label: s.label, port: s.port, target: host))
        }
        var cnames: [String] = []
        if let n = m["cnames"]?.value {
            for (c, cn) in stringList(n, "\(p).cnames") {
                guard ["autoconfig", "autodiscover"].contains(c) else {
                    error(cn, "\(p).cnames: '\(c)' must be autoconfig or autodiscover"); continue
                }
                if !cnames.contains(c) { cnames.append(c) }
            }
        }
        if services.isEmpty && cnames.isEmpty { error(node, "\(p): give at least one of \(Self.autoconfigServices.map(\.key).joined(separator: ", ")), cnames"); return nil }
        return AutoconfigPlan(services: services, cnames: cnames, location: loc(node))
    }

    /// `caa`: issue, issuewild, iodef (RFC 8659 §4).
    mutating func readCAA(_ node: YAMLNode, _ dn: String) -> CAAPolicy? {
        let p = "\(dn).caa"
        guard let m = mapping(node, p, allowed: ["issue", "issuewild", "iodef"], required: ["issue"]) else { return nil }
        func issuers(_ key: String) -> [String]? {
            guard let n = m[key]?.value else { return nil }
            if case .sequence(let seq) = n, seq.isEmpty { return [] }
            var out: [String] = []
            for (v, vn) in stringList(n, "\(p).\(key)") {
                // issuer-domain-name [";" parameters] (RFC 8659 §4.2)
                let domainPart = v.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0].trimmingCharacters(in: .whitespaces)
                guard let d = try? DomainName(domainPart), d.isValidHostname, d.labels.count >= 2 else {
                    error(vn, "\(p).\(key): '\(v)' must be a CA's domain such as letsencrypt.org, optionally followed by '; parameters'"); continue
                }
                out.append(v)
            }
            return out
        }
        let issue = issuers("issue") ?? []
        let wild = issuers("issuewild")
        let iodef = m["iodef"].map { reportURIs($0.value, "\(p).iodef", schemes: ["mailto", "https"]) } ?? []
        return CAAPolicy(issue: issue, issuewild: wild, iodef: iodef, location: loc(node))
    }

    /// The report URIs of `node` (a string or a list), each checked by ``reportURIProblem(_:schemes:)``.
    mutating func reportURIs(_ node: YAMLNode, _ path: @autoclosure () -> String, schemes: [String]) -> [String] {
        var out: [String] = []
        for (s, sn) in stringList(node, path()) {
            if let problem = Self.reportURIProblem(s, schemes: schemes) { error(sn, "\(path()): \(problem)") } else { out.append(s) }
        }
        return out
    }

    /// Why `s` is not a report URI of one of `schemes` (lowercase), or nil when it is: a
    /// `mailto:` URI with an address whose domain is a valid host name (RFC 7489 §6.2, an
    /// optional `!size` suffix), an `https://` URI with a valid host (RFC 8460 §3), and no
    /// ',', ';' or space, which would end the tag value.
    static func reportURIProblem(_ s: String, schemes: [String]) -> String? {
        // The scheme is compared byte by byte, case-insensitively (RFC 3986 §3.1).
        guard let scheme = schemes.first(where: { hasScheme(s, $0) }) else {
            let hint = s.contains("@") && !s.contains(":") ? " (did you mean 'mailto:\(s)'?)" : ""
            return "'\(s)' must be a \(schemes.map { $0 + ":" }.joined(separator: " or ")) URI\(hint)"
        }
        if scheme == "mailto" {
            guard let domain = MailtoURI.domain(s), (try? DomainName(domain))?.isValidHostname == true else {
                return "'\(s)' is not a mailto: URI with a valid address"
            }
        } else if scheme == "https" {
            let rest = s.dropFirst(scheme.count + 1)
            let host = rest.hasPrefix("//") ? rest.dropFirst(2).prefix { $0 != "/" && $0 != ":" && $0 != "?" } : ""
            if host.isEmpty || (try? DomainName(String(host)))?.isValidHostname != true {
                return "'\(s)' is not an https:// URI with a valid host"
            }
        } else if s.dropFirst(scheme.count + 1).count < 3 { return "'\(s)' is not a valid \(scheme) URI" }
        if s.utf8.contains(where: { $0 == 0x2c || $0 == 0x3b || $0 == 0x20 }) { return "'\(s)' must not contain ',', ';' or spaces" }
        return nil
    }

    /// `s` starts with `scheme` (lowercase ASCII) and ':', the scheme in any case.
    static func hasScheme(_ s: String, _ scheme: String) -> Bool {
        var i = s.utf8.makeIterator()
        for b in scheme.utf8 { guard let c = i.next(), c | 0x20 == b else { return false } }
        return i.next() == 0x3a
    }

    static let dmarcPolicies = DMARCPolicyValue.allCases.map(\.rawValue)

    mutating func readDMARC(_ node: YAMLNode, _ dn: String) -> DMARCPolicy? {
        let p = "\(dn).dmarc"
        guard let m = mapping(node, p, allowed: ["policy", "sp", "np", "rua", "ruf", "adkim", "aspf", "pct", "fo", "rf", "ri"], required: ["policy"]) else { return nil }
        func choice(_ key: String, _ valid: [String]) -> String? {
            guard let n = m[key]?.value, let s = string(n, "\(p).\(key)") else { return nil }
            guard valid.contains(s) else {
                let hint = Suggest.closest(to: s, in: valid).map { " (did you mean '\($0)'?)" } ?? ""
                error(n, "\(p).\(key) must be one of \(valid.joined(separator: ", ")), found '\(s)'\(hint)"); return nil
            }
            return s
        }
        let policies = Self.dmarcPolicies
        let policy = choice("policy", policies).flatMap(DMARCPolicyValue.init(rawValue:))
        let sp = choice("sp", policies).flatMap(DMARCPolicyValue.init(rawValue:))
        let adkim = choice("adkim", ["r", "s"]), aspf = choice("aspf", ["r", "s"])
        let pct = m["pct"].flatMap { int($0.value, "\(p).pct", in: 0...100) }
        var fo: String? = nil
        if let n = m["fo"]?.value, let s = string(n, "\(p).fo") {
            if s.split(separator: ":", omittingEmptySubsequences: false).allSatisfy({ ["0", "1", "d", "s"].contains($0) }) { fo = s }
            else { error(n, "\(p).fo must be 0, 1, d or s, or several joined by ':' (RFC 7489 §6.3), found '\(s)'") }
        }
        let np = choice("np", policies).flatMap(DMARCPolicyValue.init(rawValue:))
        let rf = choice("rf", ["afrf"])
        let ri = m["ri"].flatMap { int($0.value, "\(p).ri", in: 1...4_294_967_295) }
        for key in ["pct", "rf", "ri"] where m[key] != nil {
            warn(m[key]?.key, "\(p).\(key): the \(key)= tag is deprecated by DMARCbis (draft-ietf-dmarc-dmarcbis) and ignored by many receivers")
        }
        let rua = m["rua"].map { reportURIs($0.value, "\(p).rua", schemes: ["mailto"]) } ?? []
        let ruf = m["ruf"].map { reportURIs($0.value, "\(p).ruf", schemes: ["mailto"]) } ?? []
        if m["fo"] != nil && ruf.isEmpty {
            warn(m["fo"]?.key, "\(p).fo: failure reporting options have no effect without ruf")
        }
        guard let policy else { return nil }
        var out = DMARCPolicy(policy: policy, subdomainPolicy: sp, rua: rua, ruf: ruf, adkim: adkim, aspf: aspf, pct: pct, fo: fo)
        out.nonexistentPolicy = np
        out.rf = rf
        out.ri = ri
        return out
    }

    mutating func readTLSRPT(_ node: YAMLNode, _ dn: String) -> TLSRPTPolicy? {
        guard let m = mapping(node, "\(dn).tls_rpt", allowed: ["rua"], required: ["rua"]) else { return nil }
        guard let n = m["rua"]?.value else { return nil }
        let rua = reportURIs(n, "\(dn).tls_rpt.rua", schemes: ["mailto", "https"])
        return rua.isEmpty ? nil : TLSRPTPolicy(rua: rua)
    }

    mutating func readMTASTS(_ node: YAMLNode, _ dn: String) -> MTASTSPolicy? {
        let p = "\(dn).mta_sts"
        guard let m = mapping(node, p, allowed: ["mode", "max_age", "policy_file"], required: ["mode"]) else { return nil }
        var mode: MTASTSMode? = nil
        if let n = m["mode"]?.value, let s = string(n, "\(p).mode") {
            if let v = MTASTSMode(rawValue: s) { mode = v } else { error(n, "\(p).mode must be enforce, testing or none, found '\(s)'") }
        }
        var maxAge = 604800
        if let n = m["max_age"]?.value, let v = int(n, "\(p).max_age", in: 0...31_557_600) { maxAge = v }
        var file: String? = nil
        if let n = m["policy_file"]?.value, let path = string(n, "\(p).policy_file") {
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : baseDirectory.appendingPathComponent(path)
            var isDir: ObjCBool = false
            let dir = url.deletingLastPathComponent().path
            if !FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) || !isDir.boolValue {
                error(n, "\(p).policy_file: the directory \(dir) does not exist")
            } else { file = url.standardizedFileURL.path }
        }
        return mode.map { var s = MTASTSPolicy(mode: $0, maxAge: maxAge); s.policyFile = file; return s }
    }

    static let explicitTypes: [RRType] = [.a, .aaaa, .txt, .cname, .srv, .caa, .tlsa]

    mutating func readRecords(_ node: YAMLNode, _ dn: String, domain: DomainName, ttl: UInt32) -> [ExplicitRecord] {
        guard case .sequence(let seq) = node else {
            error(node, "\(dn).records must be a list of {name, type, ttl, values}, found \(Self.kind(node))"); return []
        }
        var out: [ExplicitRecord] = []
        for (i, e) in seq.enumerated() {
            let p = "\(dn).records[\(i)]"
            guard let m = mapping(e, p, allowed: ["name", "type", "ttl", "values"], required: ["name", "type", "values"]) else { continue }
            guard let nameText = m["name"].flatMap({ string($0.value, "\(p).name") }),
                  let typeText = m["type"].flatMap({ string($0.value, "\(p).type") }) else { continue }
            let type = RRType(typeText)
            guard Self.explicitTypes.contains(type) else {
                error(m["type"]?.value, "\(p).type: \(typeText) cannot be declared here; valid: \(Self.explicitTypes.map(\.rawValue).joined(separator: ", ")) (MX comes from mx:)"); continue
            }
            let owner: DomainName
            do { owner = try DomainName(nameText, relativeTo: domain) } catch {
                self.error(m["name"]?.value, "\(p).name: \(error)"); continue
            }
            guard owner.isSubdomain(of: domain) else {
                error(m["name"]?.value, "\(p).name: \(owner.fqdn) is outside \(domain.fqdn)"); continue
            }
            var rttl = ttl
            if let t = m["ttl"]?.value, let v = self.ttl(t, "\(p).ttl") { rttl = v }
            var rdata: [RData] = []
            let problemsBefore = diagnostics.count
            if let vn = m["values"]?.value {
                for (v, n) in stringList(vn, "\(p).values") {
                    do {
                        rdata.append(type == .txt ? .txt(v) : try RData.parse(type: type, v, origin: domain))
                    } catch let r as RDataError { error(n, "\(p).values: \(r.description)") } catch { self.error(n, "\(p).values: \(error)") }
                }
            }
            if rdata.isEmpty {
                if diagnostics.count == problemsBefore { error(m["values"]?.value ?? e, "\(p).values is empty; give at least one value") }
                continue
            }
            // A TXT record's rdata (character-strings with their length bytes) fits in 65535 bytes.
            for case .txt(let t) in rdata where t.strings.reduce(0, { $0 + $1.count + 1 }) > 65_535 {
                error(e, "\(p): a \(t.bytes.count)-byte TXT value does not fit in one DNS record (65535 bytes of rdata)")
            }
            if type == .cname && rdata.count > 1 { error(e, "\(p): a CNAME RRset holds exactly one value (RFC 2181 §10.1)"); continue }
            if let prev = out.first(where: { $0.rrset.key == RRsetKey(owner, type) }) {
                error(e, "\(p): \(owner.fqdn) \(type) is already declared at \(prev.location.map(\.description) ?? "?"); list all values in one entry"); continue
            }
            out.append(ExplicitRecord(rrset: RRset(name: owner, type: type, ttl: rttl, rdata: rdata), location: loc(e)))
        }
        return out
    }
}

/// Syntax checks for SPF terms in `spf.senders` (RFC 7208 §4.6.1, §5, §6), by the one SPF
/// parser, ``SPFRecord/parseTerm(_:)``.
public enum SPFTerm {
    /// nil when `term` is a valid SPF mechanism or modifier for `senders`; otherwise why not.
    public static func problem(_ term: String) -> String? {
        var t = Substring(term)
        if let q = t.first, "+-~?".contains(q) { t = t.dropFirst() }
        if t.lowercased() == "all" { return "'\(term)': set the all term with spf.all, not in senders" }
        do { _ = try SPFRecord.parseTerm(term); return nil } catch let e as SPFParseError {
            if e.reason.hasPrefix("not an SPF mechanism") {
                return "'\(term)' is not an SPF mechanism (valid: mx, a, a:host, ip4:, ip6:, include:, exists:, ptr, redirect=, exp=)"
            }
            return e.description
        } catch { return "'\(term)': \(error)" }
    }
}
