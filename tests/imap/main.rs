//! Replies and bounces over IMAP end to end (issue 13, item 2): the real
//! binary sends a campaign to the SMTP sandbox while a real dovecot, started
//! by each test on 127.0.0.1 (`dovecot`), holds the sender's inbox. Replies,
//! bounces and automatic answers are put there with IMAP APPEND while
//! `send` runs (or between runs, for `outreach replies`), and the tests
//! assert on who received what, the journal (`status --json`, `report`),
//! stderr and stdout.
//!
//! Without dovecot (`apt-get install dovecot-imapd`) the tests that need
//! it skip with one line; `OUTREACH_REQUIRE_IMAP=1` makes that a failure.
//! The "server down" test needs no dovecot and always runs.
//!
//! Modules:
//! - [`dovecot`]: the server harness (config, users, TLS, APPEND).
//! - [`samples`]: the messages put in the inbox.
//! - [`stops`]: the tests, with SQLite journals.
//! - [`postgres`]: the same for a campaign in PostgreSQL (also needs
//!   `OUTREACH_TEST_DATABASE_URL`).

#[path = "../common/mod.rs"]
mod common;
mod dovecot;
#[allow(dead_code, unused_imports)]
#[path = "../smtp/harness.rs"]
mod harness;
mod postgres;
mod samples;
mod stops;
