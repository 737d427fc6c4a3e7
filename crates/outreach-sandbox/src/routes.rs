//! The HTTP surface: `POST /v2/messages` and the `/_sandbox` inspection routes.
//!
//! The message handler is the request pipeline in one place, in the order a
//! client experiences it:
//!
//! 1. draw this request's faults and sleep the drawn latency;
//! 2. authenticate the bearer token (401);
//! 3. check the `Idempotency-Key` and the JSON body (400);
//! 4. injected failure (503, nothing counted or stored);
//! 5. replay, throttle (429) or accept, atomically in the ledger;
//! 6. print the accepted message, then answer 201 or drop the connection.
//!
//! Every response after step 2 carries the rate-limit headers of the token's
//! quota; a 401 cannot, since it has no token to count against.
//!
//! With a `--provider`, [`router`] hands over to `providers`, which serves
//! that provider's paths through the same steps in `providers::pipeline`.

use std::future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};

use super::ledger::{Admission, Shared, bump, created_body};
use super::limiter::Quota;
use super::providers::{self, Provider};
use super::rate_headers::{self, IDEMPOTENT_REPLAYED};
use super::request::{ApiError, bearer_token, idempotency_key, parse_message};
use super::server::DropHandle;

/// Larger bodies get a 413; a real message is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    if shared.config.provider != Provider::Default {
        return providers::router(shared);
    }
    Router::new()
        .route("/v2/messages", post(post_message))
        .route("/_sandbox/messages", get(list_messages))
        .route("/_sandbox/stats", get(stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

async fn post_message(
    State(shared): State<Arc<Shared>>,
    connection: Option<Extension<DropHandle>>,
    request: Request,
) -> Response {
    let fault = shared.faults.draw();
    if !fault.delay.is_zero() {
        tokio::time::sleep(fault.delay).await;
    }
    let (parts, body) = request.into_parts();
    let Some(account) = bearer_token(&parts.headers).and_then(|token| shared.account_of(token))
    else {
        bump(&shared.counters.unauthorized);
        return unauthorized(&parts.headers);
    };
    let now = SystemTime::now();
    let reject = |error: ApiError| {
        bump(&shared.counters.rejected);
        let quota = shared.peek(account);
        json_response(
            &shared,
            error.status,
            error.body(),
            Some((&quota, None)),
            now,
        )
    };
    let key = match idempotency_key(&parts.headers) {
        Ok(key) => key,
        Err(error) => return reject(error),
    };
    let Ok(bytes) = to_bytes(body, MAX_BODY_BYTES).await else {
        return reject(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        ));
    };
    let message = match parse_message(&bytes) {
        Ok(message) => message,
        Err(error) => return reject(error),
    };
    if fault.fail {
        bump(&shared.counters.faults);
        let error = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "injected failure (--fail-rate); the message was not accepted, retry later",
        );
        let quota = shared.peek(account);
        return json_response(
            &shared,
            error.status,
            error.body(),
            Some((&quota, None)),
            now,
        );
    }
    match shared.admit(account, message, key, now) {
        Admission::Replayed { reply, quota } => {
            let mut response =
                json_response(&shared, reply.status, reply.body, Some((&quota, None)), now);
            response
                .headers_mut()
                .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
            response
        }
        Admission::Throttled { quota, retry_after } => {
            let error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "rate limit of {} exceeded for this token; retry in {} s",
                    shared.config.limit,
                    rate_headers::ceil_secs(retry_after)
                ),
            );
            json_response(
                &shared,
                error.status,
                error.body(),
                Some((&quota, Some(retry_after))),
                now,
            )
        }
        // The default API stores no body fingerprints, so a key never conflicts;
        // answer as an API that compares bodies would, should that change.
        Admission::Conflict { quota } => {
            let error = ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used with a different body",
            );
            json_response(
                &shared,
                error.status,
                error.body(),
                Some((&quota, None)),
                now,
            )
        }
        Admission::Accepted { message, quota, .. } => {
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
            json_response(
                &shared,
                StatusCode::CREATED,
                created_body(&message.id),
                Some((&quota, None)),
                now,
            )
        }
    }
}

pub(crate) fn print_line(line: &str) {
    use std::io::Write as _;
    // A closed stdout must not take the server down.
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

fn json_response(
    shared: &Shared,
    status: StatusCode,
    body: String,
    quota: Option<(&Quota, Option<Duration>)>,
    now: SystemTime,
) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some((quota, retry_after)) = quota {
        rate_headers::apply(headers, shared.dialect, quota, retry_after, now);
    }
    response
}

fn unauthorized(headers: &axum::http::HeaderMap) -> Response {
    let message = if headers.contains_key(header::AUTHORIZATION) {
        "unknown token; send `Authorization: Bearer <token>` with a token printed at sandbox start"
    } else {
        "missing `Authorization: Bearer <token>` header"
    };
    let error = ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message);
    let mut response = (error.status, error.body()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sandbox\""),
    );
    response
}

pub(crate) async fn list_messages(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.messages()).into_response()
}

pub(crate) async fn stats(State(shared): State<Arc<Shared>>) -> Response {
    Json(shared.stats()).into_response()
}

const ROUTES: &str = "POST /v2/messages, GET /_sandbox/messages and GET /_sandbox/stats";

pub(crate) fn plain_error(error: ApiError) -> Response {
    let mut response = (error.status, error.body()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found(method: Method, uri: Uri) -> Response {
    plain_error(ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no route for {method} {}; the sandbox serves {ROUTES}",
            uri.path()
        ),
    ))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    plain_error(ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{method} is not allowed on {}; the sandbox serves {ROUTES}",
            uri.path()
        ),
    ))
}
