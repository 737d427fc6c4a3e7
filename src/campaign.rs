//! A campaign: the validated recipients, their templates and accounts, ready
//! to plan, print or send.
//!
//! Loading checks every row before anything happens (recipient present,
//! priority a number, time zone known, template found, every placeholder
//! filled, body within `--max-length`) and reports all problems at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono_tz::Tz;
use minijinja::Value;

use crate::input::template::row_context;
use crate::input::{
    CsvError, Problems, RecipientTable, RenderError, Rendered, TemplateError, TemplateId,
    TemplateSet,
};
use crate::options::{AccountSpec, CampaignSpec, DEFAULT_ACCOUNT};
use crate::plan::{self, AccountRules, PlanSettings, QueueItem, Slot};

/// Why a campaign could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Rows(#[from] Problems),
    #[error(
        "no message template: pass --template FILE, set `template = \"FILE\"` in outreach.toml, \
         or add `subject`/`body` columns to {csv}"
    )]
    NoTemplate { csv: PathBuf },
}

/// Where a row's message text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateChoice {
    File(TemplateId),
    /// The row's own `subject`/`body` columns are the template.
    Columns,
}

/// One recipient to message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Index into the table's rows.
    pub row: usize,
    pub account: usize,
    pub priority: i64,
    pub timezone: Option<Tz>,
    pub template: TemplateChoice,
}

/// A recipient listed more than once; only the first row is planned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub recipient: String,
    pub first_line: u64,
    pub line: u64,
}

/// A loaded and validated campaign.
#[derive(Debug)]
pub struct Campaign {
    pub spec: CampaignSpec,
    pub table: RecipientTable,
    pub templates: TemplateSet,
    pub accounts: Vec<AccountSpec>,
    /// In queue order: priority (higher first), then file order.
    pub messages: Vec<Message>,
    pub duplicates: Vec<Duplicate>,
    variables: Arc<HashMap<String, usize>>,
}

struct RowFacts {
    account_name: Option<String>,
    priority: i64,
    timezone: Option<Tz>,
    template: TemplateChoice,
}

impl Campaign {
    /// Read the CSV and templates of `spec` and validate every row.
    pub fn load(spec: CampaignSpec) -> Result<Campaign, CampaignError> {
        let table = RecipientTable::read(&spec.csv, &spec.recipient_column)?;
        let csv_dir = spec.csv.parent().map(Path::to_path_buf).unwrap_or_default();
        let config_dir = spec.config.base_dir();
        let mut templates = TemplateSet::new();
        let default_template = match &spec.template {
            Some(path) => Some(templates.load_file(path)?),
            None => None,
        };
        for (name, file) in &spec.config.config.templates {
            let id = templates.load_file(&config_dir.join(file))?;
            templates.alias(name, id);
        }
        let inline = table.columns.body.is_some();
        if default_template.is_none() && !inline && table.columns.template.is_none() {
            return Err(CampaignError::NoTemplate {
                csv: spec.csv.clone(),
            });
        }

        let mut problems = Problems::new(&spec.csv);
        let mut first_seen: HashMap<&str, u64> = HashMap::new();
        let mut duplicates = Vec::new();
        let mut facts: Vec<(usize, RowFacts)> = Vec::with_capacity(table.rows.len());
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
            if let Some(first_line) = first_seen.get(recipient) {
                duplicates.push(Duplicate {
                    recipient: recipient.to_string(),
                    first_line: *first_line,
                    line: row.line,
                });
                continue;
            }
            first_seen.insert(recipient, row.line);
            match row_facts(
                &table,
                index,
                default_template,
                inline,
                &mut templates,
                &spec,
                &csv_dir,
            ) {
                Ok(found) => facts.push((index, found)),
                Err(message) => problems.push(row.line, message),
            }
        }

        let accounts = assign_accounts(&spec, &facts, &table, &mut problems);
        // Stable: equal priorities keep file order.
        facts.sort_by_key(|(_, facts)| std::cmp::Reverse(facts.priority));
        let mut next_account = 0;
        let messages: Vec<Message> = facts
            .into_iter()
            .map(|(row, facts)| {
                let account = match &facts.account_name {
                    Some(name) => accounts.iter().position(|a| &a.name == name).unwrap_or(0),
                    None => {
                        let chosen = next_account % accounts.len();
                        next_account += 1;
                        chosen
                    }
                };
                Message {
                    row,
                    account,
                    priority: facts.priority,
                    timezone: facts.timezone,
                    template: facts.template,
                }
            })
            .collect();

        let variables = Arc::new(table.variables.clone());
        let campaign = Campaign {
            spec,
            table,
            templates,
            accounts,
            messages,
            duplicates,
            variables,
        };
        if problems.is_empty() {
            campaign.check_rendering(&mut problems);
        }
        problems.into_result()?;
        Ok(campaign)
    }

    /// Render every message once to find missing variables and long bodies.
    fn check_rendering(&self, problems: &mut Problems) {
        for message in &self.messages {
            let line = self.table.rows[message.row].line;
            match self.render(message) {
                Ok(rendered) => {
                    if let Some(max) = self.spec.max_length {
                        let length = rendered.body.chars().count();
                        if length > max {
                            problems.push(
                                line,
                                format!("the message body is {length} characters, over --max-length {max}; shorten the template or this row's values"),
                            );
                        }
                    }
                }
                Err(error) => problems.push(line, error.to_string()),
            }
        }
    }

    /// The recipient id of a message.
    pub fn recipient(&self, message: &Message) -> &str {
        self.table.rows[message.row]
            .get(Some(self.table.columns.recipient))
            .unwrap_or("")
    }

    /// The CSV line a message comes from.
    pub fn line(&self, message: &Message) -> u64 {
        self.table.rows[message.row].line
    }

    /// The template variables of a message's row.
    pub fn context(&self, message: &Message) -> Value {
        row_context(&self.variables, &self.table.rows[message.row].record)
    }

    /// Render a message's subject and body.
    pub fn render(&self, message: &Message) -> Result<Rendered, RenderError> {
        let context = self.context(message);
        match message.template {
            TemplateChoice::File(id) => self.templates.render(id, &context),
            TemplateChoice::Columns => {
                let row = &self.table.rows[message.row];
                let subject = self
                    .table
                    .columns
                    .subject
                    .and_then(|c| row.record.get(c))
                    .filter(|s| !s.trim().is_empty());
                let body = self
                    .table
                    .columns
                    .body
                    .and_then(|c| row.record.get(c))
                    .unwrap_or("");
                self.templates
                    .render_inline("the `body` column", subject, body, &context)
            }
        }
    }

    /// A name for the template of a message, for tables and reports.
    pub fn template_name(&self, message: &Message) -> &str {
        match message.template {
            TemplateChoice::File(id) => self.templates.name(id),
            TemplateChoice::Columns => "(csv columns)",
        }
    }

    /// The seed of this campaign's jitter: a hash of its CSV.
    pub fn seed(&self) -> [u8; 32] {
        *blake3::hash(self.table.digest.as_bytes()).as_bytes()
    }

    /// Pacing rules per account, in account order.
    pub fn account_rules(&self) -> Vec<AccountRules> {
        self.accounts
            .iter()
            .map(|a| AccountRules {
                name: a.name.clone(),
                rate: a.rate,
                daily_cap: a.daily_cap,
            })
            .collect()
    }

    /// Plan every message from the campaign's start.
    pub fn plan(&self) -> Vec<Slot> {
        let rules = self.account_rules();
        let settings = PlanSettings {
            start: self.spec.start,
            timezone: self.spec.timezone,
            windows: &self.spec.windows,
            jitter: self.spec.jitter,
            seed: self.seed(),
            accounts: &rules,
        };
        let queue: Vec<QueueItem<'_>> = self
            .messages
            .iter()
            .enumerate()
            .map(|(id, message)| QueueItem {
                id,
                account: message.account,
                timezone: message.timezone,
                key: self.recipient(message),
            })
            .collect();
        plan::schedule(&settings, &queue, &[])
    }
}

fn row_facts(
    table: &RecipientTable,
    index: usize,
    default_template: Option<TemplateId>,
    inline: bool,
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
        None => match default_template {
            Some(id) => TemplateChoice::File(id),
            None if inline => TemplateChoice::Columns,
            None => {
                return Err(
                    "no template for this row: fill its `template` cell, or pass --template FILE"
                        .to_string(),
                );
            }
        },
    };
    Ok(RowFacts {
        account_name: row.get(columns.account).map(str::to_string),
        priority,
        timezone,
        template,
    })
}

/// The campaign's accounts: the config's, else the names the CSV uses, else one default.
fn assign_accounts(
    spec: &CampaignSpec,
    facts: &[(usize, RowFacts)],
    table: &RecipientTable,
    problems: &mut Problems,
) -> Vec<AccountSpec> {
    let mut accounts = spec.accounts.clone();
    let configured = !accounts.is_empty();
    for (row, fact) in facts {
        let Some(name) = &fact.account_name else {
            continue;
        };
        if accounts.iter().any(|a| &a.name == name) {
            continue;
        }
        if configured {
            let known: Vec<&str> = spec.accounts.iter().map(|a| a.name.as_str()).collect();
            problems.push(
                table.rows[*row].line,
                format!("account `{name}` is not in outreach.toml (accounts: {}); fix the cell or add the account", known.join(", ")),
            );
        } else {
            accounts.push(spec.account_for(name));
        }
    }
    if accounts.is_empty() {
        accounts.push(spec.account_for(DEFAULT_ACCOUNT));
    }
    accounts
}
