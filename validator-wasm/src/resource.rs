//! Normalising a client's resource body against the schema (RFC 7643 §2, §7).
//!
//! IdPs bend the RFC (idp-behaviour.md §5), so the rules are liberal in what they take and exact in
//! what they keep: attribute names match case-insensitively and are stored in their canonical
//! casing; `null` and `""` mean unassigned; `"True"`/`"False"` strings become booleans; a single
//! value given for a multi-valued attribute becomes a one-element list; a scalar given for a
//! complex attribute with a `value` sub-attribute becomes `{"value": scalar}`; read-only,
//! write-only (`password`) and unknown attributes are dropped. What cannot be made sense of is an
//! `invalidValue` error naming the attribute, the expected type and what was sent.

use serde_json::{Map, Value};

use crate::error::{Result, ValidationError};
use crate::path::{AttrPath, Container};
use crate::schema::{AttrType, Attribute, Mutability, ResourceType, Schema};

/// Turns a client body (POST or PUT, RFC 7644 §3.3, §3.5.1) into the stored document: canonical
/// attribute names, core attributes at the top level, extension attributes in an object under the
/// extension URN. `id`, `meta` and `schemas` are not part of the document.
///
/// ```
/// use scimbox_validator::{resource::normalize, schema::USER_RESOURCE};
/// let doc = normalize(&USER_RESOURCE, &serde_json::json!({
///     "USERNAME": "bjensen", "emails": {"value": "b@example.com"}, "id": "ignored",
///     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tour"}
/// })).unwrap();
/// assert_eq!(doc["userName"], "bjensen");
/// assert_eq!(doc["emails"][0]["value"], "b@example.com");
/// assert!(doc.get("id").is_none());
/// ```
pub fn normalize(rt: &ResourceType, input: &Value) -> Result<Map<String, Value>> {
    let Value::Object(obj) = input else {
        return Err(ValidationError::syntax(format!(
            "the {} body must be a JSON object, got {}",
            rt.name,
            kind_of(input)
        )));
    };
    let mut doc = Map::new();
    for (key, value) in obj {
        normalize_entry(rt, &mut doc, key, value)?;
    }
    if let Some(Value::String(name)) = doc.get("userName") {
        crate::text::check_user_name(name)?; // no control or bidi character (issue 11 §9)
    }
    Ok(doc)
}

/// The keys that are never part of the stored document: the server owns them.
fn is_server_owned(key: &str) -> bool {
    ["schemas", "id", "meta"].iter().any(|k| k.eq_ignore_ascii_case(key))
}

fn normalize_entry(rt: &ResourceType, doc: &mut Map<String, Value>, key: &str, value: &Value) -> Result<()> {
    if is_server_owned(key) {
        return Ok(());
    }
    if key.eq_ignore_ascii_case("externalId") {
        if let Some(v) = normalize_scalar(&EXTERNAL_ID, value, Shown::Name("externalId"))? {
            doc.insert("externalId".into(), v);
        }
        return Ok(());
    }
    if let Some(schema) = schema_by_urn(rt, key) {
        return normalize_schema_object(rt, doc, schema, value, key);
    }
    if let Some((schema, attr_name)) = split_qualified(rt, key) {
        let Some(attr) = schema.attribute(attr_name) else {
            return Ok(()); // unknown attribute of a known schema: ignored like any unknown one
        };
        return put(rt, doc, schema, attr, value, Shown::Name(key));
    }
    match rt.schema.attribute(key) {
        Some(attr) => put(rt, doc, rt.schema, attr, value, Shown::Name(key)),
        None => Ok(()), // unknown attributes that IdPs add are ignored, not refused
    }
}

/// The `externalId` common attribute (RFC 7643 §3.1): a case-exact string owned by the client.
static EXTERNAL_ID: Attribute = Attribute::string("externalId", "").case_exact();

/// The resource type's schema (core or extension) with this URN, matched case-insensitively.
pub fn schema_by_urn(rt: &ResourceType, urn: &str) -> Option<&'static Schema> {
    rt.schemas().find(|s| s.id.eq_ignore_ascii_case(urn))
}

/// Splits `urn:...:User:attr` into its schema and attribute name.
fn split_qualified<'k>(rt: &ResourceType, key: &'k str) -> Option<(&'static Schema, &'k str)> {
    let (urn, name) = key.rsplit_once(':')?;
    schema_by_urn(rt, urn).map(|s| (s, name))
}

/// A whole schema given as one object: `"urn:...:enterprise:2.0:User": {...}`.
fn normalize_schema_object(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    schema: &'static Schema,
    value: &Value,
    key: &str,
) -> Result<()> {
    match value {
        Value::Null => Ok(()),
        Value::Object(obj) => {
            for (k, v) in obj {
                if let Some(attr) = schema.attribute(k) {
                    put(rt, doc, schema, attr, v, Shown::Qualified(key, k))?;
                }
            }
            Ok(())
        }
        other => Err(ValidationError::value(format!(
            "\"{key}\" must be an object holding that schema's attributes, got {}",
            kind_of(other)
        ))),
    }
}

/// Normalises one attribute and stores it where its schema says.
fn put(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    schema: &'static Schema,
    attr: &'static Attribute,
    value: &Value,
    shown: Shown<'_>,
) -> Result<()> {
    // `accounts` payloads keep their raw form here (a list of strings, one string holding a JSON
    // array, or objects): `accounts::settle` checks them with the catalogue and keeps them as sent.
    let raw_accounts = attr.name == crate::schema::ACCOUNTS.name && !value.is_null();
    let normalized = if raw_accounts { Some(value.clone()) } else { normalize_at(attr, value, shown)? };
    let Some(v) = normalized else {
        return Ok(());
    };
    if std::ptr::eq(schema, rt.schema) {
        doc.insert(attr.name.to_string(), v);
    } else {
        let ext = doc.entry(schema.id.to_string()).or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(ext) = ext {
            ext.insert(attr.name.to_string(), v);
        }
    }
    Ok(())
}

/// Normalises one attribute value; `None` means "unassigned" (null, empty, read-only, write-only).
pub fn normalize_attribute(attr: &Attribute, value: &Value, shown: &str) -> Result<Option<Value>> {
    normalize_at(attr, value, Shown::Name(shown))
}

/// Where a value is in the body, for error messages alone: `emails[0].value` is written only
/// when an error names it, not built for every value checked (issue 17, fourth round: those
/// strings were most of a create's allocations in normalisation).
#[derive(Clone, Copy)]
enum Shown<'a> {
    /// An attribute as the body names it.
    Name(&'a str),
    /// The `n`th item of a multi-valued attribute.
    Item(&'a Shown<'a>, usize),
    /// A sub-attribute of a complex value.
    Sub(&'a Shown<'a>, &'a str),
    /// An attribute inside a schema's object: `urn:...:User` and `department`.
    Qualified(&'a str, &'a str),
}

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Shown::Name(name) => f.write_str(name),
            Shown::Item(within, i) => write!(f, "{within}[{i}]"),
            Shown::Sub(within, name) => write!(f, "{within}.{name}"),
            Shown::Qualified(urn, name) => write!(f, "{urn}:{name}"),
        }
    }
}

/// [`normalize_attribute`] with its place as a [`Shown`].
fn normalize_at(attr: &Attribute, value: &Value, shown: Shown<'_>) -> Result<Option<Value>> {
    if value.is_null() || matches!(attr.mutability, Mutability::ReadOnly | Mutability::WriteOnly) {
        return Ok(None);
    }
    if !attr.multi_valued {
        return normalize_single(attr, value, shown);
    }
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        single => vec![single],
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        if let Some(v) = normalize_single(attr, item, Shown::Item(&shown, i))? {
            out.push(v);
        }
    }
    check_one_primary(&out, shown)?;
    Ok((!out.is_empty()).then_some(Value::Array(out)))
}

/// RFC 7643 §2.4: "The primary attribute value 'true' MUST appear no more than once."
fn check_one_primary(values: &[Value], shown: Shown<'_>) -> Result<()> {
    let primaries = values.iter().filter(|v| v.get("primary") == Some(&Value::Bool(true))).count();
    if primaries > 1 {
        return Err(ValidationError::value(format!(
            "\"{shown}\": {primaries} values are marked primary; at most one may be (RFC 7643 §2.4)"
        )));
    }
    Ok(())
}

fn normalize_single(attr: &Attribute, value: &Value, shown: Shown<'_>) -> Result<Option<Value>> {
    if attr.ty != AttrType::Complex {
        return normalize_scalar(attr, value, shown);
    }
    match value {
        Value::Null => Ok(None),
        Value::Object(obj) => normalize_complex(attr, obj, shown),
        // A bare value for a complex attribute that has a `value` sub-attribute (Entra's manager).
        scalar if attr.sub("value").is_some() && !scalar.is_array() => {
            let mut obj = Map::new();
            obj.insert("value".into(), scalar.clone());
            normalize_complex(attr, &obj, shown)
        }
        other => Err(ValidationError::value(format!(
            "\"{shown}\" must be an object with sub-attributes {}, got {}",
            sub_names(attr),
            kind_of(other)
        ))),
    }
}

fn normalize_complex(attr: &Attribute, obj: &Map<String, Value>, shown: Shown<'_>) -> Result<Option<Value>> {
    let decoded = json_encoded_role(attr, obj);
    let obj = decoded.as_ref().unwrap_or(obj);
    if attr.multi_valued && attr.sub("value").is_some() && has_empty_value(obj) {
        return Ok(None); // `{"value": "", "type": "mobile"}`: an unset template field (OneLogin)
    }
    let mut out = Map::new();
    for (k, v) in obj {
        let Some(sub) = attr.sub(alias(attr, k)) else { continue };
        if sub.mutability == Mutability::ReadOnly && attr.mutability != Mutability::ReadOnly {
            continue;
        }
        if let Some(v) = normalize_scalar(sub, v, Shown::Sub(&shown, sub.name))? {
            out.insert(sub.name.to_string(), v);
        }
    }
    Ok((!out.is_empty()).then_some(Value::Object(out)))
}

/// SCIM 1.1 spelled the manager's id `managerId` (OneLogin templates still do).
fn alias<'k>(attr: &Attribute, key: &'k str) -> &'k str {
    if attr.name == "manager" && key.eq_ignore_ascii_case("managerId") { "value" } else { key }
}

fn has_empty_value(obj: &Map<String, Value>) -> bool {
    obj.iter().any(|(k, v)| k.eq_ignore_ascii_case("value") && (v.is_null() || v.as_str() == Some("")))
}

/// Entra ID's `AppRoleAssignmentsComplex` PATCHes roles as `{"value": "<JSON text>"}`, the JSON
/// being `{"id":..,"value":"Admin","displayName":"Admin"}` (idp-behaviour.md §2.2 item 17): the
/// role is that object's `value`, its `displayName` the display.
fn json_encoded_role(attr: &Attribute, obj: &Map<String, Value>) -> Option<Map<String, Value>> {
    if attr.name != "roles" {
        return None;
    }
    let text = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("value"))?.1.as_str()?;
    let Ok(Value::Object(inner)) = serde_json::from_str::<Value>(text.trim()) else { return None };
    let mut out = obj.clone();
    out.retain(|k, _| !k.eq_ignore_ascii_case("value"));
    out.insert("value".into(), inner.get("value")?.clone());
    if let Some(d) = inner.get("displayName").or_else(|| inner.get("display")) {
        out.entry("display").or_insert_with(|| d.clone());
    }
    Some(out)
}

/// The largest string value an attribute may hold, in bytes of UTF-8: 64 KiB. RFC 7643 sets no
/// size; real values are names, addresses, ids and certificates (a few KiB of base64). A bound
/// keeps one attribute from filling the 1 MiB request body and then every list page, the
/// journal and the history it is copied to. Checked here, where every body and every PATCH result
/// is normalised, so the server and the browser checker agree.
pub const MAX_STRING_BYTES: usize = 64 * 1024;

/// Checks and coerces a non-complex value against its type (RFC 7643 §2.3).
fn normalize_scalar(attr: &Attribute, value: &Value, shown: Shown<'_>) -> Result<Option<Value>> {
    if let Value::String(s) = value
        && s.len() > MAX_STRING_BYTES
    {
        return Err(ValidationError::value(format!(
            "\"{shown}\" is {} bytes long; a string value may be at most {MAX_STRING_BYTES} bytes (64 KiB)",
            s.len()
        )));
    }
    let bad =
        || ValidationError::value(format!("\"{shown}\" must be {}, got {}", type_phrase(attr.ty), kind_of(value)));
    match (attr.ty, value) {
        (_, Value::Null) => Ok(None),
        (_, Value::String(s)) if s.is_empty() => Ok(None),
        (AttrType::Boolean, Value::Bool(_)) => Ok(Some(value.clone())),
        (AttrType::Boolean, Value::String(s)) => parse_bool(s).map(|b| Some(Value::Bool(b))).ok_or_else(bad),
        (AttrType::Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
        (AttrType::Decimal, Value::Number(_)) => Ok(Some(value.clone())),
        (AttrType::DateTime, Value::String(s)) => parse_datetime(s).map(|_| Some(value.clone())).ok_or_else(bad),
        (AttrType::Binary, Value::String(s)) if is_base64(s) => Ok(Some(value.clone())),
        (AttrType::String | AttrType::Reference, Value::String(_)) => Ok(Some(value.clone())),
        _ => Err(bad()),
    }
}

/// `true`/`false` in any case, as Entra ID sends them (`"False"`), with surrounding spaces trimmed.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        t if t.eq_ignore_ascii_case("true") => Some(true),
        t if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Parses an `xsd:dateTime` (RFC 7643 §2.3.5) as RFC 3339.
pub fn parse_datetime(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

fn is_base64(s: &str) -> bool {
    let body = s.trim_end_matches('=');
    s.len() - body.len() <= 2
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_'))
}

fn type_phrase(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean (true or false)",
        AttrType::Decimal => "a number",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "a date-time string such as \"2026-01-31T12:00:00Z\"",
        AttrType::Binary => "a base64-encoded string",
        AttrType::Reference => "a URI string",
        AttrType::Complex => "an object",
    }
}

pub(crate) fn sub_names(attr: &Attribute) -> String {
    let names: Vec<&str> = attr.sub_attributes.iter().map(|s| s.name).collect();
    names.join(", ")
}

/// Names a JSON value's kind for error messages: `the string "yes"`, `a number`, `an array`.
pub fn kind_of(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) if s.chars().count() > 40 => {
            let head: String = s.chars().take(40).collect();
            format!("the string \"{head}...\"")
        }
        Value::String(s) => format!("the string \"{s}\""),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// Refuses a document that lacks a required attribute (RFC 7643 §7 `required`; RFC 7644 §3.12
/// `invalidValue`: "a required value was missing"). `extra` names further required core
/// attributes by path (`name.givenName`), from the deployment's settings.
pub fn check_required(rt: &ResourceType, doc: &Map<String, Value>, extra: &[String]) -> Result<()> {
    for attr in rt.schema.attributes.iter().filter(|a| a.required) {
        if !doc.contains_key(attr.name) {
            return Err(missing(rt, attr.name));
        }
    }
    for path in extra {
        let present = match path.split_once('.') {
            Some((a, s)) => doc.get(a).and_then(|v| v.get(s)).is_some(),
            // `accounts` may come under the scimbox extension (Entra's form).
            None if path == crate::schema::ACCOUNTS.name => {
                doc.contains_key(path.as_str())
                    || doc.get(crate::schema::SCIMBOX_USER_URN).and_then(|e| e.get(path.as_str())).is_some()
            }
            None => doc.contains_key(path.as_str()),
        };
        if !present {
            return Err(missing(rt, path));
        }
    }
    Ok(())
}

fn missing(rt: &ResourceType, name: &str) -> ValidationError {
    ValidationError::value(format!("the required attribute \"{name}\" is missing from the {}", rt.name))
}

/// Refuses a change to an `immutable` attribute that already has a value (RFC 7643 §7,
/// RFC 7644 §3.5.1: "immutable ... the input values MUST match").
pub fn check_immutable(rt: &ResourceType, old: &Map<String, Value>, new: &Map<String, Value>) -> Result<()> {
    for attr in rt.schema.attributes {
        let changed = |a: &Attribute| attr_changed(old.get(attr.name), new.get(attr.name), a);
        if attr.mutability == Mutability::Immutable && changed(attr) {
            return Err(ValidationError::mutability(format!(
                "\"{}\" is immutable and already set; it cannot be changed",
                attr.name
            )));
        }
    }
    Ok(())
}

fn attr_changed(old: Option<&Value>, new: Option<&Value>, _attr: &Attribute) -> bool {
    matches!(old, Some(o) if new != Some(o))
}

/// Applies `attributes` / `excludedAttributes` to a resource (RFC 7644 §3.4.2.5, §3.9).
///
/// With `attributes`, the result holds `schemas`, `id` (returned always) and the named
/// attributes alone; a sub-attribute path (`name.givenName`, `emails.value`) keeps only those
/// sub-attributes; a bare extension URN keeps that whole extension. Otherwise `excludedAttributes`
/// removes the named attributes or sub-attributes, never `id` or `schemas`. Paths that name no
/// attribute of the resource type are ignored. `schemas` is trimmed to the extensions still present.
pub fn project(rt: &ResourceType, resource: Value, attributes: &[AttrPath], excluded: &[AttrPath]) -> Value {
    let Value::Object(mut obj) = resource else { return resource };
    if !attributes.is_empty() {
        obj = keep_only(rt, &obj, attributes);
    } else {
        for path in excluded {
            exclude(rt, &mut obj, path);
        }
    }
    trim_schemas(rt, &mut obj);
    Value::Object(obj)
}

/// Where a projection path points: the key of its container (`None` = top level) and, inside
/// it, the attribute and the sub-attribute.
struct Target {
    ext: Option<&'static str>,
    attr: &'static str,
    sub: Option<&'static str>,
}

fn target(rt: &ResourceType, path: &AttrPath) -> Option<Target> {
    let whole_ext = path.urn.as_ref().and_then(|u| schema_by_urn(rt, &format!("{u}:{}", path.name)));
    if let Some(s) = whole_ext.filter(|s| !std::ptr::eq(*s, rt.schema)) {
        return Some(Target { ext: Some(s.id), attr: "", sub: None });
    }
    let r = path.resolve(rt).ok()?;
    let ext = match r.container {
        Container::Extension(s) => Some(s.id),
        Container::Core | Container::Common => None,
    };
    Some(Target { ext, attr: r.attr.name, sub: r.sub.map(|s| s.name) })
}

fn keep_only(rt: &ResourceType, obj: &Map<String, Value>, paths: &[AttrPath]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in ["schemas", "id"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    for t in paths.iter().filter_map(|p| target(rt, p)) {
        let Some(ext) = t.ext else {
            copy_attr(obj, &mut out, t.attr, t.sub);
            continue;
        };
        let Some(Value::Object(src)) = obj.get(ext) else { continue };
        if t.attr.is_empty() {
            out.insert(ext.into(), Value::Object(src.clone()));
            continue;
        }
        let mut picked = match out.shift_remove(ext) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        copy_attr(src, &mut picked, t.attr, t.sub);
        if !picked.is_empty() {
            out.insert(ext.into(), Value::Object(picked));
        }
    }
    out
}

/// Copies `attr` (or only its `sub`) from `src` into `dst`, merging with what is already there.
fn copy_attr(src: &Map<String, Value>, dst: &mut Map<String, Value>, attr: &str, sub: Option<&str>) {
    let Some(value) = src.get(attr) else { return };
    let Some(sub) = sub else {
        dst.insert(attr.into(), value.clone());
        return;
    };
    match (value, dst.get_mut(attr)) {
        (Value::Object(_), Some(Value::Object(have))) => pick_into(value, have, sub),
        (Value::Array(items), Some(Value::Array(have))) if have.len() == items.len() => {
            for (item, h) in items.iter().zip(have.iter_mut()) {
                if let Value::Object(h) = h {
                    pick_into(item, h, sub);
                }
            }
        }
        (Value::Object(_), _) => {
            let mut m = Map::new();
            pick_into(value, &mut m, sub);
            dst.insert(attr.into(), Value::Object(m));
        }
        (Value::Array(items), _) => {
            let picked = items
                .iter()
                .map(|item| {
                    let mut m = Map::new();
                    pick_into(item, &mut m, sub);
                    Value::Object(m)
                })
                .collect();
            dst.insert(attr.into(), Value::Array(picked));
        }
        _ => {}
    }
}

fn pick_into(item: &Value, into: &mut Map<String, Value>, sub: &str) {
    if let Some(v) = item.get(sub) {
        into.insert(sub.into(), v.clone());
    }
}

fn exclude(rt: &ResourceType, obj: &mut Map<String, Value>, path: &AttrPath) {
    let Some(t) = target(rt, path) else { return };
    if t.ext.is_none() && (t.attr == "id" || t.attr == "schemas") {
        return; // returned: always
    }
    let container = match t.ext {
        Some(ext) if t.attr.is_empty() => {
            obj.shift_remove(ext);
            return;
        }
        Some(ext) => match obj.get_mut(ext) {
            Some(Value::Object(m)) => m,
            _ => return,
        },
        None => obj,
    };
    match t.sub {
        None => {
            container.shift_remove(t.attr);
        }
        Some(sub) => match container.get_mut(t.attr) {
            Some(Value::Object(m)) => {
                m.shift_remove(sub);
            }
            Some(Value::Array(items)) => items.iter_mut().filter_map(Value::as_object_mut).for_each(|m| {
                m.shift_remove(sub);
            }),
            _ => {}
        },
    }
    if let Some(ext) = t.ext
        && obj.get(ext).and_then(Value::as_object).is_some_and(Map::is_empty)
    {
        obj.shift_remove(ext);
    }
}

/// Keeps in `schemas` the core schema and the extensions whose object is present.
fn trim_schemas(rt: &ResourceType, obj: &mut Map<String, Value>) {
    let present: Vec<bool> = rt.extensions.iter().map(|e| obj.contains_key(e.schema.id)).collect();
    if let Some(Value::Array(schemas)) = obj.get_mut("schemas") {
        schemas.retain(|s| {
            let s = s.as_str().unwrap_or("");
            rt.extensions.iter().zip(&present).all(|(e, p)| *p || !e.schema.id.eq_ignore_ascii_case(s))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTERPRISE_USER_URN, USER_RESOURCE};
    use serde_json::json;

    fn norm(v: Value) -> Result<Map<String, Value>> {
        normalize(&USER_RESOURCE, &v)
    }

    #[test]
    fn canonicalises_names_and_drops_server_owned_and_unknown() {
        let doc = norm(json!({
            "schemas": ["urn:x"], "id": "1", "meta": {}, "groups": [{"value": "g"}],
            "UserName": "a", "NAME": {"GivenName": "B", "bogus": 1}, "favouriteColour": "blue",
            "password": "secret"
        }))
        .unwrap();
        assert_eq!(Value::Object(doc), json!({"userName": "a", "name": {"givenName": "B"}}));
    }

    #[test]
    fn coerces_what_idps_send() {
        let doc = norm(json!({
            "userName": "a", "active": "False", "emails": {"value": "a@x", "primary": "true"},
            "nickName": "", "title": null,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m1"}
        }))
        .unwrap();
        assert_eq!(doc["active"], false);
        assert_eq!(doc["emails"], json!([{"value": "a@x", "primary": true}]));
        assert!(!doc.contains_key("nickName") && !doc.contains_key("title"));
        assert_eq!(doc[ENTERPRISE_USER_URN]["manager"], json!({"value": "m1"}));
    }

    #[test]
    fn urn_qualified_keys_land_in_their_schema() {
        let doc = norm(json!({
            "urn:ietf:params:scim:schemas:core:2.0:User:userName": "a",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "42",
            "urn:ietf:params:scim:schemas:core:2.0:User": {"displayName": "A"}
        }))
        .unwrap();
        assert_eq!(doc["userName"], "a");
        assert_eq!(doc["displayName"], "A");
        assert_eq!(doc[ENTERPRISE_USER_URN]["employeeNumber"], "42");
    }

    #[test]
    fn refuses_wrong_types_naming_the_attribute() {
        let cases = [
            (json!({"userName": 5}), "\"userName\" must be a string, got the number 5"),
            (json!({"userName": "a", "active": "yes"}), "\"active\" must be a boolean"),
            (json!({"userName": "a", "emails": [{"value": "x"}, {"value": 1}]}), "\"emails[1].value\""),
            (json!({"userName": "a", "name": "Bob"}), "\"name\" must be an object"),
            (json!({"userName": "a", "name": {"givenName": 7}}), "\"name.givenName\" must be a string"),
            (json!({"userName": "a", "emails": [{"value": "x", "primary": "maybe"}]}), "\"emails[0].primary\""),
            (
                json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
                "\"emails\": 2 values are marked primary",
            ),
            (
                json!({"userName": "a", ENTERPRISE_USER_URN: {"manager": {"value": 3}}}),
                "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value\" must be a string",
            ),
            (
                json!({"userName": "a", ENTERPRISE_USER_URN: {"employeeNumber": []}}),
                "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber\" must be a string",
            ),
            (json!([1]), "must be a JSON object"),
        ];
        for (body, want) in cases {
            let err = norm(body.clone()).unwrap_err();
            assert!(err.detail.contains(want), "{body}: {}", err.detail);
        }
    }

    #[test]
    fn one_primary_at_most() {
        let err = norm(json!({"userName": "a", "emails": [
            {"value": "a", "primary": true}, {"value": "b", "primary": true}]}))
        .unwrap_err();
        assert_eq!(err.scim_type, crate::ScimType::InvalidValue);
    }

    #[test]
    fn required_attributes() {
        let doc = norm(json!({"displayName": "x"})).unwrap();
        let err = check_required(&USER_RESOURCE, &doc, &[]).unwrap_err();
        assert!(err.detail.contains("\"userName\""));
        let doc = norm(json!({"userName": "x", "name": {"familyName": "F"}})).unwrap();
        assert!(check_required(&USER_RESOURCE, &doc, &[]).is_ok());
        let err = check_required(&USER_RESOURCE, &doc, &["name.givenName".into()]).unwrap_err();
        assert!(err.detail.contains("name.givenName"));
    }
}
