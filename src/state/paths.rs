//! Where a campaign's journal lives: beside the CSV by default
//! (`recipients.csv` -> `recipients.outreach.db`), or at `--state PATH`.
//!
//! `--restart` keeps the old journal beside the new one under a dated name
//! (`recipients.2026-11-28T17-05-00Z.outreach.db`); `status` and `resume`
//! without `--state` look past such kept journals to the current one.

use std::path::{Path, PathBuf};

/// The suffix of journal files.
pub const SUFFIX: &str = ".outreach.db";

/// Why no journal could be chosen.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    #[error(
        "no campaign journal (*{SUFFIX}) in {dir}; pass --state PATH, or start a campaign with `outreach send CSV`"
    )]
    None { dir: PathBuf },
    #[error("several campaign journals in {dir}: {found}; pick one with --state PATH")]
    Several { dir: PathBuf, found: String },
    #[error("cannot list {dir}: {source}")]
    Read {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// The default journal of a CSV.
pub fn default_state_path(csv: &Path) -> PathBuf {
    let stem = csv
        .file_stem()
        .map_or_else(|| "campaign".into(), |s| s.to_string_lossy().to_string());
    csv.with_file_name(format!("{stem}{SUFFIX}"))
}

/// The one journal in `dir`, for `resume` and `status` without `--state`.
pub fn find_state(dir: &Path) -> Result<PathBuf, FindError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FindError::Read {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.to_string_lossy().ends_with(SUFFIX))
        .collect();
    found.sort();
    // A journal kept by --restart is not a candidate while the journal that
    // replaced it is there.
    let names: Vec<String> = found.iter().map(|path| file_name(path)).collect();
    found.retain(|path| {
        archived_from(&file_name(path)).is_none_or(|current| !names.contains(&current))
    });
    match found.len() {
        0 => Err(FindError::None {
            dir: dir.to_path_buf(),
        }),
        1 => Ok(found.remove(0)),
        _ => Err(FindError::Several {
            dir: dir.to_path_buf(),
            found: found
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string())
}

/// For a name made by [`archive_path`], the name of the journal it was
/// moved aside from: `r.2026-11-28T17-05-00Z-2.outreach.db` -> `r.outreach.db`.
fn archived_from(name: &str) -> Option<String> {
    let (stem, stamp) = name.strip_suffix(SUFFIX)?.rsplit_once('.')?;
    let (time, counter) = stamp.split_at_checked(STAMP_LEN)?;
    chrono::NaiveDateTime::parse_from_str(time, STAMP).ok()?;
    let counter_ok = counter.is_empty()
        || counter
            .strip_prefix('-')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    counter_ok.then(|| format!("{stem}{SUFFIX}"))
}

/// The time in a kept journal's name, and its length.
const STAMP: &str = "%Y-%m-%dT%H-%M-%SZ";
const STAMP_LEN: usize = "2026-11-28T17-05-00Z".len();

/// A journal that cannot be opened, explained for `send`, `resume` and
/// `status`: files cut off while `send` was creating them get a pointer to
/// `--restart` instead of SQLite's internals.
pub fn explain_open_error(error: crate::journal::JournalError, state: &Path) -> anyhow::Error {
    use crate::journal::JournalError as E;
    match error {
        E::Missing { .. }
        | E::Locked { .. }
        | E::NewerSchema { .. }
        | E::OlderSchema { .. }
        | E::NoCampaign { .. } => error.into(),
        E::NotSqlite { .. } | E::Foreign { .. } | E::Corrupt { .. } | E::Sqlite { .. } => {
            anyhow::anyhow!(
                "{error}. If `outreach send` was interrupted while creating this journal, nothing was sent from it: \
                 start the campaign over with `outreach send --restart` on the same CSV \
                 (with --state {}; this file is kept beside the new one)",
                state.display()
            )
        }
        other => other.into(),
    }
}

/// Where `--restart` moves an old journal: `recipients.2026-11-28T17-05-00Z.outreach.db`.
/// Never an existing file: a second restart within the same second gets `-2`.
pub fn archive_path(state: &Path, now: chrono::DateTime<chrono::Utc>) -> PathBuf {
    let name = state
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().to_string());
    let stem = name.strip_suffix(SUFFIX).unwrap_or(&name);
    let stamp = now.format(STAMP);
    let mut candidate = state.with_file_name(format!("{stem}.{stamp}{SUFFIX}"));
    let mut n = 2;
    while candidate.exists() {
        candidate = state.with_file_name(format!("{stem}.{stamp}-{n}{SUFFIX}"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_sits_beside_the_csv() {
        assert_eq!(
            default_state_path(Path::new("data/recipients.csv")),
            Path::new("data/recipients.outreach.db")
        );
        let archived = archive_path(
            Path::new("data/r.outreach.db"),
            "2026-11-28T17:05:00Z".parse().unwrap(),
        );
        assert_eq!(
            archived,
            Path::new("data/r.2026-11-28T17-05-00Z.outreach.db")
        );
    }

    #[test]
    fn after_a_restart_the_current_journal_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let now = "2026-11-28T17:05:00Z".parse().unwrap();
        let current = dir.path().join("r.outreach.db");
        std::fs::write(&current, b"").unwrap();
        for _ in 0..2 {
            std::fs::write(archive_path(&current, now), b"").unwrap();
        }
        assert!(
            dir.path()
                .join("r.2026-11-28T17-05-00Z-2.outreach.db")
                .exists()
        );
        assert_eq!(find_state(dir.path()).unwrap(), current);
        // Kept journals alone are still a choice to make.
        std::fs::remove_file(&current).unwrap();
        assert!(matches!(
            find_state(dir.path()),
            Err(FindError::Several { .. })
        ));
        assert_eq!(
            archived_from("r.2026-11-28T17-05-00Z.outreach.db").as_deref(),
            Some("r.outreach.db")
        );
        assert_eq!(archived_from("r.final.outreach.db"), None);
        assert_eq!(archived_from("r.2026-11-28T17-05-00Z-x.outreach.db"), None);
    }

    #[test]
    fn finds_exactly_one_journal() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_state(dir.path()),
            Err(FindError::None { .. })
        ));
        std::fs::write(dir.path().join("a.outreach.db"), b"").unwrap();
        assert_eq!(
            find_state(dir.path()).unwrap(),
            dir.path().join("a.outreach.db")
        );
        std::fs::write(dir.path().join("b.outreach.db"), b"").unwrap();
        assert!(
            find_state(dir.path())
                .unwrap_err()
                .to_string()
                .contains("pick one with --state")
        );
    }
}
