//! What a message in the inbox is, from its bytes alone (pure): a person's
//! reply, a bounce, an automatic answer, or something else.
//!
//! Headers are parsed by mailparse, never by hand. The order matters:
//! 1. a bounce: a delivery status notification (RFC 3464,
//!    `multipart/report; report-type=delivery-status`) with a recipient
//!    whose `Action` is `failed`, or an MTA's plain-text bounce (exim's
//!    `X-Failed-Recipients`, qmail's "failure notice", Postfix without DSN)
//!    from `MAILER-DAEMON` or `postmaster`. A report of a *delayed* message
//!    is not a bounce: the MTA is still trying.
//! 2. an automatic answer (`Auto-Submitted` other than `no`, `X-Autoreply`,
//!    `X-Autorespond`, `Precedence: auto_reply/bulk/junk`, an "Automatic
//!    reply:" or "Out of Office" subject). **It does not stop the
//!    sequence**: an out-of-office says the person is away, not that they
//!    answered; the follow-up is still welcome when they are back, and a
//!    bounce (the mailbox is gone) is told apart above.
//! 3. anything else is a reply: who wrote it (`From`) and which messages it
//!    answers (`In-Reply-To`, `References`). Whether it concerns the
//!    campaign is [`super::matching`]'s question.

use mailparse::{MailHeader, MailHeaderMap, addrparse_header, msgidparse, parse_headers};

use super::dsn;

/// What one inbox message is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Written by a person (as far as the headers tell).
    Reply(Reply),
    /// Delivery failed for one or more recipients.
    Bounce(Bounce),
    /// An automatic answer (out of office, vacation, ticket receipt):
    /// never a stop. The text says which header or subject told.
    Automatic { from: Option<String>, why: String },
    /// A report or notice that is neither (a delayed-delivery warning).
    Ignored { why: String },
}

/// A reply: its sender and the Message-IDs it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The `From` address, as written.
    pub from: Option<String>,
    /// Its own `Message-ID` (without angle brackets), for messages.
    pub message_id: Option<String>,
    /// `In-Reply-To` then `References`, without angle brackets.
    pub references: Vec<String>,
}

/// A bounce: who could not be reached, why, and the Message-IDs of the
/// bounced message it names (to find the recipient when the failed address
/// is not the one we wrote to, e.g. a forward).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    pub failed: Vec<FailedRecipient>,
    pub references: Vec<String>,
    /// A delivery status notification (true) or an MTA's plain text.
    pub structured: bool,
}

/// One recipient a bounce names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRecipient {
    pub address: String,
    /// The enhanced status code (RFC 3463), e.g. `5.1.1`, when known.
    pub status: Option<String>,
    /// The remote server's words, e.g. `smtp; 550 5.1.1 user unknown`.
    pub diagnostic: Option<String>,
}

/// Whether the body is needed to classify a message with these headers: a
/// report or something from a mail system. Everything else is classified
/// from the headers alone, so only bounces cost more than a header fetch.
pub fn needs_body(header: &[u8]) -> bool {
    let Ok((headers, _)) = parse_headers(header) else {
        return false;
    };
    is_report(&headers) || from_mail_system(&headers) || has(&headers, "X-Failed-Recipients")
}

/// Classify a message from its header block and, if fetched, its body
/// (the text after the header; it may be cut short).
pub fn classify(header: &[u8], body: Option<&[u8]>) -> Verdict {
    let headers = match parse_headers(header) {
        Ok((headers, _)) => headers,
        Err(error) => {
            return Verdict::Ignored {
                why: format!("unreadable header: {error}"),
            };
        }
    };
    if let Some(verdict) = bounce(header, &headers, body) {
        return verdict;
    }
    let from = from_address(&headers);
    if let Some(why) = automatic(&headers) {
        return Verdict::Automatic { from, why };
    }
    let mut references = ids(&headers, "In-Reply-To");
    for id in ids(&headers, "References") {
        if !references.contains(&id) {
            references.push(id);
        }
    }
    Verdict::Reply(Reply {
        from,
        message_id: ids(&headers, "Message-ID").into_iter().next(),
        references,
    })
}

fn bounce(header: &[u8], headers: &[MailHeader<'_>], body: Option<&[u8]>) -> Option<Verdict> {
    let body = body.unwrap_or_default();
    if is_report(headers) {
        let mut whole = header.to_vec();
        whole.extend_from_slice(body);
        let report = dsn::read_report(&whole);
        if report.is_delivery_status {
            if report.failed.is_empty() {
                return Some(Verdict::Ignored {
                    why: "a delivery report without a failed recipient (delayed, delivered or relayed)"
                        .into(),
                });
            }
            let mut references = report.references;
            references.extend(ids(headers, "In-Reply-To"));
            references.extend(ids(headers, "References"));
            return Some(Verdict::Bounce(Bounce {
                failed: report.failed,
                references,
                structured: true,
            }));
        }
    }
    let failed_header: Vec<String> = headers
        .get_all_headers("X-Failed-Recipients")
        .iter()
        .flat_map(|h| addresses(h))
        .collect();
    if failed_header.is_empty() && !from_mail_system(headers) {
        return None;
    }
    let subject = headers
        .get_first_value("Subject")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if failed_header.is_empty() && (subject.contains("delay") || subject.contains("warning")) {
        return Some(Verdict::Ignored {
            why: format!("a delivery warning, not a failure (subject `{subject}`)"),
        });
    }
    let text = String::from_utf8_lossy(body);
    let plain = dsn::read_plain_bounce(&text);
    let failed = if failed_header.is_empty() {
        plain.addresses
    } else {
        failed_header
    };
    let mut references = plain.references;
    references.extend(ids(headers, "In-Reply-To"));
    references.extend(ids(headers, "References"));
    Some(Verdict::Bounce(Bounce {
        failed: failed
            .into_iter()
            .map(|address| FailedRecipient {
                address,
                status: plain.status.clone(),
                diagnostic: plain.diagnostic.clone(),
            })
            .collect(),
        references,
        structured: false,
    }))
}

fn is_report(headers: &[MailHeader<'_>]) -> bool {
    headers
        .get_first_value("Content-Type")
        .map(|value| mailparse::parse_content_type(&value))
        .is_some_and(|ctype| {
            ctype.mimetype.eq_ignore_ascii_case("multipart/report")
                && ctype
                    .params
                    .get("report-type")
                    .is_none_or(|kind| kind.eq_ignore_ascii_case("delivery-status"))
        })
}

/// `MAILER-DAEMON@…`, `postmaster@…`, `Mail Delivery Subsystem`.
fn from_mail_system(headers: &[MailHeader<'_>]) -> bool {
    let Some(from) = headers.get_first_header("From") else {
        return false;
    };
    let by_address = addresses(from).iter().any(|address| {
        let local = address.split('@').next().unwrap_or_default();
        local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster")
    });
    by_address
        || from
            .get_value()
            .to_ascii_lowercase()
            .contains("mail delivery subsystem")
}

/// Why these headers mark an automatic answer, if they do.
fn automatic(headers: &[MailHeader<'_>]) -> Option<String> {
    if let Some(value) = headers.get_first_value("Auto-Submitted")
        && !value.trim().eq_ignore_ascii_case("no")
    {
        return Some(format!("Auto-Submitted: {}", value.trim()));
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Autoresponse"] {
        if has(headers, name) {
            return Some(format!("{name} header"));
        }
    }
    if let Some(value) = headers.get_first_value("Precedence") {
        let value = value.trim().to_ascii_lowercase();
        if ["auto_reply", "bulk", "junk", "list"].contains(&value.as_str()) {
            return Some(format!("Precedence: {value}"));
        }
    }
    let subject = headers.get_first_value("Subject").unwrap_or_default();
    let lower = subject.trim().to_ascii_lowercase();
    let prefixes = [
        "automatic reply:",
        "auto:",
        "autoreply:",
        "out of office",
        "abwesenheitsnotiz",
        "réponse automatique",
    ];
    if prefixes.iter().any(|prefix| lower.starts_with(prefix)) {
        return Some(format!("subject `{}`", subject.trim()));
    }
    None
}

fn has(headers: &[MailHeader<'_>], name: &str) -> bool {
    headers.get_first_header(name).is_some()
}

/// The first `From` address.
fn from_address(headers: &[MailHeader<'_>]) -> Option<String> {
    addresses(headers.get_first_header("From")?)
        .into_iter()
        .next()
}

/// Every address in an address header (groups flattened).
pub(super) fn addresses(header: &MailHeader<'_>) -> Vec<String> {
    let Ok(list) = addrparse_header(header) else {
        return Vec::new();
    };
    list.iter()
        .flat_map(|address| match address {
            mailparse::MailAddr::Single(single) => vec![single.addr.clone()],
            mailparse::MailAddr::Group(group) => group
                .addrs
                .iter()
                .map(|single| single.addr.clone())
                .collect(),
        })
        .filter(|address| address.contains('@'))
        .collect()
}

/// The Message-IDs of a header (every occurrence), without angle brackets.
pub(super) fn ids(headers: &[MailHeader<'_>], name: &str) -> Vec<String> {
    headers
        .get_all_values(name)
        .iter()
        .filter_map(|value| msgidparse(value).ok())
        .flat_map(|list| list.to_vec())
        .filter(|id| !id.is_empty())
        .collect()
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
