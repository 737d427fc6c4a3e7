//! The rows of the CSV now against the rows the journal's messages were
//! made from, matched by recipient: added, removed and edited.

use std::collections::HashMap;

use crate::journal::{MessageState, RowDigest};

/// A row as it is in the CSV now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentRow {
    pub recipient: String,
    pub line: u64,
    pub digest: String,
}

/// How the rows differ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowChanges {
    /// Recipients not in the journal (indices into the current rows).
    pub added: Vec<usize>,
    /// Journal messages whose row is gone: (seq, line it was on, state).
    pub removed: Vec<(u64, u64, MessageState)>,
    /// Journal messages whose row was edited.
    pub edited: Vec<EditedRow>,
}

/// A journal message whose CSV row is there but different now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditedRow {
    pub seq: u64,
    pub recipient: String,
    pub state: MessageState,
    /// The row as it is now: an index into the current rows.
    pub current: usize,
}

impl RowChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.edited.is_empty()
    }

    /// One line for people: `2 new rows, 1 removed, 3 edited`.
    pub fn describe(&self) -> String {
        format!(
            "{} new rows, {} removed, {} edited",
            self.added.len(),
            self.removed.len(),
            self.edited.len()
        )
    }
}

/// Compare the journal's rows with the current ones, by recipient.
pub fn diff_rows(journal: &[RowDigest], current: &[CurrentRow]) -> RowChanges {
    let now: HashMap<&str, (usize, &CurrentRow)> = current
        .iter()
        .enumerate()
        .map(|(index, row)| (row.recipient.as_str(), (index, row)))
        .collect();
    let before: HashMap<&str, &RowDigest> = journal
        .iter()
        .map(|row| (row.recipient.as_str(), row))
        .collect();
    let mut changes = RowChanges::default();
    for row in journal {
        match now.get(row.recipient.as_str()) {
            None => changes.removed.push((row.seq, row.line, row.state)),
            Some((index, current)) if current.digest != row.row_digest => {
                changes.edited.push(EditedRow {
                    seq: row.seq,
                    recipient: row.recipient.clone(),
                    state: row.state,
                    current: *index,
                });
            }
            Some(_) => {}
        }
    }
    for (index, row) in current.iter().enumerate() {
        if !before.contains_key(row.recipient.as_str()) {
            changes.added.push(index);
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal_row(seq: u64, recipient: &str, digest: &str) -> RowDigest {
        RowDigest {
            seq,
            line: seq + 2,
            recipient: recipient.into(),
            row_digest: digest.into(),
            state: MessageState::Pending,
        }
    }

    fn current(recipient: &str, digest: &str) -> CurrentRow {
        CurrentRow {
            recipient: recipient.into(),
            line: 2,
            digest: digest.into(),
        }
    }

    #[test]
    fn finds_added_removed_and_edited_rows() {
        let journal = [
            journal_row(0, "a", "1"),
            journal_row(1, "b", "2"),
            journal_row(2, "c", "3"),
        ];
        let now = [current("a", "1"), current("c", "9"), current("d", "4")];
        let changes = diff_rows(&journal, &now);
        assert_eq!(changes.added, [2]);
        assert_eq!(changes.removed, [(1, 3, MessageState::Pending)]);
        assert_eq!(
            changes.edited,
            [EditedRow {
                seq: 2,
                recipient: "c".to_string(),
                state: MessageState::Pending,
                current: 1,
            }]
        );
        assert_eq!(changes.describe(), "1 new rows, 1 removed, 1 edited");
    }
}
