//! `outreach stop`: who to stop (named, from a file, by domain), recording
//! the stop in a campaign's journal, and the sentence that says what it did.
//!
//! The journal is opened with `open_for_stops` (`state::location`), never with
//! the sender's lock, so a stop lands while `send` or `resume` runs: the
//! sender's next claim of a stopped person's message is refused.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::list::parse_entries;
use crate::input::{CsvError, RecipientTable};
use crate::journal::stops::DEFAULT_REASON;
use crate::journal::{JournalError, StopReport, StopRequest, StopStore, StopTarget};
use crate::state::location::Location;

/// What `outreach stop` was asked, its flags parsed.
#[derive(Debug, Clone, Default)]
pub struct StopOrder {
    pub recipients: Vec<String>,
    pub from: Option<PathBuf>,
    pub domains: Vec<String>,
    pub reason: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("nobody to stop: name recipients, or pass --from FILE.csv or --domain DOMAIN")]
    Nobody,
    #[error("--from {path}: {source}")]
    From {
        path: PathBuf,
        #[source]
        source: CsvError,
    },
    #[error("--from {path}: cannot read it: {source}")]
    FromIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--domain `{domain}` is not a domain; write it like `acme.com`")]
    Domain { domain: String },
}

/// The source recorded with a stop given on the command line.
pub const COMMAND_SOURCE: &str = "outreach stop";

impl StopOrder {
    /// Every target, in the order given: recipients, then `--from`, then
    /// `--domain`s.
    pub fn targets(&self) -> Result<Vec<StopTarget>, StopError> {
        let mut targets: Vec<StopTarget> = self
            .recipients
            .iter()
            .map(|recipient| StopTarget::Recipient(recipient.trim().to_string()))
            .collect();
        if let Some(path) = &self.from {
            targets.extend(read_from(path)?);
        }
        for domain in &self.domains {
            let target = StopTarget::Domain(domain.clone());
            let StopTarget::Domain(normalised) = target.normalised() else {
                unreachable!("a domain target stays a domain")
            };
            if !super::list::looks_like_domain(&normalised) {
                return Err(StopError::Domain {
                    domain: domain.clone(),
                });
            }
            targets.push(StopTarget::Domain(normalised));
        }
        targets.retain(|target| target.stored_key() != "@" && !target.stored_key().is_empty());
        if targets.is_empty() {
            return Err(StopError::Nobody);
        }
        Ok(targets)
    }

    pub fn request(&self, at: DateTime<Utc>) -> Result<StopRequest, StopError> {
        Ok(StopRequest {
            targets: self.targets()?,
            reason: self
                .reason
                .clone()
                .filter(|reason| !reason.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_REASON.to_string()),
            source: COMMAND_SOURCE.to_string(),
            at,
        })
    }
}

/// Recipients of `--from`: its `recipient` column (matched as the
/// campaign's CSV is: any case, spaces, `_` or `-`), or, for a file without
/// one, its entries read as a do-not-contact list (one a line, first
/// column, `*@domain` and `domain` too); a first line that is a header
/// (`email`, `address`) is left out.
pub fn read_from(path: &Path) -> Result<Vec<StopTarget>, StopError> {
    match RecipientTable::read(path, crate::input::columns::names::RECIPIENT, None) {
        Ok((table, _problems)) => Ok(table
            .rows
            .iter()
            .filter_map(|row| row.get(Some(table.columns.recipient)))
            .map(|recipient| StopTarget::Recipient(recipient.to_string()))
            .collect()),
        Err(CsvError::NoRecipientColumn { .. }) | Err(CsvError::Empty { .. }) => {
            let text = std::fs::read_to_string(path).map_err(|source| StopError::FromIo {
                path: path.to_path_buf(),
                source,
            })?;
            Ok(parse_entries(&text)
                .into_iter()
                .filter(|entry| !(entry.line == 1 && is_header(&entry.text)))
                .map(|entry| entry.target)
                .collect())
        }
        Err(source) => Err(StopError::From {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn is_header(cell: &str) -> bool {
    let key = crate::input::columns::column_key(cell);
    matches!(
        key.as_str(),
        "email" | "emailaddress" | "address" | "mail" | "id" | "entry" | "pattern"
    )
}

/// Records `request` in the journal at `journal`, beside any running sender.
pub fn stop_in_journal(
    journal: &Location,
    request: &StopRequest,
) -> Result<StopReport, JournalError> {
    crate::state::location::open_for_stops(journal)?.stop(request)
}

/// What a stop did, one line per person already messaged, then the totals:
/// `N stopped, M already sent, K unknown (not in this campaign: a, b)`.
pub fn describe(report: &StopReport) -> String {
    let mut text = String::new();
    let (mut stopped, mut sent, mut unknown) = (0, 0, Vec::new());
    for (target, outcome) in &report.targets {
        let name = target.display();
        if outcome.is_unknown() {
            unknown.push(name);
            continue;
        }
        if outcome.in_flight > 0 {
            text.push_str(&format!(
                "{name}: {} message(s) already in flight when the stop arrived: they go; later messages stopped\n",
                outcome.in_flight
            ));
        }
        if outcome.stopped > 0 {
            // A sequence: earlier steps went, the rest is stopped now.
            if outcome.already_sent > 0 {
                text.push_str(&format!(
                    "{name}: {} message(s) already sent; {} later message(s) stopped\n",
                    outcome.already_sent, outcome.stopped
                ));
            }
            stopped += 1;
        } else if outcome.already_sent > 0 || outcome.in_flight > 0 {
            if outcome.already_sent > 0 {
                text.push_str(&format!("{name}: already sent, later messages stopped\n"));
            }
            sent += 1;
        } else {
            stopped += 1;
        }
    }
    text.push_str(&format!(
        "{stopped} stopped, {sent} already sent, {} unknown",
        unknown.len()
    ));
    if !unknown.is_empty() {
        text.push_str(&format!(
            " (not in this campaign: {}; recorded, so they are stopped if added later)",
            unknown.join(", ")
        ));
    }
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::TargetOutcome;

    #[test]
    fn targets_come_from_names_files_and_domains() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("people.csv");
        std::fs::write(&csv, "name,Recipient\nAnn,ann@x.io\nBob,bob@y.io\n").unwrap();
        let order = StopOrder {
            recipients: vec![" U1 ".into()],
            from: Some(csv),
            domains: vec!["*@Acme.com".into()],
            reason: None,
        };
        assert_eq!(
            order.targets().unwrap(),
            [
                StopTarget::Recipient("U1".into()),
                StopTarget::Recipient("ann@x.io".into()),
                StopTarget::Recipient("bob@y.io".into()),
                StopTarget::Domain("acme.com".into()),
            ]
        );
        let request = order.request(Utc::now()).unwrap();
        assert_eq!(request.reason, "stopped by hand");
    }

    #[test]
    fn a_one_column_file_is_read_as_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("people.txt");
        std::fs::write(&file, "email\nann@x.io\n# note\n*@acme.com\n").unwrap();
        assert_eq!(
            read_from(&file).unwrap(),
            [
                StopTarget::Recipient("ann@x.io".into()),
                StopTarget::Domain("acme.com".into())
            ]
        );
    }

    #[test]
    fn nobody_and_bad_domains_are_errors_naming_the_flag() {
        let error = StopOrder::default().targets().unwrap_err();
        assert!(error.to_string().contains("--from"), "{error}");
        let order = StopOrder {
            domains: vec!["not a domain".into()],
            ..StopOrder::default()
        };
        assert!(
            order
                .targets()
                .unwrap_err()
                .to_string()
                .contains("--domain")
        );
    }

    #[test]
    fn the_summary_counts_people_and_names_the_unknown() {
        let report = StopReport {
            targets: vec![
                (
                    StopTarget::Recipient("ann@x.io".into()),
                    TargetOutcome {
                        stopped: 1,
                        ..TargetOutcome::default()
                    },
                ),
                (
                    StopTarget::Recipient("bob@x.io".into()),
                    TargetOutcome {
                        already_sent: 1,
                        stopped: 1,
                        ..TargetOutcome::default()
                    },
                ),
                (
                    StopTarget::Recipient("zed".into()),
                    TargetOutcome::default(),
                ),
            ],
        };
        assert_eq!(
            describe(&report),
            "bob@x.io: 1 message(s) already sent; 1 later message(s) stopped\n\
             2 stopped, 0 already sent, 1 unknown (not in this campaign: zed; recorded, so they are stopped if added later)\n"
        );
    }
}
