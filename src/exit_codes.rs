//! Process exit codes, one documented constant each.
//!
//! Scripts that drive `outreach` branch on these, so they are part of the public
//! interface: docs/cli.md lists the same table. Never renumber one.

/// Everything asked for was done: every message sent (or the plan printed).
pub const SUCCESS: i32 = 0;
/// An error stopped the command: bad input, an unreadable file, an API that is down.
pub const ERROR: i32 = 1;
/// The command line itself was wrong (clap's own code for usage errors).
pub const USAGE: i32 = 2;
/// The campaign finished but some messages failed or are uncertain.
pub const SOME_FAILED: i32 = 3;
/// Stopped by Ctrl-C or SIGTERM; `outreach resume` continues.
pub const INTERRUPTED: i32 = 130;
