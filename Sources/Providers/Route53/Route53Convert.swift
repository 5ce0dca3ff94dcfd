import Foundation
import MailPlan

/// Conversion between the Route 53 REST/XML API 2013-04-01 (the Amazon Route 53 API Reference, version 2013-04-01) and ``RRset``.
///
/// `<Name>` is absolute and may carry octal escapes (`\052` for `*`); each
/// `<ResourceRecord><Value>` is one presentation-form value, TXT as quoted character-strings
/// with octal escapes (``txtValue(_:)``).
public enum Route53Convert {
    /// The XML namespace of every request and response.
    public static let namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

    /// One hosted zone of a `ListHostedZonesByName` page.
    public struct HostedZone: Sendable, Equatable {
        /// The bare ID (the `/hostedzone/` prefix removed).
        public var id: String
        public var name: String
        public var privateZone: Bool
    }

    /// One `ResourceRecordSet` as the API sends it.
    public struct APIRecordSet: Sendable, Equatable {
        public var name: String
        public var type: String
        public var ttl: UInt32?
        public var values: [String]
        /// True for an alias record (`<AliasTarget>`), which has no TTL or values.
        public var alias: Bool = false
        /// The routing-policy identifier (weighted, latency, failover… records).
        public var setIdentifier: String? = nil
        public init(name: String, type: String, ttl: UInt32?, values: [String], alias: Bool = false, setIdentifier: String? = nil) {
            self.name = name; self.type = type; self.ttl = ttl; self.values = values
            self.alias = alias; self.setIdentifier = setIdentifier
        }
    }

    /// One page of `ListResourceRecordSets`.
    public struct RecordSetPage: Sendable, Equatable {
        public var sets: [APIRecordSet]
        /// Where the next page starts, when `IsTruncated` is true.
        public var next: (name: String, type: String, identifier: String?)?
        public static func == (a: Self, b: Self) -> Bool {
            a.sets == b.sets && a.next?.name == b.next?.name && a.next?.type == b.next?.type && a.next?.identifier == b.next?.identifier
        }
    }


    /// The hosted zones of a `ListHostedZonesByNameResponse` body and whether more follow.
    public static func hostedZones(_ data: Data) throws -> (zones: [HostedZone], truncated: Bool, nextName: String?, nextID: String?) {
        let root = try listRoot(data, "ListHostedZonesByNameResponse")
        return (hostedZones(in: root), root.text("IsTruncated") == "true", root.text("NextDNSName"), root.text("NextHostedZoneId"))
    }

    /// The hosted zones of a `ListHostedZonesResponse` body and the `NextMarker` of the next
    /// page (nil when `IsTruncated` is false).
    /// - Throws: ``ConvertError`` for another body, or a truncated page without `NextMarker`.
    public static func hostedZonePage(_ data: Data) throws -> (zones: [HostedZone], nextMarker: String?) {
        let root = try listRoot(data, "ListHostedZonesResponse")
        guard root.text("IsTruncated") == "true" else { return (hostedZones(in: root), nil) }
        guard let m = root.text("NextMarker"), !m.isEmpty else { throw ConvertError(message: "IsTruncated is true but NextMarker is missing") }
        return (hostedZones(in: root), m)
    }

    private static func listRoot(_ data: Data, _ name: String) throws -> XMLElementNode {
        let root = try XMLElementNode.parse(data)
        guard root.name == name else { throw ConvertError(message: "expected \(name), got <\(root.name)>") }
        return root
    }

    private static func hostedZones(in root: XMLElementNode) -> [HostedZone] {
        (root.child("HostedZones")?.all("HostedZone") ?? []).map { z in
            var id = z.text("Id") ?? ""
            if id.hasPrefix("/hostedzone/") { id.removeFirst("/hostedzone/".count) }
            return HostedZone(id: id, name: unescapeName(z.text("Name") ?? ""),
                              privateZone: z.text("Config", "PrivateZone")?.lowercased() == "true")
        }
    }

    /// One page of a `ListResourceRecordSetsResponse` body.
    public static func recordSetPage(_ data: Data) throws -> RecordSetPage {
        let root = try XMLElementNode.parse(data)
        guard root.name == "ListResourceRecordSetsResponse" else {
            throw ConvertError(message: "expected ListResourceRecordSetsResponse, got <\(root.name)>")
        }
        var sets: [APIRecordSet] = []
        for s in root.child("ResourceRecordSets")?.all("ResourceRecordSet") ?? [] {
            guard let name = s.text("Name"), let type = s.text("Type") else {
                throw ConvertError(message: "a ResourceRecordSet has no Name or Type")
            }
            var ttl: UInt32? = nil
            if let t = s.text("TTL") {
                guard let v = UInt32(t.trimmingCharacters(in: .whitespaces)) else {
                    throw ConvertError(message: "RRset \(name) \(type) has TTL '\(t)', not a number")
                }
                ttl = v
            }
            let values = (s.child("ResourceRecords")?.all("ResourceRecord") ?? []).compactMap { $0.text("Value") }
            sets.append(APIRecordSet(name: name, type: type, ttl: ttl, values: values,
                                     alias: s.child("AliasTarget") != nil, setIdentifier: s.text("SetIdentifier")))
        }
        var next: (String, String, String?)? = nil
        if root.text("IsTruncated") == "true" {
            guard let n = root.text("NextRecordName"), let t = root.text("NextRecordType") else {
                throw ConvertError(message: "IsTruncated is true but NextRecordName/NextRecordType are missing")
            }
            next = (n, t, root.text("NextRecordIdentifier"))
        }
        return RecordSetPage(sets: sets, next: next)
    }

    /// Undoes Route 53's `\DDD` octal escapes in names (`\052` → `*`).
    public static func unescapeName(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == 0x5c, i + 3 < u.count, let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v); i += 4
            } else { bytes.append(u[i]); i += 1 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One TXT `<Value>` as Route 53 writes it: each character-string quoted, `"` and `\`
    /// escaped with a backslash, printable ASCII as is, every other byte as a backslash and
    /// three *octal* digits (Route 53 Developer Guide, "TXT record type": "Route 53 … octal
    /// codes", unlike the decimal `\DDD` of RFC 1035 §5.1).
    public static func txtValue(_ t: TXTData) -> String {
        t.strings.map { TXTCodec.quoteBytes($0, radix: 8) }.joined(separator: " ")
    }

    /// Reads one TXT `<Value>`: a sequence of quoted character-strings with Route 53's octal
    /// `\NNN` escapes and `\X` for any other byte X (``txtValue(_:)``); a value that is not
    /// quoted is taken as one logical value.
    public static func txtData(_ value: String) -> TXTData {
        let u = Array(value.utf8)
        var strings: [[UInt8]] = []
        var i = 0
        while i < u.count {
            if u[i] == 0x20 || u[i] == 0x09 { i += 1; continue }
            guard u[i] == 0x22 else { return TXTData(value) }
            i += 1
            var cur: [UInt8] = []
            var closed = false
            while i < u.count {
                let b = u[i]
                if b == 0x22 { closed = true; i += 1; break }
                if b == 0x5c, i + 1 < u.count {
                    if i + 3 < u.count, u[(i + 1)...(i + 3)].allSatisfy({ (0x30...0x37).contains($0) }),
                       let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                        cur.append(v); i += 4
                    } else { cur.append(u[i + 1]); i += 2 }
                    continue
                }
                cur.append(b); i += 1
            }
            guard closed else { return TXTData(value) }
            strings.append(cur)
        }
        return strings.isEmpty ? TXTData(value) : TXTData(strings: strings)
    }

    /// One rdata as a `<Value>`: TXT as ``txtValue(_:)``, anything else in presentation form.
    public static func value(_ r: RData) -> String {
        if case .txt(let t) = r { return txtValue(t) }
        return r.presentation
    }

    /// An API record set as an ``RRset``. TXT values are read with ``txtData(_:)`` (the
    /// character-strings kept; an unquoted value taken as it is).
    /// - Throws: ``ConvertError`` naming the RRset for a bad name or value, or a missing TTL.
    public static func rrset(_ api: APIRecordSet, zone: DomainName) throws -> RRset {
        let name: DomainName
        do { name = try DomainName(unescapeName(api.name)) } catch {
            throw ConvertError(message: "RRset name '\(api.name)' is not a valid name: \(error)")
        }
        let type = RRType(api.type)
        guard let ttl = api.ttl else { throw ConvertError(message: "RRset \(name.fqdn) \(type) has no TTL") }
        let rdata = try api.values.map { v -> RData in
            if type == .txt { return .txt(txtData(v)) }
            do { return try RData.parse(type: type, v, origin: zone) } catch {
                throw ConvertError(message: "RRset \(name.fqdn) \(type): \(error)")
            }
        }
        return RRset(name: name, type: type, ttl: ttl, rdata: rdata)
    }

    /// The API form of an ``RRset``: one `<Value>` per rdata (``value(_:)``: TXT as its
    /// character-strings, exactly as read).
    public static func apiRecordSet(_ rrset: RRset) -> APIRecordSet {
        APIRecordSet(name: rrset.name.fqdn, type: rrset.type.rawValue, ttl: rrset.ttl, values: rrset.rdata.map(value))
    }

    /// One `<Change>` of a batch.
    public struct BatchChange: Sendable, Equatable {
        public enum Action: String, Sendable { case create = "CREATE", upsert = "UPSERT", delete = "DELETE" }
        public var action: Action
        public var set: APIRecordSet
        public init(_ action: Action, _ set: APIRecordSet) { self.action = action; self.set = set }
    }

    /// The `ChangeResourceRecordSetsRequest` document.
    public static func changeBatchXML(_ changes: [BatchChange], comment: String) -> Data {
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<ChangeResourceRecordSetsRequest xmlns=\"\(namespace)\"><ChangeBatch>"
        x += XMLWriter.element("Comment", comment) + "<Changes>"
        for c in changes {
            x += "<Change>" + XMLWriter.element("Action", c.action.rawValue) + "<ResourceRecordSet>"
            x += XMLWriter.element("Name", c.set.name) + XMLWriter.element("Type", c.set.type)
            if let id = c.set.setIdentifier { x += XMLWriter.element("SetIdentifier", id) }
            if let ttl = c.set.ttl { x += XMLWriter.element("TTL", String(ttl)) }
            x += "<ResourceRecords>"
            for v in c.set.values { x += "<ResourceRecord>" + XMLWriter.element("Value", v) + "</ResourceRecord>" }
            x += "</ResourceRecords></ResourceRecordSet></Change>"
        }
        x += "</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>\n"
        return Data(x.utf8)
    }

    /// The error code and messages of an error body: `<ErrorResponse><Error><Code>…` or the
    /// `<InvalidChangeBatch><Messages><Message>…` form; nil when the body is neither.
    public static func errorInfo(_ data: Data) -> (code: String, messages: [String])? {
        guard let root = try? XMLElementNode.parse(data) else { return nil }
        if root.name == "InvalidChangeBatch" {
            let msgs = (root.child("Messages")?.all("Message") ?? []).map(\.text) + (root.text("Message").map { [$0] } ?? [])
            return ("InvalidChangeBatch", msgs)
        }
        let err = root.name == "Error" ? root : root.child("Error")
        guard let e = err, let code = e.text("Code") else { return nil }
        return (code, e.text("Message").map { [$0] } ?? [])
    }
}
