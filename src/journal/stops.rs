//! Stopping a person: who may no longer be messaged, and how a recipient is
//! compared with a stop.
//!
//! A stop is kept in the journal (table `stops`, schema 3) with its reason,
//! its source (`outreach stop`, a do-not-contact list and its line, later a
//! reply or a bounce) and its time. Recording one moves every message of
//! that person that has not gone yet (pending, and failed or uncertain ones,
//! which must never be retried for a stopped person) to `skipped` with the
//! reason `stopped: REASON`, in the same transaction. A claim looks the
//! stops up too, so a message that was in flight when the stop arrived and
//! came back to pending (a 429, a claim made ahead and released) never goes
//! either, nor does one added later by `resume --allow-changes`.
//!
//! Comparison rules, in one place so the CLI, the lists and the claim agree:
//! - an e-mail address (anything with an `@`) compares in ASCII lower case;
//! - any other recipient id compares exactly as given (trimmed);
//! - a domain stop covers the domain and its subdomains: `acme.com` stops
//!   `bob@acme.com` and `eve@eu.acme.com`, not `ann@notacme.com`. A
//!   company's subdomains are the same company, and looking up each suffix
//!   of an address's domain is a handful of hash or index lookups.

use chrono::{DateTime, Utc};

/// The prefix of a skipped message's reason when its recipient was stopped.
pub const STOPPED_PREFIX: &str = "stopped: ";

/// The reason of a stop given by hand without `--reason`.
pub const DEFAULT_REASON: &str = "stopped by hand";

/// A recipient as compared with stops and do-not-contact entries.
pub fn recipient_key(recipient: &str) -> String {
    let trimmed = recipient.trim();
    if trimmed.contains('@') {
        trimmed.to_ascii_lowercase()
    } else {
        trimmed.to_string()
    }
}

/// The domain of an e-mail recipient key (after its last `@`), if any.
pub fn domain_of(key: &str) -> Option<&str> {
    key.rsplit_once('@')
        .map(|(_, domain)| domain)
        .filter(|domain| !domain.is_empty())
}

/// `eu.acme.com`, `acme.com`, `com`: the domains a domain stop may name
/// to cover `domain`.
pub fn domain_suffixes(domain: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(domain), |rest| {
        rest.split_once('.').map(|(_, tail)| tail)
    })
    .filter(|suffix| !suffix.is_empty())
}

/// Who a stop names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StopTarget {
    /// One recipient (an id or an e-mail address).
    Recipient(String),
    /// Every e-mail recipient at this domain or one of its subdomains.
    Domain(String),
}

impl StopTarget {
    /// The target with its text normalised: a recipient by
    /// [`recipient_key`], a domain in lower case without a leading `@`,
    /// `*@` or dot.
    pub fn normalised(&self) -> StopTarget {
        match self {
            StopTarget::Recipient(recipient) => StopTarget::Recipient(recipient_key(recipient)),
            StopTarget::Domain(domain) => StopTarget::Domain(normalise_domain(domain)),
        }
    }

    /// The `stops.recipient_key` stored for it: the key, or `@domain`.
    pub fn stored_key(&self) -> String {
        match self.normalised() {
            StopTarget::Recipient(key) => key,
            StopTarget::Domain(domain) => format!("@{domain}"),
        }
    }

    /// How the target reads in messages: the recipient, or `*@domain`.
    pub fn display(&self) -> String {
        match self {
            StopTarget::Recipient(recipient) => recipient.clone(),
            StopTarget::Domain(domain) => format!("*@{}", normalise_domain(domain)),
        }
    }
}

/// `*@Acme.COM`, `@acme.com`, `.acme.com` and `acme.com` all name `acme.com`.
pub fn normalise_domain(domain: &str) -> String {
    let trimmed = domain.trim();
    let trimmed = trimmed
        .strip_prefix("*@")
        .or_else(|| trimmed.strip_prefix('@'))
        .unwrap_or(trimmed);
    trimmed.trim_start_matches('.').to_ascii_lowercase()
}

/// One stop to record: who, why, by what, when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRequest {
    pub targets: Vec<StopTarget>,
    /// Why, as given (`--reason`); skipped messages read `stopped: REASON`.
    pub reason: String,
    /// What stopped them: `outreach stop`, `suppress list FILE line N`, ...
    pub source: String,
    pub at: DateTime<Utc>,
}

/// What a stop did to one target's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetOutcome {
    /// Messages moved to `skipped` by this stop.
    pub stopped: u64,
    /// Messages already sent (the stop still holds for later steps).
    pub already_sent: u64,
    /// Messages claimed for sending when the stop arrived: their request
    /// may already be on the wire, so they go.
    pub in_flight: u64,
    /// Messages skipped before (an earlier stop, a changed row).
    pub already_skipped: u64,
}

impl TargetOutcome {
    /// No message of the campaign matched the target.
    pub fn is_unknown(&self) -> bool {
        self.stopped + self.already_sent + self.in_flight + self.already_skipped == 0
    }
}

/// A stop's result, one entry per target in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StopReport {
    pub targets: Vec<(StopTarget, TargetOutcome)>,
}

impl StopReport {
    /// Targets with no message in this campaign.
    pub fn unknown(&self) -> impl Iterator<Item = &StopTarget> {
        self.targets
            .iter()
            .filter(|(_, outcome)| outcome.is_unknown())
            .map(|(target, _)| target)
    }

    /// Messages this stop moved to `skipped`, over all targets.
    pub fn messages_stopped(&self) -> u64 {
        self.targets
            .iter()
            .map(|(_, outcome)| outcome.stopped)
            .sum()
    }
}

/// The reason a skipped message carries for a stop.
pub fn skip_reason(reason: &str) -> String {
    format!("{STOPPED_PREFIX}{reason}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_addresses_compare_in_lower_case_and_ids_exactly() {
        assert_eq!(recipient_key(" Bob@Acme.COM "), "bob@acme.com");
        assert_eq!(recipient_key("U123abc"), "U123abc");
        assert_eq!(recipient_key("+15550100"), "+15550100");
    }

    #[test]
    fn a_domain_names_itself_and_its_parents() {
        let key = recipient_key("eve@EU.acme.com");
        let domain = domain_of(&key).unwrap();
        let suffixes: Vec<&str> = domain_suffixes(domain).collect();
        assert_eq!(suffixes, ["eu.acme.com", "acme.com", "com"]);
        assert_eq!(domain_of("U123"), None);
        assert_eq!(domain_of("broken@"), None);
    }

    #[test]
    fn domain_spellings_normalise_to_one_key() {
        for spelling in ["acme.com", "*@Acme.com", "@ACME.com", ".acme.com"] {
            let target = StopTarget::Domain(spelling.to_string());
            assert_eq!(target.stored_key(), "@acme.com", "{spelling}");
            assert_eq!(target.display(), "*@acme.com");
        }
        let person = StopTarget::Recipient("Ann@Acme.com".into());
        assert_eq!(person.stored_key(), "ann@acme.com");
    }

    #[test]
    fn a_target_without_messages_is_unknown() {
        let report = StopReport {
            targets: vec![
                (StopTarget::Recipient("a".into()), TargetOutcome::default()),
                (
                    StopTarget::Recipient("b".into()),
                    TargetOutcome {
                        already_sent: 1,
                        ..TargetOutcome::default()
                    },
                ),
            ],
        };
        let unknown: Vec<_> = report.unknown().collect();
        assert_eq!(unknown, [&StopTarget::Recipient("a".into())]);
        assert_eq!(skip_reason("replied"), "stopped: replied");
    }
}
