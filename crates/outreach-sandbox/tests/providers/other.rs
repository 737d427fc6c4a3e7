//! LinkedIn, Twilio, the generic webhook, and the faults under a provider.

use outreach_sandbox::Provider;
use serde_json::{Value, json};

use super::{TOKEN, client, post_form, send, start, start_with, url};

fn linkedin_message(to: &str) -> Value {
    json!({"recipients": [to], "subject": "Hello", "body": "Hi there"})
}

#[tokio::test]
async fn linkedin() {
    let sandbox = start(Provider::LinkedIn).await;
    let client = client();
    let endpoint = url(&sandbox, "/v2/messages");
    let post = |token: &str, body: &Value| {
        client
            .post(&endpoint)
            .bearer_auth(token)
            .header("LinkedIn-Version", "202411")
            .header("X-Restli-Protocol-Version", "2.0.0")
            .json(body)
    };

    let accepted = send(post(TOKEN, &linkedin_message("urn:li:person:ada"))).await;
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let id = accepted.json()["id"].as_str().expect("id").to_string();
    assert_eq!(accepted.header("x-restli-id"), Some(id.as_str()));
    assert_eq!(
        accepted.header("x-ratelimit-limit"),
        None,
        "LinkedIn sends no rate-limit headers"
    );

    assert_eq!(
        send(post("nope", &linkedin_message("urn:li:person:ada")))
            .await
            .status,
        401
    );
    let unversioned = client
        .post(&endpoint)
        .bearer_auth(TOKEN)
        .json(&linkedin_message("urn:li:person:ada"));
    let unversioned = send(unversioned).await;
    assert_eq!(
        (unversioned.status, unversioned.json()["code"].as_str()),
        (400, Some("VERSION_MISSING"))
    );
    let malformed = send(post(TOKEN, &json!({"recipients": [], "body": "x"}))).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(
        send(post(TOKEN, &linkedin_message("urn:li:person:invalid")))
            .await
            .status,
        422
    );

    let keyed = |key: &str| {
        post(TOKEN, &linkedin_message("urn:li:person:bo")).header("Idempotency-Key", key)
    };
    let first = send(keyed("k-bo")).await;
    assert_eq!(first.status, 201);
    let replay = send(keyed("k-bo")).await;
    assert_eq!(
        (replay.status, replay.header("idempotent-replayed")),
        (201, Some("true"))
    );
    assert_eq!(replay.json(), first.json());

    let throttled = send(post(TOKEN, &linkedin_message("urn:li:person:cy"))).await;
    assert_eq!(throttled.status, 429);
    for header in [
        "retry-after",
        "x-ratelimit-reset",
        "ratelimit",
        "x-ratelimit-remaining",
    ] {
        assert_eq!(throttled.header(header), None, "a daily quota: no {header}");
    }
    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].body.as_str()),
        (id.as_str(), "Hi there")
    );
}

#[tokio::test]
async fn twilio() {
    let sandbox = start_with(Provider::Twilio, |config| {
        config.reject.push("+1555999*".into())
    })
    .await;
    let client = client();
    let endpoint = url(&sandbox, "/2010-04-01/Accounts/AC0123/Messages.json");
    let message = |user: &str, pairs: &[(&str, &str)]| {
        post_form(&client, &endpoint, pairs).basic_auth(user, Some(TOKEN))
    };
    let to = |number: &'static str| {
        [
            ("To", number),
            ("From", "+15550006789"),
            ("Body", "Hi there"),
        ]
    };
    let code = |answer: &super::Answer, status: u16| {
        assert_eq!(answer.status, status, "{}", answer.text);
        let body = answer.json();
        assert_eq!(body["status"].as_u64(), Some(u64::from(status)));
        body["code"].as_u64().unwrap_or_default()
    };

    let accepted = send(message("AC0123", &to("+15558675310"))).await;
    assert_eq!(accepted.status, 201, "{}", accepted.text);
    let body = accepted.json();
    let sid = body["sid"].as_str().expect("sid").to_string();
    assert!(sid.starts_with("SM") && sid.len() == 34, "{sid}");
    assert_eq!(
        (body["status"].as_str(), body["to"].as_str()),
        (Some("queued"), Some("+15558675310"))
    );

    assert_eq!(
        code(&send(message("AC9999", &to("+15558675310"))).await, 401),
        20003
    );
    assert_eq!(
        code(
            &send(message(
                "AC0123",
                &[("To", "+15558675310"), ("From", "+15550006789")]
            ))
            .await,
            400
        ),
        21602
    );
    assert_eq!(
        code(&send(message("AC0123", &to("not-a-number"))).await, 400),
        21211
    );
    assert_eq!(
        code(&send(message("AC0123", &to("+15559990000"))).await, 400),
        21211
    );

    let service = [
        ("To", "+15558675311"),
        ("MessagingServiceSid", "MG0001"),
        ("Body", "Hi"),
    ];
    assert_eq!(
        send(message("AC0123", &service)).await.json()["status"],
        "accepted"
    );
    assert_eq!(
        code(&send(message("AC0123", &to("+15558675312"))).await, 429),
        20429
    );
    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].recipients[0].as_str()),
        (sid.as_str(), "+15558675310")
    );
}

#[tokio::test]
async fn webhook() {
    let sandbox = start(Provider::Webhook).await;
    let client = client();
    let endpoint = url(&sandbox, "/hooks/outreach");
    let payload = |to: &str| json!({"recipient": to, "subject": "Hi", "body": "Hello", "idempotency_key": "k1"});
    let post = |body: &Value| client.post(&endpoint).bearer_auth(TOKEN).json(body);

    let accepted = send(post(&payload("ada@example.com")).header("Idempotency-Key", "k1")).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let replay = send(post(&payload("ada@example.com")).header("Idempotency-Key", "k1")).await;
    assert_eq!((replay.status, replay.json()), (200, accepted.json()));
    let anonymous = send(client.post(&endpoint).json(&payload("a@x.io"))).await;
    assert_eq!(
        (anonymous.status, anonymous.json()["error"].as_str()),
        (401, Some("unauthorized"))
    );
    let malformed = send(post(&json!({"recipient": "a@x.io"}))).await;
    assert_eq!(
        (malformed.status, malformed.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let refused = send(post(&payload("gone@bounce.test"))).await;
    assert_eq!(
        (refused.status, refused.json()["error"].as_str()),
        (422, Some("rejected_recipient"))
    );
    // Any path: the preset's `url` decides.
    assert_eq!(
        send(
            client
                .post(url(&sandbox, "/"))
                .bearer_auth(TOKEN)
                .json(&payload("b@x.io"))
        )
        .await
        .status,
        200
    );
    let throttled = send(post(&payload("c@x.io"))).await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());
    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].idempotency_key.as_deref(), Some("k1"));
}

#[tokio::test]
async fn injected_failures_under_a_provider_accept_nothing() {
    let sandbox = start_with(Provider::Slack, |config| config.fail_rate = 1.0).await;
    let answer = send(
        client()
            .post(url(&sandbox, "/api/chat.postMessage"))
            .bearer_auth(TOKEN)
            .json(&json!({"channel": "C1", "text": "Hi"})),
    )
    .await;
    assert_eq!(answer.status, 503);
    assert!(sandbox.messages().is_empty());
    assert_eq!(sandbox.stats().faults, 1);
}

#[tokio::test]
async fn dropped_connections_under_a_provider_still_record_the_message() {
    let sandbox = start_with(Provider::Telegram, |config| config.drop_rate = 1.0).await;
    let result = client()
        .post(url(&sandbox, &format!("/bot{TOKEN}/sendMessage")))
        .json(&json!({"chat_id": 1, "text": "Hi"}))
        .send()
        .await;
    let error = result.expect_err("the connection is dropped without a response");
    assert!(!error.is_timeout(), "{error}");
    assert_eq!(sandbox.messages().len(), 1);
    assert_eq!(sandbox.stats().dropped, 1);
}
