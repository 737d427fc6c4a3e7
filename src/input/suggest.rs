//! "Did you mean `first_name`?" for a template variable that is no column.
//!
//! A typo in a template (`{{ frist_name }}`) fails every row; naming the
//! column that was probably meant saves the user a look at the header.

/// Edit distance (insertions, deletions, substitutions) between two strings,
/// by characters, ignoring case.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().flat_map(char::to_lowercase).collect();
    let b: Vec<char> = b.chars().flat_map(char::to_lowercase).collect();
    // One row of the table at a time: `row[j]` is the distance from the
    // first `i` characters of `a` to the first `j` of `b`.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a typo: at
/// most two edits or a third of the name's length, and never a rewrite of
/// the whole name. Ties go to the earlier candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = name.chars().count();
    let allowed = 2.max(length / 3);
    candidates
        .into_iter()
        .map(|candidate| (levenshtein(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= allowed && *distance < length)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("frist_name", "first_name"), 2);
        assert_eq!(levenshtein("First_Name", "first_name"), 0);
        assert_eq!(levenshtein("zoë", "zoe"), 1);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
    }

    #[test]
    fn only_close_names_are_suggested() {
        let columns = ["recipient", "first_name", "company"];
        assert_eq!(closest("frist_name", columns), Some("first_name"));
        assert_eq!(closest("firstname", columns), Some("first_name"));
        assert_eq!(closest("compnay", columns), Some("company"));
        assert_eq!(closest("nickname", columns), None);
        assert_eq!(closest("ab", ["xy"]), None);
        // Long names allow a third of their length.
        assert_eq!(
            closest("linkedin_profile_url", ["linkedin_profileurl_x"]),
            Some("linkedin_profileurl_x")
        );
        // The closest wins; ties go to the first.
        assert_eq!(closest("cat", ["bat", "cot", "ca"]), Some("bat"));
    }
}
