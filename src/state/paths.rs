//! Where a campaign's journal lives: beside the CSV by default
//! (`recipients.csv` -> `recipients.outreach.db`), or at `--state PATH`.

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
    let stamp = now.format("%Y-%m-%dT%H-%M-%SZ");
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
