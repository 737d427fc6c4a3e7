//! `per_domain_daily_cap`: at most N messages a day to the addresses of one
//! e-mail domain, whichever account sends them.
//!
//! Large mailbox providers and company mail gateways judge a sender by how
//! much it sends to their users; a campaign to 300 people at one company
//! should not land 300 messages there in one day. The cap is shared by every
//! account, so the planner and the executor each keep one `DomainCap` for
//! the whole campaign. Days are calendar days in the campaign's zone (as the
//! daily cap's). Recipients that are not e-mail addresses are not capped.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::window::start_of_day;

/// Messages per domain and day, against the cap.
#[derive(Debug, Clone)]
pub struct DomainCap {
    cap: u32,
    zone: Tz,
    counts: HashMap<(String, NaiveDate), u32>,
}

/// The domain of an e-mail address, in lower case; None for other ids.
pub fn domain_of(recipient: &str) -> Option<String> {
    let (local, domain) = recipient.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

impl DomainCap {
    /// A cap of `cap` a day in `zone`, after `history`: (recipient, time)
    /// of messages that may have reached their server already.
    pub fn new<'a>(
        cap: u32,
        zone: Tz,
        history: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    ) -> DomainCap {
        let mut caps = DomainCap {
            cap,
            zone,
            counts: HashMap::new(),
        };
        for (recipient, at) in history {
            caps.record(recipient, at);
        }
        caps
    }

    fn day(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.zone).date_naive()
    }

    /// Whether one more message to `recipient` fits on the day of `at`.
    pub fn has_room(&self, recipient: &str, at: DateTime<Utc>) -> bool {
        let Some(domain) = domain_of(recipient) else {
            return true;
        };
        let sent = self
            .counts
            .get(&(domain, self.day(at)))
            .copied()
            .unwrap_or(0);
        sent < self.cap
    }

    /// Counts a message to `recipient` on the day of `at`.
    pub fn record(&mut self, recipient: &str, at: DateTime<Utc>) {
        if let Some(domain) = domain_of(recipient) {
            let day = self.day(at);
            *self.counts.entry((domain, day)).or_default() += 1;
        }
    }

    /// Takes back a [`record`](Self::record) of a message that did not go.
    pub fn release(&mut self, recipient: &str, at: DateTime<Utc>) {
        if let Some(domain) = domain_of(recipient) {
            let day = self.day(at);
            if let Some(count) = self.counts.get_mut(&(domain, day)) {
                *count = count.saturating_sub(1);
            }
        }
    }

    /// The day of `at` is full for `recipient`'s domain: the database,
    /// counting every worker's messages, said so.
    pub fn fill(&mut self, recipient: &str, at: DateTime<Utc>) {
        if let Some(domain) = domain_of(recipient) {
            let day = self.day(at);
            let count = self.counts.entry((domain, day)).or_default();
            *count = (*count).max(self.cap);
        }
    }

    /// The start of the day after the day of `at`: when a message the cap
    /// held back may try again.
    pub fn next_day(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let day = self.day(at) + Days::new(1);
        start_of_day(&self.zone, day).max(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn domains_are_read_from_addresses_only() {
        assert_eq!(domain_of("Ann@Acme.IO"), Some("acme.io".into()));
        assert_eq!(domain_of("urn:li:person:1"), None);
        assert_eq!(domain_of("@acme.io"), None);
        assert_eq!(domain_of("ann@"), None);
    }

    #[test]
    fn the_cap_counts_per_domain_and_day_in_the_zone() {
        let berlin = chrono_tz::Europe::Berlin;
        // 23:30 UTC on the 1st is already the 2nd in Berlin.
        let mut caps = DomainCap::new(2, berlin, [("a@acme.io", at("2026-12-01T23:30:00Z"))]);
        let morning = at("2026-12-02T08:00:00Z");
        assert!(caps.has_room("b@ACME.io", morning));
        caps.record("b@acme.io", morning);
        assert!(!caps.has_room("c@acme.io", morning));
        assert!(caps.has_room("c@other.io", morning));
        assert!(caps.has_room("urn:li:person:7", morning));
        // The next day in Berlin starts at 23:00 UTC.
        let next = caps.next_day(morning);
        assert_eq!(next, at("2026-12-02T23:00:00Z"));
        assert!(caps.has_room("c@acme.io", next));
        caps.release("b@acme.io", morning);
        assert!(caps.has_room("c@acme.io", morning));
        caps.fill("d@acme.io", morning);
        assert!(!caps.has_room("c@acme.io", morning));
        assert!(caps.has_room("c@acme.io", next));
    }
}
