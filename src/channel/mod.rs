//! Channels: the ways a message reaches a person (today's JSON API, SMTP
//! e-mail, providers' HTTP APIs, any declared HTTP API).
//!
//! Every channel is a `send::api::MessageApi`: the executor, pacing, journal
//! and resume are the same for all of them. A channel's answer becomes a
//! `ResponseClass`, and any wait it finds outside the HTTP headers reaches the
//! pacer as `Retry-After`.
//!
//! - [`choice`]: which channel an account uses, as configured (`[channel]`,
//!   per-account overrides), saved in the journal.
//! - [`open`]: a choice checked at load and turned into a `MessageApi`.

pub mod choice;
pub mod open;
