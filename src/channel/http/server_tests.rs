//! [`HttpChannel`] against a real HTTP server on 127.0.0.1: what arrives on
//! the wire, and what the executor gets back.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::HttpChannel;
use super::presets::get;
use super::test_support::{SECRET, message, settings, token};
use crate::send::api::{MessageApi, ResponseClass, Token, TransportError};

/// One request as the server received it.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

/// What the server answers: status, headers, body.
type Reply = fn(&Seen) -> (StatusCode, Vec<(&'static str, &'static str)>, &'static str);

#[derive(Clone)]
struct Server {
    seen: Arc<Mutex<Vec<Seen>>>,
    reply: Reply,
}

async fn record(
    State(server): State<Server>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        uri,
        headers,
        body,
    };
    let (status, headers, body) = (server.reply)(&seen);
    server.seen.lock().unwrap().push(seen);
    let mut response = (status, body).into_response();
    for (name, value) in headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Serves `reply` on 127.0.0.1 (a free port); returns its base URL and
/// what it receives. The server stops with the test's runtime.
async fn serve(reply: Reply) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new().fallback(record).with_state(Server {
        seen: Arc::clone(&seen),
        reply,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), seen)
}

fn channel(preset: &str, pairs: &[(&str, &str)]) -> HttpChannel {
    let spec = get(preset)
        .unwrap()
        .with_settings(&settings(pairs))
        .unwrap();
    HttpChannel::new(spec, Duration::from_secs(5)).unwrap()
}

#[tokio::test]
async fn a_form_body_arrives_encoded() {
    let (base, seen) = serve(|_| {
        (
            StatusCode::OK,
            vec![("content-type", "application/json")],
            r#"{"id": "<20240601.1@mg.test>", "message": "Queued. Thank you."}"#,
        )
    })
    .await;
    let mailgun = channel(
        "mailgun",
        &[
            ("domain", "mg.test"),
            ("from", "Alice <alice@mg.test>"),
            ("base_url", &base),
        ],
    );
    let response = mailgun
        .send(&token(), &message("ada@example.com"))
        .await
        .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(response.class, ResponseClass::Sent);
    assert_eq!(response.message_id.as_deref(), Some("<20240601.1@mg.test>"));

    let seen = seen.lock().unwrap();
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(request.uri.path(), "/v3/mg.test/messages");
    assert_eq!(
        request.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(
        request.headers["authorization"],
        "Basic YXBpOnMzY3JldC1UMEtFTg=="
    );
    assert_eq!(
        std::str::from_utf8(&request.body).unwrap(),
        "from=Alice+%3Calice%40mg.test%3E&subject=Hello&text=Hi+Ada%2C%0Asee+you+%22soon%22.&to=ada%40example.com"
    );
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("outreach/")
    );
}

#[tokio::test]
async fn a_wait_in_the_json_body_reaches_the_executor_as_retry_after() {
    let (base, _) = serve(|_| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            vec![("content-type", "application/json")],
            r#"{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}"#,
        )
    })
    .await;
    let telegram = channel("telegram", &[("base_url", &base)]);
    let response = telegram.send(&token(), &message("42")).await.unwrap();
    assert_eq!(response.class, ResponseClass::Throttled);
    assert_eq!(response.headers["retry-after"], "7");
    assert_eq!(response.status_text, "Too Many Requests: retry after 7");
    assert!(response.body_excerpt.contains("\"retry_after\": 7"));

    // A Retry-After the server sent itself is left as it is.
    let (base, _) = serve(|_| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            vec![("retry-after", "3")],
            r#"{"message": "You are being rate limited.", "retry_after": 2.5, "global": false}"#,
        )
    })
    .await;
    let discord = channel("discord-bot", &[("base_url", &base)]);
    let response = discord.send(&token(), &message("1")).await.unwrap();
    assert_eq!(response.headers.get_all("retry-after").iter().count(), 1);
    assert_eq!(response.headers["retry-after"], "3");
}

#[tokio::test]
async fn the_secret_in_the_url_path_arrives_and_is_shown_redacted() {
    let (base, seen) = serve(|seen| {
        if seen.uri.path() == format!("/bot{SECRET}/sendMessage") {
            (
                StatusCode::OK,
                vec![],
                r#"{"ok": true, "result": {"message_id": 314}}"#,
            )
        } else {
            (
                StatusCode::NOT_FOUND,
                vec![],
                r#"{"ok": false, "error_code": 404, "description": "Not Found"}"#,
            )
        }
    })
    .await;
    let telegram = channel("telegram", &[("base_url", &base)]);
    let response = telegram.send(&token(), &message("42")).await.unwrap();
    assert_eq!(response.class, ResponseClass::Sent);
    assert_eq!(response.message_id.as_deref(), Some("314"));
    let body: serde_json::Value = serde_json::from_slice(&seen.lock().unwrap()[0].body).unwrap();
    assert_eq!(body["chat_id"], "42");
    assert!(
        seen.lock().unwrap()[0]
            .headers
            .get("authorization")
            .is_none()
    );

    // A wrong token is refused, and stops the account.
    let refused = telegram
        .send(&Token::new("wrong".into()), &message("42"))
        .await
        .unwrap();
    assert_eq!(refused.class, ResponseClass::AuthRefused);

    let shown = telegram
        .prepare(&message("42"), &token())
        .unwrap()
        .to_string();
    assert!(
        shown.starts_with(&format!("POST {base}/bot[redacted]/sendMessage\n")),
        "{shown}"
    );
    assert!(!shown.contains(SECRET));
}

#[tokio::test]
async fn requests_that_get_no_answer_are_read_as_the_api_client_reads_them() {
    // Nothing listens: unreachable, naming only host and port.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let telegram = channel("telegram", &[("base_url", &format!("http://{address}"))]);
    let error = telegram.send(&token(), &message("42")).await.unwrap_err();
    match &error {
        TransportError::Unreachable { host, .. } => assert_eq!(host, &address.to_string()),
        other => panic!("{other:?}"),
    }
    assert!(!error.to_string().contains(SECRET));

    // A secret that cannot be a header stops the account as a bad token.
    let slack = channel("slack", &[("base_url", &format!("http://{address}"))]);
    let error = slack
        .send(&Token::new("bad\ntoken".into()), &message("C1"))
        .await
        .unwrap_err();
    assert!(matches!(error, TransportError::BadToken));

    // A message no request can be made of fails alone, unsent.
    let webhook = channel("webhook", &[("url", "{{ not a url")]);
    let response = webhook.send(&token(), &message("a")).await.unwrap();
    assert_eq!(
        (response.status, response.class),
        (0, ResponseClass::Permanent)
    );
    assert!(
        response.body_excerpt.contains("renders no valid URL"),
        "{}",
        response.body_excerpt
    );
}
