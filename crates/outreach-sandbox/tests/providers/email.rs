//! The e-mail providers: SendGrid, Mailgun, Postmark and Resend.

use outreach_sandbox::Provider;
use serde_json::{Value, json};

use super::{
    OTHER_TOKEN, TOKEN, client, epoch_now, post_form, recorded, send, start, start_with, url,
};

fn sendgrid_mail(to: &str) -> Value {
    json!({
        "personalizations": [{"to": [{"email": to}]}],
        "from": {"email": "me@example.com", "name": "Me"},
        "subject": "Hello",
        "content": [{"type": "text/plain", "value": "Hi there"}, {"type": "text/html", "value": "<p>Hi there</p>"}]
    })
}

#[tokio::test]
async fn sendgrid() {
    let sandbox = start(Provider::SendGrid).await;
    let client = client();
    let endpoint = url(&sandbox, "/v3/mail/send");
    let mail = |token: &str, body: &Value| client.post(&endpoint).bearer_auth(token).json(body);

    let accepted = send(mail(TOKEN, &sendgrid_mail("ada@example.com"))).await;
    assert_eq!(accepted.status, 202, "{}", accepted.text);
    assert!(accepted.text.is_empty());
    let id = accepted
        .header("x-message-id")
        .expect("X-Message-Id")
        .to_string();
    assert_eq!(accepted.number("x-ratelimit-limit"), 2.0);
    assert_eq!(accepted.number("x-ratelimit-remaining"), 1.0);
    assert!(
        accepted.number("x-ratelimit-reset") > epoch_now(),
        "Reset is a Unix time"
    );

    let unauthorized = send(mail("nope", &sendgrid_mail("ada@example.com"))).await;
    assert_eq!(unauthorized.status, 401);
    assert!(unauthorized.json()["errors"][0]["message"].is_string());

    let mut no_from = sendgrid_mail("ada@example.com");
    no_from.as_object_mut().unwrap().remove("from");
    let malformed = send(mail(TOKEN, &no_from)).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["errors"][0]["field"], "from");

    let refused = send(mail(TOKEN, &sendgrid_mail("gone@bounce.test"))).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["errors"][0]["message"],
        "Does not contain a valid address."
    );

    assert_eq!(
        send(mail(TOKEN, &sendgrid_mail("bob@example.com")))
            .await
            .status,
        202
    );
    let throttled = send(mail(TOKEN, &sendgrid_mail("cy@example.com"))).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.number("x-ratelimit-remaining"), 0.0);
    assert!(throttled.number("x-ratelimit-reset") > epoch_now());
    assert_eq!(
        throttled.header("retry-after"),
        None,
        "SendGrid documents no Retry-After"
    );
    assert_eq!(
        throttled.json()["errors"][0]["message"],
        "too many requests"
    );
    // Limits are per token.
    assert_eq!(
        send(mail(OTHER_TOKEN, &sendgrid_mail("cy@example.com")))
            .await
            .status,
        202
    );

    let messages = recorded(&sandbox).await;
    assert_eq!(messages.len(), 3);
    assert_eq!(messages[0].id, id);
    assert_eq!(messages[0].recipients, ["ada@example.com"]);
    assert_eq!(messages[0].body, "Hi there");
    assert_eq!(messages[0].subject.as_deref(), Some("Hello"));
    assert_eq!(messages[2].account, "bob");
    let stats = sandbox.stats();
    assert_eq!(
        (stats.unauthorized, stats.rejected, stats.throttled),
        (1, 2, 1)
    );
}

#[tokio::test]
async fn mailgun() {
    let sandbox = start(Provider::Mailgun).await;
    let client = client();
    let endpoint = url(&sandbox, "/v3/mg.example.com/messages");
    let mail = |user: &str, to: &str| {
        post_form(
            &client,
            &endpoint,
            &[
                ("from", "Me <me@mg.example.com>"),
                ("to", to),
                ("subject", "Hello"),
                ("text", "Hi there"),
            ],
        )
        .basic_auth(user, Some(TOKEN))
    };

    let accepted = send(mail("api", "ada@example.com")).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let body = accepted.json();
    assert_eq!(body["message"], "Queued. Thank you.");
    let id = body["id"].as_str().expect("an id");
    assert!(
        id.starts_with('<') && id.ends_with("@mg.example.com>"),
        "{id}"
    );

    let unauthorized = send(mail("apx", "ada@example.com")).await;
    assert_eq!(
        (unauthorized.status, unauthorized.text.as_str()),
        (401, "Forbidden")
    );

    let no_to = post_form(
        &client,
        &endpoint,
        &[("from", "me@x.io"), ("subject", "s"), ("text", "t")],
    )
    .basic_auth("api", Some(TOKEN));
    let malformed = send(no_to).await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.json()["message"], "to parameter is missing");

    let refused = send(mail("api", "invalid-person@example.com")).await;
    assert_eq!(refused.status, 400);

    assert_eq!(send(mail("api", "bob@example.com")).await.status, 200);
    let throttled = send(mail("api", "cy@example.com")).await;
    assert_eq!(throttled.status, 420, "Mailgun's older throttle status");
    let retry = throttled.number("retry-after");
    assert!((1.0..=10.0).contains(&retry), "{retry}");

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].id, id);
    assert_eq!(
        (
            messages[0].recipients[0].as_str(),
            messages[0].body.as_str()
        ),
        ("ada@example.com", "Hi there")
    );
}

#[tokio::test]
async fn mailgun_can_throttle_with_429() {
    let sandbox = start_with(Provider::Mailgun, |config| {
        config.limit = "1/10s".parse().expect("rate");
        config.mailgun_429 = true;
    })
    .await;
    let client = client();
    let endpoint = url(&sandbox, "/v3/mg.example.com/messages");
    let pairs = [
        ("from", "me@x.io"),
        ("to", "a@x.io"),
        ("subject", "s"),
        ("html", "<p>t</p>"),
    ];
    assert_eq!(
        send(post_form(&client, &endpoint, &pairs).basic_auth("api", Some(TOKEN)))
            .await
            .status,
        200
    );
    let throttled =
        send(post_form(&client, &endpoint, &pairs).basic_auth("api", Some(TOKEN))).await;
    assert_eq!(throttled.status, 429);
    assert!(throttled.header("retry-after").is_some());
    assert_eq!(sandbox.messages()[0].body, "<p>t</p>");
}

fn postmark_mail(to: &str) -> Value {
    json!({"From": "me@example.com", "To": to, "Subject": "Hello", "TextBody": "Hi there", "MessageStream": "outbound"})
}

#[tokio::test]
async fn postmark() {
    let sandbox = start(Provider::Postmark).await;
    let client = client();
    let endpoint = url(&sandbox, "/email");
    let mail = |token: &str, body: &Value| {
        client
            .post(&endpoint)
            .header("Accept", "application/json")
            .header("X-Postmark-Server-Token", token)
            .json(body)
    };

    let accepted = send(mail(TOKEN, &postmark_mail("ada@example.com"))).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    let body = accepted.json();
    assert_eq!(
        (body["ErrorCode"].as_u64(), body["Message"].as_str()),
        (Some(0), Some("OK"))
    );
    assert_eq!(body["To"], "ada@example.com");
    let id = body["MessageID"].as_str().expect("MessageID").to_string();

    let unauthorized = send(
        client
            .post(&endpoint)
            .json(&postmark_mail("ada@example.com")),
    )
    .await;
    assert_eq!(unauthorized.status, 401);
    assert_eq!(unauthorized.json()["ErrorCode"], 10);
    assert_eq!(
        send(mail("nope", &postmark_mail("ada@example.com")))
            .await
            .status,
        401
    );

    let malformed = send(mail(
        TOKEN,
        &json!({"From": "me@example.com", "To": "ada@example.com"}),
    ))
    .await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.json()["ErrorCode"], 300);

    let inactive = send(mail(TOKEN, &postmark_mail("gone@bounce.test"))).await;
    assert_eq!(inactive.status, 422);
    assert_eq!(inactive.json()["ErrorCode"], 406);
    assert!(
        inactive.json()["Message"]
            .as_str()
            .unwrap_or_default()
            .contains("gone@bounce.test")
    );

    assert_eq!(
        send(mail(TOKEN, &postmark_mail("bob@example.com")))
            .await
            .status,
        200
    );
    let throttled = send(mail(TOKEN, &postmark_mail("cy@example.com"))).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.json()["ErrorCode"], 429);

    let messages = sandbox.messages();
    assert_eq!((messages.len(), messages[0].id.as_str()), (2, id.as_str()));
    assert_eq!(messages[1].recipients, ["bob@example.com"]);
}

fn resend_mail(to: &str, text: &str) -> Value {
    json!({"from": "Me <me@example.com>", "to": [to], "subject": "Hello", "text": text})
}

#[tokio::test]
async fn resend() {
    let sandbox = start(Provider::Resend).await;
    let client = client();
    let endpoint = url(&sandbox, "/emails");
    let mail = |body: &Value| client.post(&endpoint).bearer_auth(TOKEN).json(body);

    let accepted = send(mail(&resend_mail("ada@example.com", "Hi"))).await;
    assert_eq!(accepted.status, 200, "{}", accepted.text);
    assert!(accepted.json()["id"].is_string());
    assert_eq!(accepted.number("ratelimit-limit"), 2.0);
    assert_eq!(accepted.number("ratelimit-remaining"), 1.0);
    assert!(accepted.number("ratelimit-reset") >= 1.0);

    let missing = send(
        client
            .post(&endpoint)
            .json(&resend_mail("ada@example.com", "Hi")),
    )
    .await;
    assert_eq!(
        (missing.status, missing.json()["name"].as_str()),
        (401, Some("missing_api_key"))
    );
    let invalid = send(
        client
            .post(&endpoint)
            .bearer_auth("nope")
            .json(&resend_mail("a@x.io", "Hi")),
    )
    .await;
    assert_eq!(
        (invalid.status, invalid.json()["name"].as_str()),
        (403, Some("invalid_api_key"))
    );

    let malformed = send(mail(
        &json!({"from": "me@example.com", "to": "ada@example.com", "text": "Hi"}),
    ))
    .await;
    assert_eq!(malformed.status, 422);
    assert_eq!(malformed.json()["name"], "missing_required_field");

    let refused = send(mail(&resend_mail("gone@bounce.test", "Hi"))).await;
    assert_eq!(
        (refused.status, refused.json()["name"].as_str()),
        (422, Some("validation_error"))
    );

    assert_eq!(
        send(mail(&resend_mail("bob@example.com", "Hi")))
            .await
            .status,
        200
    );
    let throttled = send(mail(&resend_mail("cy@example.com", "Hi"))).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.json()["name"], "rate_limit_exceeded");
    assert_eq!(throttled.number("ratelimit-remaining"), 0.0);
    let retry = throttled.number("retry-after");
    assert!((1.0..=10.0).contains(&retry), "{retry}");
    assert_eq!(sandbox.messages().len(), 2);
}

#[tokio::test]
async fn resend_honours_idempotency_keys() {
    let sandbox = start(Provider::Resend).await;
    let client = client();
    let endpoint = url(&sandbox, "/emails");
    let keyed = |key: &str, body: &Value| {
        client
            .post(&endpoint)
            .bearer_auth(TOKEN)
            .header("Idempotency-Key", key)
            .json(body)
    };
    let first = send(keyed("welcome/ada", &resend_mail("ada@example.com", "Hi"))).await;
    assert_eq!(first.status, 200);
    let again = send(keyed("welcome/ada", &resend_mail("ada@example.com", "Hi"))).await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json()["id"],
        first.json()["id"],
        "the first response again"
    );
    let changed = send(keyed(
        "welcome/ada",
        &resend_mail("ada@example.com", "Hello!"),
    ))
    .await;
    assert_eq!(changed.status, 409);
    assert_eq!(changed.json()["name"], "invalid_idempotent_request");
    let too_long = send(keyed(
        &"k".repeat(257),
        &resend_mail("ada@example.com", "Hi"),
    ))
    .await;
    assert_eq!(
        (too_long.status, too_long.json()["name"].as_str()),
        (400, Some("invalid_idempotency_key"))
    );
    assert_eq!(
        send(keyed(
            &"k".repeat(256),
            &resend_mail("ada@example.com", "Hi")
        ))
        .await
        .status,
        200
    );

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2, "a replay records nothing");
    assert_eq!(messages[0].idempotency_key.as_deref(), Some("welcome/ada"));
    let stats = sandbox.stats();
    assert_eq!((stats.accepted, stats.replayed, stats.rejected), (2, 1, 2));
}
