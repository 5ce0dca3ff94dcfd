import Foundation
import MailPlan

/// Any standards-based primary (BIND, Knot, PowerDNS…) through RFC 2136 dynamic update
/// signed with TSIG (RFC 8945) (`type: rfc2136`, RFC 2136, RFC 5936).
///
/// Settings:
/// ```yaml
/// providers:
///   ns:
///     type: rfc2136
///     server: 192.0.2.53:53              # the primary: IPv4, IPv6 ([2001:db8::53]:53) with optional port
///     tsig_key_name: mailplan            # the key's name on the server
///     tsig_algorithm: hmac-sha256        # optional: hmac-sha256 (default), -sha1, -sha224, -sha384, -sha512, -md5
///     tsig_secret: ${MAILPLAN_TSIG_SECRET}  # base64, as tsig-keygen prints it
///     timeout: 10                        # optional: seconds per exchange
/// ```
/// Reading is an AXFR over TCP signed with the key (BIND needs `allow-transfer { key …; }`).
/// Where the primary refuses the transfer, the RRsets the plan manages are read by query
/// instead (``readZone(_:managed:)``, ``RFC2136Query``), with a warning in the plan.
/// Writing is **one** UPDATE message per zone over TCP, so the server applies all of it or
/// nothing (RFC 2136 §3): a replaced RRset is "delete RRset" + "add" in the same message, and
/// prerequisites make the update fail rather than clobber a concurrent change: a created
/// RRset must not exist yet, an updated or deleted one must still hold exactly the records
/// read by the plan.
public final class RFC2136Provider: DNSProviderType {
    public let instanceName: String
    /// Counts the DNS messages this provider entry sends in the run.
    let session: ProviderSession
    public static let typeName = "rfc2136"
    /// Wire format carries any type; TTL is a 32-bit field with the top bit clear (RFC 2181 §8).
    public static let capabilities = ProviderCapabilities(
        supportedTypes: Set(RRType.modelled), ttlRange: 0...2_147_483_647, applyMode: .atomic,
        conditionalWrites: true)

    /// The primary's address as configured (`host:port`).
    public let server: String
    public let keyName: String
    public let algorithm: String
    let endpoint: RFC2136Convert.Endpoint
    /// Each RRset's records exactly as last transferred (ldns presentation), per zone: the
    /// "RRset exists with exactly these values" prerequisites are built from them.
    private var lastRead: [DomainName: [RRsetKey: [String]]] = [:]
    /// The RRset keys of each zone last read by query (transfer refused), and the warning.
    private var queried: [DomainName: [RRsetKey]] = [:]
    private var warnings: [DomainName: [Diagnostic]] = [:]

    /// The setting names this adapter accepts.
    /// The settings this adapter accepts (docs/plan-file.md documents each).
    public static let settings: [ProviderSetting] = [
        ProviderSetting("server", required: true, "the primary's IP address with an optional :port"),
        ProviderSetting("tsig_key_name", required: true, "the TSIG key name"),
        ProviderSetting("tsig_algorithm", "hmac-sha256 (default) and the other RFC 8945 algorithms"),
        ProviderSetting("tsig_secret", required: true, secret: true, "${ENV_VAR} holding the base64 secret"),
        ProviderSetting("timeout", "seconds (1-600, default 10)"),
    ]
    /// `tsig_algorithm` values and the algorithm names ldns signs with (RFC 8945 §6).
    public static let algorithms: [String: String] = [
        "hmac-sha256": "hmac-sha256.", "hmac-sha1": "hmac-sha1.", "hmac-sha224": "hmac-sha224.",
        "hmac-sha384": "hmac-sha384.", "hmac-sha512": "hmac-sha512.", "hmac-md5": "hmac-md5.sig-alg.reg.int.",
    ]

    /// Builds the adapter from a plan file's provider entry.
    /// - Throws: ``DiagnosticsError`` for missing or invalid settings (checked offline).
    public convenience init(config: ProviderConfig) throws {
        try config.checkKeys(allowed: Self.settingNames)
        let serverText = try config.string("server", required: true)!
        guard let (host, port) = Self.parseServer(serverText) else {
            throw DiagnosticsError(Diagnostic(at: config.settings["server"]?.location,
                "providers.\(config.name): 'server' must be an IP address with an optional port, such as 192.0.2.53:53 or [2001:db8::53]:53, got '\(serverText)'"))
        }
        let key = try config.string("tsig_key_name", required: true)!
        guard let keyName = try? DomainName(key) else {
            throw DiagnosticsError(Diagnostic(at: config.settings["tsig_key_name"]?.location,
                "providers.\(config.name): 'tsig_key_name' must be a key name such as mailplan, got '\(key)'"))
        }
        let alg = (try config.string("tsig_algorithm") ?? "hmac-sha256").lowercased()
        guard Self.algorithms[alg] != nil else {
            throw DiagnosticsError(Diagnostic(at: config.settings["tsig_algorithm"]?.location,
                "providers.\(config.name): unknown tsig_algorithm '\(alg)'; \(Suggest.hint(alg, Self.algorithms.keys.sorted()).replacingOccurrences(of: "valid keys", with: "valid algorithms"))"))
        }
        let secret = try config.secret("tsig_secret")!
        // A placeholder (validate without the variable set) has no value to check.
        guard secret.isPlaceholder || Data(base64Encoded: secret.value.trimmingCharacters(in: .whitespaces)).map({ !$0.isEmpty }) == true else {
            throw DiagnosticsError(Diagnostic(at: config.settings["tsig_secret"]?.location,
                "providers.\(config.name): the TSIG secret in ${\(secret.variable)} is not base64 (use the secret \"…\" value that tsig-keygen prints)"))
        }
        let timeout = try config.int("timeout", in: 1...600) ?? 10
        self.init(name: config.name, address: host, port: port, keyName: keyName.fqdn, algorithm: alg, secret: secret, timeout: timeout,
                  session: config.session)
    }

    /// Builds the adapter directly.
    /// - Parameters:
    ///   - name: the instance name used in messages.
    ///   - address: the primary's IPv4 or IPv6 address.
    ///   - port: its DNS port.
    ///   - keyName: the TSIG key name (absolute or not).
    ///   - algorithm: a key of ``algorithms`` (default `hmac-sha256`).
    ///   - secret: the base64 key secret.
    ///   - timeout: seconds per exchange.
    ///   - session: counts the DNS messages sent (one per AXFR, UPDATE or query).
    public init(name: String, address: String, port: UInt16 = 53, keyName: String, algorithm: String = "hmac-sha256",
                secret: Secret, timeout: Int = 10, session: ProviderSession = ProviderSession()) {
        self.instanceName = name
        self.session = session
        self.server = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        let kn = keyName.hasSuffix(".") ? keyName.lowercased() : keyName.lowercased() + "."
        self.keyName = kn
        self.algorithm = algorithm
        self.endpoint = .init(address: address, port: port, keyName: kn, algorithm: Self.algorithms[algorithm] ?? "hmac-sha256.",
                              secret: secret, timeout: timeout)
    }

    /// Splits `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1`, `[2001:db8::1]:5353` into address and port (53 by default).
    public static func parseServer(_ text: String) -> (String, UInt16)? {
        let t = text.trimmingCharacters(in: .whitespaces)
        var host = t, port: UInt16 = 53
        if t.hasPrefix("[") {
            guard let close = t.firstIndex(of: "]") else { return nil }
            host = String(t[t.index(after: t.startIndex)..<close])
            let rest = t[t.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()), p > 0 else { return nil }
                port = p
            }
            return IPv6Address(host) != nil ? (host, port) : nil
        }
        if IPv6Address(t) != nil { return (t, 53) }
        let parts = t.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let p = UInt16(parts[1]), p > 0 else { return nil }
            host = String(parts[0]); port = p
        } else if parts.count != 1 { return nil }
        return IPv4Address(host) != nil ? (host, port) : nil
    }

    static func rcodeName(_ code: Int) -> String {
        ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"]
            .indices.contains(code) ? ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"][code] : "RCODE \(code)"
    }

    /// A clear sentence for a failed exchange; `transfer` tells AXFR from UPDATE.
    func explain(_ f: RFC2136Convert.Failure, zone: DomainName, transfer: Bool) -> String {
        let what = transfer ? "zone transfer (AXFR) of \(zone.fqdn)" : "update of zone \(zone.fqdn)"
        let keyHint = "check that tsig_key_name '\(keyName)', tsig_algorithm \(algorithm) and the secret in ${\(endpoint.secret.variable)} match the key on the server"
        switch f {
        case .network(let m):
            return "no answer from the primary \(server) over TCP within \(endpoint.timeout) s for the \(what) (\(m))"
        case .bogusTSIG:
            return "the primary \(server) did not accept the TSIG signature for the \(what) (Bogus TSIG signature: the reply is not signed with this key): \(keyHint)"
        case .record(let m):
            return "cannot build the \(what): \(m)"
        case .transferClosed:
            return "no answer from the primary \(server) over TCP within \(endpoint.timeout) s for the \(what) (the zone transfer ended before the closing SOA (no answer, or the connection was closed))"
        case .rcode(let code, let tsig):
            switch (code, tsig) {
            case (9, 16?): return "the primary \(server) rejected the TSIG signature for the \(what) (NOTAUTH, BADSIG): \(keyHint)"
            case (9, 17?): return "the primary \(server) does not know TSIG key '\(keyName)' with algorithm \(algorithm) (NOTAUTH, BADKEY): \(keyHint)"
            case (9, 18?): return "the primary \(server) refused the TSIG time for the \(what) (NOTAUTH, BADTIME): this machine's clock differs from the server's by more than 5 minutes"
            case (9, _): return "the primary \(server) is not authoritative for zone \(zone.fqdn) (NOTAUTH)"
            case (5, _):
                return transfer
                    ? "the primary \(server) refused the \(what) (REFUSED): mailplan reads zones by AXFR; allow it for the key (BIND: allow-transfer { key \(keyName.dropLast()); };)"
                    : "the primary \(server) refused the \(what) (REFUSED): its policy does not let key '\(keyName)' update this zone (BIND: allow-update { key \(keyName.dropLast()); }; or update-policy)"
            case (10, _): return "the primary \(server) says a name in the update is outside zone \(zone.fqdn) (NOTZONE)"
            case (3, _), (6, _), (7, _), (8, _):
                return "a prerequisite of the \(what) failed (\(Self.rcodeName(code))): the zone changed since the plan read it; run plan again"
            default: return "the primary \(server) answered the \(what) with \(Self.rcodeName(code))"
            }
        }
    }

    /// Reads every RRset of `zone` (SOA and NS included) by AXFR, signed with the key.
    /// - Throws: ``ProviderError`` naming the server and what to fix; never a partial zone.
    public func readZone(_ zone: DomainName) throws -> [RRset] {
        try readZone(zone, managed: [])
    }

    /// Reads `zone` by AXFR signed with the key; when the primary refuses the transfer
    /// (REFUSED, NOTAUTH without a TSIG error, or a transfer closed before its end) and
    /// `managed` is not empty, reads each managed (name, type) by query at the primary instead
    /// (``RFC2136Query``), after checking with an SOA query that it is authoritative for the
    /// zone, and leaves a warning for ``readWarnings(_:)``. A TSIG failure (BADSIG, BADKEY,
    /// BADTIME) never falls back: updates would fail the same way.
    /// - Parameters:
    ///   - zone: the zone apex.
    ///   - managed: the RRset keys the plan manages (``Engine/readKeys(_:)``).
    /// - Returns: the whole zone (AXFR), or the managed RRsets that exist plus any CNAME at a
    ///   managed name (by query).
    /// - Throws: ``ProviderError`` naming the server, and for a query the name and type;
    ///   never a partial or guessed read (SERVFAIL, REFUSED or a timeout is an error, not an
    ///   absent RRset).
    public func readZone(_ zone: DomainName, managed: [RRsetKey]) throws -> [RRset] {
        warnings[zone] = nil
        queried[zone] = nil
        let rrs: [(record: ZoneRecord, line: String)]
        session.record()
        do { rrs = try RFC2136Convert.logged("AXFR \(zone.fqdn)", endpoint, { try RFC2136Convert.axfr(endpoint, zone: zone) }) { "\($0.count) records" } } catch let f as RFC2136Convert.Failure {
            let refused = explain(f, zone: zone, transfer: true)
            guard let why = Self.refusal(f), !managed.isEmpty else { throw ProviderError(provider: instanceName, refused) }
            return try readByQuery(zone, managed: managed, refusal: refused, why: why)
        }
        guard !rrs.isEmpty else {
            throw ProviderError(provider: instanceName, "the zone transfer of \(zone.fqdn) from \(server) returned no records")
        }
        var raw: [RRsetKey: [String]] = [:]
        for r in rrs { raw[RRsetKey(r.record.name, r.record.rdata.type), default: []].append(r.line) }
        lastRead[zone] = raw
        return [RRset].grouping(rrs.map(\.record))
    }

    /// The warning left by a read that fell back to queries.
    public func readWarnings(_ zone: DomainName) -> [Diagnostic] { warnings[zone] ?? [] }

    /// The short reason shown in the warning when `f` means "transfer not allowed", or nil
    /// when it means something else (a wrong key, no answer at all, a broken record).
    static func refusal(_ f: RFC2136Convert.Failure) -> String? {
        switch f {
        case .rcode(5, _): return "REFUSED"
        case .rcode(9, nil), .rcode(9, 0?): return "NOTAUTH"   // how Knot answers a transfer its ACL denies
        case .transferClosed: return "connection closed"
        default: return nil
        }
    }

    /// The resolver the fallback queries the primary with: no recursion, the adapter's timeout.
    var queryResolver: Resolver {
        Resolver(options: ResolverOptions(timeout: Double(endpoint.timeout), attempts: 2, recursionDesired: false))
    }

    /// Reads `managed` by query at the primary (see ``readZone(_:managed:)``).
    func readByQuery(_ zone: DomainName, managed: [RRsetKey], refusal: String, why: String) throws -> [RRset] {
        let ns = NameServer(address: endpoint.address, port: endpoint.port)
        let resolver = queryResolver
        // Authoritative for the zone? Otherwise the original refusal is the clearer message.
        do {
            session.record()
            let soa = try resolver.query(zone, .soa, at: ns)
            guard soa.rcode == .noError, soa.authoritative, soa.rrset != nil else {
                throw ProviderError(provider: instanceName, "\(refusal); reading by query is not possible either: an SOA query for \(zone.fqdn) got \(soa.rcode.rawValue)\(soa.authoritative ? "" : " without authority (AA bit clear)")")
            }
        } catch let e as ResolverError {
            throw ProviderError(provider: instanceName, "\(refusal); reading by query is not possible either: \(e.reason)")
        }
        var outcomes: [RFC2136Query.Outcome] = []
        for k in managed {
            session.record()
            do { outcomes.append(.init(key: k, answer: .success(try resolver.query(k.name, k.type, at: ns)))) }
            catch let e as ResolverError { outcomes.append(.init(key: k, answer: .failure(e))); break }
        }
        let read: (rrsets: [RRset], lines: [RRsetKey: [String]])
        do { read = try RFC2136Query.rrsets(outcomes, server: server) } catch let e as RFC2136Query.Failure {
            throw ProviderError(provider: instanceName, e.message)
        }
        lastRead[zone] = read.lines
        queried[zone] = managed
        let n = managed.count
        warnings[zone] = [Diagnostic(.warning, at: nil,
            "provider \(instanceName): zone transfer of \(zone.fqdn) refused by \(server) (\(why)); read the \(n) RRset\(n == 1 ? "" : "s") the plan manages or checks by query instead: unmanaged records are not seen")]
        return read.rrsets
    }

    /// The prerequisites and updates of one UPDATE for `changeset` (RFC 2136 §2.4–2.5).
    /// - Throws: ``ProviderError`` when a change has no records to write.
    func message(_ changeset: ZoneChangeset) throws -> (prerequisites: [RFC2136Convert.Item], updates: [RFC2136Convert.Item]) {
        let raw = lastRead[changeset.zone] ?? [:]
        func lines(_ r: RRset) -> [String] { r.rdata.map { "\(r.name.fqdn) \(r.ttl) IN \(r.type) \($0.presentation)" } }
        var pre: [RFC2136Convert.Item] = [], up: [RFC2136Convert.Item] = []
        for c in changeset.changes {
            switch c.action {
            case .create:
                pre.append(.absent(c.name, c.type))
            case .update, .delete:
                guard let before = c.before else { throw ProviderError(provider: instanceName, "\(c.action) of \(c.key) has no live records") }
                pre.append(.exactly(raw[c.key] ?? lines(before)))
                up.append(.deleteSet(c.name, c.type))
            }
            if c.action != .delete, let after = c.after { up += lines(after).map { .add($0) } }
        }
        return (pre, up)
    }

    /// Writes the changeset as one TSIG-signed UPDATE message.
    /// - Throws: ``ApplyError``. The server applies the message whole or not at all, so on an
    ///   error rcode nothing was applied; when no answer arrived the outcome is unknown and
    ///   the message says so.
    public func apply(_ changeset: ZoneChangeset) throws {
        let changes = changeset.changes
        guard !changes.isEmpty else { return }
        func fail(_ reason: String) -> ApplyError {
            ApplyError(provider: instanceName, zone: changeset.zone, applied: [], failed: changes, notAttempted: [], reason: reason)
        }
        let msg: (prerequisites: [RFC2136Convert.Item], updates: [RFC2136Convert.Item])
        do { msg = try message(changeset) } catch { throw fail("\(error); nothing was applied") }
        session.record()
        do {
            try RFC2136Convert.logged("UPDATE \(changeset.zone.fqdn) (\(msg.prerequisites.count) prerequisites, \(msg.updates.count) updates)", endpoint, {
                try RFC2136Convert.update(endpoint, zone: changeset.zone, prerequisites: msg.prerequisites, updates: msg.updates)
            }) { "NOERROR" }
        } catch let f as RFC2136Convert.Failure {
            let text = explain(f, zone: changeset.zone, transfer: false)
            if case .network = f {
                throw ApplyError.outcomeUnknown(provider: instanceName, zone: changeset.zone, changes,
                                                reason: text + "; the update may or may not have been applied (it is all-or-nothing)")
            }
            throw fail(text + "; nothing was applied (one UPDATE message is all-or-nothing)")
        }
        try verify(changeset)
    }

    /// Reads the zone back after a NOERROR and checks every changed RRset, because a server
    /// answers NOERROR yet silently ignores some additions (RFC 2136 §3.4.2.2: data next to a
    /// CNAME, a CNAME next to other data).
    /// - Throws: ``ApplyError`` listing the changes that did not take, as `failed`.
    func verify(_ changeset: ZoneChangeset) throws {
        let live: [RRset]
        // A zone read by query is read back by query: its managed keys and the changed ones.
        let keys = queried[changeset.zone].map { q in q + changeset.changes.map(\.key).filter { !q.contains($0) } } ?? []
        do { live = try readZone(changeset.zone, managed: keys) } catch {
            throw ApplyError(provider: instanceName, zone: changeset.zone, applied: [], failed: [], notAttempted: [],
                             reason: "the update was accepted (NOERROR) but reading the zone back failed: \(error); run plan again to check it")
        }
        let byKey = Dictionary(live.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var good: [Change] = [], bad: [(Change, String)] = []
        for c in changeset.changes {
            let now = byKey[c.key]
            let want = c.after.flatMap { $0.rdata.isEmpty ? nil : $0 }
            if now == want { good.append(c); continue }
            let shown = now.map { "\($0.ttl) " + $0.rdata.map(\.display).joined(separator: ", ") } ?? "nothing"
            bad.append((c, "\(c.key) holds \(shown)"))
        }
        guard bad.isEmpty else {
            throw ApplyError(provider: instanceName, zone: changeset.zone, applied: good, failed: bad.map(\.0), notAttempted: [],
                             reason: "the primary \(server) answered NOERROR but ignored part of the update (a server drops an addition that conflicts with a CNAME): " + bad.map(\.1).joined(separator: "; "))
        }
    }
}
