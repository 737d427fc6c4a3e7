//! JSON bodies written without minijinja's machine, when the template is
//! only text, `{{ NAME }}` (or `{{ NAME | json }}`) and
//! `{% if NAME %}…{% endif %}` over the message's variables and the
//! account's settings: every preset's JSON body is.
//!
//! Why: issue 12 asks a preset to cost nothing measurable over today's fixed
//! payload. Rendered per message by minijinja, the body was most of what
//! the `linkedin` preset added to a send (docs/performance.md, section 5).
//! Here the settings are written in once per account, and a message costs
//! its variables' JSON escaping and a copy of the text between them.
//!
//! Never a second meaning: a template outside that grammar (any other tag
//! or filter, whitespace control, comments, `row`, a setting the account
//! lacks) is rendered by minijinja as before, and so is one whose plain
//! rendering differs from minijinja's for any choice of which variables are
//! empty ([`PlainJson::compile`] renders both ways to check). A body whose
//! every such choice is JSON needs no per-message JSON check: its values are
//! always JSON strings, so their content cannot change that.

use std::collections::BTreeMap;

use super::templates::MESSAGE_VARIABLES;
use crate::send::api::OutgoingMessage;

/// A JSON body template in the plain grammar, the settings written in.
#[derive(Debug)]
pub(crate) struct PlainJson {
    pieces: Vec<Piece>,
    /// Every rendering is JSON (see the module docs).
    always_json: bool,
}

#[derive(Debug, PartialEq)]
enum Piece {
    Text(Box<str>),
    /// A message variable, written as a JSON string.
    Value(&'static str),
    /// `{% if NAME %}`: the pieces, when the variable is not empty.
    If(&'static str, Vec<Piece>),
}

impl PlainJson {
    /// `source` in the plain grammar with `settings` written in, if it is
    /// and renders as minijinja does (`minijinja_render` renders `source`
    /// for a message); `None` otherwise.
    pub(crate) fn compile(
        source: &str,
        settings: &BTreeMap<String, String>,
        minijinja_render: impl Fn(&OutgoingMessage) -> Option<String>,
    ) -> Option<PlainJson> {
        let pieces = parse(source, settings)?;
        let mut plain = PlainJson {
            pieces,
            always_json: false,
        };
        let mut always_json = true;
        for message in samples() {
            let text = plain.render(&message);
            if minijinja_render(&message)? != text {
                return None;
            }
            always_json &= serde_json::from_str::<serde::de::IgnoredAny>(text.trim()).is_ok();
        }
        plain.always_json = always_json;
        Some(plain)
    }

    /// Whether every rendering is JSON, so none needs checking.
    pub(crate) fn always_json(&self) -> bool {
        self.always_json
    }

    /// The body for `message`, as minijinja would render it.
    pub(crate) fn render(&self, message: &OutgoingMessage) -> String {
        let mut out = Vec::with_capacity(256 + message.payload.body.len());
        write(&self.pieces, message, &mut out);
        // Text and serde_json's output only: always UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }
}

fn write(pieces: &[Piece], message: &OutgoingMessage, out: &mut Vec<u8>) {
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.extend_from_slice(text.as_bytes()),
            Piece::Value(name) => write_json_string(out, variable(message, name)),
            Piece::If(name, inner) => {
                if !variable(message, name).is_empty() {
                    write(inner, message, out);
                }
            }
        }
    }
}

fn variable<'a>(message: &'a OutgoingMessage, name: &str) -> &'a str {
    super::templates::message_variable(message, name).unwrap_or_default()
}

/// A string as JSON: minijinja's JSON auto-escaping and serde_json write
/// the same bytes (`"`, `\` and control characters escaped, nothing else).
fn write_json_string(out: &mut Vec<u8>, value: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// An open `{% if %}` block.
enum Block {
    /// The template itself.
    Top,
    /// Over a message variable: decided per message.
    Message(&'static str),
    /// Over a setting, the same for every message: decided now.
    Setting { kept: bool },
}

/// The template as pieces, or `None` if anything is outside the grammar.
fn parse(source: &str, settings: &BTreeMap<String, String>) -> Option<Vec<Piece>> {
    // minijinja drops one trailing newline (`\n`, then `\r`) of a source.
    let source = source.strip_suffix('\n').unwrap_or(source);
    let source = source.strip_suffix('\r').unwrap_or(source);
    let mut open: Vec<(Block, Vec<Piece>)> = vec![(Block::Top, Vec::new())];
    let mut rest = source;
    while !rest.is_empty() {
        let tag = ["{{", "{%", "{#"]
            .iter()
            .filter_map(|start| rest.find(start))
            .min()
            .unwrap_or(rest.len());
        if tag > 0 {
            push_text(&mut open.last_mut()?.1, &rest[..tag]);
            rest = &rest[tag..];
            continue;
        }
        let (end, is_value) = match &rest[..2] {
            "{{" => ("}}", true),
            "{%" => ("%}", false),
            _ => return None,
        };
        let close = rest.find(end)?;
        let inner = &rest[2..close];
        rest = &rest[close + 2..];
        if is_value {
            let (name, filter) = match inner.split_once('|') {
                Some((name, filter)) => (name, Some(filter.trim())),
                None => (inner, None),
            };
            if !matches!(filter, None | Some("json")) {
                return None;
            }
            let pieces = &mut open.last_mut()?.1;
            match lookup(name.trim(), settings)? {
                Lookup::Message(name) => pieces.push(Piece::Value(name)),
                Lookup::Setting(value) => push_text(pieces, &serde_json::to_string(value).ok()?),
            }
            continue;
        }
        match inner.split_whitespace().collect::<Vec<_>>()[..] {
            ["if", name] => {
                let block = match lookup(name, settings)? {
                    Lookup::Message(name) => Block::Message(name),
                    Lookup::Setting(value) => Block::Setting {
                        kept: !value.is_empty(),
                    },
                };
                open.push((block, Vec::new()));
            }
            ["endif"] => {
                let (block, pieces) = open.pop()?;
                let parent = &mut open.last_mut()?.1;
                match block {
                    Block::Top => return None,
                    Block::Message(name) => parent.push(Piece::If(name, pieces)),
                    Block::Setting { kept: true } => {
                        for piece in pieces {
                            match piece {
                                Piece::Text(text) => push_text(parent, &text),
                                piece => parent.push(piece),
                            }
                        }
                    }
                    Block::Setting { kept: false } => {}
                }
            }
            _ => return None,
        }
    }
    match open.pop()? {
        (Block::Top, pieces) if open.is_empty() => Some(pieces),
        _ => None,
    }
}

enum Lookup<'a> {
    Message(&'static str),
    Setting(&'a str),
}

/// A message variable or `settings.NAME` the account has, written exactly
/// so (no spaces inside, no brackets).
fn lookup<'a>(name: &str, settings: &'a BTreeMap<String, String>) -> Option<Lookup<'a>> {
    if let Some(setting) = name.strip_prefix("settings.") {
        let plain = setting
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
        return plain
            .then(|| settings.get(setting))
            .flatten()
            .map(|value| Lookup::Setting(value));
    }
    MESSAGE_VARIABLES
        .into_iter()
        .find(|variable| *variable == name)
        .map(Lookup::Message)
}

/// Adjacent texts are joined: one copy per stretch of text.
fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        *last = format!("{last}{text}").into_boxed_str();
    } else if !text.is_empty() {
        pieces.push(Piece::Text(text.into()));
    }
}

/// Messages covering every choice of which message variables are empty,
/// the others holding characters JSON escapes.
fn samples() -> impl Iterator<Item = OutgoingMessage> {
    let filled = "a \"quoted\" \\ line\nand\ttab, <é> \u{1}";
    (0..1u32 << MESSAGE_VARIABLES.len()).map(move |mask| {
        let value = |bit: u32| {
            if mask & (1 << bit) == 0 {
                String::new()
            } else {
                filled.to_string()
            }
        };
        OutgoingMessage {
            payload: crate::send::api::MessagePayload {
                recipients: vec![value(0)],
                subject: Some(value(1)),
                body: value(2),
            },
            html: Some(value(3)),
            fields: BTreeMap::new(),
            idempotency_key: value(4),
        }
    })
}

#[cfg(test)]
#[path = "plain_tests.rs"]
mod tests;
