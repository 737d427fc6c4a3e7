//! Holidays and blackout dates: local dates on which nothing is sent, read
//! in the same zone as the windows (each recipient's own when windows are).
//!
//! Written as `2026-12-24` or an inclusive range `2026-12-25..2027-01-01`.
//! Pure: [`SkipDates::contains`] and [`SkipDates::next_allowed`] take the
//! date; the clock is never read.

use chrono::NaiveDate;

/// Dates on which nothing is sent, as sorted, merged inclusive ranges.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipDates {
    ranges: Vec<(NaiveDate, NaiveDate)>,
    /// As written, for display and saving.
    written: Vec<String>,
}

/// A `skip_dates` entry that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipDateError {
    #[error("`{0}` is not a date or a date range; write `2026-12-24` or `2026-12-25..2027-01-01`")]
    Syntax(String),
    #[error("`{0}` ends before it starts; write the earlier date first")]
    Backwards(String),
}

impl SkipDates {
    /// Read every entry; the first bad one is the error.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<SkipDates, SkipDateError> {
        let mut ranges = Vec::with_capacity(entries.len());
        let mut written = Vec::with_capacity(entries.len());
        for entry in entries {
            let text = entry.as_ref().trim();
            let date = |part: &str| {
                NaiveDate::parse_from_str(part.trim(), "%Y-%m-%d")
                    .map_err(|_| SkipDateError::Syntax(text.to_string()))
            };
            let (first, last) = match text.split_once("..") {
                Some((first, last)) => (date(first)?, date(last)?),
                None => (date(text)?, date(text)?),
            };
            if last < first {
                return Err(SkipDateError::Backwards(text.to_string()));
            }
            ranges.push((first, last));
            written.push(text.to_string());
        }
        ranges.sort();
        let mut merged: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match merged.last_mut() {
                Some((_, end)) if first <= end.succ_opt().unwrap_or(*end) => {
                    *end = (*end).max(last);
                }
                _ => merged.push((first, last)),
            }
        }
        Ok(SkipDates {
            ranges: merged,
            written,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The entries as written.
    pub fn written(&self) -> &[String] {
        &self.written
    }

    /// Whether nothing may be sent on `date`.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.range_of(date).is_some()
    }

    /// `date` itself if sends may go out on it, else the first day after the
    /// range that holds it (ranges are merged, so that day is allowed).
    pub fn next_allowed(&self, date: NaiveDate) -> NaiveDate {
        match self.range_of(date) {
            Some((_, last)) => last.succ_opt().unwrap_or(last),
            None => date,
        }
    }

    fn range_of(&self, date: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
        let index = self.ranges.partition_point(|(first, _)| *first <= date);
        let (first, last) = *self.ranges.get(index.checked_sub(1)?)?;
        (first <= date && date <= last).then_some((first, last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn single_dates_and_ranges_are_inclusive_and_merged() {
        let skip =
            SkipDates::parse(&["2026-12-24", "2026-12-25..2027-01-01", "2026-12-31"]).unwrap();
        assert!(skip.contains(d("2026-12-24")));
        assert!(skip.contains(d("2027-01-01")));
        assert!(!skip.contains(d("2026-12-23")));
        assert!(!skip.contains(d("2027-01-02")));
        assert_eq!(
            skip.next_allowed(d("2026-12-24")),
            d("2027-01-02"),
            "adjacent ranges merge"
        );
        assert_eq!(skip.next_allowed(d("2027-01-05")), d("2027-01-05"));
        assert_eq!(skip.written().len(), 3);
    }

    #[test]
    fn bad_entries_say_what_to_write() {
        assert_eq!(
            SkipDates::parse(&["24.12.2026"]).unwrap_err(),
            SkipDateError::Syntax("24.12.2026".into())
        );
        assert_eq!(
            SkipDates::parse(&["2027-01-01..2026-12-25"]).unwrap_err(),
            SkipDateError::Backwards("2027-01-01..2026-12-25".into())
        );
        assert!(SkipDates::parse(&["2026-02-30"]).is_err());
    }
}
