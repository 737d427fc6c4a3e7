//! One outgoing message as an e-mail: headers, text body, optional HTML
//! alternative, and the bytes that go after `DATA`.
//!
//! Pure: the same message, sender and `now` give the same bytes, so `send
//! --dry-run` can print exactly what would be sent. Two things are derived
//! from the message's idempotency key, which is the same on every retry and
//! resume:
//!
//! - `Message-ID: <{key}@{from domain}>`. SMTP has no idempotency key; a
//!   message resent after an uncertain attempt carries the same Message-ID,
//!   so mail systems and the recipient's client can tell it is one message.
//! - the multipart boundary, so the bytes do not change from run to run.
//!
//! Header values are encoded by lettre (RFC 2047) and never written raw, so
//! a subject with a line break cannot add a header.
//!
//! Over 400 lines: half of it is the tests that parse the built e-mail back.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::{ContentType, HeaderName, HeaderValue, MIME_VERSION_1_0};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};

use super::settings::{InvalidAddress, validate_address};
use super::unsubscribe::UnsubscribeTargets;
use crate::send::api::OutgoingMessage;

/// The headers every message of one account carries, parsed once from its
/// settings ([`SmtpSettings::validate`](super::SmtpSettings::validate)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderHeaders {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub list_unsubscribe: Option<UnsubscribeTargets>,
}

/// An e-mail ready for the SMTP transaction.
#[derive(Debug, Clone)]
pub struct Email {
    /// `MAIL FROM` and `RCPT TO`.
    pub from: Address,
    pub recipients: Vec<Address>,
    /// `<key@domain>`, as in the header.
    pub message_id: String,
    /// Headers and body, CRLF line ends, before dot-stuffing.
    pub formatted: Vec<u8>,
}

/// Why a message cannot become an e-mail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the message has no recipient")]
    NoRecipient,
    #[error(transparent)]
    Recipient(#[from] InvalidAddress),
    #[error("cannot build the e-mail: {0}")]
    Build(String),
}

const LIST_UNSUBSCRIBE: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe");
const LIST_UNSUBSCRIBE_POST: HeaderName = HeaderName::new_from_ascii_str("List-Unsubscribe-Post");

/// Build the e-mail for `message`, dated `now`.
pub fn build_email(
    sender: &SenderHeaders,
    message: &OutgoingMessage,
    now: DateTime<Utc>,
) -> Result<Email, EmailError> {
    let recipients = message
        .payload
        .recipients
        .iter()
        .map(|recipient| validate_address(recipient))
        .collect::<Result<Vec<_>, _>>()?;
    if recipients.is_empty() {
        return Err(EmailError::NoRecipient);
    }
    let message_id = message_id(&message.idempotency_key, &sender.from.email);
    let mut builder = Message::builder()
        .from(sender.from.clone())
        .date(SystemTime::from(now))
        .message_id(Some(message_id.clone()));
    for recipient in &recipients {
        builder = builder.to(Mailbox::new(None, recipient.clone()));
    }
    if let Some(reply_to) = &sender.reply_to {
        builder = builder.reply_to(reply_to.clone());
    }
    if let Some(subject) = &message.payload.subject {
        builder = builder.subject(single_spaced(subject));
    }
    if let Some(targets) = &sender.list_unsubscribe {
        let first = message
            .payload
            .recipients
            .first()
            .map_or("", String::as_str);
        let (list_unsubscribe, one_click) =
            targets.header_value(first.trim(), &message.idempotency_key);
        builder = builder.raw_header(HeaderValue::new(LIST_UNSUBSCRIBE, list_unsubscribe));
        if one_click {
            builder = builder.raw_header(HeaderValue::new(
                LIST_UNSUBSCRIBE_POST,
                "List-Unsubscribe=One-Click".into(),
            ));
        }
    }
    let built = match &message.html {
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .boundary(boundary(&message.idempotency_key))
                .singlepart(
                    SinglePart::builder()
                        .content_type(ContentType::TEXT_PLAIN)
                        .body(message.payload.body.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .content_type(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
        ),
        // Not `singlepart`: it ends the body with one more line break.
        None => builder
            .header(MIME_VERSION_1_0)
            .header(ContentType::TEXT_PLAIN)
            .body(message.payload.body.clone()),
    }
    .map_err(|error| EmailError::Build(error.to_string()))?;
    Ok(Email {
        from: sender.from.email.clone(),
        recipients,
        message_id,
        formatted: built.formatted(),
    })
}

/// Runs of spaces as one space. lettre's header encoder ends an RFC 2047
/// encoded word at a run of spaces and starts a new one after it, and white
/// space between two encoded words is not displayed (RFC 2047 section 6.2):
/// `Grüße  Köln` would show as `GrüßeKöln`.
fn single_spaced(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len());
    for (index, part) in text.split(' ').enumerate() {
        if part.is_empty() && index > 0 {
            continue;
        }
        if index > 0 {
            spaced.push(' ');
        }
        spaced.push_str(part);
    }
    spaced
}

/// `<{key}@{from domain}>`. A key that is not a valid Message-ID local part
/// (RFC 5322 dot-atom) is replaced by its hash, which is just as stable.
pub fn message_id(idempotency_key: &str, from: &Address) -> String {
    let is_atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    let dot_atom = !idempotency_key.is_empty()
        && idempotency_key
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atom_char));
    let local = if dot_atom {
        idempotency_key.to_string()
    } else {
        blake3::hash(idempotency_key.as_bytes()).to_hex()[..32].to_string()
    };
    format!("<{local}@{}>", from.domain())
}

/// The multipart boundary: derived from the key so the bytes are stable;
/// `=_` cannot occur in quoted-printable or base64 parts.
fn boundary(idempotency_key: &str) -> String {
    let hash = blake3::hash(idempotency_key.as_bytes());
    format!("=_outreach_{}", &hash.to_hex()[..24])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;
    use mailparse::{MailHeaderMap, parse_mail};

    use super::*;
    use crate::send::api::MessagePayload;

    fn sender(list_unsubscribe: Option<UnsubscribeTargets>) -> SenderHeaders {
        SenderHeaders {
            from: "Ada Lovelace <ada@example.com>".parse().unwrap(),
            reply_to: Some("replies@example.org".parse().unwrap()),
            list_unsubscribe,
        }
    }

    fn outgoing(recipient: &str, subject: &str, html: Option<&str>) -> OutgoingMessage {
        OutgoingMessage {
            payload: MessagePayload {
                recipients: vec![recipient.into()],
                subject: Some(subject.into()),
                body: "Hello Bob,\nsee you on Friday.\n".into(),
            },
            html: html.map(String::from),
            fields: BTreeMap::new(),
            idempotency_key: "outreach-0123456789abcdef0123456789abcdef".into(),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap()
    }

    #[test]
    fn a_text_message_has_every_header_and_its_body() {
        let email = build_email(
            &sender(None),
            &outgoing("bob@example.net", "Friday", None),
            now(),
        )
        .unwrap();
        assert_eq!(email.from.to_string(), "ada@example.com");
        assert_eq!(email.recipients[0].to_string(), "bob@example.net");
        assert_eq!(
            email.message_id,
            "<outreach-0123456789abcdef0123456789abcdef@example.com>"
        );
        let parsed = parse_mail(&email.formatted).unwrap();
        let header = |name: &str| parsed.headers.get_first_value(name);
        assert_eq!(
            header("From").as_deref(),
            Some("\"Ada Lovelace\" <ada@example.com>")
        );
        assert_eq!(header("To").as_deref(), Some("bob@example.net"));
        assert_eq!(header("Reply-To").as_deref(), Some("replies@example.org"));
        assert_eq!(header("Subject").as_deref(), Some("Friday"));
        assert_eq!(header("Message-ID"), Some(email.message_id.clone()));
        assert_eq!(
            header("Date").as_deref(),
            Some("Mon, 02 Mar 2026 09:30:00 +0000")
        );
        assert_eq!(header("List-Unsubscribe"), None);
        assert_eq!(parsed.ctype.mimetype, "text/plain");
        assert_eq!(
            parsed.get_body().unwrap().replace("\r\n", "\n"),
            "Hello Bob,\nsee you on Friday.\n"
        );
    }

    #[test]
    fn html_makes_a_multipart_alternative_with_both_bodies() {
        let email = build_email(
            &sender(None),
            &outgoing("bob@example.net", "Friday", Some("<p>Hello <b>Bob</b></p>")),
            now(),
        )
        .unwrap();
        let parsed = parse_mail(&email.formatted).unwrap();
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let kinds: Vec<_> = parsed
            .subparts
            .iter()
            .map(|part| part.ctype.mimetype.clone())
            .collect();
        assert_eq!(kinds, ["text/plain", "text/html"]);
        assert!(
            parsed.subparts[0]
                .get_body()
                .unwrap()
                .contains("see you on Friday.")
        );
        assert_eq!(
            parsed.subparts[1].get_body().unwrap().trim_end(),
            "<p>Hello <b>Bob</b></p>"
        );
    }

    #[test]
    fn the_same_message_gives_the_same_bytes() {
        let message = outgoing("bob@example.net", "Friday", Some("<p>hi</p>"));
        let first = build_email(&sender(None), &message, now()).unwrap();
        let again = build_email(&sender(None), &message, now()).unwrap();
        assert_eq!(first.formatted, again.formatted);
    }

    #[test]
    fn list_unsubscribe_is_filled_in_per_recipient_with_one_click() {
        let targets = UnsubscribeTargets {
            mailto: Some("mailto:unsub@example.com?subject=stop".into()),
            url: Some("https://example.com/u?r={recipient}&k={idempotency_key}".into()),
        };
        let email = build_email(
            &sender(Some(targets)),
            &outgoing("bob+news@example.net", "Friday", None),
            now(),
        )
        .unwrap();
        let parsed = parse_mail(&email.formatted).unwrap();
        assert_eq!(
            parsed
                .headers
                .get_first_value("List-Unsubscribe")
                .as_deref(),
            Some(
                "<mailto:unsub@example.com?subject=stop>, \
                 <https://example.com/u?r=bob%2Bnews%40example.net&k=outreach-0123456789abcdef0123456789abcdef>"
            )
        );
        assert_eq!(
            parsed
                .headers
                .get_first_value("List-Unsubscribe-Post")
                .as_deref(),
            Some("List-Unsubscribe=One-Click")
        );
        let mailto_only = UnsubscribeTargets {
            mailto: Some("mailto:unsub@example.com".into()),
            url: None,
        };
        let email = build_email(
            &sender(Some(mailto_only)),
            &outgoing("bob@example.net", "Friday", None),
            now(),
        )
        .unwrap();
        let parsed = parse_mail(&email.formatted).unwrap();
        assert_eq!(
            parsed.headers.get_first_value("List-Unsubscribe-Post"),
            None
        );
    }

    #[test]
    fn a_line_break_in_the_subject_cannot_add_a_header() {
        let email = build_email(
            &sender(None),
            &outgoing("bob@example.net", "Hi\r\nBcc: eve@example.com", None),
            now(),
        )
        .unwrap();
        let parsed = parse_mail(&email.formatted).unwrap();
        assert_eq!(parsed.headers.get_first_value("Bcc"), None);
        assert!(
            parsed
                .headers
                .get_first_value("Subject")
                .unwrap()
                .starts_with("Hi")
        );
        assert_eq!(email.recipients.len(), 1);
    }

    #[test]
    fn non_ascii_text_survives_the_round_trip() {
        let mut message = outgoing("bob@example.net", "Grüße aus Köln", None);
        message.payload.body = "Schöne Grüße — Ada\n".into();
        let email = build_email(&sender(None), &message, now()).unwrap();
        assert!(email.formatted.is_ascii(), "encoded for 7-bit transport");
        let parsed = parse_mail(&email.formatted).unwrap();
        assert_eq!(
            parsed.headers.get_first_value("Subject").as_deref(),
            Some("Grüße aus Köln")
        );
        assert_eq!(
            parsed.get_body().unwrap().replace("\r\n", "\n"),
            "Schöne Grüße — Ada\n"
        );
    }

    #[test]
    fn bad_recipients_are_refused_before_sending() {
        let error =
            build_email(&sender(None), &outgoing("not-an-address", "x", None), now()).unwrap_err();
        assert!(matches!(error, EmailError::Recipient(_)), "{error}");
        let mut none = outgoing("bob@example.net", "x", None);
        none.payload.recipients.clear();
        assert_eq!(
            build_email(&sender(None), &none, now()).unwrap_err(),
            EmailError::NoRecipient
        );
    }

    proptest::proptest! {
        /// Whatever the templates render, the e-mail says exactly that:
        /// the same subject and body, one recipient, no header added.
        /// (No U+FEFF: the parser's decoder drops a leading one as a BOM.)
        #[test]
        fn any_subject_and_body_round_trip(
            subject in "[^\\p{Cc}\u{feff}]{0,120}",
            body in "([^\\p{Cc}\u{feff}]{0,60}\n){0,6}",
        ) {
            let mut message = outgoing("bob@example.net", &subject, None);
            message.payload.body = body.clone();
            let email = build_email(&sender(None), &message, now()).unwrap();
            proptest::prop_assert!(email.formatted.is_ascii());
            let parsed = parse_mail(&email.formatted).unwrap();
            // Spaces around a header value are not part of it (RFC 5322);
            // runs of spaces are written as one (`single_spaced`).
            let subject = subject.split(' ').filter(|word| !word.is_empty()).collect::<Vec<_>>().join(" ");
            proptest::prop_assert_eq!(parsed.headers.get_first_value("Subject"), Some(subject));
            proptest::prop_assert_eq!(parsed.get_body().unwrap().replace("\r\n", "\n"), body);
            proptest::prop_assert_eq!(parsed.headers.get_all_values("To").len(), 1);
            proptest::prop_assert_eq!(parsed.headers.get_first_value("Bcc"), None);
        }

    }

    #[test]
    fn message_ids_are_stable_and_always_valid() {
        let from: Address = "ada@example.com".parse().unwrap();
        assert_eq!(message_id("k-1", &from), "<k-1@example.com>");
        assert_eq!(message_id("k-1", &from), message_id("k-1", &from));
        for odd in ["", "a b", "a..b", ".a", "a@b", "<x>"] {
            let id = message_id(odd, &from);
            assert_eq!(id.len(), "<@example.com>".len() + 32, "{odd}: {id}");
            assert!(id.ends_with("@example.com>"));
        }
        assert_ne!(message_id("a b", &from), message_id("a c", &from));
    }
}
