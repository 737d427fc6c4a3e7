//! What an SMTP reply means for the message and the account: the same
//! [`ResponseClass`] an HTTP status becomes, so the executor has one set of
//! rules for every channel.
//!
//! Pure: a reply code, its enhanced status code (RFC 3463, `4.7.28`) and the
//! stage of the session it answered give the class. Rules, in order:
//!
//! 1. 2xx: sent. (3xx only ever answers `DATA` or an `AUTH` challenge, which
//!    the session handles; it is never a final reply.)
//! 2. 530, 534, 535, 538 (RFC 4954): the login was refused. The account
//!    stops, its messages stay pending, like HTTP 401.
//! 3. Throttling, where the account pauses (and backs off) rather than this
//!    message alone:
//!    - 421: the server is closing the session, "try again later" (Gmail's
//!      `4.7.0` unusual rate, `4.7.28` rate limited; busy servers);
//!    - 452, too many recipients or messages for now (`4.5.3`), except
//!      `4.2.2`, one recipient's full mailbox, which is about that recipient;
//!    - 451 with a `4.7.x` code: a policy deferral (Microsoft 365 answers
//!      `451 4.7.500-699` when it throttles a sender; Gmail uses `4.7.x` for
//!      rate-based deferrals);
//!    - any `x.4.5` code, "mail system congestion" (RFC 3463), which Gmail
//!      also sends as `550 5.4.5` when the account's daily sending quota is
//!      used up: the account must wait, the recipient is fine.
//! 4. A permanent reply (5xx) before any recipient was named, in the
//!    session's greeting, `EHLO`, `STARTTLS`, `AUTH` or to `MAIL FROM`, is about the
//!    account (its sender address refused, its host blocked), not about a
//!    recipient: failing every message for it would burn the list, so the
//!    account stops as in rule 2 with the server's words as the reason.
//! 5. Other 4xx: transient, retried with backoff. A 4xx is an explicit "not
//!    taken", so the message was certainly not delivered.
//! 6. Other 5xx (550 no such user, 553 bad address, 554 rejected content):
//!    permanent for this recipient, with the server's text as the reason.
//!
//! Sources: RFC 5321 section 4.2 (reply codes), RFC 3463 (enhanced status
//! codes), RFC 4954 section 6 (AUTH replies), Google Workspace's "Gmail SMTP
//! errors and codes", Microsoft 365's NDR reference for `451 4.7.500-699`.

use crate::send::api::ResponseClass;

/// Where in the session a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Greeting, `EHLO`, `STARTTLS`: opening the session.
    Opening,
    /// `AUTH`.
    Login,
    /// `MAIL FROM`: the sender.
    Sender,
    /// `RCPT TO`: one recipient.
    Recipient,
    /// The `DATA` command, before the message is sent.
    Data,
    /// The reply to the message itself, after the final `.`.
    Content,
}

/// One reply: its code and text as the server sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// The reply's lines joined by spaces; usually starts with the enhanced
    /// status code (`5.1.1 The email account ... does not exist`).
    pub text: String,
}

impl Reply {
    /// The RFC 3463 code at the start of the text (`4.7.28`), if its class
    /// agrees with the reply code as RFC 2034 requires.
    pub fn enhanced_code(&self) -> Option<(u8, u16, u16)> {
        let word = self.text.split_whitespace().next()?;
        let mut parts = word.splitn(3, '.');
        let class: u8 = parts.next()?.parse().ok()?;
        let subject: u16 = parts.next()?.parse().ok()?;
        let detail: u16 = parts.next()?.parse().ok()?;
        (u16::from(class) == self.code / 100).then_some((class, subject, detail))
    }
}

impl Reply {
    /// A positive reply as lettre parsed it.
    pub(crate) fn from_response(response: &lettre::transport::smtp::response::Response) -> Reply {
        Reply {
            code: u16::from(response.code()),
            text: response.message().collect::<Vec<_>>().join(" "),
        }
    }

    /// The negative reply inside a lettre error, if the error is one (lettre
    /// keeps the code and the server's text as the error's source).
    pub(crate) fn from_error(error: &lettre::transport::smtp::Error) -> Option<Reply> {
        let code = error.status()?;
        let text = std::error::Error::source(error)
            .map(ToString::to_string)
            .unwrap_or_default();
        Some(Reply {
            code: u16::from(code),
            text,
        })
    }
}

/// What `reply`, received at `stage`, means (the rules above).
pub fn classify(reply: &Reply, stage: Stage) -> ResponseClass {
    let code = reply.code;
    let enhanced = reply.enhanced_code();
    let congestion = matches!(enhanced, Some((_, 4, 5)));
    match code {
        200..=399 => ResponseClass::Sent,
        530 | 534 | 535 | 538 => ResponseClass::AuthRefused,
        421 => ResponseClass::Throttled,
        452 if !matches!(enhanced, Some((4, 2, 2))) => ResponseClass::Throttled,
        451 if matches!(enhanced, Some((4, 7, _))) => ResponseClass::Throttled,
        _ if congestion => ResponseClass::Throttled,
        500..=599 if matches!(stage, Stage::Opening | Stage::Login | Stage::Sender) => {
            ResponseClass::AuthRefused
        }
        400..=499 => ResponseClass::Transient {
            maybe_delivered: false,
        },
        _ => ResponseClass::Permanent,
    }
}

/// The standard meaning of a reply code in a few words (RFC 5321 section
/// 4.2.2, RFC 4954), for messages; the server's own text goes beside it.
pub fn code_phrase(code: u16) -> &'static str {
    match code {
        250 => "OK",
        251 => "User not local; will forward",
        421 => "Service not available, closing the connection",
        450 => "Mailbox unavailable",
        451 => "Local error in processing",
        452 => "Insufficient system storage",
        454 => "Temporary authentication failure",
        455 => "Server unable to accommodate parameters",
        500 => "Syntax error, command unrecognized",
        501 => "Syntax error in parameters",
        502 => "Command not implemented",
        503 => "Bad sequence of commands",
        504 => "Command parameter not implemented",
        530 => "Authentication required",
        534 => "Authentication mechanism is too weak",
        535 => "Authentication credentials invalid",
        538 => "Encryption required for the authentication mechanism",
        550 => "Mailbox unavailable",
        551 => "User not local",
        552 => "Exceeded storage allocation",
        553 => "Mailbox name not allowed",
        554 => "Transaction failed",
        555 => "MAIL FROM/RCPT TO parameters not recognized",
        _ => match code / 100 {
            2 => "OK",
            4 => "Temporary failure",
            5 => "Permanent failure",
            _ => "",
        },
    }
}

/// `status_text` for a reply: the phrase, and the enhanced code when the
/// server gave one (`Service not available, closing the connection (4.7.28)`),
/// so a throttle or retry event says which limit was hit.
pub fn status_text(reply: &Reply) -> String {
    let phrase = code_phrase(reply.code);
    match reply.enhanced_code() {
        Some((class, subject, detail)) => format!("{phrase} ({class}.{subject}.{detail})"),
        None => phrase.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ResponseClass::*;

    fn reply(code: u16, text: &str) -> Reply {
        Reply {
            code,
            text: text.into(),
        }
    }

    const NOT_DELIVERED: ResponseClass = Transient {
        maybe_delivered: false,
    };

    #[test]
    fn provider_replies_mean_what_their_documentation_says() {
        let cases = [
            (250, "2.0.0 OK 1712 queued", Stage::Content, Sent),
            (
                421,
                "4.7.0 Try again later, closing connection.",
                Stage::Opening,
                Throttled,
            ),
            (
                421,
                "4.7.28 Our system has detected an unusual rate",
                Stage::Content,
                Throttled,
            ),
            (
                452,
                "4.5.3 Your message has too many recipients.",
                Stage::Recipient,
                Throttled,
            ),
            (
                452,
                "4.2.2 The email account that you tried to reach is over quota.",
                Stage::Recipient,
                NOT_DELIVERED,
            ),
            (
                451,
                "4.7.500 Server busy. Please try again later.",
                Stage::Recipient,
                Throttled,
            ),
            (
                451,
                "4.3.0 Mail server temporarily rejected message.",
                Stage::Content,
                NOT_DELIVERED,
            ),
            (
                450,
                "4.2.1 The user you are trying to contact is receiving mail too quickly.",
                Stage::Recipient,
                NOT_DELIVERED,
            ),
            (
                454,
                "4.7.0 Too many login attempts, please try again later.",
                Stage::Login,
                NOT_DELIVERED,
            ),
            (
                535,
                "5.7.8 Username and Password not accepted.",
                Stage::Login,
                AuthRefused,
            ),
            (
                534,
                "5.7.9 Application-specific password required.",
                Stage::Login,
                AuthRefused,
            ),
            (
                530,
                "5.7.0 Authentication Required.",
                Stage::Sender,
                AuthRefused,
            ),
            (
                550,
                "5.4.5 Daily user sending limit exceeded.",
                Stage::Sender,
                Throttled,
            ),
            (
                550,
                "5.4.5 Daily user sending limit exceeded.",
                Stage::Recipient,
                Throttled,
            ),
            (
                553,
                "5.7.1 Sender address rejected: not owned by user",
                Stage::Sender,
                AuthRefused,
            ),
            (
                554,
                "5.7.1 Service unavailable; client host blocked",
                Stage::Opening,
                AuthRefused,
            ),
            (
                550,
                "5.1.1 The email account that you tried to reach does not exist.",
                Stage::Recipient,
                Permanent,
            ),
            (
                553,
                "5.1.3 The recipient address is not a valid address.",
                Stage::Recipient,
                Permanent,
            ),
            (552, "5.3.4 Message too big", Stage::Content, Permanent),
            (
                554,
                "5.7.1 Message rejected as spam",
                Stage::Content,
                Permanent,
            ),
            (551, "User not local", Stage::Recipient, Permanent),
        ];
        for (code, text, stage, expected) in cases {
            assert_eq!(
                classify(&reply(code, text), stage),
                expected,
                "{code} {text} at {stage:?}"
            );
        }
    }

    #[test]
    fn codes_without_enhanced_status_follow_the_reply_code() {
        assert_eq!(classify(&reply(421, ""), Stage::Content), Throttled);
        assert_eq!(classify(&reply(452, "busy"), Stage::Recipient), Throttled);
        assert_eq!(
            classify(&reply(451, "later"), Stage::Content),
            NOT_DELIVERED
        );
        assert_eq!(classify(&reply(550, "no"), Stage::Recipient), Permanent);
        assert_eq!(classify(&reply(550, "no"), Stage::Sender), AuthRefused);
    }

    #[test]
    fn enhanced_codes_must_agree_with_the_reply_class() {
        assert_eq!(
            reply(451, "4.7.500 busy").enhanced_code(),
            Some((4, 7, 500))
        );
        assert_eq!(reply(451, "5.7.1 mixed").enhanced_code(), None);
        assert_eq!(reply(451, "4.7 short").enhanced_code(), None);
        assert_eq!(reply(451, "").enhanced_code(), None);
        // A 4.7.x code on a 5xx reply is ignored, so it stays permanent.
        assert_eq!(
            classify(&reply(550, "4.7.1 odd"), Stage::Recipient),
            Permanent
        );
    }

    #[test]
    fn every_final_code_has_a_class() {
        for code in 200..600 {
            for stage in [
                Stage::Opening,
                Stage::Login,
                Stage::Sender,
                Stage::Recipient,
                Stage::Data,
                Stage::Content,
            ] {
                let class = classify(&reply(code, ""), stage);
                match code {
                    200..=399 => assert_eq!(class, Sent),
                    400..=499 => assert!(
                        matches!(class, Throttled | NOT_DELIVERED),
                        "a 4xx is never permanent: {code} {class:?}"
                    ),
                    _ => assert!(matches!(class, Permanent | AuthRefused), "{code} {class:?}"),
                }
            }
        }
    }

    #[test]
    fn status_text_names_the_enhanced_code() {
        assert_eq!(
            status_text(&reply(421, "4.7.28 rate limited")),
            "Service not available, closing the connection (4.7.28)"
        );
        assert_eq!(
            status_text(&reply(550, "no such user")),
            "Mailbox unavailable"
        );
        assert_eq!(status_text(&reply(250, "2.0.0 OK")), "OK (2.0.0)");
    }
}
