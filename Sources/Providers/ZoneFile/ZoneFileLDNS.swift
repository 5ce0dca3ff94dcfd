import CLDNS
import Foundation
import MailPlan
#if canImport(Glibc)
import Glibc
#endif

/// One record as read from a master file: owner, TTL in seconds and typed rdata.
typealias ZoneRecord = (name: DomainName, ttl: UInt32, rdata: RData)

/// The ldns side of the zone-file adapter: parsing master-file text (RFC 1035 §5) into
/// model records, and building/printing single RRs. Every C string ldns returns is copied
/// into a Swift `String` and freed here; nothing ldns allocates leaves this file.
enum ZoneFileLDNS {
    /// Why a master file could not be turned into records.
    enum ParseFailure: Error {
        /// ldns refused the text: its status text and the line it reports (1-based).
        case syntax(line: Int, message: String)
        /// ldns read the RR but the model refused it (bad name or rdata).
        case record(String)
    }

    /// Parses master-file `text` with `ldns_zone_new_frm_fp_l`, with `origin` as the initial
    /// `$ORIGIN` (so `@`, relative names, `$ORIGIN` and `$TTL` work) and 3600 s as the TTL of
    /// records that give none before any `$TTL`.
    /// - Returns: every RR of the file, SOA first, in file order.
    /// - Throws: ``ParseFailure``.
    static func parseZone(_ text: Data, origin: DomainName) throws -> [ZoneRecord] {
        guard !text.isEmpty else { return [] }
        guard let originRdf = ldns_dname_new_frm_str(origin.fqdn) else {
            throw ParseFailure.record("cannot use \(origin.fqdn) as origin")
        }
        defer { ldns_rdf_deep_free(originRdf) }

        var zone: UnsafeMutablePointer<ldns_zone>? = nil
        var line: Int32 = 0
        let status: ldns_status = try text.withUnsafeBytes { raw -> ldns_status in
            // A private copy: fmemopen wants a mutable buffer, and the bytes must outlive the FILE.
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: raw.count, alignment: 1)
            defer { copy.deallocate() }
            copy.copyMemory(from: raw)
            guard let fp = fmemopen(copy.baseAddress, raw.count, "r") else {
                throw ParseFailure.record("cannot open the zone text for reading (errno \(errno))")
            }
            defer { fclose(fp) }
            return ldns_zone_new_frm_fp_l(&zone, fp, originRdf, 3600, LDNS_RR_CLASS_IN, &line)
        }
        guard status == LDNS_STATUS_OK, let zone else {
            if let zone { ldns_zone_deep_free(zone) }
            throw ParseFailure.syntax(line: Int(line), message: LDNSText.errorText(status))
        }
        defer { ldns_zone_deep_free(zone) }

        var out: [ZoneRecord] = []
        if let soa = ldns_zone_soa(zone) { out.append(try record(from: soa, origin: origin)) }
        if let list = ldns_zone_rrs(zone) {
            for i in 0..<ldns_rr_list_rr_count(list) {
                guard let rr = ldns_rr_list_rr(list, i) else { continue }
                out.append(try record(from: rr, origin: origin))
            }
        }
        return out
    }

    /// Converts one ldns RR to the model: owner via `ldns_rdf2str`, type via
    /// `ldns_rr_type2str`, rdata as the rdfs' presentation joined by spaces and parsed with
    /// ``RData/parse(type:_:origin:)``.
    static func record(from rr: UnsafeMutablePointer<ldns_rr>, origin: DomainName) throws -> ZoneRecord {
        if ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN {
            let owner = ldns_rr_owner(rr).flatMap { LDNSText.take(ldns_rdf2str($0)) } ?? ""
            let cls = LDNSText.take(ldns_rr_class2str(ldns_rr_get_class(rr))) ?? "?"
            let type = LDNSText.take(ldns_rr_type2str(ldns_rr_get_type(rr))) ?? "?"
            throw ParseFailure.record("\(owner) \(type): class \(cls) is not supported (only IN)")
        }
        let p: (owner: String, type: RRType, rdata: String)
        do { p = try LDNSText.presentation(of: rr) } catch { throw ParseFailure.record("\(error)") }
        let (ownerText, type, rdataText) = p
        let name: DomainName
        do { name = try DomainName(ownerText, relativeTo: origin) } catch {
            throw ParseFailure.record("owner \(ownerText): \(error)")
        }
        do {
            return (name, ldns_rr_ttl(rr), try RData.parse(type: type, rdataText, origin: origin))
        } catch {
            throw ParseFailure.record("\(name.fqdn) \(type): \(error)")
        }
    }

    /// Builds one RR from its presentation line with `ldns_rr_new_frm_str` and prints it back
    /// with `ldns_rr2str`, which is how every line of a written zone file is produced.
    /// - Returns: the line as ldns prints it, without the trailing newline.
    /// - Throws: a message with ldns's status text when ldns refuses the line.
    static func canonicalLine(_ line: String) throws -> String {
        var rr: UnsafeMutablePointer<ldns_rr>? = nil
        let status = ldns_rr_new_frm_str(&rr, line, 0, nil, nil)
        guard status == LDNS_STATUS_OK, let rr else {
            if let rr { ldns_rr_free(rr) }
            throw ParseFailure.record(LDNSText.errorText(status))
        }
        defer { ldns_rr_free(rr) }
        guard let printed = LDNSText.take(ldns_rr2str(rr)) else { throw ParseFailure.record("ldns cannot print the record") }
        return printed.trimmingCharacters(in: .newlines)
    }

}
