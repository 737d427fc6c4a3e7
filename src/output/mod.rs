//! Writers for what the user reads: the plan as a table, CSV or JSON Lines.
//!
//! Every writer takes any `Write`, so tests render into a `Vec<u8>` and the
//! CLI into a locked, buffered stdout. Data goes to stdout; warnings and
//! summaries of machine formats go to stderr.

pub mod html;
pub mod records;
pub mod schedule;
pub mod text;
