import CCurl
import Foundation
import SwiftASN1

/// How a TLS connection to a mail server is opened.
public enum SMTPTLSMode: String, Sendable, Hashable {
    /// Plain SMTP, then `STARTTLS` (RFC 3207): ports 25 and 587.
    case startTLS = "starttls"
    /// TLS from the first byte (RFC 8314 §3.3): port 465.
    case implicit
}

/// What a TLS handshake with a mail server showed: the protocol version and the chain as
/// served (DER, leaf first).
public struct TLSHandshake: Sendable, Hashable {
    /// OpenSSL's name of the negotiated protocol: `TLSv1.3`, `TLSv1.2`, `TLSv1.1`, `TLSv1`.
    public let version: String?
    /// The certificates the server sent, DER, leaf first (libcurl `CURLINFO_CERTINFO`).
    public let chain: [[UInt8]]
    /// The server's reply lines as libcurl saw them (`CURLINFO_HEADER_IN`: greeting, EHLO…),
    /// at most 64 KiB.
    public var replies: [String] = []

    /// The greeting and the first EHLO reply among ``replies`` (for implicit TLS, where the
    /// dialogue is libcurl's); nil when there is no 220 greeting.
    public var dialogue: SMTPDialogue? {
        guard let g = replies.firstIndex(where: { $0.hasPrefix("220") }) else { return nil }
        func text(_ l: String) -> String { l.count > 4 ? String(l.dropFirst(4)) : "" }
        var ehlo: [String] = []
        for l in replies[(g + 1)...] {
            guard l.hasPrefix("250") else { break }
            ehlo.append(text(l))
            if l.count == 3 || l.dropFirst(3).first == " " { break }
        }
        return SMTPDialogue(greeting: SMTPReply(code: 220, lines: [text(replies[g])]), greetingSeconds: 0,
                            ehlo: SMTPReply(code: ehlo.isEmpty ? 0 : 250, lines: ehlo))
    }
}

/// The outcome of verifying the served chain against trusted CAs.
public enum ChainVerification: Sendable, Hashable {
    case verified
    /// Only the validity dates fail (OpenSSL `X509_V_ERR_CERT_HAS_EXPIRED`, code 10): the chain
    /// builds to a trusted CA; the expiry check reports the dates.
    case expiredOnly
    /// The chain does not verify; the reason as libcurl/OpenSSL gives it.
    case failed(String)
}

/// A TLS failure, with libcurl's reason.
public struct TLSProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The libcurl result code (`CURLcode`).
    public let code: Int
    public let message: String
    public var description: String { message }
    /// True when the server does not offer or refuses `STARTTLS` (`CURLE_USE_SSL_FAILED`).
    public var startTLSRefused: Bool { code == Int(CURLE_USE_SSL_FAILED.rawValue) }
}

/// TLS with mail servers through libcurl: SMTP with `STARTTLS` or implicit TLS, stopping after
/// the handshake (`CURLOPT_CONNECT_ONLY`; libcurl says EHLO, STARTTLS, EHLO again and QUIT),
/// the served chain from `CURLINFO_CERTINFO`, the negotiated protocol from libcurl's
/// informational text (`CURLOPT_DEBUGFUNCTION`). Never sends mail.
public struct TLSProbe: Sendable {
    /// Seconds for the TCP handshake.
    public var connectTimeout: Double
    /// Seconds for the whole exchange (greeting, EHLO, STARTTLS, handshake).
    public var totalTimeout: Double
    /// The EHLO name libcurl sends.
    public var ehloName: String

    /// - Parameters:
    ///   - connectTimeout: seconds for the TCP handshake.
    ///   - totalTimeout: seconds for the whole exchange, greeting to TLS handshake.
    ///   - ehloName: the name libcurl sends in EHLO (the path of the `smtp://` URL).
    public init(connectTimeout: Double, totalTimeout: Double, ehloName: String) {
        self.connectTimeout = connectTimeout; self.totalTimeout = totalTimeout; self.ehloName = ehloName
    }

    /// Runs a handshake without verifying anything, to see what is served.
    /// - Parameters:
    ///   - host: the name sent as SNI (the MX host).
    ///   - address: the IP literal connected to; `port` its port.
    /// - Throws: ``TLSProbeError``.
    public func handshake(host: DomainName, address: String, port: UInt16, mode: SMTPTLSMode) throws -> TLSHandshake {
        try run(host: host, address: address, port: port, mode: mode, verify: nil).mapError(\.error).get()
    }

    /// Verifies the chain the server sends against `caFile` (PEM) or the system CA store. Host
    /// names are not verified here (the certificate check compares them itself).
    public func verify(host: DomainName, address: String, port: UInt16, mode: SMTPTLSMode, caFile: String?) -> ChainVerification {
        switch run(host: host, address: address, port: port, mode: mode, verify: .some(caFile)) {
        case .success: return .verified
        case .failure(let e):
            if e.error.code == Int(CURLE_PEER_FAILED_VERIFICATION.rawValue), e.verifyResult == 10 { return .expiredOnly }
            return .failed(e.error.message)
        }
    }

    struct Failure: Error { let error: TLSProbeError; let verifyResult: Int }

    func run(host: DomainName, address: String, port: UInt16, mode: SMTPTLSMode, verify: String??) -> Result<TLSHandshake, Failure> {
        guard let h = curl_easy_init() else { return .failure(Failure(error: TLSProbeError(code: 2, message: "libcurl could not create a handle"), verifyResult: 0)) }
        defer { curl_easy_cleanup(h) }   // sends QUIT on a live connection
        var errbuf = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let name = host.withoutTrailingDot
        let scheme = mode == .implicit ? "smtps" : "smtp"
        let connectTo: UnsafeMutablePointer<curl_slist>? = curl_slist_append(nil, "\(name):\(port):\(address.contains(":") ? "[\(address)]" : address):\(port)")
        defer { curl_slist_free_all(connectTo) }
        let log = DebugLog()
        let logPtr = Unmanaged.passUnretained(log).toOpaque()
        let rc: CURLcode = errbuf.withUnsafeMutableBufferPointer { eb in
            // libcurl's own text says which protocol was negotiated ("SSL connection using TLSv1.3 / …").
            _ = mp_curl_setopt_long(h, CURLOPT_VERBOSE, 1)
            _ = mp_curl_setopt_debug_cb(h) { _, type, data, size, ud in
                guard type == CURLINFO_TEXT || type == CURLINFO_HEADER_IN, let data, let ud else { return 0 }
                let log = Unmanaged<DebugLog>.fromOpaque(ud).takeUnretainedValue()
                let t = String(decoding: UnsafeRawBufferPointer(start: data, count: min(size, 65_536)), as: UTF8.self)
                if type == CURLINFO_TEXT { if log.text.utf8.count < 65_536 { log.text += t } }
                else if log.replyBytes < 65_536 {
                    log.replyBytes += size
                    log.replies += t.split(whereSeparator: \.isNewline).map(String.init)   // "\r\n" is one Character
                }
                return 0
            }
            _ = mp_curl_setopt_pointer(h, CURLOPT_DEBUGDATA, logPtr)
            _ = mp_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, eb.baseAddress)
            _ = mp_curl_setopt_long(h, CURLOPT_NOSIGNAL, 1)
            _ = mp_curl_setopt_string(h, CURLOPT_URL, "\(scheme)://\(name):\(port)/\(ehloName)")
            _ = mp_curl_setopt_string(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps")
            _ = mp_curl_setopt_slist(h, CURLOPT_CONNECT_TO, connectTo)
            _ = mp_curl_setopt_string(h, CURLOPT_PROXY, "")
            _ = mp_curl_setopt_long(h, CURLOPT_CONNECT_ONLY, 1)
            _ = mp_curl_setopt_long(h, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
            _ = mp_curl_setopt_long(h, CURLOPT_CERTINFO, 1)
            // Accept whatever version the server negotiates, so an old one can be reported.
            _ = mp_curl_setopt_long(h, CURLOPT_SSLVERSION, Int(CURL_SSLVERSION_TLSv1_0))
            if let ca = verify {
                _ = mp_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 1)
                if let ca { _ = mp_curl_setopt_string(h, CURLOPT_CAINFO, ca) }
            } else {
                _ = mp_curl_setopt_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            }
            _ = mp_curl_setopt_long(h, CURLOPT_SSL_VERIFYHOST, 0)
            _ = mp_curl_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout * 1000))
            _ = mp_curl_setopt_long(h, CURLOPT_TIMEOUT_MS, Int(totalTimeout * 1000))
            _ = mp_curl_setopt_long(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, Int(max(1, totalTimeout.rounded(.up))))
            let rc = withExtendedLifetime(log) { curl_easy_perform(h) }
            _ = mp_curl_setopt_pointer(h, CURLOPT_ERRORBUFFER, nil)
            return rc
        }
        guard rc == CURLE_OK else {
            let detail = String(decoding: errbuf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            var vr = 0
            _ = mp_curl_getinfo_long(h, CURLINFO_SSL_VERIFYRESULT, &vr)
            let base = String(cString: curl_easy_strerror(rc))
            let message: String
            switch rc {
            case CURLE_USE_SSL_FAILED: message = "the server does not offer STARTTLS"
            case CURLE_OPERATION_TIMEDOUT: message = "timed out: " + (detail.isEmpty ? base : detail)
            case CURLE_SSL_CONNECT_ERROR: message = "the TLS handshake failed (" + (detail.isEmpty ? base : detail) + ")"
            default: message = detail.isEmpty ? base : detail
            }
            return .failure(Failure(error: TLSProbeError(code: Int(rc.rawValue), message: message), verifyResult: vr))
        }
        let version = Self.negotiatedVersion(log.text)
        var info: UnsafeMutablePointer<curl_certinfo>? = nil
        _ = mp_curl_getinfo_certinfo(h, &info)
        var chain: [[UInt8]] = []
        if let info, let lists = info.pointee.certinfo {
            for i in 0..<Int(info.pointee.num_of_certs) {
                var node = lists[i]
                while let n = node {
                    let field = String(cString: n.pointee.data)
                    if field.hasPrefix("Cert:"), let der = Self.der(pem: String(field.dropFirst(5))) { chain.append(der) }
                    node = n.pointee.next
                }
            }
        }
        var hs = TLSHandshake(version: version, chain: chain)
        hs.replies = log.replies
        return .success(hs)
    }

    final class DebugLog: @unchecked Sendable { var text = "", replies: [String] = [], replyBytes = 0 }

    /// The protocol in libcurl's "SSL connection using TLSv1.3 / <cipher>" line.
    static func negotiatedVersion(_ text: String) -> String? {
        for line in text.split(whereSeparator: \.isNewline) {
            guard let r = line.range(of: "SSL connection using ") else { continue }
            return line[r.upperBound...].split(separator: " ").first.map(String.init)
        }
        return nil
    }

    /// The DER bytes of a PEM block (SwiftASN1 `PEMDocument`); nil when it is not PEM.
    static func der(pem text: String) -> [UInt8]? {
        (try? PEMDocument(pemString: text.trimmingCharacters(in: .whitespacesAndNewlines))).map { [UInt8]($0.derBytes) }
    }
}
