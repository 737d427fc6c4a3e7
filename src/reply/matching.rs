//! Which campaign recipient an inbox message is about (pure).
//!
//! Every e-mail we sent carries a `Message-ID` derived from its
//! idempotency key and its account's `from` domain
//! ([`crate::channel::smtp::message::message_id`]), so the journal's
//! messages give every Message-ID of the campaign and whose it is. A reply
//! is about the recipient of a message it references (`In-Reply-To`,
//! `References`: a colleague answering on their behalf counts), and about
//! its sender when that address is a campaign recipient (compared as the
//! stops compare e-mail addresses: ASCII case-insensitively). A bounce is
//! about the failed addresses that are campaign recipients, or else about
//! the recipient of the returned message's Message-ID.

use std::collections::HashMap;

use super::classify::{Bounce, Reply, Verdict};
use super::dsn::status_words;
use crate::journal::stops::recipient_key;

/// The reason of a stop for a reply.
pub const REPLIED: &str = "replied";
/// The start of the reason of a stop for a bounce.
pub const BOUNCED: &str = "bounced";

/// The campaign's Message-IDs and recipients.
#[derive(Debug, Default, Clone)]
pub struct CampaignIndex {
    /// Message-ID (lower case, no angle brackets) → recipient.
    by_message_id: HashMap<String, String>,
    /// Recipient key → the recipient as the journal has it.
    recipients: HashMap<String, String>,
}

/// One person an inbox message stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The recipient as the journal has it.
    pub recipient: String,
    /// `replied`, or `bounced: 5.1.1 user unknown`.
    pub reason: String,
    /// What in the message told, for the stop's source and the progress line.
    pub evidence: String,
}

impl CampaignIndex {
    /// Add one message: its recipient and, when it is an e-mail, its
    /// Message-ID (with or without angle brackets).
    pub fn add(&mut self, recipient: &str, message_id: Option<&str>) {
        self.recipients
            .entry(recipient_key(recipient))
            .or_insert_with(|| recipient.to_string());
        if let Some(id) = message_id {
            self.by_message_id
                .insert(normal_id(id), recipient.to_string());
        }
    }

    pub fn is_empty(&self) -> bool {
        self.recipients.is_empty()
    }

    /// The recipient a Message-ID of ours was sent to.
    pub fn recipient_of_id(&self, id: &str) -> Option<&str> {
        self.by_message_id.get(&normal_id(id)).map(String::as_str)
    }

    /// The campaign recipient with this address, if any.
    pub fn recipient_of_address(&self, address: &str) -> Option<&str> {
        self.recipients
            .get(&recipient_key(address))
            .map(String::as_str)
    }

    /// Who `verdict` stops, each once; nobody for automatic answers and
    /// messages that concern no recipient.
    pub fn decide(&self, verdict: &Verdict) -> Vec<Found> {
        let mut found = match verdict {
            Verdict::Reply(reply) => self.replied(reply),
            Verdict::Bounce(bounce) => self.bounced(bounce),
            Verdict::Automatic { .. } | Verdict::Ignored { .. } => Vec::new(),
        };
        let mut seen = Vec::new();
        found.retain(|f| {
            let key = recipient_key(&f.recipient);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        });
        found
    }

    fn replied(&self, reply: &Reply) -> Vec<Found> {
        let from = reply.from.as_deref().unwrap_or("an unknown sender");
        let theirs = reply
            .message_id
            .as_deref()
            .map(|id| format!(" <{id}>"))
            .unwrap_or_default();
        let mut found: Vec<Found> = reply
            .references
            .iter()
            .filter_map(|id| {
                let recipient = self.recipient_of_id(id)?;
                Some(Found {
                    recipient: recipient.to_string(),
                    reason: REPLIED.to_string(),
                    evidence: format!("reply{theirs} from {from} to our <{id}>"),
                })
            })
            .collect();
        if let Some(recipient) = reply
            .from
            .as_deref()
            .and_then(|address| self.recipient_of_address(address))
        {
            found.push(Found {
                recipient: recipient.to_string(),
                reason: REPLIED.to_string(),
                evidence: format!("message{theirs} from their address {from}"),
            });
        }
        found
    }

    fn bounced(&self, bounce: &Bounce) -> Vec<Found> {
        let kind = if bounce.structured {
            "delivery status notification"
        } else {
            "bounce"
        };
        let mut found: Vec<Found> = bounce
            .failed
            .iter()
            .filter_map(|failed| {
                let recipient = self.recipient_of_address(&failed.address)?;
                Some(Found {
                    recipient: recipient.to_string(),
                    reason: bounce_reason(failed.status.as_deref()),
                    evidence: evidence(kind, &failed.address, failed.diagnostic.as_deref()),
                })
            })
            .collect();
        if found.is_empty() {
            let first = bounce.failed.first();
            found.extend(bounce.references.iter().filter_map(|id| {
                let recipient = self.recipient_of_id(id)?;
                Some(Found {
                    recipient: recipient.to_string(),
                    reason: bounce_reason(first.and_then(|f| f.status.as_deref())),
                    evidence: format!(
                        "{} of our <{id}>",
                        evidence(
                            kind,
                            first.map_or("an address", |f| f.address.as_str()),
                            first.and_then(|f| f.diagnostic.as_deref())
                        )
                    ),
                })
            }));
        }
        found
    }
}

fn evidence(kind: &str, address: &str, diagnostic: Option<&str>) -> String {
    match diagnostic {
        Some(text) => format!("{kind} for {address}: {text}"),
        None => format!("{kind} for {address}"),
    }
}

/// `bounced: 5.1.1 user unknown`, `bounced: 5.9.9`, or `bounced`.
pub fn bounce_reason(status: Option<&str>) -> String {
    match status.map(str::trim).filter(|s| !s.is_empty()) {
        Some(status) => match status_words(status) {
            Some(words) => format!("{BOUNCED}: {status} {words}"),
            None => format!("{BOUNCED}: {status}"),
        },
        None => BOUNCED.to_string(),
    }
}

/// A Message-ID as compared: no angle brackets, lower case.
fn normal_id(id: &str) -> String {
    id.trim().trim_matches(['<', '>']).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::classify::FailedRecipient;

    fn index() -> CampaignIndex {
        let mut index = CampaignIndex::default();
        index.add("Ann@Acme.test", Some("<k-1@outreach.test>"));
        index.add("bob@beta.test", Some("k-2@outreach.test"));
        index.add("carol@gamma.test", None);
        index
    }

    fn reply(from: &str, references: &[&str]) -> Verdict {
        Verdict::Reply(Reply {
            from: Some(from.into()),
            message_id: Some("their-1@mail.test".into()),
            references: references.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn a_reference_names_the_recipient_even_from_another_address() {
        let found = index().decide(&reply("assistant@acme.test", &["K-1@outreach.test"]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "Ann@Acme.test");
        assert_eq!(found[0].reason, "replied");
        assert!(
            found[0].evidence.contains("<K-1@outreach.test>"),
            "{:?}",
            found[0]
        );
    }

    #[test]
    fn the_sender_address_matches_in_any_case_and_counts_once() {
        let found = index().decide(&reply("ANN@acme.TEST", &["k-1@outreach.test"]));
        assert_eq!(found.len(), 1, "{found:?}");
        let by_address = index().decide(&reply("Carol@Gamma.test", &[]));
        assert_eq!(by_address[0].recipient, "carol@gamma.test");
        assert!(by_address[0].evidence.contains("their address"));
        assert!(
            index()
                .decide(&reply("stranger@x.test", &["other@x.test"]))
                .is_empty()
        );
    }

    #[test]
    fn a_bounce_names_the_failed_recipient_or_else_our_message() {
        let bounce = |address: &str, references: &[&str]| {
            Verdict::Bounce(Bounce {
                failed: vec![FailedRecipient {
                    address: address.into(),
                    status: Some("5.1.1".into()),
                    diagnostic: Some("smtp; 550 5.1.1 user unknown".into()),
                }],
                references: references.iter().map(|s| s.to_string()).collect(),
                structured: true,
            })
        };
        let found = index().decide(&bounce("BOB@beta.test", &[]));
        assert_eq!(found[0].recipient, "bob@beta.test");
        assert_eq!(found[0].reason, "bounced: 5.1.1 user unknown");
        let forwarded = index().decide(&bounce("bob@new-home.test", &["k-2@outreach.test"]));
        assert_eq!(forwarded[0].recipient, "bob@beta.test");
        assert!(index().decide(&bounce("nobody@x.test", &[])).is_empty());
        assert_eq!(bounce_reason(None), "bounced");
        assert_eq!(bounce_reason(Some("5.9.9")), "bounced: 5.9.9");
    }

    #[test]
    fn automatic_answers_stop_nobody() {
        let auto = Verdict::Automatic {
            from: Some("ann@acme.test".into()),
            why: "Auto-Submitted: auto-replied".into(),
        };
        assert!(index().decide(&auto).is_empty());
    }
}
