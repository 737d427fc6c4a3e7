//! The chat providers: Slack, Discord (webhook and bot) and Telegram.

use outreach_sandbox::Provider;
use serde_json::{Value, json};

use super::{OTHER_TOKEN, TOKEN, client, epoch_now, post_form, send, start, url};

#[tokio::test]
async fn slack() {
    let sandbox = start(Provider::Slack).await;
    let client = client();
    let endpoint = url(&sandbox, "/api/chat.postMessage");
    let post = |token: &str, body: &Value| {
        client
            .post(&endpoint)
            .bearer_auth(token)
            .header("Content-Type", "application/json; charset=utf-8")
            .body(body.to_string())
    };
    let error_of = |answer: &super::Answer| {
        assert_eq!(
            answer.status, 200,
            "Slack errors are HTTP 200: {}",
            answer.text
        );
        assert_eq!(answer.json()["ok"], false);
        answer.json()["error"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };

    let accepted = send(post(TOKEN, &json!({"channel": "C123", "text": "Hi team"}))).await;
    assert_eq!(accepted.status, 200);
    let body = accepted.json();
    assert_eq!(
        (body["ok"].as_bool(), body["channel"].as_str()),
        (Some(true), Some("C123"))
    );
    let ts = body["ts"].as_str().expect("ts").to_string();

    assert_eq!(
        error_of(&send(post("xoxb-wrong", &json!({"channel": "C1", "text": "x"}))).await),
        "invalid_auth"
    );
    let anonymous = client
        .post(&endpoint)
        .json(&json!({"channel": "C1", "text": "x"}));
    assert_eq!(error_of(&send(anonymous).await), "not_authed");
    assert_eq!(
        error_of(&send(post(TOKEN, &json!({"channel": "C1"}))).await),
        "no_text"
    );
    assert_eq!(
        error_of(&send(post(TOKEN, &json!({"channel": "C0GONE", "text": "x"}))).await),
        "channel_not_found"
    );

    // A form body is accepted too, as Slack does.
    let form = post_form(
        &client,
        &endpoint,
        &[("channel", "C456"), ("text", "Hi form")],
    )
    .bearer_auth(TOKEN);
    assert_eq!(send(form).await.json()["ok"], true);
    let throttled = send(post(TOKEN, &json!({"channel": "C123", "text": "again"}))).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(
        throttled.json(),
        json!({"ok": false, "error": "ratelimited"})
    );
    let retry = throttled.number("retry-after");
    assert!((1.0..=10.0).contains(&retry), "{retry}");

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].recipients[0].as_str()),
        (ts.as_str(), "C123")
    );
    assert_eq!(messages[1].body, "Hi form");
    let stats = sandbox.stats();
    assert_eq!(
        (stats.unauthorized, stats.rejected, stats.throttled),
        (2, 2, 1)
    );
}

#[tokio::test]
async fn discord_webhook() {
    let sandbox = start(Provider::Discord).await;
    let client = client();
    let hook = |id: &str, token: &str, query: &str| {
        url(&sandbox, &format!("/api/webhooks/{id}/{token}{query}"))
    };

    let waited = send(
        client
            .post(hook("111", TOKEN, "?wait=true"))
            .json(&json!({"content": "Hi"})),
    )
    .await;
    assert_eq!(waited.status, 200, "{}", waited.text);
    let message = waited.json();
    assert_eq!(
        (message["content"].as_str(), message["webhook_id"].as_str()),
        (Some("Hi"), Some("111"))
    );
    assert_eq!(waited.number("x-ratelimit-remaining"), 1.0);
    assert!(waited.header("x-ratelimit-bucket").is_some());

    let bad_token = send(
        client
            .post(hook("111", "nope", ""))
            .json(&json!({"content": "Hi"})),
    )
    .await;
    assert_eq!(
        (bad_token.status, bad_token.json()["code"].as_u64()),
        (401, Some(50027))
    );
    let empty = send(
        client
            .post(hook("111", TOKEN, ""))
            .json(&json!({"content": ""})),
    )
    .await;
    assert_eq!(
        (empty.status, empty.json()["code"].as_u64()),
        (400, Some(50006))
    );
    let gone = send(
        client
            .post(hook("C0GONE", TOKEN, ""))
            .json(&json!({"content": "Hi"})),
    )
    .await;
    assert_eq!(
        (gone.status, gone.json()["code"].as_u64()),
        (404, Some(10015))
    );

    let quiet = send(
        client
            .post(hook("111", TOKEN, ""))
            .json(&json!({"content": "No wait"})),
    )
    .await;
    assert_eq!((quiet.status, quiet.text.as_str()), (204, ""));
    let throttled = send(
        client
            .post(hook("111", TOKEN, ""))
            .json(&json!({"content": "Hi"})),
    )
    .await;
    assert_eq!(throttled.status, 429);
    let body = throttled.json();
    let retry_after = body["retry_after"].as_f64().expect("a float retry_after");
    assert!(retry_after > 0.0 && retry_after <= 10.0, "{retry_after}");
    assert_eq!(body["global"], false);
    assert_eq!(throttled.header("x-ratelimit-scope"), Some("user"));
    assert!(throttled.number("x-ratelimit-reset-after") > 0.0);
    assert!(throttled.number("x-ratelimit-reset") > epoch_now());

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].id, message["id"].as_str().unwrap_or_default());
    assert_eq!(
        (
            messages[1].recipients[0].as_str(),
            messages[1].body.as_str()
        ),
        ("111", "No wait")
    );
}

#[tokio::test]
async fn discord_bot() {
    let sandbox = start(Provider::Discord).await;
    let client = client();
    let channel = |id: &str| url(&sandbox, &format!("/api/v10/channels/{id}/messages"));
    let bot = |id: &str, token: &str, body: &Value| {
        client
            .post(channel(id))
            .header("Authorization", format!("Bot {token}"))
            .json(body)
    };

    let accepted = send(bot("222", TOKEN, &json!({"content": "Hello"}))).await;
    assert_eq!(accepted.status, 200);
    assert_eq!(accepted.json()["channel_id"], "222");
    let bearer = client
        .post(channel("222"))
        .bearer_auth(TOKEN)
        .json(&json!({"content": "x"}));
    assert_eq!(
        send(bearer).await.status,
        401,
        "bots authenticate with `Bot`, not `Bearer`"
    );
    let broken = send(bot("222", TOKEN, &json!([1]))).await;
    assert_eq!(
        (broken.status, broken.json()["code"].as_u64()),
        (400, Some(50109))
    );
    let unknown = send(bot("C0GONE", TOKEN, &json!({"content": "x"}))).await;
    assert_eq!(
        (unknown.status, unknown.json()["code"].as_u64()),
        (404, Some(10003))
    );
    assert_eq!(
        send(bot("222", TOKEN, &json!({"content": "two"})))
            .await
            .status,
        200
    );
    assert_eq!(
        send(bot("222", TOKEN, &json!({"content": "three"})))
            .await
            .status,
        429
    );
    assert_eq!(
        send(bot("222", OTHER_TOKEN, &json!({"content": "bob"})))
            .await
            .status,
        200
    );
    assert_eq!(sandbox.messages().len(), 3);
}

#[tokio::test]
async fn telegram() {
    let sandbox = start(Provider::Telegram).await;
    let client = client();
    let method = |token: &str| url(&sandbox, &format!("/bot{token}/sendMessage"));
    let post = |token: &str, body: &Value| client.post(method(token)).json(body);
    let description = |answer: &super::Answer, status: u16| {
        assert_eq!(answer.status, status, "{}", answer.text);
        let body = answer.json();
        assert_eq!(
            (body["ok"].as_bool(), body["error_code"].as_u64()),
            (Some(false), Some(u64::from(status)))
        );
        body["description"].as_str().unwrap_or_default().to_string()
    };

    let accepted = send(post(TOKEN, &json!({"chat_id": 4242, "text": "Hi"}))).await;
    assert_eq!(accepted.status, 200);
    let result = &accepted.json()["result"];
    assert_eq!(
        (result["message_id"].as_u64(), result["chat"]["id"].as_i64()),
        (Some(1), Some(4242))
    );

    assert_eq!(
        description(
            &send(post("nope", &json!({"chat_id": 1, "text": "x"}))).await,
            401
        ),
        "Unauthorized"
    );
    let no_bot = send(
        client
            .post(url(&sandbox, &format!("/{TOKEN}/sendMessage")))
            .json(&json!({})),
    )
    .await;
    assert_eq!(description(&no_bot, 404), "Not Found");
    assert_eq!(
        description(&send(post(TOKEN, &json!({"text": "x"}))).await, 400),
        "Bad Request: chat_id is empty"
    );
    assert_eq!(
        description(
            &send(post(
                TOKEN,
                &json!({"chat_id": "@invalid_channel", "text": "x"})
            ))
            .await,
            400
        ),
        "Bad Request: chat not found"
    );

    let form = post_form(
        &client,
        &method(TOKEN),
        &[("chat_id", "77"), ("text", "Hi form")],
    );
    assert_eq!(send(form).await.status, 200);
    let throttled = send(post(TOKEN, &json!({"chat_id": 4242, "text": "again"}))).await;
    let text = description(&throttled, 429);
    let retry_after = throttled.json()["parameters"]["retry_after"]
        .as_u64()
        .expect("retry_after");
    assert!((1..=10).contains(&retry_after), "{retry_after}");
    assert_eq!(
        text,
        format!("Too Many Requests: retry after {retry_after}")
    );

    let messages = sandbox.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0].id.as_str(), messages[0].recipients[0].as_str()),
        ("1", "4242")
    );
    assert_eq!(
        (
            messages[1].recipients[0].as_str(),
            messages[1].body.as_str()
        ),
        ("77", "Hi form")
    );
}
