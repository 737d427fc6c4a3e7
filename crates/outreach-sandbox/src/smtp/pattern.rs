//! Address patterns for `--smtp-reject` and `--smtp-drop`: `*@bounce.test`.
//!
//! A test wants "every recipient at this domain bounces" or "this one
//! address loses its reply", decided by the address alone so the outcome
//! does not depend on the order of sends. Patterns are shell-style
//! wildcards (`*` any run of characters, `?` one character), compared
//! without regard to ASCII case because mail domains have none.

use std::fmt;
use std::str::FromStr;

use crate::settings::ConfigError;

/// One wildcard pattern over whole addresses.
#[derive(Clone, PartialEq, Eq)]
pub struct AddressPattern {
    /// Lower-cased, as matching is case-insensitive.
    pattern: Vec<char>,
}

impl AddressPattern {
    /// Does `address` (as given in `RCPT TO`, without angle brackets) match?
    pub fn matches(&self, address: &str) -> bool {
        let text: Vec<char> = address.chars().map(|c| c.to_ascii_lowercase()).collect();
        wildcard_match(&self.pattern, &text)
    }

    /// The pattern as written (lower-cased).
    pub fn as_text(&self) -> String {
        self.pattern.iter().collect()
    }
}

/// `*` and `?` wildcards over the whole text (the provider refusals use it
/// too). Greedy matching with one backtrack point: linear in practice, and
/// never exponential, whatever the number of `*`.
pub(crate) fn wildcard_match(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it currently absorbs up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` absorb one more character and retry.
                Some((star_p, star_t)) => {
                    star = Some((star_p, star_t + 1));
                    p = star_p + 1;
                    t = star_t + 1;
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

impl FromStr for AddressPattern {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<AddressPattern, ConfigError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.chars().any(char::is_whitespace) {
            return Err(ConfigError::SmtpPattern {
                pattern: text.to_string(),
            });
        }
        Ok(AddressPattern {
            pattern: trimmed.chars().map(|c| c.to_ascii_lowercase()).collect(),
        })
    }
}

impl fmt::Display for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_text())
    }
}

impl fmt::Debug for AddressPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AddressPattern({:?})", self.as_text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pattern(text: &str) -> AddressPattern {
        text.parse().unwrap()
    }

    #[test]
    fn domains_addresses_and_single_characters() {
        let bounce = pattern("*@bounce.test");
        assert!(bounce.matches("ada@bounce.test"));
        assert!(bounce.matches("Ada@Bounce.TEST"));
        assert!(bounce.matches("@bounce.test"));
        assert!(!bounce.matches("ada@bounce.test.org"));
        assert!(!bounce.matches("ada@nobounce.test2"));
        let exact = pattern("Alan@Example.com");
        assert!(exact.matches("alan@example.com"));
        assert!(!exact.matches("alan@example.co"));
        let one = pattern("user?@x.io");
        assert!(one.matches("user1@x.io"));
        assert!(!one.matches("user12@x.io"));
        assert!(!one.matches("user@x.io"));
        let middle = pattern("drop-*@*.test");
        assert!(middle.matches("drop-me@a.b.test"));
        assert!(!middle.matches("keep-me@a.test"));
        assert!(pattern("*").matches(""));
        assert!(pattern("**").matches("anything"));
    }

    #[test]
    fn empty_or_spaced_patterns_are_refused_naming_the_flag() {
        for bad in ["", "  ", "a b@x.io"] {
            let error = bad.parse::<AddressPattern>().unwrap_err();
            assert!(error.to_string().contains("--smtp-reject"), "{error}");
        }
        assert_eq!(pattern(" *@X.io ").to_string(), "*@x.io");
    }

    /// The reference: plain recursion, exponential but obviously right.
    fn reference(pattern: &[char], text: &[char]) -> bool {
        match (pattern.first(), text.first()) {
            (None, _) => text.is_empty(),
            (Some('*'), _) => {
                reference(&pattern[1..], text)
                    || (!text.is_empty() && reference(pattern, &text[1..]))
            }
            (Some(_), None) => false,
            (Some(&p), Some(&t)) => (p == '?' || p == t) && reference(&pattern[1..], &text[1..]),
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_recursive_definition(
            pattern in "[ab*?@]{0,8}",
            text in "[ab@]{0,10}",
        ) {
            let pattern: Vec<char> = pattern.chars().collect();
            let text: Vec<char> = text.chars().collect();
            prop_assert_eq!(wildcard_match(&pattern, &text), reference(&pattern, &text));
        }
    }

    #[test]
    fn the_reference_can_disagree_with_a_wrong_matcher() {
        // Proves the property above can fail: a matcher that ignores `?`
        // disagrees with the reference on this input.
        let pattern: Vec<char> = "a?".chars().collect();
        let text: Vec<char> = "a".chars().collect();
        let ignores_question_mark = wildcard_match(&['a'], &text);
        assert_ne!(ignores_question_mark, reference(&pattern, &text));
    }
}
