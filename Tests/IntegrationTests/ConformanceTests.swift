import Foundation
import MailPlan
import Providers
import XCTest
@testable import MailPlanTestSupport

/// One conformance suite over all nine DNS adapters (DNSControl's `integrationTest` is the
/// model): the same scenarios, through the public API only — a plan file loaded by
/// `PlanLoader`, adapters built by `ProviderRegistry.make` from its `providers:` entry, the
/// `Engine` planning and applying — against the zone file, the real PowerDNS, BIND (RFC 2136)
/// and moto (Route 53) of `scripts/servers start`, and the contract fakes of Cloudflare,
/// DigitalOcean, Hetzner, deSEC and Gandi. Each scenario starts from a fresh zone holding
/// only records mailplan does not manage, and prints one line per adapter and scenario:
/// `conformance: <type> / <scenario>: ok`, `skipped (reason)` or `not applicable (reason)`.
final class ConformanceTests: XCTestCase {
    // MARK: the adapters

    /// One adapter under test, with a fresh zone, and what the scenarios need to drive it.
    final class Backend {
        let type: String
        let zone: DomainName
        var settings: [String]
        var env: [String: String] = [:]
        /// Why this adapter cannot hold a null MX (`MX 0 .`), or nil when it can.
        var noNullMX: String? = nil
        /// The diagnostic `validate` gives for a plan with a null MX, where ``noNullMX`` is set.
        var nullMXRefusal = ""
        /// Whether the provider keeps a TXT value's string boundaries (`"a" "b"`).
        var multiString = true
        /// Puts the starting RRsets into the zone (through the server's or fake's own API).
        var seed: ([RRset]) throws -> Void = { _ in }
        /// Runs after the scenario (whatever its outcome).
        var cleanup: () throws -> Void = {}
        /// The HTTP requests the adapter made (fakes only).
        var requests: () -> [FakeHTTPServer.Request] = { [] }
        /// What a listing request's line contains (fakes only).
        var listing = ""
        /// Makes the next listing request answer 429 with `Retry-After: 0`; nil: why not.
        var rateLimitOnce: (() -> Void)? = nil
        var noRateLimit = ""
        /// Lists the zone in pages of three from now on; nil: why not.
        var pagesOfThree: (() -> Void)? = nil
        var noPages = ""
        /// Makes the apply of the plan just made fail: a scripted API error (fakes), or an edit
        /// of the apex TXT behind the plan's back (servers, zone file). Runs between plan and apply.
        var failWrite: (() throws -> Void)? = nil
        /// The apply report of "failed write" (built with ``ConformanceTests/report(_:error:applied:failed:)``),
        /// its error line cut before any "; body sent:".
        var failedReport: [String] = []
        /// The request paths of a listing in pages of three.
        var pages: [String] = []
        /// Keys of RRsets the server keeps for itself (glue of its NS), left out of ``stored``.
        var own: Set<RRsetKey> = []
        /// How the engine builds the adapter: the registry, unless credentials must come from
        /// somewhere other than the process environment.
        var make: (ProviderConfig) throws -> any DNSProvider = ProviderRegistry.make

        init(type: String, zone: DomainName, settings: [String]) { self.type = type; self.zone = zone; self.settings = settings }
    }

    static let types = ["zonefile", "powerdns", "rfc2136", "route53", "cloudflare", "digitalocean", "hetzner", "desec", "gandi"]

    func backend(_ type: String) throws -> Backend {
        switch type {
        case "zonefile": return try zoneFile()
        case "powerdns": return try powerDNS()
        case "rfc2136": return try bind()
        case "route53": return try moto()
        case "cloudflare": return try cloudflare()
        case "digitalocean": return try digitalOcean()
        case "hetzner": return try hetzner()
        case "desec": return try deSEC()
        case "gandi": return try gandi()
        default: throw XCTSkip("no backend \(type)")
        }
    }

    func zoneFile() throws -> Backend {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("example.com.zone")
        let b = Backend(type: "zonefile", zone: dn("example.com"), settings: ["path: \(file.path)"])
        b.seed = { sets in
            var text = "$ORIGIN example.com.\n$TTL 3600\n@ IN SOA ns1.example.net. hostmaster.example.com. 2026010101 3600 900 604800 300\n@ IN NS ns1.example.net.\n"
            for s in sets { for r in s.rdata { text += "\(s.name.fqdn) \(s.ttl) IN \(s.type) \(r.presentation)\n" } }
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        b.noRateLimit = "a file has no rate limit"
        b.noPages = "a zone file is read whole"
        b.failWrite = {
            // Someone edits the file after the plan: apply compares the bytes and refuses.
            let h = try FileHandle(forWritingTo: file)
            h.seekToEndOfFile(); h.write(Data("example.com. 3600 IN TXT \"edited=1\"\n".utf8)); try h.close()
        }
        b.failedReport = report(b, error: "the zone file \(file.path) changed since the plan was made: example.com. TXT holds other records than when the plan was made; make a new plan; nothing was applied and \(file.path) is unchanged",
                                failed: ["example.com. TXT"])
        return b
    }

    func powerDNS() throws -> Backend {
        let pdns = try PDNSServer.fromEnvironment()
        let zone = uniqueZone("conf")
        addTeardownBlock { pdns.deleteZone(zone) }
        let b = Backend(type: "powerdns", zone: zone, settings: ["url: \(pdns.url.absoluteString)", "api_key: ${PDNS_API_KEY}"])
        b.env = ["PDNS_API_KEY": pdns.key]
        b.seed = { try pdns.createZone(zone, $0) }
        b.noRateLimit = "a real PowerDNS has no rate limit to provoke"
        b.noPages = "the PowerDNS API returns a zone in one response"
        b.failWrite = {
            // A colleague adds a value to the shared apex TXT after the plan: the engine's re-read
            // before the write sees it and writes nothing.
            try pdns.replace(zone, [RRset(name: zone, type: .txt, ttl: 3600, rdata: Self.apexTXT(multiString: true) + [.txt("edited=1")])])
        }
        b.failedReport = changedSincePlan(b)
        return b
    }

    func bind() throws -> Backend {
        let server = try BINDServer.fromEnvironment()
        let zone = try DomainName(server.zones[1])
        let keyFile = try server.keyFile(removedAfter: self)
        let b = Backend(type: "rfc2136", zone: zone, settings: ["server: \(server.address)", "tsig_key_name: \(server.keyName)",
                                                                "tsig_secret: ${TSIG_SECRET}"])
        b.env = ["TSIG_SECRET": server.secret]
        func nsupdate(_ lines: [String]) throws {
            let r = try runProgram(URL(fileURLWithPath: "/usr/bin/nsupdate"), ["-k", keyFile.path],
                                   stdin: Data((["server \(server.host) \(server.port)", "zone \(zone.fqdn)"] + lines + ["send", ""]).joined(separator: "\n").utf8))
            guard r.status == 0 else { throw LiveDNSError("nsupdate: " + String(decoding: r.stdout + r.stderr, as: UTF8.self)) }
        }
        // BIND's zones are shared with RFC2136BINDTests: whatever a scenario leaves goes.
        func empty() throws { try nsupdate(try self.stored(b).map { "update delete \($0.name.fqdn) \($0.type)" }) }
        b.cleanup = empty
        b.seed = { sets in
            // Everything but the SOA, the NS and its address goes, then the seed is added.
            try empty()
            try nsupdate(sets.flatMap { s in s.rdata.map { "update add \(s.name.fqdn) \(s.ttl) \(s.type) \($0.presentation)" } })
        }
        b.noRateLimit = "BIND answers UPDATE without a rate limit"
        b.noPages = "the zone is read by one AXFR"
        b.own = [RRsetKey(try DomainName("ns1", relativeTo: zone), .a)]
        b.failWrite = { try nsupdate(["update add \(zone.fqdn) 3600 TXT \"edited=1\""]) }
        b.failedReport = report(b, error: "a prerequisite of the update of zone \(zone.fqdn) failed (NXRRSET): the zone changed since the plan read it; run plan again; nothing was applied (one UPDATE message is all-or-nothing)",
                                failed: planned(b))
        return b
    }

    func moto() throws -> Backend {
        let moto = try MotoServer.fromEnvironment()
        let zone = try DomainName("conf-\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example")
        let b = Backend(type: "route53", zone: zone, settings: ["endpoint: \(moto.endpoint.absoluteString)"])
        b.env = MotoServer.environment
        b.make = { try ProviderRegistry.make($0, environment: MotoServer.environment) }
        var id = ""
        b.seed = { id = try moto.createZone(zone.withoutTrailingDot, seed: $0) }
        b.noRateLimit = "moto does not throttle"
        b.noPages = "moto's ListResourceRecordSets returns the zone in one page"
        b.failWrite = {
            try moto.change(id, [.init(.upsert, Route53Convert.apiRecordSet(RRset(name: zone, type: .txt, ttl: 3600,
                                                                                 rdata: Self.apexTXT(multiString: true) + [.txt("edited=1")])))])
        }
        b.failedReport = changedSincePlan(b)
        return b
    }

    func cloudflare() throws -> Backend {
        let fake = try cloudflareFake("cf-conformance-token")
        let zoneID = fake.addZone("example.com")
        let b = fakeBackend("cloudflare", url: fake.url, token: fake.token, requests: { fake.requests })
        b.seed = { sets in
            for s in sets { for r in s.rdata { _ = fake.seed(zone: "example.com", "\(s.type)", s.name.withoutTrailingDot, r.presentation, ttl: Int(s.ttl)) } }
        }
        b.listing = "/zones/\(zoneID)/dns_records?"
        b.rateLimitOnce = { fake.script("GET", "/dns_records", CloudflareFake.rateLimited(retryAfter: 0)) }
        b.pagesOfThree = { fake.maxPerPage = 3 }
        b.failWrite = { fake.failBatches = [0] }
        let all = planned(b)
        b.failedReport = report(b, error: "Cloudflare refused the batch for " + all.map { ($0 == "example.com. TXT" ? "update " : "create ") + $0 }.joined(separator: ", ")
                                + " (HTTP 400): 1004 DNS Validation Error; the batch is one transaction, so none of it was applied; nothing was applied", failed: all)
        b.pages = (1...3).map { "/client/v4/zones/\(zoneID)/dns_records?page=\($0)&per_page=100" }
        return b
    }

    func digitalOcean() throws -> Backend {
        let fake = try digitalOceanFake("do-conformance-token")
        fake.addDomain("example.com")
        let b = fakeBackend("digitalocean", url: fake.url, token: fake.token, requests: { fake.requests })
        b.noNullMX = "DigitalOcean cannot hold a null MX"
        b.nullMXRefusal = "test.yaml:19:5: error: noreply.example.com. MX: provider 'p' (digitalocean) does not accept a null MX (0 .); host this zone at a provider that does, or list a real MX"
        b.multiString = false
        b.seed = { sets in
            for s in sets {
                for r in s.rdata { _ = fake.seed(domain: "example.com", "\(s.type)", Self.relative(s.name, "@"), r.txtValue ?? r.presentation, ttl: Int(s.ttl)) }
            }
        }
        b.listing = "/domains/example.com/records?"
        b.rateLimitOnce = { fake.script("GET", "/records?", DigitalOceanFake.rateLimited(retryAfter: 0)) }
        b.pagesOfThree = { fake.maxPerPage = 3 }
        b.failWrite = { fake.failWrites = [1] }
        b.failedReport = report(b, error: "DigitalOcean refused POST \(fake.url)/domains/example.com/records for create _dmarc.example.com. TXT (HTTP 400): bad_request: There was an error processing your request.; none of its record calls were done; run plan again to see what is left",
                                applied: ["example.com. MX"], failed: ["_dmarc.example.com. TXT"])
        b.pages = (1...3).map { "/v2/domains/example.com/records?page=\($0)&per_page=200" }
        return b
    }

    func hetzner() throws -> Backend {
        let fake = try HetznerCloudFake()
        addTeardownBlock { fake.stop() }
        fake.addZone("example.com")
        let b = fakeBackend("hetzner", url: fake.url, token: fake.token, requests: { fake.requests })
        b.seed = Self.rrsetSeed(apex: "@") { fake.put("example.com", $0, $1, ttl: $2, $3) }
        b.listing = "/zones/example.com/rrsets?"
        b.rateLimitOnce = {
            fake.faults.add("GET", "/rrsets?", FakeHTTPServer.Response(429, headers: ["Retry-After": "0"],
                #"{"error":{"code":"rate_limit_exceeded","message":"limit of 3600 requests per hour reached"}}"#))
        }
        b.pagesOfThree = { [unowned b] in b.settings.append("page_size: 3") }
        b.failWrite = {
            fake.faults.add("POST", "/rrsets/@/TXT/actions/set_records", FakeHTTPServer.Response(422, headers: ["Content-Type": "application/json"],
                #"{"error":{"code":"invalid_input","message":"invalid input in field 'records'"}}"#))
        }
        b.failedReport = report(b, error: "Hetzner refused the set_records of example.com. TXT: POST \(fake.url)/zones/example.com/rrsets/@/TXT/actions/set_records returned HTTP 422: \"invalid_input: invalid input in field 'records'\"",
                                applied: Array(planned(b).dropLast()), failed: ["example.com. TXT"])
        b.pages = (1...3).map { "/v1/zones/example.com/rrsets?page=\($0)&per_page=3" }
        return b
    }

    func deSEC() throws -> Backend {
        let fake = try DeSECFake()
        addTeardownBlock { fake.stop() }
        fake.addDomain("example.com")
        let b = fakeBackend("desec", url: fake.url, token: fake.token, requests: { fake.requests })
        b.seed = Self.rrsetSeed(apex: "") { fake.put("example.com", $0, $1, ttl: $2, $3) }
        b.listing = "/domains/example.com/rrsets/"
        b.rateLimitOnce = {
            fake.faults.add("GET", "/rrsets/", FakeSupport.json(429, ["detail": "Request was throttled. Expected available in 0 seconds."], headers: ["Retry-After": "0"]))
        }
        b.pagesOfThree = { fake.pageLimit = 3 }
        b.failWrite = {
            fake.faults.add("PATCH", "/rrsets/", FakeSupport.json(400, [["records": ["Invalid record content."]]]))
        }
        b.failedReport = report(b, error: "deSEC refused the bulk PATCH (HTTP 400): records: Invalid record content.; nothing was applied", failed: planned(b))
        b.pages = ["/api/v1/domains/example.com/rrsets/", "/api/v1/domains/example.com/rrsets/?cursor=",
                   "/api/v1/domains/example.com/rrsets/?cursor=cur3", "/api/v1/domains/example.com/rrsets/?cursor=cur6"]
        return b
    }

    func gandi() throws -> Backend {
        let fake = try GandiFake()
        addTeardownBlock { fake.stop() }
        fake.addDomain("example.com")
        let b = fakeBackend("gandi", url: fake.url, token: fake.token, requests: { fake.requests })
        b.seed = Self.rrsetSeed(apex: "@") { fake.put("example.com", $0, $1, ttl: $2, $3) }
        b.listing = "/domains/example.com/records?"
        b.rateLimitOnce = {
            fake.faults.add("GET", "/records?", FakeSupport.json(429, ["code": 429, "message": "Too Many Requests"], headers: ["Retry-After": "0"]))
        }
        b.pagesOfThree = { [unowned b] in b.settings.append("page_size: 3") }
        b.failWrite = { fake.faults.add("PUT", "/records/_dmarc/TXT", GandiFake.invalid("rrset_values", "invalid value")) }
        b.failedReport = report(b, error: "Gandi refused the create of _dmarc.example.com. TXT: PUT \(fake.url)/domains/example.com/records/_dmarc/TXT returned HTTP 400: \"rrset_values: invalid value\"",
                                applied: ["example.com. MX"], failed: ["_dmarc.example.com. TXT"])
        b.pages = (1...3).map { "/v5/livedns/domains/example.com/records?page=\($0)&per_page=3" }
        return b
    }

    /// A backend over a contract fake at `url` whose token the plan reads from `${TOKEN}`.
    func fakeBackend(_ type: String, url: String, token: String, requests: @escaping () -> [FakeHTTPServer.Request]) -> Backend {
        let b = Backend(type: type, zone: dn("example.com"), settings: ["token: ${TOKEN}", "api_url: \(url)"])
        b.env = ["TOKEN": token]
        b.requests = requests
        return b
    }

    /// Seeds an RRset-level fake through `put(relative name, type, TTL, presentation values)`,
    /// the apex spelled `apex`.
    static func rrsetSeed(apex: String, _ put: @escaping (String, String, Int, [String]) -> Void) -> ([RRset]) throws -> Void {
        { sets in for s in sets { put(relative(s.name, apex), "\(s.type)", Int(s.ttl), s.rdata.map(\.presentation)) } }
    }

    /// `name` relative to example.com, the apex spelled `apex`.
    static func relative(_ name: DomainName, _ apex: String) -> String {
        name == dn("example.com") ? apex : String(name.withoutTrailingDot.dropLast(".example.com".count))
    }

    // MARK: the plan and the zone

    /// The apex TXT values mailplan does not own: a DNS-SD style value in two strings
    /// (RFC 6763 §6) where the provider keeps string boundaries, else one string.
    static func apexTXT(multiString: Bool) -> [RData] {
        [multiString ? .txt(TXTData(strings: [Array("txtvers=1".utf8), Array("path=/x".utf8)])) : .txt("txtvers=1 path=/x")]
    }

    /// The starting zone: the apex TXT (foreign values and an old SPF), a www A and an ACME
    /// token. None of it but the SPF value is the plan's.
    func seeds(_ b: Backend) -> [RRset] {
        [RRset(name: b.zone, type: .txt, ttl: 3600, rdata: Self.apexTXT(multiString: b.multiString) + [.txt("v=spf1 a -all")]),
         RRset(name: try! DomainName("www", relativeTo: b.zone), type: .a, ttl: 3600, rdata: [try! RData.parse(type: .a, "192.0.2.80")]),
         RRset(name: try! DomainName("_acme-challenge", relativeTo: b.zone), type: .txt, ttl: 3600, rdata: [.txt("token-xyz")])]
    }

    /// The plan: MX preference 0 at the apex, SPF (shared apex TXT), a 2048-bit DKIM key
    /// (410 bytes), DMARC, the mail host's A, and a null MX at noreply (by default where the
    /// provider can hold one).
    func yaml(_ b: Backend, ttl: Int = 3600, nullMX: Bool? = nil) -> String {
        let z = b.zone.withoutTrailingDot
        return """
        version: 1
        server:
          hostname: mail.\(z)
          ipv4: 192.0.2.25
        providers:
          p:
            type: \(b.type)
        \(b.settings.map { "    " + $0 }.joined(separator: "\n"))
        defaults:
          ttl: \(ttl)
        domains:
          - name: \(z)
            provider: p
            mx: [{host: mail.\(z), preference: 0}]
            spf: {senders: [mx], all: "-all"}
            dkim: [{selector: mail2026, public_key_file: keys/mail2026.pub}]
            dmarc: {policy: quarantine, rua: ["mailto:dmarc@\(z)"]}

        """ + (nullMX ?? (b.noNullMX == nil) ? """
          - name: noreply.\(z)
            zone: \(z)
            provider: p
            mx: [{host: ".", preference: 0}]

        """ : "")
    }

    func engine(_ b: Backend, ttl: Int = 3600, nullMX: Bool? = nil) throws -> Engine {
        Engine(plan: try loadPlan(yaml(b, ttl: ttl, nullMX: nullMX), dir: repoRoot.appendingPathComponent("plans"), env: b.env),
               now: Date(), makeProvider: b.make)
    }

    /// The zone as the adapter reads it now, SOA and NS left out (the provider's own).
    func stored(_ b: Backend) throws -> [RRset] {
        try engine(b).provider("p").readZone(b.zone).filter { $0.type != .soa && $0.type != .ns && !b.own.contains($0.key) }
    }

    /// RRsets as sorted lines `owner TTL TYPE rdata | rdata`.
    func lines(_ sets: [RRset]) -> [String] {
        sets.map { "\($0.name.fqdn) \($0.ttl) \($0.type) " + $0.rdata.map(\.presentation).sorted().joined(separator: " | ") }.sorted()
    }

    var dkim: String { dkim2048 }

    /// The zone after the mail set is applied to the starting zone, as ``lines(_:)``.
    func expected(_ b: Backend, ttl: UInt32 = 3600) -> [String] {
        let z = b.zone.fqdn
        let apexForeign = b.multiString ? #""txtvers=1" "path=/x""# : #""txtvers=1 path=/x""#
        var out = [
            "\(z) \(ttl) MX 0 mail.\(z)",
            "\(z) 3600 TXT \(apexForeign) | \"v=spf1 mx -all\"",
            "_dmarc.\(z) \(ttl) TXT \"v=DMARC1; p=quarantine; rua=mailto:dmarc@\(b.zone.withoutTrailingDot)\"",
            "mail2026._domainkey.\(z) \(ttl) TXT \"\(dkim.prefix(255))\" \"\(dkim.dropFirst(255))\"",
            "mail.\(z) \(ttl) A 192.0.2.25",
            "www.\(z) 3600 A 192.0.2.80",
            "_acme-challenge.\(z) 3600 TXT \"token-xyz\"",
        ]
        if b.noNullMX == nil { out.append("noreply.\(z) \(ttl) MX 0 .") }
        return out.sorted()
    }

    /// The keys the plan changes on the starting zone, in plan order.
    func planned(_ b: Backend) -> [String] {
        let z = b.zone.fqdn
        return ["\(z) MX", "_dmarc.\(z) TXT", "mail2026._domainkey.\(z) TXT", "mail.\(z) A"]
            + (b.noNullMX == nil ? ["noreply.\(z) MX"] : []) + ["\(z) TXT"]
    }

    static let noChanges = "No changes. The live DNS matches the plan.\n"

    // MARK: running

    /// Runs `body` as scenario `name` of adapter `type` on a fresh, seeded backend and prints
    /// its line: ok (no assertion failed), FAILED, or the reason `body` returned.
    func scenario(_ type: String, _ name: String, _ body: (Backend) throws -> String?) throws {
        let b = try backend(type)
        let before = testRun?.failureCount ?? 0
        var outcome: String? = nil
        do {
            try b.seed(seeds(b))
            outcome = try body(b)
        } catch { XCTFail("\(type) / \(name): \(error)") }
        XCTAssertNoThrow(try b.cleanup(), "\(type) / \(name): cleaning up")
        let failed = (testRun?.failureCount ?? 0) > before
        print("conformance: \(type) / \(name): " + (failed ? "FAILED" : outcome ?? "ok"))
    }

    /// Plans and applies the mail set; asserts the plan and a clean report.
    @discardableResult
    func applyMailSet(_ b: Backend) throws -> Engine {
        let e = try engine(b)
        let plan = try e.makePlan()
        XCTAssertEqual(plan.changesets.flatMap(\.changes).map(\.key.description), planned(b), b.type)
        let report = e.apply(plan)
        XCTAssertTrue(report.succeeded, "\(b.type): \(reportLines(report))")
        XCTAssertEqual(reportLines(report).sorted(), planned(b).map { "applied: " + ($0 == "\(b.zone.fqdn) TXT" ? "update " : "create ") + $0 }.sorted(), b.type)
        return e
    }

    func runAll(_ type: String) throws {
        try scenario(type, "create the mail set") { b in
            try applyMailSet(b)
            XCTAssertEqual(lines(try stored(b)), expected(b), b.type)
            return nil
        }
        try scenario(type, "K410 DKIM as two strings") { b in
            try applyMailSet(b)
            let key = try stored(b).first { $0.key == RRsetKey(try DomainName("mail2026._domainkey", relativeTo: b.zone), .txt) }
            XCTAssertEqual(dkim.utf8.count, 410)
            XCTAssertEqual(key?.rdata, [.txt(TXTData(strings: [Array(dkim.utf8.prefix(255)), Array(dkim.utf8.dropFirst(255))]))], b.type)
            return nil
        }
        try scenario(type, "null MX") { b in
            if let why = b.noNullMX {
                // The plan is refused before any API call, naming the RRset and the provider.
                XCTAssertThrowsError(try engine(b, nullMX: true).validate()) { e in
                    XCTAssertEqual((e as? DiagnosticsError)?.diagnostics.map(\.description), [b.nullMXRefusal], "\(e)")
                }
                return "skipped (\(why): validate refuses the plan)"
            }
            try applyMailSet(b)
            let mx = try stored(b).first { $0.key == RRsetKey(try DomainName("noreply", relativeTo: b.zone), .mx) }
            XCTAssertEqual(mx?.rdata, [.mx(preference: 0, exchange: .root)], b.type)
            return nil
        }
        try scenario(type, "MX preference 0") { b in
            try applyMailSet(b)
            let mx = try stored(b).first { $0.key == RRsetKey(b.zone, .mx) }
            XCTAssertEqual(mx?.rdata, [.mx(preference: 0, exchange: try DomainName("mail", relativeTo: b.zone))], b.type)
            return nil
        }
        try scenario(type, "apex naming") { b in
            try applyMailSet(b)
            let names = Set(try stored(b).map(\.name.fqdn))
            XCTAssertEqual(try stored(b).filter { $0.name == b.zone }.map(\.type.description).sorted(), ["MX", "TXT"], b.type)
            XCTAssertFalse(names.contains("@.\(b.zone.fqdn)") || names.contains("\(b.zone.withoutTrailingDot).\(b.zone.fqdn)"), "\(names)")
            return nil
        }
        try scenario(type, "TTL clamp") { b in
            let range = try engine(b).provider("p").capabilities.ttlRange
            let (ttl, clamped): (UInt32, UInt32)
            if range.lowerBound > 1 { (ttl, clamped) = (range.lowerBound - 1, range.lowerBound) }
            else if range.upperBound < 2_147_483_647 { (ttl, clamped) = (range.upperBound + 1, range.upperBound) }
            else { return "not applicable (\(b.type) accepts every TTL 1–2147483647 s)" }
            let e = try engine(b, ttl: Int(ttl))
            let plan = try e.makePlan()
            let note = "TTL \(ttl) is outside what \(b.type) accepts (\(range.lowerBound)–\(range.upperBound) s); using \(clamped)"
            for c in plan.changesets.flatMap(\.changes) {
                // The shared apex TXT keeps the TTL it has: its other values are not the plan's.
                XCTAssertEqual(c.after?.ttl, c.key == RRsetKey(b.zone, .txt) ? 3600 : clamped, "\(c.key)")
                XCTAssertTrue(c.notes.contains(note), "\(c.key): \(c.notes)")
            }
            XCTAssertTrue(e.apply(plan).succeeded)
            XCTAssertEqual(lines(try stored(b)), expected(b, ttl: clamped), b.type)
            return nil
        }
        try scenario(type, "unrelated records kept") { b in
            try applyMailSet(b)
            let after = try stored(b)
            let seeded = seeds(b)
            for s in seeded.dropFirst() { XCTAssertEqual(after.first { $0.key == s.key }, s, "\(b.type): \(s.key)") }
            let apex = after.first { $0.key == RRsetKey(b.zone, .txt) }
            XCTAssertEqual(apex?.rdata.filter { $0 != .txt("v=spf1 mx -all") }, Self.apexTXT(multiString: b.multiString), b.type)
            return b.multiString ? nil : "ok (one-string TXT: \(b.type) holds a TXT value joined)"
        }
        try scenario(type, "three pages") { b in
            guard let pages = b.pagesOfThree else { return "not applicable (\(b.noPages))" }
            try applyMailSet(b)
            pages()
            let before = b.requests().count
            XCTAssertEqual(PlanRenderer.text(try engine(b).makePlan().changesets), Self.noChanges, b.type)
            let listed = b.requests().dropFirst(before).filter { $0.method == "GET" && $0.path.contains(b.listing) }
            XCTAssertEqual(listed.map(\.path), b.pages, b.type)
            return nil
        }
        try scenario(type, "429 then success") { b in
            guard let limit = b.rateLimitOnce else { return "not applicable (\(b.noRateLimit))" }
            try applyMailSet(b)
            let before = b.requests().count
            limit()
            XCTAssertEqual(PlanRenderer.text(try engine(b).makePlan().changesets), Self.noChanges, b.type)
            let listed = b.requests().dropFirst(before).filter { $0.method == "GET" && $0.path.contains(b.listing) }
            XCTAssertEqual(listed.count, 2, "\(b.type): the listing once refused with 429, then answered: \(listed.map(\.path))")
            XCTAssertEqual(listed.first?.path, listed.last?.path)
            return nil
        }
        try scenario(type, "failed write") { b in
            guard let fail = b.failWrite else { return "not applicable" }
            let e = try engine(b)
            let plan = try e.makePlan()
            try fail()
            let report = e.apply(plan)
            XCTAssertFalse(report.succeeded)
            let got = reportLines(report).map { $0.components(separatedBy: "; body sent: ")[0] }
            XCTAssertEqual(got, b.failedReport, b.type)
            return nil
        }
        try scenario(type, "re-plan is a no-op") { b in
            try applyMailSet(b)
            let again = try engine(b).makePlan()
            XCTAssertEqual(again.changesets.map(\.changes), [[]], b.type)
            XCTAssertEqual(PlanRenderer.text(again.changesets), Self.noChanges, b.type)
            return nil
        }
    }

    /// The report when the engine's re-read before the write finds the apex TXT changed
    /// (the "failed write" edit of an adapter without conditional writes).
    func changedSincePlan(_ b: Backend) -> [String] {
        let z = b.zone.fqdn
        return report(b, error: "changed since the plan was made: \(z) TXT is now ttl 3600 \"edited=1\", \"txtvers=1\" \"path=/x\" (the plan was made from ttl 3600 \"txtvers=1\" \"path=/x\", \"v=spf1 a -all\"); nothing was written to this zone: re-run mailplan plan",
                      failed: ["\(z) TXT"])
    }

    /// An apply report as `reportLines`: the error, then the changes applied, failed and not
    /// attempted (keys of ``planned(_:)``, whose action is "update" for the apex TXT).
    func report(_ b: Backend, error: String, applied: [String] = [], failed: [String], notAttemptedOthers: Bool = true) -> [String] {
        let action = { (k: String) in (k == "\(b.zone.fqdn) TXT" ? "update " : "create ") + k }
        let rest = notAttemptedOthers ? planned(b).filter { !applied.contains($0) && !failed.contains($0) } : []
        return ["error: provider p, zone \(b.zone.fqdn): " + error] + applied.map { "applied: " + action($0) }
            + failed.map { "failed: " + action($0) } + rest.map { "not attempted: " + action($0) }
    }

    func testZoneFile() throws { try runAll("zonefile") }
    func testPowerDNS() throws { try runAll("powerdns") }
    func testRFC2136() throws { try runAll("rfc2136") }
    func testRoute53() throws { try runAll("route53") }
    func testCloudflare() throws { try runAll("cloudflare") }
    func testDigitalOcean() throws { try runAll("digitalocean") }
    func testHetzner() throws { try runAll("hetzner") }
    func testDeSEC() throws { try runAll("desec") }
    func testGandi() throws { try runAll("gandi") }
}

private func dn(_ s: String) -> DomainName { try! DomainName(s) }
