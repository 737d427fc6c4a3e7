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
use crate::input::{Problems, RenderError, Rendered, Renderer};
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
    fn problem(&mut self, message: &Message) -> Option<(u64, String)> {
        let line = self.campaign.line(message);
        match self.render(message) {
            Ok(rendered) => {
                let max = self.campaign.spec.max_length?;
                let length = rendered.body.chars().count();
                (length > max).then(|| {
                    (line, format!("the message body is {length} characters, over --max-length {max}; shorten the template or this row's values"))
                })
            }
            Err(error) => Some((line, error.to_string())),
        }
    }
}

/// Render every message once, on every core, to find the ones that fail.
pub(super) fn check_rendering(campaign: &Campaign, problems: &mut Problems) {
    let found = parallel::for_each_ordered(
        &campaign.messages,
        CHUNK,
        |_, chunk| {
            let mut renderer = campaign.renderer();
            let found: Vec<(u64, String)> = chunk
                .iter()
                .filter_map(|message| renderer.problem(message))
                .collect();
            found
        },
        |found| {
            for (line, message) in found {
                problems.push(line, message);
            }
            Ok::<(), std::convert::Infallible>(())
        },
    );
    let Ok(()) = found;
}
