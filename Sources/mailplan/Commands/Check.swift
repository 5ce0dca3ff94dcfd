import ArgumentParser
import Foundation
import MailPlan
import Providers
#if canImport(Glibc)
import Glibc
#endif

struct Check: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check what the world is served: PTR/FCrDNS, blocklists, MX, SPF lookups, DKIM, DMARC, MTA-STS, delegation, and with check.smtp the mail server itself.",
        discussion: """
        Queries go to the name servers of the plan's dns: block (resolvers, authoritative), or \
        to the nameserver lines of /etc/resolv.conf when the plan has none. Blocklist operators \
        such as Spamhaus refuse queries from large public resolvers: use a resolver of your own.

        With check.smtp in the plan, each address of server.hostname and of each MX host is \
        probed: greeting and EHLO name against server.hostname and the PTR, STARTTLS, the TLS \
        version, the chain (check.ca_file or the system CAs), the names, MTA-STS mx coverage, \
        the expiry (check.cert_warn_days), each TLSA record against the served chain, and the \
        DNSSEC state from dns.validating_resolvers. No mail is sent.

        Exit codes: 0 everything passes; 1 the check could not run (bad plan file, no resolver); \
        2 at least one warning or error finding.

        With --shard K/N only the domains whose zones are in that shard are checked; the \
        server checks (PTR/FCrDNS, address blocklists, check.smtp) run in one shard only: \
        the shard of server.hostname's zone, or shard 1 when no zone of the plan holds it.

        Examples:
          mailplan check plans/powerdns.yaml
          mailplan check plans/powerdns.yaml --json
          mailplan check plans/powerdns.yaml --shard 1/4  # the domains of shard 1 of 4
        """)
    @OptionGroup var options: CommonOptions
    var log: LogOptions { options.log }
    @Flag(help: "Print the findings as JSON (format_version 1) instead of a table.")
    var json = false
    @OptionGroup var sharding: ShardOptions

    func run() throws {
        let engine = try options.loadEngine()
        try sharding.configure(engine)
        let findings: [Finding]
        do { findings = try engine.check(resolvConf: (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "") } catch let e as Engine.CheckCannotRun {
            throw ValidationError(e.description)
        }
        if json {
            print(try CheckDocument(planFile: engine.plan.file, findings: findings).json(), terminator: "")
        } else {
            print(CheckRenderer.table(findings, style: options.style), terminator: "")
        }
        if findings.contains(where: \.isProblem) { throw ExitCode(2) }
    }
}
