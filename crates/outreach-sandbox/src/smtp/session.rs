//! One SMTP conversation's decisions: mailin asks, the sandbox answers.
//!
//! mailin parses each command and keeps the SMTP state machine; at each step
//! that needs a decision it calls the [`Handler`] here, which answers with a
//! reply. In order, for one message:
//!
//! 1. `AUTH PLAIN` / `AUTH LOGIN` (only offered with users): 235 or 535.
//! 2. `MAIL FROM`: the fault dice (451 4.3.0), then the limit of the user,
//!    or of the envelope sender without AUTH (421 4.7.0 or 451 4.7.1).
//! 3. `RCPT TO`: 550 5.1.1 for a `--smtp-reject` recipient.
//! 4. The end of DATA: record the message; then reply `250 ... queued as
//!    msg_N`, or, when the dice or `--smtp-drop` say so, reply nothing and
//!    have the connection dropped.
//!
//! What the connection has to do besides writing the reply (wait, drop, know
//! that TLS is on) travels through [`Notes`], shared with the connection.

use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use mailin::{Handler, Response};

use super::envelope::summarize;
use super::ledger::{Delivery, Opening, SmtpShared};
use super::replies;

/// The largest message recorded; a bigger one gets 552 and is not kept.
pub const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// What the connection and the handler tell each other between lines.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    /// Set by the connection once STARTTLS has completed.
    pub tls: bool,
    /// Wait this long before writing the next reply.
    pub delay: Duration,
    /// Close the connection now, without writing the reply.
    pub drop_connection: bool,
}

pub(crate) type SharedNotes = Arc<Mutex<Notes>>;

pub(crate) fn lock(notes: &SharedNotes) -> MutexGuard<'_, Notes> {
    // Only this connection's task touches its notes; a poisoned lock still
    // holds valid flags.
    notes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The message being received.
#[derive(Debug, Default)]
struct Draft {
    mail_from: String,
    recipients: Vec<String>,
    data: Vec<u8>,
    too_large: bool,
    drop_after_data: bool,
}

/// The handler of one connection.
pub(crate) struct SmtpSession {
    shared: Arc<SmtpShared>,
    notes: SharedNotes,
    user: Option<String>,
    draft: Draft,
}

impl SmtpSession {
    pub fn new(shared: Arc<SmtpShared>, notes: SharedNotes) -> SmtpSession {
        SmtpSession {
            shared,
            notes,
            user: None,
            draft: Draft::default(),
        }
    }

    fn login(&mut self, name: &str, password: &str) -> Response {
        match self.shared.authenticate(name, password) {
            Some(user) => {
                self.user = Some(user);
                replies::AUTH_SUCCEEDED.response()
            }
            None => replies::BAD_CREDENTIALS.response(),
        }
    }

    fn print(&self, line: &str) {
        use std::io::Write as _;
        if !self.shared.config.quiet {
            // A closed stdout must not take the server down.
            let _ = writeln!(std::io::stdout().lock(), "{line}");
        }
    }
}

impl Handler for SmtpSession {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.draft = Draft {
            mail_from: from.to_string(),
            ..Draft::default()
        };
        let account = self.account();
        match self.shared.open(&account, Instant::now()) {
            Opening::Fail => replies::INJECTED_FAILURE.response(),
            Opening::Throttled { .. } => self.shared.config.throttle_reply.reply().response(),
            Opening::Open { delay, drop } => {
                self.draft.drop_after_data = drop;
                lock(&self.notes).delay = delay;
                replies::SENDER_OK.response()
            }
        }
    }

    fn rcpt(&mut self, to: &str) -> Response {
        if self.shared.rejects(to) {
            return replies::USER_UNKNOWN.response();
        }
        self.draft.recipients.push(to.to_string());
        replies::RECIPIENT_OK.response()
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        // Never an error: mailin would reply to every later line of the
        // message. A message over the limit is refused once, at its end.
        if self.draft.data.len() + buf.len() > MAX_MESSAGE_BYTES {
            self.draft.too_large = true;
        } else if !self.draft.too_large {
            self.draft.data.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let draft = std::mem::take(&mut self.draft);
        if draft.too_large {
            return replies::TOO_BIG.response();
        }
        let drop = draft.drop_after_data || self.shared.drops_any(&draft.recipients);
        let summary = summarize(&draft.data);
        let delivery = Delivery {
            account: self.account_for(&draft.mail_from),
            mail_from: draft.mail_from,
            recipients: draft.recipients,
            tls: lock(&self.notes).tls,
            raw: draft.data,
        };
        let message = self.shared.record(delivery, summary, SystemTime::now());
        self.print(&message.log_line());
        if drop {
            self.shared.note_dropped();
            lock(&self.notes).drop_connection = true;
        }
        replies::queued(&message.id)
    }

    fn auth_plain(
        &mut self,
        _authorization_id: &str,
        authentication_id: &str,
        password: &str,
    ) -> Response {
        self.login(authentication_id, password)
    }

    fn auth_login(&mut self, username: &str, password: &str) -> Response {
        self.login(username, password)
    }
}

impl SmtpSession {
    /// Whose limit a message counts against: the logged-in user, else the
    /// envelope sender (lower-cased: addresses differing in case are one sender).
    fn account(&self) -> String {
        self.account_for(&self.draft.mail_from)
    }

    fn account_for(&self, mail_from: &str) -> String {
        self.user
            .clone()
            .unwrap_or_else(|| mail_from.to_ascii_lowercase())
    }
}
