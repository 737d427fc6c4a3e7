//! What every rate-limit header dialect shares: reading a header's text,
//! a lenient structured-field list (RFC 8941, as servers really write it),
//! whole numbers and decimal seconds.
//!
//! Nothing here fails loudly: a value that does not parse is `None`, and
//! [`checked`] leaves a `debug` trace naming the header.

use std::time::Duration;

use reqwest::header::HeaderMap;

/// The first value of a header, if it is visible ASCII.
pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let value = headers.get(name)?;
    match value.to_str() {
        Ok(text) => Some(text),
        Err(_) => {
            tracing::debug!(header = name, value = ?value, "ignoring rate-limit header that is not ASCII");
            None
        }
    }
}

/// All values of a header joined with `, `, as RFC 9110 allows for lists.
pub(super) fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

pub(super) fn malformed(name: &str, value: &str) {
    tracing::debug!(header = name, value, "ignoring malformed rate-limit header");
}

/// A non-negative decimal number of seconds (`30`, `1.5`), exact to the
/// nanosecond; no signs, exponents or `inf`.
pub(super) fn seconds(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || text.ends_with('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |nanos, digit| nanos * 10 + u32::from(digit - b'0'));
    Some(Duration::new(whole, nanos))
}

/// The unit of a number of seconds as written: 1 s for `30`, 100 ms for
/// `1.5`, down to 1 ns.
pub(super) fn resolution(text: &str) -> Duration {
    let decimals = text.trim().split_once('.').map_or(0, |(_, f)| f.len());
    Duration::from_nanos(10u64.pow(9 - decimals.min(9) as u32))
}

/// A non-negative whole number.
pub(super) fn count(text: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Passes `parsed` through, tracing the header as malformed when it is `None`.
pub(super) fn checked<T>(name: &str, value: &str, parsed: Option<T>) -> Option<T> {
    if parsed.is_none() {
        malformed(name, value);
    }
    parsed
}

/// One member of a structured-field list: `item;key=value;flag`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Member {
    /// The bare item, unquoted if it was a string.
    pub(super) item: String,
    /// Whether the item was a quoted string.
    quoted: bool,
    params: Vec<(String, String)>,
}

impl Member {
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.as_str())
    }

    /// The item as a policy name: a string, or a token that is not a number.
    pub(super) fn name(&self) -> Option<&str> {
        let number = self.item.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        (self.quoted || !number).then_some(self.item.as_str())
    }

    /// The item as a dictionary entry `key=value`, if it is one.
    pub(super) fn entry(&self) -> Option<(&str, &str)> {
        if self.quoted {
            return None;
        }
        let (key, value) = self.item.split_once('=')?;
        Some((key.trim(), value.trim()))
    }
}

/// A lenient reading of an RFC 8941 list (or dictionary): members split on
/// `,` and parameters on `;`, both outside quotes.
pub(super) fn parse_list(value: &str) -> Vec<Member> {
    split_outside_quotes(value, ',')
        .into_iter()
        .filter(|member| !member.trim().is_empty())
        .map(|member| {
            let mut parts = split_outside_quotes(member, ';').into_iter();
            let raw_item = parts.next().unwrap_or_default().trim();
            let params = parts
                .map(|param| {
                    let (key, value) = param.split_once('=').unwrap_or((param, "?1"));
                    (key.trim().to_string(), unquote(value.trim()))
                })
                .collect();
            Member {
                item: unquote(raw_item),
                quoted: raw_item.starts_with('"'),
                params,
            }
        })
        .collect()
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (index, c) in text.char_indices() {
        if quoted {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
        } else if c == '"' {
            quoted = true;
        } else if c == separator {
            parts.push(&text[start..index]);
            start = index + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

fn unquote(text: &str) -> String {
    match text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    {
        Some(inner) => inner.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds("0.1"), Some(Duration::from_millis(100)));
        assert_eq!(seconds("2.000000001"), Some(Duration::new(2, 1)));
        assert_eq!(seconds("2.0000000019"), Some(Duration::new(2, 1)));
        assert_eq!(
            seconds("18446744073709551615.5"),
            Some(Duration::new(u64::MAX, 500_000_000))
        );
    }
}
