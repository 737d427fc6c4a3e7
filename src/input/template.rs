//! Message templates: files with an optional `Subject:` line, rendered with
//! minijinja against one CSV row.
//!
//! Rendering uses `UndefinedBehavior::SemiStrict`: printing a variable the row
//! does not have is an error (a message that says "Hi ," must never be sent),
//! while `{% if company %}` and `{{ x | default("there") }}` still work, so
//! templates can handle optional columns on purpose. A blank cell counts as
//! missing. This module loads and compiles templates; [`super::renderer`]
//! renders them, and [`super::template_file`] reads a file's `Subject:` line.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::renderer::{Handles, Part, RenderError, Renderer, describe, explain, write_value};
use super::template_file::first_line;
// Moved to `template_file.rs`; this path keeps working.
pub use super::template_file::split_subject;

/// A template that could not be loaded or compiled.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read template {path} (looked for {absolute}): {source}; check the path")]
    Read {
        path: PathBuf,
        absolute: String,
        source: std::io::Error,
    },
    #[error("template {name} has a syntax error: {detail}")]
    Syntax { name: String, detail: String },
}

/// Subject and body after rendering for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: Option<String>,
    pub body: String,
    /// The HTML body, when the template file has an `.html` sibling
    /// (`intro.txt` + `intro.html`): e-mail sends both as alternatives.
    pub html: Option<String>,
}

/// A template file's text; the error names the path as given and as found.
fn read_template(path: &Path) -> Result<String, TemplateError> {
    fs::read_to_string(path).map_err(|source| TemplateError::Read {
        path: path.to_path_buf(),
        absolute: std::path::absolute(path)
            .unwrap_or_else(|_| path.to_path_buf())
            .display()
            .to_string(),
        source,
    })
}

/// Index of a loaded template in a [`TemplateSet`].
pub type TemplateId = usize;

struct Loaded {
    name: String,
    /// The names the subject and body are registered under in the environment
    /// (internal: messages name the file and its line instead).
    subject_key: Option<String>,
    body_key: String,
    /// The file's line the body starts on (after a `Subject:` line).
    body_line: usize,
    /// The `.html` sibling's name and key, HTML-escaping every value.
    html: Option<(String, String)>,
    variables: HashSet<String>,
}

/// All templates of a campaign, compiled once.
pub struct TemplateSet {
    env: Environment<'static>,
    loaded: Vec<Loaded>,
    by_key: HashMap<String, TemplateId>,
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.loaded.iter().map(|t| t.name.as_str()).collect();
        f.debug_struct("TemplateSet")
            .field("templates", &names)
            .finish()
    }
}

impl Default for TemplateSet {
    fn default() -> Self {
        Self::new()
    }
}

fn subject_key(id: TemplateId) -> String {
    format!("{id}#subject")
}

/// HTML bodies are registered under keys ending in this, so values
/// written into them are HTML-escaped (`Ö & Co` → `Ö &amp; Co`).
const HTML_KEY_SUFFIX: &str = ".html";

fn html_key(id: TemplateId) -> String {
    format!("html-{id}{HTML_KEY_SUFFIX}")
}

fn body_key(id: TemplateId) -> String {
    format!("{id}#body")
}

impl TemplateSet {
    pub fn new() -> TemplateSet {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        // Values are written as they are, except into an HTML body.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(HTML_KEY_SUFFIX) {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(write_value);
        TemplateSet {
            env,
            loaded: Vec::new(),
            by_key: HashMap::new(),
            files: Vec::new(),
        }
    }

    /// Load a template file once; later loads of the same path or name return the same id.
    pub fn load_file(&mut self, path: &Path) -> Result<TemplateId, TemplateError> {
        let key = path.to_string_lossy().to_string();
        if let Some(id) = self.by_key.get(&key) {
            return Ok(*id);
        }
        let text = read_template(path)?;
        let id = self.add(&path.display().to_string(), &text)?;
        self.by_key.insert(key, id);
        self.files.push(path.to_path_buf());
        let sibling = path.with_extension("html");
        if sibling != path && sibling.is_file() {
            self.add_html(id, &sibling)?;
        }
        Ok(id)
    }

    /// Compile `path` as the HTML body of template `id`.
    fn add_html(&mut self, id: TemplateId, path: &Path) -> Result<(), TemplateError> {
        let name = path.display().to_string();
        let text = read_template(path)?;
        let key = html_key(id);
        let syntax = |error: minijinja::Error| TemplateError::Syntax {
            name: name.clone(),
            detail: describe(&error, 1),
        };
        self.env
            .add_template_owned(key.clone(), text)
            .map_err(syntax)?;
        let template = self.env.get_template(&key).map_err(syntax)?;
        let variables = template.undeclared_variables(false);
        let loaded = &mut self.loaded[id];
        loaded.variables.extend(variables);
        loaded.html = Some((name, key));
        self.files.push(path.to_path_buf());
        Ok(())
    }

    /// Register a name (from the config) for an already loaded template.
    pub fn alias(&mut self, name: &str, id: TemplateId) {
        self.by_key.insert(format!("name:{name}"), id);
    }

    /// A template by config name.
    pub fn by_name(&self, name: &str) -> Option<TemplateId> {
        self.by_key.get(&format!("name:{name}")).copied()
    }

    /// A template already loaded from this path.
    pub fn by_path(&self, path: &Path) -> Option<TemplateId> {
        self.by_key.get(path.to_string_lossy().as_ref()).copied()
    }

    /// Compile a template from text; `name` is used in messages.
    pub fn add(&mut self, name: &str, text: &str) -> Result<TemplateId, TemplateError> {
        let id = self.loaded.len();
        let (subject, body) = split_subject(text);
        let body_line = first_line(text, body);
        let syntax = |line: usize| {
            move |error: minijinja::Error| TemplateError::Syntax {
                name: name.to_string(),
                detail: describe(&error, line),
            }
        };
        let mut variables = HashSet::new();
        let subject_key = subject.map(|_| subject_key(id));
        if let (Some(subject), Some(key)) = (subject, &subject_key) {
            let syntax = syntax(1);
            self.env
                .add_template_owned(key.clone(), subject.to_string())
                .map_err(syntax)?;
            let template = self.env.get_template(key).map_err(syntax)?;
            variables.extend(template.undeclared_variables(false));
        }
        let body_key = body_key(id);
        let syntax = syntax(body_line);
        self.env
            .add_template_owned(body_key.clone(), body.to_string())
            .map_err(syntax)?;
        let template = self.env.get_template(&body_key).map_err(syntax)?;
        variables.extend(template.undeclared_variables(false));
        self.loaded.push(Loaded {
            name: name.to_string(),
            subject_key,
            body_key,
            body_line,
            html: None,
            variables,
        });
        Ok(id)
    }

    /// Every template file loaded, in load order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Whether template `id` has a `Subject:` line.
    pub fn has_subject(&self, id: TemplateId) -> bool {
        self.loaded[id].subject_key.is_some()
    }

    pub fn name(&self, id: TemplateId) -> &str {
        &self.loaded[id].name
    }

    pub fn len(&self) -> usize {
        self.loaded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loaded.is_empty()
    }

    /// Render template `id` for one row (to render many, use [`Self::renderer`]).
    pub fn render(&self, id: TemplateId, context: &Value) -> Result<Rendered, RenderError> {
        self.renderer().render(id, context)
    }

    /// A renderer that looks each template up once, however many rows it renders.
    pub fn renderer(&self) -> Renderer<'_> {
        Renderer::new(self)
    }

    /// The compiled subject and body of template `id`.
    pub(super) fn handles(&self, id: TemplateId) -> Handles<'_> {
        let loaded = &self.loaded[id];
        // Both names were added and compiled in `add`; there is no loader, so
        // the lookups cannot fail.
        let get = |key: &str| {
            self.env
                .get_template(key)
                .expect("added in TemplateSet::add")
        };
        Handles {
            subject: loaded.subject_key.as_deref().map(get),
            body: get(&loaded.body_key),
            html: loaded.html.as_ref().map(|(_, key)| get(key)),
        }
    }

    /// Why template `id` failed for `context`, naming a missing variable if
    /// that is the reason.
    pub(super) fn explain(
        &self,
        id: TemplateId,
        context: &Value,
        error: minijinja::Error,
    ) -> RenderError {
        let loaded = &self.loaded[id];
        if let Some((name, key)) = &loaded.html
            && error.name() == Some(key.as_str())
        {
            let template = self.env.get_template(key).ok();
            let part = Part {
                source: template.as_ref().map(|template| template.source()),
                first_line: 1,
            };
            return explain(name, &loaded.variables, context, error, part);
        }
        let in_subject =
            loaded.subject_key.is_some() && error.name() == loaded.subject_key.as_deref();
        let key = if in_subject {
            loaded.subject_key.as_deref()
        } else {
            Some(loaded.body_key.as_str())
        };
        let template = key.and_then(|key| self.env.get_template(key).ok());
        let part = Part {
            source: template.as_ref().map(|template| template.source()),
            first_line: if in_subject { 1 } else { loaded.body_line },
        };
        explain(&loaded.name, &loaded.variables, context, error, part)
    }

    /// Render `subject`/`body` columns used as templates for their own row.
    pub fn render_inline(
        &self,
        name: &str,
        subject: Option<&str>,
        body: &str,
        context: &Value,
    ) -> Result<Rendered, RenderError> {
        let render_one = |source: &str| -> Result<String, RenderError> {
            let template =
                self.env
                    .template_from_str(source)
                    .map_err(|error| RenderError::Other {
                        template: name.to_string(),
                        detail: describe(&error, 1),
                    })?;
            let variables = template.undeclared_variables(false);
            let part = Part {
                source: Some(source),
                first_line: 1,
            };
            template
                .render(context)
                .map_err(|error| explain(name, &variables, context, error, part))
        };
        Ok(Rendered {
            html: None,
            subject: subject.map(render_one).transpose()?,
            body: render_one(body)?,
        })
    }
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
