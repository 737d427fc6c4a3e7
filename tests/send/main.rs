//! `outreach send` end to end: the real binary against the in-process
//! sandbox (issue 4).
//!
//! Each test starts its own sandbox on 127.0.0.1:0, writes a campaign into a
//! temp dir, runs the binary with `--events events.jsonl`, and asserts on
//! what the sandbox received (times, recipients, Idempotency-Keys), the exit
//! code, stderr and the events. Rates are per second and retries short, so
//! each test takes a few seconds at most and they run side by side.
//!
//! Modules by area:
//! - [`pacing`]: even spacing, several accounts in parallel, `--dry-run`.
//! - [`throttling`]: every header dialect, pausing on a 429.
//! - [`pace`]: reaching the server's real pace in every dialect, and with
//!   transient faults (issue 10).
//! - [`failures`]: 5xx, dropped connections, timeouts, 400, 401.
//! - [`safety`]: Ctrl-C, tokens never written anywhere, missing tokens,
//!   the embedded sandbox with the samples.

#[path = "../common/mod.rs"]
mod common;
mod failures;
mod harness;
mod pace;
mod pacing;
mod safety;
mod throttling;
