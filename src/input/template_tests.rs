//! Tests of `template.rs`: loading, rendering, the `.html` sibling, errors.

use super::*;

use crate::input::Record;
use crate::input::context::row_context;

fn context(pairs: &[(&str, &str)]) -> Value {
    row_context(&Record::from_pairs(pairs))
}

#[test]
fn renders_placeholders_filters_and_conditionals() {
    let mut set = TemplateSet::new();
    let id = set
        .add(
            "intro.txt",
            "Subject: Hello {{ first_name | title }}\n\nHi {{ first_name }}{% if company %} at {{ company }}{% endif %}, <b>&</b>",
        )
        .unwrap();
    let rendered = set
        .render(id, &context(&[("first_name", "zoë"), ("company", "")]))
        .unwrap();
    assert_eq!(rendered.subject.as_deref(), Some("Hello Zoë"));
    assert_eq!(rendered.body, "Hi zoë, <b>&</b>");
    let rendered = set
        .render(
            id,
            &context(&[("first_name", "Ann"), ("company", "Acme, Inc.")]),
        )
        .unwrap();
    assert_eq!(rendered.body, "Hi Ann at Acme, Inc., <b>&</b>");
}

#[test]
fn an_html_sibling_is_the_html_body_with_values_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("intro.txt");
    fs::write(&text, "Subject: Hi {{ name }}\n\nHello {{ name }}").unwrap();
    fs::write(
        dir.path().join("intro.html"),
        "<p>Hello <b>{{ name }}</b> from {{ city }}</p>",
    )
    .unwrap();
    let mut set = TemplateSet::new();
    let id = set.load_file(&text).unwrap();
    assert_eq!(set.files().len(), 2, "the HTML file is an input too");
    let rendered = set
        .render(id, &context(&[("name", "Ö & Co <x>"), ("city", "Köln")]))
        .unwrap();
    assert_eq!(rendered.body, "Hello Ö & Co <x>", "text stays as written");
    assert_eq!(
        rendered.html.as_deref(),
        Some("<p>Hello <b>Ö &amp; Co &lt;x&gt;</b> from Köln</p>")
    );
    // A variable only the HTML uses is checked like any other.
    let error = set.render(id, &context(&[("name", "Ann")])).unwrap_err();
    assert_eq!(
        error,
        RenderError::MissingVariable {
            template: dir.path().join("intro.html").display().to_string(),
            variable: "city".into()
        }
    );
    // Without a sibling there is no HTML body.
    let plain = dir.path().join("plain.txt");
    fs::write(&plain, "Hi").unwrap();
    let id = set.load_file(&plain).unwrap();
    assert_eq!(set.render(id, &context(&[])).unwrap().html, None);
}

#[test]
fn missing_variable_is_named_unless_defaulted() {
    let mut set = TemplateSet::new();
    let strict = set
        .add("intro.txt", "Hi {{ first_name }} from {{ city }}")
        .unwrap();
    let error = set
        .render(strict, &context(&[("first_name", "Ann"), ("city", " ")]))
        .unwrap_err();
    assert_eq!(
        error,
        RenderError::MissingVariable {
            template: "intro.txt".into(),
            variable: "city".into()
        }
    );
    assert!(error.to_string().contains("default(\"...\")"));
    let lenient = set
        .add("d.txt", "Hi {{ first_name | default(\"there\") }}")
        .unwrap();
    assert_eq!(set.render(lenient, &context(&[])).unwrap().body, "Hi there");
}

#[test]
fn syntax_errors_name_the_template_and_its_line() {
    let error = TemplateSet::new()
        .add("bad.txt", "Hi {{ name")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("template bad.txt has a syntax error"),
        "{error}"
    );
    assert!(error.ends_with("(line 1)"), "{error}");
    // Lines count from the top of the file, the subject line included.
    let error = TemplateSet::new()
        .add("bad.txt", "Subject: Hi\n\nHello\n{% if x %}")
        .unwrap_err()
        .to_string();
    assert!(error.ends_with("(line 4)"), "{error}");
    assert!(!error.contains("#body"), "{error}");
    let error = TemplateSet::new()
        .add("bad.txt", "Subject: Hi {{ x\n\nHello")
        .unwrap_err()
        .to_string();
    assert!(error.ends_with("(line 1)"), "{error}");
    assert!(!error.contains("#subject"), "{error}");
}

#[test]
fn inline_columns_render_as_templates() {
    let set = TemplateSet::new();
    let ctx = context(&[("name", "Ann")]);
    let rendered = set
        .render_inline(
            "the body column",
            Some("Hi {{ name }}"),
            "Dear {{ name }}",
            &ctx,
        )
        .unwrap();
    assert_eq!(rendered.subject.as_deref(), Some("Hi Ann"));
    assert_eq!(rendered.body, "Dear Ann");
    let error = set
        .render_inline("the body column", None, "{{ nope }}", &ctx)
        .unwrap_err();
    assert!(matches!(error, RenderError::MissingVariable { .. }));
}
