//! What `send` would do with its journal, found without writing anything:
//! `send --dry-run` prints it after the plan.
//!
//! The rules, in the order `session::send` applies them:
//! 1. No journal (no file; no such campaign in the database): `send`
//!    creates it, and in a database the schema first, or upgrades it.
//! 2. A sender works on it now: refused.
//! 3. `--restart`: a file is moved aside and a new one made; a database
//!    refuses (a campaign starts again under a new name).
//! 4. The journal holds another CSV's campaign, or cannot be read: an error
//!    naming the file and what to do.
//! 5. A finished campaign: `send` says so and sends nothing (exit 0); one
//!    under way is refused, pointing at `resume` and `--restart`.
//!
//! The texts of 3 and 5 live here and `session::send` prints the same, so
//! a dry run and the real send never disagree. Nothing here creates a
//! file, a lock, a table or a campaign.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::campaign::Campaign;
use crate::exit_codes;
use crate::journal::pg_preflight::{self, PgProbe};
use crate::journal::pg_schema::SCHEMA_VERSION;
use crate::journal::{
    AnyStore, CampaignStore, JournalError, JournalLock, SqliteStore, StateCounts,
};
use crate::state::changes::match_campaign;
use crate::state::location::{self, Location};
use crate::state::paths::{archive_path, explain_open_error};
use crate::state::saved::SavedOptions;
use crate::state::start;

/// A campaign already in the journal `send` would use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub counts: StateCounts,
    /// The journal, as messages name it.
    pub journal: PathBuf,
    /// `outreach resume --state ...`: how to continue it.
    pub resume: String,
    /// For a campaign in a database, the `outreach worker` command that
    /// would send it too (and `--restart` does not apply there).
    pub worker: Option<Box<str>>,
}

impl Existing {
    /// Nothing left to send: `send` stops with success.
    pub fn is_complete(&self) -> bool {
        self.counts.is_settled()
    }

    /// What `send` says on a finished campaign before it exits 0.
    pub fn complete_text(&self) -> String {
        let c = &self.counts;
        format!(
            "This campaign is already complete ({} sent, {} failed, {} skipped, journal {}); nothing was sent again.\n\
             To send to the same recipients again on purpose, use `outreach send --restart` (the old journal is kept).",
            c.sent,
            c.failed,
            c.skipped,
            self.journal.display()
        )
    }

    /// Why `send` refuses a campaign under way.
    pub fn under_way_text(&self) -> String {
        let c = &self.counts;
        format!(
            "this CSV's campaign is already under way ({} sent, {} pending, {} uncertain, {} failed; journal {}); \
             nothing was sent. Continue it with {}",
            c.sent,
            c.pending + c.in_flight,
            c.uncertain,
            c.failed,
            self.journal.display(),
            match &self.worker {
                Some(worker) => format!(
                    "`{}` or `{worker}` on any machine, or begin a new campaign on purpose under another name (--campaign NEW_NAME)",
                    self.resume
                ),
                None => format!(
                    "`{}`, or begin a new campaign on purpose with --restart",
                    self.resume
                ),
            }
        )
    }
}

/// Why `send --restart` is refused on a campaign in a database.
pub fn restart_in_database(location: &Location) -> String {
    format!(
        "--restart: {location} exists; in a database a campaign is started again under \
         a new name: pass --campaign NEW_NAME (the old campaign stays as it is)"
    )
}

/// The campaign in `store`, the journal at `location`, checked to be the
/// one of `campaign`'s inputs (another CSV's journal is an error).
pub fn existing(
    location: &Location,
    store: &AnyStore,
    campaign: &Campaign,
) -> anyhow::Result<Existing> {
    let state = location.as_path();
    let Some(meta) = store.campaign()? else {
        return Err(explain_open_error(
            JournalError::NoCampaign {
                path: state.clone(),
            },
            &state,
        ));
    };
    let saved_config = SavedOptions::of(&meta)
        .ok()
        .and_then(|saved| saved.flags.config);
    let config = campaign.spec.config.path.as_deref().map(start::absolute);
    match_campaign(
        &state,
        &meta.inputs,
        saved_config.as_deref(),
        &start::input_digests(campaign),
        config.as_deref(),
    )?;
    Ok(Existing {
        counts: store.summary()?.counts,
        journal: state,
        resume: format!("outreach resume {}", location.flags()),
        worker: matches!(location, Location::Postgres { .. })
            .then(|| location.worker_command().into()),
    })
}

/// What a database's schema needs before `send` can store a campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaWork {
    /// A file, or a database at this build's version.
    Nothing,
    /// An empty database: every table is created.
    Create { version: i64 },
    /// An older outreach's database: upgraded in place.
    Upgrade { from: i64, to: i64 },
}

impl SchemaWork {
    fn of(probe: PgProbe) -> SchemaWork {
        match probe.version {
            0 => SchemaWork::Create {
                version: SCHEMA_VERSION,
            },
            found if found < SCHEMA_VERSION => SchemaWork::Upgrade {
                from: found,
                to: SCHEMA_VERSION,
            },
            _ => SchemaWork::Nothing,
        }
    }
}

/// What `send` would do with its journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No journal yet: `send` creates it (`journal` names it).
    Create { journal: String, schema: SchemaWork },
    /// `--restart` on a file: it is moved to `archive`, a new one made.
    Restart { journal: PathBuf, archive: PathBuf },
    /// Finished: `send` says so and sends nothing.
    Complete(Existing),
    /// `send` would stop with this error.
    Refused(String),
}

impl Verdict {
    /// The exit code `send` would end with before sending anything.
    pub fn exit_code(&self) -> i32 {
        match self {
            Verdict::Refused(_) => exit_codes::ERROR,
            _ => exit_codes::SUCCESS,
        }
    }

    /// The lines `send --dry-run` prints after the plan.
    pub fn text(&self) -> String {
        match self {
            Verdict::Create {
                journal,
                schema: SchemaWork::Nothing,
            } => format!("journal: {journal} does not exist yet; send will create it"),
            Verdict::Create {
                journal,
                schema: SchemaWork::Create { version },
            } => format!(
                "journal: {journal} does not exist yet, and the database has no outreach tables: \
                 send will create the schema (version {version}), then the campaign"
            ),
            Verdict::Create {
                journal,
                schema: SchemaWork::Upgrade { from, to },
            } => format!(
                "journal: {journal} does not exist yet; send will upgrade the database's schema \
                 from version {from} to {to}, then create the campaign"
            ),
            Verdict::Restart { journal, archive } => format!(
                "journal: {} holds a campaign; with --restart send will move it aside as {} \
                 and create a new one",
                journal.display(),
                archive.display()
            ),
            Verdict::Complete(existing) => {
                format!("journal: {}", existing.complete_text())
            }
            Verdict::Refused(why) => format!("journal: send would refuse: {why}"),
        }
    }
}

/// What `send` (with `--restart` if `restart`) would do with the journal at
/// `location` for `campaign`; reads only. Errors are those `send` would
/// stop with too: a journal that cannot be read, a database that cannot be
/// reached or is newer than this build.
pub fn check(
    location: &Location,
    restart: bool,
    campaign: &Campaign,
    now: DateTime<Utc>,
) -> anyhow::Result<Verdict> {
    let store = match location {
        Location::File(path) => match check_file(path, restart, now) {
            Ok(store) => store,
            Err(verdict) => return Ok(verdict),
        },
        Location::Postgres { url, campaign, .. } => {
            let probe = pg_preflight::probe(url, campaign)?;
            if !probe.campaign_exists {
                return Ok(Verdict::Create {
                    journal: location.to_string(),
                    schema: SchemaWork::of(probe),
                });
            }
            if restart {
                return Ok(Verdict::Refused(restart_in_database(location)));
            }
            let store = location::open_read_only(location)?;
            if location::sender(location, &store).running() {
                let busy = JournalError::CampaignBusy {
                    url: url.redacted(),
                    name: campaign.clone(),
                };
                return Ok(Verdict::Refused(busy.to_string()));
            }
            Ok(store)
        }
    }?;
    let existing = existing(location, &store, campaign)?;
    Ok(if existing.is_complete() {
        Verdict::Complete(existing)
    } else {
        Verdict::Refused(existing.under_way_text())
    })
}

/// Rules 1 to 3 for a file: `Err` is the verdict, `Ok` the journal to read,
/// opened without creating anything beside it.
fn check_file(
    path: &Path,
    restart: bool,
    now: DateTime<Utc>,
) -> Result<anyhow::Result<AnyStore>, Verdict> {
    if !path.exists() {
        return Err(Verdict::Create {
            journal: path.display().to_string(),
            schema: SchemaWork::Nothing,
        });
    }
    if let Some(pid) = JournalLock::holder(path) {
        let busy = JournalError::Locked {
            path: path.to_path_buf(),
            pid,
        };
        return Err(Verdict::Refused(busy.to_string()));
    }
    if restart {
        return Err(Verdict::Restart {
            journal: path.to_path_buf(),
            archive: archive_path(path, now),
        });
    }
    Ok(SqliteStore::open_untouched(path)
        .map(AnyStore::Sqlite)
        .map_err(|error| explain_open_error(error, path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing(pending: u64) -> Existing {
        Existing {
            counts: StateCounts {
                total: 3 + pending,
                sent: 3,
                pending,
                ..StateCounts::default()
            },
            journal: "q4.outreach.db".into(),
            resume: "outreach resume --state q4.outreach.db".into(),
            worker: None,
        }
    }

    #[test]
    fn a_campaign_under_way_in_a_database_names_resume_workers_and_a_new_name() {
        let in_database = Existing {
            journal: "campaign `q4` in postgres://db.example/outreach".into(),
            resume: "outreach resume --campaign q4".into(),
            worker: Some("outreach worker".into()),
            ..existing(2)
        };
        assert!(
            in_database.under_way_text().ends_with(
                "Continue it with `outreach resume --campaign q4` or `outreach worker` on any machine, \
                 or begin a new campaign on purpose under another name (--campaign NEW_NAME)"
            ),
            "{}",
            in_database.under_way_text()
        );
    }

    #[test]
    fn a_campaign_under_way_is_refused_naming_resume_and_restart() {
        let verdict = Verdict::Refused(existing(2).under_way_text());
        assert_eq!(verdict.exit_code(), exit_codes::ERROR);
        assert_eq!(
            verdict.text(),
            "journal: send would refuse: this CSV's campaign is already under way (3 sent, 2 pending, \
             0 uncertain, 0 failed; journal q4.outreach.db); nothing was sent. Continue it with \
             `outreach resume --state q4.outreach.db`, or begin a new campaign on purpose with --restart"
        );
    }

    #[test]
    fn a_finished_campaign_is_not_a_failure() {
        let done = existing(0);
        assert!(done.is_complete());
        let verdict = Verdict::Complete(done);
        assert_eq!(verdict.exit_code(), exit_codes::SUCCESS);
        assert!(verdict.text().starts_with(
            "journal: This campaign is already complete (3 sent, 0 failed, 0 skipped, journal q4.outreach.db)"
        ));
    }

    #[test]
    fn the_schema_work_follows_the_version_found() {
        let probe = |version| PgProbe {
            version,
            campaign_exists: false,
        };
        assert_eq!(
            SchemaWork::of(probe(0)),
            SchemaWork::Create {
                version: SCHEMA_VERSION
            }
        );
        assert_eq!(SchemaWork::of(probe(SCHEMA_VERSION)), SchemaWork::Nothing);
        if SCHEMA_VERSION > 1 {
            assert_eq!(
                SchemaWork::of(probe(1)),
                SchemaWork::Upgrade {
                    from: 1,
                    to: SCHEMA_VERSION
                }
            );
        }
        let fresh = Verdict::Create {
            journal: "campaign `q4` in postgres://db/x".into(),
            schema: SchemaWork::of(probe(0)),
        };
        assert!(fresh.text().contains("send will create the schema"));
        assert_eq!(fresh.exit_code(), exit_codes::SUCCESS);
    }
}
