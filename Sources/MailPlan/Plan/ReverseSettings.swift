import Foundation

/// The plan file's `server.reverse:` block: which `providers:` entry sets the PTR of each
/// server address (a reverse type: `hetzner`, `vultr`, `linode`), and how long `apply` waits
/// for the host's A/AAAA to be served before it sets the PTRs.
public struct ReverseSettings: Sendable, Hashable {
    /// The provider instance name (a key of `providers:`).
    public let provider: String
    /// Seconds `apply` waits for the forward records to be served, and for the PTRs to read
    /// back, before giving up (`wait_timeout`, default 300).
    public let waitTimeout: Double
    public let location: SourceLocation?
    public init(provider: String, waitTimeout: Double = 300, location: SourceLocation? = nil) {
        self.provider = provider; self.waitTimeout = waitTimeout; self.location = location
    }
}

extension PlanReader {
    static let reverseKeys = ["provider", "wait_timeout"]

    /// Reads `server.reverse: {provider: NAME, wait_timeout: SECONDS}`; the provider must be
    /// defined under `providers:` (checked by the caller once providers are read).
    mutating func readReverse(_ node: YAMLNode) -> (ReverseSettings, YAMLNode)? {
        guard let m = mapping(node, "server.reverse", allowed: Self.reverseKeys, required: ["provider"]) else { return nil }
        guard let pn = m["provider"]?.value, let name = string(pn, "server.reverse.provider") else { return nil }
        var timeout = 300.0
        if let t = m["wait_timeout"]?.value, let v = int(t, "server.reverse.wait_timeout", in: 1...86400) { timeout = Double(v) }
        return (ReverseSettings(provider: name, waitTimeout: timeout, location: loc(node)), pn)
    }

    /// Checks that `server.reverse.provider` names a defined provider, with a did-you-mean.
    mutating func checkReverseProvider(_ name: String, node: YAMLNode, providers: [ProviderConfig]) -> Bool {
        if providers.contains(where: { $0.name == name }) { return true }
        let names = providers.map(\.name)
        let hint = Suggest.closest(to: name, in: names).map { "did you mean '\($0)'? " } ?? ""
        error(node, "server.reverse.provider: '\(name)' is not defined under providers; \(hint)(defined: \(names.isEmpty ? "none" : names.joined(separator: ", ")))")
        return false
    }
}
