import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why an SMTP exchange could not go on: the connection, a timeout, or a reply that is not
/// SMTP. ``description`` names what happened in words a finding can quote.
public enum SMTPProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The address is not an IPv4 or IPv6 literal.
    case badAddress(String)
    /// The server answered the TCP handshake with a reset (nothing listens there).
    case refused
    /// No TCP connection within the connect timeout (seconds).
    case connectTimeout(Double)
    /// Another socket error (`errno` text).
    case network(String)
    /// No complete reply within the step's timeout (seconds); `step` is `greeting`, `EHLO`…
    case timeout(step: String, seconds: Double)
    /// The server closed the connection during `step`.
    case closed(step: String)
    /// The reply to `step` is not an SMTP reply (RFC 5321 §4.2); `text` is its start, printable.
    case garbage(step: String, text: String)
    /// The reply to `step` is longer than `limit` bytes.
    case tooLong(step: String, limit: Int)

    public var description: String {
        switch self {
        case .badAddress(let a): "'\(a)' is not an IP address"
        case .refused: "connection refused"
        case .connectTimeout(let s): "no TCP connection within \(Resolver.seconds(s)) s"
        case .network(let m): m
        case .timeout(let step, let s): "no complete reply to \(step) within \(Resolver.seconds(s)) s"
        case .closed(let step): "the server closed the connection during \(step)"
        case .garbage(let step, let t): "the reply to \(step) is not an SMTP reply: '\(t)'"
        case .tooLong(let step, let limit): "the reply to \(step) is longer than \(limit) bytes"
        }
    }
}

/// One SMTP reply (RFC 5321 §4.2): the three-digit code and the text of each line.
public struct SMTPReply: Sendable, Hashable {
    public let code: Int
    /// The text after `ddd-` / `ddd ` of each line, in order.
    public let lines: [String]
    /// The first word of the first line: the server's name in a greeting or EHLO reply
    /// (RFC 5321 §4.1.1.1, §4.3.1).
    public var domain: String? { lines.first?.split(separator: " ", maxSplits: 1).first.map(String.init) }
    /// The EHLO keywords (upper-cased), from the second line on (RFC 5321 §4.1.1.1).
    public var extensions: [String] {
        lines.dropFirst().compactMap { $0.split(separator: " ").first.map { $0.uppercased() } }
    }
}

/// A small, strict SMTP client over a plain TCP connection: it reads replies with a timeout
/// for each step and a cap on their size, and sends only EHLO, MAIL, RCPT, RSET and QUIT —
/// never mail. TLS is not done here (``TLSProbe`` does it through libcurl).
public final class SMTPSession {
    /// The longest reply accepted, in bytes (RFC 5321 §4.5.3.1.5 allows 512 per line; an
    /// EHLO reply has one line per extension).
    public static let maxReplyBytes = 65_536
    let fd: Int32
    var buffer: [UInt8] = []
    /// The IP literal and port connected to.
    public let address: String
    public let port: UInt16

    /// Connects to `address` (an IPv4 or IPv6 literal) on `port`.
    /// - Parameter timeout: seconds for the TCP handshake.
    /// - Throws: ``SMTPProbeError`` (`refused`, `connectTimeout`, `network`, `badAddress`).
    public init(address: String, port: UInt16, timeout: Double) throws {
        self.address = address; self.port = port
        var storage = sockaddr_storage()
        let len: socklen_t
        let family: Int32
        if address.contains(":") {
            var a = sockaddr_in6()
            a.sin6_family = sa_family_t(AF_INET6); a.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, address, &a.sin6_addr) == 1 else { throw SMTPProbeError.badAddress(address) }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: a) { dst.copyMemory(from: $0) } }
            len = socklen_t(MemoryLayout<sockaddr_in6>.size); family = AF_INET6
        } else {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET); a.sin_port = port.bigEndian
            guard inet_pton(AF_INET, address, &a.sin_addr) == 1 else { throw SMTPProbeError.badAddress(address) }
            withUnsafeMutableBytes(of: &storage) { dst in withUnsafeBytes(of: a) { dst.copyMemory(from: $0) } }
            len = socklen_t(MemoryLayout<sockaddr_in>.size); family = AF_INET
        }
        let s = socket(family, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw SMTPProbeError.network("socket: \(String(cString: strerror(errno)))") }
        _ = fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK)
        let r = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, len) } }
        if r != 0 {
            guard errno == EINPROGRESS else {
                let e = errno; close(s)
                throw e == ECONNREFUSED ? SMTPProbeError.refused : SMTPProbeError.network("connect: \(String(cString: strerror(e)))")
            }
            var p = pollfd(fd: s, events: Int16(POLLOUT), revents: 0)
            let n = poll(&p, 1, Int32(timeout * 1000))
            if n == 0 { close(s); throw SMTPProbeError.connectTimeout(timeout) }
            var err: Int32 = 0
            var elen = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen)
            if n < 0 || err != 0 {
                close(s)
                throw err == ECONNREFUSED ? SMTPProbeError.refused : SMTPProbeError.network("connect: \(String(cString: strerror(err)))")
            }
        }
        fd = s
    }

    deinit { close(fd) }

    /// Reads one complete reply (all lines of a multi-line reply, RFC 5321 §4.2.1).
    /// - Parameters:
    ///   - step: what the reply answers (`greeting`, `EHLO`…), for messages.
    ///   - timeout: seconds for the whole reply.
    /// - Throws: ``SMTPProbeError`` `timeout`, `closed`, `garbage` or `tooLong`.
    public func readReply(step: String, timeout: Double) throws -> SMTPReply {
        let deadline = Date().addingTimeInterval(timeout)
        var lines: [String] = []
        var code: Int? = nil
        var consumed = 0
        while true {
            // Take every complete line in the buffer.
            while let nl = buffer.firstIndex(of: 0x0a) {
                var line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                consumed += line.count + 1
                if line.last == 0x0d { line.removeLast() }
                let text = String(decoding: line, as: UTF8.self)
                guard line.count >= 3, line[0...2].allSatisfy({ (0x30...0x39).contains($0) }), line.count == 3 || line[3] == 0x20 || line[3] == 0x2d,
                      let c = Int(String(decoding: line[0...2], as: UTF8.self)), code == nil || code == c else {
                    throw SMTPProbeError.garbage(step: step, text: Self.printable(text))
                }
                code = c
                lines.append(line.count > 4 ? String(text.dropFirst(4)) : "")
                if line.count == 3 || line[3] == 0x20 { return SMTPReply(code: c, lines: lines) }
            }
            if consumed + buffer.count > Self.maxReplyBytes { throw SMTPProbeError.tooLong(step: step, limit: Self.maxReplyBytes) }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw SMTPProbeError.timeout(step: step, seconds: timeout) }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let n = poll(&p, 1, Int32(max(1, left * 1000)))
            if n == 0 { continue }
            if n < 0 { if errno == EINTR { continue }; throw SMTPProbeError.network("poll: \(String(cString: strerror(errno)))") }
            var chunk = [UInt8](repeating: 0, count: 16_384)
            let got = recv(fd, &chunk, chunk.count, 0)
            if got == 0 {
                if buffer.isEmpty && lines.isEmpty { throw SMTPProbeError.closed(step: step) }
                throw SMTPProbeError.garbage(step: step, text: Self.printable(String(decoding: buffer, as: UTF8.self)))
            }
            if got < 0 {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { continue }
                if errno == ECONNRESET { throw SMTPProbeError.closed(step: step) }
                throw SMTPProbeError.network("recv: \(String(cString: strerror(errno)))")
            }
            buffer += chunk[0..<got]
        }
    }

    /// Sends one command line (CRLF is added) and reads the reply.
    /// - Throws: ``SMTPProbeError``.
    public func command(_ line: String, step: String, timeout: Double) throws -> SMTPReply {
        try send(line + "\r\n", step: step, timeout: timeout)
        return try readReply(step: step, timeout: timeout)
    }

    func send(_ text: String, step: String, timeout: Double) throws {
        var bytes = Array(text.utf8)[...]
        let deadline = Date().addingTimeInterval(timeout)
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n > 0 { bytes = bytes.dropFirst(n); continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if deadline.timeIntervalSinceNow <= 0 { throw SMTPProbeError.timeout(step: step, seconds: timeout) }
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
                continue
            }
            throw SMTPProbeError.closed(step: step)
        }
    }

    /// At most 80 printable ASCII characters of `s` (others as `?`), for messages.
    static func printable(_ s: String) -> String {
        let t = s.unicodeScalars.prefix(80).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7f ? Character($0) : "?" }
        return String(t) + (s.unicodeScalars.count > 80 ? "…" : "")
    }
}

/// What the plain-text part of an SMTP probe saw: greeting, EHLO reply, how long the greeting
/// took, and the open-relay answer when asked for.
public struct SMTPDialogue: Sendable {
    public let greeting: SMTPReply
    /// Seconds from the TCP connection to the complete greeting.
    public let greetingSeconds: Double
    public let ehlo: SMTPReply
    /// The reply to `RCPT TO` an outside address, when the open-relay probe ran.
    public var relay: (mailFrom: SMTPReply, rcptTo: SMTPReply?)? = nil

    /// Connects, reads the greeting, sends EHLO, optionally probes relaying (`MAIL FROM`,
    /// `RCPT TO`, `RSET`), and QUITs. Never sends DATA.
    /// - Parameters:
    ///   - connectTimeout/stepTimeout/greetingTimeout: seconds.
    ///   - relay: (from, to) addresses for the open-relay probe, nil to skip it.
    /// - Throws: ``SMTPProbeError``; a greeting other than 220 is returned, not thrown.
    public static func run(address: String, port: UInt16, ehloName: String, connectTimeout: Double, stepTimeout: Double,
                           greetingTimeout: Double, relay: (from: String, to: String)? = nil) throws -> SMTPDialogue {
        let s = try SMTPSession(address: address, port: port, timeout: connectTimeout)
        let start = Date()
        let greeting = try s.readReply(step: "the greeting", timeout: greetingTimeout)
        let took = Date().timeIntervalSince(start)
        guard greeting.code == 220 else {
            _ = try? s.command("QUIT", step: "QUIT", timeout: stepTimeout)
            return SMTPDialogue(greeting: greeting, greetingSeconds: took, ehlo: SMTPReply(code: 0, lines: []))
        }
        let ehlo = try s.command("EHLO \(ehloName)", step: "EHLO", timeout: stepTimeout)
        var d = SMTPDialogue(greeting: greeting, greetingSeconds: took, ehlo: ehlo)
        if let relay, ehlo.code == 250 {
            let mail = try s.command("MAIL FROM:<\(relay.from)>", step: "MAIL FROM", timeout: stepTimeout)
            var rcpt: SMTPReply? = nil
            if mail.code == 250 { rcpt = try s.command("RCPT TO:<\(relay.to)>", step: "RCPT TO", timeout: stepTimeout) }
            _ = try? s.command("RSET", step: "RSET", timeout: stepTimeout)
            d.relay = (mail, rcpt)
        }
        _ = try? s.command("QUIT", step: "QUIT", timeout: stepTimeout)
        return d
    }
}
