//! What the sandbox keeps of a received e-mail, and how it reads one.
//!
//! The message list shows every message with a subject and a text body, as
//! for the HTTP API; for an e-mail those live inside the MIME message, so
//! they are read out with mailparse (which decodes RFC 2047 subjects,
//! quoted-printable and base64). What only an e-mail has goes to
//! [`SmtpEnvelope`]: the envelope sender, the Message-ID that duplicate
//! detection keys on, and the raw message for tests that check headers.

use serde::{Deserialize, Serialize};

/// The e-mail part of a received message, under `"smtp"` in
/// `GET /_sandbox/messages`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpEnvelope {
    /// The address of `MAIL FROM`.
    pub mail_from: String,
    /// The `Message-ID` header as sent, angle brackets included; `None`
    /// when the message had none.
    pub message_id: Option<String>,
    /// The id (`msg_...`) of the first message with the same Message-ID
    /// when this one repeats it: a duplicate delivery.
    pub duplicate_of: Option<String>,
    /// STARTTLS was in effect when the message was sent.
    pub tls: bool,
    /// The message as received (headers and body, dot-unstuffing undone),
    /// as UTF-8 with any invalid bytes replaced.
    pub raw: String,
}

/// The parts of a message the list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub subject: Option<String>,
    pub message_id: Option<String>,
    /// The first `text/plain` part (else the first part), decoded, with
    /// `\n` line ends and no trailing line break.
    pub body: String,
}

/// Read subject, Message-ID and text body. Never fails: a message mailparse
/// cannot read is summarised as its text after the first blank line.
pub(crate) fn summarize(raw: &[u8]) -> Summary {
    use mailparse::MailHeaderMap as _;
    let Ok(mail) = mailparse::parse_mail(raw) else {
        let text = String::from_utf8_lossy(raw);
        let body = text
            .split_once("\r\n\r\n")
            .or_else(|| text.split_once("\n\n"))
            .map_or("", |(_, body)| body);
        return Summary {
            subject: None,
            message_id: None,
            body: tidy(body),
        };
    };
    let header = |name: &str| {
        mail.headers
            .get_first_value(name)
            .map(|value| value.trim().to_string())
    };
    let leaf_parts = || mail.parts().filter(|part| part.subparts.is_empty());
    let text_part = leaf_parts()
        .find(|part| part.ctype.mimetype.eq_ignore_ascii_case("text/plain"))
        .or_else(|| leaf_parts().next());
    let body = text_part
        .and_then(|part| part.get_body().ok())
        .unwrap_or_default();
    Summary {
        subject: header("Subject"),
        message_id: header("Message-ID").filter(|id| !id.is_empty()),
        body: tidy(&body),
    }
}

fn tidy(body: &str) -> String {
    body.replace("\r\n", "\n")
        .trim_end_matches('\n')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_message() {
        let raw = b"From: a@x.io\r\nTo: b@y.io\r\nSubject: Hello\r\nMessage-ID: <k1@outreach>\r\n\r\nHi Ada,\r\n..dot\r\n";
        let summary = summarize(raw);
        assert_eq!(summary.subject.as_deref(), Some("Hello"));
        assert_eq!(summary.message_id.as_deref(), Some("<k1@outreach>"));
        assert_eq!(summary.body, "Hi Ada,\n..dot");
    }

    #[test]
    fn encoded_subject_and_multipart_alternative_pick_the_text_part() {
        let raw = concat!(
            "Subject: =?utf-8?b?SGVsbG8gQWTDoQ==?=\r\n",
            "Message-Id:   <k2@outreach>  \r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/alternative; boundary=\"b1\"\r\n",
            "\r\n",
            "--b1\r\n",
            "Content-Type: text/html; charset=utf-8\r\n\r\n",
            "<p>Hi</p>\r\n",
            "--b1\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
            "Ol=C3=A1 Ada\r\n",
            "--b1--\r\n"
        );
        let summary = summarize(raw.as_bytes());
        assert_eq!(summary.subject.as_deref(), Some("Hello Adá"));
        assert_eq!(summary.message_id.as_deref(), Some("<k2@outreach>"));
        assert_eq!(summary.body, "Olá Ada");
    }

    #[test]
    fn no_headers_of_interest() {
        let summary = summarize(b"X-Other: 1\r\n\r\nbody\r\n\r\n");
        assert_eq!(summary.subject, None);
        assert_eq!(summary.message_id, None);
        assert_eq!(summary.body, "body");
    }
}
