//! Which header names mean what: the columns outreach reads itself, and the
//! template variable every column becomes.
//!
//! Exports spell the same column many ways (`Time Zone`, `time_zone`,
//! `TimeZone`, `TIMEZONE`), so a special column is found by its *key*: the
//! name in lower case without spaces, underscores or dashes. Two columns
//! with the same key are an error naming both, because picking one silently
//! would plan with the other's values ignored.

use std::path::Path;

use super::recipients::CsvError;

/// Column names with a meaning of their own (besides being template variables).
pub mod names {
    pub const RECIPIENT: &str = "recipient";
    pub const ACCOUNT: &str = "account";
    pub const PRIORITY: &str = "priority";
    pub const TEMPLATE: &str = "template";
    pub const TIMEZONE: &str = "timezone";
    pub const SUBJECT: &str = "subject";
    pub const BODY: &str = "body";
}

/// Positions of the columns that mean something to outreach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub recipient: usize,
    pub account: Option<usize>,
    pub priority: Option<usize>,
    pub template: Option<usize>,
    pub timezone: Option<usize>,
    pub subject: Option<usize>,
    pub body: Option<usize>,
}

/// The template variable a header becomes: trimmed, lower case, spaces and
/// dashes as underscores (`First Name` -> `first_name`).
pub fn variable_name(header: &str) -> String {
    header
        .trim()
        .chars()
        .map(|c| match c {
            ' ' | '-' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// What a header is matched by: lower case, without white space,
/// underscores or dashes (`Time Zone` -> `timezone`).
pub fn column_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '_' | '-')))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Find the special columns of `headers` (trimmed, as written).
pub fn find_columns(
    path: &Path,
    headers: &[String],
    recipient_column: &str,
) -> Result<Columns, CsvError> {
    let keys: Vec<String> = headers.iter().map(|h| column_key(h)).collect();
    let find = |name: &str| -> Result<Option<usize>, CsvError> {
        let key = column_key(name);
        let mut found = keys.iter().enumerate().filter(|(_, k)| **k == key);
        match (found.next(), found.next()) {
            (Some((first, _)), Some((second, _))) => Err(CsvError::SameMeaning {
                path: path.to_path_buf(),
                meaning: name.trim().to_string(),
                first: headers[first].clone(),
                second: headers[second].clone(),
            }),
            (first, _) => Ok(first.map(|(index, _)| index)),
        }
    };
    let recipient = find(recipient_column)?.ok_or_else(|| {
        let found = headers
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ");
        match suspected_delimiter(headers) {
            Some(delimiter) => CsvError::WrongDelimiter {
                path: path.to_path_buf(),
                shown: if delimiter == '\t' { "a tab" } else { "`;`" },
                flag: if delimiter == '\t' { "tab" } else { "';'" },
                found,
            },
            None => CsvError::NoRecipientColumn {
                path: path.to_path_buf(),
                column: recipient_column.to_string(),
                found,
            },
        }
    })?;
    Ok(Columns {
        recipient,
        account: find(names::ACCOUNT)?,
        priority: find(names::PRIORITY)?,
        template: find(names::TEMPLATE)?,
        timezone: find(names::TIMEZONE)?,
        subject: find(names::SUBJECT)?,
        body: find(names::BODY)?,
    })
}

/// A `;` or tab inside a header name: the file is likely separated by it.
fn suspected_delimiter(headers: &[String]) -> Option<char> {
    let all = headers.concat();
    ['\t', ';'].into_iter().find(|d| all.contains(*d))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn special_columns_match_in_any_case_and_spacing() {
        for spelling in [
            "timezone",
            "Time Zone",
            "time_zone",
            "TimeZone",
            "TIME-ZONE",
        ] {
            let found = find_columns(
                Path::new("r.csv"),
                &headers(&["Recipient", spelling, "Pri ority"]),
                "recipient",
            )
            .unwrap();
            assert_eq!(found.timezone, Some(1), "{spelling}");
            assert_eq!(found.priority, Some(2), "{spelling}");
        }
        let found = find_columns(Path::new("r.csv"), &headers(&["E-Mail"]), "e_mail");
        assert_eq!(found.unwrap().recipient, 0);
    }

    #[test]
    fn two_columns_with_one_meaning_are_named() {
        let error = find_columns(
            Path::new("r.csv"),
            &headers(&["recipient", "Time Zone", "x", "timezone"]),
            "recipient",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("r.csv has two `timezone` columns, `Time Zone` and `timezone`"),
            "{error}"
        );
    }

    #[test]
    fn a_header_with_semicolons_or_tabs_suggests_the_delimiter() {
        let error = find_columns(
            Path::new("r.csv"),
            &headers(&["recipient;name"]),
            "recipient",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("--delimiter ';'"), "{error}");
        let error = find_columns(Path::new("r.csv"), &headers(&["a\tb"]), "recipient")
            .unwrap_err()
            .to_string();
        assert!(error.contains("--delimiter tab"), "{error}");
    }
}
