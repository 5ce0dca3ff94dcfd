import Foundation
import MailPlan

/// What the two Hetzner Cloud adapters share: one `providers:` entry of `type: hetzner` serves
/// the DNS zones (`HetznerCloud/`) and the PTRs of the project's servers (`Reverse/HetznerCloud/`),
/// so both read the same settings from the same API (the Hetzner Cloud API reference,
/// https://docs.hetzner.cloud). Kept here so that neither adapter uses the other's types.
enum HetznerCloudAPI {
    /// The API root.
    static let defaultURL = "https://api.hetzner.cloud/v1"
    /// The settings of a `type: hetzner` entry (docs/plan-file.md documents each).
    static let settings: [ProviderSetting] = RESTAPI.commonSettings + [
        ProviderSetting("page_size", "1-100, default 100"),
        ProviderSetting("action_timeout", "seconds to wait for an action (1-3600, default 120)"),
    ]
}
