//! From a declared [`HttpSpec`] and an account's settings to a
//! [`ResolvedSpec`]: settings checked and merged with their defaults,
//! templates parsed, variables checked, the response rules read. Everything
//! that can be wrong with a declaration is found here or in `validate.rs`,
//! before a request is sent, and named by its key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use minijinja::Environment;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};

use super::error::{ChannelError, template_problem};
use super::fixed::Fixed;
use super::rules::{ResponseRules, read_response};
use super::spec::{AuthSpec, HttpSpec, SpecOrigin};
use super::templates::{Allowed, JSON_BODY, environment, settings_value, variable_problems};

/// A spec with its settings, ready to prepare requests and classify
/// responses. Holds no secret: that is given per request.
pub struct ResolvedSpec {
    pub(crate) origin: SpecOrigin,
    pub(crate) method: Method,
    /// Every template, by the path that names it in errors (`url`,
    /// `headers.Idempotency-Key`, `body.json`, `body.form.to`, `auth.user`).
    pub(crate) env: Environment<'static>,
    pub(crate) templates: Vec<String>,
    pub(crate) headers: Vec<(HeaderName, String)>,
    pub(crate) body: Body,
    pub(crate) auth: Auth,
    pub(crate) response: ResponseRules,
    pub(crate) settings: BTreeMap<String, String>,
    /// `settings` as templates see them, built once.
    pub(crate) settings_value: minijinja::Value,
    /// See [`HttpSpec::idempotent`].
    pub(crate) idempotent: bool,
    /// What every request of this account shares, rendered once.
    pub(crate) fixed: Fixed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    None,
    Json,
    /// The form's field names; their templates are `body.form.NAME`.
    Form(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Bearer {
        optional: bool,
    },
    /// The user is the template `auth.user`.
    Basic,
    Header {
        name: HeaderName,
        prefix: Option<String>,
    },
    Query {
        name: String,
    },
    Url,
}

pub(crate) const URL: &str = "url";
pub(crate) const AUTH_USER: &str = "auth.user";

impl fmt::Debug for ResolvedSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResolvedSpec")
            .field("origin", &self.origin)
            .field("method", &self.method)
            .field("templates", &self.templates)
            .field("body", &self.body)
            .field("auth", &self.auth)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl HttpSpec {
    /// This spec with an account's channel settings: a required setting
    /// missing, a setting the spec does not declare, a template that does
    /// not parse or uses an unknown variable, a malformed pointer, unit or
    /// class is an error naming the key to fix.
    pub fn with_settings(
        &self,
        settings: &BTreeMap<String, String>,
    ) -> Result<ResolvedSpec, ChannelError> {
        let origin = &self.origin;
        let settings = self.merge_settings(settings)?;
        let method = Method::from_bytes(self.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| {
                origin.error("method", format!("`{}` is not an HTTP method", self.method))
            })?;

        let mut env = environment();
        let mut templates = Vec::new();
        let mut add = |path: String, source: &str| -> Result<(), ChannelError> {
            env.add_template_owned(path.clone(), source.to_string())
                .map_err(|error| origin.error(&path, template_problem(&error)))?;
            templates.push(path);
            Ok(())
        };
        add(URL.to_string(), &self.url)?;

        let auth = self.read_auth()?;
        if let AuthSpec::Basic { user } = &self.auth {
            add(AUTH_USER.to_string(), user)?;
        }
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            let path = format!("headers.{name}");
            let header = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| origin.error(&path, format!("`{name}` is not a header name")))?;
            if auth_header(&auth).as_ref() == Some(&header) {
                return Err(origin.error(
                    &path,
                    "this header is the one `auth` sets; leave it to `auth`",
                ));
            }
            add(path.clone(), value)?;
            headers.push((header, path));
        }
        let body = match &self.body {
            None => Body::None,
            Some(body) => match (&body.json, &body.form) {
                (Some(json), None) => {
                    add(JSON_BODY.to_string(), json)?;
                    Body::Json
                }
                (None, Some(form)) => {
                    for (field, value) in form {
                        add(format!("body.form.{field}"), value)?;
                    }
                    Body::Form(form.keys().cloned().collect())
                }
                _ => return Err(origin.error("body", "give exactly one of `json` and `form`")),
            },
        };
        let response = read_response(&self.response, origin)?;
        let mut resolved = ResolvedSpec {
            idempotent: self.idempotent,
            origin: origin.clone(),
            method,
            env,
            templates,
            headers,
            body,
            auth,
            response,
            settings_value: settings_value(&settings),
            settings,
            fixed: Fixed::nothing(),
        };
        resolved.check_variables(None)?;
        resolved.fixed = Fixed::of(&resolved);
        Ok(resolved)
    }

    fn read_auth(&self) -> Result<Auth, ChannelError> {
        let header_name = |name: &str| {
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                self.origin
                    .error("auth.name", format!("`{name}` is not a header name"))
            })
        };
        Ok(match &self.auth {
            AuthSpec::None => Auth::None,
            AuthSpec::Bearer { optional } => Auth::Bearer {
                optional: *optional,
            },
            AuthSpec::Basic { .. } => Auth::Basic,
            AuthSpec::Header { name, prefix } => Auth::Header {
                name: header_name(name)?,
                prefix: prefix
                    .as_deref()
                    .map(str::trim)
                    .filter(|prefix| !prefix.is_empty())
                    .map(str::to_string),
            },
            AuthSpec::Query { name } if name.trim().is_empty() => {
                return Err(self.origin.error("auth.name", "name the query parameter"));
            }
            AuthSpec::Query { name } => Auth::Query { name: name.clone() },
            AuthSpec::Url => Auth::Url,
        })
    }
}

/// The header `auth` sets, which the spec's headers may not also set.
fn auth_header(auth: &Auth) -> Option<HeaderName> {
    match auth {
        Auth::Bearer { .. } | Auth::Basic => Some(AUTHORIZATION),
        Auth::Header { name, .. } => Some(name.clone()),
        Auth::None | Auth::Query { .. } | Auth::Url => None,
    }
}

impl ResolvedSpec {
    /// Every template's variables checked; with `row_columns`, `row.X` too.
    pub(crate) fn check_variables(
        &self,
        row_columns: Option<&[String]>,
    ) -> Result<(), ChannelError> {
        let declared: BTreeSet<String> = self.settings.keys().cloned().collect();
        let mut url_places_secret = false;
        for path in &self.templates {
            let Ok(template) = self.env.get_template(path) else {
                continue;
            };
            let allowed = Allowed {
                settings: &declared,
                row_columns,
                secret: path == URL && self.auth == Auth::Url,
            };
            if let Some(problem) = variable_problems(&self.env, template.source(), &allowed)
                .into_iter()
                .next()
            {
                return Err(self.origin.error(path, problem));
            }
            if path == URL {
                url_places_secret = template.undeclared_variables(false).contains("secret");
            }
        }
        if self.auth == Auth::Url && !url_places_secret {
            return Err(self.origin.error(
                "auth",
                "kind = \"url\" says the URL carries the secret, but `url` has no {{ secret }}",
            ));
        }
        Ok(())
    }

    /// The content type the body implies, unless a header sets one.
    pub(crate) fn content_type(&self) -> Option<&'static str> {
        if self.headers.iter().any(|(name, _)| name == CONTENT_TYPE) {
            return None;
        }
        match self.body {
            Body::None => None,
            Body::Json => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
        }
    }

    /// The settings in force (defaults overlaid with the account's).
    pub fn settings(&self) -> &BTreeMap<String, String> {
        &self.settings
    }

    /// The preset's name, if this is one.
    pub fn preset_name(&self) -> Option<&str> {
        match &self.origin {
            SpecOrigin::Preset { name, .. } => Some(name),
            SpecOrigin::Config { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channel::http::test_support::settings;

    fn spec(text: &str) -> HttpSpec {
        HttpSpec::from_toml(text).unwrap()
    }

    fn problem(spec: &HttpSpec, given: &[(&str, &str)]) -> String {
        spec.with_settings(&settings(given))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_spec_resolves_with_its_settings() {
        let resolved = spec(
            r#"
            method = "put"
            url = "{{ settings.base_url }}/v3/{{ settings.domain }}/messages"
            auth = { kind = "basic", user = "api" }
            body = { form = { to = "{{ recipient }}" } }
            [settings.optional]
            base_url = "https://api.mailgun.net"
            domain = "mg.example.com"
            "#,
        )
        .with_settings(&settings(&[("base_url", "http://127.0.0.1:9/")]))
        .unwrap();
        assert_eq!(resolved.method, Method::PUT);
        assert_eq!(
            resolved.settings(),
            &settings(&[
                ("base_url", "http://127.0.0.1:9"),
                ("domain", "mg.example.com")
            ])
        );
        assert_eq!(resolved.auth, Auth::Basic);
        assert_eq!(resolved.body, Body::Form(vec!["to".into()]));
        assert_eq!(resolved.templates, ["url", "auth.user", "body.form.to"]);
        assert_eq!(
            resolved.content_type(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(resolved.preset_name(), None);
        let debug = format!("{resolved:?}");
        assert!(debug.contains("method: PUT"), "{debug}");
    }

    #[test]
    fn declaration_mistakes_name_their_key() {
        let base = "url = \"https://x.test\"\nauth = { kind = \"none\" }\n";
        let cases = [
            ("method = \"GE T\"", "`channel.method`"),
            (
                "headers = { \"Bad Header\" = \"x\" }",
                "`channel.headers.Bad Header`",
            ),
            ("body = { json = \"{{ recipient \" }", "`channel.body.json`"),
            ("body = { json = \"{}\", form = {} }", "`channel.body`"),
            (
                "body = { json = \"{{ recipent }}\" }",
                "`channel.body.json`",
            ),
            ("headers = { X = \"{{ secret }}\" }", "`channel.headers.X`"),
            (
                "headers = { X = \"{{ settings.nope }}\" }",
                "`channel.headers.X`",
            ),
        ];
        for (extra, key) in cases {
            let problem = problem(&spec(&format!("{base}{extra}")), &[]);
            assert!(problem.starts_with(key), "{extra}: {problem}");
        }
        let problem = problem(
            &spec(
                "url = \"https://x.test\"\nauth = { kind = \"bearer\" }\nheaders = { authorization = \"x\" }",
            ),
            &[],
        );
        assert!(problem.contains("leave it to `auth`"), "{problem}");
    }

    #[test]
    fn the_secret_goes_only_where_auth_places_it() {
        let url_auth =
            spec("url = \"https://x.test/bot{{ secret }}/send\"\nauth = { kind = \"url\" }");
        assert!(url_auth.with_settings(&BTreeMap::new()).is_ok());
        let missing = spec("url = \"https://x.test/send\"\nauth = { kind = \"url\" }");
        assert!(problem(&missing, &[]).starts_with("`channel.auth`"));
        let not_url = spec("url = \"https://x.test/{{ secret }}\"\nauth = { kind = \"bearer\" }");
        assert!(problem(&not_url, &[]).contains("`secret` may only appear in `url`"));
    }
}
