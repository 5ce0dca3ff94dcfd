import Foundation
import MailPlan

/// The one reader of paged listings for the HTTP adapters (docs/architecture.md, "Adding a
/// provider", step 3): it asks for page after page, checks that the pages add up, and words
/// the refusal once. Each adapter decodes its own pages (``Page``); the paging styles in use:
///
/// - page numbers with an announced total: Cloudflare `result_info`, DigitalOcean
///   `links.pages.next` and `meta.total`, Hetzner `meta.pagination`, Gandi `Total-Count`;
/// - cursor URLs in a `Link` header (RFC 8288): deSEC;
/// - continuation tokens: Route 53 `NextRecordName`/`NextRecordType`, `NextMarker`.
///
/// A listing is refused (the adapter's `fail` gets the message) when a page is missing or
/// repeated, the server returns another page than the one asked for, a page before the last
/// is short or empty, the announced total changes while paging or disagrees with the items
/// read, or a cursor URL points at another origin (the token is never sent there).
struct PagedListing {
    /// Where a page starts.
    enum Cursor: Hashable {
        /// A page number, from 1.
        case page(Int)
        /// A cursor URL from a `Link` header, followed only under ``origin``.
        case link(String)
        /// Opaque continuation values (Route 53's next name, type and identifier; a marker).
        case token([String])
    }

    /// One page as the adapter decoded it.
    struct Page<Item> {
        /// The items of this page.
        var items: [Item]
        /// The request, as shown in messages (`GET https://…`).
        var request: String
        /// The number of items the listing announces in all, when it does.
        var total: Int? = nil
        /// The page number the server says this is, checked against the one asked for.
        var number: Int? = nil
        /// The items every page but the last holds, when the server says (or the adapter
        /// asked for a size the server honours); nil: the first page's count.
        var fullSize: Int? = nil
        /// Where the next page starts; nil on the last page.
        var next: Cursor? = nil
    }

    /// What a listing read: its items, and whether every page was read (false only when
    /// `keepGoing` stopped it).
    struct Result<Item> {
        var items: [Item]
        var complete: Bool
        /// Requests made.
        var pages: Int
    }

    /// What the items are called in messages ("records", "RRsets", "zones").
    var noun: String
    /// Who serves the listing ("Cloudflare") and the name of its announced total
    /// ("total_count"), for messages.
    var vendor: String
    var totalField: String = "a total"
    /// The base a ``Cursor/link(_:)`` must lie under (scheme, host, port and path prefix).
    var origin: URL? = nil
    /// Builds the adapter's error from a message.
    var fail: (String) -> Error

    /// The most pages read before giving up.
    static let maxPages = 100_000

    /// `detail` followed by the one wording of the refusal.
    static func partial(_ detail: String) -> String { detail + "; refusing to plan from a partial listing" }

    /// Reads every page from `first`.
    /// - Parameter fetch: gets a page's cursor and the number of items read before it.
    /// - Throws: what `fetch` throws, or `fail(…)` when the pages do not add up.
    func readAll<Item>(from first: Cursor, _ fetch: (Cursor, Int) throws -> Page<Item>) throws -> [Item] {
        try read(from: first, keepGoing: nil, fetch).items
    }

    /// Reads pages from `first` while `keepGoing` (asked before each page after the first,
    /// with the pages read so far and the last page) says so.
    /// - Throws: as ``readAll(from:_:)``.
    func read<Item>(from first: Cursor, keepGoing: ((Int, Page<Item>) -> Bool)?,
                    _ fetch: (Cursor, Int) throws -> Page<Item>) throws -> Result<Item> {
        var all: [Item] = []
        var cursor = first
        var seen: Set<Cursor> = []
        var total: Int? = nil
        var size: Int? = nil
        var pages = 0
        while true {
            if case .link(let text) = cursor {
                guard let u = URL(string: text), let origin, RESTAPI.sameOrigin(u, as: origin) else {
                    throw fail("the pagination link '\(text)' does not point at \(origin?.absoluteString ?? "the API"); not following it with the token")
                }
            }
            guard seen.insert(cursor).inserted else { throw fail(Self.partial("the listing names \(Self.describe(cursor)) twice (the pages loop)")) }
            guard pages < Self.maxPages else { throw fail("more than \(Self.maxPages) pages") }
            let page = try fetch(cursor, all.count)
            pages += 1
            if case .page(let n) = cursor, let got = page.number, got != n {
                throw fail(Self.partial("\(page.request) returned page \(got) instead of page \(n)"))
            }
            if let t = page.total {
                if let old = total, old != t {
                    throw fail("\(totalField) changed from \(old) to \(t) while paging (the listing changed during the read); run plan again")
                }
                total = t
            }
            all += page.items
            guard let next = page.next else {
                if let total, total != all.count {
                    throw fail(Self.partial("got \(all.count) \(noun) over \(pages) page\(pages == 1 ? "" : "s") but \(vendor) reports \(totalField) \(total)"))
                }
                return Result(items: all, complete: true, pages: pages)
            }
            if case .page(let n) = cursor, case .page(let m) = next, m != n + 1 {
                throw fail(Self.partial("page \(n) names page \(m) as the next one"))
            }
            let full = page.fullSize ?? size ?? page.items.count
            if size == nil { size = full }
            if page.items.isEmpty {
                throw fail(Self.partial("\(page.request) returned no \(noun) on a page that is not the last (an empty page)"))
            }
            if page.items.count != full {
                throw fail(Self.partial("\(page.request) returned \(page.items.count) \(noun) on a page of \(full) that is not the last (a short page)"))
            }
            if let total, all.count >= total {
                throw fail(Self.partial("\(page.request) names a next page but the \(all.count) \(noun) read already make up the \(totalField) of \(total)"))
            }
            if let keepGoing, !keepGoing(pages, page) { return Result(items: all, complete: false, pages: pages) }
            cursor = next
        }
    }

    private static func describe(_ c: Cursor) -> String {
        switch c {
        case .page(let n): return "page \(n)"
        case .link(let u): return "the link \(u)"
        case .token(let t): return "the position \(t.joined(separator: " "))"
        }
    }
}

/// The zones of one account as one paged listing found them, shared by every adapter
/// instance of a provider entry through ``ProviderSession/shared(_:_:)`` (issue 17, "Fewest
/// requests"): when a run plans more than one zone of an instance, one listing of all zones
/// serves every zone's lookup instead of one lookup per zone.
///
/// The rule (docs/architecture.md, "Requests"): with one planned zone, the adapter looks the
/// zone up alone. With N ≥ 2 it reads the listing's first page; when the listing announces its
/// total, it reads on only when the pages still to read are fewer than the N lookups they
/// replace; when it does not (a cursor or marker listing), it reads on while it has made fewer
/// requests than N. A listing stopped early still serves the zones it holds; the others are
/// looked up alone. A zone missing from a complete listing does not exist.
struct ZoneDirectory<Zone: Sendable>: Sendable {
    /// The zones listed, by name (several when a name exists in several accounts).
    var zones: [DomainName: [Zone]]
    /// True when every page was read: a zone not in ``zones`` does not exist.
    var complete: Bool

    /// What the directory says about `zone`: its entries, `[]` when it certainly does not
    /// exist, nil when the adapter must look it up alone.
    func lookup(_ zone: DomainName) -> [Zone]? {
        if let z = zones[zone] { return z }
        return complete ? [] : nil
    }

    /// The shared directory of `client`'s session under `key`, listed by `list` (which reads
    /// with the `keepGoing` it is given) once per run; nil when per-zone lookups are cheaper
    /// (no session, or fewer than two zones planned).
    /// - Parameters:
    ///   - list: reads the listing; its argument is the `keepGoing` rule for ``PagedListing/read(from:keepGoing:_:)``.
    ///   - name: the zone name of a listed entry (nil when it is not a valid name: skipped).
    /// - Throws: what `list` throws (nothing is stored then; the next zone tries again).
    static func shared(_ client: HTTPClient, key: String, name: @escaping (Zone) -> DomainName?,
                       _ list: (_ keepGoing: @escaping (Int, PagedListing.Page<Zone>) -> Bool) throws -> PagedListing.Result<Zone>) throws -> ZoneDirectory<Zone>? {
        guard let session = client.options.session else { return nil }
        let planned = session.plannedZoneCount
        guard planned >= 2 else { return nil }
        // Typed non-optional: `shared` would take a stored nothing for an Optional value.
        let directory: ZoneDirectory<Zone> = try session.shared(key) {
            let result = try list { pages, page in
                if let total = page.total, total > 0 {
                    let size = max(1, page.fullSize ?? page.items.count)
                    let all = (total + size - 1) / size
                    return all - pages < planned
                }
                return pages < planned
            }
            var byName: [DomainName: [Zone]] = [:]
            for z in result.items { if let n = name(z) { byName[n, default: []].append(z) } }
            return ZoneDirectory(zones: byName, complete: result.complete)
        }
        return directory
    }
}
