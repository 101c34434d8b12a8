//! Reading a PatchOp request body (RFC 7644 §3.5.2) into [`PatchOperation`]s.

use serde_json::{Map, Value};

use super::apply::missing_value;
use super::doc::get_ci;
use super::{PatchOpKind, PatchOperation, within};
use crate::error::{Result, ValidationError};
use crate::path::PatchPath;
use crate::schema::PATCH_OP_URN;

/// The most operations one PATCH request may carry, as Bulk's `maxOperations` caps a Bulk
/// request. RFC 7644 sets no limit; a PATCH runs inside the single writer, all or nothing
/// (§3.5.2), so its length is how long every other write waits. No identity provider we know
/// sends more than a few hundred (Entra batches members by 100s). More is `invalidValue`
/// (400): §3.12's `tooMany` is defined for filters, and the request is well-formed but its
/// `Operations` value is not one this server accepts; the browser checker gives the same verdict.
pub const MAX_OPERATIONS: usize = 1000;

/// Parses a PatchOp request body (RFC 7644 §3.5.2).
///
/// * `schemas`, when present, must list [`PATCH_OP_URN`] (case-insensitively); a body that omits
///   `schemas` is accepted, one that lists only other URNs is `invalidSyntax`.
/// * `Operations` (key matched in any case) must be a non-empty array, else `invalidSyntax`.
/// * Each `op` is matched in any case; an unknown one is `invalidSyntax` naming it and its index.
/// * `path` is parsed with [`PatchPath::parse`]; its errors keep their `scimType` (`invalidPath`)
///   and are prefixed with `Operations[i].path:`. An empty `path` counts as absent.
/// * `remove` without `path` is `noTarget` (RFC 7644 §3.5.2.2); `add` or `replace` without `value`
///   is `invalidValue` (RFC 7644 §3.5.2.1: the operation "MUST contain a value member").
/// * More than [`MAX_OPERATIONS`] operations is `invalidValue` (see there).
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOperation>> {
    let obj = body.as_object().ok_or_else(|| ValidationError::syntax("a PatchOp body must be a JSON object"))?;
    check_schemas(obj)?;
    let ops = get_ci(obj, "Operations")
        .ok_or_else(|| ValidationError::syntax("a PatchOp body needs an \"Operations\" array"))?;
    let ops = ops.as_array().ok_or_else(|| ValidationError::syntax("\"Operations\" must be an array"))?;
    if ops.is_empty() {
        return Err(ValidationError::syntax("\"Operations\" must hold at least one operation"));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(ValidationError::value(format!(
            "\"Operations\" holds {} operations; at most {MAX_OPERATIONS} are accepted in one PATCH request: \
             split it into several requests",
            ops.len()
        )));
    }
    ops.iter().enumerate().map(|(i, op)| parse_operation(i, op)).collect()
}

/// RFC 7644 §3.5.2: the body's `schemas` is the PatchOp message URN.
fn check_schemas(obj: &Map<String, Value>) -> Result<()> {
    let ok = match get_ci(obj, "schemas") {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case(PATCH_OP_URN),
        Some(Value::Array(urns)) => {
            urns.is_empty()
                || urns.iter().any(|u| u.as_str().is_some_and(|s| s.trim().eq_ignore_ascii_case(PATCH_OP_URN)))
        }
        Some(_) => false,
    };
    if ok { Ok(()) } else { Err(ValidationError::syntax(format!("\"schemas\" must contain \"{PATCH_OP_URN}\""))) }
}

fn parse_operation(i: usize, raw: &Value) -> Result<PatchOperation> {
    let obj = raw.as_object().ok_or_else(|| ValidationError::syntax(format!("Operations[{i}] must be an object")))?;
    let op = parse_op_kind(i, get_ci(obj, "op"))?;
    let path = parse_op_path(i, get_ci(obj, "path"))?;
    let mut value = get_ci(obj, "value").cloned();
    match op {
        PatchOpKind::Remove if path.is_none() => {
            return Err(ValidationError::no_target(format!(
                "Operations[{i}]: remove needs a \"path\" (RFC 7644 §3.5.2.2)"
            )));
        }
        PatchOpKind::Remove if value.as_ref().is_some_and(Value::is_null) => value = None,
        PatchOpKind::Add | PatchOpKind::Replace if value.is_none() => {
            return Err(within(format!("Operations[{i}]"), missing_value(op)));
        }
        _ => {}
    }
    Ok(PatchOperation { op, path, value })
}

fn parse_op_kind(i: usize, raw: Option<&Value>) -> Result<PatchOpKind> {
    let name = match raw {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(ValidationError::syntax(format!("Operations[{i}].op must be a string, got {other}")));
        }
        None => {
            return Err(ValidationError::syntax(format!("Operations[{i}]: missing \"op\"")));
        }
    };
    PatchOpKind::parse(name).ok_or_else(|| {
        ValidationError::syntax(format!("Operations[{i}]: unknown op \"{name}\" (expected add, replace or remove)"))
    })
}

fn parse_op_path(i: usize, raw: Option<&Value>) -> Result<Option<PatchPath>> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => {
            PatchPath::parse(s.trim()).map(Some).map_err(|e| within(format!("Operations[{i}].path"), e))
        }
        Some(other) => Err(ValidationError::path(format!("Operations[{i}].path must be a string, got {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::error::ScimType;
    use crate::patch::tests::body;
    use crate::schema::USER_URN;

    #[test]
    fn parse_accepts_lenient_bodies() {
        // (name, body, per operation: (op, has path, has value))
        type Shape = Vec<(PatchOpKind, bool, bool)>;
        let cases: Vec<(&str, Value, Shape)> = vec![
            (
                "rfc body",
                body(&json!([{"op": "add", "path": "nickName", "value": "B"}])),
                vec![(PatchOpKind::Add, true, true)],
            ),
            (
                "no schemas",
                json!({"Operations": [{"op": "remove", "path": "title"}]}),
                vec![(PatchOpKind::Remove, true, false)],
            ),
            (
                "schemas empty",
                json!({"schemas": [], "Operations": [{"op": "remove", "path": "x"}]}),
                vec![(PatchOpKind::Remove, true, false)],
            ),
            (
                "schemas as string",
                json!({"schemas": PATCH_OP_URN, "Operations": [{"op": "remove", "path": "x"}]}),
                vec![(PatchOpKind::Remove, true, false)],
            ),
            (
                "schemas upper case plus others",
                json!({"schemas": ["urn:x", PATCH_OP_URN.to_uppercase()], "operations": [{"OP": "Replace", "Value": {"active": false}}]}),
                vec![(PatchOpKind::Replace, false, true)],
            ),
            (
                "Entra capitalised ops",
                body(&json!([{"op": "Add", "path": "nickName", "value": "B"},
                          {"op": "Replace", "path": "active", "value": "False"},
                          {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}])),
                vec![
                    (PatchOpKind::Add, true, true),
                    (PatchOpKind::Replace, true, true),
                    (PatchOpKind::Remove, true, true),
                ],
            ),
            (
                "empty path counts as absent",
                body(&json!([{"op": "replace", "path": " ", "value": {"active": true}}])),
                vec![(PatchOpKind::Replace, false, true)],
            ),
            (
                "remove with null value",
                body(&json!([{"op": "remove", "path": "title", "value": null}])),
                vec![(PatchOpKind::Remove, true, false)],
            ),
            (
                "replace with null value",
                body(&json!([{"op": "replace", "path": "title", "value": null}])),
                vec![(PatchOpKind::Replace, true, true)],
            ),
        ];
        for (name, b, want) in cases {
            let ops = parse_patch(&b).unwrap_or_else(|e| panic!("{name}: {e}"));
            let got: Vec<_> = ops.iter().map(|o| (o.op, o.path.is_some(), o.value.is_some())).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn parse_refuses_malformed_bodies() {
        let op = json!({"op": "add", "path": "nickName", "value": "x"});
        let cases: Vec<(&str, Value, ScimType, &str)> = vec![
            ("not an object", json!([op]), ScimType::InvalidSyntax, "JSON object"),
            (
                "other schemas only",
                json!({"schemas": [USER_URN], "Operations": [op]}),
                ScimType::InvalidSyntax,
                PATCH_OP_URN,
            ),
            ("schemas a number", json!({"schemas": 3, "Operations": [op]}), ScimType::InvalidSyntax, "schemas"),
            ("no Operations", json!({"schemas": [PATCH_OP_URN]}), ScimType::InvalidSyntax, "Operations"),
            ("Operations not a list", body(&op), ScimType::InvalidSyntax, "array"),
            ("Operations empty", body(&json!([])), ScimType::InvalidSyntax, "at least one"),
            (
                "operation not an object",
                body(&json!([op, "add"])),
                ScimType::InvalidSyntax,
                "Operations[1] must be an object",
            ),
            (
                "missing op",
                body(&json!([{"path": "x", "value": 1}])),
                ScimType::InvalidSyntax,
                "Operations[0]: missing \"op\"",
            ),
            ("op not a string", body(&json!([{"op": 1, "path": "x"}])), ScimType::InvalidSyntax, "Operations[0].op"),
            (
                "unknown op",
                body(&json!([op, {"op": "move", "path": "x", "value": 1}])),
                ScimType::InvalidSyntax,
                "Operations[1]: unknown op \"move\"",
            ),
            (
                "bad path keeps invalidPath",
                body(&json!([op, op, {"op": "add", "path": "emails[type eq", "value": 1}])),
                ScimType::InvalidPath,
                "Operations[2].path: ",
            ),
            (
                "path not a string",
                body(&json!([{"op": "add", "path": 7, "value": 1}])),
                ScimType::InvalidPath,
                "Operations[0].path must be a string",
            ),
            (
                "remove without path",
                body(&json!([{"op": "remove"}])),
                ScimType::NoTarget,
                "Operations[0]: remove needs a \"path\"",
            ),
            ("remove with empty path", body(&json!([{"op": "Remove", "path": ""}])), ScimType::NoTarget, "remove"),
            (
                "add without value",
                body(&json!([{"op": "add", "path": "nickName"}])),
                ScimType::InvalidValue,
                "add needs a \"value\"",
            ),
            (
                "replace without value",
                body(&json!([{"op": "replace"}])),
                ScimType::InvalidValue,
                "replace needs a \"value\"",
            ),
        ];
        for (name, b, ty, needle) in cases {
            let e = parse_patch(&b).expect_err(name);
            assert_eq!(e.scim_type, ty, "{name}: {e}");
            assert!(e.detail.contains(needle), "{name}: {:?} lacks {needle:?}", e.detail);
        }
    }
}
