//! Staying inside a server's rate limits while sending.
//!
//! The plan spaces sends evenly, but the server has the last word: its
//! headers say how much quota is left and when it resets, and a 429 says we
//! went too fast anyway. This module turns responses into waits. Everything
//! here is pure: `now` and randomness are parameters, nothing sleeps or
//! reads the clock, so the executor owns time and the tests pin exact values.
//!
//! # Architecture
//!
//! - [`RateLimitInfo`] ([`headers`]): what one response announced, from any
//!   header dialect (IETF `RateLimit`/`RateLimit-Policy`, the earlier
//!   drafts' `RateLimit-*`, `X-RateLimit-*`, `Retry-After`), with instants
//!   moved into our clock. Built by [`parse_rate_limit_headers`].
//! - [`Advice`] ([`pacing`]): what to do before the next send, a pause and a
//!   minimum spacing. Built by [`advise`] from the info and the status.
//! - [`learn_window`] ([`learned_window`]): infers a window the headers do
//!   not name from a response that opened one.
//! - [`Pacer`] ([`pacer`]): one account's memory across responses: the
//!   policy announced or learned, and when its recent requests were
//!   answered, so a spent quota pauses until its real reset, not a reset
//!   rounded up to the second.
//! - [`BackoffPolicy`] ([`backoff`]): exponential backoff with full jitter,
//!   used only when a failure came without a usable hint; a server's reset
//!   is never scaled by the attempt number.
//!
//! Flow for one response:
//!
//! ```text
//! HeaderMap ─► parse_rate_limit_headers ─► RateLimitInfo ─► Pacer::observe ─► Advice
//!                                                           (policy, advise)      │
//!                                 failure without pause_until ─► BackoffPolicy::retry_at
//! ```

pub mod backoff;
pub mod headers;
pub mod learned_window;
pub mod pacer;
pub mod pacing;

pub use backoff::BackoffPolicy;
pub use headers::{RateLimitInfo, parse_rate_limit_headers};
pub use learned_window::learn_window;
pub use pacer::{Pacer, Policy};
pub use pacing::{Advice, MAX_HINT, advise};
