//! Checking a declared channel at load, against the campaign's CSV columns:
//! every variable known, and the whole request rendered once with sample
//! values (quotes, a backslash, a line break, non-ASCII letters; with and
//! without HTML) so a JSON body that is not JSON, a URL that is not one or
//! a header that cannot be sent is an error naming its key before any
//! message is sent.

use std::collections::BTreeMap;

use super::compile::ResolvedSpec;
use super::error::ChannelError;
use super::request::{Prepared, prepare_checked};
use super::spec::HttpSpec;
use crate::send::api::{MessagePayload, OutgoingMessage, Token};

impl HttpSpec {
    /// Checks the declaration with sample settings (each required setting's
    /// `example`) against the CSV's `row_columns`; see [`ResolvedSpec::validate`].
    pub fn validate(&self, row_columns: &[String]) -> Result<(), ChannelError> {
        self.with_settings(&self.sample_settings())?
            .validate(row_columns)
    }
}

impl ResolvedSpec {
    /// Checks that every `row.X` is a column of the CSV and that a sample
    /// message renders to a request that can be sent.
    pub fn validate(&self, row_columns: &[String]) -> Result<(), ChannelError> {
        self.check_variables(Some(row_columns))?;
        let secret = Token::new("sample-secret".to_string());
        for html in [Some("<p>Sample \"HTML\"</p>"), None] {
            let message = sample_message(row_columns, html);
            if let Err(Prepared::Render(error)) = prepare_checked(self, &message, &secret) {
                return Err(self.origin.error(
                    &error.path,
                    format!("{} (with sample values)", error.problem),
                ));
            }
        }
        Ok(())
    }
}

/// A message whose every value tests the escaping of the place it goes.
fn sample_message(row_columns: &[String], html: Option<&str>) -> OutgoingMessage {
    let fields: BTreeMap<String, String> = row_columns
        .iter()
        .map(|column| (column.clone(), format!("Sample \"{column}\" \\ é")))
        .collect();
    OutgoingMessage {
        payload: MessagePayload {
            recipients: vec!["sample-recipient@example.com".to_string()],
            subject: Some("Sample \"subject\" ü".to_string()),
            body: "Sample body: \"quotes\", a \\ backslash,\na line break, ünïcödé ✓".to_string(),
        },
        html: html.map(str::to_string),
        fields,
        idempotency_key: "sample-idempotency-key".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> Vec<String> {
        vec!["First Name".to_string(), "company".to_string()]
    }

    fn problem(text: &str) -> String {
        HttpSpec::from_toml(text)
            .unwrap()
            .validate(&columns())
            .unwrap_err()
            .to_string()
    }

    const BASE: &str = "url = \"https://x.test/\"\nauth = { kind = \"none\" }\n";

    #[test]
    fn a_valid_spec_passes() {
        let spec = HttpSpec::from_toml(&format!(
            "{BASE}body = {{ json = '{{\"name\": {{{{ row.first_name }}}}{{% if html %}}, \"html\": {{{{ html }}}}{{% endif %}}}}' }}"
        ))
        .unwrap();
        assert_eq!(spec.validate(&columns()), Ok(()));
    }

    #[test]
    fn an_unknown_column_is_named() {
        assert_eq!(
            problem(&format!(
                "{BASE}headers = {{ X-Co = \"{{{{ row.compnay }}}}\" }}"
            )),
            "`channel.headers.X-Co` in outreach.toml: `row.compnay` is not a column of the CSV (its columns are First Name, company); did you mean `row.company`?"
        );
    }

    #[test]
    fn quoted_values_in_a_json_body_are_caught() {
        let problem = problem(&format!(
            "{BASE}body = {{ json = '{{\"text\": \"{{{{ body }}}}\"}}' }}"
        ));
        assert!(
            problem
                .starts_with("`channel.body.json` in outreach.toml: renders text that is not JSON"),
            "{problem}"
        );
        assert!(problem.ends_with("(with sample values)"), "{problem}");
    }

    #[test]
    fn a_branch_only_html_takes_is_checked_too() {
        let problem = problem(&format!(
            "{BASE}body = {{ json = '{{\"a\": 1{{% if not html %}},{{% endif %}}}}' }}"
        ));
        assert!(problem.starts_with("`channel.body.json`"), "{problem}");
    }

    #[test]
    fn urls_and_headers_that_cannot_be_sent_are_caught() {
        assert!(
            problem("url = \"/relative\"\nauth = { kind = \"none\" }")
                .starts_with("`channel.url` in outreach.toml: renders no valid URL")
        );
        assert!(
            problem(&format!(
                "{BASE}headers = {{ X-Body = \"{{{{ body }}}}\" }}"
            ))
            .starts_with("`channel.headers.X-Body`")
        );
    }

    #[test]
    fn required_settings_use_their_example() {
        let spec = HttpSpec::from_toml(
            "url = \"https://{{ settings.host }}/\"\nauth = { kind = \"none\" }\n[settings.required.host]\nmeans = \"the host\"\nexample = \"api.example.com\"",
        )
        .unwrap();
        assert_eq!(spec.validate(&[]), Ok(()));
    }
}
