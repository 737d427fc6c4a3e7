//! Channels: the ways a message leaves `outreach` for a real service.
//!
//! The executor speaks to one seam, [`crate::send::api::MessageApi`], and
//! understands one answer, [`crate::send::api::ResponseClass`]. A channel is
//! whatever turns an [`crate::send::api::OutgoingMessage`] into a provider's
//! request and the provider's answer back into that class, so pacing,
//! throttling, retries and the journal stay the same for every service.
//!
//! - [`http`]: any HTTP API, declared as data (method, URL, headers and body
//!   as templates, auth, response rules); the provider presets (Slack,
//!   SendGrid, Telegram, ...) are such declarations.

pub mod http;
