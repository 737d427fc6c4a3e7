//! Rendering messages: many with the same few templates, errors that name
//! the missing variable, and how values are printed.
//!
//! A campaign renders every message twice (to check it, then to print or
//! store it), so a template lookup per render (a lock and a hash of its
//! name in the environment) adds up. A [`Renderer`] resolves each template
//! the first time it is used and keeps the handle; it is cheap to make and
//! not `Sync`, so each thread makes its own.

use std::cell::OnceCell;
use std::collections::HashSet;

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Error, ErrorKind, Output, State, Template};

use super::template::{Rendered, TemplateId, TemplateSet};

/// Why one message could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "template {template} uses `{variable}` but this row has no value for it; fill the cell, \
         or give the template a default: {{{{ {variable} | default(\"...\") }}}}"
    )]
    MissingVariable { template: String, variable: String },
    #[error("template {template} failed: {detail}")]
    Other { template: String, detail: String },
}

/// The compiled subject (if the template has one) and body of a template.
pub(super) struct Handles<'a> {
    pub(super) subject: Option<Template<'a, 'a>>,
    pub(super) body: Template<'a, 'a>,
    pub(super) html: Option<Template<'a, 'a>>,
}

/// Renders messages with templates resolved on first use.
pub struct Renderer<'a> {
    set: &'a TemplateSet,
    handles: Vec<OnceCell<Handles<'a>>>,
}

impl<'a> Renderer<'a> {
    pub(super) fn new(set: &'a TemplateSet) -> Renderer<'a> {
        Renderer {
            set,
            handles: (0..set.len()).map(|_| OnceCell::new()).collect(),
        }
    }

    /// Render template `id` for one row.
    pub fn render(&self, id: TemplateId, context: &Value) -> Result<Rendered, RenderError> {
        let handles = self.handles[id].get_or_init(|| self.set.handles(id));
        let explain = |error| self.set.explain(id, context, error);
        let subject = match &handles.subject {
            Some(template) => Some(template.render(context).map_err(explain)?),
            None => None,
        };
        let body = handles.body.render(context).map_err(explain)?;
        let html = match &handles.html {
            Some(template) => Some(template.render(context).map_err(explain)?),
            None => None,
        };
        Ok(Rendered {
            subject,
            body,
            html,
        })
    }

    /// See [`TemplateSet::render_inline`].
    pub fn render_inline(
        &self,
        name: &str,
        subject: Option<&str>,
        body: &str,
        context: &Value,
    ) -> Result<Rendered, RenderError> {
        self.set.render_inline(name, subject, body, context)
    }
}

/// How `{{ value }}` is written: strings straight into the output, the rest
/// as minijinja's default does. The bytes are the same as the default's
/// (which formats strings through `Display`); every message prints a few
/// variables, so this saves a measurable share of each render.
pub(super) fn write_value(out: &mut Output, state: &mut State, value: &Value) -> Result<(), Error> {
    match (state.auto_escape(), value.kind(), value.as_str()) {
        (AutoEscape::None, ValueKind::String, Some(text)) => {
            out.write_str(text).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// The part of a template file that failed: its source, and the file's line
/// it starts on.
#[derive(Clone, Copy)]
pub(super) struct Part<'a> {
    pub(super) source: Option<&'a str>,
    pub(super) first_line: usize,
}

/// A minijinja error as users read it: what went wrong and the line of the
/// template file (minijinja's own text names the internal template key).
pub(super) fn describe(error: &minijinja::Error, first_line: usize) -> String {
    let mut text = match (error.kind(), error.detail()) {
        (ErrorKind::SyntaxError, Some(detail)) => detail.to_string(),
        (kind, Some(detail)) => format!("{kind}: {detail}"),
        (kind, None) => kind.to_string(),
    };
    if let Some(line) = error.line() {
        text.push_str(&format!(" (line {})", line + first_line - 1));
    }
    text
}

pub(super) fn explain(
    template: &str,
    variables: &HashSet<String>,
    context: &Value,
    error: minijinja::Error,
    part: Part<'_>,
) -> RenderError {
    if error.kind() == ErrorKind::UndefinedError {
        let mut missing: Vec<&String> = variables
            .iter()
            .filter(|name| {
                context
                    .get_attr(name)
                    .is_ok_and(|value| value.is_undefined())
            })
            .collect();
        missing.sort();
        // The failing expression names the variable that was printed; others
        // may be undefined on purpose (`{% if company %}`).
        let failing = error
            .range()
            .and_then(|range| part.source?.get(range))
            .unwrap_or("");
        let printed = failing
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .find_map(|word| missing.iter().find(|name| name.as_str() == word));
        if let Some(variable) = printed.or(missing.first()) {
            return RenderError::MissingVariable {
                template: template.to_string(),
                variable: variable.to_string(),
            };
        }
    }
    RenderError::Other {
        template: template.to_string(),
        detail: describe(&error, part.first_line),
    }
}

#[cfg(test)]
mod tests {
    use minijinja::{Environment, UndefinedBehavior};

    use super::*;
    use crate::input::Record;
    use crate::input::context::row_context;

    fn context(pairs: &[(&str, &str)]) -> Value {
        row_context(&Record::from_pairs(pairs))
    }

    #[test]
    fn values_print_as_minijinja_prints_them() {
        let source = "{{ s }}|{{ n }}|{{ f }}|{{ b }}|{{ nothing }}|{{ l }}|{{ m }}|{{ s | safe }}|\
            {% autoescape true %}{{ h }}{% endautoescape %}|{{ h }}|{{ s | upper }}|{{ b ~ n }}";
        let mut ours = TemplateSet::new();
        let id = ours.add("t.txt", source).unwrap();
        let mut plain = Environment::new();
        plain.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        plain.set_auto_escape_callback(|_| AutoEscape::None);
        let context = minijinja::context! {
            s => "Zoë", n => 42, f => 1.5, b => true, nothing => (), l => vec![1, 2],
            m => minijinja::context! { k => "v" }, h => "<a&b>"
        };
        let expected = plain.render_str(source, &context).unwrap();
        assert_eq!(ours.render(id, &context).unwrap().body, expected);
        assert!(expected.contains("&lt;a&amp;b&gt;|<a&b>"), "{expected}");
    }

    #[test]
    fn a_failing_filter_names_the_file_line_not_an_internal_name() {
        let mut set = TemplateSet::new();
        let id = set
            .add("t.txt", "Subject: Hi\n\nHello\n{{ name | int }}")
            .unwrap();
        let error = set.render(id, &context(&[("name", "Ann")])).unwrap_err();
        let text = error.to_string();
        assert!(text.starts_with("template t.txt failed: "), "{text}");
        assert!(text.ends_with("(line 4)"), "{text}");
        assert!(!text.contains('#'), "{text}");
    }

    #[test]
    fn the_missing_variable_is_the_one_printed_not_one_only_tested() {
        let mut set = TemplateSet::new();
        // `company` is blank (fine inside `if`); `frist_name` is printed.
        let id = set
            .add(
                "t.txt",
                "{% if company %}{{ company }}{% endif %}Hi {{ frist_name }}",
            )
            .unwrap();
        let error = set
            .render(id, &context(&[("first_name", "Ann"), ("company", "")]))
            .unwrap_err();
        assert_eq!(
            error,
            RenderError::MissingVariable {
                template: "t.txt".into(),
                variable: "frist_name".into()
            }
        );
    }

    #[test]
    fn variables_match_columns_in_any_case() {
        let mut set = TemplateSet::new();
        let id = set
            .add("t.txt", "Subject: {{ First_Name }}\n\nHi {{ FIRST_NAME }}")
            .unwrap();
        let rendered = set.render(id, &context(&[("first_name", "Ann")])).unwrap();
        assert_eq!(rendered.subject.as_deref(), Some("Ann"));
        assert_eq!(rendered.body, "Hi Ann");
    }
}
