//! The wording of faults: suggestions, listings, quoting.

use super::json::{Kind, Node, Pos};
use super::{EXAMPLE, LISTED, SHOWN};
use crate::resource::kind_of;
use crate::text::fold;

pub(super) fn not_payload(got: &str) -> String {
    format!("a payload must be a JSON object such as {EXAMPLE}, got {got}")
}

pub(super) fn first_at(first: Option<Pos>) -> String {
    first.map(|p| format!(" (first at line {}, column {})", p.line, p.column)).unwrap_or_default()
}

/// Rule 5's message.
pub(super) fn unknown_key(key: &str, hint: Option<&str>) -> String {
    match hint {
        Some(known) => format!("unknown key {}; did you mean {}?", quote(key), quote(known)),
        None => {
            format!("unknown key {}; a payload has only \"accountId\", \"roles\", \"teams\" and \"status\"", quote(key))
        }
    }
}

pub(super) fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    suggest(word, candidates).map(|s| format!("; did you mean {}?", quote(s))).unwrap_or_default()
}

/// The first closest candidate within edit distance 2 ignoring case (distance 0 is case-only
/// equality), and closer than the word's length (so `x` does not suggest `y`).
pub(super) fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let folded = fold(word);
    let near = candidates.filter(|c| c.chars().count().abs_diff(len) <= 2 && *c != word);
    let scored = near.map(|c| (distance(&folded, &fold(c)), c));
    scored.filter(|(d, _)| *d <= 2 && *d < len).min_by_key(|(d, _)| *d).map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transposition), over characters.
pub(super) fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// `A, B, C, D, E and 3 more`, or `none yet`.
pub(super) fn listing<'a>(names: impl Iterator<Item = &'a str>, total: usize) -> String {
    let shown: Vec<&str> = names.take(LISTED).collect();
    match total {
        0 => "none yet".to_owned(),
        n if n > LISTED => format!("{} and {} more", shown.join(", "), n - LISTED),
        _ => shown.join(", "),
    }
}

/// A string as quoted in messages: in double quotes, escaped, cut after 40 characters.
pub(super) fn quote(s: &str) -> String {
    match s.char_indices().nth(SHOWN) {
        Some((i, _)) => format!("{:?}", format!("{}...", &s[..i])),
        None => format!("{s:?}"),
    }
}

/// A value as named in messages: strings quoted, others by kind ([`kind_of`]).
pub(super) fn describe(node: &Node) -> String {
    match &node.kind {
        Kind::String(s) => quote(s),
        Kind::Array(_) => "an array".to_owned(),
        Kind::Object(_) => "an object".to_owned(),
        _ => kind_of(&node.to_value()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::KEYS;

    /// Edit distance and suggestions (rule 5 and the account and role hints).
    #[test]
    fn suggestions() {
        let cases: &[(&str, &str, usize)] = &[
            ("", "", 0),
            ("roles", "roles", 0),
            ("roels", "roles", 1),
            ("acountId", "accountId", 1),
            ("a", "abc", 2),
            ("kitten", "sitting", 3),
            ("é", "e", 1),
        ];
        for (a, b, d) in cases {
            assert_eq!(distance(a, b), *d, "{a} {b}");
        }
        let keys = || KEYS.into_iter();
        let cases: &[(&str, Option<&str>)] = &[
            ("acountId", Some("accountId")),
            ("AccountID", Some("accountId")),
            ("ACCOUNTID", Some("accountId")),
            ("account_id", Some("accountId")),
            ("account", Some("accountId")),
            ("role", Some("roles")),
            ("team", Some("teams")),
            ("Status", Some("status")),
            ("x", None),
            ("id", None),
            ("colour", None),
        ];
        for (word, want) in cases {
            assert_eq!(suggest(word, keys()), *want, "{word}");
        }
        assert_eq!(listing(["a", "b"].into_iter(), 2), "a, b");
        assert_eq!(listing(["1", "2", "3", "4", "5", "6"].into_iter(), 6), "1, 2, 3, 4, 5 and 1 more");
        assert_eq!(quote(&"é".repeat(50)), format!("\"{}...\"", "é".repeat(40)));
    }
}
