//! `List-Unsubscribe` (RFC 2369) with one-click (RFC 8058): the setting, its
//! checks, and the header values of one message.
//!
//! Large mailbox providers require a working unsubscribe link from bulk
//! senders. A one-click unsubscribe is a bare POST to the URL, carrying
//! nothing else, so the URL itself must say who unsubscribes: the values may
//! contain `{recipient}` and `{idempotency_key}` (an opaque id, the same for
//! one recipient on every retry), filled in percent-encoded per message.
//!
//! ```toml
//! list_unsubscribe = { mailto = "unsubscribe@example.com", url = "https://example.com/u?id={idempotency_key}" }
//! ```

use serde::Deserialize;

use super::settings::validate_address;

/// The placeholders a `list_unsubscribe` value may use.
pub const PLACEHOLDERS: [&str; 2] = ["{recipient}", "{idempotency_key}"];

/// Where a recipient can unsubscribe, as written in the config.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListUnsubscribe {
    /// An address (`unsubscribe@example.com`) or a `mailto:` URI; the
    /// placeholders may be in its `?subject=` part.
    pub mailto: Option<String>,
    /// An `https://` URL that unsubscribes with one POST; adds
    /// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
    pub url: Option<String>,
}

/// Checked targets, placeholders not yet filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubscribeTargets {
    /// A `mailto:` URI.
    pub mailto: Option<String>,
    /// An `https://` URL (one-click).
    pub url: Option<String>,
}

impl ListUnsubscribe {
    /// Check both values; an error names the field (`mailto` or `url`).
    pub fn check(&self) -> Result<UnsubscribeTargets, (&'static str, String)> {
        if self.mailto.is_none() && self.url.is_none() {
            return Err((
                "mailto",
                "give `mailto`, `url` or both, or remove `list_unsubscribe`".into(),
            ));
        }
        let mailto = self
            .mailto
            .as_deref()
            .map(|text| check_mailto(text).map_err(|problem| ("mailto", problem)))
            .transpose()?;
        let url = self
            .url
            .as_deref()
            .map(|text| check_url(text).map_err(|problem| ("url", problem)))
            .transpose()?;
        Ok(UnsubscribeTargets { mailto, url })
    }
}

impl UnsubscribeTargets {
    /// The `List-Unsubscribe` value for one message, and whether it offers
    /// one-click (has a URL).
    pub fn header_value(&self, recipient: &str, idempotency_key: &str) -> (String, bool) {
        let fill = |template: &str| {
            template
                .replace("{recipient}", &percent_encode(recipient))
                .replace("{idempotency_key}", &percent_encode(idempotency_key))
        };
        let values: Vec<String> = [&self.mailto, &self.url]
            .into_iter()
            .flatten()
            .map(|target| format!("<{}>", fill(target)))
            .collect();
        (values.join(", "), self.url.is_some())
    }
}

/// The value with every known placeholder replaced by a harmless sample, or
/// what is wrong with it.
fn with_sample_values(text: &str) -> Result<String, String> {
    let mut filled = text.to_string();
    for placeholder in PLACEHOLDERS {
        filled = filled.replace(placeholder, "x");
    }
    if filled.contains(['{', '}']) {
        return Err(format!(
            "`{text}` has an unknown placeholder; the known ones are {}",
            PLACEHOLDERS.join(" and ")
        ));
    }
    if filled.chars().any(|c| c.is_whitespace() || c.is_control()) || filled.contains(['<', '>']) {
        return Err(format!(
            "`{text}` may not contain spaces, line breaks or angle brackets"
        ));
    }
    Ok(filled)
}

/// A `mailto:` URI, given as one or as a bare address.
fn check_mailto(text: &str) -> Result<String, String> {
    let text = text.trim();
    let rest = match text.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &text[7..],
        _ => text,
    };
    let address_of = |uri_rest: &str| uri_rest.split('?').next().unwrap_or_default().to_string();
    let filled = with_sample_values(rest)?;
    validate_address(&address_of(&filled)).map_err(|error| error.to_string())?;
    if address_of(rest) != address_of(&filled) {
        return Err("placeholders may only be in the `?subject=...` part".into());
    }
    Ok(format!("mailto:{rest}"))
}

/// An `https://` URL: RFC 8058 requires HTTPS for one-click unsubscribe.
fn check_url(text: &str) -> Result<String, String> {
    let text = text.trim();
    let filled = with_sample_values(text)?;
    let url = reqwest::Url::parse(&filled).map_err(|error| format!("`{text}`: {error}"))?;
    if url.scheme() != "https" {
        return Err(format!(
            "`{text}` must be an https:// URL (RFC 8058 one-click unsubscribe)"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{text}` has no host"));
    }
    Ok(text.to_string())
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(mailto: Option<&str>, url: Option<&str>) -> ListUnsubscribe {
        ListUnsubscribe {
            mailto: mailto.map(String::from),
            url: url.map(String::from),
        }
    }

    #[test]
    fn mailto_is_accepted_bare_or_as_a_uri() {
        for given in [
            "unsub@example.com",
            "mailto:unsub@example.com",
            "MAILTO:unsub@example.com",
        ] {
            let checked = targets(Some(given), None).check().unwrap();
            assert_eq!(checked.mailto.as_deref(), Some("mailto:unsub@example.com"));
        }
        let with_subject = targets(Some("unsub@example.com?subject=stop%20{recipient}"), None);
        assert!(with_subject.check().is_ok());
    }

    #[test]
    fn what_cannot_work_is_refused_naming_the_field() {
        let cases = [
            (targets(None, None), "mailto"),
            (targets(Some("not an address"), None), "mailto"),
            (targets(Some("{recipient}@example.com"), None), "mailto"),
            (targets(None, Some("http://example.com/u")), "url"),
            (
                targets(None, Some("https://example.com/u?who={name}")),
                "url",
            ),
            (targets(None, Some("https://example.com/<u>")), "url"),
            (targets(None, Some("https://")), "url"),
        ];
        for (given, field) in cases {
            let (named, problem) = given.check().expect_err(&format!("{given:?}"));
            assert_eq!(named, field, "{given:?}: {problem}");
        }
    }

    #[test]
    fn values_are_filled_in_per_message() {
        let checked = targets(
            Some("unsub@example.com"),
            Some("https://example.com/u?r={recipient}&k={idempotency_key}"),
        )
        .check()
        .unwrap();
        assert_eq!(
            checked.header_value("bob+x@example.net", "key 1"),
            (
                "<mailto:unsub@example.com>, <https://example.com/u?r=bob%2Bx%40example.net&k=key%201>"
                    .to_string(),
                true
            )
        );
        let mail_only = targets(Some("unsub@example.com"), None).check().unwrap();
        assert!(!mail_only.header_value("b@example.net", "k").1);
    }

    proptest::proptest! {
        /// No value can end the URL or the header: only unreserved
        /// characters and %XX escapes, and decoding gives the value back.
        #[test]
        fn percent_encoding_is_safe_and_reversible(text in "\\PC{0,40}") {
            let encoded = percent_encode(&text);
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
            let mut decoded = Vec::new();
            let mut bytes = encoded.bytes();
            while let Some(byte) = bytes.next() {
                if byte == b'%' {
                    let hex: String = bytes.by_ref().take(2).map(char::from).collect();
                    decoded.push(u8::from_str_radix(&hex, 16).unwrap());
                } else {
                    decoded.push(byte);
                }
            }
            proptest::prop_assert_eq!(String::from_utf8(decoded).unwrap(), text);
        }
    }
}
