//! What changed in a campaign's inputs since it began.
//!
//! `resume` refuses to continue a campaign whose CSV or templates changed,
//! unless `--allow-changes`: then new rows become pending messages and
//! removed or edited rows are skipped (an edited row's new text would be a
//! different message from the one planned).

use std::collections::HashMap;

use crate::journal::{InputDigest, MessageState, RowDigest};

/// One input file that is not what it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedFile {
    pub path: String,
    pub missing: bool,
}

/// Files whose digest differs from the one saved (or that are gone).
pub fn changed_files(saved: &[InputDigest]) -> Vec<ChangedFile> {
    saved
        .iter()
        .filter_map(|input| {
            let bytes = std::fs::read(&input.path);
            match bytes {
                Err(_) => Some(ChangedFile {
                    path: input.path.clone(),
                    missing: true,
                }),
                Ok(bytes) if blake3::hash(&bytes).to_hex().as_str() != input.blake3 => {
                    Some(ChangedFile {
                        path: input.path.clone(),
                        missing: false,
                    })
                }
                Ok(_) => None,
            }
        })
        .collect()
}

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
    /// Journal messages whose row is gone: (seq, recipient, state).
    pub removed: Vec<(u64, String, MessageState)>,
    /// Journal messages whose row was edited: (seq, recipient, state).
    pub edited: Vec<(u64, String, MessageState)>,
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
    let now: HashMap<&str, &CurrentRow> = current
        .iter()
        .map(|row| (row.recipient.as_str(), row))
        .collect();
    let before: HashMap<&str, &RowDigest> = journal
        .iter()
        .map(|row| (row.recipient.as_str(), row))
        .collect();
    let mut changes = RowChanges::default();
    for row in journal {
        match now.get(row.recipient.as_str()) {
            None => changes
                .removed
                .push((row.seq, row.recipient.clone(), row.state)),
            Some(current) if current.digest != row.row_digest => {
                changes
                    .edited
                    .push((row.seq, row.recipient.clone(), row.state));
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
        assert_eq!(
            changes.removed,
            [(1, "b".to_string(), MessageState::Pending)]
        );
        assert_eq!(
            changes.edited,
            [(2, "c".to_string(), MessageState::Pending)]
        );
        assert_eq!(changes.describe(), "1 new rows, 1 removed, 1 edited");
    }

    #[test]
    fn changed_files_notices_edits_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        std::fs::write(&path, b"recipient\na\n").unwrap();
        let saved = vec![InputDigest {
            path: path.display().to_string(),
            blake3: blake3::hash(b"recipient\na\n").to_hex().to_string(),
        }];
        assert!(changed_files(&saved).is_empty());
        std::fs::write(&path, b"recipient\nb\n").unwrap();
        assert!(!changed_files(&saved)[0].missing);
        std::fs::remove_file(&path).unwrap();
        assert!(changed_files(&saved)[0].missing);
    }
}
