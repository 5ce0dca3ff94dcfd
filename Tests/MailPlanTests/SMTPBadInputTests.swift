import Foundation
@testable import MailPlan
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A scripted SMTP peer on 127.0.0.1 (an ephemeral port) for the malformed cases of issue 15:
/// each connection runs `script` with the accepted socket, then the socket is closed.
final class ScriptedPeer: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    let script: @Sendable (Int32) -> Void
    private var thread: Thread?

    init(ipv6: Bool = false, _ script: @escaping @Sendable (Int32) -> Void) throws {
        self.script = script
        let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        func listenOn<A>(_ a: inout A, _ port: (A) -> UInt16) -> UInt16? {
            let size = socklen_t(MemoryLayout<A>.size)
            let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
            guard r == 0, listen(fd, 8) == 0 else { return nil }
            var len = size
            _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
            return port(a)
        }
        var bound: UInt16?
        if ipv6 {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6)
            inet_pton(AF_INET6, "::1", &a.sin6_addr)
            bound = listenOn(&a) { UInt16(bigEndian: $0.sin6_port) }
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
            bound = listenOn(&a) { UInt16(bigEndian: $0.sin_port) }
        }
        guard let bound else { throw XCTSkip("cannot listen on \(ipv6 ? "::1" : "127.0.0.1")") }
        port = bound
        let script = self.script
        let t = Thread {
            while true {
                let c = accept(fd, nil, nil)
                if c < 0 { return }
                script(c)
                close(c)
            }
        }
        thread = t
        t.start()
    }

    func stop() { shutdown(fd, Int32(SHUT_RDWR)); close(fd) }

    static func write(_ c: Int32, _ s: String) { _ = s.withCString { Glibc.send(c, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
    /// A minimal SMTP conversation: greeting (after `delay` microseconds), `ehlo` for EHLO,
    /// `221` for QUIT; on STARTTLS it answers 220 and ends its side (a server that drops the
    /// handshake). It then reads until the client closes rather than closing at once: a close with
    /// the ClientHello unread in the receive buffer sends a reset instead of a FIN, and whether the
    /// client then sees "connection reset" or an end of stream would depend on timing.
    static func converse(_ c: Int32, ehlo: String, delay: useconds_t = 0) {
        if delay > 0 { usleep(delay) }
        write(c, "220 mail.example.com ESMTP\r\n")
        while true {
            let l = readLine(c).uppercased()
            if l.isEmpty || l.hasPrefix("QUIT") { write(c, "221 bye\r\n"); return }
            if l.hasPrefix("EHLO") { write(c, ehlo) }
            if l.hasPrefix("STARTTLS") {
                write(c, "220 go ahead\r\n")
                shutdown(c, Int32(SHUT_WR))
                var buffer = [UInt8](repeating: 0, count: 4096)
                while recv(c, &buffer, buffer.count, 0) > 0 {}
                return
            }
        }
    }

    /// Reads until a line ends (or the peer closes).
    static func readLine(_ c: Int32) -> String {
        var out: [UInt8] = []
        var b: UInt8 = 0
        while recv(c, &b, 1, 0) == 1 { out.append(b); if b == 0x0a { break } }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Bad input for the SMTP probe: each case is a finding or "could not check: <reason>"
/// naming the address and port, never a hang past the timeout and never a crash.
final class SMTPBadInputTests: XCTestCase {
    /// A plan for mail.example.com at `address` with `check: {smtp: {<smtp>}}`.
    func plan(_ smtp: String, address: String = "ipv4: 127.0.0.1") throws -> MailPlan {
        try loadPlan("""
        version: 1
        server: {hostname: mail.example.com, \(address)}
        providers: {local: {type: zonefile, path: example.com.zone}}
        check: {smtp: {\(smtp)}}
        domains:
          - {name: example.com, provider: local}
        """)
    }

    func check(port: UInt16, timeout: Double = 1) throws -> [Finding] {
        let p = try plan("ports: {smtp: \(port)}, ehlo_name: probe.example.net, timeout: \(timeout), greeting_timeout: \(timeout)")
        return ServerCheck(plan: p, live: LiveDNS(settings: p.dns), settings: p.check.smtp!, now: Date()).run()
    }

    func testRefused() throws {
        let peer = try ScriptedPeer { _ in }
        let port = peer.port
        peer.stop()
        XCTAssertEqual(try check(port: port), [
            Finding(.error, "smtp", "127.0.0.1:\(port)", "connection refused: nothing accepts SMTP on 127.0.0.1:\(port); start the mail server or open port \(port) in its firewall"),
        ])
    }

    func testNeverGreetsTimesOut() throws {
        // Says nothing, and holds the connection until the client gives up and closes it.
        let peer = try ScriptedPeer { c in var b: UInt8 = 0; while recv(c, &b, 1, 0) > 0 {} }
        defer { peer.stop() }
        let start = Date()
        XCTAssertEqual(try check(port: peer.port), [
            Finding(.error, "smtp", "127.0.0.1:\(peer.port)", "could not check: no complete reply to the greeting within 1 s"),
        ])
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
    }

    func testGarbageInsteadOf220() throws {
        let peer = try ScriptedPeer { c in ScriptedPeer.write(c, "HTTP/1.1 400 Bad Request\r\n\r\n") }
        defer { peer.stop() }
        XCTAssertEqual(try check(port: peer.port), [
            Finding(.error, "smtp", "127.0.0.1:\(peer.port)", "could not check: the reply to the greeting is not an SMTP reply: 'HTTP/1.1 400 Bad Request'"),
        ])
    }

    func testTwoMegabyteEHLOReply() throws {
        let peer = try ScriptedPeer { c in
            ScriptedPeer.write(c, "220 mail.example.com ESMTP\r\n")
            _ = ScriptedPeer.readLine(c)
            let line = "250-" + String(repeating: "X", count: 1020) + "\r\n"
            for _ in 0..<2048 { ScriptedPeer.write(c, line) }
            ScriptedPeer.write(c, "250 OK\r\n")
        }
        defer { peer.stop() }
        XCTAssertEqual(try check(port: peer.port), [
            Finding(.error, "smtp", "127.0.0.1:\(peer.port)", "could not check: the reply to EHLO is longer than 65536 bytes"),
        ])
    }

    func testDropsAfterSTARTTLS() throws {
        let peer = try ScriptedPeer { c in ScriptedPeer.converse(c, ehlo: "250-mail.example.com\r\n250 STARTTLS\r\n") }
        defer { peer.stop() }
        let s = "127.0.0.1:\(peer.port)"
        let f = try check(port: peer.port)
        XCTAssertEqual(f.count, 4, "\(f)")
        XCTAssertEqual(Array(f.prefix(3)), [
            Finding(.ok, "smtp", s, "greeting name mail.example.com is server.hostname mail.example.com", expected: "mail.example.com", actual: "mail.example.com"),
            Finding(.warning, "smtp", s, "PTR of 127.0.0.1 not checked: no resolver configured for 1.0.0.127.in-addr.arpa. PTR: set dns.resolvers in the plan file"),
            Finding(.ok, "smtp", s, "STARTTLS offered"),
        ])
        XCTAssertEqual(f[3].severity, .error)
        XCTAssertEqual(f[3].check, "tls")
        XCTAssertEqual(f[3].message, "could not check TLS: the TLS handshake failed (OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to mail.example.com:\(peer.port))")
    }

    func testSlowGreetingIsSlowNotDown() throws {
        let peer = try ScriptedPeer { c in ScriptedPeer.converse(c, ehlo: "250 mail.example.com\r\n", delay: 700_000) }
        defer { peer.stop() }
        let loaded = try plan("ports: {smtp: \(peer.port)}, timeout: 2, greeting_timeout: 2")
        var settings = loaded.check.smtp!
        settings.slowGreeting = 0.5
        let f = ServerCheck(plan: loaded, live: LiveDNS(settings: loaded.dns), settings: settings, now: Date()).run()
        let slow = f.filter { $0.message.hasPrefix("slow greeting: ") }
        XCTAssertEqual(slow.count, 1, "\(f)")
        XCTAssertEqual(slow.first?.severity, .info)
        XCTAssertTrue(slow.first?.message.hasSuffix(" s (a greet-pause or tarpit; senders wait up to 5 minutes, RFC 5321 §4.5.3.2.1)") ?? false)
        // Slow is not down: the dialogue went on to EHLO.
        XCTAssertEqual(f.first { $0.message.hasPrefix("STARTTLS not offered") }?.severity, .error)
    }

    func testIPv6Address() throws {
        let peer = try ScriptedPeer(ipv6: true) { c in ScriptedPeer.converse(c, ehlo: "250-other.example.net\r\n250 8BITMIME\r\n") }
        defer { peer.stop() }
        let plan = try plan("ports: {smtp: \(peer.port)}, timeout: 1", address: "ipv6: \"::1\"")
        let s = "[::1]:\(peer.port)"
        XCTAssertEqual(ServerCheck(plan: plan, live: LiveDNS(settings: plan.dns), settings: plan.check.smtp!, now: Date()).run(), [
            Finding(.ok, "smtp", s, "greeting name mail.example.com is server.hostname mail.example.com", expected: "mail.example.com", actual: "mail.example.com"),
            Finding(.warning, "smtp", s, "PTR of ::1 not checked: no resolver configured for 1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa. PTR: set dns.resolvers in the plan file"),
            Finding(.error, "smtp", s, "EHLO name other.example.net is not server.hostname mail.example.com; set the SMTP server's host name to it (Postfix: myhostname)", expected: "mail.example.com", actual: "other.example.net"),
            Finding(.error, "smtp", s, "STARTTLS not offered: mail to mail.example.com travels unencrypted; give the SMTP server a certificate (Postfix: smtpd_tls_cert_file, smtpd_tls_key_file, smtpd_tls_security_level = may)", expected: "STARTTLS", actual: "8BITMIME"),
        ])
    }

    func testConnectTimeoutOnPort25IsNotAServerFault() throws {
        let plan = try plan("ports: {smtp: 25, submission: 587}", address: "ipv4: 192.0.2.25")
        let c = ServerCheck(plan: plan, live: LiveDNS(settings: plan.dns), settings: plan.check.smtp!, now: Date())
        let svc = plan.check.smtp!.services
        XCTAssertEqual(c.connectFinding(.connectTimeout(10), "192.0.2.25:25", svc[0]),
                       Finding(.info, "smtp", "192.0.2.25:25", "not checked from here (outbound port 25 is often blocked by the network): no TCP connection within 10 s"))
        XCTAssertEqual(c.connectFinding(.connectTimeout(10), "192.0.2.25:587", svc[1]),
                       Finding(.error, "smtp", "192.0.2.25:587", "could not check: no TCP connection within 10 s"))
    }

    func testCertificateThatDoesNotParse() {
        XCTAssertThrowsError(try ServedCertificate(der: [0x30, 0x03, 0x02, 0x01, 0x01])) { e in
            XCTAssertTrue((e as? DANEKeyError)?.reason.hasPrefix("the certificate does not parse (") ?? false, "\(e)")
        }
    }
}
