//! The raw-text prefilter of list scans: from a filter (RFC 7644 §3.4.2.2), the text a matching
//! row's stored document must contain ([`TextNeed`]), so that SQLite skips the rows that cannot
//! match before they are decoded and evaluated.
//!
//! Only what is certain is derived. An `eq`, `co`, `sw` or `ew` comparison with a non-empty
//! string literal, on a string, reference or binary attribute whose values live in the stored
//! document, can match only if the document holds a string containing the literal (up to case):
//! `eq` is equality, `sw`/`ew` are special cases of `co`, and a document stores each string value
//! once, as JSON. `and` needs both sides' text, `or` either side's (none if either side has
//! none); `not`, `ne`, `pr`, `gt`/`ge`/`lt`/`le`, dateTimes (compared chronologically), numbers
//! and booleans need nothing, nor do the attributes a document does not hold: `id`, `meta`,
//! `schemas`, read-only attributes (`groups`, the computed `access`) and each type's related
//! attributes (Group `members`). Literals the raw text test cannot be exact about (non-ASCII,
//! quotes, backslashes, control characters; see [`TextNeed::text`]) need nothing either.
//!
//! Whatever passes is still evaluated by the validator's filter evaluator, which decides.

use scimbox_validator::filter::{CompareOp, Filter, Literal};
use scimbox_validator::path::{AttrPath, Container};
use scimbox_validator::schema::{AttrType, Attribute, Mutability, ResourceType};

pub use crate::db::text_need::TextNeed;

/// The text a row of `rt` must hold to match `f`, if any; `related` names the attributes kept
/// outside the stored document (see `Listed::RELATED`).
pub fn text_need(f: &Filter, rt: &ResourceType, related: &[&str]) -> Option<TextNeed> {
    derive(f, Scope::Resource(rt, related))
}

#[derive(Clone, Copy)]
enum Scope<'a> {
    Resource(&'a ResourceType, &'a [&'a str]),
    /// Inside `attr[...]`: paths are sub-attributes of this (stored) complex attribute.
    Element(&'static Attribute),
}

fn derive(f: &Filter, scope: Scope<'_>) -> Option<TextNeed> {
    match f {
        Filter::And(a, b) => TextNeed::and(derive(a, scope), derive(b, scope)),
        Filter::Or(a, b) => TextNeed::or(derive(a, scope), derive(b, scope)),
        Filter::Compare(p, CompareOp::Eq | CompareOp::Co | CompareOp::Sw | CompareOp::Ew, Literal::String(v)) => {
            let target = compared(p, scope)?;
            // A literal that reads as a boolean may equal a stored `true`/`false` (Entra).
            let textual = matches!(target.ty, AttrType::String | AttrType::Reference | AttrType::Binary);
            if textual && scimbox_validator::resource::parse_bool(v).is_none() { TextNeed::text(v) } else { None }
        }
        Filter::ValuePath(p, inner) => match scope {
            Scope::Resource(rt, related) => {
                let r = p.resolve(rt).ok()?;
                (r.sub.is_none() && stored(r.container, r.attr, related)).then_some(())?;
                derive(inner, Scope::Element(r.attr))
            }
            Scope::Element(_) => None,
        },
        Filter::Not(_) | Filter::Present(_) | Filter::Compare(..) => None,
    }
}

/// The attribute a comparison on `p` reads (a complex attribute's `value`), if it is stored.
fn compared(p: &AttrPath, scope: Scope<'_>) -> Option<&'static Attribute> {
    let (attr, sub) = match scope {
        Scope::Resource(rt, related) => {
            let r = p.resolve(rt).ok()?;
            stored(r.container, r.attr, related).then_some((r.attr, r.sub))?
        }
        Scope::Element(parent) => p.resolve_in(parent)?,
    };
    let target = sub.unwrap_or(attr);
    if target.ty == AttrType::Complex { target.sub("value") } else { Some(target) }
}

/// Whether the values of this top-level attribute are in the stored document.
fn stored(container: Container, attr: &Attribute, related: &[&str]) -> bool {
    let common_outside = matches!(container, Container::Common) && !attr.name.eq_ignore_ascii_case("externalId");
    !common_outside
        && attr.mutability != Mutability::ReadOnly
        && !related.iter().any(|r| r.eq_ignore_ascii_case(attr.name))
}

#[cfg(test)]
mod tests {
    use scimbox_validator::schema::{GROUP_RESOURCE, USER_RESOURCE};
    use serde_json::{Map, Value, json};

    use super::*;

    const USER_RELATED: &[&str] = &["groups", "access"];

    fn need(text: &str) -> Option<TextNeed> {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        f.check(&USER_RESOURCE).unwrap_or_else(|e| panic!("{text}: {e}"));
        text_need(&f, &USER_RESOURCE, USER_RELATED)
    }

    fn t(s: &str) -> TextNeed {
        TextNeed::Text(s.into())
    }

    #[test]
    fn derives_literals_of_stored_string_comparisons() {
        assert_eq!(need(r#"displayName eq "Bench User 0012345""#), Some(t("bench user 0012345")));
        assert_eq!(need(r#"displayName sw "Bench""#), Some(t("bench")));
        assert_eq!(need(r#"title co "Guide""#), Some(t("guide")));
        assert_eq!(need(r#"name.familyName ew "son""#), Some(t("son")));
        assert_eq!(need(r#"emails eq "a@x.org""#), Some(t("a@x.org")));
        assert_eq!(
            need(r#"emails[type eq "work" and value co "@x.org"]"#),
            Some(TextNeed::All(vec![t("work"), t("@x.org")]))
        );
        assert_eq!(need(r#"externalId eq "E1""#), Some(t("e1")));
        assert_eq!(need(r#"department eq "Sales""#), Some(t("sales")));
        assert_eq!(need("userName eq bjensen"), Some(t("bjensen")));
    }

    #[test]
    fn and_needs_both_or_needs_either() {
        assert_eq!(need(r#"title eq "a" and userType eq "b""#), Some(TextNeed::All(vec![t("a"), t("b")])));
        assert_eq!(need(r#"title eq "a" and title pr"#), Some(t("a")));
        assert_eq!(need(r#"title eq "a" or userType eq "b""#), Some(TextNeed::Any(vec![t("a"), t("b")])));
        assert_eq!(need(r#"title eq "a" or title pr"#), None);
        assert_eq!(
            need(r#"(title eq "a" or title eq "b") and (userType eq "c" or active eq true)"#),
            Some(TextNeed::Any(vec![t("a"), t("b")]))
        );
    }

    #[test]
    fn gives_up_where_it_cannot_be_exact() {
        for text in [
            r#"not (displayName eq "x")"#,
            r#"displayName ne "x""#,
            "displayName pr",
            r#"displayName gt "x""#,
            r#"displayName eq """#,
            // Unicode folding: "straße" matches "STRASSE"; a non-ASCII literal needs nothing.
            r#"displayName eq "straße""#,
            // JSON would escape these in the stored text.
            r#"displayName eq "a\"b""#,
            r#"displayName eq "a\\b""#,
            r#"displayName eq "a\tb""#,
            // Not in the stored document, or not compared as text.
            r#"id eq "abc""#,
            r#"meta.resourceType eq "User""#,
            r#"meta.created eq "2011-05-13T04:42:34Z""#,
            r#"schemas eq "urn:ietf:params:scim:schemas:core:2.0:User""#,
            r#"groups.value eq "abc""#,
            r#"groups[display eq "abc"]"#,
            r#"urn:ietf:params:scim:schemas:extension:scimbox:2.0:User:access.accountId eq "A1""#,
            r#"active eq "true""#,
            r#"emails[primary eq "True"]"#,
            r#"displayName eq "TRUE""#,
            "employeeNumber eq 701984",
        ] {
            let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            f.check(&USER_RESOURCE).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(text_need(&f, &USER_RESOURCE, USER_RELATED), None, "{text}");
        }
    }

    #[test]
    fn group_members_are_not_in_the_document() {
        let derive = |text: &str| text_need(&Filter::parse(text).unwrap(), &GROUP_RESOURCE, &["members"]);
        assert_eq!(derive(r#"members[value eq "abc"]"#), None);
        assert_eq!(derive(r#"members.display co "abc""#), None);
        assert_eq!(derive(r#"displayName sw "Eng""#), Some(t("eng")));
    }

    fn user(doc: Value) -> (String, Value) {
        let Value::Object(doc) = doc else { panic!() };
        let text = serde_json::to_string(&doc).unwrap();
        let mut res = Map::new();
        res.insert("schemas".into(), json!(["urn:ietf:params:scim:schemas:core:2.0:User"]));
        res.insert("id".into(), "id-1".into());
        res.extend(doc);
        res.insert(
            "meta".into(),
            json!({"resourceType": "User", "created": "2024-01-01T00:00:00Z", "lastModified": "2024-01-01T00:00:00Z"}),
        );
        (text, Value::Object(res))
    }

    /// Soundness: whenever the evaluator matches a document, the prefilter admits its text.
    #[test]
    fn never_rejects_a_match() {
        let docs = [
            json!({"userName": "Straße", "displayName": "STRASSE Müller", "title": "x"}),
            json!({"userName": "strasse", "displayName": "Strasse", "active": true}),
            json!({"userName": "q", "displayName": "say \"hi\"", "title": "a\\b"}),
            json!({"userName": "k", "displayName": "\u{212a}elvin", "title": "ﬀ"}),
            json!({"userName": "bjensen", "displayName": "Bench User 0012345", "title": "Tour Guide",
                   "emails": [{"value": "B@X.org", "type": "work", "primary": true}], "active": false}),
            json!({"userName": "ad", "displayName": "Bench User 0012346", "externalId": "E1",
                   "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}}),
        ];
        let filters = [
            r#"displayName eq "Bench User 0012345""#,
            r#"displayName sw "bench user 00123""#,
            r#"displayName ew "0012346""#,
            r#"displayName co "STRASSE""#,
            r#"displayName eq "straße müller""#,
            r#"userName eq "STRASSE""#,
            r#"userName eq "strasse""#,
            r#"displayName sw "kelvin""#,
            r#"title eq "ff""#,
            r#"displayName co "hi""#,
            r#"displayName co "\"hi\"""#,
            r#"title eq "a\\b""#,
            r#"title eq "A\\B" or userName eq "K""#,
            r#"emails[type eq "WORK" and value ew "@x.ORG"]"#,
            r#"emails co "b@x""#,
            r#"externalId eq "E1" and department eq "sales""#,
            r#"not (displayName eq "x") and userName sw "b""#,
            r#"displayName eq "nobody" or active eq false"#,
            r#"active eq "False""#,
        ];
        for ftext in filters {
            let f = Filter::parse(ftext).unwrap_or_else(|e| panic!("{ftext}: {e}"));
            let need = text_need(&f, &USER_RESOURCE, USER_RELATED);
            let mut matched = 0;
            for doc in &docs {
                let (text, res) = user(doc.clone());
                if f.matches(&USER_RESOURCE, &res) {
                    matched += 1;
                    assert!(need.as_ref().is_none_or(|n| n.admits(&text)), "{ftext} rejected {text}");
                }
            }
            assert!(matched > 0, "{ftext} matches none of the documents: the case proves nothing");
        }
        // And it does reject: the ASCII documents that cannot match.
        let need = need(r#"displayName eq "Bench User 0012345""#).unwrap();
        let (text, _) = user(docs[5].clone());
        assert!(!need.admits(&text));
    }
}
