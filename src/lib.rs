//! `outreach`: a command-line outreach scheduler for rate-limited messaging APIs.
//!
//! The crate is a library with a thin binary on top. Data flows one way:
//!
//! ```text
//! CSV + templates + config ──► campaign input ──► plan (pure) ──► output / executor ──► HTTP API
//! ```
//!
//! See docs/design.md for the modules and the reasons behind them.

pub mod cli;
pub mod exit_codes;
pub mod rate;
pub mod sandbox;
pub mod throttle;
pub mod window;
