//! The parts of a request that are the same for every message of an
//! account, rendered once when the spec is resolved instead of once per
//! request: a URL, header or `auth.user` template that uses nothing but
//! `settings` (LinkedIn's URL and `LinkedIn-Version`, any constant header),
//! and a JSON body compiled to be written without minijinja (`plain.rs`).
//! Issue 12 asks presets to cost nothing measurable over today's fixed
//! payload; rendering and re-parsing the same URL for every message was
//! most of the difference (docs/performance.md, section 5).
//!
//! Only successes are kept: a template that fails to render, a URL that
//! does not parse, a header value that cannot be sent is rendered per
//! message as before, so every error reads as it did. A template counts as
//! fixed only when minijinja finds no variable but `settings` in it and it
//! cannot reach another template (`include`, `import`, `extends`) or the
//! whole context (`debug()`); when in doubt it is rendered per message.
//!
//! Nothing here holds the secret: a URL that carries it (`auth = url`) is
//! still rendered per message and only its redacted form is kept; with
//! `auth = query` the URL is kept without the parameter, added per request.

use std::sync::Arc;

use reqwest::Url;
use reqwest::header::HeaderValue;

use super::compile::{AUTH_USER, Auth, Body, ResolvedSpec, URL};
use super::plain::PlainJson;
use super::request::{MARKER, add_query_secret, render_url, shown_url};
use super::templates::{JSON_BODY, MESSAGE_VARIABLES, message_context};

/// What [`ResolvedSpec`] renders once; see the module docs.
#[derive(Debug)]
pub(crate) struct Fixed {
    /// The URL, when its template is fixed.
    pub url: Option<FixedUrl>,
    /// By index into `ResolvedSpec::headers` (missing: [`FixedHeader::Render`]).
    pub headers: Vec<FixedHeader>,
    /// `auth.user` of `auth = basic`, when fixed.
    pub auth_user: Option<String>,
    /// Whether any template may read `row` (if not, the row is not copied
    /// into each request's variables).
    pub uses_row: bool,
    /// The JSON body, when it can be written without minijinja (`plain.rs`).
    pub json_body: Option<PlainJson>,
}

/// How a header's value is made for each request.
#[derive(Debug, Clone)]
pub(crate) enum FixedHeader {
    /// Rendered once: the value, or `None` when it renders empty (the
    /// header is left out of every request).
    Value(Option<HeaderValue>),
    /// The template is exactly `{{ NAME }}` of a message variable
    /// (`Idempotency-Key = "{{ idempotency_key }}"`): the variable's value,
    /// which is what it renders to, taken without rendering.
    Variable(&'static str),
    /// Rendered per message.
    Render,
}

#[derive(Debug)]
pub(crate) struct FixedUrl {
    /// The URL to send, but for `auth = query`'s parameter; `None` when it
    /// carries the secret (`auth = url`) and is rendered per message.
    pub url: Option<Url>,
    /// The URL as shown, the secret redacted.
    pub shown: Arc<str>,
}

/// Words that let a template reach beyond the variables minijinja reports.
const UNSURE: [&str; 4] = ["include", "import", "extends", "debug"];

impl Fixed {
    /// Nothing rendered ahead: every request renders everything.
    pub(crate) fn nothing() -> Fixed {
        Fixed {
            url: None,
            headers: Vec::new(),
            auth_user: None,
            uses_row: true,
            json_body: None,
        }
    }

    pub(crate) fn of(spec: &ResolvedSpec) -> Fixed {
        let context = minijinja::context! { settings => spec.settings_value.clone() };
        let render = |path: &str| -> Option<String> {
            spec.env.get_template(path).ok()?.render(&context).ok()
        };
        let url = if is_fixed(spec, URL, spec.auth == Auth::Url) {
            fixed_url(spec, &context)
        } else {
            None
        };
        let headers = spec
            .headers
            .iter()
            .map(|(_, path)| {
                if let Some(name) = lone_variable(spec, path) {
                    return FixedHeader::Variable(name);
                }
                if !is_fixed(spec, path, false) {
                    return FixedHeader::Render;
                }
                match render(path) {
                    Some(value) if value.is_empty() => FixedHeader::Value(None),
                    Some(value) => HeaderValue::from_str(&value)
                        .map_or(FixedHeader::Render, |value| FixedHeader::Value(Some(value))),
                    None => FixedHeader::Render,
                }
            })
            .collect();
        let auth_user = match spec.auth {
            Auth::Basic if is_fixed(spec, AUTH_USER, false) => render(AUTH_USER),
            _ => None,
        };
        let uses_row = spec.templates.iter().any(|path| {
            spec.env.get_template(path).map_or(true, |template| {
                unsure(template.source()) || template.undeclared_variables(false).contains("row")
            })
        });
        Fixed {
            url,
            headers,
            auth_user,
            uses_row,
            json_body: plain_json_body(spec),
        }
    }
}

/// The URL rendered with the settings alone and [`MARKER`] for the secret.
fn fixed_url(spec: &ResolvedSpec, context: &minijinja::Value) -> Option<FixedUrl> {
    let marked = render_url(spec, context, MARKER).ok()?;
    let url = match spec.auth {
        Auth::Url => None,
        _ => Some(marked.clone()),
    };
    let mut marked = marked;
    add_query_secret(spec, &mut marked, MARKER);
    Some(FixedUrl {
        url,
        shown: shown_url(spec, &marked).into(),
    })
}

/// The JSON body as a [`PlainJson`], if it is one.
fn plain_json_body(spec: &ResolvedSpec) -> Option<PlainJson> {
    if spec.body != Body::Json {
        return None;
    }
    let template = spec.env.get_template(JSON_BODY).ok()?;
    PlainJson::compile(template.source(), &spec.settings, |message| {
        template
            .render(message_context(message, &spec.settings_value, false))
            .ok()
    })
}

/// Whether the template at `path` uses nothing but `settings` (and
/// `secret`, if `secret` is true).
fn is_fixed(spec: &ResolvedSpec, path: &str, secret: bool) -> bool {
    let Ok(template) = spec.env.get_template(path) else {
        return false;
    };
    !unsure(template.source())
        && template
            .undeclared_variables(false)
            .iter()
            .all(|name| name == "settings" || (secret && name == "secret"))
}

/// The message variable `path`'s template is exactly `{{ NAME }}` of (no
/// filter, no text around it, no whitespace control).
fn lone_variable(spec: &ResolvedSpec, path: &str) -> Option<&'static str> {
    let template = spec.env.get_template(path).ok()?;
    let name = template
        .source()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    MESSAGE_VARIABLES
        .into_iter()
        .find(|variable| *variable == name)
}

fn unsure(source: &str) -> bool {
    UNSURE.iter().any(|word| source.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::http::presets::PRESETS;
    use crate::channel::http::request::prepare;
    use crate::channel::http::test_support::{SECRET, message, resolve, token, with_html};
    use crate::send::api::{OutgoingMessage, Token};

    /// Everything a request is and shows, or its error.
    fn outcome(spec: &ResolvedSpec, message: &OutgoingMessage, secret: &Token) -> String {
        match prepare(spec, message, secret) {
            Ok(request) => {
                let headers: Vec<String> = request
                    .headers()
                    .iter()
                    .map(|(name, value)| format!("{name}={value:?}/{}", value.is_sensitive()))
                    .collect();
                format!(
                    "{} {}\n{headers:?}\n{:?}\n{}",
                    request.method(),
                    request.url(),
                    request.body(),
                    request.redacted()
                )
            }
            Err(error) => format!("error: {error}"),
        }
    }

    /// The same requests with and without what is rendered ahead.
    fn assert_same_requests(mut spec: ResolvedSpec, what: &str) {
        let messages = [
            message("ada@example.com"),
            with_html(message("urn:li:person:1\"x\\y")),
            message(""),
        ];
        let secrets = [
            token(),
            Token::new(String::new()),
            Token::new("a b/c?d".into()),
        ];
        let mut fast = Vec::new();
        for message in &messages {
            for secret in &secrets {
                fast.push(outcome(&spec, message, secret));
            }
        }
        spec.fixed = Fixed::nothing();
        let mut slow = Vec::new();
        for message in &messages {
            for secret in &secrets {
                slow.push(outcome(&spec, message, secret));
            }
        }
        assert_eq!(fast, slow, "{what}");
    }

    #[test]
    fn every_preset_makes_the_same_requests_as_rendered_per_message() {
        for preset in PRESETS {
            let spec = preset.spec().unwrap();
            let resolved = spec.with_settings(&spec.sample_settings()).unwrap();
            assert_same_requests(resolved, preset.name);
        }
    }

    #[test]
    fn specs_of_every_kind_make_the_same_requests() {
        let specs = [
            // Query auth over a fixed URL that has a query already.
            r#"url = "{{ settings.base }}/send?x=1"
               auth = { kind = "query", name = "key" }
               headers = { X-Fixed = "{{ settings.v }}", X-Empty = "{{ settings.empty }}", X-Id = "{{ idempotency_key }}" }
               body = { form = { to = "{{ recipient }}", company = "{{ row.company }}" } }
               [settings.optional]
               base = "https://api.test"
               v = "1"
               empty = """#,
            // Basic auth with a fixed user; a URL over the message.
            r#"url = "https://api.test/{{ recipient | urlencode }}"
               auth = { kind = "basic", user = "{{ settings.user }}" }
               body = { json = '{"to": {{ recipient }}}' }
               [settings.optional]
               user = "api""#,
            // A fixed URL that is not one, a header that cannot be sent:
            // rendered per message, so the error reads as before.
            r#"url = "{{ settings.base }}/x"
               auth = { kind = "bearer", optional = true }
               headers = { X-Bad = "{{ settings.bad }}" }
               [settings.optional]
               base = "not a url"
               bad = "a\nb""#,
            // Headers that are one message variable, sendable or not.
            r#"url = "https://api.test/x"
               auth = { kind = "none" }
               headers = { X-Subject = "{{subject}}", X-Html = "{{ html }}", X-Text = "{{ body }}" }"#,
            r#"url = "https://api.test/x"
               auth = { kind = "none" }
               headers = { X-To = "{{ recipient }}", X-Padded = " {{ recipient }}", X-Filtered = "{{ recipient | upper }}" }"#,
            // A template that includes another is never taken as fixed.
            r#"url = "https://api.test/{% include 'headers.X-To' %}/{{ secret }}"
               auth = { kind = "url" }
               headers = { X-To = "{{ recipient }}" }"#,
        ];
        for text in specs {
            let spec = crate::channel::http::HttpSpec::from_toml(text).unwrap();
            match spec.with_settings(&Default::default()) {
                Ok(resolved) => assert_same_requests(resolved, text),
                Err(error) => panic!("{text}: {error}"),
            }
        }
    }

    #[test]
    fn only_what_uses_the_settings_alone_is_rendered_ahead() {
        let linkedin = resolve(
            crate::channel::http::presets::source("linkedin").unwrap(),
            &[("base_url", "http://127.0.0.1:9")],
        );
        let fixed = &linkedin.fixed;
        let url = fixed.url.as_ref().unwrap();
        assert_eq!(
            url.url.as_ref().map(Url::as_str),
            Some("http://127.0.0.1:9/v2/messages")
        );
        // LinkedIn-Version and X-Restli-Protocol-Version rendered once;
        // Idempotency-Key is the message's key as it is.
        let plans: Vec<String> = linkedin
            .headers
            .iter()
            .zip(&fixed.headers)
            .map(|((name, _), plan)| format!("{name} {plan:?}"))
            .collect();
        assert_eq!(
            plans,
            [
                "idempotency-key Variable(\"idempotency_key\")",
                "linkedin-version Value(Some(\"202411\"))",
                "x-restli-protocol-version Value(Some(\"2.0.0\"))",
            ]
        );
        assert!(!fixed.uses_row);

        // The secret in the path: only the redacted URL is kept.
        let telegram = resolve(
            crate::channel::http::presets::source("telegram").unwrap(),
            &[],
        );
        let url = telegram.fixed.url.as_ref().unwrap();
        assert!(url.url.is_none());
        assert_eq!(
            &*url.shown,
            "https://api.telegram.org/bot[redacted]/sendMessage"
        );
        assert!(!format!("{:?}", telegram.fixed).contains(SECRET));

        // The secret as a query parameter: added per request.
        let query = resolve(
            r#"url = "https://api.test/send"
               auth = { kind = "query", name = "key" }
               body = { json = '{"t": {{ row.company }}}' }"#,
            &[],
        );
        let url = query.fixed.url.as_ref().unwrap();
        assert_eq!(
            url.url.as_ref().map(Url::as_str),
            Some("https://api.test/send")
        );
        assert_eq!(&*url.shown, "https://api.test/send?key=[redacted]");
        assert!(query.fixed.uses_row);
        let request = prepare(&query, &message("a@x.test"), &token()).unwrap();
        assert_eq!(
            request.url().as_str(),
            format!("https://api.test/send?key={SECRET}")
        );
    }
}
