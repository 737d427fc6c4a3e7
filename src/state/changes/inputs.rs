//! Whether the inputs given are the ones the journal's campaign was made
//! from: the CSV path names the campaign, and the digests of the CSV, the
//! templates and the config say whether it changed.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::journal::InputDigest;

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

#[cfg(test)]
mod tests {
    use super::*;

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
