//! The banner lines of `outreach sandbox --provider NAME`.
//!
//! Someone starting a provider personality needs three answers before the
//! first request: which paths it serves and where the token goes, what to
//! put in the preset so it reaches the sandbox (`base_url`, or `url` for
//! the webhook), and which recipients it will refuse. The default API's
//! banner is unchanged; command.rs puts these lines after `listening on`.

use super::super::settings::SandboxConfig;
use super::Provider;
use super::reject::ALWAYS_REJECTED;

/// The banner lines of a provider: what it serves, how to point the preset
/// at it, its limit and which recipients it refuses.
pub(crate) fn lines(base_url: &str, config: &SandboxConfig) -> Vec<String> {
    let name = config.provider.name();
    let setting = if config.provider == Provider::Webhook {
        format!("url = \"{base_url}/webhook\" (any path)")
    } else {
        format!("base_url = \"{base_url}\"")
    };
    let mut lines = vec![format!(
        "provider: {name}; point the {name} preset at it with {setting}"
    )];
    for endpoint in config.provider.endpoints() {
        lines.push(format!(
            "send: {} {base_url}{} ({})",
            endpoint.method, endpoint.path, endpoint.auth
        ));
    }
    lines.push(format!(
        "inspect: GET {base_url}/_sandbox/messages, {base_url}/_sandbox/stats"
    ));
    let throttle = match (config.provider, config.mailgun_429) {
        (Provider::Mailgun, false) => " (420; --mailgun-429 for 429)",
        (Provider::Mailgun, true) => " (429)",
        _ => "",
    };
    lines.push(format!(
        "limit: {} per token, {} window; throttle and headers as {name} sends them{throttle}",
        config.limit,
        config.window.name(),
    ));
    let mut rejects = format!("rejects: recipients containing \"{ALWAYS_REJECTED}\"");
    for pattern in &config.reject {
        rejects.push_str(&format!(", matching `{}`", pattern.trim()));
    }
    lines.push(rejects);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    fn banner_of(base_url: &str, config: &SandboxConfig) -> String {
        crate::command::banner(base_url, config, &[])
    }

    #[test]
    fn provider_banner_says_what_is_served_and_how_to_point_the_preset() {
        let config = SandboxConfig {
            provider: Provider::Discord,
            reject: vec!["C0GONE".into()],
            tokens: vec![("bot".into(), "tok".into())],
            ..SandboxConfig::default()
        };
        let text = banner_of("http://127.0.0.1:4321", &config);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "listening on http://127.0.0.1:4321");
        assert_eq!(
            lines[1],
            "provider: discord; point the discord preset at it with base_url = \"http://127.0.0.1:4321\""
        );
        assert_eq!(
            lines[2],
            "send: POST http://127.0.0.1:4321/api/webhooks/{webhook_id}/{TOKEN}?wait=true (the token is the webhook token in the path)"
        );
        assert_eq!(
            lines[3],
            "send: POST http://127.0.0.1:4321/api/v10/channels/{channel_id}/messages (Authorization: Bot TOKEN)"
        );
        assert_eq!(
            lines[5],
            "limit: 100/min per token, rolling window; throttle and headers as discord sends them"
        );
        assert_eq!(
            lines[6],
            "rejects: recipients containing \"invalid\", matching `C0GONE`"
        );
        assert_eq!(lines[7], "token bot: tok");
        let webhook = SandboxConfig {
            provider: Provider::Webhook,
            ..SandboxConfig::default()
        };
        assert!(
            banner_of("http://h:1", &webhook).contains("url = \"http://h:1/webhook\" (any path)")
        );
        let mailgun = SandboxConfig {
            provider: Provider::Mailgun,
            ..SandboxConfig::default()
        };
        assert!(banner_of("http://h:1", &mailgun).contains("(420; --mailgun-429 for 429)"));
    }
}
