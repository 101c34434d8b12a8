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
//! **Positions** are 1-based lines and columns within the JSON text the payload was written in:
//! the payload string itself; for Entra's one string holding a JSON array, that string; for a
//! payload object inside a document checked with [`Document::parse`], that document. Payload
//! objects given as `serde_json` values have no text, hence no position. Columns count characters
//! (Unicode scalar values: `é` and `😀` are one column each), not bytes or UTF-16 units; a tab is
//! one column; a line ends at `\n`.
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
    /// The canonical payload string, stored and returned:
    /// `{"accountId":"ACC123","roles":["Editor"],"teams":[],"status":"Active"}` (keys in this
    /// order, lists always arrays, status capitalised). Parsing it gives back the same assignment.
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
    c.text(text, None, false);
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
/// against the catalogue and rewrites them in place as canonical payload strings
/// ([`Assignment::to_payload`]); returns the assignments. What the server stores.
pub fn settle(doc: &mut Map<String, Value>, cat: &Catalogue) -> Result<Vec<Assignment>, ValidationError> {
    if !mentions_accounts(doc) {
        // Nothing to check or rewrite: the common case (most users carry no access) skips the
        // copy of the document that the split below works on.
        return Ok(Vec::new());
    }
    let (_, found) = Document::from(&Value::Object(doc.clone())).split_user(cat);
    let assignments = found.map_err(|f| to_error(&f))?;
    let canonical = || Value::Array(assignments.iter().map(|a| Value::String(a.to_payload())).collect());
    let put = |m: &mut Map<String, Value>| {
        if m.contains_key("accounts") {
            if assignments.is_empty() {
                m.shift_remove("accounts")
            } else {
                m.insert("accounts".into(), canonical())
            };
        }
    };
    put(doc);
    if let Some(Value::Object(ext)) = doc.get_mut(SCIMBOX_USER_URN) {
        put(ext);
        if ext.is_empty() {
            doc.shift_remove(SCIMBOX_USER_URN);
        }
    }
    Ok(assignments)
}

#[cfg(test)]
mod tests {
    use super::messages::{distance, listing, quote, suggest};
    use super::*;

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
    use serde_json::json;

    /// Registered ACC123, ACC200, ..., ACC700; roles Editor and Viewer.
    fn cat() -> Catalogue {
        let accounts = ["ACC123", "ACC200", "ACC300", "ACC400", "ACC500", "ACC600", "ACC700"];
        Catalogue {
            accounts: Some(accounts.iter().map(|a| a.to_string()).collect()),
            roles: Some(vec!["Editor".into(), "Viewer".into()]),
        }
    }

    fn open() -> Catalogue {
        Catalogue::default()
    }

    fn details(faults: &[PayloadFault]) -> Vec<String> {
        faults.iter().map(PayloadFault::detail).collect()
    }

    fn assignment(id: &str, roles: &[&str], teams: &[&str], status: Status) -> Assignment {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Assignment { account_id: id.into(), roles: strings(roles), teams: strings(teams), status }
    }

    /// Rule 1: every kind of syntax fault, at the exact line and column (in characters).
    #[test]
    fn syntax_faults_point_at_the_fault() {
        let deep = format!("{}{}", "[".repeat(65), "]".repeat(65));
        let cases: &[(&str, usize, usize, &str)] = &[
            (r#"{"accountId":"A",}"#, 1, 17, "trailing comma before }; remove the comma"),
            (r#"["A",]"#, 1, 5, "trailing comma before ]"),
            ("{\"accountId\":\"A\" // note\n}", 1, 18, "comments are not allowed in JSON"),
            (r#"{"accountId":"A", /* note */ "roles":"E"}"#, 1, 19, "comments are not allowed in JSON"),
            (r#"{'accountId':'A'}"#, 1, 2, "strings use double quotes"),
            (r#"{"accountId":'A'}"#, 1, 14, "strings use double quotes"),
            (r#"{"accountId":ACC123}"#, 1, 14, r#"unexpected word "ACC123"; text must be in double quotes"#),
            (r#"{accountId:"A"}"#, 1, 2, r#"unexpected word "accountId""#),
            (
                r#"{"accountId":"A","status":True}"#,
                1,
                27,
                r#"unexpected word "True"; JSON's true, false and null are lowercase: true"#,
            ),
            (r#"{"accountId":"A","x":nul}"#, 1, 22, r#"unexpected word "nul""#),
            (r#"{"accountId" "A"}"#, 1, 14, r#"expected ':' after the key "accountId", got '"'"#),
            (r#"{"accountId":"A" "roles":"E"}"#, 1, 18, "missing ',' before this"),
            (r#"[1 true]"#, 1, 4, "missing ',' before this"),
            (r#"{"a":1 ]"#, 1, 8, "expected ',' or '}' to continue the object, got ']'"),
            (r#"{,}"#, 1, 2, "expected a key in double quotes, got ','"),
            (r#"{"accountId":"A"#, 1, 14, "unterminated string"),
            ("{\"accountId\":\"A\nB\"}", 1, 16, "line break inside a string"),
            ("{\"accountId\":\"A\tB\"}", 1, 16, "tab inside a string; write it as \\t"),
            ("{\"accountId\":\"A\u{1}\"}", 1, 16, "control character U+0001 inside a string"),
            (r#"{"accountId":"A\qB"}"#, 1, 16, r"invalid escape \q; use"),
            (r#"{"accountId":"\u12G4"}"#, 1, 15, "\\u takes exactly 4 hex digits"),
            (r#"{"accountId":"\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"\uDC00\uD800"}"#, 1, 15, "half of a surrogate pair"),
            (r#"{"accountId":"A","n":01}"#, 1, 22, r#"invalid number "01"; write numbers like 12"#),
            ("+1", 1, 1, r#"invalid number "+1""#),
            (".5", 1, 1, r#"invalid number ".5""#),
            ("[1.]", 1, 2, r#"invalid number "1.""#),
            ("[-]", 1, 2, r#"invalid number "-""#),
            ("[1e999]", 1, 2, "the number 1e999 is out of range"),
            (r#"{"accountId":"A"}}"#, 1, 18, "expected the end of the text after the JSON value, got '}'"),
            (r#"{"accountId":"A"},{"accountId":"B"}"#, 1, 18, "put them in an array: [{...}, {...}]"),
            ("", 1, 1, "unexpected end of text; expected a value"),
            ("  \n ", 2, 2, "unexpected end of text; expected a value"),
            (r#"{"accountId":"A""#, 1, 17, "the object opened at line 1, column 1 is not closed: add '}'"),
            (r#"[{"accountId":"A"}"#, 1, 19, "the array opened at line 1, column 1 is not closed: add ']'"),
            (&deep, 1, 65, "nesting deeper than 64 levels of objects and arrays"),
            // Columns count characters: é, ü, 名, 😀 are one column each.
            (r#"{"é":"ü",}"#, 1, 9, "trailing comma before }"),
            (r#"{"名前":"😀", x}"#, 1, 12, r#"unexpected word "x""#),
            ("{\n  \"accountId\": \"A\",\n}", 2, 19, "trailing comma before }"),
            ("{\r\n\"accountId\":\"A\",\r\n}", 2, 16, "trailing comma before }"),
            ("{\t'a':1}", 1, 3, "strings use double quotes"),
            ("{\u{a0}}", 1, 2, "got U+00A0, a space JSON does not allow"),
            ("\u{feff}{}", 1, 1, "got U+FEFF"),
        ];
        for (text, line, column, message) in cases {
            let faults = parse_payload(text, &open()).unwrap_err();
            let f = &faults[0];
            assert_eq!(faults.len(), 1, "{text:?}: {faults:?}");
            assert_eq!((f.scim_type, f.index), ("invalidSyntax", None), "{text:?}");
            assert_eq!((f.line, f.column), (Some(*line), Some(*column)), "{text:?}: {}", f.message);
            assert!(f.message.contains(message), "{text:?}: {}", f.message);
            if !text.starts_with("[[[") {
                assert!(serde_json::from_str::<Value>(text).is_err(), "serde_json accepts {text:?}");
            }
        }
    }

    /// Rules 2-5 on one payload: each fault with its exact detail.
    #[test]
    fn payload_rules() {
        let none_registered = Catalogue { accounts: Some(BTreeSet::new()), roles: None };
        let cases: &[(&str, &Catalogue, &[&str])] = &[
            (
                r#"{"acountId":"ACC123"}"#,
                &open(),
                &[r#"accounts (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#],
            ),
            (
                r#"{"AccountID":"ACC123"}"#,
                &open(),
                &[r#"accounts (line 1, column 2): unknown key "AccountID"; did you mean "accountId"?"#],
            ),
            (
                r#"{"accountId":"A","role":"Editor","Teams":"T","state":"Active"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): unknown key "role"; did you mean "roles"?"#,
                    r#"accounts (line 1, column 34): unknown key "Teams"; did you mean "teams"?"#,
                    r#"accounts (line 1, column 46): unknown key "state"; did you mean "status"?"#,
                ],
            ),
            (
                r#"{"accountId":"A","colour":"red"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): unknown key "colour"; a payload has only "accountId", "roles", "teams" and "status""#,
                ],
            ),
            (
                r#"{"roles":"Editor"}"#,
                &open(),
                &[r#"accounts: "accountId" is required, e.g. {"accountId":"ACC123","roles":"Editor"}"#],
            ),
            (
                r#"{"accountId":123}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must be a string, got the number 123; write it in quotes: "123""#,
                ],
            ),
            (
                r#"{"accountId":""}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must not be empty; give the account's id, e.g. "ACC123""#,
                ],
            ),
            (
                r#"{"accountId":null}"#,
                &open(),
                &[r#"accounts (line 1, column 14): "accountId" must be a string such as "ACC123", got null"#],
            ),
            (
                r#"{"accountId": "ACC999"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 15): account "ACC999" is not registered (registered: ACC123, ACC200, ACC300, ACC400, ACC500 and 2 more)"#,
                ],
            ),
            (
                r#"{"accountId":"acc123"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 14): account "acc123" is not registered (registered: ACC123, ACC200, ACC300, ACC400, ACC500 and 2 more); did you mean "ACC123"?"#,
                ],
            ),
            (
                r#"{"accountId":"ACC1"}"#,
                &none_registered,
                &[r#"accounts (line 1, column 14): account "ACC1" is not registered (registered: none yet)"#],
            ),
            (
                r#"{"accountId":"ACC123","roles":["Editor","Admin"]}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 41): role "Admin" is not in the roles catalogue (catalogued: Editor, Viewer)"#,
                ],
            ),
            (
                r#"{"accountId":"ACC123","roles":"Edtor"}"#,
                &cat(),
                &[
                    r#"accounts (line 1, column 31): role "Edtor" is not in the roles catalogue (catalogued: Editor, Viewer); did you mean "Editor"?"#,
                ],
            ),
            (
                r#"{"accountId":"A","roles":5}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 26): "roles" must be a string or an array of strings, e.g. "Editor" or ["Editor","Viewer"], got the number 5"#,
                ],
            ),
            (
                r#"{"accountId":"A","roles":["Editor",5,""],"teams":{}}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 36): "roles[1]" must be a non-empty string, got the number 5"#,
                    r#"accounts (line 1, column 38): "roles[2]" must be a non-empty string, got """#,
                    r#"accounts (line 1, column 50): "teams" must be a string or an array of strings, e.g. "Marketing" or ["Marketing","Sales"], got an object"#,
                ],
            ),
            (
                r#"{"accountId":"ACC123","roles":"Editor","status":"enabled"}"#,
                &cat(),
                &[r#"accounts (line 1, column 49): "status" must be "Active" or "Inactive", got "enabled""#],
            ),
            (
                r#"{"accountId":"A","status":true}"#,
                &open(),
                &[r#"accounts (line 1, column 27): "status" must be "Active" or "Inactive", got the boolean true"#],
            ),
            (
                r#"{"accountId":"A","accountId":"B"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 18): key "accountId" is given twice (first at line 1, column 2); give it once"#,
                ],
            ),
            (
                r#"["ACC123"]"#,
                &open(),
                &[
                    r#"accounts (line 1, column 1): a payload must be a JSON object such as {"accountId":"ACC123","roles":"Editor"}, got an array"#,
                ],
            ),
            (
                r#""ACC123""#,
                &open(),
                &[
                    r#"accounts (line 1, column 1): a payload must be a JSON object such as {"accountId":"ACC123","roles":"Editor"}, got "ACC123""#,
                ],
            ),
            (
                // Every fault of the payload at once; a long key is cut after 40 characters.
                r#"{"accountId":7,"rolesXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX":1,"status":"on"}"#,
                &open(),
                &[
                    r#"accounts (line 1, column 14): "accountId" must be a string, got the number 7; write it in quotes: "7""#,
                    r#"accounts (line 1, column 16): unknown key "rolesXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX..."; a payload has only "accountId", "roles", "teams" and "status""#,
                    r#"accounts (line 1, column 79): "status" must be "Active" or "Inactive", got "on""#,
                ],
            ),
        ];
        for (text, cat, want) in cases {
            let faults = parse_payload(text, cat).unwrap_err();
            assert_eq!(details(&faults), *want, "{text}");
            assert!(faults.iter().all(|f| f.scim_type == "invalidValue"), "{text}");
        }
    }

    /// Rules 2-4 on valid payloads: what is kept.
    #[test]
    fn valid_payloads() {
        use Status::{Active, Inactive};
        let cases: &[(&str, &Catalogue, Assignment)] = &[
            (r#"{"accountId":"ACC123"}"#, &cat(), assignment("ACC123", &[], &[], Active)),
            (
                r#"{"accountId":"ACC123","roles":"Editor","teams":"Marketing","status":"Active"}"#,
                &cat(),
                assignment("ACC123", &["Editor"], &["Marketing"], Active),
            ),
            (
                r#"{"accountId":"ACC123","roles":["viewer","EDITOR","Viewer"],"status":"INACTIVE"}"#,
                &cat(),
                assignment("ACC123", &["Viewer", "Editor"], &[], Inactive),
            ),
            (
                r#"{"accountId":"X","roles":["Any","Any"],"teams":["a","b"],"status":"inactive"}"#,
                &open(),
                assignment("X", &["Any"], &["a", "b"], Inactive),
            ),
            (
                r#"{"accountId":"X","roles":null,"teams":"","status":null}"#,
                &Catalogue { accounts: None, roles: Some(Vec::new()) },
                assignment("X", &[], &[], Active),
            ),
            (
                " {\n\t\"accountId\" : \"Z\\u00e9\\ud83d\\ude00\\n\" , \"roles\" : [ ] } \r\n",
                &open(),
                assignment("Zé😀\n", &[], &[], Active),
            ),
        ];
        for (text, cat, want) in cases {
            assert_eq!(parse_payload(text, cat).as_ref(), Ok(want), "{text}");
        }
    }

    /// The four forms of the attribute, and what counts as no payload.
    #[test]
    fn forms() {
        let a = r#"{"accountId":"ACC123","roles":"Editor"}"#;
        let b = r#"{"accountId":"ACC200","teams":["T"]}"#;
        let both = vec![
            assignment("ACC123", &["Editor"], &[], Status::Active),
            assignment("ACC200", &[], &["T"], Status::Active),
        ];
        let one = vec![both[0].clone()];
        let cases: Vec<(Value, Vec<Assignment>)> = vec![
            (json!([a, b]), both.clone()),                                          // Okta: strings
            (json!(format!("[{a},\n{b}]")), both.clone()),                          // Entra: one string, an array
            (json!(a), one.clone()),                                                // one string, one object
            (json!([{"accountId": "ACC123", "roles": "Editor"}, b]), both.clone()), // objects and strings
            (json!({"accountId": "ACC123", "roles": ["Editor"]}), one.clone()),     // one object
            (json!(format!("[{:?}]", a)), one.clone()),                             // Entra, strings inside
            (json!([null, "", a]), one),
            (json!(null), vec![]),
            (json!(""), vec![]),
            (json!([]), vec![]),
            (json!("[]"), vec![]),
        ];
        for (value, want) in cases {
            assert_eq!(parse_accounts(&value, &cat()), Ok(want), "{value}");
        }
    }

    /// Every fault across all payloads, each with its index and its position in its own text.
    #[test]
    fn all_faults_of_all_payloads() {
        let value = json!([
            r#"{"accountId":"ACC123"}"#,
            r#"{"acountId":"ACC200"}"#,
            r#"{"accountId": "ACC999"}"#,
            r#"{"accountId":"ACC300",}"#,
            {"accountId": "ACC400", "status": "on"},
            r#"{"accountId":"ACC123","roles":"Admin"}"#,
            5,
            "[{\"accountId\":\"ACC500\"}]",
        ]);
        let faults = parse_accounts(&value, &cat()).unwrap_err();
        type Row<'a> = (Option<usize>, Option<usize>, Option<usize>, &'a str);
        let got: Vec<Row<'_>> = faults.iter().map(|f| (f.index, f.line, f.column, f.scim_type)).collect();
        let want = [
            (Some(1), Some(1), Some(2), "invalidValue"),
            (Some(2), Some(1), Some(15), "invalidValue"),
            (Some(3), Some(1), Some(22), "invalidSyntax"),
            (Some(4), None, None, "invalidValue"),
            (Some(5), Some(1), Some(14), "invalidValue"),
            (Some(5), Some(1), Some(31), "invalidValue"),
            (Some(6), None, None, "invalidValue"),
            (Some(7), Some(1), Some(1), "invalidValue"),
        ];
        assert_eq!(got, want, "{:#?}", details(&faults));
        let d = details(&faults);
        assert_eq!(
            d[4],
            r#"accounts[5] (line 1, column 14): account "ACC123" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#
        );
        assert_eq!(d[3], r#"accounts[4]: "status" must be "Active" or "Inactive", got "on""#);
        assert!(d[6].starts_with("accounts[6]: a payload must be a JSON object such as"), "{}", d[6]);
        assert!(
            d[7].ends_with("got an array; send one payload per value, or the whole list as one string"),
            "{}",
            d[7]
        );
        let e = to_error(&faults);
        assert_eq!(e.scim_type, ScimType::InvalidValue);
        assert!(e.detail.starts_with("accounts[1] (line 1, column 2): unknown key \"acountId\""), "{}", e.detail);
        assert_eq!(e.detail.matches("; accounts[").count(), 7);
    }

    /// Entra's form: indexes in the inner array, positions within the one string.
    #[test]
    fn entra_positions_are_within_the_string() {
        let text = "[{\"accountId\":\"ACC123\"},\n {\"acountId\":\"ACC200\"},\n {\"accountId\":\"ACC123\"}]";
        let faults = parse_accounts(&json!(text), &cat()).unwrap_err();
        assert_eq!(
            details(&faults),
            [
                r#"accounts[1] (line 2, column 3): unknown key "acountId"; did you mean "accountId"?"#,
                r#"accounts[2] (line 3, column 15): account "ACC123" is already given by accounts[0]; give each account once, with all its roles and teams in one payload"#,
            ]
        );
        let faults =
            parse_accounts(&json!("[{\"accountId\":\"ACC123\"},\n {\"accountId\":\"ACC200\",}]"), &cat()).unwrap_err();
        assert_eq!(details(&faults), ["accounts (line 2, column 23): trailing comma before }; remove the comma"]);
        let faults = parse_accounts(&json!(5), &cat()).unwrap_err();
        assert!(faults[0].detail().starts_with("accounts: expected payload strings such as"), "{faults:?}");
    }

    /// The stored form is canonical and parses back to the same assignment.
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

    /// Huge and deeply nested inputs: no stack overflow, the depth is reported.
    #[test]
    fn huge_and_deep_inputs() {
        for text in ["[".repeat(100_000), "{\"a\":".repeat(100_000), format!("{}1{}", "[".repeat(64), "]".repeat(64))] {
            let r = Document::parse(&text);
            if text.starts_with("[[") && text.contains('1') {
                assert!(r.is_ok(), "64 levels are allowed");
            } else {
                assert_eq!(r.unwrap_err().message, "nesting deeper than 64 levels of objects and arrays");
            }
        }
        let deep = (0..200).fold(json!("x"), |v, _| json!([v]));
        assert!(parse_accounts(&deep, &open()).is_err());
        let long = format!(r#"{{"accountId":"{}"}}"#, "é".repeat(1_000_000));
        assert!(parse_payload(&long, &cat()).unwrap_err()[0].message.len() < 200);
        let many: Vec<String> = (0..10_000).map(|i| format!(r#"{{"accountId":"A{i}","x":1}}"#)).collect();
        assert_eq!(parse_accounts(&json!(many), &open()).unwrap_err().len(), 10_000);
    }

    /// A few thousand mutated payloads and bodies: nothing panics, and the strict parser agrees
    /// with serde_json on what is JSON and what it means.
    #[test]
    fn mutated_inputs_never_panic() {
        let seeds = [
            r#"{"accountId":"ACC123","roles":["Editor","Viewer"],"teams":"Marketing","status":"Active"}"#,
            r#"[{"accountId":"ACC123"},"{\"accountId\":\"ACC200\",\"roles\":\"Editor\"}"]"#,
            r#"{"userName":"bjensen","active":"True","accounts":["{\"accountId\":\"ACC123\"}"],"emails":[{"value":"a@x","primary":true}]}"#,
            "{\"accountId\":\"Zé😀\\u00e9\\ud83d\\ude00\",\n\t\"status\": -1.5e3, \"x\": [true, false, null, 0]}",
        ];
        let alphabet: Vec<char> = "{}[]\":,\\/'*-+.0123456789eEtrufalsnA \n\t\ru\u{0}é😀".chars().collect();
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..4000 {
            let mut chars: Vec<char> = seeds[round % seeds.len()].chars().collect();
            for _ in 0..1 + next(4) {
                let at = next(chars.len() + 1);
                match next(3) {
                    0 => chars.insert(at, alphabet[next(alphabet.len())]),
                    1 if at < chars.len() => drop(chars.remove(at)),
                    _ if at < chars.len() => chars[at] = alphabet[next(alphabet.len())],
                    _ => {}
                }
            }
            let text: String = chars.into_iter().collect();
            let ours = json::parse(&text);
            let theirs = serde_json::from_str::<Value>(&text);
            assert_eq!(ours.is_ok(), theirs.is_ok(), "{text:?}: {ours:?} / {theirs:?}");
            if let (Ok(node), Ok(value)) = (&ours, &theirs) {
                assert_eq!(&node.to_value(), value, "{text:?}");
            }
            let _ = parse_payload(&text, &cat());
            let _ = parse_accounts(&json!(text), &cat());
            let _ = parse_accounts(&json!([text]), &open());
            let _ = crate::check::check_payloads(&text, &cat());
            let _ = crate::check::check_user(&text);
        }
    }
}
