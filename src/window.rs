//! Send windows (interim: always open; the full parser lands with the pure-modules branch).

use chrono::{DateTime, Utc};

/// A set of send windows; empty means always open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WindowSet(Vec<String>);

impl WindowSet {
    pub fn next_open(&self, t: DateTime<Utc>, _tz: &chrono_tz::Tz) -> DateTime<Utc> {
        t
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Parse window texts (interim).
pub fn parse_windows(texts: &[String]) -> Result<WindowSet, String> {
    Ok(WindowSet(texts.to_vec()))
}

impl std::fmt::Display for WindowSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.join(", "))
    }
}
