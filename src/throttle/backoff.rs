//! Exponential backoff with full jitter, for failures the server did not explain.
//!
//! When a send fails with no usable hint (a 429 without `Retry-After` or a
//! reset, a 5xx, a dropped connection), the retry waits a random time in
//! `[0, min(cap, base * 2^attempt))` ("full jitter"), so that many clients
//! failing together do not retry together.
//!
//! Backoff is ONLY for failures without a server hint. A known reset or
//! `Retry-After` is an instant, and waiting until it is exactly enough; it is
//! never multiplied by `2^attempt`. Doing so is the bug in the widely copied
//! snippet `time.sleep(retry_after * (2 ** attempt))`, which turns a one-hour
//! reset into a 32-hour stall by the sixth attempt.
//! [`BackoffPolicy::retry_at`] encodes the rule: a hint wins, and only its
//! absence falls back to the jittered exponential delay.
//!
//! Randomness comes in as a parameter (`unit_random`), so every delay is a
//! pure function that tests can pin.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// How long to wait after failures that came without a server hint.
///
/// `attempt` counts retries from 0: the wait before the first retry uses
/// attempt 0 (ceiling `base`), the next attempt 1 (ceiling `2 * base`), and
/// so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The ceiling of the first wait.
    pub base: Duration,
    /// No wait is ever longer than this.
    pub cap: Duration,
    /// How many attempts a send gets in all, the first one included.
    pub max_attempts: u32,
}

impl Default for BackoffPolicy {
    /// 2 s doubling up to 10 min, 6 attempts: ceilings 2, 4, 8, 16 and 32 s
    /// before the five retries.
    fn default() -> BackoffPolicy {
        BackoffPolicy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
            max_attempts: 6,
        }
    }
}

impl BackoffPolicy {
    /// The longest wait before retry number `attempt` (from 0):
    /// `min(cap, base * 2^attempt)`, without overflow for any `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let (base, cap) = (self.base.as_nanos(), self.cap.as_nanos());
        if base == 0 {
            return Duration::ZERO;
        }
        let grown = 1u128
            .checked_shl(attempt)
            .and_then(|factor| base.checked_mul(factor))
            .unwrap_or(u128::MAX);
        from_nanos(grown.min(cap))
    }

    /// The wait before retry number `attempt`: `unit_random * ceiling`, with
    /// `unit_random` drawn uniformly from `[0, 1)` by the caller (values
    /// outside are clamped into it; NaN counts as 0).
    pub fn delay(&self, attempt: u32, unit_random: f64) -> Duration {
        let ceiling = self.ceiling(attempt).as_nanos();
        let unit = if unit_random.is_nan() {
            0.0
        } else {
            unit_random.clamp(0.0, 1.0)
        };
        // `as` saturates and the float product may round up, so clamp to
        // stay strictly below the ceiling (or at zero when it is zero).
        let nanos = ((ceiling as f64) * unit).floor() as u128;
        from_nanos(nanos.min(ceiling.saturating_sub(1)))
    }

    /// Whether a send that has failed `attempts_made` times (the first try
    /// included) has used up its attempts.
    pub fn exhausted(&self, attempts_made: u32) -> bool {
        attempts_made >= self.max_attempts
    }

    /// When to retry: at the server's `hint` if there is one (from
    /// [`Advice::pause_until`](super::Advice::pause_until), never scaled),
    /// else after [`delay`](Self::delay).
    pub fn retry_at(
        &self,
        hint: Option<DateTime<Utc>>,
        attempt: u32,
        unit_random: f64,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        if let Some(hint) = hint {
            return hint;
        }
        let delay = TimeDelta::from_std(self.delay(attempt, unit_random)).unwrap_or(TimeDelta::MAX);
        now.checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// A duration of `nanos` nanoseconds; `nanos` comes from a `Duration`, so
/// the seconds fit in a u64.
fn from_nanos(nanos: u128) -> Duration {
    let seconds = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    Duration::new(seconds, (nanos % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(seconds: u64) -> Duration {
        Duration::from_secs(seconds)
    }

    #[test]
    fn default_policy() {
        let policy = BackoffPolicy::default();
        assert_eq!(
            (policy.base, policy.cap, policy.max_attempts),
            (secs(2), secs(600), 6)
        );
        let ceilings: Vec<u64> = (0..10)
            .map(|attempt| policy.ceiling(attempt).as_secs())
            .collect();
        assert_eq!(ceilings, [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]);
    }

    #[test]
    fn delay_is_full_jitter_below_the_ceiling() {
        let policy = BackoffPolicy::default();
        assert_eq!(policy.delay(0, 0.0), Duration::ZERO);
        assert_eq!(policy.delay(0, 0.5), secs(1));
        assert_eq!(policy.delay(3, 0.25), secs(4));
        assert_eq!(policy.delay(20, 0.5), secs(300));
        // Just under 1 stays under the ceiling.
        assert!(policy.delay(3, 0.999_999_999_999) < secs(16));
        // Out-of-range randomness is clamped, never panics.
        assert_eq!(policy.delay(3, -1.0), Duration::ZERO);
        assert_eq!(policy.delay(3, f64::NAN), Duration::ZERO);
        assert_eq!(policy.delay(3, 1.0), secs(16) - Duration::from_nanos(1));
        assert_eq!(
            policy.delay(3, f64::INFINITY),
            secs(16) - Duration::from_nanos(1)
        );
    }

    #[test]
    fn huge_attempts_do_not_overflow() {
        let policy = BackoffPolicy::default();
        for attempt in [63, 64, 65, 127, 128, 129, 1000, u32::MAX] {
            assert_eq!(policy.ceiling(attempt), secs(600), "{attempt}");
            assert_eq!(policy.delay(attempt, 0.5), secs(300), "{attempt}");
        }
        let unbounded = BackoffPolicy {
            base: Duration::MAX,
            cap: Duration::MAX,
            max_attempts: u32::MAX,
        };
        assert_eq!(unbounded.ceiling(0), Duration::MAX);
        assert_eq!(unbounded.ceiling(u32::MAX), Duration::MAX);
        assert!(unbounded.delay(u32::MAX, 0.999_999) < Duration::MAX);
        let now: DateTime<Utc> = "2024-06-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            unbounded.retry_at(None, 5, 0.5, now),
            DateTime::<Utc>::MAX_UTC
        );
    }

    #[test]
    fn zero_base_or_cap_means_no_wait() {
        let zero_base = BackoffPolicy {
            base: Duration::ZERO,
            ..BackoffPolicy::default()
        };
        assert_eq!(zero_base.ceiling(u32::MAX), Duration::ZERO);
        assert_eq!(zero_base.delay(5, 0.9), Duration::ZERO);
        let zero_cap = BackoffPolicy {
            cap: Duration::ZERO,
            ..BackoffPolicy::default()
        };
        assert_eq!(zero_cap.delay(5, 0.9), Duration::ZERO);
    }

    #[test]
    fn exhausted_after_max_attempts() {
        let policy = BackoffPolicy::default();
        assert!(!policy.exhausted(0));
        assert!(!policy.exhausted(5));
        assert!(policy.exhausted(6));
        assert!(policy.exhausted(u32::MAX));
    }

    #[test]
    fn a_server_hint_is_never_scaled() {
        // The article's loop sleeps reset * 2^attempt: an hour becomes 32
        // hours at attempt 5. Here the hint is the answer at every attempt.
        let policy = BackoffPolicy::default();
        let now: DateTime<Utc> = "2024-06-01T12:00:00Z".parse().unwrap();
        let reset = now + TimeDelta::hours(1);
        for attempt in 0..=5 {
            assert_eq!(policy.retry_at(Some(reset), attempt, 0.99, now), reset);
        }
        // Without a hint: the jittered delay.
        assert_eq!(
            policy.retry_at(None, 5, 0.5, now),
            now + TimeDelta::seconds(32)
        );
    }

    proptest! {
        #[test]
        fn delay_never_exceeds_cap_or_ceiling(
            base_ms in 0u64..10_000_000,
            cap_ms in 0u64..100_000_000,
            attempt in any::<u32>(),
            unit in any::<f64>(),
        ) {
            let policy = BackoffPolicy {
                base: Duration::from_millis(base_ms),
                cap: Duration::from_millis(cap_ms),
                max_attempts: 6,
            };
            let delay = policy.delay(attempt, unit);
            prop_assert!(delay <= policy.cap);
            prop_assert!(delay <= policy.ceiling(attempt));
            prop_assert!(policy.ceiling(attempt) <= policy.cap);
            // The ceiling never shrinks as attempts grow.
            prop_assert!(policy.ceiling(attempt) <= policy.ceiling(attempt.saturating_add(1)));
        }
    }
}
