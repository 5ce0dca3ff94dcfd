import Foundation
import MailPlan

/// The read-by-query fallback of the RFC 2136 adapter, used when the primary refuses the
/// zone transfer: each managed (name, type) is queried at the primary through the shared
/// ``Resolver`` (UDP with EDNS, TCP when truncated; not TSIG-signed, so the primary must
/// answer plain queries from this host), and the authoritative answers become the live
/// RRsets. Only what was asked is seen: unmanaged records stay invisible, which is why the
/// plan shows a warning.
enum RFC2136Query {
    /// Why the fallback could not read an RRset: a failed read is never absent data.
    struct Failure: Error, CustomStringConvertible, Equatable {
        let message: String
        var description: String { message }
    }

    /// What one query came to, keyed by what was asked.
    struct Outcome {
        var key: RRsetKey
        var answer: Result<DNSAnswer, ResolverError>
    }

    /// Maps the answers to the queries of the managed RRsets to live RRsets (RFC 1034 §4.3.2,
    /// RFC 2308): an authoritative NOERROR answer gives the records owned by the queried name
    /// of the queried type, or the CNAME there (a CNAME stands in for every other type, so a
    /// query of any type finds it: the diff's CNAME-conflict rule needs it); an authoritative
    /// NXDOMAIN or NODATA means the RRset is absent. Anything else is an error naming the
    /// server, the name and the type: SERVFAIL, REFUSED, a non-authoritative answer (a
    /// referral to a delegated child), or no answer at all.
    /// - Parameters:
    ///   - outcomes: one per queried key, in query order.
    ///   - server: the primary as configured (`host:port`), for messages.
    /// - Returns: the RRsets found (one per key, de-duplicated; a CNAME reached by several
    ///   queries once) and, per RRset, its records as zone-file lines with TXT
    ///   character-strings as served (the "RRset exists with exactly these values"
    ///   prerequisites of an UPDATE are built from them).
    /// - Throws: ``Failure`` for the first outcome that is not a usable answer.
    static func rrsets(_ outcomes: [Outcome], server: String) throws -> (rrsets: [RRset], lines: [RRsetKey: [String]]) {
        var found: [RRsetKey: [ServedRecord]] = [:]
        var order: [RRsetKey] = []
        for o in outcomes {
            let asked = "\(o.key.name.fqdn) \(o.key.type)"
            let a: DNSAnswer
            switch o.answer {
            case .failure(let e):
                throw Failure(message: "the zone transfer was refused and the query for \(asked) at \(server) failed: \(e.reason)")
            case .success(let x): a = x
            }
            switch (a.rcode, a.authoritative) {
            case (.noError, true), (.nxDomain, true): break
            case (.noError, false), (.nxDomain, false):
                throw Failure(message: "the zone transfer was refused and \(server) answered the query for \(asked) without authority (AA bit clear: the name is delegated elsewhere, or the server is not authoritative for it); mailplan cannot read it")
            case (.refused, _):
                throw Failure(message: "the zone transfer was refused and \(server) also refused the query for \(asked) (REFUSED): allow queries from this host (BIND: allow-query) or allow the transfer for the key (allow-transfer { key …; })")
            default:
                throw Failure(message: "the zone transfer was refused and \(server) answered the query for \(asked) with \(a.rcode.rawValue); the RRset cannot be read, so nothing is planned for this zone")
            }
            guard a.rcode == .noError else { continue }   // NXDOMAIN: absent
            let mine = a.answerRecords.filter { $0.name == o.key.name && ($0.rdata.type == o.key.type || $0.rdata.type == .cname) }
            for r in mine {
                let k = RRsetKey(r.name, r.rdata.type)
                if found[k] == nil { order.append(k); found[k] = [] }
                // The same RRset served again by another query is not added twice.
                if !(found[k]!.contains(r)) { found[k]!.append(r) }
            }
        }
        var lines: [RRsetKey: [String]] = [:]
        var records: [(DomainName, UInt32, RData)] = []
        for k in order {
            for r in found[k]! {
                records.append((r.name, r.ttl, r.rdata))
                lines[k, default: []].append(line(r))
            }
        }
        return ([RRset].grouping(records), lines)
    }

    /// One served record as a zone-file line (`owner TTL IN TYPE rdata`); TXT keeps the
    /// character-strings as they were on the wire, each quoted (``RData/presentation``).
    static func line(_ r: ServedRecord) -> String {
        "\(r.name.fqdn) \(r.ttl) IN \(r.rdata.type) \(r.rdata.presentation)"
    }
}
