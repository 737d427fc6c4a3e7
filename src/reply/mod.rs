//! Replies and bounces, for e-mail accounts (issue 13, item 2): an SMTP
//! account with an `imap` table has its inbox read while a campaign runs,
//! and a recipient who replies is stopped with reason `replied`, one whose
//! address bounced with `bounced: STATUS` (the same stop as `outreach
//! stop`, so the sender's next claim of their message is refused).
//! The journal is named by its [`Location`](crate::state::location::Location):
//! an SQLite file or a campaign in PostgreSQL, read and stopped alike.
//!
//! # Architecture
//! - [`settings`]: the `imap` table, checked at load, errors naming keys.
//! - [`classify`]: what a message is from its header (and a bounce's body):
//!   reply, bounce, automatic answer (never a stop) — pure; [`dsn`] reads
//!   delivery status notifications and plain-text bounces.
//! - [`matching`]: which campaign recipient it is about, by our
//!   Message-IDs (from the journal's idempotency keys) or by address — pure.
//! - [`client`]: the IMAP session (async-imap over tokio, rustls): log in,
//!   fetch the headers of messages since the campaign started with
//!   `BODY.PEEK`, so nothing is marked read.
//!   `stream` is its plain-or-TLS connection.
//! - [`inbox`]: one inbox checked once: fetch, classify, match, record.
//! - [`watch`]: checking every inbox on its interval while `send`/`resume`
//!   run, with backoff and one warning when a server is unreachable.

pub mod campaign;
pub mod classify;
pub mod client;
pub mod dsn;
pub mod inbox;
pub mod matching;
pub mod once;
pub mod settings;
mod stream;
pub mod watch;
