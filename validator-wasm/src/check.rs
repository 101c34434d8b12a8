//! Whole-document checks that return a verdict instead of stopping at the first error: what the
//! browser checker (through the `wasm` module on wasm32) and, later, `scimbox validate` show.
//! The server applies the same functions ([`crate::resource::normalize`],
//! [`crate::resource::check_required`] and [`crate::accounts`]), so the verdicts agree.
//!
//! JSON is parsed strictly by [`Document::parse`]: syntax errors carry a 1-based line and column
//! counted in characters (see [`crate::accounts`]).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ScimType;
use crate::accounts::{Catalogue, Document, PayloadFault, settle};
use crate::filter::Filter;
use crate::patch::{apply_one, parse_patch};
use crate::resource::{check_required, normalize};
use crate::schema::USER_RESOURCE;

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether the input passed.
    pub valid: bool,
    /// What is wrong, if anything.
    pub errors: Vec<Fault>,
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The SCIM `scimType` the server would answer with.
    #[serde(rename = "scimType")]
    pub scim_type: &'static str,
    /// What is wrong and where.
    pub detail: String,
    /// The index of the `accounts` payload at fault, when it is one of a list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// 1-based line of a JSON syntax error, or of the offending key or value in a payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters) of the same.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<crate::ValidationError> for Fault {
    fn from(e: crate::ValidationError) -> Self {
        Fault { scim_type: e.scim_type.as_str(), detail: e.detail, index: None, line: None, column: None }
    }
}

impl From<PayloadFault> for Fault {
    fn from(f: PayloadFault) -> Self {
        Fault { scim_type: f.scim_type, detail: f.detail(), index: f.index, line: f.line, column: f.column }
    }
}

impl Verdict {
    fn of(result: Result<(), Fault>) -> Self {
        Self::of_all(result.err().into_iter().collect())
    }

    fn of_all(errors: Vec<Fault>) -> Self {
        Verdict { valid: errors.is_empty(), errors }
    }
}

/// A syntax error of the checked text as a whole: `line 3, column 1: ...`.
fn syntax_fault(f: PayloadFault) -> Fault {
    let (line, column) = (f.line.unwrap_or(1), f.column.unwrap_or(1));
    Fault { detail: format!("line {line}, column {column}: {}", f.message), ..Fault::from(f) }
}

/// Checks a SCIM User body as `POST /Users` would (RFC 7644 §3.3): strict JSON, schema types,
/// required attributes, and the `accounts` payloads' rules without a catalogue.
///
/// ```
/// let v = scimbox_validator::check::check_user("{\"userName\": 5}");
/// assert!(!v.valid);
/// assert_eq!(v.errors[0].scim_type, "invalidValue");
/// ```
pub fn check_user(text: &str) -> Verdict {
    check_user_with(text, &Catalogue::default())
}

/// [`check_user`] against what the server knows: `accounts` must name registered accounts and
/// catalogued roles (rules in [`crate::accounts`]). Reports the first normalisation error and
/// every `accounts` fault.
pub fn check_user_with(text: &str, cat: &Catalogue) -> Verdict {
    match Document::parse(text) {
        Ok(doc) => Verdict::of_all(user_faults(&doc, cat)),
        Err(f) => Verdict::of_all(vec![syntax_fault(f)]),
    }
}

/// Checks what an admin pastes (issue 4 §6, §7): ONE payload object, a JSON array of payload
/// objects or strings, a string holding them (any form [`crate::accounts::parse_accounts`]
/// takes), or a whole SCIM User body (an object with `userName` or `schemas`), whose `accounts`
/// are checked along with the rest of the body. Every payload fault is reported with its index,
/// line and column within `text`, payload strings included (see [`crate::accounts`]): the line
/// the page's gutter marks and the place its "jump to" selects.
///
/// ```
/// use scimbox_validator::{accounts::Catalogue, check::check_payloads};
/// let v = check_payloads(r#"[{"accountId":"A"},{"acountId":"B"}]"#, &Catalogue::default());
/// assert_eq!((v.errors[0].index, v.errors[0].line, v.errors[0].column), (Some(1), Some(1), Some(21)));
/// ```
pub fn check_payloads(text: &str, cat: &Catalogue) -> Verdict {
    let doc = match Document::parse(text) {
        Ok(doc) => doc,
        Err(f) => return Verdict::of_all(vec![syntax_fault(f)]),
    };
    if doc.is_user_body() {
        return Verdict::of_all(user_faults(&doc, cat));
    }
    Verdict::of_all(doc.accounts(cat).err().unwrap_or_default().into_iter().map(Fault::from).collect())
}

/// The body's first normalisation or required-attribute error, then every `accounts` fault.
fn user_faults(doc: &Document, cat: &Catalogue) -> Vec<Fault> {
    let (body, accounts) = doc.split_user(cat);
    let normalized = normalize(&USER_RESOURCE, &body).and_then(|d| check_required(&USER_RESOURCE, &d, &[]));
    let mut faults: Vec<Fault> = normalized.err().into_iter().map(Fault::from).collect();
    faults.extend(accounts.err().unwrap_or_default().into_iter().map(Fault::from));
    faults
}

/// Checks a PatchOp request body as `PATCH /Users/{id}` would (RFC 7644 §3.5.2), as far as that
/// can be known without the stored user: strict JSON, the body's structure, ops and paths
/// ([`parse_patch`]), then each operation applied in turn to a minimal user
/// (`{"userName": "user", "active": true}`) followed by the server's own per-operation checks
/// (value types through [`normalize`], the `accounts` rules through [`settle`], read-only and
/// required attributes). Reports the first error, in the server's words.
///
/// An operation that fails with `noTarget` on the minimal user (a `replace` whose filter matches
/// no element) depends on the stored user, so it is skipped rather than reported. Payload
/// positions are within payload strings only: values come from the parsed body, as on the server.
///
/// ```
/// use scimbox_validator::check::check_patch;
/// let ok = r#"{"Operations":[{"op":"add","path":"accounts","value":["{\"accountId\":\"A\"}"]}]}"#;
/// assert!(check_patch(ok).valid);
/// let bad = r#"{"Operations":[{"op":"add","path":"accounts","value":["{\"acountId\":\"A\"}"]}]}"#;
/// assert!(check_patch(bad).errors[0].detail.contains("did you mean \"accountId\""));
/// ```
pub fn check_patch(text: &str) -> Verdict {
    check_patch_with(text, &Catalogue::default())
}

/// [`check_patch`] against what the server knows (see [`check_user_with`]).
pub fn check_patch_with(text: &str, cat: &Catalogue) -> Verdict {
    match Document::parse(text) {
        Ok(doc) => Verdict::of(patch_fault(&doc.to_value(), cat)),
        Err(f) => Verdict::of_all(vec![syntax_fault(f)]),
    }
}

/// The first error `PATCH /Users/{id}` would answer on a minimal user (see [`check_patch`]).
fn patch_fault(body: &Value, cat: &Catalogue) -> Result<(), Fault> {
    let ops = parse_patch(body)?;
    let mut user: Map<String, Value> = [("userName", Value::from("user")), ("active", Value::Bool(true))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    for (i, op) in ops.iter().enumerate() {
        let mut next = user.clone();
        let applied = apply_one(&USER_RESOURCE, &mut next, i, op, |d| {
            *d = normalize(&USER_RESOURCE, &Value::Object(std::mem::take(d)))?;
            settle(d, cat).map(drop)
        });
        match applied {
            Ok(()) => user = next,
            Err(e) if e.scim_type == ScimType::NoTarget => {}
            Err(e) => return Err(e.into()),
        }
    }
    check_required(&USER_RESOURCE, &user, &[]).map_err(Fault::from)
}

/// Checks a filter expression as `GET /Users?filter=` would (RFC 7644 §3.4.2.2).
pub fn check_filter(text: &str) -> Verdict {
    Verdict::of(Filter::parse(text).and_then(|f| f.check(&USER_RESOURCE)).map_err(Fault::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert!(check_user(r#"{"userName": "a"}"#).valid);
        let v = check_user("{\n  \"userName\": \"a\",\n}");
        assert_eq!((v.errors[0].scim_type, v.errors[0].line), ("invalidSyntax", Some(2)));
        let v = check_user(r#"{"displayName": "a"}"#);
        assert!(v.errors[0].detail.contains("userName"));
        assert!(check_filter(r#"userName eq "a""#).valid);
        assert_eq!(check_filter("userName eq").errors[0].scim_type, "invalidFilter");
    }

    fn cat() -> Catalogue {
        Catalogue {
            accounts: Some(["ACC123", "ACC200"].iter().map(|a| a.to_string()).collect()),
            roles: Some(vec!["Editor".into()]),
        }
    }

    type Want<'a> = (&'a str, Option<usize>, Option<usize>, Option<usize>, &'a str);

    fn faults(v: &Verdict) -> Vec<Want<'_>> {
        v.errors.iter().map(|f| (f.scim_type, f.index, f.line, f.column, f.detail.as_str())).collect()
    }

    /// One payload, lists of objects and of strings (positions within the text, escapes
    /// counted), User bodies (normalisation errors plus accounts faults), syntax errors.
    #[test]
    fn payload_verdicts() {
        let v = "invalidValue";
        let cases: &[(&str, &[Want<'_>])] = &[
            (r#"{"accountId":"ACC123","roles":"editor"}"#, &[]),
            (r#"[{"accountId":"ACC123"}, "{\"accountId\":\"ACC200\"}"]"#, &[]),
            (r#""[{\"accountId\":\"ACC123\"}]""#, &[]),
            (
                r#"{"acountId":"ACC123"}"#,
                &[(
                    v,
                    None,
                    Some(1),
                    Some(2),
                    r#"accounts (line 1, column 2): unknown key "acountId"; did you mean "accountId"?"#,
                )],
            ),
            (
                r#"[{"accountId":"ACC123"},{"acountId":"B"}]"#,
                &[(
                    v,
                    Some(1),
                    Some(1),
                    Some(26),
                    r#"accounts[1] (line 1, column 26): unknown key "acountId"; did you mean "accountId"?"#,
                )],
            ),
            (
                "[\n  \"{\\\"accountId\\\":\\\"ACC999\\\"}\",\n  {\"accountId\": \"ACC123\", \"roles\": [\"Admin\"]}\n]",
                &[
                    (
                        v,
                        Some(0),
                        Some(2),
                        Some(19),
                        r#"accounts[0] (line 2, column 19): account "ACC999" is not registered (registered: ACC123, ACC200)"#,
                    ),
                    (
                        v,
                        Some(1),
                        Some(3),
                        Some(37),
                        r#"accounts[1] (line 3, column 37): role "Admin" is not in the roles catalogue (catalogued: Editor)"#,
                    ),
                ],
            ),
            (
                r#"{"userName": 5, "accounts": ["{\"accountId\":\"ACC999\"}", {"accountId": "ACC123", "status": "on"}]}"#,
                &[
                    (v, None, None, None, r#""userName" must be a string, got the number 5"#),
                    (
                        v,
                        Some(0),
                        Some(1),
                        Some(46),
                        r#"accounts[0] (line 1, column 46): account "ACC999" is not registered (registered: ACC123, ACC200)"#,
                    ),
                    (
                        v,
                        Some(1),
                        Some(1),
                        Some(94),
                        r#"accounts[1] (line 1, column 94): "status" must be "Active" or "Inactive", got "on""#,
                    ),
                ],
            ),
            (
                r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "accounts": "[]"}"#,
                &[(v, None, None, None, r#"the required attribute "userName" is missing from the User"#)],
            ),
            (
                r#"{"userName": "a", "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User": {"accounts": [{"accountId": "ACC200"}]}}"#,
                &[],
            ),
            (
                "{\n  \"userName\": \"a\",\n}",
                &[(
                    "invalidSyntax",
                    None,
                    Some(2),
                    Some(18),
                    "line 2, column 18: trailing comma before }; remove the comma",
                )],
            ),
            (
                "5",
                &[(
                    v,
                    None,
                    Some(1),
                    Some(1),
                    r#"accounts (line 1, column 1): expected payload strings such as {"accountId":"ACC123","roles":"Editor"} or a list of them, got the number 5"#,
                )],
            ),
        ];
        for (text, want) in cases {
            let verdict = check_payloads(text, &cat());
            assert_eq!(faults(&verdict), *want, "{text}");
            assert_eq!(verdict.valid, want.is_empty());
        }
    }

    /// PATCH requests: structure, paths and values as the server checks them on a minimal user;
    /// a `noTarget` that depends on the stored user is not reported.
    #[test]
    fn patch_verdicts() {
        let ops =
            |o: &str| format!(r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{o}]}}"#);
        let cases: &[(String, Option<(&str, &str)>)] = &[
            (ops(r#"{"op":"add","path":"accounts","value":["{\"accountId\":\"ACC123\"}"]}"#), None),
            (ops(r#"{"op":"replace","path":"emails[value eq \"x@y\"]","value":{"type":"work"}}"#), None),
            (ops(r#"{"op":"remove","path":"title"}"#), None),
            (
                ops(r#"{"op":"add","path":"accounts","value":"{\"accountId\":\"ACC999\"}"}"#),
                Some((
                    "invalidValue",
                    r#"Operations[0] (add accounts): accounts[0] (line 1, column 14): account "ACC999" is not registered (registered: ACC123, ACC200)"#,
                )),
            ),
            (
                ops(r#"{"op":"replace","path":"active","value":"maybe"}"#),
                Some((
                    "invalidValue",
                    r#"Operations[0] (replace active): "active" must be a boolean (true or false), got the string "maybe""#,
                )),
            ),
            (
                ops(r#"{"op":"remove"}"#),
                Some(("noTarget", "Operations[0]: remove needs a \"path\" (RFC 7644 §3.5.2.2)")),
            ),
            (ops(r#"{"op":"remove","path":"userName"}"#), Some(("mutability", ""))),
            (ops(r#"{"op":"replace","path":"id","value":"x"}"#), Some(("mutability", ""))),
            (ops(r#"{"op":"add","path":"emails[type eq","value":"x"}"#), Some(("invalidPath", ""))),
            (r#"{"Operations": []}"#.into(), Some(("invalidSyntax", ""))),
            ("{\n \"Operations\": [],\n}".into(), Some(("invalidSyntax", "line 2, column 18: trailing comma"))),
        ];
        for (text, want) in cases {
            let v = check_patch_with(text, &cat());
            match want {
                None => assert!(v.valid, "{text}: {v:?}"),
                Some((scim_type, detail)) => {
                    assert_eq!(
                        (v.valid, v.errors.len(), v.errors[0].scim_type),
                        (false, 1, *scim_type),
                        "{text}: {v:?}"
                    );
                    assert!(v.errors[0].detail.starts_with(detail), "{text}: {v:?}");
                }
            }
        }
    }

    /// The 1-based line and column (in characters) where `needle` starts in `text`.
    fn place(text: &str, needle: &str) -> (usize, usize) {
        let at = text.find(needle).unwrap_or_else(|| panic!("{needle:?} is not in the text"));
        let before = &text[..at];
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
    }

    /// Issue 13 item 5: a fault inside a payload string of a whole User body is placed in the
    /// body (the line and column the page's gutter marks and jumps to), not in the string:
    /// escapes take their columns (`\"` two, `\u00e9` six, a surrogate pair twelve), a `\n`
    /// inside the string starts no line of the body, and strings inside strings (Entra's one
    /// string holding a list of payload strings) are mapped through each level. Faults on line
    /// 24 and beyond, in the multi-valued form, the URN form and Entra's array string.
    #[test]
    fn positions_in_a_user_body_are_in_the_body() {
        let ext = "urn:ietf:params:scim:schemas:extension:scimbox:2.0:User";
        let filler: String = (3..=22).map(|n| format!("  \"x-note-{n}\": \"é {n}\",\n")).collect();
        let body = format!(
            "{{\n  \"userName\": \"bjensen\",\n{filler}  \"displayName\": \"B. Jensen\",\n  \"accounts\": [\"{{\\\"accountId\\\":\\\"Z\\u00e9\\ud83d\\ude00\\\",\\n\\\"acountId\\\":\\\"X\\\"}}\", \"{{\\\"accountId\\\":\\\"ACC999\\\"}}\"]\n}}"
        );
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 25, "{body}");
        let (key, unknown) = (place(&body, r#"\"acountId"#), place(&body, r#"\"ACC999"#));
        assert_eq!((key.0, unknown.0), (24, 24));
        let v = check_user_with(&body, &cat());
        let got: Vec<_> = v.errors.iter().map(|f| (f.index, f.line, f.column)).collect();
        assert_eq!(
            got,
            [
                (Some(0), Some(24), Some(place(&body, r#"\"Z\u00e9"#).1)),
                (Some(0), Some(24), Some(key.1)),
                (Some(1), Some(24), Some(unknown.1)),
            ],
            "{v:?}"
        );
        assert!(v.errors[1].detail.starts_with(&format!("accounts[0] (line 24, column {}): unknown key", key.1)));
        assert_eq!(check_payloads(&body, &cat()), v, "the page checks a pasted body the same way");

        // The URN form and Entra's one string, each with a syntax fault and a message that
        // quotes a position (a key given twice, "first at ...").
        let entra = format!(
            "{{\n{filler}  \"userName\": \"a\",\n  \"{ext}\": {{\n    \"accounts\": \"[{{\\\"accountId\\\":\\\"ACC123\\\",\\\"roles\\\":\\\"Editor\\\",\\\"roles\\\":\\\"Viewer\\\"}}, \\\"{{\\\\\\\"accountId\\\\\\\":\\\\\\\"ACC200\\\\\\\",}}\\\"]\"\n  }}\n}}"
        );
        let first = place(&entra, r#"\"roles\":\"Editor"#);
        let twice = place(&entra, r#"\"roles\":\"Viewer"#);
        let comma = place(&entra, r#",}\"]"#);
        let v = check_user_with(&entra, &cat());
        let got: Vec<_> = v.errors.iter().map(|f| (f.index, f.line, f.column, f.detail.clone())).collect();
        assert_eq!(
            got,
            [
                (
                    Some(0),
                    Some(twice.0),
                    Some(twice.1),
                    format!(
                        "accounts[0] (line {}, column {}): key \"roles\" is given twice (first at line {}, column {}); give it once",
                        twice.0, twice.1, first.0, first.1
                    )
                ),
                (
                    Some(1),
                    Some(comma.0),
                    Some(comma.1),
                    format!(
                        "accounts[1] (line {}, column {}): trailing comma before }}; remove the comma",
                        comma.0, comma.1
                    )
                ),
            ],
            "{entra}"
        );
        assert!(twice.0 > 20);

        let urn = format!(
            "{{\n{filler}  \"userName\": \"a\",\n  \"{ext}:accounts\": [\"{{\\\"accountId\\\":\\\"ACC123\\\", \\\"status\\\":\\\"on\\\"}}\"]\n}}"
        );
        let status = place(&urn, r#"\"on"#);
        let v = check_user_with(&urn, &cat());
        assert_eq!((v.errors[0].line, v.errors[0].column), (Some(status.0), Some(status.1)), "{v:?}");
        assert!(status.0 > 20);

        // The SCIM API parses bodies with serde_json: a payload string there has no place in a
        // text, so its positions stay within the string (what an IdP admin edits).
        let value: Value = serde_json::from_str(&body).unwrap();
        let (_, api) = Document::from(&value).split_user(&cat());
        let api: Vec<_> = api.unwrap_err().iter().map(|f| (f.line, f.column)).collect();
        assert_eq!(api, [(Some(1), Some(14)), (Some(2), Some(1)), (Some(1), Some(14))]);
    }

    /// `check_user` checks payload rules without a catalogue, `check_user_with` with one; both
    /// take payload objects (which the schema's string type alone would refuse).
    #[test]
    fn user_verdicts_with_catalogue() {
        let body = r#"{"userName": "a", "accounts": [{"accountId": "X"}]}"#;
        assert!(check_user(body).valid);
        let v = check_user_with(body, &cat());
        assert_eq!(
            v.errors[0].detail,
            r#"accounts[0] (line 1, column 46): account "X" is not registered (registered: ACC123, ACC200)"#
        );
        let v = check_user(r#"{"userName": "a", "accounts": "{\"accountId\":\"\"}"}"#);
        assert_eq!((v.errors[0].index, v.errors[0].column), (None, Some(47)), "in the body, escapes counted");
        let json = serde_json::to_value(check_payloads(r#"[{"x":1}]"#, &Catalogue::default())).unwrap();
        assert_eq!(json["errors"][0]["index"], 0);
        assert_eq!(json["errors"][0]["line"], 1);
        assert!(json["errors"][1].get("line").is_none(), "{json}");
    }
}
