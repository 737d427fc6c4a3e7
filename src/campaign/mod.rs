//! A campaign: the validated recipients, their templates and accounts, ready
//! to plan, print or send.
//!
//! Loading checks every row before anything happens (recipient present,
//! priority a number, time zone known, template found, every placeholder
//! filled, body within `--max-length`) and reports all problems at once.
//!
//! Architecture:
//! - [`rows`]: each row's facts, duplicates, accounts, the queue's order.
//! - [`render`]: rendering messages ([`MessageRenderer`]) and the check that
//!   every message renders.

mod render;
mod rows;

use std::path::PathBuf;

use chrono_tz::Tz;
use minijinja::Value;

use crate::account::Account;
use crate::input::context::row_context;
use crate::input::{
    CsvError, Problems, RecipientTable, RenderError, Rendered, TemplateError, TemplateId,
    TemplateSet,
};
use crate::options::CampaignSpec;
use crate::plan::{self, PlanSettings, QueueItem, Ready, Slot};

pub(crate) use render::CHUNK;
pub use render::MessageRenderer;

/// Why a campaign could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    #[error(transparent)]
    Csv(#[from] CsvError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Rows(#[from] Problems),
    #[error(transparent)]
    Suppress(#[from] crate::stop::suppress::ListError),
    /// An account's channel does not fit this CSV (a `row.X` it uses is no
    /// column, or a sample request cannot be built).
    #[error("{0}")]
    Channel(String),
    /// A `[[steps]]` template that cannot be read or parsed.
    #[error("`steps[{number}].template` in the config: {source}")]
    StepTemplate {
        number: usize,
        source: TemplateError,
    },
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
    /// 1 for the first message; 2 and later for follow-ups.
    pub step: u32,
    /// The index in [`Campaign::messages`] of the previous step's message.
    pub previous: Option<usize>,
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
    pub accounts: Vec<Account>,
    /// In queue order: priority (higher first), then file order; with
    /// `[[steps]]`, every first message, then each follow-up step in turn.
    pub messages: Vec<Message>,
    pub duplicates: Vec<Duplicate>,
    /// Rows left out because a do-not-contact list names their recipient.
    pub suppressed: Vec<Suppressed>,
}

/// A row a do-not-contact list names: never planned, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppressed {
    pub line: u64,
    pub recipient: String,
    /// `on dnc.csv line 3 (*@acme.com)`.
    pub matched: String,
}

impl Campaign {
    /// Read the CSV and templates of `spec` and validate every row.
    pub fn load(spec: CampaignSpec) -> Result<Campaign, CampaignError> {
        // Rows the CSV reader could not take are reported with every other
        // bad row, so one run lists all of them.
        let (table, mut problems) =
            RecipientTable::read(&spec.csv, &spec.recipient_column, spec.delimiter)?;
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

        let defaults = rows::TemplateDefaults {
            file: default_template,
            inline,
        };
        let mut queue = rows::queue(&spec, &table, defaults, &mut templates, &mut problems);
        let suppressed = suppress(&spec, &table, &mut queue.messages)?;
        add_follow_ups(&spec, &mut templates, &mut queue.messages)?;
        let campaign = Campaign {
            spec,
            table,
            templates,
            accounts: queue.accounts,
            messages: queue.messages,
            duplicates: queue.duplicates,
            suppressed,
        };
        // Rendered even when other rows are bad: the queue holds only the
        // rows that passed, and their template problems belong in the list.
        render::check_rendering(&campaign, &mut problems);
        check_email_recipients(&campaign, &mut problems);
        problems.into_result()?;
        for account in &campaign.accounts {
            crate::channel::open::check(&account.channel, "channel", Some(&campaign.table.headers))
                .map_err(|error| CampaignError::Channel(error.to_string()))?;
        }
        Ok(campaign)
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
        row_context(&self.table.rows[message.row].record)
    }

    /// Render a message's subject and body (to render many, use [`Self::renderer`]).
    pub fn render(&self, message: &Message) -> Result<Rendered, RenderError> {
        self.renderer().render(message)
    }

    /// A renderer for many messages; make one per thread.
    pub fn renderer(&self) -> MessageRenderer<'_> {
        MessageRenderer::new(self)
    }

    /// A name for the template of a message, for tables and reports.
    pub fn template_name(&self, message: &Message) -> &str {
        match message.template {
            TemplateChoice::File(id) => self.templates.name(id),
            TemplateChoice::Columns => "(csv columns)",
        }
    }

    /// How long after the previous step a follow-up is due (None for a
    /// first message).
    pub fn delay_of(&self, message: &Message) -> Option<crate::sequence::StepDelay> {
        let index = usize::try_from(message.step).ok()?.checked_sub(1)?;
        self.spec.steps.get(index)?.after
    }

    /// How many steps each recipient's sequence has (1 without `[[steps]]`).
    pub fn step_count(&self) -> u32 {
        u32::try_from(self.spec.steps.len().max(1)).unwrap_or(u32::MAX)
    }

    /// The seed of this campaign's jitter: a hash of its CSV.
    pub fn seed(&self) -> [u8; 32] {
        *blake3::hash(self.table.digest.as_bytes()).as_bytes()
    }

    /// Plan every message from the campaign's start.
    pub fn plan(&self) -> Vec<Slot> {
        let settings = PlanSettings {
            start: self.spec.start,
            timezone: self.spec.timezone,
            windows: &self.spec.windows,
            jitter: self.spec.jitter,
            seed: self.seed(),
            accounts: &self.accounts,
            domain_cap: self
                .spec
                .per_domain_daily_cap
                .map(|cap| crate::plan::domain_cap::DomainCap::new(cap, self.spec.timezone, [])),
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
                priority: message.priority,
                ready: match (message.previous, self.delay_of(message)) {
                    (Some(previous), Some(delay)) => Ready::After { previous, delay },
                    _ => Ready::First,
                },
            })
            .collect();
        plan::schedule(&settings, &queue, &[])
    }
}

/// With `[[steps]]`: after every first message, one message per later
/// step for the same recipient and account, from that step's template,
/// each pointing at the message of the step before.
fn add_follow_ups(
    spec: &CampaignSpec,
    templates: &mut TemplateSet,
    messages: &mut Vec<Message>,
) -> Result<(), CampaignError> {
    let first_count = messages.len();
    let mut previous_of_step: Vec<usize> = (0..first_count).collect();
    for (index, step) in spec.steps.iter().enumerate().skip(1) {
        let number = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let Some(path) = &step.template else {
            continue; // checked when the options were read
        };
        let id = templates
            .load_file(path)
            .map_err(|source| CampaignError::StepTemplate {
                number: index + 1,
                source,
            })?;
        for previous in previous_of_step.iter_mut() {
            let first = &messages[*previous];
            let follow_up = Message {
                template: TemplateChoice::File(id),
                step: number,
                previous: Some(*previous),
                ..first.clone()
            };
            messages.push(follow_up);
            *previous = messages.len() - 1;
        }
    }
    Ok(())
}

/// Leave out of `messages` every row a do-not-contact list names.
fn suppress(
    spec: &CampaignSpec,
    table: &RecipientTable,
    messages: &mut Vec<Message>,
) -> Result<Vec<Suppressed>, CampaignError> {
    if spec.suppress.is_empty() {
        return Ok(Vec::new());
    }
    let matcher = crate::stop::suppress::load(&spec.suppress)?;
    let mut suppressed = Vec::new();
    messages.retain(|message| {
        let row = &table.rows[message.row];
        let recipient = row.get(Some(table.columns.recipient)).unwrap_or("");
        match matcher.find(recipient) {
            Some(hit) => {
                suppressed.push(Suppressed {
                    line: row.line,
                    recipient: recipient.to_string(),
                    matched: hit.to_string(),
                });
                false
            }
            None => true,
        }
    });
    Ok(suppressed)
}

/// Accounts that send e-mail need e-mail addresses and a subject: each row
/// without is reported with its line, before anything is sent.
fn check_email_recipients(campaign: &Campaign, problems: &mut crate::input::Problems) {
    for message in &campaign.messages {
        let account = &campaign.accounts[message.account];
        if !crate::channel::open::sends_email(&account.channel.kind) {
            continue;
        }
        let has_subject = match message.template {
            TemplateChoice::File(id) => campaign.templates.has_subject(id),
            TemplateChoice::Columns => campaign.table.columns.subject.is_some(),
        };
        if !has_subject {
            problems.push(
                campaign.line(message),
                format!(
                    "no subject for this e-mail: add a `Subject: ...` first line to {}, or a `subject` column; account `{}` sends e-mail ({})",
                    campaign.template_name(message),
                    account.name,
                    account.channel.kind
                ),
            );
        }
        if let Err(error) = crate::channel::smtp::validate_address(campaign.recipient(message)) {
            problems.push(
                campaign.line(message),
                format!(
                    "{error}; account `{}` sends e-mail ({}), so the recipient column must hold e-mail addresses",
                    account.name, account.channel.kind
                ),
            );
        }
    }
}
