//! The layout of a template file: an optional `Subject:` line, a blank
//! line, then the body; and the line of the file the body starts on, so
//! that errors name the file's line, not the body's.

/// Split a template file into its optional subject line and body.
///
/// The first line may be `Subject: ...`, followed by a blank line; everything
/// after that (or the whole text, without a subject line) is the body.
pub fn split_subject(text: &str) -> (Option<&str>, &str) {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let first = first.trim_end_matches('\r');
    match first.split_once(':') {
        Some((key, subject)) if key.trim().eq_ignore_ascii_case("subject") => {
            let rest = rest
                .strip_prefix("\r\n")
                .or_else(|| rest.strip_prefix('\n'))
                .unwrap_or(rest);
            (Some(subject.trim()), rest.trim_end())
        }
        _ => (None, text.trim_end()),
    }
}

/// The line of `text` that `part`, a slice of it, starts on.
pub(super) fn first_line(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize)
        .checked_sub(text.as_ptr() as usize)
        .and_then(|offset| text.get(..offset))
        .map_or(1, |before| before.matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_line_is_optional() {
        assert_eq!(
            split_subject("Subject: Hi {{ x }}\n\nBody\n"),
            (Some("Hi {{ x }}"), "Body")
        );
        assert_eq!(
            split_subject("subject:Hi\r\n\r\nBody\r\n"),
            (Some("Hi"), "Body")
        );
        assert_eq!(
            split_subject("Just a body\nline two\n"),
            (None, "Just a body\nline two")
        );
        assert_eq!(
            split_subject("Re: not a subject"),
            (None, "Re: not a subject")
        );
    }
}
