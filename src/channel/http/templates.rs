//! The templates of a declared request: which variables they see, how
//! values are written into them, and which variables they may use.
//!
//! Variables: `recipient`, `subject` (empty when the campaign has none),
//! `body`, `html` (empty without an HTML template), `idempotency_key`,
//! `settings.NAME` (the account's channel settings), `row.COLUMN` (the CSV
//! row, columns matched as the campaign's templates match them: any case,
//! spaces, `_` and `-` ignored) and `secret`, which only the URL of
//! `auth = { kind = "url" }` may use.
//!
//! Writing: in the JSON body every `{{ value }}` is written as JSON (minijinja's
//! JSON auto-escaping), so a quote or a line break in a value cannot end the
//! string it is in; the `json` filter says the same explicitly and marks the
//! result as written. Elsewhere values are written as they are; the
//! `urlencode` filter percent-encodes everything but `A-Z a-z 0-9 - . _ ~`
//! for a value placed in a URL path. A variable that is missing is an error,
//! never an empty string.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::input::columns::column_key;
use crate::input::suggest::closest;
use crate::send::api::OutgoingMessage;

/// The name of the JSON body's template: the one written with JSON escaping.
pub(crate) const JSON_BODY: &str = "body.json";

/// The variables every template may use, besides `settings` and `row`.
pub(crate) const MESSAGE_VARIABLES: [&str; 5] =
    ["recipient", "subject", "body", "html", "idempotency_key"];

/// minijinja's global functions, which `undeclared_variables` reports too.
const GLOBAL_FUNCTIONS: [&str; 4] = ["range", "dict", "namespace", "debug"];

/// Unreserved characters (RFC 3986) stay; everything else is encoded.
const URL_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The environment every template of a spec is compiled in.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        if name == JSON_BODY {
            AutoEscape::Json
        } else {
            AutoEscape::None
        }
    });
    env.add_filter("json", json_filter);
    env.add_filter("urlencode", urlencode_filter);
    env
}

/// `{{ value | json }}`: the value as a JSON document, marked as written.
fn json_filter(value: &Value) -> Result<Value, minijinja::Error> {
    serde_json::to_string(value)
        .map(Value::from_safe_string)
        .map_err(|error| {
            minijinja::Error::new(
                minijinja::ErrorKind::BadSerialization,
                format!("cannot be written as JSON: {error}"),
            )
        })
}

/// `{{ value | urlencode }}`: safe as one URL path segment or query value.
fn urlencode_filter(value: &Value) -> String {
    let text = if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        value.to_string()
    };
    utf8_percent_encode(&text, URL_COMPONENT).to_string()
}

/// The CSV row as templates see it: `row.first_name`, `row["First Name"]`.
#[derive(Debug)]
struct RowObject(BTreeMap<String, String>);

impl RowObject {
    fn lookup(&self, name: &str) -> Option<&String> {
        self.0.get(name).or_else(|| {
            let wanted = column_key(name);
            self.0
                .iter()
                .find(|(column, _)| column_key(column) == wanted)
                .map(|(_, value)| value)
        })
    }
}

impl Object for RowObject {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.lookup(key.as_str()?)
            .map(|value| Value::from(value.as_str()))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.0.keys().map(|key| Value::from(key.as_str())).collect())
    }
}

/// The variables of one message (everything but `secret`).
/// `settings` is the account's settings as a template value (built once
/// per channel: [`settings_value`]). `row` is left out unless `with_row`:
/// copying the row for every request is waste when no template reads it
/// (see `fixed.rs`, which decides).
pub(crate) fn message_context(
    message: &OutgoingMessage,
    settings: &Value,
    with_row: bool,
) -> Value {
    let payload = &message.payload;
    let context = minijinja::context! {
        recipient => payload.recipients.first().map(String::as_str).unwrap_or(""),
        subject => payload.subject.as_deref().unwrap_or(""),
        body => payload.body.as_str(),
        html => message.html.as_deref().unwrap_or(""),
        idempotency_key => message.idempotency_key.as_str(),
        settings => settings.clone(),
    };
    if with_row {
        minijinja::context! {
            row => Value::from_object(RowObject(message.fields.clone())),
            ..context
        }
    } else {
        context
    }
}

/// The value of the message variable `name` (one of
/// [`MESSAGE_VARIABLES`]) exactly as [`message_context`] gives it.
pub(crate) fn message_variable<'a>(message: &'a OutgoingMessage, name: &str) -> Option<&'a str> {
    let payload = &message.payload;
    Some(match name {
        "recipient" => payload.recipients.first().map(String::as_str).unwrap_or(""),
        "subject" => payload.subject.as_deref().unwrap_or(""),
        "body" => payload.body.as_str(),
        "html" => message.html.as_deref().unwrap_or(""),
        "idempotency_key" => message.idempotency_key.as_str(),
        _ => return None,
    })
}

/// The settings as templates see them: `settings.NAME`.
pub(crate) fn settings_value(settings: &BTreeMap<String, String>) -> Value {
    Value::from(settings.clone())
}

/// The message's variables plus `secret`, for the URL of `kind = "url"`.
pub(crate) fn with_secret(context: &Value, secret: &str) -> Value {
    minijinja::context! { secret => secret, ..context.clone() }
}

/// What a template may refer to.
pub(crate) struct Allowed<'a> {
    pub settings: &'a BTreeSet<String>,
    /// The CSV's columns, when known (at load they are; without a CSV any
    /// `row.X` is accepted and checked when a row is rendered).
    pub row_columns: Option<&'a [String]>,
    /// Whether `secret` may be used (the URL of `kind = "url"` only).
    pub secret: bool,
}

/// Every variable `source` uses that `allowed` does not allow, each as a
/// sentence; empty when all is well. `source` must already parse.
pub(crate) fn variable_problems(
    env: &Environment<'_>,
    source: &str,
    allowed: &Allowed<'_>,
) -> Vec<String> {
    let Ok(template) = env.template_from_str(source) else {
        return Vec::new();
    };
    let mut used: Vec<String> = template.undeclared_variables(true).into_iter().collect();
    used.sort();
    used.iter()
        .filter_map(|name| variable_problem(name, allowed))
        .collect()
}

fn variable_problem(name: &str, allowed: &Allowed<'_>) -> Option<String> {
    let (head, rest) = match name.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (name, None),
    };
    if MESSAGE_VARIABLES.contains(&head) || GLOBAL_FUNCTIONS.contains(&head) {
        return None;
    }
    match (head, rest) {
        ("settings" | "row", None) => None,
        ("settings", Some(rest)) => {
            let setting = rest.split('.').next().unwrap_or(rest);
            if allowed.settings.contains(setting) {
                return None;
            }
            let known: Vec<&str> = allowed.settings.iter().map(String::as_str).collect();
            Some(format!(
                "`settings.{setting}` is not a setting of this channel{}; declare it under `settings.required` or `settings.optional`{}",
                listing("its settings are", &known),
                hint(setting, &known, "settings."),
            ))
        }
        ("row", Some(rest)) => {
            let column = rest.split('.').next().unwrap_or(rest);
            let columns = allowed.row_columns?;
            let wanted = column_key(column);
            if columns.iter().any(|known| column_key(known) == wanted) {
                return None;
            }
            let known: Vec<&str> = columns.iter().map(String::as_str).collect();
            Some(format!(
                "`row.{column}` is not a column of the CSV{}{}",
                listing("its columns are", &known),
                hint(column, &known, "row."),
            ))
        }
        ("secret", _) if allowed.secret => None,
        ("secret", _) => Some(
            "`secret` may only appear in `url`, with auth = { kind = \"url\" }; elsewhere `auth` places it"
                .to_string(),
        ),
        _ => {
            let known = MESSAGE_VARIABLES
                .iter()
                .copied()
                .chain(["settings.NAME", "row.COLUMN"]);
            Some(format!(
                "`{name}` is not a variable; the variables are {}{}",
                known.collect::<Vec<_>>().join(", "),
                hint(head, &MESSAGE_VARIABLES, ""),
            ))
        }
    }
}

fn listing(intro: &str, names: &[&str]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({intro} {})", names.join(", "))
    }
}

fn hint(name: &str, candidates: &[&str], prefix: &str) -> String {
    closest(name, candidates.iter().copied())
        .map(|close| format!("; did you mean `{prefix}{close}`?"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::send::api::MessagePayload;

    fn message(recipient: &str, body: &str) -> OutgoingMessage {
        OutgoingMessage {
            payload: MessagePayload {
                recipients: vec![recipient.to_string()],
                subject: None,
                body: body.to_string(),
            },
            html: None,
            fields: [("First Name".to_string(), "Ada".to_string())].into(),
            idempotency_key: "key-1".into(),
        }
    }

    fn render(name: &str, source: &str, context: &Value) -> String {
        let mut env = environment();
        env.add_template_owned(name.to_string(), source.to_string())
            .unwrap();
        env.get_template(name).unwrap().render(context).unwrap()
    }

    #[test]
    fn json_body_writes_every_value_as_json() {
        let context = message_context(
            &message("a\"b", "line\n\"two\""),
            &settings_value(&BTreeMap::new()),
            true,
        );
        let out = render(
            JSON_BODY,
            r#"{"to": {{ recipient }}, "text": {{ body | json }}, "s": {{ subject }}, "h": {{ html }}}"#,
            &context,
        );
        assert_eq!(
            out,
            r#"{"to": "a\"b", "text": "line\n\"two\"", "s": "", "h": ""}"#
        );
        // Outside the JSON body values are written as they are.
        assert_eq!(render("url", "{{ recipient }}", &context), "a\"b");
    }

    #[test]
    fn rows_match_columns_as_templates_do() {
        let context = message_context(&message("x", "y"), &settings_value(&BTreeMap::new()), true);
        for source in [
            "{{ row.first_name }}",
            "{{ row.FIRSTNAME }}",
            "{{ row['First Name'] }}",
        ] {
            assert_eq!(render("t", source, &context), "Ada", "{source}");
        }
        let mut env = environment();
        env.add_template("t", "{{ row.last_name }}").unwrap();
        assert!(env.get_template("t").unwrap().render(&context).is_err());
    }

    #[test]
    fn urlencode_keeps_only_unreserved_characters() {
        let context = minijinja::context! { v => "a/b c?d#e~f.g_h-i:j" };
        assert_eq!(
            render("t", "{{ v | urlencode }}", &context),
            "a%2Fb%20c%3Fd%23e~f.g_h-i%3Aj"
        );
    }

    #[test]
    fn secret_is_only_in_the_url_context() {
        let base = message_context(&message("x", "y"), &settings_value(&BTreeMap::new()), true);
        assert_eq!(
            render("url", "/bot{{ secret }}", &with_secret(&base, "123:ab")),
            "/bot123:ab"
        );
        let mut env = environment();
        env.add_template("t", "{{ secret }}").unwrap();
        assert!(env.get_template("t").unwrap().render(&base).is_err());
    }

    #[test]
    fn unknown_variables_are_named_with_a_hint() {
        let env = environment();
        let settings: BTreeSet<String> = ["domain".to_string()].into();
        let columns = vec!["First Name".to_string(), "company".to_string()];
        let allowed = Allowed {
            settings: &settings,
            row_columns: Some(&columns),
            secret: false,
        };
        let problems = variable_problems(
            &env,
            "{{ recipent }} {{ settings.domian }} {{ row.compnay }} {{ row.first_name }} {{ secret }} {% for i in range(2) %}{{ i }}{% endfor %}",
            &allowed,
        );
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("`recipent` is not a variable"));
        assert!(problems[0].contains("did you mean `recipient`?"));
        assert!(problems[1].contains("`row.compnay` is not a column"));
        assert!(problems[1].contains("did you mean `row.company`?"));
        assert!(problems[2].contains("`secret` may only appear in `url`"));
        assert!(problems[3].contains("did you mean `settings.domain`?"));
        let allowed = Allowed {
            secret: true,
            row_columns: None,
            ..allowed
        };
        assert!(variable_problems(&env, "{{ secret }}{{ row.anything }}", &allowed).is_empty());
    }
}
