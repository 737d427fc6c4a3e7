//! Do-not-contact lists named by `suppress = [...]` in outreach.toml.
//!
//! At planning, a row whose recipient a list names is left out of the plan
//! and listed with the list and line that matched. While a campaign runs, a
//! [`Watch`] re-reads a list when its file changes and stops the newly named
//! recipients through the journal (the same stop as `outreach stop`), so the
//! running sender's next claim of their messages is refused.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::Utc;

use super::list::{Matcher, parse_entries};
use crate::journal::{StopRequest, StopTarget};

/// A list that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot read the do-not-contact list {path} (`suppress` in outreach.toml): {source}; check the path"
)]
pub struct ListError {
    pub path: PathBuf,
    source: std::io::Error,
}

/// Every entry of `lists`, the first list and line naming a recipient winning.
pub fn load(lists: &[PathBuf]) -> Result<Matcher, ListError> {
    let mut matcher = Matcher::default();
    for path in lists {
        let text = std::fs::read_to_string(path).map_err(|source| ListError {
            path: path.clone(),
            source,
        })?;
        matcher.add(&list_name(path), &parse_entries(&text));
    }
    Ok(matcher)
}

/// How a list is named in messages: its file name.
fn list_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The lists of a running campaign, re-read when one changes.
pub struct Watch {
    lists: Vec<PathBuf>,
    seen: Vec<Option<(SystemTime, u64)>>,
    /// The campaign's recipients not yet stopped by a list.
    recipients: Vec<String>,
}

impl Watch {
    /// Watch `lists` for the `recipients` still to be sent.
    pub fn new(lists: Vec<PathBuf>, recipients: Vec<String>) -> Watch {
        let seen = lists.iter().map(|path| stamp(path)).collect();
        Watch {
            lists,
            seen,
            recipients,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The stops the lists ask for now, changed or not (a resume).
    pub fn check_now(&mut self) -> Vec<StopRequest> {
        self.seen = self.lists.iter().map(|path| stamp(path)).collect();
        self.stops()
    }

    /// If a list changed since the last look: the stops its entries now
    /// ask for (one request per matching list line), else nothing.
    pub fn changes(&mut self) -> Vec<StopRequest> {
        let now: Vec<_> = self.lists.iter().map(|path| stamp(path)).collect();
        if now == self.seen {
            return Vec::new();
        }
        self.seen = now;
        self.stops()
    }

    fn stops(&mut self) -> Vec<StopRequest> {
        // A list being written may be half there; the next look sees the rest.
        let Ok(matcher) = load(&self.lists) else {
            return Vec::new();
        };
        let mut requests: Vec<StopRequest> = Vec::new();
        let mut still = Vec::with_capacity(self.recipients.len());
        for recipient in self.recipients.drain(..) {
            let Some(hit) = matcher.find(&recipient) else {
                still.push(recipient);
                continue;
            };
            let source = format!("suppress list {} line {}", hit.list, hit.line);
            match requests.iter_mut().find(|r| r.source == source) {
                Some(request) => request.targets.push(StopTarget::Recipient(recipient)),
                None => requests.push(StopRequest {
                    targets: vec![StopTarget::Recipient(recipient)],
                    reason: format!(
                        "on the do-not-contact list {} line {} ({})",
                        hit.list, hit.line, hit.text
                    ),
                    source,
                    at: Utc::now(),
                }),
            }
        }
        self.recipients = still;
        requests
    }
}

/// When a file last changed, and its size; `None` if it cannot be read.
fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_edited_mid_campaign_stops_only_the_newly_named() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("dnc.csv");
        std::fs::write(&list, "# nobody yet\n").unwrap();
        let mut watch = Watch::new(
            vec![list.clone()],
            vec![
                "ann@acme.test".into(),
                "bo@other.test".into(),
                "C123".into(),
            ],
        );
        assert!(watch.changes().is_empty(), "nothing changed");
        // A later mtime even on a coarse clock: the size changes too.
        std::fs::write(&list, "# nobody yet\n*@acme.test\nC123\n").unwrap();
        let requests = watch.changes();
        assert_eq!(requests.len(), 2, "{requests:?}");
        assert_eq!(requests[0].source, "suppress list dnc.csv line 2");
        assert_eq!(
            requests[0].targets,
            vec![StopTarget::Recipient("ann@acme.test".into())]
        );
        assert_eq!(
            requests[0].reason,
            "on the do-not-contact list dnc.csv line 2 (*@acme.test)"
        );
        assert_eq!(
            requests[1].targets,
            vec![StopTarget::Recipient("C123".into())]
        );
        assert!(watch.changes().is_empty(), "each person once");
    }

    #[test]
    fn a_missing_list_names_its_path() {
        let error = load(&[PathBuf::from("/nonexistent/dnc.csv")]).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/dnc.csv"),
            "{error}"
        );
        assert!(error.to_string().contains("`suppress`"), "{error}");
    }
}
