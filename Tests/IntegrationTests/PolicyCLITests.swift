import Crypto
import _CryptoExtras
import Foundation
import XCTest
@testable import MailPlanTestSupport

/// The real binary: `mailplan dkim keygen`, and plans/full.yaml (rotation, DANE, SRV, CAA,
/// no-mail, report authorization, MTA-STS policy file) through the zone-file adapter.
final class PolicyCLITests: XCTestCase {
    func testDKIMKeygenCLI() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mailplan-keygen-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let r = try runMailplan(["dkim", "keygen", "--selector", "mail2027", "--domain", "example.com", "--out", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderr, "")
        let priv = dir.appendingPathComponent("mail2027.private.pem").path
        let pub = dir.appendingPathComponent("mail2027.public.pem").path
        let privPEM = try String(contentsOfFile: priv, encoding: .utf8)
        let key = try _RSA.Signing.PrivateKey(pemRepresentation: privPEM)
        let p = key.publicKey.derRepresentation.base64EncodedString()
        XCTAssertEqual(r.stdout, """
        Wrote \(priv) (private key, mode 0600: give it to the signing MTA, keep it out of version control)
        Wrote \(pub) (public key)

        Add under dkim: of domain example.com in the plan file (public_key_file is relative to the plan file's directory):
          - selector: mail2027
            public_key_file: \(dir.lastPathComponent)/mail2027.public.pem

        DNS TXT at mail2027._domainkey.example.com.:
        v=DKIM1; k=rsa; p=\(p)

        """)
        // The private key never appears in the output (its lines that carry the modulus also
        // appear in p=; every other line, the private exponent and primes, must not).
        let secretLines = privPEM.split(separator: "\n").filter { !$0.hasPrefix("-----") && !p.contains($0) }
        XCTAssertGreaterThan(secretLines.count, 10)
        XCTAssertFalse(secretLines.contains { r.stdout.contains($0) })
        XCTAssertFalse(r.stdout.contains("PRIVATE KEY-----"))
        XCTAssertEqual((try FileManager.default.attributesOfItem(atPath: priv)[.posixPermissions] as! NSNumber).intValue, 0o600)
        let sig = try key.signature(for: Data("m".utf8), padding: .insecurePKCS1v1_5)
        XCTAssertTrue(try _RSA.Signing.PublicKey(pemRepresentation: try String(contentsOfFile: pub, encoding: .utf8))
            .isValidSignature(sig, for: Data("m".utf8), padding: .insecurePKCS1v1_5))

        let again = try runMailplan(["dkim", "keygen", "--selector", "mail2027", "--domain", "example.com", "--out", dir.path])
        XCTAssertEqual(again.status, 1)
        XCTAssertEqual(again.stdout, "")
        XCTAssertEqual(again.stderr, "error: \(priv) already exists; mailplan never overwrites a key (choose another selector or directory)\n")
        XCTAssertEqual(try String(contentsOfFile: priv, encoding: .utf8), privPEM)

        let bad = try runMailplan(["dkim", "keygen", "--selector", "s", "--domain", "example.com", "--algorithm", "dsa", "--out", dir.path])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual(bad.stderr, "error: The value 'dsa' is invalid for '--algorithm <algorithm>'. Please provide one of 'rsa' and 'ed25519'.\nRun 'mailplan --help' for usage.\n")
    }

    func testFullPlanApplyAcrossRotationDates() throws {
        let dir = try copyOfPlans()
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("full.yaml").path
        let policy = dir.appendingPathComponent("mta-sts/example.com.txt").standardizedFileURL.path
        let warning = "\(plan):66:5: warning: example.org dmarc: reports go to dmarc.vendor.example, which is not in this plan; receivers send them only if example.org._report._dmarc.dmarc.vendor.example. TXT \"v=DMARC1\" exists there (RFC 7489 §7.1)\n"

        let first = try runMailplan(["plan", plan, "--detailed-exitcode"], env: ["MAILPLAN_NOW": "2026-12-01"])
        XCTAssertEqual(first.status, 2, first.stderr)
        XCTAssertEqual(first.stderr, warning)
        XCTAssertTrue(first.stdout.hasSuffix("""
          # file \(policy) (mta_sts policy for example.com)
          + \(policy)
              + version: STSv1
              + mode: enforce
              + mx: mail.example.com
              + max_age: 604800

        DKIM selectors in rotation:
          example.com dkim selector mail2026: retiring: published until 2026-12-31, revoked from 2027-01-01, removed from 2027-04-01
          example.com dkim selector mail2024: removed

        Plan: 22 to add, 2 to change, 1 to destroy, 1 policy file to write.

        """), first.stdout)

        let apply = try runMailplan(["apply", plan, "--auto-approve"], env: ["MAILPLAN_NOW": "2026-12-01"])
        XCTAssertEqual(apply.status, 0, apply.stderr)
        XCTAssertTrue(apply.stdout.hasSuffix("Wrote \(policy) (mta_sts policy for example.com).\nApply complete! Records: 22 added, 2 changed, 1 destroyed.\n"), apply.stdout)
        XCTAssertEqual(try String(contentsOfFile: policy, encoding: .utf8), "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmax_age: 604800\r\n")

        let same = try runMailplan(["plan", plan, "--detailed-exitcode"], env: ["MAILPLAN_NOW": "2026-12-31"])
        XCTAssertEqual(same.status, 0, same.stderr)
        XCTAssertEqual(same.stdout, """
        No changes. The live DNS matches the plan.

        DKIM selectors in rotation:
          example.com dkim selector mail2026: retiring: published until 2026-12-31, revoked from 2027-01-01, removed from 2027-04-01
          example.com dkim selector mail2024: removed

        """)

        let p26 = try String(contentsOf: dir.appendingPathComponent("keys/mail2026.pub"), encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let revoke = try runMailplan(["plan", plan, "--detailed-exitcode"], env: ["MAILPLAN_NOW": "2027-01-01"])
        XCTAssertEqual(revoke.status, 2, revoke.stderr)
        XCTAssertEqual(revoke.stdout, """
        mailplan will perform the following actions:

          # zone example.com. (provider com, zonefile)
          ~ mail2026._domainkey.example.com. TXT ttl 3600
              - "v=DKIM1; k=rsa; p=\(p26)"
              + "v=DKIM1; k=rsa; p="
              # dkim selector mail2026: revoked since 2027-01-01 (p= empty), removed from 2027-04-01

        DKIM selectors in rotation:
          example.com dkim selector mail2026: revoked since 2027-01-01 (p= empty), removed from 2027-04-01
          example.com dkim selector mail2024: removed

        Plan: 0 to add, 1 to change, 0 to destroy.

        """)
        XCTAssertEqual(try runMailplan(["apply", plan, "--auto-approve"], env: ["MAILPLAN_NOW": "2027-01-01"]).status, 0)

        let remove = try runMailplan(["plan", plan], env: ["MAILPLAN_NOW": "2027-04-01"])
        XCTAssertEqual(remove.status, 0, remove.stderr)
        XCTAssertEqual(remove.stdout, """
        mailplan will perform the following actions:

          # zone example.com. (provider com, zonefile)
          - mail2026._domainkey.example.com. TXT ttl 3600
              - "v=DKIM1; k=rsa; p="
              # dkim selector mail2026: removed since 2027-04-01

        DKIM selectors in rotation:
          example.com dkim selector mail2026: removed since 2027-04-01
          example.com dkim selector mail2024: removed

        Plan: 0 to add, 0 to change, 1 to destroy.

        """)
        XCTAssertEqual(try runMailplan(["apply", plan, "--auto-approve"], env: ["MAILPLAN_NOW": "2027-04-01"]).status, 0)
        let zone = try String(contentsOf: dir.appendingPathComponent("zones/full/example.com.zone"), encoding: .utf8)
        XCTAssertFalse(zone.contains("mail2026._domainkey"))
        XCTAssertFalse(zone.contains("mail2024._domainkey"))
        // Unmanaged records, the comment and the directives survive every apply, line for line.
        let lines = zone.split(separator: "\n").map(String.init)
        for keep in ["; Zone for plans/full.yaml. Unmanaged records (web, NS, verification) must survive every apply.",
                     "$ORIGIN example.com.", "$TTL 3600", "@       IN NS   ns1.example.com.", "ns1     IN A    192.0.2.53",
                     "@       IN A    192.0.2.80", "@       IN TXT  \"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ\""] {
            XCTAssertTrue(lines.contains(keep), keep)
        }
        XCTAssertTrue(lines.contains("_25._tcp.mail.example.com. 3600 IN TLSA 3 1 1 7b669c0b201109bb6cbb2f5f488b663e5d2176803f897db2cbf8aafb7f8531f2"), zone)

        // A policy-only change is a pending change for --detailed-exitcode.
        try "version: STSv1\r\nmode: testing\r\n".write(toFile: policy, atomically: true, encoding: .utf8)
        let drift = try runMailplan(["plan", plan, "--detailed-exitcode"], env: ["MAILPLAN_NOW": "2027-04-01"])
        XCTAssertEqual(drift.status, 2)
        XCTAssertTrue(drift.stdout.hasSuffix("Plan: 0 to add, 0 to change, 0 to destroy, 1 policy file to write.\n"), drift.stdout)

        let badClock = try runMailplan(["plan", plan], env: ["MAILPLAN_NOW": "next week"])
        XCTAssertEqual(badClock.status, 1)
        XCTAssertEqual(badClock.stderr, "error: MAILPLAN_NOW='next week' is not an ISO 8601 date (2027-01-01) or instant (2027-01-01T12:00:00Z)\n")
    }
}
