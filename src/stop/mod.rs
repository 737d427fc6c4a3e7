//! Stopping people: `outreach stop` and do-not-contact lists (issue 13).
//!
//! # Architecture
//! - [`list`]: a do-not-contact list's entries and the hash-map [`list::Matcher`].
//! - [`command`]: `outreach stop`'s targets, recording them, and its summary.
//! - [`suppress`]: `suppress = [...]` lists at planning and while a campaign runs.
//!
//! The stop itself (the `stops` table, skipping unsent messages, the claim's
//! check) is the journal's: [`crate::journal::stops`].

pub mod command;
pub mod list;
pub mod suppress;
