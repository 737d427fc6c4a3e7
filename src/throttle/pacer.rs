//! What one account learns about its server's limit, response by response.
//!
//! [`advise`] reads one response; a server's pace only shows across
//! several. [`Pacer`] keeps the policy (`limit` per `window`: announced by
//! the headers, or learned with [`learn_window`]) so that every later
//! response is paced at it even when it repeats only `Limit`, and it keeps
//! when the account's own recent requests were answered, to know when a
//! spent quota really comes back.
//!
//! A spent quota (`remaining == 0` on a success) pauses the account until
//! the reset, and the header's reset is rounded up to whole seconds: at
//! 10 per 5 s, a pause to "1 s" where 0.5 s was meant costs a tenth of a
//! window. So the pause ends when the request `limit` places back was
//! answered plus one `window`: that request arrived no later than its
//! answer, and no window, fixed or rolling, still counts it after that. The
//! estimate is kept between `reset_at - reset_resolution` and `reset_at`,
//! the range the header allows, so requests the account does not know about
//! (another client, a lost answer) cannot pull it earlier than the server
//! said. A 429 and `Retry-After` are never second-guessed: their instant is
//! waited, exactly once.
//!
//! Pure like the rest of [`throttle`](super): `now` is a parameter.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::headers::RateLimitInfo;
use super::pacing::{Advice, advise, earlier, learn_window};

/// Own requests remembered for the reset estimate, at most; a larger limit
/// falls back to the header's reset.
const MAX_REMEMBERED: usize = 4096;

/// A server's quota: `limit` requests per `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub limit: u64,
    pub window: Duration,
}

/// One account's view of its server's limit, updated with every response.
#[derive(Debug, Clone, Default)]
pub struct Pacer {
    policy: Option<Policy>,
    /// When the answers to the most recent requests the server may have
    /// counted came in (oldest first): every one but 429s.
    answered: VecDeque<DateTime<Utc>>,
}

impl Pacer {
    /// The policy announced or learned so far.
    pub fn policy(&self) -> Option<Policy> {
        self.policy
    }

    /// A request sent at `sent_at` got no answer by `now` but may have
    /// reached the server: counted as answered now, the latest it arrived.
    pub fn unanswered(&mut self, now: DateTime<Utc>) {
        self.remember(now);
    }

    /// Advice after the response `info` (`throttled`: too many requests) to the request
    /// sent at `sent_at`, received at `now`.
    pub fn observe(
        &mut self,
        info: &RateLimitInfo,
        throttled: bool,
        sent_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Advice {
        if !throttled {
            self.remember(now);
        }
        self.update_policy(info, sent_at, now);
        let mut info = info.clone();
        if let (Some(policy), None) = (self.policy, info.window)
            && info.limit.is_none_or(|limit| limit == policy.limit)
        {
            info.limit = Some(policy.limit);
            info.window = Some(policy.window);
        }
        let mut advice = advise(&info, throttled, now);
        let spent_on_success = !throttled && info.retry_after.is_none();
        if spent_on_success
            && let (Some(until), Some(reset_at)) = (advice.pause_until, info.reset_at)
            && until == reset_at
            && let Some(estimate) = self.estimated_reset()
        {
            let until = estimate.clamp(earlier(reset_at, info.reset_resolution), reset_at);
            advice.pause_until = (until > now).then_some(until);
        }
        advice
    }

    fn update_policy(&mut self, info: &RateLimitInfo, sent_at: DateTime<Utc>, now: DateTime<Utc>) {
        match (info.limit, info.window) {
            (Some(limit), Some(window)) if limit > 0 && !window.is_zero() => {
                self.policy = Some(Policy { limit, window });
            }
            (Some(limit), None) => {
                if let Some(window) = learn_window(info, sent_at, now) {
                    self.policy = Some(Policy { limit, window });
                } else if self.policy.is_some_and(|policy| policy.limit != limit) {
                    // A new quota: its window is not known yet.
                    self.policy = None;
                }
            }
            _ => {}
        }
        let keep = self
            .policy
            .map_or(0, |policy| policy.limit.min(MAX_REMEMBERED as u64) as usize);
        while self.answered.len() > keep {
            self.answered.pop_front();
        }
    }

    fn remember(&mut self, answered_at: DateTime<Utc>) {
        self.answered.push_back(answered_at);
        if self.answered.len() > MAX_REMEMBERED {
            self.answered.pop_front();
        }
    }

    /// When the request `limit` places back leaves every window: its answer
    /// plus one window. None until `limit` requests are remembered.
    fn estimated_reset(&self) -> Option<DateTime<Utc>> {
        let policy = self.policy?;
        let limit = usize::try_from(policy.limit).ok()?;
        if limit == 0 || self.answered.len() < limit {
            return None;
        }
        let oldest = self.answered[self.answered.len() - limit];
        oldest.checked_add_signed(TimeDelta::from_std(policy.window).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        "2024-06-01T12:00:00Z".parse().unwrap()
    }

    fn ms(millis: i64) -> DateTime<Utc> {
        t0() + TimeDelta::milliseconds(millis)
    }

    /// `X-RateLimit-*` as the sandbox sends it: the reset in whole seconds,
    /// rounded up, for a quota that really resets at `reset_ms`.
    fn x_ratelimit(limit: u64, remaining: u64, now_ms: i64, reset_ms: i64) -> RateLimitInfo {
        let whole_seconds = (reset_ms - now_ms + 999) / 1000;
        RateLimitInfo {
            limit: Some(limit),
            remaining: Some(remaining),
            reset_at: Some(ms(now_ms) + TimeDelta::seconds(whole_seconds)),
            reset_resolution: Duration::from_secs(1),
            ..RateLimitInfo::default()
        }
    }

    #[test]
    fn the_window_is_learned_from_a_response_that_opened_one() {
        let mut pacer = Pacer::default();
        // 10 per 5 s, fixed window opened by this request at 0 ms.
        let advice = pacer.observe(&x_ratelimit(10, 9, 1, 5000), false, ms(0), ms(1));
        let policy = Policy {
            limit: 10,
            window: Duration::from_secs(5),
        };
        assert_eq!(pacer.policy(), Some(policy));
        assert_eq!(advice.min_spacing, Some(Duration::from_millis(500)));
        // A later response repeats only the limit: still paced at the policy.
        let advice = pacer.observe(&x_ratelimit(10, 8, 501, 5000), false, ms(500), ms(501));
        assert_eq!(advice.min_spacing, Some(Duration::from_millis(500)));
        assert_eq!(pacer.policy(), Some(policy));
        // A different limit: a new quota, its window unknown until it opens.
        pacer.observe(&x_ratelimit(20, 3, 1001, 5000), false, ms(1000), ms(1001));
        assert_eq!(pacer.policy(), None);
    }

    #[test]
    fn the_pause_on_a_spent_quota_ends_at_the_real_reset() {
        // 10 per 5 s at exactly 2/s: the 10th answer at 4.501 s says
        // `Remaining: 0, Reset: 1`, but the window opened by the request
        // answered at 1 ms ends by 5.001 s, not at 5.501 s.
        let mut pacer = Pacer::default();
        let mut advice = Advice::default();
        for k in 0..10 {
            let sent = 500 * k;
            advice = pacer.observe(
                &x_ratelimit(10, 9 - k as u64, sent + 1, 5000),
                false,
                ms(sent),
                ms(sent + 1),
            );
        }
        assert_eq!(advice.pause_until, Some(ms(5001)));
        assert_eq!(advice.min_spacing, Some(Duration::from_millis(500)));
    }

    #[test]
    fn the_pause_stays_within_what_the_header_allows() {
        let mut pacer = Pacer::default();
        pacer.observe(&x_ratelimit(2, 1, 1, 1000), false, ms(0), ms(1));
        // Requests the pacer never saw spent the quota early: its estimate
        // (1.001 s) is before the earliest reset the header allows (3.1 s).
        let advice = pacer.observe(&x_ratelimit(2, 0, 100, 3500), false, ms(99), ms(100));
        assert_eq!(advice.pause_until, Some(ms(3100)));
        // And never later than the header's reset.
        let mut pacer = Pacer::default();
        pacer.observe(&x_ratelimit(2, 1, 1, 1000), false, ms(0), ms(1));
        let mut info = x_ratelimit(2, 0, 100, 200);
        info.reset_at = Some(ms(600));
        info.reset_resolution = Duration::from_millis(100);
        assert_eq!(
            pacer.observe(&info, false, ms(99), ms(100)).pause_until,
            Some(ms(600))
        );
    }

    #[test]
    fn a_429_and_retry_after_are_waited_as_given() {
        let mut pacer = Pacer::default();
        pacer.observe(&x_ratelimit(2, 1, 1, 1000), false, ms(0), ms(1));
        pacer.observe(&x_ratelimit(2, 0, 101, 1000), false, ms(100), ms(101));
        // A 429 at 200 ms with a reset of "1": the whole second is waited.
        let throttled = x_ratelimit(2, 0, 200, 1000);
        assert_eq!(
            pacer
                .observe(&throttled, true, ms(199), ms(200))
                .pause_until,
            Some(ms(1200))
        );
        let retry = RateLimitInfo {
            retry_after: Some(ms(2000)),
            ..x_ratelimit(2, 0, 300, 1000)
        };
        assert_eq!(
            pacer.observe(&retry, false, ms(299), ms(300)).pause_until,
            Some(ms(2000))
        );
    }

    #[test]
    fn a_lost_answer_still_counts_against_the_window() {
        // 2 per second: the first request's answer was lost at 50 ms, the
        // second says the quota is spent; the window holds both, so it
        // frees 1 s after the lost one, not after the second.
        let mut pacer = Pacer::default();
        pacer.observe(&x_ratelimit(2, 1, 1, 1000), false, ms(0), ms(1));
        pacer.unanswered(ms(50));
        let advice = pacer.observe(&x_ratelimit(2, 0, 101, 1000), false, ms(100), ms(101));
        assert_eq!(advice.pause_until, Some(ms(1050)));
    }

    #[test]
    fn an_announced_policy_needs_no_learning() {
        let mut pacer = Pacer::default();
        let info = RateLimitInfo {
            limit: Some(10),
            window: Some(Duration::from_secs(5)),
            remaining: Some(3),
            reset_at: Some(ms(2000)),
            reset_resolution: Duration::from_secs(1),
            ..RateLimitInfo::default()
        };
        let advice = pacer.observe(&info, false, ms(0), ms(1));
        assert_eq!(advice.min_spacing, Some(Duration::from_millis(500)));
        assert_eq!(
            pacer.policy(),
            Some(Policy {
                limit: 10,
                window: Duration::from_secs(5)
            })
        );
    }

    #[test]
    fn every_dialect_teaches_the_same_policy() {
        // The first answer of a window of 10 per 5 s, received 1 ms after the
        // request left at 12:00:00.400 (the server's Date agrees with ours).
        let sent = ms(400);
        let now = ms(401);
        let date = ("date", "Sat, 01 Jun 2024 12:00:00 GMT");
        // The window ends at 12:00:05.400: epoch seconds round it up to :06.
        let dialects: [&[(&str, &str)]; 6] = [
            &[
                ("x-ratelimit-limit", "10"),
                ("x-ratelimit-remaining", "9"),
                ("x-ratelimit-reset", "5"),
            ],
            &[
                date,
                ("x-ratelimit-limit", "10"),
                ("x-ratelimit-remaining", "9"),
                ("x-ratelimit-reset", "1717243206"),
            ],
            &[
                ("ratelimit-limit", "10"),
                ("ratelimit-remaining", "9"),
                ("ratelimit-reset", "5"),
            ],
            &[("ratelimit", "limit=10, remaining=9, reset=5")],
            &[
                ("ratelimit-policy", "\"default\";q=10;w=5"),
                ("ratelimit", "\"default\";r=9;t=5"),
            ],
            &[
                ("ratelimit-limit", "10;w=5"),
                ("ratelimit-remaining", "9"),
                ("ratelimit-reset", "5"),
            ],
        ];
        for pairs in dialects {
            let mut headers = reqwest::header::HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, value.parse().unwrap());
            }
            let info = super::super::parse_rate_limit_headers(&headers, now);
            let mut pacer = Pacer::default();
            let advice = pacer.observe(&info, false, sent, now);
            assert_eq!(
                pacer.policy(),
                Some(Policy {
                    limit: 10,
                    window: Duration::from_secs(5)
                }),
                "{pairs:?}"
            );
            assert_eq!(
                advice,
                Advice {
                    pause_until: None,
                    min_spacing: Some(Duration::from_millis(500))
                },
                "{pairs:?}"
            );
        }
    }
}
