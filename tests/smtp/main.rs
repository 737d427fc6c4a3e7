//! E-mail over SMTP end to end: the real binary sends a campaign to an
//! SMTP sandbox (`outreach::sandbox::SmtpSandbox`, a real SMTP server) that
//! each test starts on 127.0.0.1 (issue 12, items 2 and 6).
//!
//! Each test writes `outreach.toml` with `[channel] type = "smtp"` pointing
//! at its own sandbox, a campaign of `rNN@example.test` recipients and a
//! template into a temp dir, runs `outreach send` (and `resume`) with an
//! events file per run, and asserts on what the server received (headers,
//! parts, Message-IDs, duplicates by Message-ID), the exit code, stderr,
//! the events and the journal (`status --json`, `report --format json`).
//! Rates are per second and retries short, so the whole file runs in a few
//! seconds of wall time, tests side by side.
//!
//! Modules by area:
//! - [`delivery`]: plain and STARTTLS with a login, the HTML part,
//!   `List-Unsubscribe`, the password nowhere on disk or screen; the quick
//!   start with `endpoint = "sandbox"`.
//! - [`refusals`]: 535 stops the account (then `resume` with the right
//!   password), 421 mid-campaign pauses and resumes, 550 fails one recipient.
//! - [`uncertain`]: the connection dropped after DATA (uncertain, never
//!   resent silently, resent with the same Message-ID on request); kill -9
//!   mid-campaign, then `resume`.

#[path = "../common/mod.rs"]
mod common;
mod delivery;
mod harness;
mod refusals;
mod uncertain;
