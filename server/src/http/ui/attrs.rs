//! A SCIM document as a list of attribute names and values for people (`name.givenName`,
//! `emails[0].value`), and the difference of two such lists, for the user page and its history.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// One attribute as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// `userName`, `name.givenName`, `emails[0].value`, `enterprise.department`.
    pub name: String,
    /// The value as text (strings without quotes).
    pub value: String,
}

/// One attribute that a change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    /// As in [`Attr::name`].
    pub name: String,
    /// The value before, if it had one.
    pub before: Option<String>,
    /// The value after, if it has one.
    pub after: Option<String>,
    /// When the values are member ids with known names: each value's name and link, in the
    /// value's order (see [`Diff::name_members`]); empty otherwise.
    pub before_refs: Vec<Ref>,
    /// The same for `after`.
    pub after_refs: Vec<Ref>,
}

/// A member named in a change: its name and the status page's link, or its bare id when it
/// is no longer there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    /// The name, else the id.
    pub text: String,
    /// The link, when the member still exists.
    pub href: Option<String>,
}

impl Diff {
    /// Whether the attribute holds member ids: `members.added`, `members.removed` (a
    /// membership change) or `members[N].value` (a created or replaced group).
    fn holds_members(&self) -> bool {
        self.name == "members.added"
            || self.name == "members.removed"
            || self
                .name
                .strip_prefix("members[")
                .and_then(|r| r.split_once("].value"))
                .is_some_and(|(n, rest)| rest.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Names the member ids of a members attribute with `lookup` (`None`: unknown, shown as
    /// the id); other attributes are left as they are.
    pub fn name_members(mut self, lookup: impl Fn(&str) -> Option<(String, String)>) -> Self {
        if !self.holds_members() {
            return self;
        }
        let refs = |v: &Option<String>| -> Vec<Ref> {
            v.as_deref().map_or_else(Vec::new, |v| {
                v.split(", ")
                    .map(|id| match lookup(id) {
                        Some((text, href)) => Ref { text, href: Some(href) },
                        None => Ref { text: id.to_owned(), href: None },
                    })
                    .collect()
            })
        };
        (self.before_refs, self.after_refs) = (refs(&self.before), refs(&self.after));
        self
    }
}

/// A short prefix for an extension URN: `urn:...:extension:enterprise:2.0:User` is
/// `enterprise`; any other URN keeps its last part.
fn short_key(key: &str) -> &str {
    if !key.starts_with("urn:") {
        return key;
    }
    match key.split_once(":extension:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => key.rsplit(':').next().unwrap_or(key),
    }
}

/// The document's attributes in document order, leaving out the keys in `skip`.
pub fn flatten(doc: &Map<String, Value>, skip: &[&str]) -> Vec<Attr> {
    let mut out = Vec::new();
    for (k, v) in doc.iter().filter(|(k, _)| !skip.contains(&k.as_str())) {
        walk(short_key(k), v, &mut out);
    }
    out
}

fn walk(name: &str, v: &Value, out: &mut Vec<Attr>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                walk(&format!("{name}.{k}"), v, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            for (i, item) in items.iter().enumerate() {
                walk(&format!("{name}[{i}]"), item, out);
            }
        }
        Value::Array(items) => {
            out.push(Attr { name: name.into(), value: items.iter().map(text).collect::<Vec<_>>().join(", ") })
        }
        other => out.push(Attr { name: name.into(), value: text(other) }),
    }
}

/// A scalar as text: strings bare, everything else as JSON.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The attributes that differ between two documents (JSON texts; a missing or unreadable one
/// counts as empty), in name order.
pub fn diff(before: Option<&str>, after: Option<&str>) -> Vec<Diff> {
    let parse = |t: Option<&str>| -> BTreeMap<String, String> {
        let doc = t.and_then(|t| serde_json::from_str::<Map<String, Value>>(t).ok()).unwrap_or_default();
        flatten(&doc, &["meta", "schemas"]).into_iter().map(|a| (a.name, a.value)).collect()
    };
    let (mut old, new) = (parse(before), parse(after));
    let mut out = Vec::new();
    for (name, value) in new {
        match old.remove(&name) {
            Some(prev) if prev == value => {}
            prev => out.push(Diff { name, before: prev, after: Some(value), before_refs: vec![], after_refs: vec![] }),
        }
    }
    out.extend(old.into_iter().map(|(name, prev)| Diff {
        name,
        before: Some(prev),
        after: None,
        before_refs: vec![],
        after_refs: vec![],
    }));
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn flattens_for_people() {
        let doc = json!({
            "userName": "ann",
            "name": {"givenName": "Ann"},
            "emails": [{"value": "a@x", "primary": true}],
            "roles": ["a", "b"],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            "groups": [],
        });
        let attrs = flatten(doc.as_object().unwrap(), &["groups"]);
        let pairs: Vec<(&str, &str)> = attrs.iter().map(|a| (a.name.as_str(), a.value.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("userName", "ann"),
                ("name.givenName", "Ann"),
                ("emails[0].value", "a@x"),
                ("emails[0].primary", "true"),
                ("roles", "a, b"),
                ("enterprise.department", "R&D"),
            ]
        );
    }

    #[test]
    fn diffs_name_what_changed() {
        let d = diff(
            Some(r#"{"userName":"a","active":true,"title":"x"}"#),
            Some(r#"{"userName":"a","active":false,"nickName":"n"}"#),
        );
        let got: Vec<_> = d.iter().map(|d| (d.name.as_str(), d.before.as_deref(), d.after.as_deref())).collect();
        assert_eq!(
            got,
            [("active", Some("true"), Some("false")), ("nickName", None, Some("n")), ("title", Some("x"), None)]
        );
        assert_eq!(diff(None, Some(r#"{"userName":"a"}"#)).len(), 1);
    }

    #[test]
    fn member_ids_get_names_and_links() {
        let lookup = |id: &str| (id == "u1").then(|| ("ann".to_owned(), "/users/u1".to_owned()));
        let d = diff(None, Some(r#"{"members":{"added":["u1","gone"]}}"#)).remove(0).name_members(lookup);
        let shown: Vec<(&str, Option<&str>)> =
            d.after_refs.iter().map(|r| (r.text.as_str(), r.href.as_deref())).collect();
        assert_eq!(shown, [("ann", Some("/users/u1")), ("gone", None)]);
        let created = diff(None, Some(r#"{"members":[{"value":"u1"}]}"#)).remove(0).name_members(lookup);
        assert_eq!(created.after_refs.len(), 1);
        let other = diff(None, Some(r#"{"title":"u1"}"#)).remove(0).name_members(lookup);
        assert!(other.after_refs.is_empty(), "only member ids are looked up");
    }
}
