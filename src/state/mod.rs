//! A campaign's durable state: turning a planned campaign into a journal, and
//! a journal back into work for `resume`.
//!
//! Architecture:
//! - [`paths`]: where a campaign's journal lives, and finding it again.
//! - [`saved`]: the options saved in the journal, so `resume` needs no flags.
//! - [`start`]: a planned campaign -> journal rows (messages, keys, digests).
//! - [`changes`]: what changed in the CSV and templates since the start.
//! - [`replan`]: pending messages -> per-account work, paced from now with
//!   the sends already made counted against every rate window.

pub mod changes;
pub mod paths;
pub mod replan;
pub mod saved;
pub mod start;
