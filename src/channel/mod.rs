//! Channels: the services a message can go out through, each behind the one
//! [`MessageApi`](crate::send::api::MessageApi) seam.
//!
//! The executor, its pacing, the journal and resume know nothing of a
//! channel's protocol. A channel turns one [`OutgoingMessage`] into its
//! service's request and the service's answer into an
//! [`ApiResponse`](crate::send::api::ApiResponse) whose
//! [`ResponseClass`](crate::send::api::ResponseClass) says what it means
//! (sent, throttled, refused credentials, worth a retry, never for this
//! recipient), or into a [`TransportError`](crate::send::api::TransportError)
//! that says whether the service may have taken the message. So every channel
//! keeps the same guarantees: even pacing, reply-aware throttling, exactly
//! once or reported uncertain, resumable.
//!
//! Architecture:
//! - [`smtp`]: e-mail over SMTP (lettre, tokio, rustls), one held connection
//!   per account.
//!
//! [`OutgoingMessage`]: crate::send::api::OutgoingMessage

pub mod smtp;
