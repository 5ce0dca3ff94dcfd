import CLDNS
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The DNS response code of an answer (RFC 1035 §4.1.1, RFC 6895 §2.3).
public enum ResponseCode: String, Sendable, Codable, Hashable {
    case noError = "NOERROR", formErr = "FORMERR", servFail = "SERVFAIL", nxDomain = "NXDOMAIN"
    case notImp = "NOTIMP", refused = "REFUSED", other = "OTHER"
}

/// How an answer travelled.
public enum DNSTransport: String, Sendable, Codable, Hashable {
    case udp, tcp
}

/// One record of an answer as served: owner, TTL in seconds, typed rdata and, for TXT, the
/// individual character-strings as they were on the wire (RFC 1035 §3.3.14).
public struct ServedRecord: Hashable, Sendable {
    public let name: DomainName
    public let ttl: UInt32
    /// The rdata; TXT holds each character-string in wire order, byte for byte.
    public let rdata: RData
    /// For TXT: each character-string in wire order as text (their concatenation is
    /// `rdata.txtValue`); empty for other types.
    public var txtStrings: [String] {
        guard case .txt(let t) = rdata else { return [] }
        return t.strings.map { String(decoding: $0, as: UTF8.self) }
    }
    public init(name: DomainName, ttl: UInt32, rdata: RData) { self.name = name; self.ttl = ttl; self.rdata = rdata }
}

/// A decoded DNS response from one name server.
public struct DNSAnswer: Sendable {
    public let server: NameServer
    public let name: DomainName
    public let type: RRType
    public let rcode: ResponseCode
    /// The AA bit: the server is authoritative for the name.
    public let authoritative: Bool
    /// `.tcp` when the UDP answer was truncated (TC) and the query was repeated over TCP.
    public let transport: DNSTransport
    /// The answer section, record by record, in the order served.
    public let answerRecords: [ServedRecord]
    /// The authority section (NS of a referral, SOA of a negative answer).
    public let authorityRecords: [ServedRecord]
    public let additionalRecords: [ServedRecord]
    /// The AD bit (RFC 4035 §3.2.3): a validating resolver says it validated the answer
    /// (meaningful only from a validating resolver, asked with ``ResolverOptions/dnssecOK``).
    public var authenticData: Bool = false

    /// The answer section grouped into RRsets.
    public var answer: [RRset] { [RRset].grouping(answerRecords.map { ($0.name, $0.ttl, $0.rdata) }) }
    /// The authority section grouped into RRsets.
    public var authority: [RRset] { [RRset].grouping(authorityRecords.map { ($0.name, $0.ttl, $0.rdata) }) }
    /// The RRset of the queried name and type in the answer section (nil for NODATA/NXDOMAIN,
    /// or when only a CNAME was served).
    public var rrset: RRset? { answer.first { $0.name == name && $0.type == type } }
    /// The CNAME at the queried name, when the server answered with one.
    public var cname: DomainName? {
        for r in answerRecords where r.name == name { if case .cname(let t) = r.rdata { return t } }
        return nil
    }
    /// True for NXDOMAIN, or NOERROR without any record of the queried type (NODATA,
    /// RFC 2308) — what SPF counts as a void lookup (RFC 7208 §4.6.4).
    public var isEmpty: Bool {
        rcode == .nxDomain || (rcode == .noError && !answerRecords.contains { $0.rdata.type == type })
    }
}

/// A query that got no usable answer: nothing came back in time, the server could not be
/// reached, or the reply could not be decoded. Names the server, the name and the type.
public struct ResolverError: Error, CustomStringConvertible, Sendable, Equatable {
    public let server: NameServer
    public let name: DomainName
    public let type: RRType
    public let reason: String
    public var description: String { "DNS query \(name.fqdn) \(type) to \(server): \(reason)" }
}

/// Query settings.
public struct ResolverOptions: Sendable, Hashable {
    /// Seconds to wait for each attempt's answer.
    public var timeout: Double
    /// How many times a query is sent before giving up (at least 1). The longest a query can
    /// take is `attempts × timeout` seconds (plus one TCP attempt after a truncated answer).
    public var attempts: Int
    /// EDNS(0) UDP payload size advertised (RFC 6891); 1232 as the DNS flag day 2020 advises.
    public var ednsBufferSize: UInt16
    /// Set RD: ask a recursive resolver to recurse. Off for queries to authoritative servers.
    public var recursionDesired: Bool
    /// Set the DO bit (RFC 3225): ask for DNSSEC records and the AD bit of a validating resolver.
    public var dnssecOK = false
    /// Set the CD bit (RFC 4035 §3.2.2): ask a validating resolver not to validate (tells a
    /// bogus answer, which comes back with CD, from a broken zone, which does not).
    public var checkingDisabled = false

    public init(timeout: Double = 3, attempts: Int = 2, ednsBufferSize: UInt16 = 1232, recursionDesired: Bool = true) {
        self.timeout = timeout; self.attempts = max(1, attempts)
        self.ednsBufferSize = ednsBufferSize; self.recursionDesired = recursionDesired
    }
}

/// Sends DNS queries to explicitly given name servers over UDP with EDNS(0), repeating a
/// truncated answer over TCP (RFC 7766 §5). This file is the only code that queries
/// through ldns; nothing reads `/etc/resolv.conf` (`ldns_resolver_new` does not).
public struct Resolver: Sendable {
    public var options: ResolverOptions
    public init(options: ResolverOptions = ResolverOptions()) { self.options = options }

    /// Sends one query to one server.
    /// - Parameters:
    ///   - name: the owner name asked for.
    ///   - type: the RR type asked for.
    ///   - server: the name server (address and port).
    /// - Returns: the decoded answer, whatever its rcode (NXDOMAIN, SERVFAIL and REFUSED are
    ///   answers, not errors: callers decide what they mean).
    /// - Throws: ``ResolverError`` when no answer arrived within `attempts × timeout`
    ///   seconds, the server is unreachable, or the reply cannot be decoded.
    public func query(_ name: DomainName, _ type: RRType, at server: NameServer) throws -> DNSAnswer {
        let first = try logged(name, type, server, tcp: false)
        if first.truncated {
            let second = try logged(name, type, server, tcp: true)
            return second.answer(transport: .tcp)
        }
        return first.answer(transport: .udp)
    }

    /// The debug log of every query (label `mailplan.dns`), shown with `--verbose`.
    static let logger = Logger(label: "mailplan.dns")

    /// ``send(_:_:_:tcp:)`` with one debug line per query: name, type, server, transport,
    /// then the rcode, answer count and time, or the failure.
    func logged(_ name: DomainName, _ type: RRType, _ server: NameServer, tcp: Bool) throws -> Raw {
        let how = tcp ? "tcp" : "udp"
        let start = ContinuousClock.now
        func ms() -> Int { HTTPClient.milliseconds(ContinuousClock.now - start) }
        do {
            let raw = try send(name, type, server, tcp: tcp)
            Self.logger.debug("query \(name.fqdn) \(type) @\(server) (\(how)) → \(raw.rcode.rawValue)\(raw.aa ? " aa" : "")\(raw.truncated ? " tc" : ""), \(raw.answer.count) answer\(raw.answer.count == 1 ? "" : "s") in \(ms()) ms")
            // MAILPLAN_LOG=trace: each answer record as served.
            for r in raw.answer { Self.logger.trace("   \(r.name.fqdn) \(r.ttl) \(r.rdata.type) \(r.rdata.presentation)") }
            return raw
        } catch let e as ResolverError {
            Self.logger.debug("query \(name.fqdn) \(type) @\(server) (\(how)) failed in \(ms()) ms: \(e.reason)")
            throw e
        }
    }

    /// Sends the query to each server in turn and returns the first answer that is not an
    /// error (REFUSED and SERVFAIL move on to the next server, as a stub resolver does).
    /// - Throws: the last ``ResolverError`` when no server answered; a REFUSED/SERVFAIL
    ///   answer from the last server is returned, not thrown.
    public func query(_ name: DomainName, _ type: RRType, servers: [NameServer]) throws -> DNSAnswer {
        var lastError: ResolverError? = nil
        var lastAnswer: DNSAnswer? = nil
        for s in servers {
            do {
                let a = try query(name, type, at: s)
                if a.rcode == .noError || a.rcode == .nxDomain { return a }
                lastAnswer = a
            } catch let e as ResolverError { lastError = e }
        }
        if let lastAnswer { return lastAnswer }
        throw lastError ?? ResolverError(server: NameServer(address: "0.0.0.0"), name: name, type: type, reason: "no name server configured")
    }

    struct Raw {
        let server: NameServer, name: DomainName, type: RRType
        let rcode: ResponseCode, aa: Bool, truncated: Bool
        var ad = false
        let answer: [ServedRecord], authority: [ServedRecord], additional: [ServedRecord]
        func answer(transport: DNSTransport) -> DNSAnswer {
            DNSAnswer(server: server, name: name, type: type, rcode: rcode, authoritative: aa, transport: transport,
                      answerRecords: answer, authorityRecords: authority, additionalRecords: additional, authenticData: ad)
        }
    }

    func send(_ name: DomainName, _ type: RRType, _ server: NameServer, tcp: Bool) throws -> Raw {
        func fail(_ why: String) -> ResolverError { ResolverError(server: server, name: name, type: type, reason: why) }
        guard let res = ldns_resolver_new() else { throw fail("cannot create an ldns resolver") }
        defer { ldns_resolver_deep_free(res) }
        guard let addr = ldns_rdf_new_frm_str(server.isIPv6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, server.address) else {
            throw fail("'\(server.address)' is not an IP address")
        }
        defer { ldns_rdf_deep_free(addr) }
        guard ldns_resolver_push_nameserver(res, addr) == LDNS_STATUS_OK else { throw fail("ldns refused the server address") }
        ldns_resolver_set_port(res, server.port)
        let whole = options.timeout.rounded(.down)
        ldns_resolver_set_timeout(res, timeval(tv_sec: Int(whole), tv_usec: Int((options.timeout - whole) * 1_000_000)))
        ldns_resolver_set_retry(res, UInt8(clamping: options.attempts))
        ldns_resolver_set_retrans(res, 0)
        ldns_resolver_set_random(res, false)
        ldns_resolver_set_fallback(res, false)   // truncation is handled in query(_:_:at:), so it is visible
        ldns_resolver_set_usevc(res, tcp)
        ldns_resolver_set_recursive(res, options.recursionDesired)
        ldns_resolver_set_edns_udp_size(res, options.ednsBufferSize)
        ldns_resolver_set_dnssec(res, options.dnssecOK)
        guard let typeValue = Optional(ldns_get_rr_type_by_name(type.rawValue)), typeValue.rawValue != 0 else {
            throw fail("ldns does not know the type \(type)")
        }
        guard let qname = ldns_dname_new_frm_str(name.fqdn) else { throw fail("ldns refused the name") }
        defer { ldns_rdf_deep_free(qname) }
        var pkt: UnsafeMutablePointer<ldns_pkt>? = nil
        let flags: UInt16 = (options.recursionDesired ? UInt16(LDNS_RD) : 0) | (options.checkingDisabled ? UInt16(LDNS_CD) : 0)
        let status = ldns_resolver_send(&pkt, res, qname, typeValue, LDNS_RR_CLASS_IN, flags)
        guard status == LDNS_STATUS_OK, let pkt else {
            if let pkt { ldns_pkt_free(pkt) }
            let tries = options.attempts == 1 ? "1 attempt" : "\(options.attempts) attempts"
            let limit = "\(Self.seconds(options.timeout)) s per attempt, \(tries)"
            if tcp {
                throw fail("the UDP answer was truncated and the query over TCP got no answer (\(LDNSText.errorText(status)); \(limit))")
            }
            switch status {
            case LDNS_STATUS_NETWORK_ERR, LDNS_STATUS_RES_NO_NS:
                throw fail("no answer within \(limit) (server unreachable or not answering)")
            default:
                throw fail("\(LDNSText.errorText(status)) (\(limit))")
            }
        }
        defer { ldns_pkt_free(pkt) }
        let rcode: ResponseCode
        switch ldns_pkt_get_rcode(pkt) {
        case LDNS_RCODE_NOERROR: rcode = .noError
        case LDNS_RCODE_FORMERR: rcode = .formErr
        case LDNS_RCODE_SERVFAIL: rcode = .servFail
        case LDNS_RCODE_NXDOMAIN: rcode = .nxDomain
        case LDNS_RCODE_NOTIMPL: rcode = .notImp
        case LDNS_RCODE_REFUSED: rcode = .refused
        default: rcode = .other
        }
        func records(_ list: UnsafeMutablePointer<ldns_rr_list>?) throws -> [ServedRecord] {
            guard let list else { return [] }
            var out: [ServedRecord] = []
            for i in 0..<ldns_rr_list_rr_count(list) {
                guard let rr = ldns_rr_list_rr(list, i) else { continue }
                let t = ldns_rr_get_type(rr)
                if t == LDNS_RR_TYPE_OPT || t == LDNS_RR_TYPE_TSIG { continue }
                do { out.append(try Self.decode(rr)) } catch let e as RecordDecodeFailure { throw fail("cannot decode the answer: \(e.message)") }
            }
            return out
        }
        var raw = Raw(server: server, name: name, type: type, rcode: rcode, aa: ldns_pkt_aa(pkt), truncated: ldns_pkt_tc(pkt),
                      answer: try records(ldns_pkt_answer(pkt)), authority: try records(ldns_pkt_authority(pkt)),
                      additional: try records(ldns_pkt_additional(pkt)))
        raw.ad = ldns_pkt_ad(pkt)
        return raw
    }

    static func seconds(_ s: Double) -> String { s == s.rounded() ? String(Int(s)) : String(s) }

    /// Converts one ldns RR to a ``ServedRecord``; TXT strings are read from the raw rdata
    /// bytes (length-prefixed), so nothing is lost to escaping.
    static func decode(_ rr: UnsafeMutablePointer<ldns_rr>) throws -> ServedRecord {
        if ldns_rr_get_type(rr) == LDNS_RR_TYPE_TXT {
            let ownerText = ldns_rr_owner(rr).flatMap { LDNSText.take(ldns_rdf2str($0)) } ?? ""
            guard let owner = try? DomainName(ownerText) else { throw RecordDecodeFailure(message: "owner '\(ownerText)' is not a valid name") }
            var strings: [[UInt8]] = []
            for i in 0..<ldns_rr_rd_count(rr) {
                guard let rdf = ldns_rr_rdf(rr, i), let data = ldns_rdf_data(rdf) else { continue }
                let size = ldns_rdf_size(rdf)
                guard size >= 1 else { strings.append([]); continue }
                let len = min(Int(data[0]), size - 1)
                strings.append(Array(UnsafeBufferPointer(start: data + 1, count: len)))
            }
            return ServedRecord(name: owner, ttl: ldns_rr_ttl(rr), rdata: .txt(TXTData(strings: strings)))
        }
        let p: (owner: String, type: RRType, rdata: String)
        do { p = try LDNSText.presentation(of: rr) } catch { throw RecordDecodeFailure(message: "\(error)") }
        guard let owner = try? DomainName(p.owner) else { throw RecordDecodeFailure(message: "owner '\(p.owner)' is not a valid name") }
        do {
            return ServedRecord(name: owner, ttl: ldns_rr_ttl(rr), rdata: try RData.parse(type: p.type, p.rdata))
        } catch {
            return ServedRecord(name: owner, ttl: ldns_rr_ttl(rr), rdata: .other(type: p.type, presentation: p.rdata))
        }
    }

}

/// Why one served record could not be decoded.
struct RecordDecodeFailure: Error { let message: String }
