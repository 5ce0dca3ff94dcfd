import CLDNS
import Foundation
import Logging
import MailPlan
#if canImport(Glibc)
import Glibc
#endif

/// The ldns side of the RFC 2136 adapter: a TCP resolver with the TSIG key, AXFR, and
/// building, signing and sending one UPDATE message. Everything ldns allocates is freed here.
enum RFC2136Convert {
    /// Where and how to talk to the primary.
    struct Endpoint {
        var address: String      // IPv4 or IPv6 literal
        var port: UInt16
        var keyName: String      // absolute, with trailing dot
        var algorithm: String    // ldns algorithm name, e.g. "hmac-sha256."
        var secret: Secret       // base64
        var timeout: Int         // seconds
    }

    /// What an exchange with the server came to.
    enum Failure: Error {
        /// No usable answer: ldns's status text (connection refused, timeout…).
        case network(String)
        /// The reply did not carry a valid TSIG signature for our key (ldns "Bogus TSIG signature").
        case bogusTSIG
        /// The server answered with an error rcode; `tsigError` is the TSIG Error field (16 BADSIG…).
        case rcode(code: Int, tsigError: Int?)
        /// A record could not be built or converted.
        case record(String)
        /// The transfer stopped before its closing SOA without an error rcode (the server
        /// closed the connection, or sent nothing more).
        case transferClosed
    }

    /// The debug log of each exchange (label `mailplan.dns`, shown with `--verbose`): what was
    /// sent, to which server, with which key name, and how it ended. The TSIG secret is never logged.
    static let logger = Logger(label: "mailplan.dns")

    /// Runs one exchange and logs it: "AXFR example.com. @192.0.2.53:53 (tcp, TSIG mailplan.) → …".
    static func logged<T>(_ what: String, _ ep: Endpoint, _ body: () throws -> T, outcome: (T) -> String) throws -> T {
        let server = ep.address.contains(":") ? "[\(ep.address)]:\(ep.port)" : "\(ep.address):\(ep.port)"
        let head = "\(what) @\(server) (tcp, TSIG \(ep.keyName))"
        let start = ContinuousClock.now
        func ms() -> Int { HTTPClient.milliseconds(ContinuousClock.now - start) }
        do {
            let r = try body()
            logger.debug("\(head) → \(outcome(r)) in \(ms()) ms")
            return r
        } catch {
            logger.debug("\(head) failed in \(ms()) ms: \(error)")
            throw error
        }
    }

    /// A TCP resolver to `ep` holding the TSIG key (ldns signs AXFR queries with it).
    static func resolver(_ ep: Endpoint) throws -> UnsafeMutablePointer<ldns_resolver> {
        guard let res = ldns_resolver_new() else { throw Failure.record("ldns_resolver_new failed") }
        let type = ep.address.contains(":") ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A
        guard let addr = ldns_rdf_new_frm_str(type, ep.address) else {
            ldns_resolver_deep_free(res)
            throw Failure.record("'\(ep.address)' is not an IP address")
        }
        defer { ldns_rdf_deep_free(addr) }
        _ = ldns_resolver_push_nameserver(res, addr)
        ldns_resolver_set_port(res, ep.port)
        ldns_resolver_set_usevc(res, true)          // TCP: no size limit, no UDP retransmits of an UPDATE
        ldns_resolver_set_recursive(res, false)
        ldns_resolver_set_retry(res, 1)
        ldns_resolver_set_timeout(res, timeval(tv_sec: ep.timeout, tv_usec: 0))
        ldns_resolver_set_tsig_keyname(res, ep.keyName)
        ldns_resolver_set_tsig_algorithm(res, ep.algorithm)
        ldns_resolver_set_tsig_keydata(res, ep.secret.value)
        return res
    }

    /// The TSIG Error field of a reply's TSIG record (RFC 8945 §4.2), if it has one.
    static func tsigError(_ pkt: UnsafeMutablePointer<ldns_pkt>) -> Int? {
        guard let t = ldns_pkt_tsig(pkt), ldns_rr_rd_count(t) > 5, let rdf = ldns_rr_rdf(t, 5) else { return nil }
        return Int(ldns_rdf2native_int16(rdf))
    }

    /// Transfers `zone` (AXFR over TCP, signed with the key).
    /// - Returns: every RR as (model record, ldns presentation line); the SOA that closes the
    ///   transfer is dropped.
    /// - Throws: ``Failure``.
    static func axfr(_ ep: Endpoint, zone: DomainName) throws -> [(record: ZoneRecord, line: String)] {
        let res = try resolver(ep)
        defer { ldns_resolver_deep_free(res) }
        guard let zrdf = ldns_dname_new_frm_str(zone.fqdn) else { throw Failure.record("cannot use \(zone.fqdn) as a zone name") }
        defer { ldns_rdf_deep_free(zrdf) }
        let st = ldns_axfr_start(res, zrdf, LDNS_RR_CLASS_IN)
        guard st == LDNS_STATUS_OK else {
            throw st == LDNS_STATUS_CRYPTO_TSIG_BOGUS ? Failure.bogusTSIG : Failure.network(LDNSText.errorText(st))
        }
        var out: [(ZoneRecord, String)] = []
        var soaSeen = false
        while let rr = ldns_axfr_next(res) {
            defer { ldns_rr_free(rr) }
            if ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA {
                if soaSeen { continue }
                soaSeen = true
            }
            let line = (LDNSText.take(ldns_rr2str(rr)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            do { out.append((try LDNSText.record(from: rr, origin: zone), line)) } catch { throw Failure.record("\(error)") }
        }
        if !ldns_axfr_complete(res) {
            if let last = ldns_axfr_last_pkt(res), ldns_pkt_get_rcode(last) != LDNS_RCODE_NOERROR {
                throw Failure.rcode(code: Int(ldns_pkt_get_rcode(last).rawValue), tsigError: tsigError(last))
            }
            ldns_axfr_abort(res)
            throw Failure.transferClosed
        }
        return out
    }

    /// One RR from a presentation line, with `cls` and `ttl` forced.
    static func rr(_ line: String, cls: ldns_rr_class? = nil, ttl: UInt32? = nil) throws -> UnsafeMutablePointer<ldns_rr> {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let st = ldns_rr_new_frm_str(&rr, line, 0, nil, nil)
        guard st == LDNS_STATUS_OK, let rr else {
            if let rr { ldns_rr_free(rr) }
            throw Failure.record("ldns cannot build '\(line)': \(LDNSText.errorText(st))")
        }
        if let cls { ldns_rr_set_class(rr, cls) }
        if let ttl { ldns_rr_set_ttl(rr, ttl) }
        return rr
    }

    /// An RR with no rdata (the "RRset exists/does not exist" prerequisites and "delete RRset").
    static func emptyRR(_ name: DomainName, _ type: RRType, cls: ldns_rr_class) throws -> UnsafeMutablePointer<ldns_rr> {
        let t = ldns_get_rr_type_by_name(type.rawValue)
        guard t.rawValue != 0, let owner = ldns_dname_new_frm_str(name.fqdn), let rr = ldns_rr_new() else {
            throw Failure.record("ldns cannot build an empty \(name.fqdn) \(type) record")
        }
        ldns_rr_set_owner(rr, owner)
        ldns_rr_set_type(rr, t)
        ldns_rr_set_class(rr, cls)
        ldns_rr_set_ttl(rr, 0)
        return rr
    }

    /// The records of one UPDATE message (RFC 2136 §2.4, §2.5) as presentation-independent specs.
    enum Item {
        /// Prerequisite: the RRset at (name, type) holds exactly these RRs (lines as read; class IN, TTL 0).
        case exactly([String])
        /// Prerequisite: no RRset at (name, type) (class NONE).
        case absent(DomainName, RRType)
        /// Update: delete the whole RRset (class ANY).
        case deleteSet(DomainName, RRType)
        /// Update: add one RR (class IN).
        case add(String)
    }

    /// Builds one UPDATE for `zone` from prerequisites and updates, signs it with the key
    /// (`ldns_update_pkt_tsig_add`) and sends it over TCP.
    /// - Throws: ``Failure``: `.rcode` for any rcode but NOERROR, `.bogusTSIG` when the reply
    ///   is not signed with our key, `.network` when no reply arrived.
    static func update(_ ep: Endpoint, zone: DomainName, prerequisites: [Item], updates: [Item]) throws {
        let res = try resolver(ep)
        defer { ldns_resolver_deep_free(res) }
        guard let pr = ldns_rr_list_new(), let up = ldns_rr_list_new() else { throw Failure.record("ldns_rr_list_new failed") }
        defer { ldns_rr_list_deep_free(pr); ldns_rr_list_deep_free(up) }
        func build(_ item: Item) throws -> [UnsafeMutablePointer<ldns_rr>] {
            switch item {
            case .exactly(let lines): return try lines.map { try rr($0, cls: LDNS_RR_CLASS_IN, ttl: 0) }
            case .absent(let n, let t): return [try emptyRR(n, t, cls: LDNS_RR_CLASS_NONE)]
            case .deleteSet(let n, let t): return [try emptyRR(n, t, cls: LDNS_RR_CLASS_ANY)]
            case .add(let line): return [try rr(line, cls: LDNS_RR_CLASS_IN)]
            }
        }
        for i in prerequisites { for r in try build(i) { _ = ldns_rr_list_push_rr(pr, r) } }
        for i in updates { for r in try build(i) { _ = ldns_rr_list_push_rr(up, r) } }
        guard let zrdf = ldns_dname_new_frm_str(zone.fqdn) else { throw Failure.record("cannot use \(zone.fqdn) as a zone name") }
        // The packet takes ownership of zrdf and clones the lists.
        guard let pkt = ldns_update_pkt_new(zrdf, LDNS_RR_CLASS_IN, prerequisites.isEmpty ? nil : pr, up, nil) else {
            throw Failure.record("ldns_update_pkt_new failed")
        }
        defer { ldns_pkt_free(pkt) }
        ldns_pkt_set_rd(pkt, false)   // ldns_pkt_query_new sets RD; an UPDATE has all flags 0
        let st = ldns_update_pkt_tsig_add(pkt, res)
        guard st == LDNS_STATUS_OK else { throw Failure.record("cannot sign the update with TSIG: \(LDNSText.errorText(st))") }
        var answer: UnsafeMutablePointer<ldns_pkt>? = nil
        let sent = ldns_resolver_send_pkt(&answer, res, pkt)
        defer { if let answer { ldns_pkt_free(answer) } }
        if let answer, ldns_pkt_get_rcode(answer) != LDNS_RCODE_NOERROR {
            throw Failure.rcode(code: Int(ldns_pkt_get_rcode(answer).rawValue), tsigError: tsigError(answer))
        }
        if sent == LDNS_STATUS_CRYPTO_TSIG_BOGUS { throw Failure.bogusTSIG }
        guard sent == LDNS_STATUS_OK, answer != nil else { throw Failure.network(LDNSText.errorText(sent)) }
    }
}
