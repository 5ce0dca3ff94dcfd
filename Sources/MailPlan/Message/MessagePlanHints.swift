import Foundation

/// Ties each failure of a ``MessageReport`` back to the plan: which entry of the plan file is
/// the cause, or which pending `mailplan apply` would fix it.
public struct MessagePlanHints {
    public let plan: MailPlan
    public let now: Date
    /// Evaluates the planned SPF record for the sending address.
    public let spf: SPFEvaluator

    public init(plan: MailPlan, now: Date, lookup: @escaping SPFDNSLookup) {
        self.plan = plan; self.now = now; self.spf = SPFEvaluator(lookup: lookup)
    }

    func domain(_ name: String?) -> (index: Int, plan: DomainPlan)? {
        guard let name, let n = try? DomainName(name.lowercased()) else { return nil }
        return plan.domains.enumerated().first { $0.element.name == n }.map { ($0.offset, $0.element) }
    }
    func at(_ l: SourceLocation?) -> String { l.map { " (\($0))" } ?? "" }
    /// `domains[0].dkim at plan.yaml:12:9`
    func ref(_ path: String, _ l: SourceLocation?) -> String { path + (l.map { " at \($0)" } ?? "") }

    /// The hints for `report`, in the order of the report (DKIM, SPF, DMARC).
    public func hints(_ r: MessageReport, envelope: SMTPEnvelope) -> [String] {
        var out: [String] = []
        let apply = "run `mailplan apply \(plan.file)`"
        for d in r.dkim where d.result != .pass {
            guard let dom = d.domain, let sel = d.selector else { continue }
            guard let (i, dp) = domain(dom) else {
                if d.failure == .noKey || d.failure == .signature { out.append("d=\(dom) is not a domain of \(plan.file): its keys are not managed by this plan") }
                continue
            }
            let planned = dp.dkim.first { $0.selector == sel }
            let where_ = "domains[\(i)].dkim"
            switch d.failure {
            case .noKey?:
                if let k = planned {
                    switch k.stage(at: now) {
                    case .removed: out.append("selector \(sel) is removed in the plan (\(ref(where_, k.location))) but the signer still signs with it: sign with an active selector")
                    default: out.append("selector \(sel) is in the plan (\(ref(where_, k.location))) but not served: \(apply)")
                    }
                } else {
                    let active = dp.dkim.filter { $0.stage(at: now) == .active }.map(\.selector)
                    out.append("selector \(sel) is not in \(where_) of \(plan.file)\(at(dp.location)): add it, or sign with \(active.isEmpty ? "a selector the plan publishes" : "selector " + active.joined(separator: " or "))")
                }
            case .keyRevoked?:
                if let k = planned, case .active = k.stage(at: now) {
                    out.append("selector \(sel) is active in the plan (\(ref(where_, k.location))) but served revoked: \(apply)")
                } else if let k = planned {
                    out.append("selector \(sel) is \(k.stage(at: now)) in the plan (\(ref(where_, k.location))): the signer must move to an active selector")
                }
            case .signature?:
                if let k = planned, let served = d.key?.record {
                    if let p = try? DKIMKeyParser.parse(served, allowRevoked: true), p.record != k.record {
                        out.append("the key served for selector \(sel) differs from the plan (\(ref(where_, k.location))): \(apply)")
                    } else {
                        out.append("the signature does not verify with the key the plan publishes for selector \(sel) (\(ref(where_, k.location))): the message was changed after signing, or the signer uses another private key")
                    }
                }
            case .keyUnusable?:
                if let k = planned { out.append("the record served for selector \(sel) is not the planned key (\(ref(where_, k.location))): \(apply)") }
            default: break
            }
        }
        // SPF: the planned record against the sending address.
        if let ip = envelope.ip, [.fail, .softfail, .neutral, .none, .permerror].contains(r.spf.result),
           let (i, dp) = domain(r.spf.domain), let policy = dp.spf, let d = try? DomainName(r.spf.domain!.lowercased()) {
            let planned = (try? SPFRecord.parse(policy.record)).map { spf.checkHost(ip, domain: d, record: $0, sender: r.spf.sender) }
            if let planned, planned.result == .pass {
                out.append("the planned SPF record of \(d.withoutTrailingDot) passes \(ip) but the served one gives \(r.spf.result.rawValue): \(apply)")
            } else {
                out.append("the sending address \(ip) is not in domains[\(i)].spf.senders\(at(dp.location)): add ip\(ip.isV4 ? "4" : "6"):\(ip), or send through a listed host")
            }
        } else if envelope.ip != nil, r.spf.result != .pass, let dom = r.spf.domain, domain(dom) == nil, r.spf.identity == "mailfrom" {
            out.append("the MAIL FROM domain \(dom) is not a domain of \(plan.file)")
        }
        // DMARC.
        let dm = r.dmarc
        if dm.result != .pass, let from = dm.fromDomain {
            if let (i, dp) = domain(from) ?? domain(dm.organizationalDomain) {
                if dm.result == .none, dp.dmarc != nil {
                    out.append("domains[\(i)].dmarc is in the plan\(at(dp.location)) but no DMARC record is served for \(from): \(apply)")
                } else if dm.result == .none {
                    out.append("domains[\(i)] has no dmarc: entry\(at(dp.location)): add one (start with policy: none)")
                }
                if dm.result == .fail {
                    let passing = r.dkim.filter { $0.result == .pass }.compactMap(\.domain)
                    if !passing.isEmpty {
                        out.append("DKIM passes for d=\(passing.joined(separator: ", ")) but DMARC needs d=\(dp.name.withoutTrailingDot) (or a subdomain with adkim=r): sign with a selector of domains[\(i)].dkim")
                    } else if dp.dkim.isEmpty {
                        out.append("domains[\(i)] has no dkim: selector\(at(dp.location)), so only SPF can align")
                    }
                }
            } else {
                out.append("the From domain \(from) is not a domain of \(plan.file)")
            }
        }
        return out
    }
}
