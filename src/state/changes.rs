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

use std::collections::HashMap;
use std::path::PathBuf;

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

/// `send` was given inputs other than the journal's campaign's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CampaignMismatch {
    #[error(
        "the journal {journal} holds the campaign of {journal_csv}, not {csv}; nothing was sent. \
         Use --state PATH to choose another journal for {csv} (or leave --state out for the one beside it), \
         or --restart to begin a new campaign for {csv} in {journal} (the old journal is kept beside it under a dated name)",
        journal = .journal.display()
    )]
    OtherCsv {
        journal: PathBuf,
        journal_csv: String,
        csv: String,
    },
    #[error(
        "the campaign in {journal} began with other inputs than the ones given ({files}); nothing was sent. \
         To send the rows added to the CSV, run `outreach resume --state {journal} --allow-changes`; \
         to begin a new campaign from these inputs, --restart (the old journal is kept beside it)",
        journal = .journal.display()
    )]
    Changed { journal: PathBuf, files: String },
}

/// Whether a journal's campaign (its saved inputs, the CSV first, and its
/// config file) is the one made from `given` and `config`. A different CSV
/// path is another campaign; the same CSV with other content, templates or
/// config is the same campaign changed.
pub fn match_campaign(
    journal: &std::path::Path,
    saved: &[InputDigest],
    saved_config: Option<&std::path::Path>,
    given: &[InputDigest],
    config: Option<&std::path::Path>,
) -> Result<(), CampaignMismatch> {
    let (Some(saved_csv), Some(csv)) = (saved.first(), given.first()) else {
        return Ok(());
    };
    if saved_csv.path != csv.path {
        return Err(CampaignMismatch::OtherCsv {
            journal: journal.to_path_buf(),
            journal_csv: saved_csv.path.clone(),
            csv: csv.path.clone(),
        });
    }
    let before: HashMap<&str, &str> = saved
        .iter()
        .map(|i| (i.path.as_str(), i.blake3.as_str()))
        .collect();
    let now: HashMap<&str, &str> = given
        .iter()
        .map(|i| (i.path.as_str(), i.blake3.as_str()))
        .collect();
    let mut files: Vec<String> = Vec::new();
    for input in given {
        match before.get(input.path.as_str()) {
            None => files.push(format!("{} is new", input.path)),
            Some(digest) if *digest != input.blake3 => {
                files.push(format!("{} changed", input.path));
            }
            Some(_) => {}
        }
    }
    for input in saved.iter().filter(|i| !now.contains_key(i.path.as_str())) {
        files.push(format!("{} is not given now", input.path));
    }
    if saved_config != config {
        let name = |c: Option<&std::path::Path>| {
            c.map_or_else(|| "none".to_string(), |p| p.display().to_string())
        };
        files.push(format!(
            "config {} instead of {}",
            name(config),
            name(saved_config)
        ));
    }
    if files.is_empty() {
        return Ok(());
    }
    Err(CampaignMismatch::Changed {
        journal: journal.to_path_buf(),
        files: files.join(", "),
    })
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

    fn input(path: &str, digest: &str) -> InputDigest {
        InputDigest {
            path: path.into(),
            blake3: digest.into(),
        }
    }

    #[test]
    fn another_csvs_journal_is_another_campaign() {
        let journal = std::path::Path::new("/d/a.outreach.db");
        let saved = [input("/d/a.csv", "1"), input("/d/m.txt", "2")];
        assert_eq!(match_campaign(journal, &saved, None, &saved, None), Ok(()));
        let other = [input("/d/b.csv", "1"), input("/d/m.txt", "2")];
        let error = match_campaign(journal, &saved, None, &other, None).unwrap_err();
        assert_eq!(
            error,
            CampaignMismatch::OtherCsv {
                journal: journal.into(),
                journal_csv: "/d/a.csv".into(),
                csv: "/d/b.csv".into(),
            }
        );
        let text = error.to_string();
        assert!(
            text.contains("holds the campaign of /d/a.csv, not /d/b.csv"),
            "{text}"
        );
        assert!(
            text.contains("--restart") && text.contains("--state"),
            "{text}"
        );
    }

    #[test]
    fn the_same_csv_with_other_inputs_is_a_changed_campaign() {
        let journal = std::path::Path::new("/d/a.outreach.db");
        let saved = [input("/d/a.csv", "1"), input("/d/m.txt", "2")];
        let edited = [input("/d/a.csv", "9"), input("/d/n.txt", "2")];
        let config = std::path::Path::new("/d/outreach.toml");
        let error = match_campaign(journal, &saved, None, &edited, Some(config)).unwrap_err();
        assert_eq!(
            error,
            CampaignMismatch::Changed {
                journal: journal.into(),
                files: "/d/a.csv changed, /d/n.txt is new, /d/m.txt is not given now, \
                        config /d/outreach.toml instead of none"
                    .into(),
            }
        );
        assert!(error.to_string().contains("--allow-changes"));
    }

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
