//! Equality keys: what a server indexes so that `eq` (and `sw`) on any string attribute finds
//! its resources without reading every one (RFC 7644 §3.4.2.2), and the lookups a filter asks of
//! such an index.
//!
//! Both halves are computed here, beside the evaluator, from the same schema tables and with the
//! evaluator's own case folding (`filter::eval`'s `fold`, per `caseExact`, RFC 7643 §2.2), so
//! an index built from [`entries`] and a lookup derived by [`plan`] cannot disagree with
//! [`Filter::matches`]: every resource the evaluator matches is among those the plan finds.
//! The plan may find more (a key is truncated to [`KEY_BYTES`]; `and` inside `emails[...]` is
//! two lookups that may meet in different values), so the server still evaluates the filter on
//! what the index found: the index only narrows.
//!
//! Indexed ("leaves", [`leaves`]): every attribute and sub-attribute of type string in the
//! resource type's schemas (core and extensions) whose values are in the stored document: not
//! read-only (`groups`, the computed `access`), not returned never (`password`), not kept outside
//! the document by the server (`outside`: a Group's `members`). Attributes with canonical values
//! (`emails.type`, `addresses.type`...) are left out: a handful of labels shared by most
//! resources, whose lookup would return a large share of the table, which a scan serves as well,
//! while each would cost every write one more index row.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{CompareOp, Filter, Literal, fold};
use crate::path::{AttrPath, Container, member_ci, values_of};
use crate::schema::{AttrType, Attribute, Mutability, ResourceType, Returned, Schema};

/// The longest key stored, in bytes (cut at a character boundary). Longer values share the key
/// of their first [`KEY_BYTES`] bytes, which keeps the index small whatever is sent (values
/// may be 64 KiB); a lookup cuts its literal the same way, so it still finds them.
pub const KEY_BYTES: usize = 200;

/// One indexed attribute: its path as stored in the index, and its definition.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// `displayName`, `name.givenName`, `emails.value`, or for an extension its URN and the
    /// path, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
    pub path: String,
    /// The attribute compared (the sub-attribute for a path with one).
    pub attr: &'static Attribute,
    schema: &'static Schema,
    /// Whether `schema` is the core schema (its attributes are at the document's top level).
    core: bool,
    parent: Option<&'static Attribute>,
}

/// A lookup in the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The resources with a value of `path` whose key is `key` (`eq`).
    Eq {
        /// The leaf's path.
        path: String,
        /// The key.
        key: String,
    },
    /// The resources with a value of `path` whose key starts with `prefix` (`sw`): keys from
    /// `prefix` (inclusive) to `below` (exclusive; `None`: no upper bound). In UTF-8 byte order,
    /// which is SQLite's `BINARY` collation, exactly the keys that start with `prefix` lie there.
    Range {
        /// The leaf's path.
        path: String,
        /// The folded literal.
        prefix: String,
        /// The least string above every string starting with `prefix`.
        below: Option<String>,
    },
    /// Resources every part finds (`and`).
    And(Vec<Plan>),
    /// Resources any part finds (`or`).
    Or(Vec<Plan>),
}

fn indexable(a: &Attribute) -> bool {
    a.ty == AttrType::String
        && a.mutability != Mutability::ReadOnly
        && a.mutability != Mutability::WriteOnly
        && a.returned != Returned::Never
        && a.canonical_values.is_empty()
}

/// The indexed attributes of `rt` (see the module documentation), in schema order. `outside`
/// names the top-level attributes the server keeps outside the document.
pub fn leaves(rt: &ResourceType, outside: &[&str]) -> Vec<Leaf> {
    let mut out = Vec::new();
    for schema in rt.schemas() {
        let core = std::ptr::eq(schema, rt.schema);
        let qualify = |p: String| if core { p } else { format!("{}:{p}", schema.id) };
        for attr in schema.attributes {
            if attr.mutability == Mutability::ReadOnly
                || (core && outside.iter().any(|o| o.eq_ignore_ascii_case(attr.name)))
            {
                continue;
            }
            if indexable(attr) {
                out.push(Leaf { path: qualify(attr.name.to_owned()), attr, schema, core, parent: None });
            } else if attr.ty == AttrType::Complex {
                for sub in attr.sub_attributes.iter().filter(|s| indexable(s)) {
                    let path = qualify(format!("{}.{}", attr.name, sub.name));
                    out.push(Leaf { path, attr: sub, schema, core, parent: Some(attr) });
                }
            }
        }
    }
    out
}

/// What identifies the index's contents: every leaf's path and case rule, and the version of
/// the folding. A server that finds another signature on its index rebuilds it (a schema change,
/// a new folding).
pub fn signature(leaves: &[Leaf]) -> String {
    const FOLDING: u32 = 1;
    let mut s = format!("fold{FOLDING};cut{KEY_BYTES}");
    for l in leaves {
        s.push(';');
        s.push_str(&l.path);
        s.push_str(if l.attr.case_exact { "=c" } else { "=i" });
    }
    s
}

/// The key of `value` for `attr`: folded as the evaluator compares it, cut to [`KEY_BYTES`].
pub fn key(attr: &Attribute, value: &str) -> String {
    cut(fold(attr, value).into_owned())
}

fn cut(mut s: String) -> String {
    if s.len() > KEY_BYTES {
        let mut at = KEY_BYTES;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
    }
    s
}

/// The index entries of a stored document (canonical names, extensions under their URN):
/// `(path, key)` for each string value of each leaf, without repeats, sorted.
pub fn entries<'l>(leaves: &'l [Leaf], doc: &Map<String, Value>) -> BTreeSet<(&'l str, String)> {
    let mut out = BTreeSet::new();
    for leaf in leaves {
        let container =
            if leaf.core { Some(doc) } else { member_ci(doc, leaf.schema.id).and_then(|(_, v)| v.as_object()) };
        let Some(container) = container else { continue };
        let top = leaf.parent.unwrap_or(leaf.attr);
        let Some((_, v)) = member_ci(container, top.name) else { continue };
        let mut values = values_of(v);
        if leaf.parent.is_some() {
            values = values
                .into_iter()
                .filter_map(|e| e.as_object().and_then(|o| member_ci(o, leaf.attr.name)).map(|(_, v)| v))
                .flat_map(values_of)
                .collect();
        }
        for s in values.into_iter().filter_map(Value::as_str) {
            out.insert((leaf.path.as_str(), key(leaf.attr, s)));
        }
    }
    out
}

/// The index lookup that finds every resource of `rt` that `f` can match, if there is one: an
/// `eq` or non-empty `sw` with a string literal on a leaf (a complex attribute compares its
/// `value`), `attr[...]` by its inner filter, `and` of any part that has one, `or` of parts
/// that all have one. `not`, `ne`, `co`, `ew`, orderings and `pr` have none.
pub fn plan(f: &Filter, rt: &ResourceType, leaves: &[Leaf]) -> Option<Plan> {
    derive(f, rt, None, leaves)
}

fn derive(f: &Filter, rt: &ResourceType, within: Option<&'static Attribute>, leaves: &[Leaf]) -> Option<Plan> {
    match f {
        Filter::And(a, b) => {
            let parts: Vec<Plan> =
                [derive(a, rt, within, leaves), derive(b, rt, within, leaves)].into_iter().flatten().collect();
            match parts.len() {
                0 => None,
                1 => parts.into_iter().next(),
                _ => Some(Plan::And(flatten(parts, true))),
            }
        }
        Filter::Or(a, b) => {
            let (a, b) = (derive(a, rt, within, leaves)?, derive(b, rt, within, leaves)?);
            Some(Plan::Or(flatten(vec![a, b], false)))
        }
        Filter::Compare(p, op @ (CompareOp::Eq | CompareOp::Sw), Literal::String(v)) => {
            // Entra's booleans: a literal that reads as one may equal a stored `true`/`false`
            // (the evaluator allows it); leave such rare lookups to the scan.
            if crate::resource::parse_bool(v).is_some() || (*op == CompareOp::Sw && v.is_empty()) {
                return None;
            }
            let leaf = locate(p, rt, within, leaves)?;
            let folded = key(leaf.attr, v);
            Some(match op {
                CompareOp::Eq => Plan::Eq { path: leaf.path.clone(), key: folded },
                _ => Plan::Range { path: leaf.path.clone(), below: successor(&folded), prefix: folded },
            })
        }
        Filter::ValuePath(p, inner) if within.is_none() => {
            let r = p.resolve(rt).ok()?;
            (r.sub.is_none() && r.attr.ty == AttrType::Complex).then_some(())?;
            derive(inner, rt, Some(r.attr), leaves)
        }
        _ => None,
    }
}

fn flatten(parts: Vec<Plan>, and: bool) -> Vec<Plan> {
    parts
        .into_iter()
        .flat_map(|p| match p {
            Plan::And(inner) if and => inner,
            Plan::Or(inner) if !and => inner,
            one => vec![one],
        })
        .collect()
}

/// The leaf a comparison on `p` reads, if it is indexed.
fn locate<'l>(
    p: &AttrPath,
    rt: &ResourceType,
    within: Option<&'static Attribute>,
    leaves: &'l [Leaf],
) -> Option<&'l Leaf> {
    let (schema, top, sub) = match within {
        None => {
            let r = p.resolve(rt).ok()?;
            let schema = match r.container {
                Container::Core => rt.schema,
                Container::Extension(s) => s,
                Container::Common => return None,
            };
            (schema, r.attr, r.sub)
        }
        Some(parent) => {
            let (attr, sub) = p.resolve_in(parent)?;
            if sub.is_some() {
                return None;
            }
            let schema = rt.schemas().find(|s| s.attributes.iter().any(|a| std::ptr::eq(a, parent)))?;
            (schema, parent, Some(attr))
        }
    };
    // A comparison on a complex attribute compares its `value` (RFC 7644 §3.4.2.2, as the
    // evaluator does).
    let sub = match sub {
        None if top.ty == AttrType::Complex => Some(top.sub("value")?),
        Some(s) if s.ty == AttrType::Complex => return None,
        other => other,
    };
    leaves.iter().find(|l| {
        std::ptr::eq(l.schema, schema)
            && match (l.parent, sub) {
                (None, None) => std::ptr::eq(l.attr, top),
                (Some(parent), Some(sub)) => std::ptr::eq(parent, top) && std::ptr::eq(l.attr, sub),
                _ => false,
            }
    })
}

/// The least string greater than every string that starts with `prefix`: its last character
/// that can be incremented, incremented, and what follows it dropped (code point order is UTF-8
/// byte order). `None` when there is none (every character is `char::MAX`).
pub fn successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(u32::from(c) + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::filter::fixtures::{bjensen, jsmith};
    use crate::schema::{ENTERPRISE_USER_URN, GROUP_RESOURCE, USER_RESOURCE};

    fn user_leaves() -> Vec<Leaf> {
        leaves(&USER_RESOURCE, &["groups", "access"])
    }

    fn doc(v: Value) -> Map<String, Value> {
        let Value::Object(mut m) = v else { panic!("not an object") };
        for k in ["schemas", "id", "meta", "externalId"] {
            m.remove(k);
        }
        m
    }

    #[test]
    fn leaves_come_from_the_schema_tables() {
        let leaves = user_leaves();
        let paths: Vec<&str> = leaves.iter().map(|l| l.path.as_str()).collect();
        for want in [
            "userName",
            "displayName",
            "nickName",
            "title",
            "name.givenName",
            "name.familyName",
            "emails.value",
            "emails.display",
            "phoneNumbers.value",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        ] {
            assert!(paths.contains(&want), "{want} missing from {paths:?}");
        }
        for not in ["password", "emails.type", "groups.value", "active", "photos.value", "meta.version"] {
            assert!(!paths.iter().any(|p| p.ends_with(not)), "{not} indexed");
        }
        let group: Vec<String> = super::leaves(&GROUP_RESOURCE, &["members"]).into_iter().map(|l| l.path).collect();
        assert_eq!(group, ["displayName"]);
        assert_ne!(signature(&leaves), signature(&super::leaves(&GROUP_RESOURCE, &["members"])));
    }

    #[test]
    fn entries_fold_per_case_exact() {
        let leaves = user_leaves();
        let e = entries(&leaves, &doc(bjensen()));
        let has = |p: &str, k: &str| e.contains(&(p, k.to_owned()));
        assert!(has("displayName", "babs jensen"));
        assert!(has("emails.value", "bjensen@example.com"));
        assert!(has("emails.value", "babs@jensen.org"));
        assert!(has("name.familyName", "o'malley-jensen"));
        assert!(has(&format!("{ENTERPRISE_USER_URN}:department"), "tour operations"));
        // manager.value is caseExact
        assert!(has(&format!("{ENTERPRISE_USER_URN}:manager.value"), "26118915-6090-4610-87e4-49d8ca9f808d"));
        assert!(!e.iter().any(|(p, _)| p.ends_with("emails.type")));
        let long = "x".repeat(150) + &"é".repeat(100);
        let e = entries(&leaves, &doc(json!({"userName": "a", "title": long})));
        let k = &e.iter().find(|(p, _)| *p == "title").unwrap().1;
        assert!(k.len() <= KEY_BYTES && long.starts_with(k.as_str()) && k.len() >= KEY_BYTES - 1);
    }

    #[test]
    fn successors_bound_prefixes() {
        assert_eq!(successor("abc").as_deref(), Some("abd"));
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(successor("\u{10FFFF}"), None);
        for (p, s) in [("ab", "abz"), ("ab", "ab\u{10FFFF}x"), ("é", "éa")] {
            assert!(s >= p && s < successor(p).unwrap().as_str(), "{s} in {p}..");
        }
    }

    fn plan_of(text: &str) -> Option<Plan> {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        plan(&f, &USER_RESOURCE, &user_leaves())
    }

    #[test]
    fn plans_eq_and_sw_on_leaves() {
        let eq = |path: &str, key: &str| Plan::Eq { path: path.into(), key: key.into() };
        assert_eq!(plan_of(r#"displayName eq "Babs JENSEN""#), Some(eq("displayName", "babs jensen")));
        assert_eq!(plan_of(r#"emails eq "A@X.org""#), Some(eq("emails.value", "a@x.org")));
        assert_eq!(plan_of(r#"emails[value eq "A@X.org"]"#), Some(eq("emails.value", "a@x.org")));
        assert_eq!(
            plan_of(r#"emails[type eq "work" and value eq "A@X.org"]"#),
            Some(eq("emails.value", "a@x.org")) // type has no index: the value narrows
        );
        let mgr = format!("{ENTERPRISE_USER_URN}:manager.value");
        assert_eq!(plan_of(r#"manager.value eq "AbC""#), Some(eq(&mgr, "AbC")));
        assert_eq!(
            plan_of(r#"title sw "Tour""#),
            Some(Plan::Range { path: "title".into(), prefix: "tour".into(), below: Some("tous".into()) })
        );
        assert_eq!(
            plan_of(r#"title eq "a" and (nickName eq "b" or displayName eq "c")"#),
            Some(Plan::And(vec![eq("title", "a"), Plan::Or(vec![eq("nickName", "b"), eq("displayName", "c")])]))
        );
        assert_eq!(plan_of(r#"title eq "a" and active eq true"#), Some(eq("title", "a")));
        for none in [
            r#"title eq "a" or active eq true"#,
            r#"not (title eq "a")"#,
            r#"title ne "a""#,
            r#"title co "a""#,
            r#"title ew "a""#,
            r#"title sw """#,
            r#"title gt "a""#,
            "title pr",
            r#"emails.type eq "work""#,
            r#"externalId eq "x""#,
            r#"id eq "x""#,
            r#"groups.value eq "x""#,
            r#"title eq "True""#,
            "title eq 5",
        ] {
            assert_eq!(plan_of(none), None, "{none}");
        }
    }

    /// The promise the server relies on: whatever the evaluator matches, the plan finds.
    #[test]
    fn a_plan_finds_every_match() {
        let leaves = user_leaves();
        let docs = [
            bjensen(),
            jsmith(),
            json!({"userName": "Straße", "displayName": "STRASSE Müller", "title": "x".repeat(300)}),
            json!({"userName": "k", "displayName": "\u{212a}elvin", "nickName": "ΣΑΣ",
                   "emails": [{"value": "K@x.org"}, {"value": "k2@x.org", "type": "home"}]}),
        ];
        let long = "x".repeat(300);
        let filters = [
            r#"displayName eq "babs jensen""#.to_owned(),
            r#"displayName eq "strasse müller""#.to_owned(),
            r#"displayName sw "straße""#.to_owned(),
            r#"displayName sw "kelv""#.to_owned(),
            r#"nickName eq "σας""#.to_owned(),
            r#"emails[value eq "k@X.ORG"]"#.to_owned(),
            r#"emails[type eq "home" and value sw "K2"]"#.to_owned(),
            r#"emails eq "BJENSEN@example.com" or title sw "xx""#.to_owned(),
            r#"name.givenName eq "JÜRGEN""#.to_owned(),
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "tour operations""#.to_owned(),
            r#"employeeNumber eq "701984" and userType eq "Employee""#.to_owned(),
            format!(r#"title eq "{long}""#),
            format!(r#"title sw "{long}""#),
        ];
        for text in &filters {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let plan = plan(&f, &USER_RESOURCE, &leaves).unwrap_or_else(|| panic!("{text}: no plan"));
            let mut matched = 0;
            for resource in &docs {
                if f.matches(&USER_RESOURCE, resource) {
                    matched += 1;
                    let e = entries(&leaves, &doc(resource.clone()));
                    assert!(finds(&plan, &e), "{text}: the plan misses a match");
                }
            }
            assert!(matched > 0, "{text} matches nothing: proves nothing");
        }
    }

    fn finds(plan: &Plan, e: &BTreeSet<(&str, String)>) -> bool {
        match plan {
            Plan::Eq { path, key } => e.contains(&(path.as_str(), key.clone())),
            Plan::Range { path, prefix, below } => e.iter().any(|(p, k)| {
                p == path && k.as_str() >= prefix.as_str() && below.as_ref().is_none_or(|b| k.as_str() < b.as_str())
            }),
            Plan::And(parts) => parts.iter().all(|p| finds(p, e)),
            Plan::Or(parts) => parts.iter().any(|p| finds(p, e)),
        }
    }
}
