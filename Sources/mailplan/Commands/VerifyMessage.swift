import ArgumentParser
import Foundation
import MailPlan
import Providers

struct VerifyMessage: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-message",
        abstract: "Verify a sent message as a receiver would: DKIM, SPF and DMARC against live DNS, tied back to the plan.",
        discussion: """
        FILE is an RFC 5322 message (.eml, a queue file, or - for standard input). Prints one \
        RFC 8601 Authentication-Results line and a verdict per mechanism. SPF is checked only \
        with --ip. With --plan, every failure names its cause in the plan.

        Queries go to --resolver, else the plan's dns.resolvers, else the nameserver lines of \
        /etc/resolv.conf. The Organizational Domain comes from the Public Suffix List of the \
        Debian package publicsuffix (/usr/share/publicsuffix/public_suffix_list.dat).

        Exit codes: 0 DMARC passes; 2 it does not (fail, none, or an error in the message); \
        1 the check could not run (unreadable file or plan, no resolver answered).

        Examples:
          mailplan verify-message sent.eml --ip 198.51.100.7 --plan plans/example.yaml
          postcat -bh -q 4F2A1 | mailplan verify-message - --ip 198.51.100.7 --json
        """)

    @Option(name: .long, help: "The plan file: failures are tied to its entries, and its dns.resolvers are used.")
    var plan: String?

    @Argument(help: "The message file, or - for standard input.")
    var file: String

    @Option(name: .long, help: "The connecting client's IP address (SPF is evaluated for it).")
    var ip: String?

    @Option(name: .long, help: "The EHLO/HELO name the client gave.")
    var helo: String?

    @Option(name: .customLong("mail-from"), help: "The MAIL FROM address (default: the Return-Path field; '<>' for the null sender).")
    var mailFrom: String?

    @Option(name: .long, help: "A resolver to ask (ADDR or ADDR:PORT); repeatable. Default: the plan's dns.resolvers, else /etc/resolv.conf.")
    var resolver: [String] = []

    @Flag(help: "Print the result as JSON (format_version 1; docs/json-output.md).")
    var json = false

    func run() throws {
        var envelope = SMTPEnvelope()
        if let ip {
            guard let a = SPFAddress(ip) else { throw ValidationError("--ip \(ip) is not an IPv4 or IPv6 address") }
            envelope.ip = a
        }
        if let helo {
            guard let h = try? DomainName(helo) else { throw ValidationError("--helo \(helo) is not a host name") }
            envelope.helo = h
        }
        if let mailFrom {
            let m = mailFrom.trimmingCharacters(in: .whitespaces)
            envelope.mailFrom = m == "<>" ? "" : m.hasPrefix("<") && m.hasSuffix(">") ? String(m.dropFirst().dropLast()) : m
        }
        let now = try PlanClock.now()
        let loaded = try plan.map { try PlanLoader().load(path: $0) }
        var settings = loaded?.dns ?? DNSSettings()
        if !resolver.isEmpty {
            settings.resolvers = try resolver.map { r in
                do { return try NameServer(parsing: r) } catch { throw ValidationError("--resolver \(r): \(error)") }
            }
        }
        if settings.resolvers.isEmpty {
            let conf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            settings.resolvers = LiveDNS.resolvConfServers(conf)
            if settings.resolvers.isEmpty {
                throw ValidationError("no resolver to ask: give --resolver ADDR\(plan.map { " or set dns.resolvers in \($0)" } ?? "") (no nameserver in /etc/resolv.conf either)")
            }
        }
        let suffixes: PublicSuffixList
        do { suffixes = try PublicSuffixList() } catch { throw ValidationError("\(error)") }
        let reader: MessageReader
        do { reader = try MessageReader.file(file) } catch { throw ValidationError("\(error)") }

        let counter = AnswerCounter(SPFEvaluator.live(LiveDNS(settings: settings)))
        let lookup = SPFLookupCache(counter.lookup).lookup
        var report = try MessageVerifier(lookup: lookup, suffixes: suffixes, now: now).verify(reader, file: file, envelope: envelope)
        if counter.asked > 0 && counter.answered == 0 {
            throw ValidationError("could not verify: no resolver answered (\(settings.resolvers.map(\.description).joined(separator: ", ")))")
        }
        if let loaded { report.hints = MessagePlanHints(plan: loaded, now: now, lookup: lookup).hints(report, envelope: envelope) }
        if json { print(try report.json(), terminator: "") } else { print(escapingControlCharacters(AuthenticationResultsRenderer.text(report)), terminator: "") }
        if report.dmarc.result != .pass { throw ExitCode(2) }
    }
}

/// Counts the queries asked and those a resolver answered (any rcode), so "no resolver
/// answered" is told apart from "the message fails".
final class AnswerCounter: @unchecked Sendable {
    private let base: SPFDNSLookup
    private let lock = NSLock()
    private(set) var asked = 0
    private(set) var answered = 0
    init(_ base: @escaping SPFDNSLookup) { self.base = base }
    func lookup(_ name: DomainName, _ type: RRType) throws -> [RData] {
        lock.lock(); asked += 1; lock.unlock()
        do {
            let r = try base(name, type)
            lock.lock(); answered += 1; lock.unlock()
            return r
        } catch let e as ResolverError {
            throw e
        } catch {
            lock.lock(); answered += 1; lock.unlock()
            throw error
        }
    }
}
