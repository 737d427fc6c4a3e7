//! The sandbox over real HTTP: every status, every header dialect, both
//! windows, faults from a seed, dropped connections, idempotent replays, and
//! the `outreach sandbox` binary itself.
//!
//! Each test starts its own sandbox on 127.0.0.1:0 and talks to it with
//! reqwest; no test sleeps for more than about a second.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use outreach::sandbox::{
    DEMO_TOKEN, FaultDice, FaultRates, HeaderDialect, Sandbox, SandboxConfig, Stats, WindowKind,
};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

// ---------------------------------------------------------------- helpers

fn config(limit: &str) -> SandboxConfig {
    SandboxConfig {
        limit: limit.parse().expect("valid rate"),
        quiet: true,
        ..SandboxConfig::default()
    }
}

async fn start(config: SandboxConfig) -> Sandbox {
    Sandbox::start(config, 0).await.expect("sandbox starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn message(to: &str) -> String {
    json!({"recipients": [to], "subject": "Hi", "body": "Hello there"}).to_string()
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    fn number(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing {name} in {:?}", self.headers))
            .parse()
            .expect("numeric header")
    }

    fn date(&self) -> u64 {
        epoch(self.header("date").expect("Date header"))
    }
}

fn epoch(http_date: &str) -> u64 {
    httpdate::parse_http_date(http_date)
        .expect("HTTP-date")
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// POST a raw body; `None` token sends no Authorization header.
async fn send_raw(
    client: &reqwest::Client,
    sandbox: &Sandbox,
    token: Option<&str>,
    key: Option<&str>,
    body: String,
) -> Result<Reply, reqwest::Error> {
    let mut request = client
        .post(sandbox.url())
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok(Reply {
        status,
        headers,
        body,
    })
}

async fn send(client: &reqwest::Client, sandbox: &Sandbox, body: String) -> Reply {
    send_raw(client, sandbox, Some(DEMO_TOKEN), None, body)
        .await
        .expect("a response")
}

async fn send_keyed(client: &reqwest::Client, sandbox: &Sandbox, key: &str) -> Reply {
    send_raw(
        client,
        sandbox,
        Some(DEMO_TOKEN),
        Some(key),
        message("a@x.io"),
    )
    .await
    .expect("a response")
}

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    client
        .get(url)
        .send()
        .await
        .expect("response")
        .json()
        .await
        .expect("json")
}

fn assert_error(reply: &Reply, status: u16, code: &str, message_part: &str) {
    assert_eq!(reply.status, status, "{reply:?}");
    assert_eq!(reply.body["error"], code, "{reply:?}");
    let message = reply.body["message"].as_str().expect("message string");
    assert!(
        message.contains(message_part),
        "{message:?} lacks {message_part:?}"
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("date").is_some(), "no Date: {reply:?}");
}

const RATE_HEADERS: [&str; 5] = [
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "ratelimit",
    "ratelimit-policy",
];

fn assert_no_rate_headers(reply: &Reply) {
    for name in RATE_HEADERS {
        assert!(reply.header(name).is_none(), "unexpected {name}: {reply:?}");
    }
}

// ---------------------------------------------------------------- 201

#[tokio::test]
async fn created_201_returns_an_id_and_records_the_message() {
    let sandbox = start(config("100/min")).await;
    let client = client();
    let before = chrono::Utc::now();
    let reply = send_raw(
        &client,
        &sandbox,
        Some(DEMO_TOKEN),
        Some("k-1"),
        message("a@x.io"),
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 201, "{reply:?}");
    assert_eq!(reply.body, json!({"id": "msg_000001"}));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert!(reply.header("date").is_some());
    assert!(reply.header("idempotent-replayed").is_none());

    // Subject absent or empty is fine; several recipients are one message.
    let no_subject = json!({"recipients": ["b@x.io", "c@x.io"], "body": "B"}).to_string();
    assert_eq!(send(&client, &sandbox, no_subject).await.status, 201);
    let empty_subject = json!({"recipients": ["d@x.io"], "subject": "", "body": "D"}).to_string();
    assert_eq!(send(&client, &sandbox, empty_subject).await.status, 201);

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 3);
    let first = &messages[0];
    assert_eq!(first.id, "msg_000001");
    assert_eq!(first.account, "demo");
    assert_eq!(first.recipients, ["a@x.io"]);
    assert_eq!(first.subject.as_deref(), Some("Hi"));
    assert_eq!(first.body, "Hello there");
    assert_eq!(first.idempotency_key.as_deref(), Some("k-1"));
    let after = chrono::Utc::now();
    assert!(first.received_at >= before - chrono::Duration::milliseconds(1));
    assert!(first.received_at <= after);
    assert_eq!(messages[1].recipients, ["b@x.io", "c@x.io"]);
    assert_eq!(messages[1].subject, None);
    assert_eq!(messages[2].subject.as_deref(), Some(""));
    assert_eq!(sandbox.stats().accepted, 3);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn inspection_routes_list_messages_and_stats() {
    let sandbox = start(config("100/min")).await;
    let client = client();
    send(&client, &sandbox, message("a@x.io")).await;
    send(&client, &sandbox, "{".to_string()).await;

    let listed = get_json(&client, format!("{}/_sandbox/messages", sandbox.base_url())).await;
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 1);
    let first = &listed[0];
    let keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "account",
        "body",
        "id",
        "idempotency_key",
        "received_at",
        "recipients",
        "subject",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(first["id"], "msg_000001");
    assert_eq!(first["idempotency_key"], Value::Null);
    // RFC 3339 in UTC with exactly three fractional digits.
    let received_at = first["received_at"].as_str().unwrap();
    assert_eq!(
        received_at.len(),
        "2024-05-01T12:00:00.250Z".len(),
        "{received_at}"
    );
    assert!(received_at.ends_with('Z') && received_at.as_bytes()[19] == b'.');
    chrono::DateTime::parse_from_rfc3339(received_at).expect("RFC 3339");

    let stats: Stats = serde_json::from_value(
        get_json(&client, format!("{}/_sandbox/stats", sandbox.base_url())).await,
    )
    .expect("stats shape");
    assert_eq!(
        stats,
        Stats {
            accepted: 1,
            rejected: 1,
            ..Stats::default()
        }
    );
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- 401, 400, 404

#[tokio::test]
async fn unauthorized_401_without_or_with_an_unknown_token() {
    let sandbox = start(config("100/min")).await;
    let client = client();
    let missing = send_raw(&client, &sandbox, None, None, message("a"))
        .await
        .unwrap();
    assert_error(
        &missing,
        401,
        "unauthorized",
        "missing `Authorization: Bearer",
    );
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"sandbox\"")
    );
    assert_no_rate_headers(&missing);

    let unknown = send_raw(&client, &sandbox, Some("nope"), None, message("a"))
        .await
        .unwrap();
    assert_error(&unknown, 401, "unauthorized", "unknown token");

    let basic = client
        .post(sandbox.url())
        .basic_auth("demo", Some(DEMO_TOKEN))
        .body(message("a"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401);

    assert!(sandbox.messages().is_empty());
    assert_eq!(sandbox.stats().unauthorized, 3);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_request_400_names_the_problem_and_costs_nothing() {
    let sandbox = start(config("5/min")).await;
    let client = client();
    let cases = [
        ("{\"recipients\": [", "invalid_json", "not valid JSON"),
        ("", "invalid_json", "not valid JSON"),
        ("[]", "invalid_request", "must be a JSON object"),
        (
            r#"{"body": "b"}"#,
            "invalid_request",
            "`recipients` is missing",
        ),
        (
            r#"{"recipients": [], "body": "b"}"#,
            "invalid_request",
            "`recipients` is empty",
        ),
        (
            r#"{"recipients": "a@x.io", "body": "b"}"#,
            "invalid_request",
            "`recipients` must be an array",
        ),
        (
            r#"{"recipients": ["a", 1], "body": "b"}"#,
            "invalid_request",
            "`recipients[1]` must be a string",
        ),
        (
            r#"{"recipients": ["a"]}"#,
            "invalid_request",
            "`body` is missing",
        ),
        (
            r#"{"recipients": ["a"], "body": "  "}"#,
            "invalid_request",
            "`body` is empty",
        ),
        (
            r#"{"recipients": ["a"], "subject": 3, "body": "b"}"#,
            "invalid_request",
            "`subject` must be a string",
        ),
    ];
    for (body, code, part) in cases {
        let reply = send(&client, &sandbox, body.to_string()).await;
        assert_error(&reply, 400, code, part);
        // A rejected request is not counted against the limit.
        assert_eq!(reply.header("x-ratelimit-limit"), Some("5"), "{body}");
        assert_eq!(reply.header("x-ratelimit-remaining"), Some("5"), "{body}");
    }
    let long_key = "k".repeat(300);
    let bad_key = send_raw(
        &client,
        &sandbox,
        Some(DEMO_TOKEN),
        Some(&long_key),
        message("a"),
    )
    .await
    .unwrap();
    assert_error(&bad_key, 400, "invalid_idempotency_key", "longer than 255");

    let huge = json!({"recipients": ["a"], "body": "x".repeat(1_100_000)}).to_string();
    assert_error(
        &send(&client, &sandbox, huge).await,
        413,
        "payload_too_large",
        "larger than",
    );

    assert!(sandbox.messages().is_empty());
    assert_eq!(sandbox.stats().rejected, cases.len() as u64 + 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn not_found_404_and_method_not_allowed_405() {
    let sandbox = start(config("100/min")).await;
    let client = client();
    for (method, path) in [
        ("POST", "/v1/messages"),
        ("GET", "/"),
        ("POST", "/_sandbox/nope"),
    ] {
        let response = client
            .request(
                method.parse().unwrap(),
                format!("{}{path}", sandbox.base_url()),
            )
            .bearer_auth(DEMO_TOKEN)
            .body(message("a"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 404, "{method} {path}");
        assert!(response.headers().get("date").is_some());
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not_found");
        let text = body["message"].as_str().unwrap();
        assert!(
            text.contains(&format!("no route for {method} {path}")),
            "{text}"
        );
        assert!(text.contains("POST /v2/messages"), "{text}");
    }
    let wrong_method = client.get(sandbox.url()).send().await.unwrap();
    assert_eq!(wrong_method.status().as_u16(), 405);
    let body: Value = wrong_method.json().await.unwrap();
    assert_eq!(body["error"], "method_not_allowed");
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- 429 and header dialects

fn dialect_config(limit: &str, dialect: HeaderDialect) -> SandboxConfig {
    SandboxConfig {
        dialect,
        ..config(limit)
    }
}

#[tokio::test]
async fn throttled_429_in_the_x_ratelimit_dialect() {
    let sandbox = start(dialect_config("2/10s", HeaderDialect::XRateLimit)).await;
    let client = client();
    let expect = [(201, "1"), (201, "0"), (429, "0"), (429, "0")];
    for (index, (status, remaining)) in expect.into_iter().enumerate() {
        let reply = send(&client, &sandbox, message("a@x.io")).await;
        assert_eq!(reply.status, status, "request {index}: {reply:?}");
        assert_eq!(reply.header("x-ratelimit-limit"), Some("2"));
        assert_eq!(reply.header("x-ratelimit-remaining"), Some(remaining));
        // Rolling window, first send a few ms ago: 10 s minus a little, rounded up.
        assert_eq!(reply.header("x-ratelimit-reset"), Some("10"));
        if status == 429 {
            assert_error(&reply, 429, "rate_limited", "rate limit of 2/10s exceeded");
            assert_eq!(reply.header("retry-after"), Some("10"));
        } else {
            assert!(reply.header("retry-after").is_none());
        }
        assert!(reply.header("ratelimit").is_none());
    }
    assert_eq!(sandbox.messages().len(), 2);
    assert_eq!(sandbox.stats().throttled, 2);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn x_ratelimit_epoch_dialect_sends_a_unix_reset() {
    let sandbox = start(dialect_config("1/10s", HeaderDialect::XRateLimitEpoch)).await;
    let client = client();
    for status in [201, 429] {
        let reply = send(&client, &sandbox, message("a@x.io")).await;
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("x-ratelimit-limit"), Some("1"));
        assert_eq!(reply.header("x-ratelimit-remaining"), Some("0"));
        // Reset is Date + 10 s, rounded up: the Date header is rounded down.
        let reset = reply.number("x-ratelimit-reset");
        let date = reply.date();
        assert!(
            (date + 10..=date + 11).contains(&reset),
            "reset {reset}, date {date}"
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(reset > now && reset <= now + 11, "reset {reset}, now {now}");
        if status == 429 {
            assert_eq!(reply.header("retry-after"), Some("10"));
        }
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn ietf_dialect_sends_policy_and_state() {
    let sandbox = start(dialect_config("3/10s", HeaderDialect::Ietf)).await;
    let client = client();
    let expect = [(201, 2), (201, 1), (201, 0), (429, 0)];
    for (status, remaining) in expect {
        let reply = send(&client, &sandbox, message("a@x.io")).await;
        assert_eq!(reply.status, status);
        assert_eq!(
            reply.header("ratelimit-policy"),
            Some("\"default\";q=3;w=10")
        );
        let state = format!("\"default\";r={remaining};t=10");
        assert_eq!(reply.header("ratelimit"), Some(state.as_str()));
        assert!(reply.header("x-ratelimit-limit").is_none());
        let retry = if status == 429 { Some("10") } else { None };
        assert_eq!(reply.header("retry-after"), retry);
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn retry_after_dialect_sends_an_http_date_on_429_only() {
    let sandbox = start(dialect_config("1/10s", HeaderDialect::RetryAfter)).await;
    let client = client();
    let ok = send(&client, &sandbox, message("a@x.io")).await;
    assert_eq!(ok.status, 201);
    assert_no_rate_headers(&ok);
    assert!(ok.header("retry-after").is_none());

    let throttled = send(&client, &sandbox, message("a@x.io")).await;
    assert_error(&throttled, 429, "rate_limited", "retry in 10 s");
    assert_no_rate_headers(&throttled);
    let retry_at = epoch(throttled.header("retry-after").expect("Retry-After"));
    let date = throttled.date();
    assert!(
        (date + 10..=date + 11).contains(&retry_at),
        "retry {retry_at}, date {date}"
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn none_dialect_sends_no_rate_limit_headers_even_on_429() {
    let sandbox = start(dialect_config("1/10s", HeaderDialect::None)).await;
    let client = client();
    for status in [201, 429] {
        let reply = send(&client, &sandbox, message("a@x.io")).await;
        assert_eq!(reply.status, status);
        assert_no_rate_headers(&reply);
        assert!(reply.header("retry-after").is_none());
        assert!(reply.header("date").is_some());
    }
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- windows

/// Limit 3/s. Two sends at t≈0, one at t≈0.5 s, then the fourth is throttled.
/// At t≈1.1 s a fixed window has started afresh (3 more fit); a rolling
/// window has freed only the two t≈0 slots (2 fit, then 429 until t≈1.5 s).
async fn window_run(kind: WindowKind) -> Vec<u16> {
    let sandbox = start(SandboxConfig {
        window: kind,
        ..config("3/s")
    })
    .await;
    let client = client();
    let mut statuses = Vec::new();
    let burst = async |n: usize, statuses: &mut Vec<u16>| {
        for _ in 0..n {
            statuses.push(send(&client, &sandbox, message("a@x.io")).await.status);
        }
    };
    burst(2, &mut statuses).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    burst(2, &mut statuses).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    burst(4, &mut statuses).await;
    let retry = send(&client, &sandbox, message("a@x.io")).await;
    assert_eq!(retry.status, 429);
    assert_eq!(retry.header("retry-after"), Some("1"), "{kind:?}");
    sandbox.shutdown().await;
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_and_rolling_windows_at_three_per_second() {
    let (fixed, rolling) = tokio::join!(
        window_run(WindowKind::Fixed),
        window_run(WindowKind::Rolling)
    );
    assert_eq!(fixed, [201, 201, 201, 429, 201, 201, 201, 429]);
    assert_eq!(rolling, [201, 201, 201, 429, 201, 201, 429, 429]);
}

#[tokio::test]
async fn each_token_has_its_own_limit_and_account() {
    let sandbox = start(SandboxConfig {
        tokens: vec![
            ("alice".into(), "tok-a".into()),
            ("bob".into(), "tok-b".into()),
        ],
        ..config("1/10s")
    })
    .await;
    let client = client();
    let send_as =
        |token: &'static str| send_raw(&client, &sandbox, Some(token), None, message("x@x.io"));
    assert_eq!(send_as("tok-a").await.unwrap().status, 201);
    assert_eq!(send_as("tok-a").await.unwrap().status, 429);
    assert_eq!(send_as("tok-b").await.unwrap().status, 201);
    assert_eq!(send_as(DEMO_TOKEN).await.unwrap().status, 401);
    let accounts: Vec<String> = sandbox.messages().into_iter().map(|m| m.account).collect();
    assert_eq!(accounts, ["alice", "bob"]);
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- faults

#[tokio::test]
async fn injected_failure_503_accepts_nothing_and_costs_nothing() {
    let sandbox = start(SandboxConfig {
        fail_rate: 1.0,
        ..config("2/min")
    })
    .await;
    let client = client();
    for _ in 0..3 {
        let reply = send_keyed(&client, &sandbox, "same-key").await;
        assert_error(&reply, 503, "service_unavailable", "--fail-rate");
        assert_eq!(reply.header("x-ratelimit-remaining"), Some("2"));
        assert!(reply.header("idempotent-replayed").is_none());
    }
    // Authentication and validation come first.
    let unknown = send_raw(&client, &sandbox, Some("nope"), None, message("a"))
        .await
        .unwrap();
    assert_eq!(unknown.status, 401);
    assert_eq!(send(&client, &sandbox, "{}".into()).await.status, 400);
    assert!(sandbox.messages().is_empty());
    let stats = sandbox.stats();
    assert_eq!(
        (
            stats.faults,
            stats.accepted,
            stats.unauthorized,
            stats.rejected
        ),
        (3, 0, 1, 1)
    );
    sandbox.shutdown().await;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Dropped,
}

async fn fault_run(seed: u64) -> (Vec<Outcome>, Stats, usize) {
    let sandbox = start(SandboxConfig {
        fail_rate: 0.3,
        drop_rate: 0.2,
        seed,
        ..config("1000/s")
    })
    .await;
    let client = client();
    let mut outcomes = Vec::new();
    for n in 0..40 {
        let body = message(&format!("r{n}@x.io"));
        let outcome = match send_raw(&client, &sandbox, Some(DEMO_TOKEN), None, body).await {
            Ok(reply) => Outcome::Status(reply.status),
            Err(error) => {
                assert!(!error.is_timeout(), "{error:?}");
                Outcome::Dropped
            }
        };
        outcomes.push(outcome);
    }
    let stats = sandbox.stats();
    let recorded = sandbox.messages().len();
    sandbox.shutdown().await;
    (outcomes, stats, recorded)
}

#[tokio::test]
async fn faults_are_reproducible_with_the_same_seed() {
    let (first, first_stats, first_recorded) = fault_run(42).await;
    let (second, second_stats, _) = fault_run(42).await;
    let (other, _, _) = fault_run(43).await;
    assert_eq!(first, second);
    assert_eq!(first_stats, second_stats);
    assert_ne!(first, other, "another seed gives another sequence");

    let count = |outcome: Outcome| first.iter().filter(|o| **o == outcome).count() as u64;
    assert!(
        count(Outcome::Status(503)) > 0 && count(Outcome::Dropped) > 0,
        "{first:?}"
    );
    assert_eq!(count(Outcome::Status(503)), first_stats.faults);
    assert_eq!(count(Outcome::Dropped), first_stats.dropped);
    // Dropped messages were accepted all the same.
    assert_eq!(
        count(Outcome::Status(201)) + count(Outcome::Dropped),
        first_stats.accepted
    );
    assert_eq!(first_recorded as u64, first_stats.accepted);
}

#[tokio::test]
async fn dropped_connection_is_a_client_error_but_the_message_is_recorded() {
    let sandbox = start(SandboxConfig {
        drop_rate: 1.0,
        ..config("10/min")
    })
    .await;
    let client = client();
    let started = Instant::now();
    let error = send_raw(
        &client,
        &sandbox,
        Some(DEMO_TOKEN),
        Some("retry-me"),
        message("a@x.io"),
    )
    .await
    .expect_err("the connection is dropped without a response");
    assert!(!error.is_timeout() && !error.is_status(), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let messages = sandbox.messages();
    assert_eq!(
        messages.len(),
        1,
        "accepted before the drop, and not retried by the client"
    );
    assert_eq!((sandbox.stats().accepted, sandbox.stats().dropped), (1, 1));

    // The safe retry: the same Idempotency-Key replays the first response.
    let replay = send_keyed(&client, &sandbox, "retry-me").await;
    assert_eq!(replay.status, 201);
    assert_eq!(replay.body, json!({"id": messages[0].id}));
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    assert_eq!(sandbox.messages().len(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn latency_delays_each_request_by_the_drawn_amount() {
    let latency = Duration::from_millis(120);
    let rates = FaultRates {
        fail_rate: 0.0,
        drop_rate: 0.0,
        latency: Some(latency),
    };
    let dice = FaultDice::new(rates, 5);
    let expected: Vec<Duration> = (0..4).map(|_| dice.draw().delay).collect();
    let sandbox = start(SandboxConfig {
        latency: Some(latency),
        seed: 5,
        ..config("100/min")
    })
    .await;
    let client = client();
    for delay in expected {
        let started = Instant::now();
        assert_eq!(send(&client, &sandbox, message("a@x.io")).await.status, 201);
        let took = started.elapsed();
        assert!(took >= delay, "took {took:?}, drawn {delay:?}");
        assert!(
            took < delay + Duration::from_secs(2),
            "took {took:?}, drawn {delay:?}"
        );
    }
    sandbox.shutdown().await;
}

// ---------------------------------------------------------------- idempotency

#[tokio::test]
async fn idempotent_replay_returns_the_first_response_for_free() {
    let sandbox = start(SandboxConfig {
        tokens: vec![("a".into(), "tok-a".into()), ("b".into(), "tok-b".into())],
        ..config("1/10s")
    })
    .await;
    let client = client();
    let keyed = |token: &'static str, key: &'static str| {
        send_raw(&client, &sandbox, Some(token), Some(key), message("x@x.io"))
    };
    let first = keyed("tok-a", "k1").await.unwrap();
    assert_eq!(first.status, 201);
    for _ in 0..3 {
        let again = keyed("tok-a", "k1").await.unwrap();
        assert_eq!((again.status, &again.body), (201, &first.body));
        assert_eq!(again.header("idempotent-replayed"), Some("true"));
        assert_eq!(again.header("x-ratelimit-remaining"), Some("0"));
    }
    // A new key is a new message, and the limit of 1 is spent.
    let new_key = keyed("tok-a", "k2").await.unwrap();
    assert_eq!(new_key.status, 429);
    assert!(new_key.header("idempotent-replayed").is_none());
    // Keys are per token.
    let other = keyed("tok-b", "k1").await.unwrap();
    assert_eq!(other.status, 201);
    assert_ne!(other.body, first.body);
    assert_eq!(sandbox.messages().len(), 2);
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.replayed, stats.throttled), (2, 3, 1));
    sandbox.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_with_one_key_accept_one_message() {
    let sandbox = start(config("1000/min")).await;
    let client = client();
    let requests = (0..16).map(|_| send_keyed(&client, &sandbox, "racy"));
    let replies = futures_join_all(requests).await;
    let first = &replies[0].body;
    assert!(replies.iter().all(|r| r.status == 201 && &r.body == first));
    let replayed = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_some())
        .count();
    assert_eq!(replayed, 15);
    assert_eq!(sandbox.messages().len(), 1);
    sandbox.shutdown().await;
}

/// Run futures concurrently on the current task (no extra dependency).
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("all ready")).collect()
}

// ---------------------------------------------------------------- lifecycle

#[tokio::test]
async fn shutdown_stops_listening() {
    let sandbox = start(config("100/min")).await;
    let url = sandbox.url();
    assert!(sandbox.addr().ip().is_loopback());
    let debug = format!("{sandbox:?}");
    assert!(
        debug.contains("demo") && !debug.contains(DEMO_TOKEN),
        "{debug}"
    );
    assert_eq!(
        url,
        format!("http://127.0.0.1:{}/v2/messages", sandbox.addr().port())
    );
    let client = client();
    assert_eq!(send(&client, &sandbox, message("a")).await.status, 201);
    sandbox.shutdown().await;
    let fresh = reqwest::Client::builder().no_proxy().build().unwrap();
    let error = fresh
        .post(url)
        .body(message("a"))
        .send()
        .await
        .expect_err("closed");
    assert!(error.is_connect() || error.is_request(), "{error:?}");
}

#[tokio::test]
async fn invalid_configuration_is_refused() {
    let error = Sandbox::start(
        SandboxConfig {
            fail_rate: 2.0,
            ..SandboxConfig::default()
        },
        0,
    )
    .await
    .expect_err("fail rate above 1");
    assert!(error.to_string().contains("--fail-rate"), "{error}");
}

/// Kills the child even when an assertion fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_binary_serves_until_killed() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_outreach"))
        .args([
            "sandbox",
            "--port",
            "0",
            "--limit",
            "5/s",
            "--token",
            "alice=tok-a",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn outreach");
    let stdout = child.stdout.take().expect("stdout");
    let child = KillOnDrop(child);
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = || {
        lines
            .recv_timeout(Duration::from_secs(20))
            .expect("a line on stdout")
    };
    let first = next_line();
    let base = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line {first:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut banner = Vec::new();
    loop {
        let line = next_line();
        let done = line.starts_with("press Ctrl-C");
        banner.push(line);
        if done {
            break;
        }
    }
    assert!(
        banner.contains(&"token alice: tok-a".to_string()),
        "{banner:?}"
    );
    assert!(
        banner
            .iter()
            .any(|l| l.contains("5/s per token, rolling window")),
        "{banner:?}"
    );

    let response = client()
        .post(format!("{base}/v2/messages"))
        .bearer_auth("tok-a")
        .json(&json!({"recipients": ["bin@x.io"], "subject": "From the binary", "body": "B"}))
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 201);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "4");
    let line = next_line();
    assert!(
        line.contains("  alice  bin@x.io  \"From the binary\""),
        "message line {line:?}"
    );
    drop(child);
}
