//! The `sortBy` key of a resource (RFC 7644 §3.4.2.3) and the order of keys.

use std::cmp::Ordering;

use serde_json::{Number, Value};
use time::OffsetDateTime;

use super::eval::{cmp_numbers, fold};
use super::parse_date_time;
use crate::path::{AttrPath, get_ci};
use crate::schema::{AttrType, Attribute, ResourceType};

/// The value a resource sorts by (RFC 7644 §3.4.2.3). Ordering: strings compare case-folded
/// unless `caseExact` (folding is applied when the key is built), numbers numerically, dateTimes
/// chronologically, booleans `false < true`. Keys of different kinds (only from malformed data)
/// order booleans < numbers < dateTimes < strings.
#[derive(Debug, Clone)]
pub enum SortKey {
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A dateTime.
    DateTime(OffsetDateTime),
    /// A string, already lower-cased if the attribute is not `caseExact`.
    String(String),
}

impl SortKey {
    fn rank(&self) -> u8 {
        match self {
            SortKey::Bool(_) => 0,
            SortKey::Number(_) => 1,
            SortKey::DateTime(_) => 2,
            SortKey::String(_) => 3,
        }
    }

    fn from_value(target: &Attribute, v: &Value) -> Option<SortKey> {
        match v {
            Value::Bool(b) => Some(SortKey::Bool(*b)),
            Value::Number(n) => Some(SortKey::Number(n.clone())),
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(
                (target.ty == AttrType::DateTime)
                    .then(|| parse_date_time(s))
                    .flatten()
                    .map_or_else(|| SortKey::String(fold(target, s).into_owned()), SortKey::DateTime),
            ),
            _ => None,
        }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Bool(a), SortKey::Bool(b)) => a.cmp(b),
            (SortKey::Number(a), SortKey::Number(b)) => cmp_numbers(a, b),
            (SortKey::DateTime(a), SortKey::DateTime(b)) => a.cmp(b),
            (SortKey::String(a), SortKey::String(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SortKey {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SortKey {}

/// The key `resource` sorts by for `sortBy=path` (RFC 7644 §3.4.2.3), or `None` if it has no
/// value there (or the path does not resolve, or names a hidden attribute such as `password`).
///
/// A multi-valued attribute sorts by its primary value (`"primary": true`) if any, else its first
/// value; a complex attribute without a sub-attribute sorts by its `value` sub-attribute
/// (`sortBy=emails` is `emails.value` of the primary email). An empty string counts as no value.
///
/// `None` is NOT ordered by `Option`'s `Ord` (which puts `None` first): RFC 7644 §3.4.2.3 puts
/// resources without a value last in ascending order and first in descending order; use
/// [`cmp_sort_keys`].
pub fn sort_key(rt: &ResourceType, path: &AttrPath, resource: &Value) -> Option<SortKey> {
    let r = path.resolve(rt).ok().filter(|r| !r.is_hidden())?;
    let element = pick(r.attr_value(resource)?)?;
    let (target, leaf) = match r.sub {
        Some(sub) => (sub, pick(get_ci(element, sub.name)?)?),
        None if r.attr.ty == AttrType::Complex => {
            let value = r.attr.sub("value")?;
            (value, pick(get_ci(element, value.name)?)?)
        }
        None => (r.attr, element),
    };
    SortKey::from_value(target, leaf)
}

/// The primary element of a multi-valued value, else its first; a single value itself.
fn pick(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(items) => {
            items.iter().find(|e| get_ci(e, "primary") == Some(&Value::Bool(true))).or_else(|| items.first())
        }
        Value::Null => None,
        other => Some(other),
    }
}

/// Orders two resources' sort keys per RFC 7644 §3.4.2.3: by [`SortKey`]'s order, reversed when
/// `descending`; a resource without a value (`None`) sorts after every value when ascending and
/// before every value when descending.
pub fn cmp_sort_keys(a: Option<&SortKey>, b: Option<&SortKey>, descending: bool) -> Ordering {
    let ascending = match (a, b) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    if descending { ascending.reverse() } else { ascending }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::fixtures::{bjensen, jsmith, p};
    use crate::schema::USER_RESOURCE;
    use serde_json::json;

    #[test]
    fn sort_keys_follow_rfc_7644_3_4_2_3() {
        let (b, j) = (bjensen(), jsmith());
        let key = |path: &str, r: &Value| sort_key(&USER_RESOURCE, &p(path), r);
        let s = |x: &str| Some(SortKey::String(x.into()));
        let cases = vec![
            ("userName", &b, s("bjensen")),
            ("externalId", &b, s("Bjensen-Ext")),
            ("externalId", &j, None),
            ("title", &j, None),
            ("name.familyName", &j, None),
            ("emails", &b, s("bjensen@example.com")),
            ("emails", &j, s("js@example.org")),
            ("emails.type", &b, s("work")),
            ("active", &b, Some(SortKey::Bool(true))),
            ("password", &b, None),
            ("nope", &b, None),
            ("department", &b, s("tour operations")),
        ];
        for (path, r, want) in cases {
            assert_eq!(key(path, r), want, "{path}");
        }
        let (kb, kj) = (key("meta.lastModified", &b), key("meta.lastModified", &j));
        assert!(matches!(kb, Some(SortKey::DateTime(_))));
        assert!(kj < kb, "chronological, although \"2011-05-13T06:42:34+02:00\" > \"2012...\" is false as text too");
        assert!(key("userName", &b) < key("userName", &j));

        let n = |x: &str| SortKey::Number(x.parse().unwrap());
        assert!(n("2") < n("10"));
        assert!(n("-1") < n("18446744073709551615"));
        assert_eq!(n("1"), n("1.0"));
        assert!(SortKey::Bool(false) < SortKey::Bool(true));
        assert!(SortKey::Bool(true) < n("0") && n("0") < SortKey::String(String::new()));

        // Missing values: last when ascending, first when descending.
        let users = [b.clone(), j.clone(), json!({"userName": "c", "title": "Analyst"})];
        let mut order: Vec<usize> = (0..3).collect();
        let keys: Vec<Option<SortKey>> = users.iter().map(|u| key("title", u)).collect();
        order.sort_by(|&x, &y| cmp_sort_keys(keys[x].as_ref(), keys[y].as_ref(), false));
        assert_eq!(order, [2, 0, 1]);
        order.sort_by(|&x, &y| cmp_sort_keys(keys[x].as_ref(), keys[y].as_ref(), true));
        assert_eq!(order, [1, 0, 2]);
    }
}
