//! Do-not-contact lists: reading one, and matching recipients against many
//! entries fast.
//!
//! A list has one entry a line (or the first column of a CSV); blank lines
//! and lines starting with `#` are ignored. An entry is:
//! - an e-mail address (`ann@acme.com`), compared in lower case;
//! - `*@acme.com` or `@acme.com`: everyone at the domain and its subdomains;
//! - a bare domain (`acme.com`: no `@`, no spaces, at least one dot, a last
//!   label of letters): the same, and also a recipient id spelled exactly so;
//! - anything else: a recipient id (a phone number, a chat id), exact.
//!
//! Matching is a few hash lookups whatever the list's size: the recipient's
//! key, then each suffix of its domain ([`crate::journal::stops`] has the
//! comparison rules, shared with `outreach stop`).

use std::collections::HashMap;

use crate::journal::StopTarget;
use crate::journal::stops::{domain_of, domain_suffixes, normalise_domain, recipient_key};

/// One entry of a list, with the line it is on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub target: StopTarget,
    pub line: u64,
    /// The entry as written (trimmed), for messages.
    pub text: String,
}

/// The entries of a list's text, in order.
pub fn parse_entries(text: &str) -> Vec<Entry> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let first = first_cell(line);
        if first.is_empty() || first.starts_with('#') {
            continue;
        }
        entries.push(Entry {
            target: classify(first),
            line: index as u64 + 1,
            text: first.to_string(),
        });
    }
    entries
}

/// The first cell of a CSV line, unquoted and trimmed. Entries never hold
/// commas, so a full CSV parser is not needed for them.
fn first_cell(line: &str) -> &str {
    let cell = line.split([',', ';', '\t']).next().unwrap_or("").trim();
    cell.trim_matches('"').trim()
}

fn classify(entry: &str) -> StopTarget {
    if let Some(domain) = entry.strip_prefix("*@").or_else(|| entry.strip_prefix('@')) {
        return StopTarget::Domain(normalise_domain(domain));
    }
    if entry.contains('@') || !looks_like_domain(entry) {
        return StopTarget::Recipient(entry.to_string());
    }
    StopTarget::Domain(normalise_domain(entry))
}

/// `acme.com`, `eu.acme.co.uk`: dot-separated labels of letters, digits and
/// dashes, the last one letters only.
pub fn looks_like_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// Where a recipient was found: the list, the line and the entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub list: String,
    pub line: u64,
    pub text: String,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "on {} line {} ({})", self.list, self.line, self.text)
    }
}

/// Entries of any number of lists in hash maps: exact keys and domains.
/// The first list and line that name a key wins.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    exact: HashMap<String, Hit>,
    domains: HashMap<String, Hit>,
}

impl Matcher {
    pub fn add(&mut self, list: &str, entries: &[Entry]) {
        for entry in entries {
            let hit = || Hit {
                list: list.to_string(),
                line: entry.line,
                text: entry.text.clone(),
            };
            match &entry.target {
                StopTarget::Recipient(recipient) => {
                    self.exact
                        .entry(recipient_key(recipient))
                        .or_insert_with(hit);
                }
                StopTarget::Domain(domain) => {
                    self.domains.entry(domain.clone()).or_insert_with(hit);
                    // A bare `acme.com` may also be a recipient id.
                    self.exact.entry(entry.text.clone()).or_insert_with(hit);
                }
            }
        }
    }

    /// The entry that names `recipient`, if any.
    pub fn find(&self, recipient: &str) -> Option<&Hit> {
        let key = recipient_key(recipient);
        if let Some(hit) = self.exact.get(&key) {
            return Some(hit);
        }
        domain_suffixes(domain_of(&key)?).find_map(|suffix| self.domains.get(suffix))
    }

    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.domains.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "\u{feff}# people who asked\n\
        Ann@Acme.com\n\
        \n\
        *@initech.com\n\
        globex.co.uk, \"added by Sam\"\n\
        +15550100\n\
        U12345\n";

    #[test]
    fn entries_keep_their_lines_and_skip_comments_and_blanks() {
        let entries = parse_entries(LIST);
        let found: Vec<(u64, &str)> = entries.iter().map(|e| (e.line, e.text.as_str())).collect();
        assert_eq!(
            found,
            [
                (2, "Ann@Acme.com"),
                (4, "*@initech.com"),
                (5, "globex.co.uk"),
                (6, "+15550100"),
                (7, "U12345")
            ]
        );
        assert_eq!(entries[1].target, StopTarget::Domain("initech.com".into()));
        assert_eq!(entries[2].target, StopTarget::Domain("globex.co.uk".into()));
        assert_eq!(entries[3].target, StopTarget::Recipient("+15550100".into()));
    }

    #[test]
    fn only_domain_shaped_words_are_domains() {
        assert!(looks_like_domain("acme.com"));
        assert!(looks_like_domain("eu.acme-corp.co.uk"));
        assert!(!looks_like_domain("U12345"));
        assert!(!looks_like_domain("1.5"));
        assert!(!looks_like_domain("a..com"));
        assert!(!looks_like_domain("https://x.com/in/ann"));
    }

    #[test]
    fn matching_follows_case_domains_and_subdomains() {
        let mut matcher = Matcher::default();
        matcher.add("dnc.csv", &parse_entries(LIST));
        let line_of = |recipient: &str| matcher.find(recipient).map(|hit| hit.line);
        assert_eq!(line_of("ann@ACME.COM"), Some(2));
        assert_eq!(line_of("bob@acme.com"), None);
        assert_eq!(line_of("joe@initech.com"), Some(4));
        assert_eq!(line_of("joe@mail.initech.com"), Some(4));
        assert_eq!(line_of("joe@notinitech.com"), None);
        assert_eq!(line_of("kim@globex.co.uk"), Some(5));
        assert_eq!(line_of("+15550100"), Some(6));
        assert_eq!(line_of("u12345"), None, "ids are exact");
        let hit = matcher.find("joe@initech.com").unwrap();
        assert_eq!(hit.to_string(), "on dnc.csv line 4 (*@initech.com)");
    }

    #[test]
    fn a_hundred_thousand_entries_are_still_a_few_lookups() {
        let text: String = (0..100_000)
            .map(|i| format!("p{i}@d{}.com\n", i % 5000))
            .collect();
        let mut matcher = Matcher::default();
        matcher.add("big.csv", &parse_entries(&text));
        matcher.add("domains.csv", &parse_entries("*@blocked.org\n"));
        assert_eq!(
            matcher.find("P99999@d4999.com").map(|h| h.line),
            Some(100_000)
        );
        assert_eq!(
            matcher.find("x@sub.blocked.org").map(|h| h.list.as_str()),
            Some("domains.csv")
        );
        assert!(matcher.find("p1@d2.com").is_none());
    }
}
