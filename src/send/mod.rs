//! Sending a campaign: the executor and everything it talks to.
//!
//! Architecture:
//! - [`executor`]: spawns one task per account, owns the stop signal.
//! - [`account`]: one account's loop: slot, send, read headers, decide.
//! - [`api`]: the [`api::MessageApi`] seam and its reqwest implementation.
//! - [`recorder`]: the seam where the journal records every state change.
//! - [`claims`]: claiming the messages due next in one commit.
//! - [`events`]: typed events for progress, logs and `--events` files.
//! - [`background`]: writes event lines on a thread, off the send path.
//! - [`progress`]: what a person sees while it runs: bars on a terminal,
//!   one plain line per event otherwise.
//! - [`budget`]: stop when the API is clearly down.
//! - [`clock`]: wall time that follows tokio's pausable clock.

pub mod account;
pub mod api;
pub mod background;
pub mod budget;
pub mod claims;
pub mod clock;
pub mod events;
pub mod executor;
pub mod http_api;
pub mod journal_recorder;
pub mod progress;
pub mod recorder;
pub mod summary;
