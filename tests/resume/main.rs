//! `outreach resume` end to end: the real binary interrupted (kill -9,
//! Ctrl-C, an API that goes away) and resumed against the in-process
//! sandbox, with the journal read back through `status` and `report`.
//!
//! Each test starts its own sandbox on 127.0.0.1:0 and works in its own
//! temp dir; every run writes its own events file. The kill -9 test runs
//! alone (see [`harness::GATE`]); the others run side by side.
//!
//! Modules by area:
//! - [`kill`]: kill -9 at 50 moments; nothing twice, nothing lost, the rate
//!   kept across interruptions.
//! - [`pacing`]: the rate across one interruption, exactly.
//! - [`interrupt`]: Ctrl-C, an API that was down, then `resume`.
//! - [`guards`]: a concurrent run refused; `send` on a finished campaign;
//!   `--restart`.
//! - [`changes`]: a changed CSV or template; `--allow-changes`.
//! - [`flags`]: `--retry-failed`, `--resend-uncertain`, retry flags.
//! - [`bad_state`]: `--state` on files that are not usable journals.
//! - [`reading`]: `status --json` and `report --format csv`.
//! - [`exit_codes`]: what `resume` exits with.
//! - [`steps_kill`]: kill -9 during two-step sequences with concurrent stops.
//!
//! Tests marked `#[ignore = "BUG: ..."]` show a bug in src/; they pass once
//! it is fixed (`cargo test --test resume -- --ignored`).

mod bad_state;
mod changes;
#[path = "../common/mod.rs"]
mod common;
mod exit_codes;
mod flags;
mod guards;
mod harness;
mod interrupt;
mod kill;
mod pacing;
mod reading;
mod steps_kill;
