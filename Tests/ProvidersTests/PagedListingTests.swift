import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

/// The shared paged-listing reader (``PagedListing``) and the shared zone listing
/// (``ZoneDirectory``): every refusal, and the rule that decides between one listing of all
/// zones and one lookup per zone.
final class PagedListingTests: XCTestCase {
    struct Failure: Error, CustomStringConvertible { var description: String }
    let listing = PagedListing(noun: "records", vendor: "Acme", totalField: "total", origin: URL(string: "https://api.example.net/v1")!) {
        Failure(description: $0)
    }

    /// Pages served from `pages` (page number → items, total, next).
    func read(_ pages: [PagedListing.Cursor: PagedListing.Page<Int>], from first: PagedListing.Cursor = .page(1)) -> String {
        do {
            let items = try listing.readAll(from: first) { c, _ in pages[c] ?? PagedListing.Page(items: [], request: "GET missing") }
            return "ok \(items)"
        } catch { return "\(error)" }
    }

    func page(_ items: [Int], _ n: Int? = nil, total: Int? = nil, next: PagedListing.Cursor? = nil) -> PagedListing.Page<Int> {
        PagedListing.Page(items: items, request: "GET /p\(n ?? 0)", total: total, number: n, next: next)
    }

    func testCompleteListingsAreRead() {
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 5, next: .page(2)), .page(2): page([3, 4], 2, total: 5, next: .page(3)),
                             .page(3): page([5], 3, total: 5)]), "ok [1, 2, 3, 4, 5]")
        XCTAssertEqual(read([.page(1): page([], 1, total: 0)]), "ok []")
        XCTAssertEqual(read([.link("https://api.example.net/v1/x?cursor="): page([1], next: .link("https://api.example.net/v1/x?cursor=2")),
                             .link("https://api.example.net/v1/x?cursor=2"): page([2])], from: .link("https://api.example.net/v1/x?cursor=")), "ok [1, 2]")
    }

    func testEveryRefusal() {
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 5, next: .page(2)), .page(2): page([3], 2, total: 5)]),
                       "got 3 records over 2 pages but Acme reports total 5; refusing to plan from a partial listing")
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 4, next: .page(2)), .page(2): page([3], 2, total: 4, next: .page(3))]),
                       "GET /p2 returned 1 records on a page of 2 that is not the last (a short page); refusing to plan from a partial listing")
        XCTAssertEqual(read([.page(1): page([], 1, total: 4, next: .page(2))]),
                       "GET /p1 returned no records on a page that is not the last (an empty page); refusing to plan from a partial listing")
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 5, next: .page(2)), .page(2): page([3, 4], 2, total: 6, next: .page(3))]),
                       "total changed from 5 to 6 while paging (the listing changed during the read); run plan again")
        XCTAssertEqual(read([.page(1): page([1, 2], 2, total: 5, next: .page(2))]),
                       "GET /p2 returned page 2 instead of page 1; refusing to plan from a partial listing")
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 5, next: .page(3))]),
                       "page 1 names page 3 as the next one; refusing to plan from a partial listing")
        XCTAssertEqual(read([.page(1): page([1, 2], 1, total: 2, next: .page(2))]),
                       "GET /p1 names a next page but the 2 records read already make up the total of 2; refusing to plan from a partial listing")
        XCTAssertEqual(read([.token([]): page([1], next: .token(["a"])), .token(["a"]): page([2], next: .token(["a"]))], from: .token([])),
                       "the listing names the position a twice (the pages loop); refusing to plan from a partial listing")
        XCTAssertEqual(read([.link("https://api.example.net/v1/x"): page([1], next: .link("https://evil.example.org/v1/x?cursor=2"))],
                            from: .link("https://api.example.net/v1/x")),
                       "the pagination link 'https://evil.example.org/v1/x?cursor=2' does not point at https://api.example.net/v1; not following it with the token")
    }

    // MARK: - the shared zone listing

    func config(_ fake: CloudflareFake) -> ProviderConfig {
        ProviderConfig(name: "cf", type: "cloudflare", location: nil,
                       settings: ["token": PlanValue(text: "t", location: nil, secret: Secret(value: "cf-token", variable: "CF")),
                                  "api_url": PlanValue(text: fake.url, location: nil)],
                       baseDirectory: URL(fileURLWithPath: "/tmp"))
    }

    /// A zone missing from a complete listing is "not found", with the message of a lookup.
    func testAZoneMissingFromACompleteListingIsNotFound() throws {
        let fake = try cloudflareFake("cf-token")
        fake.addZone("a.example")
        let c = config(fake)
        c.session.plannedZoneCount = 2
        _ = try ProviderRegistry.make(c).readZone(try DomainName("a.example"))
        XCTAssertThrowsError(try ProviderRegistry.make(c).readZone(try DomainName("b.example"))) {
            XCTAssertEqual("\($0)", "provider cf: zone b.example was not found in the Cloudflare accounts the token can see; add the zone at Cloudflare or check the token's zone scope")
        }
        XCTAssertEqual(fake.requests.map(\.path), ["/client/v4/zones?page=1&per_page=50", "/client/v4/zones/00000000000000000000000000001001/dns_records?page=1&per_page=100"])
        XCTAssertEqual(c.session.requests, 2)
    }

    /// Two zones planned of an account of 200 (4 pages of 50): reading the other 3 pages
    /// would cost more than the 2 lookups, so the first page serves the zone it holds and the
    /// other zone is looked up alone.
    func testAListingLongerThanTheLookupsStopsAfterItsFirstPage() throws {
        let fake = try cloudflareFake("cf-token")
        let names = (1...200).map { String(format: "z%03d.example", $0) }
        for n in names { fake.addZone(n) }
        let c = config(fake)
        c.session.plannedZoneCount = 2
        for n in ["z001.example", "z199.example"] { _ = try ProviderRegistry.make(c).readZone(try DomainName(n)) }
        XCTAssertEqual(fake.requests.map { String($0.path.prefix(while: { $0 != "?" })) + ($0.path.contains("name=") ? "?name" : "") },
                       ["/client/v4/zones", "/client/v4/zones/00000000000000000000000000001001/dns_records",
                        "/client/v4/zones?name", "/client/v4/zones/000000000000000000000000000010c7/dns_records"])
        XCTAssertEqual(c.session.requests, 4)
    }

    /// A failed listing is a plan error naming the listing, and is tried again by the next zone.
    func testAFailedZoneListingIsAnErrorAndIsTriedAgain() throws {
        let fake = try cloudflareFake("cf-token")
        fake.addZone("a.example")
        fake.script("GET", "/zones?page=1", .init(500, headers: ["Content-Type": "application/json"], CloudflareFake.envelopeError(10000, "boom")))
        let c = config(fake)
        c.session.plannedZoneCount = 2
        XCTAssertThrowsError(try ProviderRegistry.make(c).readZone(try DomainName("a.example"))) {
            XCTAssertEqual("\($0)", "provider cf: listing the zones of the account failed: GET \(fake.url)/zones?page=1&per_page=50 returned HTTP 500: {\"errors\":[{\"code\":10000,\"message\":\"boom\"}],\"messages\":[],\"result\":null,\"success\":false}")
        }
        XCTAssertEqual(try ProviderRegistry.make(c).readZone(try DomainName("a.example")).count, 0)
    }
}
