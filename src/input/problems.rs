//! A list of problems found in one input file, reported all at once.
//!
//! Users fix a CSV in one pass when they see every bad row, not only the first,
//! so validation collects problems here (up to a cap) instead of stopping.

use std::fmt;
use std::path::{Path, PathBuf};

/// How many problems are listed before the rest are only counted.
pub const SHOWN_PROBLEMS: usize = 20;

/// One problem at one line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub message: String,
}

/// Every problem found in one file, in line order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    pub path: PathBuf,
    pub items: Vec<Problem>,
}

impl Problems {
    pub fn new(path: &Path) -> Problems {
        Problems {
            path: path.to_path_buf(),
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, line: u64, message: impl Into<String>) {
        self.items.push(Problem {
            line,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// `Ok(())` when nothing was found, else the problems as an error.
    pub fn into_result(mut self) -> Result<(), Problems> {
        if self.items.is_empty() {
            Ok(())
        } else {
            self.items.sort_by_key(|problem| problem.line);
            Err(self)
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.items.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "{} has {count} {noun}:", self.path.display())?;
        for problem in self.items.iter().take(SHOWN_PROBLEMS) {
            write!(f, "\n  line {}: {}", problem.line, problem.message)?;
        }
        if count > SHOWN_PROBLEMS {
            write!(f, "\n  ... and {} more", count - SHOWN_PROBLEMS)?;
        }
        write!(
            f,
            "\nFix these rows and run the command again; nothing was sent."
        )
    }
}

impl std::error::Error for Problems {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_up_to_the_cap_then_counts() {
        let mut problems = Problems::new(Path::new("r.csv"));
        for line in (2..30).rev() {
            problems.push(line, "empty recipient");
        }
        let text = problems.into_result().unwrap_err().to_string();
        assert!(text.starts_with("r.csv has 28 problems:\n  line 2: empty recipient"));
        assert!(text.contains("... and 8 more"));
        assert!(!text.contains("line 29"));
    }

    #[test]
    fn empty_is_ok() {
        assert!(Problems::new(Path::new("r.csv")).into_result().is_ok());
    }
}
