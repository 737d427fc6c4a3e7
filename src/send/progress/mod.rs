//! Live progress on stderr: an overall bar and one line per account on a
//! terminal, or one plain log line per event otherwise.
//!
//! Both are [`EventSink`](crate::send::events::EventSink)s fed by the
//! executor's events, so the executor never branches on how (or whether)
//! progress is shown.
//!
//! - `plain_log`: [`PlainLog`], one line per event, for logs and pipes.
//! - `live_bars`: [`LiveProgress`], the bars and per-account lines on a
//!   terminal, and how an account's line reads.

mod live_bars;
mod plain_log;

pub use live_bars::LiveProgress;
pub use plain_log::PlainLog;
