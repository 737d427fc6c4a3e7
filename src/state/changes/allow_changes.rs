//! What `resume --allow-changes[=HOW]` does with each changed message:
//! skip it with the reason recorded, or (`=update`) render a pending one
//! again from its edited row. Sent messages are never touched.

use super::row_diff::{CurrentRow, EditedRow, RowChanges};
use crate::journal::MessageState;

/// What `resume --allow-changes[=HOW]` does with an edited row's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangePolicy {
    /// Skip it (the default): the planned text no longer matches the row.
    Skip,
    /// Render its text again from the edited row, if it was never sent.
    Update,
}

/// What `--allow-changes` does with each changed message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangePlan {
    /// Messages to skip, with the reason the report shows.
    pub skip: Vec<(u64, String)>,
    /// Pending messages to render again from their edited row.
    pub update: Vec<EditedRow>,
    /// Edited rows whose message stays as it is: sent ones always; failed
    /// and uncertain ones with [`ChangePolicy::Update`] (they may have
    /// reached the server with the old text).
    pub kept: usize,
}

/// Decide, message by message, what `--allow-changes` does. `csv` names
/// the file in the reasons; `current` are the rows `changes` indexes into.
/// Sent messages are never touched.
pub fn plan_changes(
    changes: &RowChanges,
    current: &[CurrentRow],
    policy: ChangePolicy,
    csv: &str,
) -> ChangePlan {
    let open = |state: MessageState| {
        matches!(
            state,
            MessageState::Pending | MessageState::Failed | MessageState::Uncertain
        )
    };
    let mut plan = ChangePlan::default();
    for &(seq, line, state) in &changes.removed {
        if open(state) {
            plan.skip.push((
                seq,
                format!("row removed from {csv} after the campaign started (it was line {line})"),
            ));
        }
    }
    for edited in &changes.edited {
        match (edited.state, policy) {
            (MessageState::Skipped, _) => {}
            (MessageState::Pending, ChangePolicy::Update) => plan.update.push(edited.clone()),
            (state, ChangePolicy::Skip) if open(state) => {
                let line = current.get(edited.current).map_or(0, |row| row.line);
                let hint = if state == MessageState::Pending {
                    "; use `outreach resume --allow-changes=update` to send the edited text"
                } else {
                    ""
                };
                plan.skip.push((
                    edited.seq,
                    format!(
                        "row edited after the campaign started (line {line} of {csv} differs \
                         from the row this message was made from){hint}"
                    ),
                ));
            }
            _ => plan.kept += 1,
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edited(seq: u64, state: MessageState) -> EditedRow {
        EditedRow {
            seq,
            recipient: format!("r{seq}"),
            state,
            current: 0,
        }
    }

    #[test]
    fn allow_changes_says_why_each_message_is_skipped() {
        use MessageState::*;
        let changes = RowChanges {
            added: vec![],
            removed: vec![(0, 2, Pending), (1, 3, Sent)],
            edited: vec![edited(2, Pending), edited(3, Failed), edited(4, Sent)],
        };
        let now = [CurrentRow {
            recipient: "r2".into(),
            line: 12,
            digest: "x".into(),
        }];
        let plan = plan_changes(&changes, &now, ChangePolicy::Skip, "data.csv");
        assert_eq!(
            plan.skip,
            [
                (
                    0,
                    "row removed from data.csv after the campaign started (it was line 2)"
                        .to_string()
                ),
                (
                    2,
                    "row edited after the campaign started (line 12 of data.csv differs from the \
                     row this message was made from); use `outreach resume --allow-changes=update` \
                     to send the edited text"
                        .to_string()
                ),
                (
                    3,
                    "row edited after the campaign started (line 12 of data.csv differs from the \
                     row this message was made from)"
                        .to_string()
                ),
            ]
        );
        assert!(plan.update.is_empty());
        assert_eq!(plan.kept, 1, "the sent message");
    }

    #[test]
    fn update_rerenders_only_pending_messages() {
        use MessageState::*;
        let changes = RowChanges {
            added: vec![],
            removed: vec![(0, 2, Uncertain)],
            edited: vec![
                edited(2, Pending),
                edited(3, Failed),
                edited(4, Uncertain),
                edited(5, Sent),
                edited(6, Skipped),
            ],
        };
        let plan = plan_changes(&changes, &[], ChangePolicy::Update, "d.csv");
        assert_eq!(plan.skip.len(), 1, "a removed row is skipped either way");
        assert_eq!(plan.update, [edited(2, Pending)]);
        assert_eq!(plan.kept, 3);
    }
}
