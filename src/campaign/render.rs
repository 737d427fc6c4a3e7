//! Rendering a campaign's messages, and checking that every one renders.
//!
//! Loading renders every message once to find missing variables, failing
//! filters and bodies over `--max-length`, because a bad row must stop the
//! command before anything is printed or sent. That check keeps nothing but
//! the problems (a million rendered bodies would not fit the memory budget),
//! so whoever prints or stores the messages renders them again; see
//! docs/design.md ("Rendering twice"). Both passes use every core.

use super::{Campaign, Message, TemplateChoice};
use crate::input::context::RowCursor;
use crate::input::recipients::variable_name;
use crate::input::{Problems, RenderError, Rendered, Renderer, suggest};
use crate::parallel;

/// Messages per chunk of work: large enough that a thread's start is noise,
/// small enough that both cores stay busy to the end.
pub(crate) const CHUNK: usize = 2048;

/// Renders many messages of one campaign, looking each template up once and
/// reusing one template context. Cheap to make; make one per thread.
pub struct MessageRenderer<'a> {
    campaign: &'a Campaign,
    templates: Renderer<'a>,
    context: RowCursor,
}

impl<'a> MessageRenderer<'a> {
    pub(super) fn new(campaign: &'a Campaign) -> MessageRenderer<'a> {
        MessageRenderer {
            campaign,
            templates: campaign.templates.renderer(),
            context: RowCursor::new(&campaign.table.cells),
        }
    }

    /// Render a message's subject and body.
    pub fn render(&mut self, message: &Message) -> Result<Rendered, RenderError> {
        let campaign = self.campaign;
        let row = &campaign.table.rows[message.row];
        let context = self.context.at(message.row);
        match message.template {
            TemplateChoice::File(id) => self.templates.render(id, context),
            TemplateChoice::Columns => {
                let columns = &campaign.table.columns;
                let subject = columns
                    .subject
                    .and_then(|c| row.record.get(c))
                    .filter(|s| !s.trim().is_empty());
                let body = columns.body.and_then(|c| row.record.get(c)).unwrap_or("");
                self.templates
                    .render_inline("the `body` column", subject, body, context)
            }
        }
    }

    /// The problem with a message, if any: it does not render, or its body
    /// is over `--max-length`.
    fn problem(&mut self, message: &Message) -> Option<Found> {
        let line = self.campaign.line(message);
        match self.render(message) {
            Ok(rendered) => {
                let max = self.campaign.spec.max_length?;
                let length = rendered.body.chars().count();
                (length > max).then(|| {
                    Found::Row(line, format!("the message body is {length} characters, over --max-length {max}; shorten the template or this row's values"))
                })
            }
            Err(RenderError::MissingVariable { template, variable })
                if self.campaign.table.cells.variable(&variable).is_none() =>
            {
                Some(Found::NoColumn { template, variable })
            }
            Err(error) => Some(Found::Row(line, error.to_string())),
        }
    }
}

/// What the check found wrong with one message.
enum Found {
    /// A problem of this row.
    Row(u64, String),
    /// The template prints a variable that is no column: every row using it
    /// fails the same way, so it is reported once, not per row.
    NoColumn { template: String, variable: String },
}

/// A template variable that is no column, and how many rows it failed.
struct NoColumn {
    template: String,
    variable: String,
    rows: usize,
}

/// The one problem for a variable that is no column, on the header's line,
/// with the column that was probably meant.
fn no_column_problem(campaign: &Campaign, missing: &NoColumn) -> String {
    let names: Vec<String> = campaign
        .table
        .headers
        .iter()
        .filter(|header| !header.is_empty())
        .map(|header| variable_name(header))
        .collect();
    let hint = match suggest::closest(&missing.variable, names.iter().map(String::as_str)) {
        Some(name) => format!("did you mean `{name}`? "),
        None => format!("columns: {}; ", names.join(", ")),
    };
    let rows = match missing.rows {
        1 => "1 row".to_string(),
        n => format!("{n} rows"),
    };
    format!(
        "template {} uses `{}`, which is no column of this file ({rows} fail); {hint}\
         fix the template, add the column, or give a default: {{{{ {} | default(\"...\") }}}}",
        missing.template, missing.variable, missing.variable
    )
}

/// Render every message once, on every core, to find the ones that fail.
pub(super) fn check_rendering(campaign: &Campaign, problems: &mut Problems) {
    let mut no_column: Vec<NoColumn> = Vec::new();
    let found = parallel::for_each_ordered(
        &campaign.messages,
        CHUNK,
        |_, chunk| {
            let mut renderer = campaign.renderer();
            let found: Vec<Found> = chunk
                .iter()
                .filter_map(|message| renderer.problem(message))
                .collect();
            found
        },
        |found| {
            for found in found {
                match found {
                    Found::Row(line, message) => problems.push(line, message),
                    Found::NoColumn { template, variable } => {
                        match no_column
                            .iter_mut()
                            .find(|known| known.template == template && known.variable == variable)
                        {
                            Some(known) => known.rows += 1,
                            None => no_column.push(NoColumn {
                                template,
                                variable,
                                rows: 1,
                            }),
                        }
                    }
                }
            }
            Ok::<(), std::convert::Infallible>(())
        },
    );
    let Ok(()) = found;
    for missing in &no_column {
        problems.push(HEADER_LINE, no_column_problem(campaign, missing));
    }
}

/// The line of the header row, where a missing column is reported.
const HEADER_LINE: u64 = 1;
