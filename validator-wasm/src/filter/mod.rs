//! SCIM filters (RFC 7644 §3.4.2.2): parsing, checking against a resource type, evaluation, and
//! the `sortBy` key (RFC 7644 §3.4.2.3).
//!
//! The grammar is the ABNF of RFC 7644 §3.4.2.2 (Figure 1):
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//! valuePath = attrPath "[" valFilter "]"
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//! attrExp   = (attrPath SP "pr") / (attrPath SP compareOp SP compValue)
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//! compValue = false / null / true / number / string
//! compareOp = "eq" / "ne" / "co" / "sw" / "ew" / "gt" / "lt" / "ge" / "le"
//! ```
//!
//! with precedence `()` > `not` > `and` > `or`, and these deliberate leniencies for real
//! identity providers: keywords, operators and attribute names are case-insensitive; any run of
//! whitespace separates tokens; `not` may precede an expression without parentheses
//! (`not title pr`); `true`/`false`/`null` are recognised in any case; and an unquoted value
//! that is not `true`, `false`, `null` or a JSON number is a string (`externalId eq jyoung`).
//! Value filters do not nest (`a[b[c pr]]` is rejected, RFC 7644 errata 4690).
//!
//! Limits: at most [`MAX_FILTER_LEN`] characters and [`MAX_FILTER_DEPTH`] levels of nesting.
//! Parsing never panics and takes time linear in the input; errors are `invalidFilter` and name
//! the character position at fault.
//!
//! Layout: this file holds the syntax tree, the public API and the helpers the parts share;
//! `lex` turns text into tokens, `parse` builds the tree (filters and PATCH paths), `check`
//! validates a tree against a resource type, `eval` matches it against a resource, and `sort`
//! computes `sortBy` keys.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Number, Value};
use time::OffsetDateTime;

use crate::error::Result;
use crate::path::{AttrPath, clip};
use crate::resource;
use crate::schema::{Attribute, ResourceType};

mod check;
mod eval;
#[cfg(test)]
mod fixtures;
pub mod index;
mod lex;
mod parse;
mod sort;

pub(crate) use eval::fold;
pub(crate) use parse::parse_patch_path;
pub use sort::{SortKey, cmp_sort_keys, sort_key};

/// The longest filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4096;
/// The deepest nesting accepted: parentheses, `not` and `[...]` combined (`not (...)` is one level).
pub const MAX_FILTER_DEPTH: usize = 32;

/// A parsed SCIM filter (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Both filters match (`and`).
    And(Box<Filter>, Box<Filter>),
    /// Either filter matches (`or`).
    Or(Box<Filter>, Box<Filter>),
    /// The filter does not match (`not (...)`).
    Not(Box<Filter>),
    /// The attribute has a non-empty value (`pr`).
    Present(AttrPath),
    /// The attribute compares with the literal (`eq`, `ne`, `co`, ...).
    Compare(AttrPath, CompareOp, Literal),
    /// `emails[type eq "work" and value co "@x"]`: some value of the complex attribute matches the
    /// inner filter, whose paths are relative to the complex attribute.
    ValuePath(AttrPath, Box<Filter>),
}

/// A comparison operator (RFC 7644 §3.4.2.2, Table 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `eq`: the values are identical.
    Eq,
    /// `ne`: the values are not identical.
    Ne,
    /// `co`: the literal is a substring of the value.
    Co,
    /// `sw`: the value starts with the literal.
    Sw,
    /// `ew`: the value ends with the literal.
    Ew,
    /// `gt`: the value is greater than the literal.
    Gt,
    /// `ge`: the value is greater than or equal to the literal.
    Ge,
    /// `lt`: the value is less than the literal.
    Lt,
    /// `le`: the value is less than or equal to the literal.
    Le,
}

impl CompareOp {
    /// Every operator, in RFC 7644 Table 3 order.
    pub const ALL: [CompareOp; 9] =
        [Self::Eq, Self::Ne, Self::Co, Self::Sw, Self::Ew, Self::Gt, Self::Ge, Self::Lt, Self::Le];

    /// The operator as written in a filter (lower case).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::Ne => "ne",
            Self::Co => "co",
            Self::Sw => "sw",
            Self::Ew => "ew",
            Self::Gt => "gt",
            Self::Ge => "ge",
            Self::Lt => "lt",
            Self::Le => "le",
        }
    }

    /// The operator named `word`, case-insensitively.
    pub fn from_word(word: &str) -> Option<CompareOp> {
        Self::ALL.into_iter().find(|op| op.as_str().eq_ignore_ascii_case(word))
    }

    fn is_ordering(self) -> bool {
        matches!(self, Self::Gt | Self::Ge | Self::Lt | Self::Le)
    }

    fn is_substring(self) -> bool {
        matches!(self, Self::Co | Self::Sw | Self::Ew)
    }

    fn accepts(self, ord: Ordering) -> bool {
        match self {
            Self::Gt => ord == Ordering::Greater,
            Self::Ge => ord != Ordering::Less,
            Self::Lt => ord == Ordering::Less,
            Self::Le => ord != Ordering::Greater,
            _ => ord == Ordering::Equal,
        }
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comparison value: `compValue = false / null / true / number / string` (RFC 7644 §3.4.2.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A string (quoted JSON string, or a bare word).
    String(String),
    /// A JSON number.
    Number(Number),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

impl Literal {
    /// Reads an unquoted value leniently: `true`/`false`/`null` (any case), a JSON number, or
    /// else the word itself as a string.
    pub fn from_bare(word: &str) -> Literal {
        if word.eq_ignore_ascii_case("true") {
            Literal::Bool(true)
        } else if word.eq_ignore_ascii_case("false") {
            Literal::Bool(false)
        } else if word.eq_ignore_ascii_case("null") {
            Literal::Null
        } else {
            word.parse::<Number>().map_or_else(|_| Literal::String(word.to_owned()), Literal::Number)
        }
    }

    fn describe(&self) -> String {
        match self {
            Literal::String(s) => format!("the string \"{}\"", clip(s)),
            Literal::Number(n) => format!("the number {n}"),
            Literal::Bool(b) => b.to_string(),
            Literal::Null => "null".into(),
        }
    }
}

impl From<&str> for Literal {
    fn from(s: &str) -> Self {
        Literal::String(s.to_owned())
    }
}

impl fmt::Display for Literal {
    /// The literal in JSON syntax (strings quoted and escaped).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => f.write_str(&serde_json::to_string(s).map_err(|_| fmt::Error)?),
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Null => f.write_str("null"),
        }
    }
}

impl Filter {
    /// Parses a filter (RFC 7644 §3.4.2.2). Errors are `invalidFilter`, with a detail such as
    /// `invalid filter at character 10: expected a comparison operator (eq, ne, co, sw, ew, gt,
    /// ge, lt, le, pr) after "userName", found "equals"`.
    ///
    /// ```
    /// use scimbox_validator::filter::Filter;
    /// let f = Filter::parse(r#"userType eq "Employee" and (emails co "example.com" or title pr)"#);
    /// assert!(f.is_ok());
    /// ```
    pub fn parse(s: &str) -> Result<Filter> {
        parse::parse_filter(s)
    }

    /// Checks the filter against a resource type (RFC 7644 §3.4.2.2). Errors are `invalidFilter`
    /// and name the attribute:
    ///
    /// * every attribute path must resolve (core schema, extension schemas by URN, or the common
    ///   attributes); paths inside `[...]` must be sub-attributes of the complex attribute;
    /// * attributes that are never returned (`password`) cannot be filtered on;
    /// * `gt`/`ge`/`lt`/`le` on boolean or binary attributes are errors (RFC 7644 §3.4.2.2), as
    ///   are `co`/`sw`/`ew` on booleans and numbers;
    /// * the literal must suit the attribute type: `true`/`false` for booleans, a number for
    ///   integers and decimals, a string for strings, references, binaries and dateTimes (an
    ///   RFC 3339 dateTime for `eq`/`ne`/`gt`/`ge`/`lt`/`le`); `null` only with `eq`/`ne`.
    ///   Leniency: an unquoted number compared with a string attribute is compared as text
    ///   (`employeeNumber eq 701984`);
    /// * a complex attribute compared directly must have a `value` sub-attribute
    ///   (`emails co "x"` means `emails.value co "x"`); `pr` works on every attribute.
    pub fn check(&self, rt: &ResourceType) -> Result<()> {
        check::check_in(self, check::CheckScope::Resource(rt))
    }

    /// Checks a value filter for the complex attribute `attr` (a PATCH path's `[...]`, RFC 7644
    /// §3.5.2): its paths must be sub-attributes of `attr`, with the same rules as
    /// [`Filter::check`]. Errors are `invalidFilter`.
    pub fn check_value(&self, attr: &'static Attribute) -> Result<()> {
        check::check_in(self, check::CheckScope::Element(attr))
    }

    /// Whether `resource` (the full SCIM representation) matches (RFC 7644 §3.4.2.2).
    ///
    /// Semantics:
    /// * string comparisons fold case ([`crate::text::fold`]) unless the attribute is
    ///   `caseExact`; dateTimes compare chronologically (RFC 3339, falling back to text); numbers
    ///   numerically; booleans with `eq`/`ne` only;
    /// * a multi-valued attribute matches if ANY of its values matches (so `emails.type ne
    ///   "work"` matches a user with a work and a home address); a complex attribute compared
    ///   directly compares its `value` sub-attribute (`emails eq "x"`);
    /// * `pr` matches a value that is not null, `""`, `[]` or `{}` (or an object of such values);
    /// * a missing attribute (absent, `null` or `[]`, all equivalent per RFC 7643 §2.5) has no
    ///   value that is "identical" to the literal, so `ne` MATCHES it and every other operator
    ///   does not (`title ne "x"` is true for a user without a title, exactly `not (title eq
    ///   "x")`); `eq null` matches only a missing attribute and `ne null` only a present one;
    /// * an attribute path that does not resolve matches nothing, not even `ne`: call
    ///   [`Filter::check`] first to report it.
    pub fn matches(&self, rt: &ResourceType, resource: &Value) -> bool {
        eval::eval(self, eval::Scope::Resource(rt, resource))
    }

    /// Whether one element of a multi-valued complex attribute `attr` matches, the filter's paths
    /// being relative to it (`type eq "work"` against `{"type": "work", ...}`). Used for PATCH
    /// value filters (RFC 7644 §3.5.2); same semantics as [`Filter::matches`].
    pub fn matches_value(&self, attr: &'static Attribute, element: &Value) -> bool {
        eval::eval(self, eval::Scope::Element(attr, element))
    }

    fn precedence(&self) -> u8 {
        match self {
            Filter::Or(..) => 1,
            Filter::And(..) => 2,
            _ => 3,
        }
    }

    fn fmt_child(&self, f: &mut fmt::Formatter<'_>, child: &Filter, right: bool) -> fmt::Result {
        let (mine, theirs) = (self.precedence(), child.precedence());
        if theirs < mine || (right && theirs == mine) { write!(f, "({child})") } else { write!(f, "{child}") }
    }
}

impl fmt::Display for Filter {
    /// The canonical text of the filter; it parses back to an equal filter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::And(a, b) | Filter::Or(a, b) => {
                self.fmt_child(f, a, false)?;
                f.write_str(if matches!(self, Filter::And(..)) { " and " } else { " or " })?;
                self.fmt_child(f, b, true)
            }
            Filter::Not(inner) => write!(f, "not ({inner})"),
            Filter::Present(p) => write!(f, "{p} pr"),
            Filter::Compare(p, op, lit) => write!(f, "{p} {op} {lit}"),
            Filter::ValuePath(p, inner) => write!(f, "{p}[{inner}]"),
        }
    }
}

/// An `xsd:dateTime` (RFC 7643 §2.3.5): RFC 3339 as [`resource::parse_datetime`] reads it, or
/// without an offset (taken as UTC).
pub(crate) fn parse_date_time(s: &str) -> Option<OffsetDateTime> {
    const LOCAL: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    resource::parse_datetime(s).or_else(|| time::PrimitiveDateTime::parse(s, LOCAL).ok().map(|t| t.assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_times_parse_with_and_without_offset() {
        for s in
            ["2011-05-13T04:42:34Z", "2011-05-13T04:42:34.123+02:00", "2011-05-13T04:42:34", "2011-05-13T04:42:34.5"]
        {
            assert!(parse_date_time(s).is_some(), "{s}");
        }
        for s in ["2011-05-13", "yesterday", "", "2011-13-13T04:42:34Z"] {
            assert!(parse_date_time(s).is_none(), "{s}");
        }
    }
}
