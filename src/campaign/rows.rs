//! From CSV rows to the queue of messages: each row's facts (priority, time
//! zone, template, account), duplicates dropped, accounts assigned, and the
//! queue put in priority-then-file order.
//!
//! Everything here runs on one core before anything renders, so it is kept
//! cheap per row: account names become indexes as rows are read (no `String`
//! per row), duplicates are found with a multiplicative hash rather than
//! SipHash (the CSV is the user's own file, not an adversary's), the
//! duplicate map is gone before anything renders, and the queue is sorted
//! with a stable sort on priority alone, nearly linear with the few distinct
//! priorities a CSV has (its scratch copy, half the facts, is freed long
//! before the output's buffers make the command's peak).

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

use chrono_tz::Tz;

use super::{Duplicate, Message, TemplateChoice};
use crate::account::Account;
use crate::input::{Problems, RecipientTable, TemplateId, TemplateSet};
use crate::options::{CampaignSpec, DEFAULT_ACCOUNT};

/// Where each row's template comes from when it names none.
#[derive(Debug, Clone, Copy)]
pub struct TemplateDefaults {
    /// `--template` or `template =` in the config.
    pub file: Option<TemplateId>,
    /// The CSV has a `body` column.
    pub inline: bool,
}

/// The queue, the duplicates dropped and the accounts of a campaign.
pub struct Queue {
    pub messages: Vec<Message>,
    pub duplicates: Vec<Duplicate>,
    pub accounts: Vec<Account>,
}

struct RowFacts {
    row: usize,
    /// `None`: the row names no account; it takes its turn in queue order.
    account: Option<usize>,
    priority: i64,
    timezone: Option<Tz>,
    template: TemplateChoice,
}

/// Check every row's facts into `problems` and build the queue.
pub fn queue(
    spec: &CampaignSpec,
    table: &RecipientTable,
    defaults: TemplateDefaults,
    templates: &mut TemplateSet,
    problems: &mut Problems,
) -> Queue {
    let csv_dir = spec.csv.parent().unwrap_or(Path::new(""));
    let mut accounts = Accounts::new(spec);
    let mut first_seen: HashMap<Cow<'_, str>, u64, BuildHasherDefault<MultiplyHasher>> =
        HashMap::with_capacity_and_hasher(table.rows.len(), BuildHasherDefault::default());
    let mut duplicates = Vec::new();
    let mut facts: Vec<RowFacts> = Vec::with_capacity(table.rows.len());
    for (index, row) in table.rows.iter().enumerate() {
        let Some(recipient) = row.get(Some(table.columns.recipient)) else {
            problems.push(
                row.line,
                format!(
                    "the `{}` cell is empty; every row needs a recipient",
                    spec.recipient_column
                ),
            );
            continue;
        };
        let key = dedupe_key(recipient);
        if let Some(first_line) = first_seen.get(key.as_ref()) {
            duplicates.push(Duplicate {
                recipient: recipient.to_string(),
                first_line: *first_line,
                line: row.line,
            });
            continue;
        }
        first_seen.insert(key, row.line);
        match row_facts(table, index, defaults, templates, spec, csv_dir) {
            Ok(mut found) => {
                if let Some(name) = row.get(table.columns.account) {
                    found.account = Some(accounts.index(name, row.line, problems));
                }
                facts.push(found);
            }
            Err(message) => problems.push(row.line, message),
        }
    }
    drop(first_seen);
    let accounts = accounts.finish(spec);
    // Stable: equal priorities keep file order.
    facts.sort_by_key(|fact| Reverse(fact.priority));
    let mut next_account = 0;
    let messages = facts
        .into_iter()
        .map(|fact| {
            let account = fact.account.unwrap_or_else(|| {
                let chosen = next_account % accounts.len();
                next_account += 1;
                chosen
            });
            Message {
                row: fact.row,
                account,
                priority: fact.priority,
                timezone: fact.timezone,
                template: fact.template,
                step: 1,
                previous: None,
            }
        })
        .collect();
    Queue {
        messages,
        duplicates,
        accounts,
    }
}

/// What two recipients are compared by: an e-mail address by its lower-case
/// form (exports mix `Ana@Example.com` and `ana@example.com` for one person),
/// any other id (an URN, a phone number) exactly as written.
fn dedupe_key(recipient: &str) -> Cow<'_, str> {
    if is_email(recipient) && recipient.chars().any(char::is_uppercase) {
        Cow::Owned(recipient.to_lowercase())
    } else {
        Cow::Borrowed(recipient)
    }
}

/// One `@`, a dot in the domain (not at its ends), no white space, and no
/// `:` before the `@` (an id such as `urn:x:Ana@Example.com` stays exact).
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains(':')
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.chars().any(char::is_whitespace)
}

/// A fast hash for recipient ids: FxHash's mixing step, eight bytes at a
/// time, and rustc-hash's final rotation.
#[derive(Default)]
struct MultiplyHasher(u64);

impl Hasher for MultiplyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            let word = u64::from_le_bytes(word);
            self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        // A product's high bits are its best mixed; the table indexes by the low ones.
        self.0.rotate_left(26)
    }
}

/// The campaign's accounts: the config's, else the names the CSV uses (in
/// order of first use), else one default.
struct Accounts<'a> {
    spec: &'a CampaignSpec,
    list: Vec<Account>,
    configured: bool,
}

impl<'a> Accounts<'a> {
    fn new(spec: &'a CampaignSpec) -> Accounts<'a> {
        Accounts {
            spec,
            list: spec.accounts.clone(),
            configured: !spec.accounts.is_empty(),
        }
    }

    /// The index of the account a row names; an unknown name is a problem
    /// when accounts are configured (the index is then never used).
    fn index(&mut self, name: &str, line: u64, problems: &mut Problems) -> usize {
        if let Some(index) = self.list.iter().position(|a| a.name == name) {
            return index;
        }
        if self.configured {
            let known: Vec<&str> = self.spec.accounts.iter().map(|a| a.name.as_str()).collect();
            problems.push(
                line,
                format!("account `{name}` is not in outreach.toml (accounts: {}); fix the cell or add the account", known.join(", ")),
            );
            return 0;
        }
        self.list.push(self.spec.account_for(name));
        self.list.len() - 1
    }

    fn finish(mut self, spec: &CampaignSpec) -> Vec<Account> {
        if self.list.is_empty() {
            self.list.push(spec.account_for(DEFAULT_ACCOUNT));
        }
        self.list
    }
}

fn row_facts(
    table: &RecipientTable,
    index: usize,
    defaults: TemplateDefaults,
    templates: &mut TemplateSet,
    spec: &CampaignSpec,
    csv_dir: &Path,
) -> Result<RowFacts, String> {
    let row = &table.rows[index];
    let columns = &table.columns;
    let priority = match row.get(columns.priority) {
        None => 0,
        Some(text) => text.parse().map_err(|_| {
            format!(
                "priority `{text}` is not a whole number (higher is sent first; leave blank for 0)"
            )
        })?,
    };
    let timezone = match row.get(columns.timezone) {
        None => None,
        Some(text) => Some(text.parse::<Tz>().map_err(|_| {
            format!("unknown time zone `{text}`; use an IANA name such as `Europe/Berlin` or leave it blank")
        })?),
    };
    let template = match row.get(columns.template) {
        Some(name) => {
            if let Some(id) = templates.by_name(name) {
                TemplateChoice::File(id)
            } else {
                let path = csv_dir.join(name);
                if let Some(id) = templates.by_path(&path) {
                    TemplateChoice::File(id)
                } else if path.is_file() {
                    TemplateChoice::File(templates.load_file(&path).map_err(|e| e.to_string())?)
                } else {
                    let known: Vec<&String> = spec.config.config.templates.keys().collect();
                    return Err(format!(
                        "template `{name}` is neither a name from [templates] in outreach.toml (known: {known:?}) nor a file at {}",
                        path.display()
                    ));
                }
            }
        }
        None => match defaults.file {
            Some(id) => TemplateChoice::File(id),
            None if defaults.inline => TemplateChoice::Columns,
            None => {
                return Err(
                    "no template for this row: fill its `template` cell, or pass --template FILE"
                        .to_string(),
                );
            }
        },
    };
    Ok(RowFacts {
        row: index,
        account: None,
        priority,
        timezone,
        template,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_compare_without_case_and_other_ids_exactly() {
        assert_eq!(dedupe_key("Ana@Example.com"), "ana@example.com");
        assert_eq!(dedupe_key("ana@example.com"), "ana@example.com");
        assert!(matches!(dedupe_key("ana@example.com"), Cow::Borrowed(_)));
        assert_eq!(dedupe_key("ÉLodie@Exemple.FR"), "élodie@exemple.fr");
        for exact in [
            "urn:li:person:AbC",
            "urn:x:Ana@Example.com",
            "+49 30 1234",
            "Ana@localhost",
            "Ana@Example.com extra",
            "a@b@Example.com",
            "@Example.com",
            "Ana@.Example",
            "Ana@Example.",
        ] {
            assert_eq!(dedupe_key(exact), exact, "{exact}");
        }
    }
}
