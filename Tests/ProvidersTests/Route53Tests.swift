import Foundation
import MailPlan
@testable import Providers
import XCTest
@testable import MailPlanTestSupport

private func n(_ s: String) -> DomainName { try! DomainName(s) }
private func rr(_ name: String, _ type: RRType, _ ttl: UInt32, _ values: [String]) -> RRset {
    RRset(name: n(name), type: type, ttl: ttl, rdata: values.map { try! RData.parse(type: type, $0) })
}
private let exampleCreds = AWSCredentials(accessKeyID: Secret(value: "AKIDEXAMPLE", variable: "AWS_ACCESS_KEY_ID"),
                                          secretAccessKey: Secret(value: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", variable: "AWS_SECRET_ACCESS_KEY"))

final class SigV4Tests: XCTestCase {
    /// AWS's published SigV4 test suite, "get-vanilla" (example.amazonaws.com, service "service").
    func testGetVanillaVector() {
        let s = SigV4Signer(region: "us-east-1", service: "service").sign(
            method: "GET", url: URL(string: "https://example.amazonaws.com/")!,
            headers: ["Host": "example.amazonaws.com", "X-Amz-Date": "20150830T123600Z"], body: Data(),
            amzDate: "20150830T123600Z", credentials: exampleCreds)
        XCTAssertEqual(s.canonicalRequest, "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(s.stringToSign, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        XCTAssertEqual(s.authorization, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// AWS test suite "get-vanilla-query-order-key-case": the query is sorted before signing.
    func testQueryOrderVector() {
        let s = SigV4Signer(region: "us-east-1", service: "service").sign(
            method: "GET", url: URL(string: "https://example.amazonaws.com/?Param2=value2&Param1=value1")!,
            headers: ["host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"], body: Data(),
            amzDate: "20150830T123600Z", credentials: exampleCreds)
        XCTAssertEqual(s.signature, "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
    }

    /// Route 53-shaped requests, cross-checked against botocore's SigV4Auth (AWS's Python SDK).
    func testRoute53RequestsMatchBotocore() {
        let signer = SigV4Signer(region: "us-east-1", service: "route53")
        let post = signer.sign(method: "POST", url: URL(string: "https://route53.amazonaws.com/2013-04-01/hostedzone/Z1D633PJN98FT9/rrset/")!,
                               headers: ["host": "route53.amazonaws.com", "x-amz-date": "20260101T120000Z"],
                               body: Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<x/>".utf8), amzDate: "20260101T120000Z", credentials: exampleCreds)
        XCTAssertEqual(post.signature, "805ed3224f90d7ff97840457c8be017a513457eb0d48b700b06b4d6158d66f65")
        let get = signer.sign(method: "GET", url: URL(string: "https://route53.amazonaws.com/2013-04-01/hostedzone/Z1/rrset?type=TXT&name=%5C052.example.com.&maxitems=300")!,
                              headers: ["host": "route53.amazonaws.com", "x-amz-date": "20260101T120000Z"], body: Data(),
                              amzDate: "20260101T120000Z", credentials: exampleCreds)
        XCTAssertEqual(get.canonicalRequest.split(separator: "\n")[2], "maxitems=300&name=%5C052.example.com.&type=TXT")
        XCTAssertEqual(get.signature, "453cb5eb1cdfd10ac11dca5e4651304fb535c5aaec82462e580ab206a67ca0ad")
    }

    func testAmzDateAndEncoding() {
        XCTAssertEqual(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_440_938_160)), "20150830T123600Z")
        XCTAssertEqual(SigV4Signer.uriEncode("a b/c~d*é"), "a%20b%2Fc~d%2A%C3%A9")
        XCTAssertEqual(SigV4Signer.canonicalURI("/a%20b/c"), "/a%2520b/c")
    }
}

final class Route53ConvertTests: XCTestCase {
    let zone = n("example.com")

    func testHostedZonePageZonesAndNextMarker() throws {
        func page(_ tail: String) -> Data {
            Data("""
            <?xml version="1.0" encoding="UTF-8"?>
            <ListHostedZonesResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HostedZones>
              <HostedZone><Id>/hostedzone/Z1</Id><Name>example.com.</Name><Config><PrivateZone>false</PrivateZone></Config></HostedZone>
              <HostedZone><Id>/hostedzone/Z2</Id><Name>\\052.example.org.</Name><Config><PrivateZone>true</PrivateZone></Config></HostedZone>
            </HostedZones>\(tail)<MaxItems>2</MaxItems></ListHostedZonesResponse>
            """.utf8)
        }
        let p = try Route53Convert.hostedZonePage(page("<IsTruncated>true</IsTruncated><NextMarker>Z3</NextMarker>"))
        XCTAssertEqual(p.zones, [.init(id: "Z1", name: "example.com.", privateZone: false), .init(id: "Z2", name: "*.example.org.", privateZone: true)])
        XCTAssertEqual(p.nextMarker, "Z3")
        XCTAssertNil(try Route53Convert.hostedZonePage(page("<IsTruncated>false</IsTruncated>")).nextMarker)
        XCTAssertThrowsError(try Route53Convert.hostedZonePage(page("<IsTruncated>true</IsTruncated>"))) {
            XCTAssertEqual("\($0)", "IsTruncated is true but NextMarker is missing")
        }
        XCTAssertThrowsError(try Route53Convert.hostedZonePage(Data("<ListHostedZonesByNameResponse/>".utf8))) {
            XCTAssertEqual("\($0)", "expected ListHostedZonesResponse, got <ListHostedZonesByNameResponse>")
        }
    }

    func testRecordSetPageExactRRsetsEscapesAliasAndNextMarker() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/">
          <ResourceRecordSets>
            <ResourceRecordSet><Name>example.com.</Name><Type>MX</Type><TTL>3600</TTL>
              <ResourceRecords><ResourceRecord><Value>10 mail.example.com.</Value></ResourceRecord><ResourceRecord><Value>20 mx2.example.com.</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
            <ResourceRecordSet><Name>example.com.</Name><Type>TXT</Type><TTL>300</TTL>
              <ResourceRecords><ResourceRecord><Value>"v=spf1 " "mx -all"</Value></ResourceRecord><ResourceRecord><Value>"say \\"hi\\" &amp; bye"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
            <ResourceRecordSet><Name>\\052.apps.example.com.</Name><Type>A</Type><TTL>60</TTL>
              <ResourceRecords><ResourceRecord><Value>192.0.2.50</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>
            <ResourceRecordSet><Name>www.example.com.</Name><Type>A</Type>
              <AliasTarget><HostedZoneId>Z2</HostedZoneId><DNSName>lb.example.net.</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>
          </ResourceRecordSets>
          <IsTruncated>true</IsTruncated><NextRecordName>x.example.com.</NextRecordName><NextRecordType>TXT</NextRecordType><MaxItems>300</MaxItems>
        </ListResourceRecordSetsResponse>
        """
        let page = try Route53Convert.recordSetPage(Data(xml.utf8))
        XCTAssertEqual(page.sets.count, 4)
        XCTAssertEqual(page.sets[3], .init(name: "www.example.com.", type: "A", ttl: nil, values: [], alias: true))
        XCTAssertEqual(page.next?.name, "x.example.com.")
        XCTAssertEqual(page.next?.type, "TXT")
        XCTAssertNil(page.next?.identifier)
        XCTAssertEqual(try Route53Convert.rrset(page.sets[0], zone: zone), rr("example.com.", .mx, 3600, ["10 mail.example.com.", "20 mx2.example.com."]))
        XCTAssertEqual(try Route53Convert.rrset(page.sets[1], zone: zone),
                       RRset(name: zone, type: .txt, ttl: 300, rdata: [.txt(TXTData(strings: [Array("v=spf1 ".utf8), Array("mx -all".utf8)])), .txt("say \"hi\" & bye")]))
        XCTAssertEqual(try Route53Convert.rrset(page.sets[2], zone: zone), rr("*.apps.example.com.", .a, 60, ["192.0.2.50"]))
        XCTAssertThrowsError(try Route53Convert.rrset(page.sets[3], zone: zone)) {
            XCTAssertEqual("\($0)", "RRset www.example.com. A has no TTL")
        }
    }

    /// C03: two separate TXT records holding the halves of a key read as two values (so the
    /// differ plans one update to a single record of two strings).
    func testC03SplitKeyIsTwoValues() throws {
        let k = "v=DKIM1; k=rsa; p=" + String(repeating: "A", count: 392)
        let set = Route53Convert.APIRecordSet(name: "sel._domainkey.example.com.", type: "TXT", ttl: 300,
                                              values: ["\"\(k.prefix(255))\"", "\"\(k.dropFirst(255))\""])
        let r = try Route53Convert.rrset(set, zone: zone)
        XCTAssertEqual(r.rdata.compactMap(\.txtValue).sorted(), [String(k.dropFirst(255)), String(k.prefix(255))].sorted())
        let one = Route53Convert.apiRecordSet(RRset(name: n("sel._domainkey.example.com"), type: .txt, ttl: 300, rdata: [.txt(k)]))
        XCTAssertEqual(one.values, ["\"\(k.prefix(255))\" \"\(k.dropFirst(255))\""])
    }

    func testBadValueNamesTheRRset() {
        let set = Route53Convert.APIRecordSet(name: "example.com.", type: "MX", ttl: 300, values: ["ten mail.example.com."])
        XCTAssertThrowsError(try Route53Convert.rrset(set, zone: zone)) {
            XCTAssertEqual("\($0)", "RRset example.com. MX: invalid MX rdata 'ten mail.example.com.': preference 'ten' is not a number from 0 to 65535")
        }
        XCTAssertThrowsError(try Route53Convert.recordSetPage(Data("<html>oops".utf8)))
    }

    func testChangeBatchXMLExact() {
        let xml = Route53Convert.changeBatchXML([
            .init(.create, Route53Convert.apiRecordSet(rr("example.com.", .mx, 3600, ["10 mail.example.com."]))),
            .init(.upsert, Route53Convert.apiRecordSet(RRset(name: zone, type: .txt, ttl: 300, rdata: [.txt("a<b&\"c\"")]))),
            .init(.delete, .init(name: "old.example.com.", type: "A", ttl: 60, values: ["192.0.2.9"])),
        ], comment: "mailplan apply")
        XCTAssertEqual(String(decoding: xml, as: UTF8.self), """
        <?xml version="1.0" encoding="UTF-8"?>
        <ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Comment>mailplan apply</Comment><Changes>\
        <Change><Action>CREATE</Action><ResourceRecordSet><Name>example.com.</Name><Type>MX</Type><TTL>3600</TTL><ResourceRecords><ResourceRecord><Value>10 mail.example.com.</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
        <Change><Action>UPSERT</Action><ResourceRecordSet><Name>example.com.</Name><Type>TXT</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>&quot;a&lt;b&amp;\\&quot;c\\&quot;&quot;</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
        <Change><Action>DELETE</Action><ResourceRecordSet><Name>old.example.com.</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.9</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
        </Changes></ChangeBatch></ChangeResourceRecordSetsRequest>

        """)
    }

    func testErrorMessagesNameRRsets() {
        XCTAssertEqual(Route53Provider.nameTypePairs("Tried to delete resource record set [name='old.example.com.', type='A'] but it was not found"),
                       "Tried to delete resource record set [old.example.com./A] but it was not found")
        XCTAssertEqual(Route53Provider.nameTypePairs("in Change with [Action=DELETE, Name=gone.example.com., Type=TXT, SetIdentifier=null]"),
                       "in Change with [Action=DELETE, gone.example.com./TXT, SetIdentifier=null]")
    }

    func testErrorBodies() {
        let e = Route53Convert.errorInfo(Data("""
        <ErrorResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r</RequestId></ErrorResponse>
        """.utf8))
        XCTAssertEqual(e?.code, "Throttling")
        XCTAssertEqual(e?.messages, ["Rate exceeded"])
        let b = Route53Convert.errorInfo(Data("""
        <InvalidChangeBatch xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><Messages><Message>Tried to create resource record set [name='mail.example.com.', type='A'] but it already exists</Message></Messages><RequestId>r</RequestId></InvalidChangeBatch>
        """.utf8))
        XCTAssertEqual(b?.code, "InvalidChangeBatch")
        XCTAssertEqual(b?.messages, ["Tried to create resource record set [name='mail.example.com.', type='A'] but it already exists"])
        XCTAssertNil(Route53Convert.errorInfo(Data("<html>503</html>".utf8)))
    }
}

/// The adapter over real HTTP (our libcurl transport) against a scripted loopback server.
final class Route53ProviderTests: XCTestCase {
    let zone = n("example.com")
    static let zonesXML = """
    <ListHostedZonesByNameResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HostedZones>
    <HostedZone><Id>/hostedzone/ZEXAMPLE</Id><Name>example.com.</Name><CallerReference>a</CallerReference><Config><PrivateZone>false</PrivateZone></Config></HostedZone>
    <HostedZone><Id>/hostedzone/ZOTHER</Id><Name>example.com.au.</Name><CallerReference>b</CallerReference><Config><PrivateZone>false</PrivateZone></Config></HostedZone>
    </HostedZones><DNSName>example.com.</DNSName><IsTruncated>false</IsTruncated><MaxItems>100</MaxItems></ListHostedZonesByNameResponse>
    """
    static func page(_ sets: String, next: String? = nil) -> String {
        "<ListResourceRecordSetsResponse xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ResourceRecordSets>\(sets)</ResourceRecordSets>"
            + (next.map { "<IsTruncated>true</IsTruncated><NextRecordName>\($0)</NextRecordName><NextRecordType>TXT</NextRecordType>" } ?? "<IsTruncated>false</IsTruncated>")
            + "<MaxItems>300</MaxItems></ListResourceRecordSetsResponse>"
    }
    static let throttled = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>"

    final class Sleeps: @unchecked Sendable {
        let lock = NSLock(); var values: [TimeInterval] = []
        func add(_ t: TimeInterval) { lock.lock(); values.append(t); lock.unlock() }
    }

    func provider(_ server: FakeHTTPServer, sleeps: Sleeps = Sleeps(), token: Bool = false) -> Route53Provider {
        let creds = AWSCredentials(accessKeyID: Secret(value: "AKIDEXAMPLE", variable: "AWS_ACCESS_KEY_ID"),
                                   secretAccessKey: Secret(value: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", variable: "AWS_SECRET_ACCESS_KEY"),
                                   sessionToken: token ? Secret(value: "SESSIONTOKEN123", variable: "AWS_SESSION_TOKEN") : nil)
        return Route53Provider(name: "aws", endpoint: URL(string: server.url)!, credentials: creds,
                               client: HTTPClient(options: HTTPClientOptions(totalTimeout: 10, retry: .none)),
                               sleep: { sleeps.add($0) }, now: { Date(timeIntervalSince1970: 1_767_268_800) })
    }

    func testReadFollowsPagesAndSignsEveryRequest() throws {
        let server = try FakeHTTPServer { req, _ in
            if req.path.hasPrefix("/2013-04-01/hostedzonesbyname") { return .init(200, Self.zonesXML) }
            if req.path.contains("name=x.example.com.") {
                return .init(200, Self.page("<ResourceRecordSet><Name>x.example.com.</Name><Type>TXT</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>\"hello\"</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>"))
            }
            return .init(200, Self.page("<ResourceRecordSet><Name>example.com.</Name><Type>MX</Type><TTL>300</TTL><ResourceRecords><ResourceRecord><Value>10 mail.example.com.</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>", next: "x.example.com."))
        }
        defer { server.stop() }
        let sets = try provider(server, token: true).readZone(zone)
        XCTAssertEqual(sets, [rr("example.com.", .mx, 300, ["10 mail.example.com."]), rr("x.example.com.", .txt, 60, ["\"hello\""])])
        XCTAssertEqual(server.requests.map(\.path), [
            "/2013-04-01/hostedzonesbyname?dnsname=example.com.&maxitems=100",
            "/2013-04-01/hostedzone/ZEXAMPLE/rrset?maxitems=300",
            "/2013-04-01/hostedzone/ZEXAMPLE/rrset?maxitems=300&name=x.example.com.&type=TXT",
        ])
        for r in server.requests {
            XCTAssertEqual(r.headers["x-amz-date"], "20260101T120000Z")
            XCTAssertEqual(r.headers["x-amz-security-token"], "SESSIONTOKEN123")
            XCTAssertTrue(r.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/route53/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=") == true, r.headers["authorization"] ?? "")
        }
    }

    func testMissingZoneAndDuplicateZones() throws {
        let server = try FakeHTTPServer { _, _ in .init(200, Self.zonesXML) }
        defer { server.stop() }
        XCTAssertThrowsError(try provider(server).readZone(n("example.org"))) {
            XCTAssertEqual("\($0)", "provider aws: no hosted zone named example.org. at \(server.url) (create it in Route 53 first)")
        }
        let dup = try FakeHTTPServer { _, _ in .init(200, Self.zonesXML.replacingOccurrences(of: "example.com.au.", with: "example.com.")) }
        defer { dup.stop() }
        XCTAssertThrowsError(try provider(dup).readZone(zone)) {
            XCTAssertEqual("\($0)", "provider aws: 2 hosted zones are named example.com. (ZEXAMPLE, ZOTHER); mailplan will not guess which one to change")
        }
    }

    func testThrottlingIsRetriedWithBackoffThenApplied() throws {
        let server = try FakeHTTPServer { req, i in
            if req.method == "GET" { return .init(200, Self.zonesXML) }
            if i < 3 { return .init(400, Self.throttled) }
            return .init(200, "<ChangeResourceRecordSetsResponse><ChangeInfo><Id>/change/C1</Id><Status>PENDING</Status></ChangeInfo></ChangeResourceRecordSetsResponse>")
        }
        defer { server.stop() }
        let sleeps = Sleeps()
        let p = provider(server, sleeps: sleeps)
        let cs = ZoneChangeset(zone: zone, provider: "aws", providerType: "route53", changes: [.create(rr("mail.example.com.", .a, 300, ["192.0.2.25"]))])
        try p.apply(cs)
        XCTAssertEqual(sleeps.values, [1, 2])
        let posts = server.requests.filter { $0.method == "POST" }
        XCTAssertEqual(posts.count, 3)
        XCTAssertEqual(posts.last?.path, "/2013-04-01/hostedzone/ZEXAMPLE/rrset/")
        XCTAssertEqual(posts.last?.headers["content-type"], "application/xml")
        XCTAssertTrue(String(decoding: posts.last!.body, as: UTF8.self).contains("<Action>CREATE</Action><ResourceRecordSet><Name>mail.example.com.</Name><Type>A</Type><TTL>300</TTL>"))
    }

    func testThrottlingExhaustedNamesEndpointAndAttempts() throws {
        let server = try FakeHTTPServer { req, _ in
            req.path.hasPrefix("/2013-04-01/hostedzonesbyname") ? .init(200, Self.zonesXML) : .init(400, Self.throttled)
        }
        defer { server.stop() }
        let p = provider(server)
        p.throttleAttempts = 3
        XCTAssertThrowsError(try p.readZone(zone)) {
            XCTAssertEqual("\($0)", "provider aws: reading zone example.com. (hosted zone ZEXAMPLE) failed: GET \(server.url)/2013-04-01/hostedzone/ZEXAMPLE/rrset?maxitems=300 returned HTTP 400 Throttling after 3 attempts: Rate exceeded")
        }
    }

    func testInvalidChangeBatchNamesTheRRsetAndNothingApplied() throws {
        let server = try FakeHTTPServer { req, _ in
            if req.method == "GET" { return .init(200, Self.zonesXML) }
            return .init(400, "<InvalidChangeBatch xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Messages><Message>Tried to create resource record set [name='mail.example.com.', type='A'] but it already exists</Message></Messages></InvalidChangeBatch>")
        }
        defer { server.stop() }
        let mx = Change.update(from: rr("example.com.", .mx, 300, ["10 old.example.net."]), to: rr("example.com.", .mx, 300, ["10 mail.example.com."]))
        let a = Change.create(rr("mail.example.com.", .a, 300, ["192.0.2.25"]))
        let cs = ZoneChangeset(zone: zone, provider: "aws", providerType: "route53", changes: [mx, a])
        XCTAssertThrowsError(try provider(server).apply(cs)) {
            let e = $0 as! ApplyError
            XCTAssertEqual(e.applied, [])
            XCTAssertEqual(e.failed.map(\.key.description), ["mail.example.com. A"])
            XCTAssertEqual(e.notAttempted.map(\.key.description), ["example.com. MX"])
            XCTAssertEqual(e.reason, "Route 53 refused the change to mail.example.com. A (HTTP 400 InvalidChangeBatch): \"Tried to create resource record set [name='mail.example.com.', type='A'] but it already exists\"; nothing was applied (the batch is atomic)")
        }
    }

    func testAuthFailureNamesVariablesNeverValues() throws {
        let server = try FakeHTTPServer { _, _ in
            .init(403, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid: AKIDEXAMPLE</Message></Error></ErrorResponse>")
        }
        defer { server.stop() }
        XCTAssertThrowsError(try provider(server, token: true).readZone(zone)) {
            let text = "\($0)"
            XCTAssertEqual(text, "provider aws: AWS refused the credentials while looking up hosted zone example.com. (HTTP 403 InvalidClientTokenId: The security token included in the request is invalid: <redacted>); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and the IAM permissions route53:ListHostedZonesByName, ListHostedZones, ListResourceRecordSets, ChangeResourceRecordSets")
            XCTAssertFalse(text.contains("wJalrXUtnFEMI"))
            XCTAssertFalse(text.contains("SESSIONTOKEN123"))
        }
    }

    func testAliasRecordsAreNeverWrittenOver() throws {
        let server = try FakeHTTPServer { req, _ in
            if req.path.hasPrefix("/2013-04-01/hostedzonesbyname") { return .init(200, Self.zonesXML) }
            return .init(200, Self.page("<ResourceRecordSet><Name>mail.example.com.</Name><Type>A</Type><AliasTarget><HostedZoneId>Z2</HostedZoneId><DNSName>lb.example.net.</DNSName><EvaluateTargetHealth>false</EvaluateTargetHealth></AliasTarget></ResourceRecordSet>"))
        }
        defer { server.stop() }
        let p = provider(server)
        XCTAssertEqual(try p.readZone(zone), [])
        let cs = ZoneChangeset(zone: zone, provider: "aws", providerType: "route53", changes: [.create(rr("mail.example.com.", .a, 300, ["192.0.2.25"]))])
        XCTAssertThrowsError(try p.apply(cs)) {
            XCTAssertEqual(($0 as! ApplyError).reason, "mail.example.com. A is an alias record in Route 53, which mailplan does not manage; remove it or take the name out of the plan; nothing was applied")
        }
        XCTAssertEqual(server.requests.filter { $0.method == "POST" }.count, 0)
    }

    func testConfigNeedsCredentialsAndAValidEndpoint() throws {
        func config(_ settings: [String: String]) -> ProviderConfig {
            ProviderConfig(name: "aws", type: "route53", location: SourceLocation(file: "p.yaml", line: 3, column: 3),
                           settings: settings.mapValues { PlanValue(text: $0, location: SourceLocation(file: "p.yaml", line: 5, column: 15)) },
                           baseDirectory: URL(fileURLWithPath: "/tmp"))
        }
        XCTAssertThrowsError(try Route53Provider(config: config([:]), environment: [:])) {
            XCTAssertEqual("\($0)", "p.yaml:3:3: error: providers.aws: no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)")
        }
        let env = ["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"]
        XCTAssertThrowsError(try Route53Provider(config: config(["endpoint": "http://route53.example.net"]), environment: env)) {
            XCTAssertEqual("\($0)", "p.yaml:5:15: error: providers.aws: plain http:// to route53.example.net would send signed requests in clear; use https://, or set insecure: true")
        }
        XCTAssertThrowsError(try Route53Provider(config: config(["endpont": "x"]), environment: env)) {
            XCTAssertTrue("\($0)".contains("unknown setting 'endpont' for type route53; did you mean 'endpoint'?"), "\($0)")
        }
        let p = try Route53Provider(config: config([:]), environment: env)
        XCTAssertEqual(p.endpoint.absoluteString, "https://route53.amazonaws.com")
        XCTAssertEqual(p.signer.region, "us-east-1")
    }
}
