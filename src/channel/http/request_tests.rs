use proptest::prelude::*;

use super::*;
use crate::channel::http::test_support::{SECRET, message, resolve, token, with_html};

fn body_text(request: &PreparedRequest) -> &str {
    std::str::from_utf8(request.body()).unwrap()
}

#[test]
fn form_bodies_are_encoded_and_empty_fields_left_out() {
    let spec = resolve(
        r#"
        url = "https://api.test/v3/{{ settings.domain | urlencode }}/messages"
        auth = { kind = "basic", user = "api" }
        [body.form]
        to = "{{ recipient }}"
        text = "{{ body }}"
        html = "{{ html }}"
        company = "{{ row.company }}"
        [settings.optional]
        domain = "mg.test"
        "#,
        &[],
    );
    let request = prepare(&spec, &message("ada+x@example.com"), &token()).unwrap();
    assert_eq!(
        request.url().as_str(),
        "https://api.test/v3/mg.test/messages"
    );
    assert_eq!(
        body_text(&request),
        "company=Acme+%26+Co&text=Hi+Ada%2C%0Asee+you+%22soon%22.&to=ada%2Bx%40example.com"
    );
    assert_eq!(
        request.content_type(),
        Some("application/x-www-form-urlencoded")
    );
    let with_html = prepare(&spec, &with_html(message("a@x.test")), &token()).unwrap();
    assert!(body_text(&with_html).contains("html=%3Cp%3EHi+Ada%3C%2Fp%3E"));
    // Basic api:SECRET, marked sensitive.
    let auth = request.headers().get(AUTHORIZATION).unwrap();
    assert_eq!(auth.to_str().unwrap(), "Basic YXBpOnMzY3JldC1UMEtFTg==");
    assert!(auth.is_sensitive());
}

#[test]
fn headers_render_and_empty_ones_are_left_out() {
    let spec = resolve(
        r#"
        method = "put"
        url = "https://api.test/x"
        auth = { kind = "header", name = "X-Api-Key" }
        headers = { Idempotency-Key = "{{ idempotency_key }}", X-Optional = "{{ html }}", Content-Type = "text/plain" }
        body = { json = "{}" }
        "#,
        &[],
    );
    let request = prepare(&spec, &message("a@x.test"), &token()).unwrap();
    assert_eq!(request.method(), Method::PUT);
    let headers = request.headers();
    assert_eq!(headers["idempotency-key"], "idem-42");
    assert_eq!(headers["x-api-key"], SECRET);
    assert!(headers.get("x-optional").is_none());
    // A Content-Type header replaces the one the body implies.
    assert_eq!(request.content_type(), Some("text/plain"));
    assert_eq!(headers.get_all(CONTENT_TYPE).iter().count(), 1);
}

#[test]
fn redacted_shows_the_exact_request_without_the_secret() {
    let spec = resolve(
        r#"
        url = "https://api.test/bot{{ secret }}/send?x=1"
        auth = { kind = "url" }
        headers = { Accept = "application/json" }
        body = { json = '{"to": {{ recipient }}, "text": {{ body }}}' }
        "#,
        &[],
    );
    let request = prepare(&spec, &message("42"), &token()).unwrap();
    assert_eq!(
        request.url().as_str(),
        format!("https://api.test/bot{SECRET}/send?x=1")
    );
    assert_eq!(
        request.redacted(),
        "POST https://api.test/bot[redacted]/send?x=1\n\
         Content-Type: application/json\n\
         Accept: application/json\n\
         \n\
         {\"to\": \"42\", \"text\": \"Hi Ada,\\nsee you \\\"soon\\\".\"}\n"
    );
    assert_eq!(format!("{request}"), request.redacted());
    assert!(!format!("{request:?}").contains(SECRET));
}

#[test]
fn redacted_auth_headers_keep_their_scheme() {
    let bot = resolve(
        "url = \"https://d.test/\"\nauth = { kind = \"header\", name = \"Authorization\", prefix = \"Bot\" }",
        &[],
    );
    let request = prepare(&bot, &message("1"), &token()).unwrap();
    assert_eq!(
        request.redacted(),
        "POST https://d.test/\nAuthorization: Bot [redacted]\n"
    );
    let query = resolve(
        "url = \"https://q.test/send?a=b\"\nauth = { kind = \"query\", name = \"key\" }",
        &[],
    );
    let request = prepare(&query, &message("1"), &token()).unwrap();
    assert_eq!(
        request.url().as_str(),
        format!("https://q.test/send?a=b&key={SECRET}")
    );
    assert_eq!(
        request.redacted(),
        "POST https://q.test/send?a=b&key=[redacted]\n"
    );
}

#[test]
fn an_optional_bearer_is_left_out_without_a_secret() {
    let spec = resolve(
        "url = \"https://hook.test/\"\nauth = { kind = \"bearer\", optional = true }",
        &[],
    );
    let empty = Token::new(String::new());
    let request = prepare(&spec, &message("1"), &empty).unwrap();
    assert!(request.headers().get(AUTHORIZATION).is_none());
    let request = prepare(&spec, &message("1"), &token()).unwrap();
    assert_eq!(
        request.headers()[AUTHORIZATION],
        format!("Bearer {SECRET}").as_str()
    );
}

#[test]
fn a_message_that_cannot_be_a_request_fails_alone() {
    let spec = resolve(
        "url = \"{{ row.site }}\"\nauth = { kind = \"none\" }\nheaders = { X-To = \"{{ recipient }}\" }",
        &[],
    );
    let mut broken = message("line\nbreak");
    broken
        .fields
        .insert("site".into(), "https://ok.test/".into());
    let error = prepare(&spec, &broken, &token()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "could not build the request: `headers.X-To`: renders a value not allowed in a header (a line break?)"
    );
    let mut not_a_url = message("a");
    not_a_url
        .fields
        .insert("site".into(), "ftp://files.test/".into());
    let error = prepare(&spec, &not_a_url, &token()).unwrap_err();
    assert!(error.to_string().contains("not http or https"), "{error}");
    // A column the row lacks is an error, not an empty value.
    let error = prepare(&spec, &message("a"), &token()).unwrap_err();
    assert!(error.to_string().contains("`url`: undefined"), "{error}");
}

#[test]
fn a_secret_that_cannot_be_a_header_is_its_own_error() {
    let spec = resolve(
        "url = \"https://x.test/\"\nauth = { kind = \"bearer\" }",
        &[],
    );
    let error = prepare(&spec, &message("a"), &Token::new("bad\nsecret".into())).unwrap_err();
    assert_eq!(
        error,
        ChannelError::BadSecret {
            place: "an HTTP header"
        }
    );
    assert!(!error.to_string().contains("bad\nsecret"));
}

#[test]
fn json_bodies_that_are_not_json_are_refused() {
    let spec = resolve(
        "url = \"https://x.test/\"\nauth = { kind = \"none\" }\nbody = { json = '{\"text\": \"{{ body }}\"}' }",
        &[],
    );
    let error = prepare(&spec, &message("a"), &token()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("`body.json`: renders text that is not JSON"),
        "{error}"
    );
    assert!(error.to_string().contains("without quotes"), "{error}");
}

fn json_spec() -> ResolvedSpec {
    resolve(
        "url = \"https://x.test/\"\nauth = { kind = \"none\" }\nbody = { json = '{\"text\": {{ body }}, \"to\": [{{ recipient | json }}], \"s\": {{ row.company }}}' }",
        &[],
    )
}

proptest! {
    /// No value can break the JSON document: whatever the text, the body
    /// parses and holds exactly that text.
    #[test]
    fn any_value_stays_inside_its_json_string(text in any::<String>(), to in "\\PC{0,20}") {
        let spec = json_spec();
        let mut message = message(&to);
        message.payload.body = text.clone();
        message.fields.insert("company".into(), text.clone());
        let request = prepare(&spec, &message, &token()).unwrap();
        let json: serde_json::Value = serde_json::from_slice(request.body()).unwrap();
        prop_assert_eq!(json["text"].as_str(), Some(text.as_str()));
        prop_assert_eq!(json["s"].as_str(), Some(text.as_str()));
        prop_assert_eq!(json["to"][0].as_str(), Some(to.as_str()));
    }

    /// Wherever auth places the secret, and whatever it is spelled with, it
    /// never shows in `redacted()`, `Debug`, or an error.
    #[test]
    fn the_secret_never_shows(
        secret in "[A-Za-z0-9_.:~+/=?#% \"\\\\-]{8,40}",
        kind in 0..6usize,
    ) {
        prop_assume!(!REDACTED.contains(secret.as_str()));
        let auth = [
            "auth = { kind = \"bearer\" }",
            "auth = { kind = \"basic\", user = \"{{ settings.user }}\" }",
            "auth = { kind = \"header\", name = \"X-Key\", prefix = \"Key\" }",
            "auth = { kind = \"query\", name = \"token\" }",
            "auth = { kind = \"url\" }",
            "auth = { kind = \"header\", name = \"X-Key\" }",
        ][kind];
        let url = if kind == 4 {
            "https://api.test/bot{{ secret }}/send"
        } else {
            "https://api.test/send"
        };
        let spec = resolve(
            &format!(
                "url = \"{url}\"\n{auth}\nheaders = {{ X-To = \"{{{{ recipient }}}}\" }}\nbody = {{ json = '{{\"text\": {{{{ body }}}}}}' }}\n[settings.optional]\nuser = \"AC1\""
            ),
            &[],
        );
        let secret_token = Token::new(secret.clone());
        let request = prepare(&spec, &message("ada@example.com"), &secret_token).unwrap();
        prop_assert!(!request.redacted().contains(secret.as_str()), "{}", request.redacted());
        let debug = format!("{request:?}");
        prop_assert!(!debug.contains(secret.as_str()));
        // A message that fails, and a secret that cannot be a header.
        let error = prepare(&spec, &message("line\nbreak"), &secret_token).unwrap_err();
        prop_assert!(!error.to_string().contains(secret.as_str()));
        let debug = format!("{error:?}");
        prop_assert!(!debug.contains(secret.as_str()));
        let bad = Token::new(format!("{secret}\n"));
        if let Err(error) = prepare(&spec, &message("a"), &bad) {
            prop_assert!(!error.to_string().contains(secret.as_str()));
        }
    }
}
