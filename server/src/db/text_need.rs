//! A cheap, conservative test on a row's stored `doc` text, run inside SQLite before the row is
//! decoded: the `scimbox_doc_may_contain(doc, needle)` SQL function and the tree of needles a
//! list scan asks of every row ([`TextNeed`]). The needles come from a filter
//! (RFC 7644 §3.4.2.2) in `service::prefilter`; the filter evaluator still decides for every row
//! that passes.
//!
//! `scimbox_doc_may_contain` answers false only when the row certainly cannot hold the needle in
//! any string value: the needle is printable ASCII without `"` or `\` (lower-cased by the
//! caller), and the document text is pure ASCII without a single `\`, so every string value of
//! the document appears in it verbatim and ASCII case folding is the only folding that applies.
//! A document with any other byte (non-ASCII text, where Unicode folding can turn `ß` into `ss`,
//! or a JSON escape such as `\u00df` or `\"`) always passes.

use rusqlite::Connection;
use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::ValueRef;

use super::sql::ToSql;

/// The SQL function's name.
pub const FUNCTION: &str = "scimbox_doc_may_contain";

/// What a row's document text must contain for the row to possibly match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextNeed {
    /// This needle: printable ASCII, lower case, non-empty, without `"` or `\`.
    Text(String),
    /// Every one of these.
    All(Vec<TextNeed>),
    /// At least one of these.
    Any(Vec<TextNeed>),
}

impl TextNeed {
    /// A needle for `literal`, if the raw-text test can be exact about it: non-empty printable
    /// ASCII without `"` or `\` (which JSON would escape).
    pub fn text(literal: &str) -> Option<TextNeed> {
        let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
        (!literal.is_empty() && literal.bytes().all(plain)).then(|| TextNeed::Text(literal.to_ascii_lowercase()))
    }

    /// Both needs.
    pub fn and(a: Option<TextNeed>, b: Option<TextNeed>) -> Option<TextNeed> {
        match (a, b) {
            (None, x) | (x, None) => x,
            (Some(TextNeed::All(mut xs)), Some(y)) => {
                xs.push(y);
                Some(TextNeed::All(xs))
            }
            (Some(x), Some(y)) => Some(TextNeed::All(vec![x, y])),
        }
    }

    /// Either need; none unless both sides have one.
    pub fn or(a: Option<TextNeed>, b: Option<TextNeed>) -> Option<TextNeed> {
        match (a?, b?) {
            (TextNeed::Any(mut xs), y) => {
                xs.push(y);
                Some(TextNeed::Any(xs))
            }
            (x, y) => Some(TextNeed::Any(vec![x, y])),
        }
    }

    /// Whether a document with this JSON text may meet the need (the function, in Rust).
    pub fn admits(&self, doc: &str) -> bool {
        match self {
            TextNeed::Text(needle) => may_contain(doc.as_bytes(), needle.as_bytes()),
            TextNeed::All(xs) => xs.iter().all(|x| x.admits(doc)),
            TextNeed::Any(xs) => xs.iter().any(|x| x.admits(doc)),
        }
    }

    /// The need as an SQL expression on column `column`, pushing its needles onto `args`.
    pub fn to_sql(&self, column: &str, args: &mut Vec<String>) -> String {
        let join = |xs: &[TextNeed], op: &str, args: &mut Vec<String>| {
            let parts: Vec<String> = xs.iter().map(|x| x.to_sql(column, args)).collect();
            format!("({})", parts.join(op))
        };
        match self {
            TextNeed::Text(needle) => {
                args.push(needle.clone());
                format!("{FUNCTION}({column}, ?{})", args.len())
            }
            TextNeed::All(xs) => join(xs, " AND ", args),
            TextNeed::Any(xs) => join(xs, " OR ", args),
        }
    }
}

/// Whether `doc` (JSON text) may contain `needle` (lower-case ASCII) in a string value compared
/// caselessly: true unless `doc` is pure ASCII without `\` and lacks `needle` ignoring ASCII case.
pub fn may_contain(doc: &[u8], needle: &[u8]) -> bool {
    // No early exit: the compiler vectorises this scan.
    let escaped_or_wide = doc.iter().fold(false, |acc, &b| acc | (b >= 0x80) | (b == b'\\'));
    escaped_or_wide || contains_ignore_ascii_case(doc, needle)
}

fn contains_ignore_ascii_case(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    hay[..=last_start]
        .iter()
        .enumerate()
        .any(|(i, &b)| b.to_ascii_lowercase() == first && hay[i + 1..i + needle.len()].eq_ignore_ascii_case(rest))
}

/// Registers [`FUNCTION`] on a connection: deterministic, innocuous; any argument that is not
/// text makes it answer true (no constraint).
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(FUNCTION, 2, flags, |ctx: &Context<'_>| {
        Ok(match (ctx.get_raw(0), ctx.get_raw(1)) {
            (ValueRef::Text(doc), ValueRef::Text(needle)) => may_contain(doc, needle),
            _ => true,
        })
    })
}

/// The arguments of [`TextNeed::to_sql`] as statement parameters.
pub fn params(args: &[String]) -> Vec<&dyn ToSql> {
    args.iter().map(|a| a as &dyn ToSql).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needles_are_plain_ascii_only() {
        assert_eq!(TextNeed::text("Bench User"), Some(TextNeed::Text("bench user".into())));
        assert_eq!(TextNeed::text(""), None);
        assert_eq!(TextNeed::text("straße"), None);
        assert_eq!(TextNeed::text("a\"b"), None);
        assert_eq!(TextNeed::text("a\\b"), None);
        assert_eq!(TextNeed::text("a\tb"), None);
        assert_eq!(TextNeed::text("a\u{7f}"), None);
    }

    #[test]
    fn matcher_is_ascii_caseless_and_lets_escapes_and_unicode_through() {
        let needle = b"bench user 0012345";
        assert!(may_contain(br#"{"displayName":"BENCH USER 0012345"}"#, needle));
        assert!(may_contain(br#"{"displayName":"x Bench User 00123456"}"#, needle));
        assert!(!may_contain(br#"{"displayName":"Bench User 0012346"}"#, needle));
        assert!(!may_contain(br#"{"a":"bench"}"#, needle));
        assert!(!may_contain(b"", needle));
        assert!(may_contain(b"", b""));
        // "straße" folds to "strasse": a document with non-ASCII text always passes.
        assert!(may_contain("{\"a\":\"Straße\"}".as_bytes(), b"strasse"));
        // So does one with any JSON escape: \u00df is ß, \" a quote.
        assert!(may_contain(br#"{"a":"Stra\u00dfe"}"#, b"strasse"));
        assert!(may_contain(br#"{"a":"x\"y"}"#, b"zzz"));
        // The needle at the very end, and overlapping false starts.
        assert!(may_contain(b"aaab", b"aab"));
        assert!(!may_contain(b"aaa", b"aab"));
    }

    #[test]
    fn trees_combine_and_render_as_sql() {
        let t = |s: &str| TextNeed::text(s);
        assert_eq!(TextNeed::and(None, t("a")), t("a"));
        assert_eq!(TextNeed::or(None, t("a")), None);
        let need = TextNeed::and(TextNeed::or(t("x"), t("y")), t("z")).unwrap();
        assert!(need.admits(r#"{"a":"Y","b":"Z"}"#));
        assert!(!need.admits(r#"{"a":"Y"}"#));
        assert!(!need.admits(r#"{"b":"z"}"#));
        let mut args = Vec::new();
        let sql = need.to_sql("doc", &mut args);
        assert_eq!(sql, format!("(({FUNCTION}(doc, ?1) OR {FUNCTION}(doc, ?2)) AND {FUNCTION}(doc, ?3))"));
        assert_eq!(args, ["x", "y", "z"]);
    }

    #[test]
    fn the_sql_function_agrees() {
        let conn = Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let q = |doc: &str, needle: &str| -> bool {
            conn.query_row(&format!("SELECT {FUNCTION}(?1, ?2)"), [doc, needle], |r| r.get(0)).unwrap()
        };
        assert!(q(r#"{"a":"Hello"}"#, "hell"));
        assert!(!q(r#"{"a":"Hello"}"#, "world"));
        assert!(q("{\"a\":\"Straße\"}", "strasse"));
        let null: bool = conn.query_row(&format!("SELECT {FUNCTION}(NULL, 'x')"), [], |r| r.get(0)).unwrap();
        assert!(null);
    }
}
