//! Which recipients a provider personality refuses, deterministically.
//!
//! A sender must turn a provider's "this recipient cannot be delivered to"
//! into a permanent failure for that one recipient and carry on with the
//! others. Tests need that answer on demand and every time, so it is a rule
//! rather than a dice roll: a recipient is refused when it contains
//! `invalid` (any case) or matches one of the `--reject` patterns, where `*`
//! stands for any text and `?` for one character, case-insensitively, over
//! the whole recipient (`*@bounce.test`, `+1555000????`, `C0REJECT`).

/// The word that makes any recipient refused under a provider.
pub const ALWAYS_REJECTED: &str = "invalid";

/// Whether `recipient` is refused under `patterns`.
pub fn is_rejected(patterns: &[String], recipient: &str) -> bool {
    let recipient = recipient.to_lowercase();
    recipient.contains(ALWAYS_REJECTED)
        || patterns
            .iter()
            .any(|pattern| glob_matches(&pattern.trim().to_lowercase(), &recipient))
}

/// `*` and `?` wildcards over the whole text; no escapes (recipients have no
/// use for a literal `*`). The SMTP patterns' matcher.
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    crate::smtp::pattern::wildcard_match(&pattern, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn patterns(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn invalid_is_always_refused() {
        assert!(is_rejected(&[], "invalid@example.com"));
        assert!(is_rejected(&[], "C-INVALID-1"));
        assert!(!is_rejected(&[], "ada@example.com"));
    }

    #[test]
    fn patterns_match_the_whole_recipient_case_insensitively() {
        let list = patterns(&["*@bounce.test", "+1555000????", " C0REJECT "]);
        assert!(is_rejected(&list, "Ada@Bounce.Test"));
        assert!(!is_rejected(&list, "ada@bounce.test.org"));
        assert!(is_rejected(&list, "+15550001234"));
        assert!(!is_rejected(&list, "+155500012345"));
        assert!(is_rejected(&list, "c0reject"));
        assert!(!is_rejected(&list, "c0rejected"));
    }

    #[test]
    fn globs() {
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXbYc"));
        assert!(glob_matches("a*b*c", "abbbc"));
        assert!(!glob_matches("a*b*c", "acb"));
        assert!(glob_matches("??", "ab"));
        assert!(!glob_matches("??", "abc"));
        assert!(glob_matches("*.test", "x.y.test"));
        assert!(!glob_matches("", "x"));
    }

    proptest! {
        /// A pattern without wildcards matches exactly itself; `*` matches
        /// anything; a text matches itself with any run of it starred out.
        #[test]
        fn globs_agree_with_plain_comparison(
            text in "[a-z@.+0-9]{0,12}",
            other in "[a-z@.+0-9]{0,12}",
            cut in 0usize..13,
        ) {
            prop_assert_eq!(glob_matches(&text, &other), text == other);
            prop_assert!(glob_matches("*", &text));
            let cut = cut.min(text.len());
            let starred = format!("{}*", &text[..cut]);
            prop_assert!(glob_matches(&starred, &text));
            prop_assert_eq!(glob_matches(&starred, &other), other.starts_with(&text[..cut]));
        }
    }
}
