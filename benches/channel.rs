//! What an HTTP channel does for each message apart from the network
//! (issue 12: a preset has "no measurable cost over today's fixed payload"):
//! today's `api` channel ([`HttpApi`]) beside the `linkedin` preset
//! ([`HttpChannel`], the same payload as a declared request), on the same
//! messages and the same answer.
//!
//! - `request`: the message made into a `reqwest::Request`, ready to go:
//!   `api` serialises its payload and sets three headers; `linkedin` renders
//!   its templates, checks the body is JSON, sets five headers.
//! - `answer`: a `201` with rate-limit headers and `{"id": ...}` read into
//!   the executor's `ApiResponse` (`linkedin`: by the preset's rules).
//!
//! Nothing is sent: the endpoints are 127.0.0.1:9 and never contacted.
//! Run: `cargo bench --bench channel`; figures in docs/performance.md.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use outreach::channel::http::{HttpChannel, presets};
use outreach::send::api::{MessagePayload, OutgoingMessage, Token};
use outreach::send::http_api::{HttpApi, read_answer};
use reqwest::header::{HeaderMap, HeaderValue};

const BASE: &str = "http://127.0.0.1:9";

/// A message as `benches/gen_recipients.py`'s campaign renders it.
fn message(n: u32) -> OutgoingMessage {
    OutgoingMessage {
        payload: MessagePayload {
            recipients: vec![format!("urn:li:person:{n:08}")],
            subject: Some("Omar, a quick question about Tyrell Corporation".to_string()),
            body: "Hi Omar,\n\nI came across your work at Tyrell Corporation and would love to \
                   compare notes on how your team runs outreach without tripping rate \
                   limits.\n\nWould a 15-minute call next week work?\n\nBest,\nSam"
                .to_string(),
        },
        html: None,
        fields: BTreeMap::new(),
        idempotency_key: format!("7f1c2a9e4b-{n:08}"),
    }
}

fn answer_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        ("content-type", "application/json"),
        ("x-ratelimit-limit", "1000000"),
        ("x-ratelimit-remaining", "999994"),
        ("x-ratelimit-reset", "1"),
        ("x-restli-id", "msg_000006"),
        ("content-length", "19"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // reqwest's client wants a runtime around it when it is built.
    let _guard = runtime.enter();
    let timeout = Duration::from_secs(30);
    let api = HttpApi::new(&format!("{BASE}/v2/messages"), timeout).unwrap();
    let settings: BTreeMap<String, String> = [("base_url".to_string(), BASE.to_string())].into();
    let spec = presets::get("linkedin")
        .unwrap()
        .with_settings(&settings)
        .unwrap();
    let linkedin = HttpChannel::new(spec, timeout).unwrap();
    let token = Token::new("sandbox-demo-token".to_string());
    let messages: Vec<OutgoingMessage> = (0..64).map(message).collect();

    let mut group = c.benchmark_group("request");
    group.bench_function("api", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % messages.len();
            black_box(api.request(&token, &messages[i]).unwrap())
        })
    });
    group.bench_function("linkedin", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % messages.len();
            black_box(linkedin.request(&token, &messages[i]).unwrap().unwrap())
        })
    });
    group.finish();

    let headers = answer_headers();
    let body = br#"{"id":"msg_000006"}"#;
    let mut group = c.benchmark_group("answer");
    group.bench_function("api", |b| {
        b.iter(|| black_box(read_answer(201, headers.clone(), body)))
    });
    group.bench_function("linkedin", |b| {
        let now = Utc::now();
        b.iter(|| black_box(linkedin.read_answer(201, headers.clone(), body, now)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
