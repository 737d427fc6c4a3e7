//! A local, rate-limited messaging API to send to: `outreach sandbox`.
//!
//! Real messaging APIs throttle, fail, lose responses and speak a handful of
//! rate-limit header dialects. Testing a sender against them is slow and
//! risky, so the sandbox imitates them on 127.0.0.1 with every behaviour on a
//! flag: a per-token limit over a fixed or rolling window, the header
//! dialect, injected 503s, dropped connections and latency from a seed, and
//! idempotent replays; with `--smtp`, an SMTP server beside it that
//! throttles, rejects and drops the same way. It runs from the command line for demos and
//! in-process for tests and for `outreach send` with `endpoint = "sandbox"`.
//! docs/sandbox.md is the user guide.
//!
//! # Architecture
//!
//! - [`settings`]: [`SandboxConfig`] and its validation; `--token` parsing.
//! - [`limiter`]: the pure per-token [`Limiter`] (`now` is always passed in).
//! - [`rate_headers`]: pure rendering of each [`HeaderDialect`].
//! - [`faults`]: the seeded [`FaultDice`].
//! - [`request`]: body and header parsing, the JSON error shape.
//! - [`ledger`]: the shared ledger: limiters, idempotency replies, messages, [`Stats`].
//! - `replies`: stored answers and how a repeated `Idempotency-Key` is judged.
//! - `routes`: the axum handlers of the default API, in pipeline order.
//! - [`providers`]: [`Provider`] personalities (`--provider`): each preset's
//!   API shape, authentication and error and throttle signals.
//! - `server`: [`Sandbox`], the accept loop that can drop a connection.
//! - [`message_log`]: [`MessageLog`], the message list both servers share.
//! - [`smtp`]: [`SmtpSandbox`], the SMTP server of `--smtp` (its own docs).
//! - [`command`]: [`SandboxArgs`], the banner, running until Ctrl-C.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use outreach_sandbox::{Sandbox, SandboxConfig};
//!
//! let sandbox = Sandbox::start(SandboxConfig { quiet: true, ..SandboxConfig::default() }, 0).await?;
//! // POST to sandbox.url() with `Authorization: Bearer sandbox-demo-token` ...
//! assert_eq!(sandbox.messages().len(), 0);
//! sandbox.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod command;
pub mod faults;
pub mod ledger;
pub mod limiter;
pub mod message_log;
pub mod providers;
pub mod rate_headers;
mod replies;
pub mod request;
mod routes;
mod server;
pub mod settings;
pub mod smtp;

pub use command::{SandboxArgs, run_cli};
pub use faults::{Fault, FaultDice, FaultRates};
pub use ledger::{AcceptedMessage, Stats};
pub use limiter::{Limiter, Quota, Verdict, WindowKind};
pub use message_log::MessageLog;
pub use providers::{Endpoint, Provider};
pub use rate_headers::HeaderDialect;
pub use request::{ApiError, MessageRequest};
pub use server::Sandbox;
pub use settings::{
    ConfigError, DEFAULT_LIMIT, DEMO_ACCOUNT, DEMO_TOKEN, SandboxConfig, TokenSpec,
};
pub use smtp::{SmtpConfig, SmtpEnvelope, SmtpSandbox, SmtpStats};
