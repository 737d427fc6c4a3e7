//! Every provider personality over real HTTP on 127.0.0.1: the accepted
//! request shape and what is recorded, wrong credentials, a malformed
//! request, a refused recipient, the provider's throttle signal (limits of
//! 2 per 10 s, so nothing waits), idempotency where the provider has it, and
//! the faults under a provider.
//!
//! Each test starts its own sandbox on port 0 with two tokens and talks to
//! it with reqwest. Modules by area: `email` (SendGrid, Mailgun, Postmark,
//! Resend), `chat` (Slack, Discord, Telegram), `other` (LinkedIn, Twilio,
//! the webhook, faults). Run: `cargo test -p outreach-sandbox --test providers`.

#[path = "providers/chat.rs"]
mod chat;
#[path = "providers/email.rs"]
mod email;
#[path = "providers/other.rs"]
mod other;

use std::time::Duration;

use outreach_sandbox::{AcceptedMessage, Provider, Sandbox, SandboxConfig};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

/// Alice's token; every test sends with it unless it tests a bad one.
pub const TOKEN: &str = "tok-alice";
/// A second account, to show limits are per token.
pub const OTHER_TOKEN: &str = "tok-bob";
/// A `--reject` pattern every sandbox here is started with.
pub const REJECT_PATTERN: &str = "*@bounce.test";

/// A sandbox speaking `provider`: 2 messages per 10 s per token, tokens
/// alice and bob, refusing `*@bounce.test` and `C0GONE`.
pub async fn start(provider: Provider) -> Sandbox {
    start_with(provider, |_| {}).await
}

pub async fn start_with(provider: Provider, adjust: impl FnOnce(&mut SandboxConfig)) -> Sandbox {
    let mut config = SandboxConfig {
        provider,
        limit: "2/10s".parse().expect("valid rate"),
        tokens: vec![
            ("alice".to_string(), TOKEN.to_string()),
            ("bob".to_string(), OTHER_TOKEN.to_string()),
        ],
        reject: vec![REJECT_PATTERN.to_string(), "C0GONE".to_string()],
        quiet: true,
        ..SandboxConfig::default()
    };
    adjust(&mut config);
    Sandbox::start(config, 0).await.expect("sandbox starts")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// `sandbox.base_url()` + `path`: where a preset with `base_url` = the
/// sandbox URL sends.
pub fn url(sandbox: &Sandbox, path: &str) -> String {
    format!("{}{path}", sandbox.base_url())
}

/// A form-encoded body.
pub fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).expect("form encodes")
}

/// A POST with a form body.
pub fn post_form(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(&str, &str)],
) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(form(pairs))
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|error| panic!("not JSON ({error}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("ASCII header"))
    }

    pub fn number(&self, name: &str) -> f64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.headers))
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a number"))
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("a response");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    Answer {
        status,
        headers,
        text,
    }
}

/// The recorded messages, read over HTTP as a user would.
pub async fn recorded(sandbox: &Sandbox) -> Vec<AcceptedMessage> {
    let answer = send(client().get(url(sandbox, "/_sandbox/messages"))).await;
    assert_eq!(answer.status, 200);
    serde_json::from_str(&answer.text).expect("a list of messages")
}

/// Seconds since 1970, for checking epoch reset headers.
pub fn epoch_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
}

#[tokio::test]
async fn unknown_paths_list_what_the_provider_serves() {
    let sandbox = start(Provider::SendGrid).await;
    let answer = send(client().post(url(&sandbox, "/v2/messages")).body("{}")).await;
    assert_eq!(answer.status, 404);
    let message = answer.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("speaks sendgrid"), "{message}");
    assert!(message.contains("POST /v3/mail/send"), "{message}");
    let wrong = send(client().get(url(&sandbox, "/v3/mail/send"))).await;
    assert_eq!(wrong.status, 405);
    assert_eq!(sandbox.stats().accepted, 0);
}

#[tokio::test]
async fn a_mistyped_path_does_not_repeat_the_token_in_it() {
    let sandbox = start(Provider::Telegram).await;
    let typo = url(&sandbox, &format!("/bot{TOKEN}/sendMesage"));
    let answer = send(client().post(typo).body("{}")).await;
    assert_eq!(answer.status, 404);
    assert!(!answer.text.contains(TOKEN), "{}", answer.text);
    assert!(
        answer.text.contains("/<token>/sendMesage"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn every_preset_name_starts_a_sandbox() {
    for provider in Provider::PRESETS {
        let sandbox = start(provider).await;
        assert_eq!(sandbox.config().provider, provider);
        assert!(recorded(&sandbox).await.is_empty(), "{}", provider.name());
        sandbox.shutdown().await;
    }
}
