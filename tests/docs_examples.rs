//! docs/channels.md cannot rot: every `outreach.toml` example in it is run.
//!
//! The doc marks what is executable with HTML comments, which Markdown
//! does not show:
//!
//! - `<!-- file: intro.txt -->` before a fenced block: a file every example
//!   uses (the template), written into each example's folder.
//! - `<!-- example: NAME; channels: TEXT -->` before a fenced `toml` block:
//!   a complete outreach.toml. The first fenced `csv` block after it is its
//!   `recipients.csv`. `TEXT` is what `outreach plan` must print after
//!   `channels`; without `; channels:` the plan must show no channel line
//!   (the default `api` channel).
//!
//! Each example is run in a folder of its own with the real binary: `plan`
//! must succeed and show the channels, `send --dry-run --show-request` must
//! show the first request with the secret redacted. And every channel type
//! (`api`, `smtp`, `http` and each preset) must have an example.

mod common;

use std::collections::BTreeSet;

use common::Workdir;

/// The doc, read at compile time so that editing it rebuilds this test.
const CHANNELS_DOC: &str = include_str!("../docs/channels.md");

/// A value no example writes, so finding it in the output means a leak.
const SECRET: &str = "s3cret-docs-example-token";

/// One executable example of the doc.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Example {
    name: String,
    /// What `plan` prints after `channels`; `None`: no channel line.
    channels: Option<String>,
    config: String,
    csv: String,
}

/// Everything the doc marks as executable.
#[derive(Debug, Default)]
struct DocFiles {
    /// Files every example's folder gets (name, contents).
    shared: Vec<(String, String)>,
    examples: Vec<Example>,
}

/// A fenced block: its info string (`toml`) and its text.
struct Fence {
    info: String,
    text: String,
}

/// Reads the fenced block that starts at or after `lines[*at]`, leaving
/// `*at` after its closing fence.
fn next_fence(lines: &[&str], at: &mut usize, wanted: &str) -> Result<Fence, String> {
    let start = lines[*at..]
        .iter()
        .position(|line| line.starts_with("```"))
        .map(|offset| *at + offset)
        .ok_or_else(|| format!("no ```{wanted} block after line {}", *at + 1))?;
    let info = lines[start].trim_start_matches('`').trim().to_string();
    let end = lines[start + 1..]
        .iter()
        .position(|line| line.starts_with("```"))
        .map(|offset| start + 1 + offset)
        .ok_or_else(|| format!("the block at line {} is never closed", start + 1))?;
    *at = end + 1;
    let mut text = lines[start + 1..end].join("\n");
    text.push('\n');
    Ok(Fence { info, text })
}

/// The first ```csv block from `lines[*at]` on, before the next example.
fn next_csv(lines: &[&str], at: &mut usize) -> Result<Fence, String> {
    while *at < lines.len() {
        let line = lines[*at];
        if marker(line, "example").is_some() {
            break;
        }
        if line.starts_with("```") {
            let fence = next_fence(lines, at, "csv")?;
            if fence.info == "csv" {
                return Ok(fence);
            }
        } else {
            *at += 1;
        }
    }
    Err("no ```csv block (its recipients.csv) before the next example".to_string())
}

/// The marker's contents, if `line` is one of `<!-- KIND: ... -->`.
fn marker<'a>(line: &'a str, kind: &str) -> Option<&'a str> {
    line.trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim()
        .strip_prefix(kind)?
        .strip_prefix(':')
        .map(str::trim)
}

/// Every `file` and `example` marker of `doc`, with its blocks.
fn parse_doc(doc: &str) -> Result<DocFiles, String> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = DocFiles::default();
    let mut at = 0;
    while at < lines.len() {
        let line = lines[at];
        at += 1;
        if let Some(name) = marker(line, "file") {
            let fence = next_fence(&lines, &mut at, "text")?;
            found.shared.push((name.to_string(), fence.text));
        } else if let Some(spec) = marker(line, "example") {
            let (name, channels) = match spec.split_once(';') {
                Some((name, rest)) => {
                    let text = rest.trim().strip_prefix("channels:").ok_or_else(|| {
                        format!("example `{name}`: after `;` write `channels: TEXT`")
                    })?;
                    (name.trim(), Some(text.trim().to_string()))
                }
                None => (spec, None),
            };
            let config = next_fence(&lines, &mut at, "toml")?;
            if config.info != "toml" {
                return Err(format!(
                    "example `{name}`: the block after its marker is ```{}, not ```toml",
                    config.info
                ));
            }
            let csv = next_csv(&lines, &mut at)
                .map_err(|problem| format!("example `{name}`: {problem}"))?;
            found.examples.push(Example {
                name: name.to_string(),
                channels,
                config: config.text,
                csv: csv.text,
            });
        }
    }
    Ok(found)
}

fn doc_files() -> DocFiles {
    parse_doc(CHANNELS_DOC).unwrap_or_else(|problem| panic!("docs/channels.md: {problem}"))
}

/// A folder holding `example` as a campaign: outreach.toml, recipients.csv
/// and the shared files.
fn folder(doc: &DocFiles, example: &Example) -> Workdir {
    let work = Workdir::new();
    for (name, text) in &doc.shared {
        work.write(name, text);
    }
    work.write("outreach.toml", &example.config)
        .write("recipients.csv", &example.csv);
    work
}

/// The channel type of an example's `[channel]` (`api` without one), and
/// every environment variable its accounts read their secret from.
fn channel_type_and_secrets(example: &Example) -> (String, Vec<String>) {
    let table: toml::Table = example
        .config
        .parse()
        .unwrap_or_else(|error| panic!("example `{}` is not TOML: {error}", example.name));
    let kind = table
        .get("channel")
        .and_then(|channel| channel.get("type"))
        .and_then(toml::Value::as_str)
        .unwrap_or("api")
        .to_string();
    let mut variables = vec!["OUTREACH_TOKEN".to_string()];
    let accounts = table.get("accounts").and_then(toml::Value::as_array);
    for account in accounts.into_iter().flatten() {
        if let Some(name) = account.get("token_env").and_then(toml::Value::as_str) {
            variables.push(name.to_string());
        }
    }
    (kind, variables)
}

#[test]
fn every_example_plans_and_shows_its_channels() {
    let doc = doc_files();
    let mut problems = Vec::new();
    for example in &doc.examples {
        let work = folder(&doc, example);
        let run = work.cmd(&["plan", "recipients.csv"]).run_blocking();
        if run.code != Some(0) {
            problems.push(format!("example `{}`: plan failed\n{run}", example.name));
            continue;
        }
        let shown = run
            .stdout
            .lines()
            .find_map(|line| line.strip_prefix("  channels    "));
        if shown != example.channels.as_deref() {
            problems.push(format!(
                "example `{}`: plan shows channels {shown:?}, the doc says {:?}\n{run}",
                example.name, example.channels
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_example_previews_its_first_request_with_the_secret_redacted() {
    let doc = doc_files();
    let mut problems = Vec::new();
    for example in &doc.examples {
        let work = folder(&doc, example);
        let (_, variables) = channel_type_and_secrets(example);
        let mut command = work.cmd(&["send", "recipients.csv", "--dry-run", "--show-request"]);
        for variable in &variables {
            command = command.env(variable, SECRET);
        }
        let run = command.run_blocking();
        let problem = if run.code != Some(0) {
            Some("the dry run failed")
        } else if !run.stdout.contains("\nMessage 1 of ") {
            Some("no request is shown")
        } else if !run.stdout.contains("[redacted]") {
            Some("the request does not show where the secret goes")
        } else if run.stdout.contains(SECRET) || run.stderr.contains(SECRET) {
            Some("the secret is printed")
        } else if work.path().join("recipients.outreach.db").exists() {
            Some("a dry run wrote a journal")
        } else {
            None
        };
        if let Some(problem) = problem {
            problems.push(format!("example `{}`: {problem}\n{run}", example.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn every_channel_type_has_an_example_and_names_are_unique() {
    let doc = doc_files();
    assert_eq!(
        doc.shared
            .iter()
            .map(|(name, _)| name.as_str())
            .collect::<Vec<_>>(),
        ["intro.txt"],
        "the examples' template"
    );
    let mut names = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for example in &doc.examples {
        assert!(
            names.insert(example.name.as_str()),
            "two examples are named `{}`",
            example.name
        );
        kinds.insert(channel_type_and_secrets(example).0);
    }
    let expected: BTreeSet<String> = ["api", "smtp", "http"]
        .into_iter()
        .chain(outreach::channel::http::presets::names())
        .map(str::to_string)
        .collect();
    let missing: Vec<&String> = expected.difference(&kinds).collect();
    assert!(
        missing.is_empty(),
        "docs/channels.md has no example for {missing:?}"
    );
}

#[test]
fn the_markers_are_read_as_documented() {
    let doc = "\
<!-- file: intro.txt -->
```text
Hi {{ first_name }}
```

<!-- example: slack; channels: default: slack -->
```toml
[channel]
type = \"slack\"
```

Some words, then a block that is not the CSV:

```sh
outreach plan recipients.csv
```

```csv
recipient,first_name
C1,Ada
```

<!-- example: api -->
```toml
rate = \"20/h\"
```

```csv
recipient
r1
```
";
    let found = parse_doc(doc).expect("parses");
    assert_eq!(
        found.shared,
        [("intro.txt".to_string(), "Hi {{ first_name }}\n".to_string())]
    );
    assert_eq!(
        found.examples,
        [
            Example {
                name: "slack".into(),
                channels: Some("default: slack".into()),
                config: "[channel]\ntype = \"slack\"\n".into(),
                csv: "recipient,first_name\nC1,Ada\n".into(),
            },
            Example {
                name: "api".into(),
                channels: None,
                config: "rate = \"20/h\"\n".into(),
                csv: "recipient\nr1\n".into(),
            },
        ]
    );
}

#[test]
fn a_marker_without_its_blocks_is_an_error() {
    let no_csv = "<!-- example: x -->\n```toml\nrate = \"1/s\"\n```\n";
    let error = parse_doc(no_csv).unwrap_err();
    assert!(
        error.contains("example `x`") && error.contains("csv"),
        "{error}"
    );
    let not_toml = "<!-- example: y -->\n```sh\nls\n```\n```csv\nrecipient\n```\n";
    let error = parse_doc(not_toml).unwrap_err();
    assert!(error.contains("not ```toml"), "{error}");
    let csv_of_the_next = "<!-- example: a -->\n```toml\n```\n<!-- example: b -->\n```toml\n```\n```csv\nrecipient\n```\n";
    let error = parse_doc(csv_of_the_next).unwrap_err();
    assert!(
        error.contains("example `a`") && error.contains("before the next example"),
        "{error}"
    );
    let bad_channels = "<!-- example: z; chanels: a -->\n```toml\n```\n```csv\n```\n";
    let error = parse_doc(bad_channels).unwrap_err();
    assert!(error.contains("channels: TEXT"), "{error}");
}
