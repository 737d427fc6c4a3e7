//! One message made into one HTTP request, and that request shown with the
//! secret redacted (`send --dry-run --show-request`).
//!
//! [`prepare`] is pure: the same spec, message and secret give the same
//! bytes, so what `--show-request` prints is exactly what is sent, minus the
//! secret. A header or form field that renders empty is left out (an
//! optional `html`, a header only some accounts need).

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use super::compile::{AUTH_USER, Auth, Body, ResolvedSpec, URL};
use super::error::{ChannelError, template_problem};
use super::fixed::{FixedHeader, FixedUrl};
use super::templates::{JSON_BODY, message_context, message_variable, with_secret};
use crate::send::api::{OutgoingMessage, Token};

/// What replaces the secret wherever a request is shown.
pub const REDACTED: &str = "[redacted]";

/// Stands for the secret while the URL shown is built: letters only, so no
/// encoding changes it, and unlike anything a URL template writes.
pub(crate) const MARKER: &str = "XxOutreachRedactedSecretxX";

/// A request ready to send. Holds the secret (in the URL or a header); its
/// `Debug` and [`PreparedRequest::redacted`] never show it.
pub struct PreparedRequest {
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Vec<u8>,
    /// The URL as it may be shown: the secret, if the URL holds it, replaced.
    shown_url: Arc<str>,
    /// The auth header and the prefix it shows (`Bearer`, `Basic`, `Bot`).
    auth_header: Option<(HeaderName, Option<String>)>,
    /// The secret, whose every spelling ([`secret_forms`]) is blanked out
    /// of anything shown. Already in the URL or a header; kept apart so the
    /// spellings are made only when the request is shown, not per send.
    secret: String,
}

/// A part of the spec that did not render: its path (`body.json`) and why.
#[derive(Debug)]
pub(crate) struct RenderError {
    pub path: String,
    pub problem: String,
}

impl RenderError {
    fn new(path: &str, problem: impl Into<String>) -> RenderError {
        RenderError {
            path: path.to_string(),
            problem: problem.into(),
        }
    }
}

/// `message` as the request `spec` declares, carrying `secret` where `auth`
/// says.
pub fn prepare(
    spec: &ResolvedSpec,
    message: &OutgoingMessage,
    secret: &Token,
) -> Result<PreparedRequest, ChannelError> {
    prepare_checked(spec, message, secret).map_err(|error| match error {
        Prepared::Secret(error) => error,
        Prepared::Render(RenderError { path, problem }) => {
            ChannelError::Request(format!("`{path}`: {problem}"))
        }
    })
}

/// Why a request could not be prepared.
pub(crate) enum Prepared {
    Secret(ChannelError),
    Render(RenderError),
}

impl From<RenderError> for Prepared {
    fn from(error: RenderError) -> Prepared {
        Prepared::Render(error)
    }
}

pub(crate) fn prepare_checked(
    spec: &ResolvedSpec,
    message: &OutgoingMessage,
    secret: &Token,
) -> Result<PreparedRequest, Prepared> {
    let secret = secret.expose();
    let fixed = &spec.fixed;
    // Made only if a template is rendered by minijinja for this message.
    let variables = std::cell::OnceCell::new();
    let context =
        || variables.get_or_init(|| message_context(message, &spec.settings_value, fixed.uses_row));
    let render = |path: &str, context: &minijinja::Value| -> Result<String, RenderError> {
        spec.env
            .get_template(path)
            .and_then(|template| template.render(context))
            .map_err(|error| RenderError::new(path, template_problem(&error)))
    };

    let (url, shown_url) = match &fixed.url {
        Some(FixedUrl {
            url: Some(url),
            shown,
        }) => {
            let mut url = url.clone();
            add_query_secret(spec, &mut url, secret);
            (url, shown.clone())
        }
        Some(FixedUrl { url: None, shown }) => {
            let mut url = render_url(spec, context(), secret)?;
            add_query_secret(spec, &mut url, secret);
            (url, shown.clone())
        }
        None => {
            let mut url = render_url(spec, context(), secret)?;
            add_query_secret(spec, &mut url, secret);
            let shown = match spec.auth {
                Auth::Url | Auth::Query { .. } => render_url(spec, context(), MARKER)
                    .map(|mut marked| {
                        add_query_secret(spec, &mut marked, MARKER);
                        shown_url(spec, &marked)
                    })
                    .unwrap_or_else(|_| format!("{}://{REDACTED}", url.scheme())),
                _ => url.to_string(),
            };
            (url, Arc::from(shown))
        }
    };

    let mut headers = HeaderMap::with_capacity(spec.headers.len() + 2);
    if let Some(content_type) = spec.content_type() {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    for (index, (name, path)) in spec.headers.iter().enumerate() {
        let value = match fixed.headers.get(index) {
            Some(FixedHeader::Value(Some(value))) => {
                headers.insert(name.clone(), value.clone());
                continue;
            }
            Some(FixedHeader::Value(None)) => continue,
            Some(FixedHeader::Variable(variable)) => message_variable(message, variable)
                .unwrap_or_default()
                .to_string(),
            Some(FixedHeader::Render) | None => render(path, context())?,
        };
        if value.is_empty() {
            continue;
        }
        let value = HeaderValue::from_str(&value).map_err(|_| {
            RenderError::new(
                path,
                "renders a value not allowed in a header (a line break?)",
            )
        })?;
        headers.insert(name.clone(), value);
    }
    let auth_value = |prefix: Option<&str>, credential: &str| {
        let text = match prefix {
            Some(prefix) => format!("{prefix} {credential}"),
            None => credential.to_string(),
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            Prepared::Secret(ChannelError::BadSecret {
                place: "an HTTP header",
            })
        })?;
        value.set_sensitive(true);
        Ok::<_, Prepared>(value)
    };
    let auth_header = match &spec.auth {
        Auth::Bearer { optional: true } if secret.is_empty() => None,
        Auth::Bearer { .. } => Some((
            AUTHORIZATION,
            Some("Bearer".to_string()),
            secret.to_string(),
        )),
        Auth::Basic => {
            let user = match &fixed.auth_user {
                Some(user) => user.clone(),
                None => render(AUTH_USER, context())?,
            };
            let credential = BASE64.encode(format!("{user}:{secret}"));
            Some((AUTHORIZATION, Some("Basic".to_string()), credential))
        }
        Auth::Header { name, prefix } => Some((name.clone(), prefix.clone(), secret.to_string())),
        Auth::None | Auth::Query { .. } | Auth::Url => None,
    };
    let auth_header = match auth_header {
        Some((name, prefix, credential)) => {
            headers.insert(name.clone(), auth_value(prefix.as_deref(), &credential)?);
            Some((name, prefix))
        }
        None => None,
    };

    let body = match &spec.body {
        Body::None => Vec::new(),
        Body::Json => {
            // A plain body that is always JSON needs no check (`plain.rs`).
            let (text, checked) = match &fixed.json_body {
                Some(plain) => (plain.render(message), plain.always_json()),
                None => (render(JSON_BODY, context())?, false),
            };
            let json = text.trim();
            if !checked {
                serde_json::from_str::<serde::de::IgnoredAny>(json).map_err(|error| {
                    RenderError::new(
                        JSON_BODY,
                        format!(
                            "renders text that is not JSON ({error}); values are written as JSON already, so write {{{{ value }}}} without quotes around it"
                        ),
                    )
                })?;
            }
            if json.len() == text.len() {
                text.into_bytes()
            } else {
                json.as_bytes().to_vec()
            }
        }
        Body::Form(fields) => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for field in fields {
                let value = render(&format!("body.form.{field}"), context())?;
                if !value.is_empty() {
                    form.append_pair(field, &value);
                }
            }
            form.finish().into_bytes()
        }
    };

    Ok(PreparedRequest {
        method: spec.method.clone(),
        url,
        headers,
        body,
        shown_url,
        auth_header,
        secret: secret.to_string(),
    })
}

/// The URL template rendered (with `secret` for `auth = url`), parsed and
/// checked; `auth = query`'s parameter is added by [`add_query_secret`].
pub(crate) fn render_url(
    spec: &ResolvedSpec,
    context: &minijinja::Value,
    secret: &str,
) -> Result<Url, RenderError> {
    let template = spec
        .env
        .get_template(URL)
        .map_err(|error| RenderError::new(URL, template_problem(&error)))?;
    let text = match spec.auth {
        Auth::Url => template.render(with_secret(context, secret)),
        _ => template.render(context),
    }
    .map_err(|error| RenderError::new(URL, template_problem(&error)))?;
    let url = Url::parse(text.trim())
        .map_err(|error| RenderError::new(URL, format!("renders no valid URL ({error})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RenderError::new(
            URL,
            "renders a URL that is not http or https",
        ));
    }
    Ok(url)
}

/// `auth = query`: the secret as the named query parameter.
pub(crate) fn add_query_secret(spec: &ResolvedSpec, url: &mut Url, secret: &str) {
    if let Auth::Query { name } = &spec.auth {
        url.query_pairs_mut().append_pair(name, secret);
    }
}

/// A URL made with [`MARKER`] for the secret, as it may be shown.
pub(crate) fn shown_url(spec: &ResolvedSpec, marked: &Url) -> String {
    match spec.auth {
        Auth::Url | Auth::Query { .. } => marked.as_str().replace(MARKER, REDACTED),
        _ => marked.to_string(),
    }
}

/// The ways the secret can be spelled in a request, longest first so a
/// longer spelling is not cut by a shorter one it contains.
fn secret_forms(secret: &str) -> Vec<String> {
    if secret.is_empty() {
        return Vec::new();
    }
    let json = serde_json::to_string(secret).unwrap_or_default();
    let mut forms = vec![
        secret.to_string(),
        utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
        form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
        json.trim_matches('"').to_string(),
    ];
    forms.sort_by_key(|form| std::cmp::Reverse(form.len()));
    forms.dedup();
    forms
}

impl PreparedRequest {
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, secret included where the spec places it there.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The headers; the auth header is marked sensitive.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    pub fn body(&self) -> &[u8] {
        &self.body
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers.get(CONTENT_TYPE)?.to_str().ok()
    }

    /// Method, URL, headers and body, moved out to be sent.
    pub(crate) fn into_parts(self) -> (Method, Url, HeaderMap, Vec<u8>) {
        (self.method, self.url, self.headers, self.body)
    }

    /// The request as it would go on the wire (method and URL, headers, a
    /// blank line, the body), with the secret replaced by `[redacted]`
    /// wherever it is: URL path or query, auth header, anywhere else.
    pub fn redacted(&self) -> String {
        let mut text = format!("{} {}\n", self.method, self.shown_url);
        for (name, value) in &self.headers {
            let shown = match &self.auth_header {
                Some((auth, prefix)) if auth == name => match prefix {
                    Some(prefix) => format!("{prefix} {REDACTED}"),
                    None => REDACTED.to_string(),
                },
                _ => String::from_utf8_lossy(value.as_bytes()).into_owned(),
            };
            text.push_str(&format!("{}: {shown}\n", header_case(name)));
        }
        if !self.body.is_empty() {
            text.push('\n');
            text.push_str(&String::from_utf8_lossy(&self.body));
            text.push('\n');
        }
        // Belt and braces: a value that happens to spell the secret.
        for form in &secret_forms(&self.secret) {
            text = text.replace(form.as_str(), REDACTED);
        }
        text
    }
}

/// `content-type` as `Content-Type`, as people write headers.
fn header_case(name: &HeaderName) -> String {
    name.as_str()
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

impl fmt::Display for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for PreparedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedRequest")
            .field("request", &self.redacted())
            .finish()
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
