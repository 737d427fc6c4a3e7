//! Channels: the ways a message leaves `outreach` for a real service
//! (today's JSON API, SMTP e-mail, providers' HTTP APIs, any declared HTTP API).
//!
//! The executor speaks to one seam, [`crate::send::api::MessageApi`], and
//! understands one answer, [`crate::send::api::ResponseClass`]. A channel is
//! whatever turns an [`crate::send::api::OutgoingMessage`] into a provider's
//! request and the provider's answer back into that class (any wait it finds
//! outside the HTTP headers reaches the pacer as `Retry-After`), or into a
//! [`crate::send::api::TransportError`] that says whether the service may
//! have taken the message. So pacing, throttling, retries and the journal
//! stay the same for every service: exactly once or reported uncertain,
//! resumable.
//!
//! - [`choice`]: which channel an account uses, as configured (`[channel]`,
//!   per-account overrides), saved in the journal.
//! - [`open`]: a choice checked at load and turned into a `MessageApi`.
//! - [`http`]: any HTTP API, declared as data (method, URL, headers and body
//!   as templates, auth, response rules); the provider presets (Slack,
//!   SendGrid, Telegram, ...) are such declarations.
//! - [`smtp`]: e-mail over SMTP (lettre, tokio, rustls), one held connection
//!   per account.

pub mod choice;
pub mod http;
pub mod open;
pub mod smtp;
