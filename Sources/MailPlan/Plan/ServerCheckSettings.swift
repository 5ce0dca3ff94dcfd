import Foundation

/// `check.smtp`: how `mailplan check` probes the mail server itself (and, when set, how
/// `plan`/`apply` see the key it serves for the `tlsa-mismatch` gate).
public struct SMTPCheckSettings: Sendable {
    /// A service probed: its name, the standard port its TLSA records are published for
    /// (`_25._tcp`), the port connected to (the same unless `check.smtp.ports` says otherwise,
    /// e.g. for tests) and how TLS starts.
    public struct Service: Sendable, Hashable {
        /// `smtp`, `submissions` or `submission`.
        public let name: String
        /// 25, 465 or 587: the port of the TLSA owner name `_PORT._tcp.<host>`.
        public let standardPort: UInt16
        /// The port connected to.
        public let port: UInt16
        public let mode: SMTPTLSMode
    }
    /// The services of `check.smtp.ports` in the order smtp, submissions, submission;
    /// default: smtp on port 25.
    public var services: [Service] = [Service(name: "smtp", standardPort: 25, port: 25, mode: .startTLS)]
    /// The name sent in EHLO (`ehlo_name`); default: this machine's host name.
    public var ehloName: String = SMTPCheckSettings.localHostName()
    /// Seconds allowed for each step (connect, EHLO, STARTTLS, handshake) (`timeout`, default 10).
    public var timeout: Double = 10
    /// Seconds to wait for the greeting (`greeting_timeout`, default 60). A server may delay
    /// its greeting on purpose (greet-pause, tarpit): a greeting after more than ``slowGreeting``
    /// seconds is reported as slow, not as a fault.
    public var greetingTimeout: Double = 60
    /// Seconds after which a greeting counts as slow (5).
    public var slowGreeting: Double = 5
    /// `open_relay_probe`: the outside sender and recipient for the open-relay probe (`MAIL
    /// FROM`, `RCPT TO`, then `RSET`); nil: no probe.
    public var openRelay: (from: String, to: String)? = nil

    /// The defaults: smtp on port 25, EHLO with this host's name, 10 s per step, 60 s for the greeting, no relay probe.
    public init() {}

    /// The known services: name, standard port, TLS mode (RFC 5321, RFC 8314 §3.3, RFC 6409).
    public static let known: [(name: String, port: UInt16, mode: SMTPTLSMode)] = [
        ("smtp", 25, .startTLS), ("submissions", 465, .implicit), ("submission", 587, .startTLS),
    ]

    /// `gethostname(2)`, or `localhost` when it is not a dotted name.
    public static func localHostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        let n = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return n.contains(".") ? n : "localhost"
    }
}

extension PlanReader {
    static let smtpCheckKeys = ["ports", "ehlo_name", "timeout", "greeting_timeout", "open_relay_probe"]

    /// Reads `check.smtp`: `true`, or `{ports: {smtp: 25, submissions: 465, submission: 587},
    /// ehlo_name:, timeout:, greeting_timeout:, open_relay_probe: true | {from:, to:}}`.
    mutating func readSMTPCheck(_ node: YAMLNode) -> SMTPCheckSettings? {
        let p = "check.smtp"
        var s = SMTPCheckSettings()
        if case .scalar = node {
            guard let on = bool(node, p) else { return nil }
            return on ? s : nil
        }
        guard let m = mapping(node, p, allowed: Self.smtpCheckKeys) else { return nil }
        if let n = m["ports"]?.value, let pm = mapping(n, "\(p).ports", allowed: SMTPCheckSettings.known.map(\.name)) {
            var services: [SMTPCheckSettings.Service] = []
            for k in SMTPCheckSettings.known {
                guard let v = pm[k.name]?.value else { continue }
                if case .scalar(let sc) = v, sc.string == "true" {
                    services.append(.init(name: k.name, standardPort: k.port, port: k.port, mode: k.mode)); continue
                }
                guard let port = int(v, "\(p).ports.\(k.name)", in: 1...65535) else { continue }
                services.append(.init(name: k.name, standardPort: k.port, port: UInt16(port), mode: k.mode))
            }
            if pm.isEmpty { error(n, "\(p).ports names no service; give smtp, submissions and/or submission with a port ({smtp: 25})") }
            if !services.isEmpty { s.services = services }
        }
        if let n = m["ehlo_name"]?.value, let h = hostname(n, "\(p).ehlo_name") { s.ehloName = h.withoutTrailingDot }
        func seconds(_ key: String, _ range: ClosedRange<Double>) -> Double? {
            guard let n = m[key]?.value else { return nil }
            if case .scalar(let sc) = n, let t = Double(sc.string), range.contains(t) { return t }
            error(n, "\(p).\(key) must be a number of seconds from \(Resolver.seconds(range.lowerBound)) to \(Resolver.seconds(range.upperBound)), found \(Self.describe(n))")
            return nil
        }
        if let t = seconds("timeout", 0.1...300) { s.timeout = t }
        if let t = seconds("greeting_timeout", 0.1...600) { s.greetingTimeout = t }
        if let n = m["open_relay_probe"]?.value {
            if case .scalar = n {
                if bool(n, "\(p).open_relay_probe") == true { s.openRelay = ("mailplan-probe@example.org", "mailplan-probe@example.net") }
            } else if let om = mapping(n, "\(p).open_relay_probe", allowed: ["from", "to"], required: ["from", "to"]) {
                func address(_ key: String) -> String? {
                    guard let v = om[key]?.value, let a = string(v, "\(p).open_relay_probe.\(key)") else { return nil }
                    let parts = a.split(separator: "@")
                    guard parts.count == 2, !parts[0].isEmpty, (try? DomainName(String(parts[1]))) != nil, !a.contains(where: { $0 == "<" || $0 == ">" || $0 == " " }) else {
                        error(v, "\(p).open_relay_probe.\(key): '\(a)' is not a mail address (local@domain)"); return nil
                    }
                    return a
                }
                if let f = address("from"), let t = address("to") { s.openRelay = (f, t) }
            }
        }
        return s
    }

    /// Reads `check.ca_file`: a PEM file of CA certificates (relative to the plan file).
    mutating func readCAFile(_ node: YAMLNode, _ path: String) -> String? {
        guard let f = string(node, path) else { return nil }
        let url = f.hasPrefix("/") ? URL(fileURLWithPath: f) : baseDirectory.appendingPathComponent(f)
        guard FileManager.default.fileExists(atPath: url.path) else { error(node, "\(path): \(url.path) does not exist"); return nil }
        return url.path
    }
}
