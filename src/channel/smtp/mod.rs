//! E-mail over SMTP: the most common outreach channel.
//!
//! Each account names its server, login and sender in `outreach.toml`
//! ([`SmtpSettings`]); its token (from the environment variable the config
//! names) is the password or the XOAUTH2 access token. Every message becomes
//! an e-mail with a `Message-ID` derived from its idempotency key, so a
//! message resent after an uncertain attempt is recognisably the same one.
//! Reply codes drive the same machinery as HTTP statuses: sent, throttled
//! (the account pauses), refused login (the account stops), transient
//! (backoff) or permanent for the recipient.
//!
//! Architecture, in the order a message goes through it:
//! - [`settings`]: the config, its checks, [`validate_address`] for `plan`.
//! - [`unsubscribe`]: the `List-Unsubscribe` setting and header values.
//! - [`message`]: the e-mail itself (pure).
//! - `session`: connect, TLS, login.
//! - `transaction`: `MAIL FROM` … the reply, and whether a failure may have
//!   delivered the message.
//! - [`replies`]: what a reply code means (pure).
//! - [`channel`]: [`SmtpChannel`], the [`MessageApi`](crate::send::api::MessageApi)
//!   that holds one session per account and maps every outcome.

pub mod channel;
pub mod message;
pub mod replies;
mod session;
pub mod settings;
mod transaction;
pub mod unsubscribe;

#[cfg(test)]
mod test_relay;
#[cfg(test)]
mod test_server;
#[cfg(test)]
mod tests;

pub use channel::SmtpChannel;
pub use message::{Email, EmailError, SenderHeaders, build_email};
pub use settings::{
    AuthMethod, InvalidAddress, ListUnsubscribe, SmtpSettings, SmtpSettingsError, TlsMode,
    validate_address,
};
pub use unsubscribe::UnsubscribeTargets;
