//! Tests of PATCH through [`parse_patch`] and [`apply_patch`]: the fixtures and the helpers that
//! run a table of cases, the tests of a request as a whole, and per operation in `rfc`, `add`,
//! `replace` and `remove`.

use serde_json::{Value, json};

use super::{PatchOpKind, PatchOperation, apply_patch, parse_patch};
use crate::error::{Result, ScimType};
use crate::path::PatchPath;
use crate::schema::{
    Attribute, ENTERPRISE_USER_URN as ENT, Extension, Mutability, PATCH_OP_URN, ResourceType, Schema, USER_RESOURCE,
    USER_URN,
};

mod add;
mod remove;
mod replace;
mod rfc;

// A Group resource type for the RFC's `members` examples (scimbox's schema tables have Users
// only): RFC 7643 §4.2.
static MEMBER_SUBS: &[Attribute] = &[
    Attribute::string("value", "Member id.").mutability(Mutability::Immutable),
    Attribute::reference("$ref", "Member URI.", &["User", "Group"]).mutability(Mutability::Immutable),
    Attribute::string("display", "Member name."),
    Attribute::string("type", "User or Group.").mutability(Mutability::Immutable),
];
static GROUP_SCHEMA: Schema = Schema {
    id: "urn:ietf:params:scim:schemas:core:2.0:Group",
    name: "Group",
    description: "Group",
    attributes: &[
        Attribute::string("displayName", "Group name.").required(),
        Attribute::complex("members", "Members.", MEMBER_SUBS).multi(),
    ],
};
static GROUP_RESOURCE: ResourceType = ResourceType {
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: &GROUP_SCHEMA,
    extensions: &[] as &[Extension],
};

const U1: &str = "2819c223-7f76-453a-919d-413861904646";
const U2: &str = "902c246b-6245-4190-8e05-00816be7344a";

fn user() -> Value {
    json!({
        "schemas": [USER_URN],
        "id": "u-1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "displayName": "Babs Jensen",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [{"type": "work", "streetAddress": "100 Universal City Plaza",
                       "locality": "Hollywood", "primary": true}],
        "groups": [{"value": "g-1", "display": "Tour Guides"}],
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z", "version": "W/\"1\""}
    })
}

fn bare_user() -> Value {
    json!({"userName": "jdoe"})
}

fn enterprise_user() -> Value {
    let mut u = user();
    u["schemas"] = json!([USER_URN, ENT]);
    u[ENT] = json!({"employeeNumber": "701984",
                    "manager": {"value": "m-1", "$ref": "../Users/m-1", "displayName": "John Smith"}});
    u
}

fn group() -> Value {
    json!({"displayName": "Tour Guides",
           "members": [{"value": U1, "display": "Babs Jensen"}, {"value": U2, "display": "Mandy Pepperidge"}]})
}

fn ent(attr: &str) -> String {
    format!("/{ENT}/{attr}")
}

/// What a case expects: pointers and their values (`Null` = absent), or an error.
enum Want {
    Doc(Vec<(String, Value)>),
    Err(ScimType, &'static str),
}
use Want::Err as Fails;

fn doc(checks: &[(&str, Value)]) -> Want {
    Want::Doc(checks.iter().map(|(p, v)| (p.to_string(), v.clone())).collect())
}

pub(super) fn body(ops: &Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": ops})
}

fn run(rt: &ResourceType, start: &Value, ops: &Value) -> Result<Value> {
    let ops = parse_patch(&body(ops))?;
    let mut d = start.as_object().cloned().unwrap_or_default();
    apply_patch(rt, &mut d, &ops)?;
    Ok(Value::Object(d))
}

fn check(name: &str, rt: &ResourceType, start: &Value, ops: &Value, want: &Want) {
    match (run(rt, start, ops), want) {
        (Ok(got), Want::Doc(checks)) => {
            for (pointer, expected) in checks {
                let actual = got.pointer(pointer).unwrap_or(&Value::Null);
                assert_eq!(actual, expected, "{name}: {pointer} in {got:#}");
            }
        }
        (Err(e), Want::Err(ty, needle)) => {
            assert_eq!(e.scim_type, *ty, "{name}: {e}");
            assert!(e.detail.contains(needle), "{name}: {:?} lacks {needle:?}", e.detail);
        }
        (Ok(got), Want::Err(ty, _)) => panic!("{name}: expected {ty}, got {got:#}"),
        (Err(e), Want::Doc(_)) => panic!("{name}: unexpected error {e}"),
    }
}

fn check_all(rt: &ResourceType, cases: Vec<(&str, Value, Value, Want)>) {
    for (name, start, ops, want) in &cases {
        check(name, rt, start, ops, want);
    }
}

#[test]
fn operations_apply_in_order_and_the_first_error_wins() {
    let cases = vec![
        (
            "later ops see earlier ones",
            user(),
            json!([{"op": "add", "path": "nickName", "value": "B"},
                {"op": "replace", "path": "nickName", "value": "Babs"},
                {"op": "remove", "path": "emails[type eq \"home\"]"}]),
            doc(&[("/nickName", json!("Babs")), ("/emails/1", Value::Null)]),
        ),
        (
            "the third op fails",
            user(),
            json!([{"op": "add", "path": "nickName", "value": "B"},
                {"op": "replace", "path": "displayName", "value": "X"},
                {"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "x"}}]),
            Fails(ScimType::NoTarget, "Operations[2] (replace emails[type eq \"other\"]): "),
        ),
        (
            "path-less errors name the key",
            user(),
            json!([{"op": "replace", "value": {"nickName": "B"}}, {"op": "add", "value": {"name": "B"}}]),
            Fails(ScimType::InvalidValue, "Operations[1] (add (no path)): value key \"name\""),
        ),
    ];
    check_all(&USER_RESOURCE, cases);
}

#[test]
fn a_failed_request_reports_err_and_the_caller_keeps_its_original() {
    let original = user();
    let ops = parse_patch(&body(&json!([
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "remove", "path": "emails"},
        {"op": "remove", "path": "userName"}
    ])))
    .unwrap();
    let mut work = original.as_object().cloned().unwrap();
    let err = apply_patch(&USER_RESOURCE, &mut work, &ops).unwrap_err();
    assert_eq!(err.scim_type, ScimType::Mutability);
    assert!(err.detail.starts_with("Operations[2] (remove userName)"), "{}", err.detail);
    assert_eq!(original["displayName"], "Babs Jensen");
}

#[test]
fn operations_can_be_built_directly() {
    let mut d = user().as_object().cloned().unwrap();
    let add_without_value =
        PatchOperation { op: PatchOpKind::Add, path: Some(PatchPath::parse("title").unwrap()), value: None };
    let e = apply_patch(&USER_RESOURCE, &mut d, &[add_without_value]).unwrap_err();
    assert_eq!(e.scim_type, ScimType::InvalidValue);
    let remove_without_path = PatchOperation { op: PatchOpKind::Remove, path: None, value: None };
    let e = apply_patch(&USER_RESOURCE, &mut d, &[remove_without_path]).unwrap_err();
    assert_eq!(e.scim_type, ScimType::NoTarget);
}

#[test]
fn odd_documents_and_values_do_not_panic() {
    let docs = [
        json!({}),
        json!({"userName": "a", "emails": "not-a-list", "name": 3, ENT: 5}),
        json!({"userName": "a", "emails": [null, 1, [], {"value": null}], ENT: {"manager": []}}),
        json!({"userName": "a", "schemas": "x", "emails": {"value": "single"}}),
    ];
    let values = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!([[1]]),
        json!({}),
        json!({"a": {"b": []}}),
        json!([null, {}]),
    ];
    let paths = [
        "emails",
        "emails.value",
        "emails[type eq \"work\"]",
        "emails[type eq \"work\"].value",
        "name",
        "name.givenName",
        "userName",
        &format!("{ENT}:manager"),
        &format!("{ENT}:manager.value"),
        ENT,
        "active",
    ];
    for d in &docs {
        for path in paths {
            for v in &values {
                for op in ["add", "replace", "remove"] {
                    let _ = run(&USER_RESOURCE, d, &json!([{"op": op, "path": path, "value": v}]));
                }
                let _ = run(&USER_RESOURCE, d, &json!([{"op": "add", "value": {path: v}}]));
            }
        }
    }
}

#[test]
fn op_names_round_trip() {
    for (text, kind) in
        [("add", PatchOpKind::Add), ("REPLACE", PatchOpKind::Replace), (" Remove ", PatchOpKind::Remove)]
    {
        assert_eq!(PatchOpKind::parse(text), Some(kind));
        assert_eq!(PatchOpKind::parse(kind.as_str()), Some(kind));
    }
    assert_eq!(PatchOpKind::parse("move"), None);
}
