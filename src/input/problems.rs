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

/// How many line numbers a group of rows with the same problem lists.
const SHOWN_LINES: usize = 5;

impl Problems {
    /// The problems grouped by message, in the order each first appears:
    /// 44 rows without a template are one thing to fix, not 44.
    fn grouped(&self) -> Vec<(&str, Vec<u64>)> {
        let mut groups: Vec<(&str, Vec<u64>)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for problem in &self.items {
            let at = *index.entry(problem.message.as_str()).or_insert_with(|| {
                groups.push((problem.message.as_str(), Vec::new()));
                groups.len() - 1
            });
            groups[at].1.push(problem.line);
        }
        groups
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.items.len();
        let noun = if count == 1 { "problem" } else { "problems" };
        write!(f, "{} has {count} {noun}:", self.path.display())?;
        let groups = self.grouped();
        for (message, lines) in groups.iter().take(SHOWN_PROBLEMS) {
            match lines.as_slice() {
                [line] => write!(f, "\n  line {line}: {message}")?,
                _ => {
                    let shown: Vec<String> =
                        lines.iter().take(SHOWN_LINES).map(u64::to_string).collect();
                    let more = match lines.len().saturating_sub(SHOWN_LINES) {
                        0 => String::new(),
                        n => format!(" and {n} more"),
                    };
                    write!(
                        f,
                        "\n  lines {}{more} ({} rows): {message}",
                        shown.join(", "),
                        lines.len()
                    )?;
                }
            }
        }
        if groups.len() > SHOWN_PROBLEMS {
            let rest: usize = groups[SHOWN_PROBLEMS..].iter().map(|(_, l)| l.len()).sum();
            write!(f, "\n  ... and {rest} more")?;
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
            problems.push(line, format!("unknown time zone `Zone{line}`"));
        }
        let text = problems.into_result().unwrap_err().to_string();
        assert!(text.starts_with("r.csv has 28 problems:\n  line 2: unknown time zone `Zone2`"));
        assert!(text.contains("... and 8 more"));
        assert!(!text.contains("line 29"));
    }

    #[test]
    fn rows_with_the_same_problem_are_one_line() {
        let mut problems = Problems::new(Path::new("r.csv"));
        for line in 2..46 {
            problems.push(line, "no template for this row");
        }
        problems.push(5, "empty recipient");
        problems.push(7, "empty recipient");
        let text = problems.into_result().unwrap_err().to_string();
        assert_eq!(
            text,
            "r.csv has 46 problems:\n  \
             lines 2, 3, 4, 5, 6 and 39 more (44 rows): no template for this row\n  \
             lines 5, 7 (2 rows): empty recipient\n\
             Fix these rows and run the command again; nothing was sent."
        );
    }

    #[test]
    fn empty_is_ok() {
        assert!(Problems::new(Path::new("r.csv")).into_result().is_ok());
    }
}
