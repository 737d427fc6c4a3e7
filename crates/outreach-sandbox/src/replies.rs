//! Answers the ledger stores, and how a repeated `Idempotency-Key` is told
//! apart from a reused one.
//!
//! A message accepted with an `Idempotency-Key` keeps its first response so
//! a retry gets exactly that response again. Most APIs compare only the key;
//! some (Resend) also compare the body and refuse the same key with another
//! body, which is why a key may carry a fingerprint of the body it came with.

use axum::http::{HeaderName, HeaderValue, StatusCode};

/// A response before the `Date` and rate-limit headers are added; stored
/// as the first response of an `Idempotency-Key` and replayed for repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub status: StatusCode,
    pub body: String,
    /// Headers that belong to this response (content type, a message id),
    /// replayed with it.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl Reply {
    /// A reply with no headers of its own.
    pub fn new(status: StatusCode, body: impl Into<String>) -> Reply {
        Reply {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }
}

/// What an accepted message is called and answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Receipt {
    /// The id recorded in the ledger and returned to the client.
    pub id: String,
    pub reply: Reply,
}

/// An `Idempotency-Key` and, when the API compares bodies, a fingerprint of
/// the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyedRequest {
    pub key: String,
    pub fingerprint: Option<u64>,
}

impl KeyedRequest {
    pub fn new(key: impl Into<String>, fingerprint: Option<u64>) -> KeyedRequest {
        KeyedRequest {
            key: key.into(),
            fingerprint,
        }
    }
}

/// Whether a request with a known key repeats the first one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUse {
    /// Answer with the stored reply.
    Repeat,
    /// The same key with a different body: refuse.
    Conflict,
}

/// The first reply to a key, and the fingerprint of the body it answered.
#[derive(Debug, Clone)]
pub(crate) struct StoredReply {
    pub reply: Reply,
    fingerprint: Option<u64>,
}

impl StoredReply {
    pub fn new(reply: Reply, fingerprint: Option<u64>) -> StoredReply {
        StoredReply { reply, fingerprint }
    }

    /// A conflict only when both requests were fingerprinted and differ.
    pub fn key_use(&self, again: &KeyedRequest) -> KeyUse {
        match (self.fingerprint, again.fingerprint) {
            (Some(first), Some(this)) if first != this => KeyUse::Conflict,
            _ => KeyUse::Repeat,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_two_different_fingerprints_conflict() {
        let stored = |fingerprint| StoredReply::new(Reply::new(StatusCode::OK, "{}"), fingerprint);
        let again = |fingerprint| KeyedRequest::new("k", fingerprint);
        assert_eq!(stored(Some(1)).key_use(&again(Some(1))), KeyUse::Repeat);
        assert_eq!(stored(Some(1)).key_use(&again(Some(2))), KeyUse::Conflict);
        assert_eq!(stored(None).key_use(&again(Some(2))), KeyUse::Repeat);
        assert_eq!(stored(Some(1)).key_use(&again(None)), KeyUse::Repeat);
        assert_eq!(stored(None).key_use(&again(None)), KeyUse::Repeat);
    }
}
