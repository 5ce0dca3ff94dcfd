import Foundation
import MailPlan
import Providers
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// What a test does when a server of `scripts/servers start` is not there: in CI
/// (`CI` set) the test fails, since CI starts every server; elsewhere it is skipped.
/// - Returns: the `XCTSkip` to throw (after recording the failure in CI).
func missingServer(_ message: String) -> XCTSkip {
    if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail(message); return XCTSkip("failed: " + message) }
    return XCTSkip(message)
}

/// The real PowerDNS of `scripts/servers start`: its API (to create test zones) and its DNS
/// port (to query through the ldns resolver). Fails in CI when missing, skips otherwise.
struct PDNSServer {
    let url: URL
    let key: String
    let dns: NameServer
    let http = HTTPClient(options: HTTPClientOptions(totalTimeout: 20))

    static func fromEnvironment() throws -> PDNSServer {
        let env = ProcessInfo.processInfo.environment
        guard let u = env["MAILPLAN_PDNS_URL"], let url = URL(string: u), let k = env["MAILPLAN_PDNS_API_KEY"],
              let d = env["MAILPLAN_PDNS_DNS"], let ns = try? NameServer(parsing: d) else {
            throw missingServer("MAILPLAN_PDNS_URL / MAILPLAN_PDNS_API_KEY / MAILPLAN_PDNS_DNS not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env")
        }
        return PDNSServer(url: url, key: k, dns: ns)
    }

    func zoneURL(_ zone: DomainName? = nil) -> URL {
        URL(string: url.absoluteString + "/api/v1/servers/localhost/zones" + (zone.map { "/" + $0.fqdn } ?? ""))!
    }
    var headers: HTTPHeaders { ["X-API-Key": key, "Content-Type": "application/json", "Accept": "application/json"] }

    /// Deletes `zone` if it exists, then creates it with `nameservers` and `rrsets`.
    func createZone(_ zone: DomainName, nameservers: [String] = ["ns1.example.net.", "ns2.example.net."], _ rrsets: [RRset] = []) throws {
        deleteZone(zone)
        struct Body: Encodable { var name: String; var kind = "Native"; var nameservers: [String]; var rrsets: [PowerDNSConvert.APIRRset] }
        let body = Body(name: zone.fqdn, nameservers: nameservers,
                        rrsets: rrsets.map { var r = PowerDNSConvert.replace($0); r.changetype = nil; return r })
        let resp = try http.send(HTTPRequest(.post, zoneURL(), headers: headers, body: try JSONEncoder().encode(body)))
        guard resp.status == 201 else { throw LiveDNSError("creating \(zone.fqdn): HTTP \(resp.status) \(resp.text)") }
        try flushCache(zone)
    }

    /// Empties PowerDNS's packet and query caches for `zone` and every name below it, so an
    /// earlier negative answer (REFUSED, NXDOMAIN) for a reused name is not served again.
    func flushCache(_ zone: DomainName) throws {
        let u = URL(string: url.absoluteString + "/api/v1/servers/localhost/cache/flush?domain=" + zone.fqdn)!
        let resp = try http.send(HTTPRequest(.put, u, headers: ["X-API-Key": key] as HTTPHeaders))
        guard resp.status == 200 else { throw LiveDNSError("flushing the cache for \(zone.fqdn): HTTP \(resp.status) \(resp.text)") }
    }

    func deleteZone(_ zone: DomainName) {
        _ = try? http.send(HTTPRequest(.delete, zoneURL(zone), headers: ["X-API-Key": key] as HTTPHeaders))
    }

    /// Replaces RRsets of `zone` with one PATCH.
    func replace(_ zone: DomainName, _ rrsets: [RRset]) throws {
        struct Body: Encodable { var rrsets: [PowerDNSConvert.APIRRset] }
        let resp = try http.send(HTTPRequest(.patch, zoneURL(zone), headers: headers,
                                             body: try JSONEncoder().encode(Body(rrsets: rrsets.map(PowerDNSConvert.replace)))))
        guard resp.status == 204 else { throw LiveDNSError("patching \(zone.fqdn): HTTP \(resp.status) \(resp.text)") }
        try flushCache(zone)
    }
}

func rrset(_ name: String, _ zone: DomainName, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: try! DomainName(name, relativeTo: zone), type: type, ttl: ttl,
          rdata: values.map { type == .txt ? .txt($0) : try! RData.parse(type: type, $0, origin: zone) })
}

/// A unique test zone name under `mailplan-test.example.`.
func uniqueZone(_ prefix: String = "t") -> DomainName {
    try! DomainName("\(prefix)\(UUID().uuidString.prefix(8).lowercased()).mailplan-test.example")
}

/// A UDP "name server" on 127.0.0.1 for faults PowerDNS cannot produce: it answers every
/// query with the given rcode (and TC when asked), or never answers at all.
final class FakeUDPNameServer: @unchecked Sendable {
    enum Behaviour { case rcode(UInt8), truncated, silent }
    let fd: Int32
    let port: UInt16
    private let behaviour: Behaviour
    private var thread: Thread? = nil
    private let stopped = NSLock()
    private var isStopped = false
    private(set) var queries = 0

    init(_ behaviour: Behaviour) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw LiveDNSError("bind failed: errno \(errno)") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        self.port = UInt16(bigEndian: addr.sin_port)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let t = Thread { [self] in self.serve() }
        thread = t
        t.start()
    }

    var server: NameServer { NameServer(address: "127.0.0.1", port: port) }

    private func serve() {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            stopped.lock(); let s = isStopped; stopped.unlock()
            if s { return }
            var from = sockaddr_storage()
            var fromLen = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = withUnsafeMutablePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &fromLen) }
            }
            if n < 12 { continue }
            stopped.lock(); queries += 1; stopped.unlock()
            var reply = Array(buf[0..<n])
            switch behaviour {
            case .silent: continue
            case .rcode(let r): reply[2] = 0x80 | (reply[2] & 0x01); reply[3] = r & 0x0f
            case .truncated: reply[2] = 0x80 | 0x02 | (reply[2] & 0x01)  // QR, TC; reply[3] = 0
            }
            // No answer records; keep the question, drop the additional (OPT) section.
            reply[6] = 0; reply[7] = 0; reply[8] = 0; reply[9] = 0; reply[10] = 0; reply[11] = 0
            _ = withUnsafePointer(to: &from) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, reply, reply.count, 0, $0, fromLen) }
            }
        }
    }

    func stop() {
        stopped.lock(); isStopped = true; stopped.unlock()
        while thread?.isFinished == false { usleep(10_000) }
        close(fd)
    }
}

/// A clock whose sleep advances time instantly and can run an action (propagation) on a given sleep.
final class FakeClock: WaitClock, @unchecked Sendable {
    private let lock = NSLock()
    private var t: Double = 1000
    private(set) var sleeps: [Double] = []
    var onSleep: (Int) -> Void = { _ in }
    func now() -> Double { lock.lock(); defer { lock.unlock() }; return t }
    func sleep(_ seconds: Double) {
        lock.lock(); t += seconds; sleeps.append(seconds); let n = sleeps.count; lock.unlock()
        onSleep(n)
    }
}

/// The BIND 9 primary of `scripts/servers start` (`MAILPLAN_BIND_ADDR`, `MAILPLAN_BIND_TSIG_NAME`,
/// `MAILPLAN_BIND_TSIG_SECRET`, `MAILPLAN_BIND_ZONES`): RFC 2136 UPDATE with TSIG (hmac-sha256).
struct BINDServer {
    let host: String
    let port: UInt16
    let keyName: String
    let secret: String
    /// The zones BIND holds for the tests (at least two: `scripts/servers` makes them).
    let zones: [String]

    /// The server from the environment; fails in CI when missing, skips otherwise.
    static func fromEnvironment() throws -> BINDServer {
        let env = ProcessInfo.processInfo.environment
        guard let addr = env["MAILPLAN_BIND_ADDR"], let k = env["MAILPLAN_BIND_TSIG_NAME"], let s = env["MAILPLAN_BIND_TSIG_SECRET"],
              let zones = env["MAILPLAN_BIND_ZONES"]?.split(separator: " ").map(String.init), zones.count >= 2 else {
            throw missingServer("MAILPLAN_BIND_* not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env")
        }
        let parts = addr.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw missingServer("MAILPLAN_BIND_ADDR \(addr) is not host:port") }
        return BINDServer(host: String(parts[0]), port: port, keyName: k, secret: s, zones: zones)
    }

    /// "host:port", as the rfc2136 provider's `server:` setting takes it.
    var address: String { "\(host):\(port)" }

    /// Writes an nsupdate/dig key file for the TSIG key; removed when `test` ends.
    func keyFile(removedAfter test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-tsig-\(UUID().uuidString).conf")
        try "key \"\(keyName)\" { algorithm hmac-sha256; secret \"\(secret)\"; };\n".write(to: url, atomically: true, encoding: .utf8)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// moto's Route 53 API of `scripts/servers start` (`MAILPLAN_MOTO_URL`).
struct MotoServer {
    let endpoint: URL
    /// Credentials moto accepts (any); requests are still SigV4-signed with them.
    static let environment = ["AWS_ACCESS_KEY_ID": "AKIAMAILPLANTEST", "AWS_SECRET_ACCESS_KEY": "mailplan/test+secret"]

    /// The server from the environment; fails in CI when missing, skips otherwise.
    static func fromEnvironment() throws -> MotoServer {
        guard let u = ProcessInfo.processInfo.environment["MAILPLAN_MOTO_URL"], let url = URL(string: u) else {
            throw missingServer("MAILPLAN_MOTO_URL not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env")
        }
        return MotoServer(endpoint: url)
    }

    /// A Route 53 adapter talking to moto with ``environment``'s credentials.
    func provider(name: String = "aws") -> Route53Provider {
        Route53Provider(name: name, endpoint: endpoint, credentials: AWSCredentials.fromEnvironment(Self.environment)!,
                        client: HTTPClient(options: HTTPClientOptions(totalTimeout: 20)))
    }

    /// Creates hosted zone `zone` holding `seed` (one CREATE batch).
    /// - Returns: the hosted zone ID.
    /// - Throws: `LiveDNSError` naming the request that moto refused.
    @discardableResult
    func createZone(_ zone: String, seed: [RRset]) throws -> String {
        let p = provider()
        let body = """
        <?xml version="1.0" encoding="UTF-8"?>
        <CreateHostedZoneRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Name>\(zone)</Name><CallerReference>\(UUID().uuidString)</CallerReference></CreateHostedZoneRequest>
        """
        let (_, resp) = try p.call(.post, "/2013-04-01/hostedzone", body: Data(body.utf8))
        guard resp.status == 201 else { throw LiveDNSError("creating hosted zone \(zone): HTTP \(resp.status) \(resp.text)") }
        let id = try p.hostedZoneID(try DomainName(zone))
        try change(id, seed.map { .init(.create, Route53Convert.apiRecordSet($0)) })
        return id
    }

    /// Sends one change batch to hosted zone `id` (nothing when `changes` is empty).
    /// - Throws: `LiveDNSError` when moto refuses it.
    func change(_ id: String, _ changes: [Route53Convert.BatchChange]) throws {
        guard !changes.isEmpty else { return }
        let (_, r) = try provider().call(.post, "/2013-04-01/hostedzone/\(id)/rrset/", body: Route53Convert.changeBatchXML(changes, comment: "test"))
        guard r.status == 200 else { throw LiveDNSError("change batch for \(id): HTTP \(r.status) \(r.text)") }
    }
}

/// The Postfix instances and the validating unbound of `scripts/servers start` (issue 15).
struct MailServers {
    let host: String, badHost: String, badGreeting: String
    let goodAddr: String, badAddr: String
    let goodPort: Int, goodSubmissions: Int, badPort: Int, badSubmissions: Int, renewedPort: Int
    /// nil when the machine has no IPv6 loopback (scripts/servers exports MAILPLAN_NO_IPV6=1).
    let goodV6Port: Int?
    let ca: String, cert: String, renewedCert: String, renewedPubkey: String
    let unbound: String, daneParent: String

    static func fromEnvironment() throws -> MailServers {
        let env = ProcessInfo.processInfo.environment
        func v(_ k: String) -> String? { env[k] }
        guard let host = v("MAILPLAN_POSTFIX_HOST"), let bh = v("MAILPLAN_POSTFIX_BAD_HOST"), let bg = v("MAILPLAN_POSTFIX_BAD_GREETING"),
              let ga = v("MAILPLAN_POSTFIX_GOOD_ADDR"), let ba = v("MAILPLAN_POSTFIX_BAD_ADDR"),
              let gp = v("MAILPLAN_POSTFIX_GOOD_PORT").flatMap(Int.init), let gs = v("MAILPLAN_POSTFIX_GOOD_SUBMISSIONS_PORT").flatMap(Int.init),
              let bp = v("MAILPLAN_POSTFIX_BAD_PORT").flatMap(Int.init), let bs = v("MAILPLAN_POSTFIX_BAD_SUBMISSIONS_PORT").flatMap(Int.init),
              let rp = v("MAILPLAN_POSTFIX_RENEWED_PORT").flatMap(Int.init), let ca = v("MAILPLAN_POSTFIX_CA"), let cert = v("MAILPLAN_POSTFIX_CERT"),
              let rc = v("MAILPLAN_POSTFIX_RENEWED_CERT"), let rk = v("MAILPLAN_POSTFIX_RENEWED_PUBKEY"),
              let ub = v("MAILPLAN_UNBOUND"), let dp = v("MAILPLAN_DANE_PARENT") else {
            throw missingServer("MAILPLAN_POSTFIX_* / MAILPLAN_UNBOUND not set: run scripts/servers start && source $MAILPLAN_SERVERS_DIR/env")
        }
        return MailServers(host: host, badHost: bh, badGreeting: bg, goodAddr: ga, badAddr: ba, goodPort: gp, goodSubmissions: gs,
                           badPort: bp, badSubmissions: bs, renewedPort: rp, goodV6Port: v("MAILPLAN_POSTFIX_GOOD_V6_PORT").flatMap(Int.init), ca: ca, cert: cert, renewedCert: rc, renewedPubkey: rk,
                           unbound: ub, daneParent: dp)
    }
}
