import ArgumentParser
import Foundation
import MailPlan

struct DKIM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dkim",
        abstract: "DKIM key tools.",
        subcommands: [DKIMKeygen.self])
}

struct DKIMKeygen: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Generate a DKIM key pair and print the plan snippet and the DNS TXT value.",
        discussion: """
        Writes DIR/<selector>.private.pem (mode 0600, for the signing MTA; never printed) and
        DIR/<selector>.public.pem (referenced from the plan). Existing files are never overwritten.
        The snippet's public_key_file is relative to the plan file's directory (--plan), by \
        default the parent of DIR: --out plans/keys gives keys/<selector>.public.pem.

        Example:
          mailplan dkim keygen --selector mail2027 --domain example.com \\
            --out plans/keys
          mailplan dkim keygen --selector ed2027 --domain example.com \\
            --algorithm ed25519 --out plans/keys
        """)

    @Option(help: "The selector (the TXT goes to <selector>._domainkey.<domain>).")
    var selector: String
    @Option(help: "The signing domain (d=).")
    var domain: String
    @Option(help: "rsa (default) or ed25519 (RFC 8463; sign with both, many verifiers lack Ed25519).")
    var algorithm: DKIMKeyGen.Algorithm = .rsa
    @Option(help: "RSA key size: 2048 (default) or 4096 (RFC 8301).")
    var bits: Int = 2048
    @Option(help: "Directory to write the two PEM files to (created with mode 0700 when missing).")
    var out: String
    @Option(help: ArgumentHelp("The plan file the key is for: public_key_file is written relative to its directory (default: a plan file in the parent of --out).", valueName: "file"))
    var plan: String?
    @OptionGroup var log: LogOptions

    func validate() throws {
        if algorithm == .rsa && bits != 2048 && bits != 4096 { throw ValidationError("--bits must be 2048 or 4096, got \(bits)") }
    }

    /// Where the plan file lives: `--plan`'s directory, else the parent of `--out`.
    var planDirectory: String {
        if let plan { return URL(fileURLWithPath: plan).deletingLastPathComponent().path }
        return URL(fileURLWithPath: out).deletingLastPathComponent().path
    }

    func run() throws {
        let name: DomainName
        do { name = try DomainName(domain) } catch { throw ValidationError("--domain: \(error)") }
        let key: DKIMGeneratedKey
        do {
            key = try DKIMKeyGen.generate(selector: selector, domain: name, algorithm: algorithm,
                                          bits: bits, directory: out, planDirectory: planDirectory)
        } catch let e as DKIMKeyGenError { throw ValidationError(e.reason) }
        print("Wrote \(key.privateKeyPath) (private key, mode 0600: give it to the signing MTA, keep it out of version control)")
        print("Wrote \(key.publicKeyPath) (public key)")
        print("")
        print("Add under dkim: of domain \(name.withoutTrailingDot) in the plan file (public_key_file is relative to the plan file's directory):")
        print(key.planSnippet.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        print("")
        print("DNS TXT at \(key.recordName.fqdn):")
        print(key.txtValue)
    }
}

/// `--algorithm rsa|ed25519` (completions list both; an unknown value is refused by the parser).
extension DKIMKeyGen.Algorithm: ExpressibleByArgument {}
