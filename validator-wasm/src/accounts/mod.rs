//! The `accounts` payloads (issue 4 §2): which accounts a user may enter, with which roles and
//! teams. The contract is `ACCOUNTS.md` (issue 4); the rules, each refused with a message an IdP
//! admin who only sees a red mark can act on:
//!
//! 1. **Strict JSON** (RFC 8259): a trailing comma, a comment, single quotes, a bare word, a bad
//!    escape or number, or nesting deeper than [`MAX_DEPTH`] levels is `invalidSyntax`.
//! 2. **`accountId`** is required and a non-empty string; when the [`Catalogue`] lists accounts
//!    (`Some`, even empty), it must be one of them (exact match).
//! 3. **`roles`** and **`teams`** are a string or an array of non-empty strings; absent, `null`
//!    and `""` mean none. When the roles catalogue is non-empty every role must be in it, compared
//!    case-insensitively ([`crate::text::fold`]); the catalogue's spelling is kept.
//! 4. **`status`** is `Active` or `Inactive` in any case; absent or `null` means `Active`.
//! 5. **Any other key** is refused, with a suggestion when a known key is within edit distance 2
//!    or equal ignoring case (`acountId`, `AccountID` -> `accountId`); a key given twice is refused.
//! 6. **One account once**: an `accountId` given twice in one user's list is refused, naming both
//!    indexes.
//!
//! Rules 2-6 are `invalidValue`. Every fault of every payload is reported, not only the first.
//!
//! **Positions** are 1-based lines and columns within the outermost JSON text the payload was
//! written in: for a document checked with [`Document::parse`] (what `/check` shows), that
//! document, payload strings included: a fault inside a payload string of a User body is placed
//! in the body, each escape taking its columns there (`\"` two, `\u00e9` six) and a `\n` in the
//! string starting no line of the body (issue 13 item 5). For values without text (the SCIM API
//! parses bodies with serde_json), the payload string itself, or Entra's one string holding a
//! JSON array (payload strings inside it included); payload objects given as `serde_json`
//! values have no position. Columns count characters (Unicode scalar values: `é` and `😀` are
//! one column each), not bytes or UTF-16 units; a tab is one column; a line ends at `\n`.
//!
//! ```
//! use scimbox_validator::accounts::{parse_payload, Catalogue, Status};
//! let a = parse_payload(r#"{"accountId":"ACC123","roles":"Editor"}"#, &Catalogue::default()).unwrap();
//! assert_eq!((a.account_id.as_str(), a.status), ("ACC123", Status::Active));
//! assert_eq!(a.to_payload(), r#"{"accountId":"ACC123","roles":["Editor"],"teams":[],"status":"Active"}"#);
//!
//! let faults = parse_payload(r#"{"acountId":"ACC123"}"#, &Catalogue::default()).unwrap_err();
//! assert_eq!(faults[0].detail(),
//!     r#"accounts (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#);
//! ```

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use self::collect::Collector;
pub use self::document::Document;
use self::json::Pos;
use self::messages::not_payload;
use crate::error::{ScimType, ValidationError};
use crate::schema::{SCIMBOX_USER_URN, USER_URN};

mod collect;
mod document;
mod json;
mod messages;

#[cfg(test)]
mod fixtures;

/// The deepest nesting of objects and arrays a JSON text may have (rule 1).
pub const MAX_DEPTH: usize = 64;

/// The example payload quoted in messages.
const EXAMPLE: &str = r#"{"accountId":"ACC123","roles":"Editor"}"#;
/// The keys a payload may have (rule 5).
const KEYS: [&str; 4] = ["accountId", "roles", "teams", "status"];
/// How many registered accounts or catalogued roles a message lists.
const LISTED: usize = 5;
/// How many characters of a value a message quotes.
const SHOWN: usize = 40;

/// What the server knows; `None` fields mean "don't check" (offline browser check).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Catalogue {
    /// The registered account ids (rule 2); `Some` of an empty set refuses every account.
    pub accounts: Option<BTreeSet<String>>,
    /// The roles catalogue (rule 3); `None` or empty accepts any role.
    pub roles: Option<Vec<String>>,
}

/// Whether a grant is in force (rule 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Status {
    /// In force (the default).
    Active,
    /// Kept but not in force.
    Inactive,
}

impl Status {
    /// `Active` or `Inactive`, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// One valid payload: an account, the roles and teams in it, and whether the grant is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assignment {
    /// The account's id.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// Role names, duplicates removed, in the catalogue's spelling when there is one.
    pub roles: Vec<String>,
    /// Team names, duplicates removed.
    pub teams: Vec<String>,
    /// Whether the grant is in force.
    pub status: Status,
}

impl Assignment {
    /// The canonical payload string:
    /// `{"accountId":"ACC123","roles":["Editor"],"teams":[],"status":"Active"}` (keys in this
    /// order, lists always arrays, status capitalised). Parsing it gives back the same assignment.
    /// Not what is stored: the server keeps the payloads as the IdP sent them ([`settle`]).
    pub fn to_payload(&self) -> String {
        serde_json::json!({
            "accountId": self.account_id,
            "roles": self.roles,
            "teams": self.teams,
            "status": self.status.as_str(),
        })
        .to_string()
    }
}

/// One fault, positioned. `index` is the payload's index in the list (None for a lone payload);
/// line/column are 1-based within that payload's own text (None when not about a position);
/// see the module documentation for which text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PayloadFault {
    /// The payload's index in the list, `None` for a lone payload or the list as a whole.
    pub index: Option<usize>,
    /// 1-based line of the offending key or value.
    pub line: Option<usize>,
    /// 1-based column (in characters) of the offending key or value.
    pub column: Option<usize>,
    /// `invalidSyntax` for JSON syntax, `invalidValue` otherwise.
    #[serde(rename = "scimType")]
    pub scim_type: &'static str,
    /// What is wrong and how to fix it, without the index and position.
    pub message: String,
}

impl PayloadFault {
    fn new(kind: ScimType, index: Option<usize>, at: Option<Pos>, message: String) -> Self {
        let (line, column) = (at.map(|p| p.line), at.map(|p| p.column));
        Self { index, line, column, scim_type: kind.as_str(), message }
    }

    /// `accounts[1] (line 1, column 14): unknown key "acountId"; did you mean "accountId"?`
    /// (`accounts` alone for a lone payload; no parenthesis without a position).
    pub fn detail(&self) -> String {
        let mut out = match self.index {
            Some(i) => format!("accounts[{i}]"),
            None => "accounts".to_owned(),
        };
        if let (Some(line), Some(column)) = (self.line, self.column) {
            let _ = write!(out, " (line {line}, column {column})");
        }
        format!("{out}: {}", self.message)
    }
}

/// One SCIM error for a request whose payloads have `faults` (issue 4 §4): the first fault's
/// `scimType`, and every fault's detail joined by `"; "`.
pub fn to_error(faults: &[PayloadFault]) -> ValidationError {
    let kind = match faults.first() {
        Some(f) if f.scim_type == ScimType::InvalidSyntax.as_str() => ScimType::InvalidSyntax,
        _ => ScimType::InvalidValue,
    };
    let details: Vec<String> = faults.iter().map(PayloadFault::detail).collect();
    ValidationError::new(kind, details.join("; "))
}

/// Parses one payload text (rules 1-5).
pub fn parse_payload(text: &str, cat: &Catalogue) -> Result<Assignment, Vec<PayloadFault>> {
    let mut c = Collector::new(cat);
    c.text(text, None, None, false);
    let mut out = c.finish()?;
    out.pop().ok_or_else(|| vec![PayloadFault::new(ScimType::InvalidValue, None, None, not_payload("nothing"))])
}

/// Parses the `accounts` attribute value as an IdP sends it (rules 1-6):
///
/// - a JSON array of payload strings (Okta, the RFC way): `index` is the position in the array;
/// - ONE string holding a JSON array of payload objects (Entra ID cannot send multi-valued custom
///   attributes): `index` is the position in that inner array, positions are within the string;
/// - one string holding one payload object: `index` is `None`;
/// - payload objects given as JSON objects instead of strings, alone or in the array (no
///   positions: a `Value` has no text).
///
/// `null`, `""`, `[]` and `null` or `""` items mean "no payload" (RFC 7643 §2.5 unassigned).
/// Returns every fault (not only the first).
pub fn parse_accounts(value: &Value, cat: &Catalogue) -> Result<Vec<Assignment>, Vec<PayloadFault>> {
    Document::from(value).accounts(cat)
}

/// Whether a User body key holds the `accounts` attribute: `accounts` (any case), or qualified
/// by the core User URN or [`SCIMBOX_USER_URN`].
pub fn is_accounts_key(key: &str) -> bool {
    match key.rsplit_once(':') {
        Some((urn, name)) => name.eq_ignore_ascii_case("accounts") && is_accounts_schema(urn),
        None => key.eq_ignore_ascii_case("accounts"),
    }
}

/// Whether a User body holds an `accounts` attribute anywhere [`Document::split_user`] looks:
/// at the top level (bare or URN-qualified) or inside the core or scimbox schema object. A body
/// without one has no payloads to check, whatever the catalogue.
pub fn mentions_accounts(doc: &Map<String, Value>) -> bool {
    doc.iter().any(|(key, value)| {
        is_accounts_key(key)
            || (is_accounts_schema(key)
                && value.as_object().is_some_and(|inner| inner.keys().any(|k| k.eq_ignore_ascii_case("accounts"))))
    })
}

/// Whether a User body key names a schema object that may hold `accounts`.
fn is_accounts_schema(key: &str) -> bool {
    key.eq_ignore_ascii_case(USER_URN) || key.eq_ignore_ascii_case(SCIMBOX_USER_URN)
}

/// Checks the `accounts` of a normalised User document (core attribute and scimbox extension)
/// against the catalogue and returns the assignments; the values stay as the IdP sent them
/// (issue 13 §1). What the server stores:
///
/// - each value exactly as sent: a payload string byte for byte (Okta's strings, Entra's ONE
///   string holding a JSON array, which stays that one value), a payload object as the object;
/// - in the place it was sent: the core `accounts`, or the scimbox extension's (whether the IdP
///   wrote the URN-qualified key `urn:...:scimbox:2.0:User:accounts` or the extension object,
///   the attribute lives in the extension object, its one form in a SCIM resource, RFC 7643
///   §3.3);
/// - in the core attribute, as a list, the attribute being multi-valued (RFC 7643 §2.4): a lone
///   value is the list's one element; in the extension, whose attribute is singular (Entra's ONE
///   string), a lone value stays that value, not wrapped; `null` and `""` elements are
///   unassigned values (RFC 7643 §2.5) and dropped, and an attribute that grants nothing is
///   removed.
///
/// Role names in the catalogue's spelling, deduplicated lists and the cascade over the account
/// tree belong to the effective access ([`held`], [`crate::access`]), never to the stored text,
/// so what the IdP reads back is what it sent and its next comparison finds nothing to update.
pub fn settle(doc: &mut Map<String, Value>, cat: &Catalogue) -> Result<Vec<Assignment>, ValidationError> {
    if !mentions_accounts(doc) {
        // Nothing to check or rewrite: the common case (most users carry no access) skips the
        // copy of the document that the split below works on.
        return Ok(Vec::new());
    }
    let (_, found) = Document::from(&Value::Object(doc.clone())).split_user(cat);
    let assignments = found.map_err(|f| to_error(&f))?;
    let grants = !assignments.is_empty();
    keep_as_sent(doc, grants, true);
    if let Some(Value::Object(ext)) = doc.get_mut(SCIMBOX_USER_URN) {
        keep_as_sent(ext, grants, false);
        if ext.is_empty() {
            doc.shift_remove(SCIMBOX_USER_URN);
        }
    }
    Ok(assignments)
}

/// The `accounts` of `m` as the values sent (see [`settle`]); removed when the user's payloads
/// grant nothing (`[]`, `""`, Entra's `"[]"`), as an unassigned attribute. In the core attribute
/// (`multi`) a lone value becomes the list's one element; in the extension, whose attribute is
/// singular for Entra's ONE string, a lone value stays exactly that value, so Entra reads back
/// the string it sent.
fn keep_as_sent(m: &mut Map<String, Value>, grants: bool, multi: bool) {
    let Some(value) = m.get_mut("accounts") else { return };
    let kept = match std::mem::take(value) {
        Value::Array(items) => {
            let items: Vec<Value> = items.into_iter().filter(|v| !v.is_null() && v.as_str() != Some("")).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        one if multi => Some(Value::Array(vec![one])),
        one => Some(one),
    };
    match kept {
        Some(kept) if grants => *value = kept,
        _ => {
            m.shift_remove("accounts");
        }
    }
}

/// The assignments a stored User document's `accounts` make (the core attribute, else the
/// scimbox extension's: stored documents were checked, so the two agree), with role names in
/// the spelling of the roles catalogue `roles` where it has them (compared case-insensitively,
/// as the rules check them) and duplicates removed. What effective access is computed from: the
/// stored text is the IdP's, the access is the catalogue's. Roles no longer catalogued and
/// accounts no longer registered are kept, as granted.
///
/// ```
/// use scimbox_validator::accounts::held;
/// let doc = serde_json::json!({"accounts": [r#"{"accountId":"A","roles":["editor","EDITOR"]}"#]});
/// let grants = held(doc.as_object().unwrap(), &["Editor".to_string()]);
/// assert_eq!(grants[0].roles, ["Editor"]);
/// ```
pub fn held(doc: &Map<String, Value>, roles: &[String]) -> Vec<Assignment> {
    let ext = doc.get(SCIMBOX_USER_URN).and_then(|e| e.get("accounts"));
    let Some(value) = doc.get("accounts").or(ext) else { return Vec::new() };
    let mut grants = Document::from(value).accounts(&Catalogue::default()).unwrap_or_default();
    let spelling: std::collections::HashMap<String, &String> =
        roles.iter().map(|r| (crate::text::fold(r).into_owned(), r)).collect();
    for g in &mut grants {
        let mut seen = BTreeSet::new();
        g.roles = std::mem::take(&mut g.roles)
            .into_iter()
            .map(|r| spelling.get(crate::text::fold(&r).as_ref()).map_or(r, |c| (*c).clone()))
            .filter(|r| seen.insert(r.clone()))
            .collect();
    }
    grants
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::accounts::fixtures::{assignment, cat, open};

    #[test]
    fn accounts_are_found_wherever_the_split_looks() {
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        let ext = SCIMBOX_USER_URN;
        assert!(!mentions_accounts(&doc(json!({"userName": "a", "emails": [{"value": "a@x"}]}))));
        assert!(!mentions_accounts(&doc(json!({ ext: {"access": []} }))));
        assert!(mentions_accounts(&doc(json!({"Accounts": []}))));
        assert!(mentions_accounts(&doc(json!({ format!("{ext}:accounts"): [] }))));
        assert!(mentions_accounts(&doc(json!({ ext: {"ACCOUNTS": []} }))));
        assert!(mentions_accounts(&doc(json!({ USER_URN: {"accounts": []} }))));
        // Without accounts, settling changes nothing and finds nothing, catalogue or not.
        let mut plain = doc(json!({"userName": "a", ext: {"note": 1}}));
        let before = plain.clone();
        assert_eq!(settle(&mut plain, &Catalogue::default()).map(|a| a.len()), Ok(0));
        assert_eq!(plain, before);
    }

    /// Settling keeps every value as sent, where it was sent (a list in the core attribute, the
    /// lone value in the extension's); only what grants nothing goes (issue 13 §1).
    #[test]
    fn settled_payloads_keep_the_text_sent() {
        let doc = |v: Value| v.as_object().cloned().unwrap_or_default();
        let okta = r#"{"accountId":"ACC123", "roles":"editor","teams":"Marketing","status":"active"}"#;
        let entra = r#"[{"accountId":"ACC123"},{"accountId":"ACC200","roles":["Viewer","viewer"]}]"#;
        let object = json!({"teams": "T", "accountId": "ACC200"});
        let cases = [
            (json!({"accounts": [okta, null, ""]}), json!({"accounts": [okta]})),
            (json!({"accounts": okta}), json!({"accounts": [okta]})),
            // The extension's attribute is singular: Entra's one string stays that string.
            (json!({ SCIMBOX_USER_URN: {"accounts": entra} }), json!({ SCIMBOX_USER_URN: {"accounts": entra} })),
            (json!({ SCIMBOX_USER_URN: {"accounts": [entra]} }), json!({ SCIMBOX_USER_URN: {"accounts": [entra]} })),
            (json!({"accounts": [object.clone()]}), json!({"accounts": [object]})),
            (json!({"accounts": "[]", SCIMBOX_USER_URN: {"accounts": []}}), json!({})),
        ];
        for (sent, stored) in cases {
            let mut d = doc(sent.clone());
            settle(&mut d, &cat()).unwrap_or_else(|e| panic!("{sent}: {e:?}"));
            assert_eq!(Value::Object(d), stored, "{sent}");
        }
        // Refusals are unchanged: the catalogue still decides what is valid.
        let mut bad = doc(json!({"accounts": [r#"{"accountId":"NOPE"}"#]}));
        assert!(settle(&mut bad, &cat()).is_err());
    }

    /// The effective access reads the stored text with the catalogue's role spelling.
    #[test]
    fn held_grants_use_the_catalogue_spelling() {
        let doc =
            json!({ SCIMBOX_USER_URN: {"accounts": [r#"[{"accountId":"A","roles":["viewer","VIEWER","Gone"]}]"#]} });
        let grants = held(doc.as_object().unwrap_or(&Map::new()), &["Viewer".to_owned()]);
        assert_eq!(
            grants.iter().map(|g| (g.account_id.as_str(), g.roles.clone())).collect::<Vec<_>>(),
            [("A", vec!["Viewer".to_owned(), "Gone".to_owned()])]
        );
        assert!(held(&Map::new(), &[]).is_empty());
    }

    /// The canonical form parses back to the same assignment.
    #[test]
    fn canonical_payload_round_trips() {
        let text = r#"{"status":"inactive","teams":"Marketing","roles":["editor","Editor"],"accountId":"ACC123"}"#;
        let a = parse_payload(text, &cat()).unwrap();
        let stored = a.to_payload();
        assert_eq!(stored, r#"{"accountId":"ACC123","roles":["Editor"],"teams":["Marketing"],"status":"Inactive"}"#);
        assert_eq!(parse_payload(&stored, &cat()), Ok(a.clone()));
        assert_eq!(serde_json::to_value(&a).unwrap(), serde_json::from_str::<Value>(&stored).unwrap());
        let tricky = assignment("A\"\\é", &["r\n"], &[], Status::Active);
        assert_eq!(parse_payload(&tricky.to_payload(), &open()), Ok(tricky));
    }
}
