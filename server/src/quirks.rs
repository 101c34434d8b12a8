//! Recognising the ways real IdPs bend the RFC (idp-behaviour.md §1–§3, §5), so that scimbox
//! can tell an admin which client it saw and what it had to smooth over. Detection is separate
//! from the normalisation itself (in [`scimbox_validator::resource`] and
//! [`scimbox_validator::patch`]): it only reads the
//! request as sent.

use serde_json::{Map, Value};

use scimbox_validator::schema::{self, RESOURCE_TYPES};

/// One way a request departs from RFC 7643/7644 that scimbox accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Quirk {
    /// `Authorization: <token>` without a scheme (Okta Header Auth).
    BareToken,
    /// No `User-Agent` header (Entra ID, OneLogin).
    NoUserAgent,
    /// `//` or a trailing `/` in the path.
    SloppyPath,
    /// Entra's `aadOptscim062020` flag in the query.
    EntraFlag,
    /// `+` for spaces in the query (Entra).
    PlusInQuery,
    /// `Content-Type: application/json` instead of `application/scim+json`.
    PlainJson,
    /// A body without `Content-Type`.
    NoContentType,
    /// PATCH `op` not in lower case (`Replace`, Entra without the flag).
    CapitalisedOp,
    /// `"True"`/`"False"` strings for booleans (Entra, OneLogin).
    StringBoolean,
    /// PATCH without `path`, the value an object (Okta deactivation, Entra with the flag).
    PathlessPatch,
    /// Path-less PATCH value keys that are dotted or URN-qualified paths (Entra).
    PathKeysInValue,
    /// `remove` with a `value` list instead of a filter (Entra without the flag).
    RemoveByValue,
    /// `add` on a filtered path, used as an upsert (Entra).
    AddOnFilteredPath,
    /// `manager` given as a bare string or a one-element array (Entra).
    ManagerShape,
    /// A single object where a list belongs (`emails` as an object: OneLogin).
    ObjectForList,
    /// `""` meaning "unset" (OneLogin templates).
    EmptyString,
    /// Explicit `null` values (Entra's older bodies, OneLogin).
    NullValue,
    /// Schema URNs scimbox does not serve (ADSCIM, custom extensions, typos such as `2.0User`).
    UnknownSchema,
    /// Server-owned attributes in a write body (`id`, `meta`, `groups`: Okta's read-modify-write PUT).
    ReadOnlyInput,
    /// A `password`, accepted and discarded.
    Password,
    /// Group members without `type` (Okta).
    MemberWithoutType,
    /// `id` inside a PATCH value (Okta group rename).
    IdInPatchValue,
    /// Role values that are JSON-encoded strings (Entra `AppRoleAssignmentsComplex`).
    JsonEncodedRole,
}

impl Quirk {
    /// Every quirk, in a stable order.
    pub const ALL: [Quirk; 23] = [
        Quirk::BareToken,
        Quirk::NoUserAgent,
        Quirk::SloppyPath,
        Quirk::EntraFlag,
        Quirk::PlusInQuery,
        Quirk::PlainJson,
        Quirk::NoContentType,
        Quirk::CapitalisedOp,
        Quirk::StringBoolean,
        Quirk::PathlessPatch,
        Quirk::PathKeysInValue,
        Quirk::RemoveByValue,
        Quirk::AddOnFilteredPath,
        Quirk::ManagerShape,
        Quirk::ObjectForList,
        Quirk::EmptyString,
        Quirk::NullValue,
        Quirk::UnknownSchema,
        Quirk::ReadOnlyInput,
        Quirk::Password,
        Quirk::MemberWithoutType,
        Quirk::IdInPatchValue,
        Quirk::JsonEncodedRole,
    ];

    /// A stable code, as stored.
    pub fn code(self) -> &'static str {
        match self {
            Quirk::BareToken => "bare-token",
            Quirk::NoUserAgent => "no-user-agent",
            Quirk::SloppyPath => "sloppy-path",
            Quirk::EntraFlag => "entra-flag",
            Quirk::PlusInQuery => "plus-in-query",
            Quirk::PlainJson => "plain-json",
            Quirk::NoContentType => "no-content-type",
            Quirk::CapitalisedOp => "capitalised-op",
            Quirk::StringBoolean => "string-boolean",
            Quirk::PathlessPatch => "pathless-patch",
            Quirk::PathKeysInValue => "path-keys-in-value",
            Quirk::RemoveByValue => "remove-by-value",
            Quirk::AddOnFilteredPath => "add-on-filtered-path",
            Quirk::ManagerShape => "manager-shape",
            Quirk::ObjectForList => "object-for-list",
            Quirk::EmptyString => "empty-string",
            Quirk::NullValue => "null-value",
            Quirk::UnknownSchema => "unknown-schema",
            Quirk::ReadOnlyInput => "read-only-input",
            Quirk::Password => "password",
            Quirk::MemberWithoutType => "member-without-type",
            Quirk::IdInPatchValue => "id-in-patch-value",
            Quirk::JsonEncodedRole => "json-encoded-role",
        }
    }

    /// The quirk with this code.
    pub fn from_code(code: &str) -> Option<Quirk> {
        Quirk::ALL.into_iter().find(|q| q.code() == code)
    }

    /// What scimbox did about it, in words for an admin.
    pub fn description(self) -> &'static str {
        match self {
            Quirk::BareToken => "token sent without \"Bearer \"; accepted",
            Quirk::NoUserAgent => "no User-Agent header; accepted",
            Quirk::SloppyPath => "double or trailing slash in the URL; routed as if clean",
            Quirk::EntraFlag => "Entra's ?aadOptscim062020 flag; ignored (both PATCH dialects are accepted)",
            Quirk::PlusInQuery => "'+' for spaces in the query; read as spaces",
            Quirk::PlainJson => "Content-Type application/json; accepted as application/scim+json",
            Quirk::NoContentType => "request body without Content-Type; read as JSON",
            Quirk::CapitalisedOp => "PATCH op not in lower case (\"Replace\"); matched case-insensitively",
            Quirk::StringBoolean => "\"True\"/\"False\" strings for booleans; read as booleans",
            Quirk::PathlessPatch => "PATCH without path whose value is an object; applied key by key",
            Quirk::PathKeysInValue => "dotted or URN-qualified keys in a PATCH value; resolved as paths",
            Quirk::RemoveByValue => "remove with a value list; removed only the listed values",
            Quirk::AddOnFilteredPath => "add on a filtered path; created the element when none matched",
            Quirk::ManagerShape => "manager as a string or a list; stored as {\"value\": id}",
            Quirk::ObjectForList => "a single object for a multi-valued attribute; read as a list of one",
            Quirk::EmptyString => "empty strings; read as unset",
            Quirk::NullValue => "null values; read as unset",
            Quirk::UnknownSchema => "schema URNs scimbox does not serve; ignored",
            Quirk::ReadOnlyInput => "id, meta or groups in a write body; ignored",
            Quirk::Password => "password sent; discarded, never stored",
            Quirk::MemberWithoutType => "group members without type; type taken from the member",
            Quirk::IdInPatchValue => "id inside a PATCH value; ignored",
            Quirk::JsonEncodedRole => "role values that are JSON-encoded strings; stored as sent",
        }
    }
}

/// Quirks visible in the request line and headers.
pub fn in_request(
    path: &str,
    query: Option<&str>,
    user_agent: Option<&str>,
    content_type: Option<&str>,
    has_body: bool,
) -> Vec<Quirk> {
    let mut out = Vec::new();
    let mut add = |cond: bool, q: Quirk| {
        if cond {
            out.push(q);
        }
    };
    add(user_agent.is_none_or(|u| u.trim().is_empty()), Quirk::NoUserAgent);
    add(path.contains("//") || (path.len() > 1 && path.ends_with('/')), Quirk::SloppyPath);
    let q = query.unwrap_or("");
    add(
        q.split('&').any(|kv| kv.split('=').next().is_some_and(|k| k.eq_ignore_ascii_case("aadOptscim062020"))),
        Quirk::EntraFlag,
    );
    add(q.contains('+'), Quirk::PlusInQuery);
    let mime = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    add(has_body && mime.as_deref() == Some("application/json"), Quirk::PlainJson);
    add(has_body && mime.is_none(), Quirk::NoContentType);
    out
}

/// Quirks in a POST/PUT resource body or a PatchOp body.
pub fn in_body(body: &Value) -> Vec<Quirk> {
    let mut out = Vec::new();
    let Value::Object(obj) = body else { return out };
    match get(obj, "Operations") {
        Some(Value::Array(ops)) => ops.iter().for_each(|op| patch_op(op, &mut out)),
        _ => resource_body(obj, &mut out),
    }
    out.sort();
    out.dedup();
    out
}

fn get<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
}

fn resource_body(obj: &Map<String, Value>, out: &mut Vec<Quirk>) {
    if ["id", "meta", "groups"].iter().any(|k| get(obj, k).is_some()) {
        out.push(Quirk::ReadOnlyInput);
    }
    if let Some(Value::Array(schemas)) = get(obj, "schemas") {
        let known = |s: &str| RESOURCE_TYPES.iter().flat_map(|rt| rt.schemas()).any(|x| x.id.eq_ignore_ascii_case(s));
        if schemas.iter().any(|s| s.as_str().is_some_and(|s| !known(s))) {
            out.push(Quirk::UnknownSchema);
        }
    }
    values(obj, out);
}

/// Walks attribute values for the shapes that do not depend on the operation.
fn values(obj: &Map<String, Value>, out: &mut Vec<Quirk>) {
    for (k, v) in obj {
        value(k, v, out);
    }
}

fn value(key: &str, v: &Value, out: &mut Vec<Quirk>) {
    let leaf = key.rsplit([':', '.']).next().unwrap_or(key);
    match v {
        Value::Null => out.push(Quirk::NullValue),
        Value::String(s) if s.is_empty() => out.push(Quirk::EmptyString),
        Value::String(s) if is_bool_attr(leaf) && scimbox_validator::resource::parse_bool(s).is_some() => {
            out.push(Quirk::StringBoolean)
        }
        Value::String(_) if leaf.eq_ignore_ascii_case("manager") => out.push(Quirk::ManagerShape),
        Value::String(_) if leaf.eq_ignore_ascii_case("password") => out.push(Quirk::Password),
        Value::Object(_) if is_list_attr(leaf) => out.push(Quirk::ObjectForList),
        Value::Array(a) if leaf.eq_ignore_ascii_case("manager") && !a.is_empty() => out.push(Quirk::ManagerShape),
        _ => {}
    }
    if leaf.eq_ignore_ascii_case("members") {
        let items = scimbox_validator::path::values_of(v);
        if items.iter().any(|m| m.is_object() && m.get("type").is_none()) {
            out.push(Quirk::MemberWithoutType);
        }
    }
    if leaf.eq_ignore_ascii_case("roles")
        && scimbox_validator::path::values_of(v).iter().any(|r| is_json_string(r.get("value")))
    {
        out.push(Quirk::JsonEncodedRole);
    }
    match v {
        Value::Object(o) => values(o, out),
        Value::Array(a) => a.iter().filter_map(Value::as_object).for_each(|o| values(o, out)),
        _ => {}
    }
}

fn is_json_string(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str)
        .is_some_and(|s| s.trim_start().starts_with('{') && serde_json::from_str::<Value>(s).is_ok())
}

fn is_bool_attr(name: &str) -> bool {
    ["active", "primary"].iter().any(|b| b.eq_ignore_ascii_case(name))
}

fn is_list_attr(name: &str) -> bool {
    let user = &schema::USER_SCHEMA;
    user.attribute(name).is_some_and(|a| a.multi_valued) || name.eq_ignore_ascii_case("members")
}

fn patch_op(op: &Value, out: &mut Vec<Quirk>) {
    let Some(obj) = op.as_object() else { return };
    let kind = get(obj, "op").and_then(Value::as_str).unwrap_or("");
    if kind.chars().any(|c| c.is_ascii_uppercase()) {
        out.push(Quirk::CapitalisedOp);
    }
    let path = get(obj, "path").and_then(Value::as_str);
    let val = get(obj, "value");
    match (path, val) {
        (None, Some(Value::Object(v))) => {
            out.push(Quirk::PathlessPatch);
            if v.keys().any(|k| k.contains('.') || k.starts_with("urn:")) {
                out.push(Quirk::PathKeysInValue);
            }
            if v.keys().any(|k| k.eq_ignore_ascii_case("id")) {
                out.push(Quirk::IdInPatchValue);
            }
            values(v, out);
        }
        (Some(p), v) => {
            let remove = kind.eq_ignore_ascii_case("remove");
            if remove && v.is_some_and(|v| !v.is_null()) && !p.contains('[') {
                out.push(Quirk::RemoveByValue);
            }
            if kind.eq_ignore_ascii_case("add") && p.contains('[') {
                out.push(Quirk::AddOnFilteredPath);
            }
            if let Some(v) = v.filter(|_| !remove) {
                value(p, v, out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_patch_without_the_flag() {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}]},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@b"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "m1"}
        ]});
        let q = in_body(&body);
        for want in [
            Quirk::CapitalisedOp,
            Quirk::StringBoolean,
            Quirk::RemoveByValue,
            Quirk::AddOnFilteredPath,
            Quirk::ManagerShape,
        ] {
            assert!(q.contains(&want), "{want:?} in {q:?}");
        }
    }

    #[test]
    fn okta_bodies() {
        let deactivate = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
        assert_eq!(in_body(&deactivate), vec![Quirk::PathlessPatch]);
        let rename = json!({"Operations": [{"op": "replace", "value": {"id": "g1", "displayName": "x"}}]});
        assert_eq!(in_body(&rename), vec![Quirk::PathlessPatch, Quirk::IdInPatchValue]);
        let put = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "1", "userName": "a",
            "password": "p", "groups": [], "emails": {"value": "a@b"}, "nickName": ""});
        assert_eq!(
            in_body(&put),
            vec![Quirk::ObjectForList, Quirk::EmptyString, Quirk::ReadOnlyInput, Quirk::Password]
        );
    }

    #[test]
    fn clean_requests_have_no_quirks() {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": true,
            "emails": [{"value": "a@b", "primary": true}]});
        assert!(in_body(&body).is_empty());
        let patch = json!({"Operations": [{"op": "replace", "path": "active", "value": false}]});
        assert!(in_body(&patch).is_empty());
        assert!(
            in_request(
                "/scim/v2/Users",
                Some("filter=userName%20eq%20%22a%22"),
                Some("Okta"),
                Some("application/scim+json"),
                true
            )
            .is_empty()
        );
    }

    #[test]
    fn request_line_quirks() {
        let q = in_request("/scim/v2//Users/", Some("aadOptscim062020&filter=userName+eq+%22a%22"), None, None, true);
        assert_eq!(
            q,
            vec![Quirk::NoUserAgent, Quirk::SloppyPath, Quirk::EntraFlag, Quirk::PlusInQuery, Quirk::NoContentType]
        );
        for q in Quirk::ALL {
            assert_eq!(Quirk::from_code(q.code()), Some(q));
        }
    }
}
