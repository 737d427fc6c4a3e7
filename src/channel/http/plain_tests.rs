use super::*;
use crate::channel::http::templates::{JSON_BODY, environment, message_context, settings_value};
use crate::channel::http::test_support::{message, settings, with_html};

/// `source` compiled as the spec does, against minijinja itself.
fn compile(source: &str, pairs: &[(&str, &str)]) -> Option<PlainJson> {
    let settings = settings(pairs);
    let mut env = environment();
    // A template minijinja cannot read is refused when the spec loads.
    env.add_template_owned(JSON_BODY, source.to_string()).ok()?;
    let template = env.get_template(JSON_BODY).ok()?;
    let value = settings_value(&settings);
    PlainJson::compile(source, &settings, |message| {
        template
            .render(message_context(message, &value, false))
            .ok()
    })
}

#[test]
fn every_preset_body_is_plain_and_always_json() {
    for preset in crate::channel::http::presets::PRESETS {
        let spec = preset.spec().unwrap();
        let resolved = spec.with_settings(&spec.sample_settings()).unwrap();
        if resolved.body != crate::channel::http::compile::Body::Json {
            continue;
        }
        let plain = resolved.fixed.json_body.as_ref();
        assert!(
            plain.is_some_and(PlainJson::always_json),
            "{}: {plain:?}",
            preset.name
        );
    }
}

#[test]
fn values_are_json_strings_and_blocks_follow_their_variable() {
    let plain = compile(
        r#"{"to": [{{ recipient }}]{% if subject %}, "s": {{ subject | json }}{% endif %}, "from": {{ settings.from }}{% if settings.name %}, "n": {{ settings.name }}{% endif %}{% if settings.none %}, "x": 1{% endif %}}
"#,
        &[("from", "A \"B\" <a@x.test>"), ("name", "Sam"), ("none", "")],
    )
    .unwrap();
    assert!(plain.always_json());
    let mut with_quotes = message("a\"b\\c\nd");
    assert_eq!(
        plain.render(&with_quotes),
        r#"{"to": ["a\"b\\c\nd"], "s": "Hello", "from": "A \"B\" <a@x.test>", "n": "Sam"}"#
    );
    with_quotes.payload.subject = None;
    assert_eq!(
        plain.render(&with_quotes),
        r#"{"to": ["a\"b\\c\nd"], "from": "A \"B\" <a@x.test>", "n": "Sam"}"#
    );
    // The settings are written in once: text, a block kept, one dropped.
    assert_eq!(
        plain.pieces,
        [
            Piece::Text(r#"{"to": ["#.into()),
            Piece::Value("recipient"),
            Piece::Text("]".into()),
            Piece::If(
                "subject",
                vec![Piece::Text(r#", "s": "#.into()), Piece::Value("subject")]
            ),
            Piece::Text(r#", "from": "A \"B\" <a@x.test>", "n": "Sam"}"#.into()),
        ]
    );
}

#[test]
fn anything_outside_the_grammar_is_left_to_minijinja() {
    for source in [
        r#"{"to": {{ row.email }}}"#,
        r#"{"to": {{ recipient | upper }}}"#,
        r#"{"to": {{- recipient }}}"#,
        r#"{"to": {{ recipient -}}}"#,
        r#"{"to": {{ settings.missing }}}"#,
        r#"{"to": {{ settings['from'] }}}"#,
        r#"{# note #}{"to": {{ recipient }}}"#,
        r#"{% if subject %}{"s": 1}{% else %}{"s": 2}{% endif %}"#,
        r#"{%- if subject %}{}{% endif %}"#,
        r#"{% if subject %}{}"#,
        r#"{}{% endif %}"#,
        r#"{% for x in range(2) %}{% endfor %}{}"#,
        r#"{"to": {{ recipient "#,
        r#"{"to": {{{ recipient }}}"#,
    ] {
        assert!(compile(source, &[("from", "a")]).is_none(), "{source}");
    }
}

#[test]
fn a_body_not_always_json_is_still_plain_but_checked() {
    // Quotes around a value: never JSON once a value is in it.
    let plain = compile(r#"{"to": "{{ recipient }}"}"#, &[]).unwrap();
    assert!(!plain.always_json());
    // JSON only when the subject is there: checked per message.
    let plain = compile(r#"{"s": 1{% if subject %}, "t": 2{% endif %}"#, &[]).unwrap();
    assert!(!plain.always_json());
}

#[test]
fn trailing_newlines_go_as_minijinja_drops_them() {
    for (source, expected) in [
        ("{}\n", "{}"),
        ("{}\r\n", "{}"),
        ("{}\n\n", "{}\n"),
        ("  {}  ", "  {}  "),
    ] {
        let plain = compile(source, &[]).unwrap();
        assert_eq!(
            plain.render(&with_html(message("x"))),
            expected,
            "{source:?}"
        );
    }
}
