import Foundation
@testable import MailPlan
import XCTest

/// `check.smtp`, `check.ca_file`, `check.cert_warn_days`, `dns.validating_resolvers`: loaded
/// values and errors naming file:line:column.
final class ServerCheckSettingsTests: XCTestCase {
    func plan(_ check: String, dns: String = "") -> String {
        """
        version: 1
        server: {hostname: mail.example.com, ipv4: 192.0.2.25}
        providers: {local: {type: zonefile, path: zones/example.com.zone}}
        \(dns)
        check: \(check)
        domains:
          - {name: example.com}
        """
    }

    func testDefaultsAndValues() throws {
        let p = try loadPlan(plan("{smtp: true}"))
        let s = try XCTUnwrap(p.check.smtp)
        XCTAssertEqual(s.services, [.init(name: "smtp", standardPort: 25, port: 25, mode: .startTLS)])
        XCTAssertEqual(s.timeout, 10)
        XCTAssertEqual(s.greetingTimeout, 60)
        XCTAssertNil(s.openRelay)
        XCTAssertEqual(p.check.certWarnDays, 21)
        XCTAssertNil(p.check.caFile)
        XCTAssertNil(try loadPlan(plan("{smtp: false}")).check.smtp)

        let q = try loadPlan(plan("""
        {ca_file: keys/mail.example.com.crt, cert_warn_days: 30, smtp: {ports: {submission: 2587, smtp: 2525, submissions: true}, ehlo_name: probe.example.net, timeout: 2.5, greeting_timeout: 30, open_relay_probe: true}}
        """, dns: "dns: {validating_resolvers: [\"127.0.0.1:5353\", \"::1\"]}"))
        let t = try XCTUnwrap(q.check.smtp)
        XCTAssertEqual(t.services, [.init(name: "smtp", standardPort: 25, port: 2525, mode: .startTLS),
                                    .init(name: "submissions", standardPort: 465, port: 465, mode: .implicit),
                                    .init(name: "submission", standardPort: 587, port: 2587, mode: .startTLS)])
        XCTAssertEqual(t.ehloName, "probe.example.net")
        XCTAssertEqual(t.timeout, 2.5)
        XCTAssertEqual(t.greetingTimeout, 30)
        XCTAssertEqual(t.openRelay?.from, "mailplan-probe@example.org")
        XCTAssertEqual(t.openRelay?.to, "mailplan-probe@example.net")
        XCTAssertEqual(q.check.certWarnDays, 30)
        XCTAssertEqual(q.check.caFile, repoRoot.appendingPathComponent("plans/keys/mail.example.com.crt").path)
        XCTAssertEqual(q.dns.validatingResolvers.map(\.description), ["127.0.0.1:5353", "::1"])
    }

    func testErrorsNameTheLocation() {
        XCTAssertEqual(diagnostics(plan("{smtp: {ports: {smtp: 0, imap: 143}}}")), [
            "test.yaml:5:30: error: check.smtp.ports.smtp must be from 1 to 65535, found 0",
            "test.yaml:5:33: error: check.smtp.ports: unknown key 'imap'; did you mean 'smtp'? (valid keys: smtp, submissions, submission)",
        ])
        XCTAssertEqual(diagnostics(plan("{smtp: {timeout: 0, open_relay_probe: {from: nobody, to: b@example.net}}}")), [
            "test.yaml:5:25: error: check.smtp.timeout must be a number of seconds from 0.1 to 300, found '0'",
            "test.yaml:5:53: error: check.smtp.open_relay_probe.from: 'nobody' is not a mail address (local@domain)",
        ])
        XCTAssertEqual(diagnostics(plan("{ca_file: nowhere.pem, cert_warn_days: -1}")), [
            "test.yaml:5:18: error: check.ca_file: \(repoRoot.appendingPathComponent("plans/nowhere.pem").path) does not exist",
            "test.yaml:5:47: error: check.cert_warn_days must be from 0 to 3650, found -1",
        ])
        XCTAssertEqual(diagnostics(plan("{smtp: {port: 25}}")), [
            "test.yaml:5:16: error: check.smtp: unknown key 'port'; did you mean 'ports'? (valid keys: ports, ehlo_name, timeout, greeting_timeout, open_relay_probe)",
        ])
    }
}
