import ArgumentParser
import Foundation
import MailPlan
import Providers

struct Import: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a plan file from the live mail records of a zone, to adopt an existing setup.",
        discussion: """
        Reads the zone through a provider defined in an existing plan file (--plan), and \
        writes a plan with that provider and one domain: MX, SPF, DKIM selectors found by \
        name (<selector>._domainkey), DMARC, MTA-STS and TLS-RPT. It then checks the new plan \
        against the records it read: 'mailplan plan' on it should show no changes; anything \
        that cannot be imported exactly is named on stderr. Relative paths in the provider \
        settings resolve against the new file's directory.

        Example:
          mailplan import --plan plans/powerdns.yaml --provider pdns \\
            --domain example.org --out example.org.yaml
        """)
    @Option(help: ArgumentHelp("A plan file that defines the provider (its providers: entry is copied, ${ENV} references kept).", valueName: "plan"))
    var plan: String
    @Option(help: ArgumentHelp("The provider instance name under providers: in --plan.", valueName: "name"))
    var provider: String
    @Option(help: ArgumentHelp("The mail domain to import.", valueName: "domain"))
    var domain: String
    @Option(help: ArgumentHelp("The zone holding the domain (default: the domain itself).", valueName: "zone"))
    var zone: String?
    @Option(help: ArgumentHelp("Write the plan file here instead of standard output.", valueName: "file"))
    var out: String?
    @Flag(help: "Overwrite --out when it exists.")
    var force = false
    @OptionGroup var log: LogOptions

    func run() throws {
        let engine = try makeEngine(path: plan)
        let base = engine.plan
        guard base.provider(named: provider) != nil else {
            let names = base.providers.map(\.name)
            let hint = Suggest.closest(to: provider, in: names).map { "did you mean '\($0)'? " } ?? ""
            throw ValidationError("--provider \(provider) is not defined in \(plan); \(hint)(defined: \(names.joined(separator: ", ")))")
        }
        let d: DomainName, z: DomainName
        do { d = try DomainName(domain); z = try zone.map { try DomainName($0) } ?? d } catch {
            throw ValidationError("\(error)")
        }
        guard d.isSubdomain(of: z) else { throw ValidationError("--zone \(z.fqdn) does not contain \(d.fqdn)") }
        if let out, FileManager.default.fileExists(atPath: out), !force {
            throw ValidationError("\(out) exists; pass --force to overwrite it")
        }
        let live = try engine.readLive([(z, provider)])[0]
        let text = try String(contentsOfFile: plan, encoding: .utf8)
        let block = try Importer.providerBlock(planText: text, file: plan, name: provider)
        let result = try Importer.planFile(domain: d, zone: z, live: live, providerName: provider, providerBlock: block,
                                       fallbackServer: base.server)
        let outDir = out.map { URL(fileURLWithPath: $0).deletingLastPathComponent().standardizedFileURL } ?? base.baseDirectory
        if let out {
            do { try Data(result.yaml.utf8).write(to: URL(fileURLWithPath: out), options: .atomic) } catch {
                throw ValidationError("cannot write \(out): \(error.localizedDescription)")
            }
        } else {
            print(result.yaml, terminator: "")
        }
        for w in result.warnings { printError("warning: \(w)") }
        let check = try Importer.check(yaml: result.yaml, file: out ?? "<import>", baseDirectory: outDir,
                                       environment: ProcessInfo.processInfo.environment, zone: z, live: live,
                                       providerType: try engine.provider(provider).typeName, now: engine.now)
        if check.changes.isEmpty {
            printError("Imported \(d.fqdn) from zone \(z.fqdn) at \(provider)\(out.map { " into \($0)" } ?? ""): 'mailplan plan' on it shows no changes.")
        } else {
            printError("Imported \(d.fqdn)\(out.map { " into \($0)" } ?? ""); 'mailplan plan' on it would change \(check.changes.count) RRset\(check.changes.count == 1 ? "" : "s"): \(check.changes.map(\.key.description).joined(separator: ", "))")
        }
    }
}
