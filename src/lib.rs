//! `outreach`: a command-line outreach scheduler for rate-limited messaging APIs.
//!
//! The crate is a library with a thin binary on top. Data flows one way:
//!
//! ```text
//! CSV + templates + config ──► campaign ──► plan (pure) ──► executor ──► HTTP API
//!                                                              │
//!                                                   journal ◄──┘ (every state change)
//! ```
//!
//! See docs/design.md for the modules and the reasons behind them.

// First, so every module below can use `say!`.
#[macro_use]
pub mod console;

pub mod account;
pub mod campaign;
pub mod channel;
pub mod cli;
pub mod config;
pub mod exit_codes;
pub mod input;
pub mod journal;
pub mod options;
pub mod output;
pub mod parallel;
pub mod plan;
pub mod reply;
pub mod send;
pub mod sequence;
pub mod session;
pub mod state;
pub mod stop;
pub mod throttle;
pub mod window;
pub mod worker;

// Crates of their own (docs/design.md, "The sandbox is a crate of its own"),
// re-exported so `outreach::rate` and `outreach::sandbox` paths keep working.
pub use outreach_rate as rate;
pub use outreach_sandbox as sandbox;
