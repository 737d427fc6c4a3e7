//! Every reply the SMTP sandbox chooses itself, in one table.
//!
//! A client decides what to do from the reply code alone (2xx sent, 4xx
//! try later, 5xx give up), and a person reads the text, so both follow
//! what large providers send. The codes and enhanced status codes are those
//! of Google Workspace's public list "Gmail SMTP errors and codes"
//! (421 4.7.0, 451 4.3.0, 535 5.7.8, 550 5.1.1, 552 5.3.4) and RFC 3463;
//! 451 4.7.1 is the common "deferred by policy" reply (greylisting,
//! Microsoft's 451 4.7.x). Replies the protocol itself needs (the greeting,
//! EHLO, 354, syntax errors) come from mailin's state machine.

use mailin::Response;

/// A reply code and its text (the enhanced status code first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: &'static str,
}

impl Reply {
    /// As sent on the wire: `550 5.1.1 User unknown\r\n`.
    pub fn line(self) -> String {
        format!("{} {}\r\n", self.code, self.text)
    }

    /// For mailin's state machine: 421 makes it close the session, any
    /// other 4xx/5xx keeps the state before the command.
    pub(crate) fn response(self) -> Response {
        Response::custom(self.code, self.text.to_string())
    }
}

const fn reply(code: u16, text: &'static str) -> Reply {
    Reply { code, text }
}

pub const SENDER_OK: Reply = reply(250, "2.1.0 Sender OK");
pub const RECIPIENT_OK: Reply = reply(250, "2.1.5 Recipient OK");
pub const AUTH_SUCCEEDED: Reply = reply(235, "2.7.0 Authentication successful");
pub const BAD_CREDENTIALS: Reply = reply(535, "5.7.8 Username and Password not accepted");
pub const USER_UNKNOWN: Reply = reply(550, "5.1.1 User unknown");
pub const THROTTLED_CLOSE: Reply = reply(421, "4.7.0 Try again later, closing connection");
pub const THROTTLED_DEFER: Reply = reply(451, "4.7.1 Try again later");
pub const INJECTED_FAILURE: Reply = reply(
    451,
    "4.3.0 Temporary failure (injected by --fail-rate), try again later",
);
pub const TOO_BIG: Reply = reply(
    552,
    "5.3.4 Message too big for the sandbox (10 MiB at most)",
);
pub const SHUTTING_DOWN: Reply = reply(421, "4.3.2 Sandbox shutting down, closing connection");
pub const IDLE_TIMEOUT: Reply = reply(421, "4.4.2 Idle for too long, closing connection");
pub const LINE_TOO_LONG: Reply = reply(500, "5.5.2 Line too long, closing connection");

/// The reply to an accepted message: `250 2.0.0 OK: queued as msg_000001`,
/// so a client can log the sandbox's id as a provider's message id.
pub(crate) fn queued(id: &str) -> Response {
    Response::custom(250, format!("2.0.0 OK: queued as {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mailin::Action;

    fn wire(response: &Response) -> String {
        String::from_utf8(response.buffer().unwrap()).unwrap()
    }

    #[test]
    fn replies_render_as_smtp_lines() {
        assert_eq!(USER_UNKNOWN.line(), "550 5.1.1 User unknown\r\n");
        assert_eq!(wire(&USER_UNKNOWN.response()), USER_UNKNOWN.line());
        assert_eq!(
            wire(&queued("msg_000007")),
            "250 2.0.0 OK: queued as msg_000007\r\n"
        );
    }

    #[test]
    fn only_421_closes_the_session() {
        assert_eq!(THROTTLED_CLOSE.response().action, Action::Close);
        for reply in [
            THROTTLED_DEFER,
            INJECTED_FAILURE,
            USER_UNKNOWN,
            BAD_CREDENTIALS,
            SENDER_OK,
        ] {
            assert_eq!(reply.response().action, Action::Reply, "{reply:?}");
        }
        assert!(THROTTLED_DEFER.response().is_error && !SENDER_OK.response().is_error);
    }
}
