import Foundation
import MailPlan
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import MailPlanTestSupport

/// The dkimpy tools of the test virtualenv (scripts/deps installs dkimpy, authheaders and
/// pyspf into it). Fails in CI when missing, skips otherwise.
struct DkimpyTools {
    let bin: URL
    var python: String { bin.appendingPathComponent("python").path }
    var dkimsign: String { bin.appendingPathComponent("dkimsign").path }
    var dknewkey: String { bin.appendingPathComponent("dknewkey").path }
    static let corpusScript = repoRoot.appendingPathComponent("Tests/verify-message/corpus.py").path

    static func fromEnvironment() throws -> DkimpyTools {
        let venv = ProcessInfo.processInfo.environment["MAILPLAN_VENV"] ?? "/opt/mailplan-venv"
        let t = DkimpyTools(bin: URL(fileURLWithPath: venv).appendingPathComponent("bin"))
        guard FileManager.default.isExecutableFile(atPath: t.dkimsign) else {
            throw missingServer("\(t.dkimsign) not found: run scripts/deps test (it installs dkimpy, authheaders and pyspf into \(venv))")
        }
        return t
    }

    /// Runs a program; standard input from `stdin`.
    @discardableResult
    func run(_ exe: String, _ args: [String], stdin: Data = Data(), check: Bool = true) throws -> (status: Int32, stdout: Data, stderr: String) {
        let r = try runProgram(URL(fileURLWithPath: exe), args, stdin: stdin)
        let err = String(decoding: r.stderr, as: UTF8.self)
        if check && r.status != 0 { throw LiveDNSError("\(exe) \(args.joined(separator: " ")) exited \(r.status): \(err)") }
        return (r.status, r.stdout, err)
    }

    /// A key made by dkimpy's dknewkey: the private key file and the TXT value.
    func newKey(_ dir: URL, _ name: String, ed25519: Bool) throws -> (key: String, txt: String) {
        let base = dir.appendingPathComponent(name).path
        try run(dknewkey, (ed25519 ? ["--ktype", "ed25519"] : []) + [base])
        return (base + ".key", try String(contentsOfFile: base + ".dns", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// A value shared with a reader thread.
final class Box<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: T
    init(_ v: T) { value = v }
    func get() -> T { lock.lock(); defer { lock.unlock() }; return value }
    func set(_ v: T) { lock.lock(); value = v; lock.unlock() }
    func update(_ f: (inout T) -> Void) { lock.lock(); f(&value); lock.unlock() }
}

/// `mailplan verify-message` against the real PowerDNS, on messages signed by dkimpy.
final class VerifyMessageTests: XCTestCase {
    var pdns: PDNSServer!
    var tools: DkimpyTools!
    var zones: [DomainName] = []
    var dir: URL!
    override func setUpWithError() throws {
        pdns = try PDNSServer.fromEnvironment()
        tools = try DkimpyTools.fromEnvironment()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDown() {
        for z in zones { pdns?.deleteZone(z) }
        if let dir { try? FileManager.default.removeItem(at: dir) }
    }
    var resolver: String { ProcessInfo.processInfo.environment["MAILPLAN_PDNS_DNS"]! }

    struct Domain { let zone: DomainName; let rsa: (key: String, txt: String); let ed: (key: String, txt: String); var d: String { zone.withoutTrailingDot } }

    /// A zone with an RSA-2048 key (s2026) and an Ed25519 key (ed2026) made by dknewkey, SPF
    /// for 198.51.100.7 (also at the HELO name mail.<zone>) and DMARC p=reject.
    func makeDomain() throws -> Domain {
        let z = uniqueZone("vm")
        let rsa = try tools.newKey(dir, "s2026", ed25519: false), ed = try tools.newKey(dir, "ed2026", ed25519: true)
        try pdns.createZone(z, [rrset("@", z, .mx, 300, ["10 mail.\(z.fqdn)"]), rrset("mail", z, .a, 300, ["198.51.100.7"]),
                                rrset("mail", z, .txt, 300, ["v=spf1 a -all"]),
                                rrset("@", z, .txt, 300, ["v=spf1 ip4:198.51.100.7 -all"]), rrset("_dmarc", z, .txt, 300, ["v=DMARC1; p=reject"]),
                                rrset("s2026._domainkey", z, .txt, 300, [rsa.txt]), rrset("ed2026._domainkey", z, .txt, 300, [ed.txt])])
        zones.append(z)
        return Domain(zone: z, rsa: rsa, ed: ed)
    }

    func message(_ d: Domain) -> Data {
        Data(("From: Alice <alice@\(d.d)>\r\nTo: Bob <bob@receiver.example>\r\nSubject: Before the first message\r\n"
              + "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <first@\(d.d)>\r\n\r\nHello Bob,\r\n\r\nthis is the first message.\r\n").utf8)
    }

    /// dkimpy's dkimsign CLI: the message with a DKIM-Signature field on top.
    func dkimsign(_ msg: Data, _ d: Domain, selector: String, key: String, hcanon: String, bcanon: String, alg: String) throws -> Data {
        try tools.run(tools.dkimsign, [selector, d.d, key, "--hcanon", hcanon, "--bcanon", bcanon, "--signalg", alg], stdin: msg).stdout
    }

    /// The first 8 characters of the first b= (RFC 6008 header.b).
    func headerB(_ signed: Data) -> String {
        let text = String(decoding: signed, as: UTF8.self)
        let m = text.range(of: #"[; \t]b=[A-Za-z0-9+/]{8}"#, options: .regularExpression)!
        return String(text[m].suffix(8))
    }

    func write(_ data: Data, _ name: String) throws -> String {
        let f = dir.appendingPathComponent(name)
        try data.write(to: f)
        return f.path
    }

    func testDkimpySignedRSAAndEd25519MessagesPass() throws {
        let d = try makeDomain()
        let org = "mailplan-test.example"
        for (selector, key, alg, hc, bc, bits) in [("s2026", d.rsa.key, "rsa-sha256", "relaxed", "simple", "RSA 2048-bit"),
                                                   ("ed2026", d.ed.key, "ed25519-sha256", "relaxed", "relaxed", "Ed25519"),
                                                   ("s2026", d.rsa.key, "rsa-sha256", "simple", "simple", "RSA 2048-bit"),
                                                   ("ed2026", d.ed.key, "ed25519-sha256", "simple", "relaxed", "Ed25519")] {
            let signed = try dkimsign(message(d), d, selector: selector, key: key, hcanon: hc, bcanon: bc, alg: alg)
            let file = try write(signed, "\(selector)-\(hc)-\(bc).eml")
            let r = try runMailplan(["verify-message", file, "--ip", "198.51.100.7", "--mail-from", "bounce@\(d.d)", "--helo", "mail.\(d.d)", "--resolver", resolver])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertEqual(r.stdout, """
            Authentication-Results: mailplan; dkim=pass header.d=\(d.d) header.s=\(selector) header.a=\(alg) header.b=\(headerB(signed)); spf=pass smtp.mailfrom=\(d.d); spf=pass smtp.helo=mail.\(d.d); dmarc=pass (p=reject) header.from=\(d.d)

            DKIM  pass      line 1: d=\(d.d) s=\(selector) \(alg) \(hc)/\(bc), key \(bits): signature verified
            SPF   pass      198.51.100.7 may send for \(d.d) (MAIL FROM identity): matched 'ip4:198.51.100.7' in \(d.d)
            HELO  pass      198.51.100.7 may send for mail.\(d.d) (HELO identity): matched 'a' in mail.\(d.d)
            DMARC pass      From \(d.d) (organizational domain \(org)): aligned through DKIM d=\(d.d) and SPF \(d.d); policy p=reject

            """)
            // The same from standard input, as JSON.
            let j = try runMailplan(["verify-message", "-", "--ip", "198.51.100.7", "--resolver", resolver, "--json"], stdin: String(decoding: signed, as: UTF8.self))
            XCTAssertEqual(j.status, 0, j.stderr)
            let doc = try JSONDecoder().decode(MessageReport.self, from: Data(j.stdout.utf8))
            XCTAssertEqual(doc.dkim.map(\.result), [.pass])
            XCTAssertEqual(doc.dkim.first?.key?.name, "\(selector)._domainkey.\(d.zone.fqdn)")
            XCTAssertEqual(doc.spf.result, .none)  // no Return-Path, no --mail-from: the HELO identity, and no --helo
            XCTAssertEqual(doc.dmarc.dkimAligned, [d.d])
        }
    }

    func testChangedBodyAndRemovedSelectorWithPlanHints() throws {
        let d = try makeDomain()
        let signed = try dkimsign(message(d), d, selector: "s2026", key: d.rsa.key, hcanon: "relaxed", bcanon: "relaxed", alg: "rsa-sha256")
        let b = headerB(signed)
        // One body byte changed.
        let edited = try write(Data(String(decoding: signed, as: UTF8.self).replacingOccurrences(of: "first message", with: "first messagE").utf8), "edited.eml")
        let r = try runMailplan(["verify-message", edited, "--resolver", resolver])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").first.map(String.init),
                       "Authentication-Results: mailplan; dkim=fail (body hash did not verify) header.d=\(d.d) header.s=s2026 header.a=rsa-sha256 header.b=\(b); spf=none (not evaluated: give --ip, the address the message came from); dmarc=fail (p=reject) header.from=\(d.d)")

        // The selector removed from DNS, the plan still lists it.
        try pdns.replace(d.zone, [RRset(name: try DomainName("s2026._domainkey.\(d.d)"), type: .txt, ttl: 300, rdata: [])])
        let plan = """
        version: 1
        server: {hostname: mail.\(d.d), ipv4: 198.51.100.7}
        providers: {pdns: {type: powerdns, url: "${MAILPLAN_PDNS_URL}", api_key: "${MAILPLAN_PDNS_API_KEY}"}}
        dns: {resolvers: ["${MAILPLAN_PDNS_DNS}"], timeout: 1}
        domains:
          - name: \(d.d)
            provider: pdns
            spf: {senders: ["ip4:198.51.100.7"]}
            dkim:
              - {selector: s2026, public_key: "\(d.rsa.txt)"}
            dmarc: {policy: reject}

        """
        try plan.write(to: dir.appendingPathComponent("plan.yaml"), atomically: true, encoding: .utf8)
        let file = try write(signed, "signed.eml")
        let nokey = try runMailplan(["verify-message", "--plan", "plan.yaml", file, "--ip", "203.0.113.9", "--mail-from", "bounce@\(d.d)"], cwd: dir)
        XCTAssertEqual(nokey.status, 2, nokey.stderr)
        XCTAssertEqual(nokey.stdout, """
        Authentication-Results: mailplan; dkim=fail (no key) header.d=\(d.d) header.s=s2026 header.a=rsa-sha256 header.b=\(b); spf=fail (matched '-all' in \(d.d)) smtp.mailfrom=\(d.d); dmarc=fail (p=reject) header.from=\(d.d)

        DKIM  fail      line 1: d=\(d.d) s=s2026 rsa-sha256 relaxed/relaxed: no key
        SPF   fail      203.0.113.9 is not allowed to send for \(d.d) (MAIL FROM identity): matched '-all' in \(d.d)
        DMARC fail      From \(d.d) (organizational domain mailplan-test.example): not aligned: no DKIM signature passes; SPF does not pass; policy p=reject (a receiver rejects it)

        hint: selector s2026 is in the plan (domains[0].dkim at plan.yaml:10:9) but not served: run `mailplan apply plan.yaml`
        hint: the sending address 203.0.113.9 is not in domains[0].spf.senders (plan.yaml:6:5): add ip4:203.0.113.9, or send through a listed host

        """)
    }

    /// Bounded time and memory: a 50 MB body is streamed, 100 signatures are capped.
    func testLargeMessageAndManySignaturesStayBounded() throws {
        let d = try makeDomain()
        // dkimpy signs the head of the message with l=; 50 MB are appended after signing.
        let head = try tools.run(tools.python, [DkimpyTools.corpusScript, "sign", d.ed.key, "ed2026", d.d, "ed25519"], stdin: message(d)).stdout
        let path = dir.appendingPathComponent("big.eml").path
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: head))
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        let line = Data("appended by a list: a line of text with  two spaces\tand a tab   \r\n".utf8)
        let block = Data(repeating: 0, count: 0) + Data((0..<16_384).flatMap { _ in line })
        while h.offsetInFile < 50 << 20 { h.write(block) }
        h.closeFile()
        let p = Process()
        p.executableURL = mailplanBinary()
        p.arguments = ["verify-message", path, "--resolver", resolver]
        let out = Pipe()
        p.standardOutput = out
        let started = Date()
        try p.run()
        // The peak resident size, read from /proc while it runs (VmHWM only grows).
        let peak = Box(0)
        let reader = Thread {
            while p.isRunning {
                if let s = try? String(contentsOfFile: "/proc/\(p.processIdentifier)/status", encoding: .utf8),
                   let l = s.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                   let kb = Int(l.split(separator: " ").dropFirst().first ?? "") { peak.update { $0 = max($0, kb) } }
                usleep(20_000)
            }
        }
        reader.start()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        let seconds = Date().timeIntervalSince(started)
        while reader.isExecuting { usleep(10_000) }
        let peakKB = peak.get()
        XCTAssertEqual(p.terminationStatus, 0, text)
        XCTAssertTrue(text.hasPrefix("Authentication-Results: mailplan; dkim=pass header.d=\(d.d) header.s=ed2026 header.a=ed25519-sha256"), text)
        XCTAssertTrue(text.contains("key Ed25519, l=42 of 49774634 body bytes: signature verified"), text)
        print("verify-message: 50 MiB message in \(Int(seconds)) s, peak resident \(peakKB / 1024) MiB")
        XCTAssertGreaterThan(peakKB, 0)
        XCTAssertLessThan(peakKB, 80 * 1024, "the body must be streamed, not held in memory")
        XCTAssertLessThan(seconds, 120)

        // 100 DKIM-Signature fields over real DNS: 20 verified, 80 neutral.
        let signed = String(decoding: try dkimsign(message(d), d, selector: "s2026", key: d.rsa.key, hcanon: "relaxed", bcanon: "relaxed", alg: "rsa-sha256"), as: UTF8.self)
        let sigField = String(signed[..<signed.range(of: "From: ")!.lowerBound])
        let many = try write(Data((String(repeating: sigField, count: 99) + signed).utf8), "many.eml")
        let m = try runMailplan(["verify-message", many, "--resolver", resolver, "--json"])
        XCTAssertEqual(m.status, 0, m.stderr)
        let doc = try JSONDecoder().decode(MessageReport.self, from: Data(m.stdout.utf8))
        XCTAssertEqual(doc.dkim.count, 100)
        XCTAssertEqual(doc.dkim.filter { $0.result == .pass }.count, 20)
        XCTAssertEqual(doc.dkim.filter { $0.failure == .notVerified }.count, 80)
    }

    /// At least 200 generated messages: mailplan's DKIM (each signature), SPF and DMARC
    /// results equal dkimpy's and authheaders' (with pyspf) on every one.
    func testCrossCheckCorpusAgreesWithDkimpyAndAuthheaders() throws {
        let run = String(UUID().uuidString.prefix(8).lowercased())
        try tools.run(tools.python, [DkimpyTools.corpusScript, "generate", dir.path, run])
        let zoneData = try Data(contentsOf: dir.appendingPathComponent("zones.json"))
        struct Rec: Decodable { let name: String; let type: String; let values: [String] }
        let zoneRecs = try JSONDecoder().decode([String: [Rec]].self, from: zoneData)
        for (zone, recs) in zoneRecs {
            let z = try DomainName(zone)
            var grouped: [String: (String, RRType, [String])] = [:]
            for r in recs {
                let k = "\(r.name) \(r.type)"
                grouped[k, default: (r.name, RRType(rawValue: r.type), [])].2 += r.values
            }
            try pdns.createZone(z, grouped.values.map { rrset($0.0, z, $0.1, 60, $0.2) })
            zones.append(z)
        }
        try tools.run(tools.python, [DkimpyTools.corpusScript, "verify", dir.path, resolver])
        struct Case: Decodable { let file: String; let ip: String; let mail_from: String; let helo: String; let description: String }
        struct Expected: Decodable { let file: String; let dkim: [Bool]; let spf: String; let dmarc: String; let policy: String? }
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: dir.appendingPathComponent("cases.json")))
        let expected = try JSONDecoder().decode([Expected].self, from: Data(contentsOf: dir.appendingPathComponent("expected.json")))
        XCTAssertEqual(cases.count, expected.count)
        var agree = 0
        var kinds = Set<String>()
        for (c, e) in zip(cases, expected) {
            kinds.insert(String(c.description.split(separator: " ")[0]))
            let r = try runMailplan(["verify-message", c.file, "--ip", c.ip, "--mail-from", c.mail_from, "--helo", c.helo, "--resolver", resolver, "--json"])
            guard let doc = try? JSONDecoder().decode(MessageReport.self, from: Data(r.stdout.utf8)) else {
                XCTFail("\(c.file) (\(c.description)): no JSON, exit \(r.status): \(r.stderr)"); continue
            }
            let mine = (doc.dkim.map { $0.result == .pass }, doc.spf.result.rawValue, doc.dmarc.result.rawValue,
                        doc.dmarc.result == .none ? nil : doc.dmarc.appliedPolicy)
            if mine.0 == e.dkim && mine.1 == e.spf && mine.2 == e.dmarc && mine.3 == e.policy {
                agree += 1
                XCTAssertEqual(r.status, doc.dmarc.result == .pass ? 0 : 2)
            } else {
                XCTFail("\(c.file) (\(c.description)): mailplan dkim=\(mine.0) spf=\(mine.1) dmarc=\(mine.2) policy=\(mine.3 ?? "-"); dkimpy/authheaders dkim=\(e.dkim) spf=\(e.spf) dmarc=\(e.dmarc) policy=\(e.policy ?? "-")")
            }
        }
        print("verify-message cross-check: \(agree) of \(cases.count) messages agree with dkimpy (DKIM) and authheaders with pyspf (SPF, DMARC); \(kinds.count) kinds of message")
        XCTAssertGreaterThanOrEqual(cases.count, 200)
        XCTAssertEqual(agree, cases.count)
        // Every result occurs: the corpus exercises passes and failures of each mechanism.
        XCTAssertEqual(Set(expected.map(\.dmarc)), ["pass", "fail", "none"])
        XCTAssertEqual(Set(expected.map(\.spf)), ["pass", "fail", "softfail", "neutral", "none"])
        XCTAssertEqual(Set(expected.flatMap(\.dkim)), [true, false])
    }

    /// SERVFAIL is an answer: DKIM and DMARC temperror, exit 2. No answer at all: exit 1.
    func testResolverFailuresAreTemperrorOrCouldNotRun() throws {
        let d = try makeDomain()
        let file = try write(try dkimsign(message(d), d, selector: "s2026", key: d.rsa.key, hcanon: "relaxed", bcanon: "relaxed", alg: "rsa-sha256"), "m.eml")
        func plan(_ server: NameServer) throws -> String {
            let f = dir.appendingPathComponent("p\(server.port).yaml")
            try """
            version: 1
            server: {hostname: mail.\(d.d), ipv4: 198.51.100.7}
            providers: {local: {type: zonefile, path: x.zone}}
            dns: {resolvers: ["127.0.0.1:\(server.port)"], timeout: 0.3, attempts: 1}
            domains:
              - name: \(d.d)

            """.write(to: f, atomically: true, encoding: .utf8)
            return f.path
        }
        let servfail = try FakeUDPNameServer(.rcode(2))
        defer { servfail.stop() }
        let r = try runMailplan(["verify-message", "--plan", try plan(servfail.server), file])
        XCTAssertEqual(r.status, 2, r.stderr)
        let first = r.stdout.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(first.hasPrefix("Authentication-Results: mailplan; dkim=temperror (key lookup failed: s2026._domainkey.\(d.zone.fqdn) TXT answered SERVFAIL from 127.0.0.1:\(servfail.port))"), first)
        XCTAssertTrue(first.hasSuffix("dmarc=temperror (DMARC record lookup failed: _dmarc.\(d.zone.fqdn) TXT answered SERVFAIL from 127.0.0.1:\(servfail.port)) header.from=\(d.d)"), first)
        let silent = try FakeUDPNameServer(.silent)
        defer { silent.stop() }
        let s = try runMailplan(["verify-message", "--plan", try plan(silent.server), file])
        XCTAssertEqual(s.status, 1)
        XCTAssertEqual(s.stdout, "")
        XCTAssertEqual(s.stderr, "error: could not verify: no resolver answered (127.0.0.1:\(silent.port))\n")
    }
}
