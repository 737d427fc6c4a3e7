//! A campaign's durable state: what a planned campaign writes to its journal,
//! and what `resume` reads back (the work itself is built in `session`).
//!
//! Architecture:
//! - [`paths`]: where a campaign's journal file lives, and finding it again.
//! - [`location`]: a journal file or a campaign in PostgreSQL, and the one
//!   seam where stores are opened.
//! - [`saved`]: the options saved in the journal, so `resume` needs no flags.
//! - [`start`]: a planned campaign -> journal rows (messages, keys, digests).
//! - [`standing`]: where a campaign stands for `status` (sender, counts, ETA).
//! - [`changes`]: what changed in the CSV and templates since the start.
//! - [`preflight`]: what `send` would do with its journal, found without
//!   writing (`send --dry-run`), and the refusals' wording `send` shares.

pub mod changes;
pub mod location;
pub mod paths;
pub mod preflight;
pub mod saved;
pub mod standing;
pub mod start;
