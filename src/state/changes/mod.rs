//! What changed in a campaign's inputs since it began.
//!
//! `send` on an existing journal first asks whether the journal holds the
//! campaign of the inputs given ([`match_campaign`]): another CSV's campaign,
//! or changed inputs, is an error, never "already complete".
//!
//! `resume` refuses to continue a campaign whose CSV or templates changed,
//! unless `--allow-changes`: then new rows become pending messages and
//! removed or edited rows are skipped with the reason recorded (an edited
//! row's new text would be a different message from the one planned);
//! `--allow-changes=update` instead re-renders edited rows' messages that
//! were never attempted.
//!
//! # Architecture
//!
//! - `inputs`: whether the inputs given are the journal's campaign's
//!   ([`match_campaign`]), and which input files changed on disk.
//! - `row_diff`: the rows added, removed and edited since the start.
//! - `allow_changes`: what `--allow-changes[=update]` does with each
//!   changed message.

mod allow_changes;
mod inputs;
mod row_diff;

pub use allow_changes::{ChangePlan, ChangePolicy, plan_changes};
pub use inputs::{CampaignMismatch, ChangedFile, changed_files, match_campaign};
pub use row_diff::{CurrentRow, EditedRow, RowChanges, diff_rows};
