//! Running a campaign: everything between resolved options and the exit code.
//!
//! `send` and `resume` in `cli/` resolve their flags and call [`send`] or
//! [`resume`]; both then go the same way: [`connect`] resolves the endpoint
//! and tokens before anything is written, journal rows become per-account
//! work ([`work`]), and [`run`] executes it with progress, events, signals and
//! a summary, closing the journal last. The next channel, step type or store
//! enters here (docs/design.md, "Where to add").

pub(crate) mod connect;
mod preview;
mod reconcile;
pub(crate) mod resume;
mod run;
mod send;
pub(crate) mod signals;
pub mod work;

pub use connect::{DEFAULT_ENDPOINT, SANDBOX_ENDPOINT, Target, choose_endpoint, connect};
pub use preview::first_request;
pub use resume::resume;
pub use run::run_work;
pub use send::{NewRun, send};
