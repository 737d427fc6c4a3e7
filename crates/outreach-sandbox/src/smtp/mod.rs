//! A local SMTP server to send e-mail to: `outreach sandbox --smtp`.
//!
//! SMTP is the most common outreach channel, and its failures are the ones a
//! sender must survive: a 421 when it goes too fast, a 550 for an address
//! that does not exist, a 535 for a wrong password, and a connection lost
//! after the message was sent but before the reply, when nobody knows
//! whether it arrived. This server produces each on demand, on 127.0.0.1,
//! and records what it accepts in the same list as the HTTP API's messages.
//! The protocol is mailin's (parser and session state machine); the
//! decisions reuse the HTTP sandbox's limiter, fault dice and message log.
//!
//! # Architecture
//!
//! - [`settings`]: [`SmtpConfig`], [`SmtpUser`], [`ThrottleReply`].
//! - [`pattern`]: [`AddressPattern`], the wildcards of `--smtp-reject` / `--smtp-drop`.
//! - [`replies`]: every reply the sandbox chooses, with the providers' codes.
//! - [`envelope`]: [`SmtpEnvelope`] and reading subject, Message-ID and body.
//! - `ledger`: limits per sender, Message-IDs seen (duplicates), [`SmtpStats`].
//! - `session`: the mailin handler, one per connection: the decisions.
//! - `connection`: the tokio I/O loop: STARTTLS, drops, shutdown.
//! - `tls`: the certificate generated at start.
//! - `server`: [`SmtpSandbox`], the accept loop and the handle.
//! - [`args`]: the `--smtp*` flags and banner lines.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use outreach_sandbox::smtp::{SmtpConfig, SmtpSandbox};
//!
//! let smtp = SmtpSandbox::start(SmtpConfig { quiet: true, ..SmtpConfig::default() }).await?;
//! // Send to smtp.addr(); trust smtp.certificate_pem() for STARTTLS ...
//! assert_eq!(smtp.stats().duplicates, 0);
//! smtp.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod args;
mod connection;
pub mod envelope;
mod ledger;
pub mod pattern;
pub mod replies;
mod server;
mod session;
pub mod settings;
mod tls;

pub use args::SmtpArgs;
pub use envelope::SmtpEnvelope;
pub use ledger::SmtpStats;
pub use pattern::AddressPattern;
pub use server::SmtpSandbox;
pub use session::MAX_MESSAGE_BYTES;
pub use settings::{DEFAULT_SMTP_PORT, SmtpConfig, SmtpUser, ThrottleReply};
pub use tls::CERTIFICATE_NAMES;
