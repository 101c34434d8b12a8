//! [`Document`]: a JSON text or value checked as an `accounts` attribute value or a User body.

use serde_json::{Map, Value};

use super::collect::Collector;
use super::json::{self, Kind, Member, Node};
use super::{Assignment, Catalogue, PayloadFault, is_accounts_key, is_accounts_schema};
use crate::error::ScimType;

/// A JSON text parsed strictly (rule 1), keeping the position of every key and value, or a
/// `serde_json` value (without positions). What [`crate::check`] and the server check payloads
/// and User bodies with, so their verdicts agree.
#[derive(Debug, Clone, PartialEq)]
pub struct Document(Node);

impl Document {
    /// Parses `text` as strict JSON; a syntax error is an `invalidSyntax` fault with `index` None.
    pub fn parse(text: &str) -> Result<Self, PayloadFault> {
        json::parse(text).map(Document).map_err(|e| e.fault(None))
    }

    /// The document as a `serde_json` value (a key given twice keeps its last value).
    pub fn to_value(&self) -> Value {
        self.0.to_value()
    }

    /// Whether this is a SCIM User body rather than payloads: an object with `userName` or
    /// `schemas` (any case), keys no payload has.
    pub fn is_user_body(&self) -> bool {
        let Kind::Object(members) = &self.0.kind else { return false };
        members.iter().any(|m| m.key.eq_ignore_ascii_case("userName") || m.key.eq_ignore_ascii_case("schemas"))
    }

    /// Checks the document as an `accounts` attribute value (see
    /// [`parse_accounts`](super::parse_accounts)).
    pub fn accounts(&self, cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
        let mut c = Collector::new(cat);
        c.value(&self.0);
        c.finish()
    }

    /// Splits a User body into the body without `accounts` (for [`crate::resource::normalize`])
    /// and its checked `accounts`, found under any [`is_accounts_key`] or inside the core or
    /// scimbox schema object. Given in two places, they are refused.
    pub fn split_user(&self, cat: &Catalogue) -> (Value, Result<Vec<Assignment>, Vec<PayloadFault>>) {
        let Kind::Object(members) = &self.0.kind else { return (self.to_value(), Ok(Vec::new())) };
        let mut body = Map::new();
        let mut found = Vec::new();
        for m in members {
            if is_accounts_key(&m.key) {
                found.push((m.key.clone(), &m.value));
            } else if let (Kind::Object(inner), true) = (&m.value.kind, is_accounts_schema(&m.key)) {
                body.insert(m.key.clone(), split_schema_object(&m.key, inner, &mut found));
            } else {
                body.insert(m.key.clone(), m.value.to_value());
            }
        }
        found.retain(|(_, node)| !matches!(node.kind, Kind::Null));
        (Value::Object(body), accounts_once(&found, cat))
    }
}

impl From<&Value> for Document {
    /// A value without positions. Containers nested deeper than [`MAX_DEPTH`](super::MAX_DEPTH)
    /// become empty (the rules never look that deep).
    fn from(value: &Value) -> Self {
        Document(Node::from_value(value, 0))
    }
}

/// The schema object without its `accounts`, which go to `found`.
fn split_schema_object<'n>(key: &str, inner: &'n [Member], found: &mut Vec<(String, &'n Node)>) -> Value {
    let mut rest = Map::new();
    for m in inner {
        if m.key.eq_ignore_ascii_case("accounts") {
            found.push((format!("{key}:{}", m.key), &m.value));
        } else {
            rest.insert(m.key.clone(), m.value.to_value());
        }
    }
    Value::Object(rest)
}

/// Checks the one `accounts` value of a User body; two are refused.
fn accounts_once(found: &[(String, &Node)], cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
    let parsed: Vec<Result<Vec<Assignment>, Vec<PayloadFault>>> = found
        .iter()
        .map(|(_, node)| {
            let mut c = Collector::new(cat);
            c.value(node);
            c.finish()
        })
        .collect();
    if let Some(Err(faults)) = parsed.iter().find(|p| p.is_err()) {
        return Err(faults.clone());
    }
    match (found, parsed.first()) {
        ([], _) | (_, None) => Ok(Vec::new()),
        // The same assignments in two places (core and scimbox extension) are one statement.
        (_, Some(first)) if parsed.iter().all(|p| p == first) => first.clone(),
        ([(a, _), (b, _), ..], _) => Err(vec![PayloadFault::new(
            ScimType::InvalidValue,
            None,
            None,
            format!(
                "the accounts are given twice, differently, as \"{}\" and as \"{}\"; send them once",
                a.escape_debug(),
                b.escape_debug()
            ),
        )]),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::accounts::fixtures::{cat, details};
    use crate::accounts::is_accounts_key;
    use crate::schema::{SCIMBOX_USER_URN, USER_URN};

    /// User bodies: `accounts` found wherever an IdP puts it, taken out of the body.
    #[test]
    fn user_bodies() {
        let p = r#"{"accountId":"ACC123"}"#;
        let ext = SCIMBOX_USER_URN;
        let cases: Vec<(Value, Result<usize, &str>)> = vec![
            (json!({"userName": "a", "accounts": [p]}), Ok(1)),
            (json!({"userName": "a", "Accounts": p}), Ok(1)),
            (json!({"userName": "a", format!("{ext}:accounts"): [p]}), Ok(1)),
            (json!({"userName": "a", ext: {"accounts": format!("[{p}]"), "access": []}}), Ok(1)),
            (json!({"userName": "a", format!("{USER_URN}:accounts"): [p]}), Ok(1)),
            (json!({"userName": "a", "accounts": null, ext: {"accounts": [p]}}), Ok(1)),
            (json!({"userName": "a"}), Ok(0)),
            (json!({"userName": "a", "accounts": [p], ext: {"accounts": [p]}}), Ok(1)),
            (
                json!({"userName": "a", "accounts": [p], ext: {"accounts": [r#"{"accountId":"ACC200"}"#]}}),
                Err(
                    r#"accounts: the accounts are given twice, differently, as "accounts" and as "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User:accounts"; send them once"#,
                ),
            ),
        ];
        for (body, want) in cases {
            let (rest, accounts) = Document::from(&body).split_user(&cat());
            assert!(rest.as_object().unwrap().keys().all(|k| !is_accounts_key(k)), "{rest}");
            assert!(rest.get(ext).and_then(|e| e.get("accounts")).is_none(), "{rest}");
            match want {
                Ok(n) => assert_eq!(accounts.map(|a| a.len()), Ok(n), "{body}"),
                Err(d) => assert_eq!(details(&accounts.unwrap_err()), [d], "{body}"),
            }
        }
        assert!(Document::parse(r#"{"SCHEMAS":[]}"#).unwrap().is_user_body());
        assert!(!Document::parse(r#"{"accountId":"a"}"#).unwrap().is_user_body());
        assert!(!Document::parse("[]").unwrap().is_user_body());
    }
}
