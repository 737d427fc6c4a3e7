//! Where a campaign's journal lives, decided once for every command: an
//! SQLite file (the default, beside the CSV; see [`super::paths`]) or a
//! campaign in a PostgreSQL database, chosen by `--state postgres://...`
//! or the environment variable `OUTREACH_DATABASE_URL`, and named there by
//! `--campaign NAME` (for `send`: by default the CSV's file stem, as the
//! SQLite journal's file name is).
//!
//! The one seam where stores are opened: [`create_store`], [`open_store`],
//! [`open_read_only`], [`open_for_stops`]. A password may only come from
//! the environment (`OUTREACH_DATABASE_URL` or `PGPASSWORD`): a URL with
//! one given as a flag is refused, and every message shows the URL
//! redacted.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::journal::{AnyStore, DbUrl, JournalError, PgStore, SqliteStore};
use crate::state::paths::{default_state_path, explain_open_error, find_state};

/// The environment variable naming the database, when `--state` does not.
pub const DATABASE_URL_VAR: &str = "OUTREACH_DATABASE_URL";

/// A campaign's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Postgres {
        url: DbUrl,
        campaign: String,
        /// The URL came from `OUTREACH_DATABASE_URL`, so hints need not
        /// repeat it.
        from_env: bool,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres { url, campaign, .. } => {
                write!(f, "campaign `{campaign}` in {url}")
            }
        }
    }
}

impl Location {
    /// The flags that name this journal again, for hints such as
    /// `outreach resume --state ...`.
    /// The `outreach worker` command for this campaign's database: the URL
    /// only when it did not come from the environment.
    pub fn worker_command(&self) -> String {
        match self {
            Location::Postgres {
                url,
                from_env: false,
                ..
            } => format!("outreach worker --state {url}"),
            _ => "outreach worker".to_string(),
        }
    }

    pub fn flags(&self) -> String {
        match self {
            Location::File(path) => format!("--state {}", path.display()),
            Location::Postgres {
                campaign,
                from_env: true,
                ..
            } => format!("--campaign {campaign}"),
            Location::Postgres { url, campaign, .. } => {
                format!("--state {url} --campaign {campaign}")
            }
        }
    }

    /// The file, for an SQLite journal.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Postgres { .. } => None,
        }
    }

    /// A path-like name for messages that name a file.
    pub fn as_path(&self) -> PathBuf {
        match self {
            Location::File(path) => path.clone(),
            other => PathBuf::from(other.to_string()),
        }
    }
}

/// The database named by `--state` (if it is a URL) or the environment,
/// and whether it came from the environment.
fn database(state: Option<&Path>) -> anyhow::Result<Option<(DbUrl, bool)>> {
    if let Some(state) = state {
        let text = state.to_string_lossy();
        if !DbUrl::is_postgres(&text) {
            return Ok(None);
        }
        let url = DbUrl::parse(&text)?;
        if url.has_password() {
            bail!(
                "--state {url}: a password in a flag shows in process lists and shell history; \
                 put the URL in the environment variable {DATABASE_URL_VAR}, or the password in PGPASSWORD"
            );
        }
        return Ok(Some((url, false)));
    }
    match std::env::var(DATABASE_URL_VAR) {
        Ok(text) if !text.trim().is_empty() => {
            let url = DbUrl::parse(text.trim())
                .map_err(|error| anyhow::anyhow!("{DATABASE_URL_VAR}: {error}"))?;
            Ok(Some((url, true)))
        }
        _ => Ok(None),
    }
}

/// `worker`: the database it works on; workers need PostgreSQL.
pub fn database_for_worker(state: Option<&Path>) -> anyhow::Result<DbUrl> {
    match database(state)? {
        Some((url, _)) => Ok(url),
        None => match state {
            Some(path) => bail!(
                "--state {}: `outreach worker` works on campaigns in PostgreSQL (postgres://USER@HOST/DB); \
                 an SQLite journal is sent by `outreach resume`",
                path.display()
            ),
            None => bail!(
                "`outreach worker` needs a PostgreSQL database: pass --state postgres://USER@HOST/DB \
                 or set {DATABASE_URL_VAR}"
            ),
        },
    }
}

fn refuse_campaign_for_file(campaign: Option<&str>) -> anyhow::Result<()> {
    if let Some(name) = campaign {
        bail!(
            "--campaign {name} names a campaign in a PostgreSQL database, but no database is given: \
             pass --state postgres://USER@HOST/DB or set {DATABASE_URL_VAR} (an SQLite journal holds one campaign)"
        );
    }
    Ok(())
}

/// `send`: where the new campaign of `csv` goes.
pub fn for_send(
    state: Option<&Path>,
    campaign: Option<&str>,
    csv: &Path,
) -> anyhow::Result<Location> {
    if let Some((url, from_env)) = database(state)? {
        let campaign = match campaign {
            Some(name) => name.to_string(),
            None => csv
                .file_stem()
                .map_or_else(|| "campaign".into(), |s| s.to_string_lossy().to_string()),
        };
        return Ok(Location::Postgres {
            url,
            campaign,
            from_env,
        });
    }
    refuse_campaign_for_file(campaign)?;
    Ok(Location::File(state.map_or_else(
        || default_state_path(csv),
        Path::to_path_buf,
    )))
}

/// `resume`, `report`, `stop`: an existing campaign. In a database without
/// `--campaign`, the only campaign there is.
pub fn for_existing(state: Option<&Path>, campaign: Option<&str>) -> anyhow::Result<Location> {
    match database(state)? {
        Some((url, from_env)) => {
            let campaign = match campaign {
                Some(name) => name.to_string(),
                None => only_campaign(&url)?,
            };
            Ok(Location::Postgres {
                url,
                campaign,
                from_env,
            })
        }
        None => {
            refuse_campaign_for_file(campaign)?;
            Ok(Location::File(match state {
                Some(path) => path.to_path_buf(),
                None => find_state(&std::env::current_dir()?)?,
            }))
        }
    }
}

/// `status` without `--campaign` on a database: `Err(url)` means list them.
pub fn for_status(
    state: Option<&Path>,
    campaign: Option<&str>,
) -> anyhow::Result<Result<Location, DbUrl>> {
    if campaign.is_none()
        && let Some((url, _)) = database(state)?
    {
        return Ok(Err(url));
    }
    for_existing(state, campaign).map(Ok)
}

fn only_campaign(url: &DbUrl) -> anyhow::Result<String> {
    let campaigns = PgStore::campaigns(url)?;
    match campaigns.as_slice() {
        [one] => Ok(one.name.clone()),
        _ => Err(JournalError::NoSuchCampaign {
            url: url.redacted(),
            name: "(none given)".into(),
            known: campaigns.into_iter().map(|c| c.name).collect(),
        }
        .into()),
    }
}

/// Whether the journal exists (`send`: a campaign already there).
pub fn exists(location: &Location) -> anyhow::Result<bool> {
    match location {
        Location::File(path) => Ok(path.exists()),
        // Probed, not listed: a database of an older schema is upgraded by
        // `send`, not refused as `status` refuses to list it.
        Location::Postgres { url, campaign, .. } => {
            Ok(crate::journal::pg_preflight::probe(url, campaign)?.campaign_exists)
        }
    }
}

/// A new journal (`send`), before its campaign is stored.
pub fn create_store(location: &Location) -> Result<AnyStore, JournalError> {
    match location {
        Location::File(path) => SqliteStore::create(path).map(AnyStore::Sqlite),
        Location::Postgres { url, campaign, .. } => {
            PgStore::create(url, campaign).map(AnyStore::Postgres)
        }
    }
}

/// The journal, for sending (`resume`): its writer lock taken.
pub fn open_store(location: &Location) -> anyhow::Result<AnyStore> {
    match location {
        Location::File(path) => SqliteStore::open(path)
            .map(AnyStore::Sqlite)
            .map_err(|error| explain_open_error(error, path)),
        Location::Postgres { url, campaign, .. } => {
            Ok(PgStore::open(url, campaign).map(AnyStore::Postgres)?)
        }
    }
}

/// The journal, to read (`status`, `report`), beside a running sender.
pub fn open_read_only(location: &Location) -> anyhow::Result<AnyStore> {
    match location {
        Location::File(path) => SqliteStore::open_read_only(path)
            .map(AnyStore::Sqlite)
            .map_err(|error| explain_open_error(error, path)),
        Location::Postgres { url, campaign, .. } => {
            Ok(PgStore::open_read_only(url, campaign).map(AnyStore::Postgres)?)
        }
    }
}

/// The journal, to record stops beside a running sender.
pub fn open_for_stops(location: &Location) -> Result<AnyStore, JournalError> {
    match location {
        Location::File(path) => SqliteStore::open_for_stops(path).map(AnyStore::Sqlite),
        Location::Postgres { url, campaign, .. } => {
            PgStore::open_for_stops(url, campaign).map(AnyStore::Postgres)
        }
    }
}

/// Whether a `send` or `resume` works on the journal now.
pub fn sender(location: &Location, store: &AnyStore) -> crate::state::standing::Sender {
    use crate::state::standing::Sender;
    match (location, store) {
        (Location::File(path), _) => Sender::of(path),
        (_, AnyStore::Postgres(store)) => match store.sender_running() {
            Ok(true) => Sender::Running { pid: None },
            _ => match store.workers_holding() {
                Ok(count) if count > 0 => Sender::Workers { count },
                _ => Sender::Stopped,
            },
        },
        (_, AnyStore::Sqlite(_)) => Sender::Stopped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_in_state_chooses_the_database_and_the_csv_names_the_campaign() {
        let location = for_send(
            Some(Path::new("postgres://ann@db.example/outreach")),
            None,
            Path::new("lists/q4.csv"),
        )
        .unwrap();
        assert_eq!(
            location.to_string(),
            "campaign `q4` in postgres://ann@db.example/outreach"
        );
        assert_eq!(
            location.flags(),
            "--state postgres://ann@db.example/outreach --campaign q4"
        );
        let file = for_send(Some(Path::new("x.outreach.db")), None, Path::new("q4.csv")).unwrap();
        assert_eq!(file, Location::File("x.outreach.db".into()));
    }

    #[test]
    fn a_password_in_the_flag_is_refused_without_showing_it() {
        let error = for_send(
            Some(Path::new("postgres://ann:s3cret@db/x")),
            None,
            Path::new("q4.csv"),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains(DATABASE_URL_VAR), "{error}");
        assert!(!error.contains("s3cret"), "{error}");
    }

    #[test]
    fn campaign_names_need_a_database() {
        let error = for_send(Some(Path::new("x.db")), Some("q4"), Path::new("q4.csv"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--campaign q4"), "{error}");
    }
}
