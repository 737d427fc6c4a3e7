//! Reading bounces: the `message/delivery-status` part of a delivery
//! status notification (RFC 3464), and what can be read from an MTA's
//! plain-text bounce (exim, qmail, Postfix without DSN). Pure.
//!
//! A notification has one block of fields per recipient; only recipients
//! whose `Action` is `failed` bounced (`delayed`, `delivered`, `relayed`
//! and `expanded` are not failures). The copy of the bounced message's
//! header (`text/rfc822-headers` or `message/rfc822`) gives its
//! `Message-ID`, which is how a bounce for a forwarded address still finds
//! our recipient.

use mailparse::{MailHeaderMap, ParsedMail, parse_headers, parse_mail};

use super::classify::{FailedRecipient, ids};

/// What a `multipart/report` holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// It has a `message/delivery-status` part.
    pub is_delivery_status: bool,
    /// Recipients with `Action: failed`.
    pub failed: Vec<FailedRecipient>,
    /// Message-IDs of the returned message.
    pub references: Vec<String>,
}

/// Read a whole (possibly cut short) report message.
pub fn read_report(message: &[u8]) -> Report {
    let mut report = Report::default();
    if let Ok(parsed) = parse_mail(message) {
        visit(&parsed, &mut report);
    }
    report
}

fn visit(part: &ParsedMail<'_>, report: &mut Report) {
    let mimetype = part.ctype.mimetype.to_ascii_lowercase();
    match mimetype.as_str() {
        "message/delivery-status" | "message/global-delivery-status" => {
            report.is_delivery_status = true;
            if let Ok(body) = part.get_body() {
                report.failed.extend(failed_recipients(&body));
            }
        }
        "text/rfc822-headers" | "message/rfc822" | "message/global-headers" => {
            if let Ok(body) = part.get_body_raw()
                && let Ok((headers, _)) = parse_headers(&body)
            {
                report.references.extend(ids(&headers, "Message-ID"));
            }
        }
        _ => {}
    }
    for sub in &part.subparts {
        visit(sub, report);
    }
}

/// The failed recipients of a `message/delivery-status` body: blocks of
/// fields separated by blank lines, the first one per message.
fn failed_recipients(body: &str) -> Vec<FailedRecipient> {
    let normalised = body.replace("\r\n", "\n");
    let mut failed = Vec::new();
    for block in normalised.split("\n\n").skip(1) {
        let block = format!("{}\n\n", block.trim_matches('\n'));
        let Ok((fields, _)) = parse_headers(block.as_bytes()) else {
            continue;
        };
        let action = fields.get_first_value("Action").unwrap_or_default();
        if !action.trim().eq_ignore_ascii_case("failed") {
            continue;
        }
        let address = ["Final-Recipient", "Original-Recipient"]
            .iter()
            .find_map(|name| fields.get_first_value(name).and_then(|v| typed_address(&v)));
        let Some(address) = address else { continue };
        failed.push(FailedRecipient {
            address,
            status: fields
                .get_first_value("Status")
                .map(|status| status.trim().to_string())
                .filter(|status| !status.is_empty()),
            diagnostic: fields
                .get_first_value("Diagnostic-Code")
                .map(|text| short(&text)),
        });
    }
    failed
}

/// `rfc822; Bob@Example.com` → `Bob@Example.com`.
fn typed_address(value: &str) -> Option<String> {
    let address = value.split_once(';').map_or(value, |(_, address)| address);
    let address = address.trim().trim_matches(['<', '>']).trim();
    address.contains('@').then(|| address.to_string())
}

/// What a plain-text bounce says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PlainBounce {
    /// Every address in the text, in order, once each (the caller keeps
    /// the campaign's recipients among them).
    pub addresses: Vec<String>,
    /// The first permanent enhanced status code (`5.1.1`), else a temporary one.
    pub status: Option<String>,
    /// The line it was found on.
    pub diagnostic: Option<String>,
    /// `Message-ID:` lines of the returned copy.
    pub references: Vec<String>,
}

/// Read the text of a bounce without DSN structure.
pub fn read_plain_bounce(text: &str) -> PlainBounce {
    let mut bounce = PlainBounce::default();
    let mut temporary: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some((name, value)) = trimmed.split_once(':')
            && name.eq_ignore_ascii_case("message-id")
        {
            let header = format!("Message-ID: {}\n\n", value.trim());
            if let Ok((headers, _)) = parse_headers(header.as_bytes()) {
                bounce.references.extend(ids(&headers, "Message-ID"));
            }
            continue;
        }
        for word in trimmed.split(|c: char| c.is_whitespace() || "<>()[];,\"'".contains(c)) {
            let word = word.trim_end_matches(['.', ':']);
            if looks_like_address(word)
                && !bounce
                    .addresses
                    .iter()
                    .any(|seen| seen.eq_ignore_ascii_case(word))
            {
                bounce.addresses.push(word.to_string());
            }
            if bounce.status.is_none()
                && let Some(code) = enhanced_status(word)
            {
                if code.starts_with('5') {
                    bounce.status = Some(code);
                    bounce.diagnostic = Some(short(trimmed));
                } else if temporary.is_none() {
                    temporary = Some((code, short(trimmed)));
                }
            }
        }
    }
    if bounce.status.is_none()
        && let Some((code, line)) = temporary
    {
        bounce.status = Some(code);
        bounce.diagnostic = Some(line);
    }
    bounce
}

fn looks_like_address(word: &str) -> bool {
    let Some((local, domain)) = word.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && word.is_ascii()
}

/// `5.1.1`, `4.2.2`: class 2, 4 or 5, then two numbers.
fn enhanced_status(word: &str) -> Option<String> {
    let mut parts = word.split('.');
    let class = parts.next()?;
    let subject = parts.next()?;
    let detail = parts.next()?;
    let numeric = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    (parts.next().is_none()
        && matches!(class, "4" | "5")
        && numeric(subject, 3)
        && numeric(detail, 3))
    .then(|| word.to_string())
}

/// One line, at most 200 characters.
fn short(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((index, _)) => format!("{}…", &one_line[..index]),
        None => one_line,
    }
}

/// A few words for an enhanced status code (RFC 3463), for the stop's
/// reason: `5.1.1` → `user unknown`.
pub fn status_words(status: &str) -> Option<&'static str> {
    let detail = status.split_once('.').map(|(_, rest)| rest)?;
    Some(match detail {
        "1.1" => "user unknown",
        "1.2" => "domain not found",
        "1.3" => "bad address syntax",
        "1.6" => "mailbox moved",
        "1.10" => "domain accepts no mail",
        "2.1" => "mailbox disabled",
        "2.2" => "mailbox full",
        "2.3" => "message too large",
        "3.4" => "message too large",
        "4.4" => "no route to the domain",
        "4.7" => "delivery time expired",
        "7.1" => "refused by policy",
        "7.23" | "7.26" | "7.27" => "refused by the domain's sender policy",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_are_found_as_words_only() {
        assert_eq!(enhanced_status("5.1.1").as_deref(), Some("5.1.1"));
        assert_eq!(enhanced_status("4.2.2").as_deref(), Some("4.2.2"));
        assert_eq!(enhanced_status("192.168.1.1"), None);
        assert_eq!(enhanced_status("5.1"), None);
        assert_eq!(enhanced_status("2.0.0"), None);
        assert_eq!(status_words("5.1.1"), Some("user unknown"));
        assert_eq!(status_words("5.2.2"), Some("mailbox full"));
        assert_eq!(status_words("5.9.9"), None);
    }

    #[test]
    fn a_plain_bounce_prefers_the_permanent_code() {
        let text = "host mx.example.com said: 450 4.2.0 try later\n\
                    then: 550 5.1.1 <bob@example.com>: Recipient address rejected\n";
        let bounce = read_plain_bounce(text);
        assert_eq!(bounce.status.as_deref(), Some("5.1.1"));
        assert_eq!(bounce.addresses, ["bob@example.com"]);
        assert!(
            bounce
                .diagnostic
                .unwrap()
                .contains("Recipient address rejected")
        );
    }

    #[test]
    fn typed_addresses_lose_their_type_and_brackets() {
        assert_eq!(
            typed_address("rfc822; Bob@Example.com").as_deref(),
            Some("Bob@Example.com")
        );
        assert_eq!(
            typed_address("rfc822;<bob@example.com>").as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(typed_address("x400; nothing"), None);
    }
}
