//! Provider personalities: `outreach sandbox --provider NAME` speaks a real
//! provider's API.
//!
//! The presets of issue 12 (SendGrid, Slack, Telegram...) each encode one
//! provider's request shape, authentication and error and throttle signals.
//! Nobody can test those against the real services offline, or without
//! sending to real people, so the sandbox imitates each of them on 127.0.0.1:
//! the same paths relative to the sandbox URL (a preset with
//! `base_url = <sandbox url>` reaches it), the same credentials in the same
//! place, the same success bodies, and the provider's own way of saying
//! "slow down", "bad recipient" or "bad token", from Slack's HTTP 200 with
//! `"ok": false` to Mailgun's 420 and Telegram's `retry_after` in the body.
//! Each file names the public documentation it follows. Limits, faults,
//! idempotency and the ledger are the sandbox's own, shared with the
//! default API.
//!
//! # Architecture
//!
//! - [`Provider`]: the names (`Provider::ALL`, `Provider::PRESETS`) and the
//!   endpoints each serves.
//! - `personality`: the `Personality` trait each provider implements, and
//!   the helpers that read credentials, forms and JSON.
//! - `pipeline`: the one request pipeline every personality runs through.
//! - `reply`: building provider responses and provider-style ids.
//! - [`reject`]: which recipients are refused (`--reject`, "invalid").
//! - `banner`: the startup lines of `outreach sandbox --provider NAME`.
//! - one file per provider: `linkedin`, `sendgrid`, `mailgun`, `postmark`,
//!   `resend`, `twilio`, `slack`, `discord`, `telegram`, `webhook`.

pub(crate) mod banner;
mod discord;
mod linkedin;
mod mailgun;
mod personality;
mod pipeline;
mod postmark;
pub mod reject;
mod reply;
mod resend;
mod sendgrid;
mod slack;
mod telegram;
mod twilio;
mod webhook;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

use super::ledger::Shared;
use super::request::ApiError;
use super::routes::{list_messages, plain_error, stats};
use super::server::DropHandle;
use super::settings::SandboxConfig;
use personality::Personality;

/// Whose API the sandbox speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, clap::ValueEnum)]
pub enum Provider {
    /// The sandbox's own API: `POST /v2/messages` with a bearer token.
    #[default]
    Default,
    /// LinkedIn-style messages: `POST /v2/messages`, no rate-limit headers.
    #[value(name = "linkedin")]
    LinkedIn,
    /// SendGrid v3 mail send.
    #[value(name = "sendgrid")]
    SendGrid,
    /// Mailgun messages, form-encoded.
    Mailgun,
    /// Postmark single e-mail.
    Postmark,
    /// Resend e-mails.
    Resend,
    /// Twilio Programmable Messaging, form-encoded.
    Twilio,
    /// Slack `chat.postMessage`.
    Slack,
    /// Discord webhooks and bot channel messages.
    Discord,
    /// Telegram Bot API `sendMessage`.
    Telegram,
    /// A generic JSON webhook.
    Webhook,
}

impl Provider {
    /// Every value, the default API first.
    pub const ALL: [Provider; 11] = [
        Provider::Default,
        Provider::LinkedIn,
        Provider::SendGrid,
        Provider::Mailgun,
        Provider::Postmark,
        Provider::Resend,
        Provider::Twilio,
        Provider::Slack,
        Provider::Discord,
        Provider::Telegram,
        Provider::Webhook,
    ];

    /// The providers that have a preset of the same name.
    pub const PRESETS: [Provider; 10] = [
        Provider::LinkedIn,
        Provider::SendGrid,
        Provider::Mailgun,
        Provider::Postmark,
        Provider::Resend,
        Provider::Twilio,
        Provider::Slack,
        Provider::Discord,
        Provider::Telegram,
        Provider::Webhook,
    ];

    /// The name used by `--provider` and by the preset of the same provider.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Default => "default",
            Provider::LinkedIn => "linkedin",
            Provider::SendGrid => "sendgrid",
            Provider::Mailgun => "mailgun",
            Provider::Postmark => "postmark",
            Provider::Resend => "resend",
            Provider::Twilio => "twilio",
            Provider::Slack => "slack",
            Provider::Discord => "discord",
            Provider::Telegram => "telegram",
            Provider::Webhook => "webhook",
        }
    }

    /// The provider of a preset name, if the sandbox speaks it.
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|provider| provider.name() == name)
    }

    /// What the sandbox serves under this provider, for banners and docs.
    pub fn endpoints(self) -> Vec<Endpoint> {
        if self == Provider::Default {
            return vec![Endpoint {
                method: "POST",
                path: "/v2/messages",
                auth: "Authorization: Bearer TOKEN",
            }];
        }
        personalities(self)
            .iter()
            .map(|personality| Endpoint {
                method: "POST",
                path: personality.shown_path(),
                auth: personality.auth_hint(),
            })
            .collect()
    }
}

/// One path the sandbox answers, as the banner shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub method: &'static str,
    /// Relative to the sandbox URL, placeholders in braces: `/v3/{domain}/messages`.
    pub path: &'static str,
    /// Where the token goes: `Authorization: Bearer TOKEN`.
    pub auth: &'static str,
}

/// The personalities serving a provider; two for Discord (webhook and bot).
fn personalities(provider: Provider) -> &'static [&'static dyn Personality] {
    match provider {
        Provider::Default => &[],
        Provider::LinkedIn => &[&linkedin::LinkedIn],
        Provider::SendGrid => &[&sendgrid::SendGrid],
        Provider::Mailgun => &[&mailgun::MAILGUN],
        Provider::Postmark => &[&postmark::Postmark],
        Provider::Resend => &[&resend::Resend],
        Provider::Twilio => &[&twilio::Twilio],
        Provider::Slack => &[&slack::Slack],
        Provider::Discord => &[&discord::DiscordWebhook, &discord::DiscordBot],
        Provider::Telegram => &[&telegram::Telegram],
        Provider::Webhook => &[&webhook::Webhook],
    }
}

/// The personalities a configuration serves: as `personalities`, with
/// Mailgun answering 429 instead of 420 under `--mailgun-429`.
fn serving(config: &SandboxConfig) -> &'static [&'static dyn Personality] {
    if config.provider == Provider::Mailgun && config.mailgun_429 {
        return &[&mailgun::MAILGUN_429];
    }
    personalities(config.provider)
}

/// The router of a provider: its paths, the `/_sandbox` routes, and 404/405
/// answers that list what is served.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/_sandbox/messages", get(list_messages))
        .route("/_sandbox/stats", get(stats));
    for &personality in serving(&shared.config) {
        let handler = move |State(shared): State<Arc<Shared>>,
                            connection: Option<axum::Extension<DropHandle>>,
                            request: Request| {
            pipeline::handle(shared, connection, personality, request)
        };
        for path in personality.paths() {
            router = router.route(path, post(handler));
        }
    }
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared)
}

/// The path with every segment that holds a configured token replaced:
/// Telegram and Discord webhooks carry the token in the path, and an error
/// message must not repeat a secret.
fn redacted_path(path: &str, tokens: &[(String, String)]) -> String {
    path.split('/')
        .map(|segment| {
            let secret = tokens.iter().any(|(_, token)| {
                segment == token || segment.strip_prefix("bot") == Some(token.as_str())
            });
            if secret { "<token>" } else { segment }
        })
        .collect::<Vec<&str>>()
        .join("/")
}

fn served(provider: Provider) -> String {
    let mut routes: Vec<String> = provider
        .endpoints()
        .iter()
        .map(|endpoint| format!("{} {}", endpoint.method, endpoint.path))
        .collect();
    routes.push("GET /_sandbox/messages".into());
    routes.push("GET /_sandbox/stats".into());
    routes.join(", ")
}

async fn unknown_route(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let provider = shared.config.provider;
    plain_error(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {method} {}; the sandbox speaks {} and serves {}",
            redacted_path(uri.path(), &shared.config.tokens),
            provider.name(),
            served(provider)
        ),
    ))
}

async fn wrong_method(State(shared): State<Arc<Shared>>, method: Method, uri: Uri) -> Response {
    let provider = shared.config.provider;
    plain_error(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; the sandbox speaks {} and serves {}",
            redacted_path(uri.path(), &shared.config.tokens),
            provider.name(),
            served(provider)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_round_trip() {
        let mut names: Vec<&str> = Provider::ALL.iter().map(|p| p.name()).collect();
        for provider in Provider::ALL {
            assert_eq!(Provider::from_name(provider.name()), Some(provider));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Provider::ALL.len());
        assert_eq!(Provider::from_name("gmail"), None);
    }

    #[test]
    fn presets_are_every_provider_but_the_default() {
        assert!(!Provider::PRESETS.contains(&Provider::Default));
        assert_eq!(Provider::PRESETS.len() + 1, Provider::ALL.len());
        assert_eq!(Provider::default(), Provider::Default);
    }

    #[test]
    fn every_preset_serves_a_post_endpoint() {
        for provider in Provider::PRESETS {
            let endpoints = provider.endpoints();
            assert!(!endpoints.is_empty(), "{provider:?}");
            for endpoint in endpoints {
                assert_eq!(endpoint.method, "POST");
                assert!(endpoint.path.starts_with('/'), "{endpoint:?}");
                assert!(!endpoint.auth.is_empty(), "{endpoint:?}");
            }
        }
        assert_eq!(Provider::Discord.endpoints().len(), 2);
        assert_eq!(Provider::Default.endpoints()[0].path, "/v2/messages");
    }

    #[test]
    fn error_paths_never_repeat_a_token() {
        let tokens = vec![("a".to_string(), "123:abc".to_string())];
        assert_eq!(
            redacted_path("/bot123:abc/sendMesage", &tokens),
            "/<token>/sendMesage"
        );
        assert_eq!(
            redacted_path("/api/webhooks/9/123:abc/x", &tokens),
            "/api/webhooks/9/<token>/x"
        );
        assert_eq!(redacted_path("/v3/mail/sendd", &tokens), "/v3/mail/sendd");
    }

    #[test]
    fn the_fallback_lists_what_is_served() {
        let text = served(Provider::SendGrid);
        assert_eq!(
            text,
            "POST /v3/mail/send, GET /_sandbox/messages, GET /_sandbox/stats"
        );
    }
}
