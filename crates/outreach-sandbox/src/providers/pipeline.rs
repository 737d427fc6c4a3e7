//! The request pipeline every provider personality runs through.
//!
//! The steps are those of the default API (routes.rs), in the order a
//! client experiences them, with the provider deciding how each answer
//! looks:
//!
//! 1. draw this request's faults and sleep the drawn latency;
//! 2. the provider's authentication (its own 401/403, or Slack's HTTP 200);
//! 3. the body, in the provider's shape (its own 400/422);
//! 4. a refused recipient (`--reject`, or containing "invalid"): the
//!    provider's permanent failure; nothing counted or stored;
//! 5. a malformed `Idempotency-Key`, for providers that honour keys;
//! 6. injected failure (503, nothing counted or stored);
//! 7. replay, key conflict, throttle or accept, atomically in the ledger;
//! 8. print the accepted message, then answer or drop the connection.
//!
//! Every answer after step 2 carries the provider's rate-limit headers for
//! the token's quota (none for providers that send none).

use std::future;
use std::hash::{DefaultHasher, Hasher as _};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Extension;
use axum::body::to_bytes;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::super::ledger::{Admission, KeyedRequest, Reply, Shared, bump};
use super::super::limiter::Quota;
use super::super::rate_headers::IDEMPOTENT_REPLAYED;
use super::super::request::{ApiError, idempotency_key_up_to};
use super::super::routes::{MAX_BODY_BYTES, print_line};
use super::super::server::DropHandle;
use super::personality::{Call, Idempotency, Personality};
use super::reject::is_rejected;
use super::reply;

/// Serve one request to a provider path.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    connection: Option<Extension<DropHandle>>,
    personality: &'static dyn Personality,
    request: Request,
) -> Response {
    let fault = shared.faults.draw();
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    let (parts, body) = request.into_parts();
    let call = Call {
        path: parts.uri.path(),
        query: parts.uri.query(),
        headers: &parts.headers,
    };
    let now = SystemTime::now();
    let account = match personality.authenticate(&call, &shared) {
        Ok(account) => account,
        Err(reply) => {
            bump(&shared.counters.unauthorized);
            return reply::into_response(reply, now);
        }
    };
    let answer = |reply: Reply, quota: &Quota, retry_after: Option<Duration>| {
        let mut response = reply::into_response(reply, now);
        personality.rate_headers(response.headers_mut(), quota, retry_after, now);
        response
    };
    // Before the ledger decides, the headers show the quota as it stands.
    let refuse = |reply: Reply| {
        bump(&shared.counters.rejected);
        answer(reply, &shared.peek(account), None)
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return refuse(reply::api_error(&ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        )));
    };
    let submission = match personality.parse(&call, &bytes) {
        Ok(submission) => submission,
        Err(reply) => return refuse(reply),
    };
    if let Some(recipient) = submission
        .message
        .recipients
        .iter()
        .find(|recipient| is_rejected(&shared.config.reject, recipient))
    {
        return refuse(personality.rejected(&call, recipient));
    }
    let keyed = match keyed_request(personality, &call, &bytes) {
        Ok(keyed) => keyed,
        Err(reply) => return refuse(reply),
    };
    if fault.fail {
        bump(&shared.counters.faults);
        return answer(
            reply::api_error(&ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "service_unavailable",
                "injected failure (--fail-rate); the message was not accepted, retry later",
            )),
            &shared.peek(account),
            None,
        );
    }
    let admission = shared.admit_as(
        account,
        submission.message.clone(),
        keyed,
        now,
        |sequence| personality.receipt(&call, &submission, sequence, now),
    );
    match admission {
        Admission::Replayed { reply, quota } => {
            let mut response = answer(reply, &quota, None);
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Admission::Conflict { quota } => answer(personality.key_conflict(), &quota, None),
        Admission::Throttled { quota, retry_after } => answer(
            personality.throttled(retry_after),
            &quota,
            Some(retry_after),
        ),
        Admission::Accepted {
            message,
            reply,
            quota,
        } => {
            if !shared.config.quiet {
                print_line(&message.log_line());
            }
            if fault.drop
                && let Some(Extension(connection)) = connection
            {
                bump(&shared.counters.dropped);
                connection.drop_connection();
                // The connection task drops this future with the connection.
                return future::pending().await;
            }
            answer(reply, &quota, None)
        }
    }
}

/// The request's `Idempotency-Key`, for providers that honour one, with a
/// fingerprint of the body when the provider compares bodies.
fn keyed_request(
    personality: &dyn Personality,
    call: &Call<'_>,
    body: &[u8],
) -> Result<Option<KeyedRequest>, Reply> {
    let mode = personality.idempotency();
    if mode == Idempotency::Ignored {
        return Ok(None);
    }
    let key = idempotency_key_up_to(call.headers, personality.max_idempotency_key())
        .map_err(|error| personality.invalid_idempotency_key(&error))?;
    Ok(key.map(|key| KeyedRequest {
        key,
        fingerprint: (mode == Idempotency::ReplayOrConflict).then(|| fingerprint(body)),
    }))
}

/// A hash of the exact body bytes: a client retrying a request resends the
/// same bytes, and anything else is a different request. Stable within one
/// process, which is as long as the ledger lives.
fn fingerprint(body: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    hasher.write(body);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_bodies_apart() {
        assert_eq!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":1}"));
        assert_ne!(fingerprint(b"{\"a\":1}"), fingerprint(b"{\"a\":2}"));
    }
}
