//! The document: extension containers, attribute slots, case-insensitive keys, tidying after an
//! operation, and the required-attribute check (RFC 7643 §2.5, §3.3, §7).

use serde_json::{Map, Value};

use crate::error::{Result, ValidationError};
use crate::path::member_ci;
use crate::schema::{AttrType, Attribute, COMMON_ATTRIBUTES, Mutability, ResourceType, Schema};

/// The object holding an attribute: the document itself, or the extension's object (created
/// when `create`, in which case the URN is also added to a `schemas` list if the document has one).
pub(super) fn holder<'a>(
    doc: &'a mut Map<String, Value>,
    ext: Option<&'static Schema>,
    create: bool,
) -> Option<&'a mut Map<String, Value>> {
    let Some(ext) = ext else {
        return Some(doc);
    };
    let key = match find_key(doc, ext.id) {
        Some(key) => key,
        None if create => {
            set_schema_urn(doc, ext.id, true);
            doc.insert(ext.id.to_string(), Value::Object(Map::new()));
            ext.id.to_string()
        }
        None => return None,
    };
    let slot = doc.get_mut(&key)?;
    if !slot.is_object() {
        if !create {
            return None;
        }
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut()
}

/// Drops an extension object and its URN in `schemas`.
pub(super) fn remove_extension(doc: &mut Map<String, Value>, ext: &Schema) {
    if let Some(key) = find_key(doc, ext.id) {
        doc.shift_remove(&key);
        set_schema_urn(doc, ext.id, false);
    }
}

/// Keeps a document's `schemas` list (when it has one) in step with its extension objects.
fn set_schema_urn(doc: &mut Map<String, Value>, urn: &str, present: bool) {
    let Some(key) = find_key(doc, "schemas") else {
        return;
    };
    let Some(Value::Array(urns)) = doc.get_mut(&key) else {
        return;
    };
    let has = |u: &Value| u.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn));
    if present && !urns.iter().any(has) {
        urns.push(Value::String(urn.to_string()));
    } else if !present {
        urns.retain(|u| !has(u));
    }
}

/// Runs `f` on the attribute's current value (`None` when unassigned) and stores what it returns
/// (`None` unassigns). The key keeps its position and spelling; a new key gets the canonical name.
pub(super) fn with_slot(
    holder: &mut Map<String, Value>,
    name: &str,
    f: impl FnOnce(Option<Value>) -> Result<Option<Value>>,
) -> Result<()> {
    let key = find_key(holder, name);
    let current = key.as_ref().and_then(|k| holder.get_mut(k)).map(std::mem::take).filter(|v| !v.is_null());
    let new = f(current)?;
    match (key, new) {
        (Some(k), Some(v)) => {
            holder.insert(k, v);
        }
        (Some(k), None) => {
            holder.shift_remove(&k);
        }
        (None, Some(v)) => {
            holder.insert(name.to_string(), v);
        }
        (None, None) => {}
    }
    Ok(())
}

/// The key of `obj` that matches `name` case-insensitively (an exact match first).
fn find_key(obj: &Map<String, Value>, name: &str) -> Option<String> {
    member_ci(obj, name).map(|(k, _)| k.clone())
}

/// The value under the key that matches `name` case-insensitively (an exact match first).
pub(super) fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    member_ci(obj, name).map(|(_, v)| v)
}

/// Inserts under the existing key that matches `name` case-insensitively, or under `name`.
pub(super) fn insert_ci(obj: &mut Map<String, Value>, name: &str, v: Value) {
    let key = find_key(obj, name).unwrap_or_else(|| name.to_string());
    obj.insert(key, v);
}

/// Removes every key that matches `name` case-insensitively.
pub(super) fn remove_ci(obj: &mut Map<String, Value>, name: &str) {
    while let Some(key) = find_key(obj, name) {
        obj.shift_remove(&key);
    }
}

/// [`insert_ci`], or [`remove_ci`] when `v` is `null` (unassigned, RFC 7643 §2.5).
pub(super) fn set_ci(obj: &mut Map<String, Value>, name: &str, v: Value) {
    if v.is_null() {
        remove_ci(obj, name);
    } else {
        insert_ci(obj, name, v);
    }
}

/// Drops what is unassigned after an operation (RFC 7643 §2.5): `null`s, empty lists, empty
/// complex values, empty extension objects, a singular complex attribute whose `value` is `""`;
/// and writeOnly attributes, which scimbox never stores.
pub(super) fn tidy(rt: &ResourceType, doc: &mut Map<String, Value>) {
    for attr in COMMON_ATTRIBUTES.iter().filter(|a| a.mutability != Mutability::ReadOnly) {
        tidy_attr(doc, attr);
    }
    for attr in rt.schema.attributes {
        tidy_attr(doc, attr);
    }
    for ext in rt.extensions {
        let Some(key) = find_key(doc, ext.schema.id) else {
            continue;
        };
        let emptied = match doc.get_mut(&key) {
            Some(Value::Object(obj)) => {
                for attr in ext.schema.attributes {
                    tidy_attr(obj, attr);
                }
                obj.is_empty()
            }
            Some(Value::Null) => true,
            _ => false,
        };
        if emptied {
            remove_extension(doc, ext.schema);
        }
    }
}

fn tidy_attr(holder: &mut Map<String, Value>, attr: &Attribute) {
    let Some(key) = find_key(holder, attr.name) else {
        return;
    };
    let keep = attr.mutability != Mutability::WriteOnly && holder.get_mut(&key).is_some_and(|v| tidy_value(attr, v));
    if !keep {
        holder.shift_remove(&key);
    }
}

/// Tidies one attribute value in place; `false` means it is now unassigned.
fn tidy_value(attr: &Attribute, v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::Array(items) if attr.multi_valued => {
            for item in items.iter_mut() {
                if let Value::Object(obj) = item {
                    obj.retain(|_, v| !v.is_null());
                }
            }
            items.retain(|e| !e.is_null() && e.as_object().is_none_or(|o| !o.is_empty()));
            !items.is_empty()
        }
        Value::Object(obj) if attr.ty == AttrType::Complex => {
            obj.retain(|_, v| !v.is_null());
            let cleared = !attr.multi_valued
                && attr.sub("value").is_some()
                && get_ci(obj, "value").is_some_and(|v| v.as_str().is_some_and(|s| s.trim().is_empty()));
            !cleared && !obj.is_empty()
        }
        _ => true,
    }
}

/// Required attributes (RFC 7643 §7) that have a value: core ones at the top level, extension
/// ones in their extension object.
pub(super) fn present_required(
    rt: &ResourceType,
    doc: &Map<String, Value>,
) -> Vec<(Option<&'static str>, &'static Attribute)> {
    let mut out = Vec::new();
    for schema in rt.schemas() {
        let ext = (!std::ptr::eq(schema, rt.schema)).then_some(schema.id);
        for attr in schema.attributes.iter().filter(|a| a.required) {
            if has_value(doc, ext, attr) {
                out.push((ext, attr));
            }
        }
    }
    out
}

fn has_value(doc: &Map<String, Value>, ext: Option<&str>, attr: &Attribute) -> bool {
    let holder = match ext {
        None => Some(doc),
        Some(urn) => get_ci(doc, urn).and_then(Value::as_object),
    };
    holder
        .and_then(|h| get_ci(h, attr.name))
        .is_some_and(|v| !v.is_null() && v.as_array().is_none_or(|a| !a.is_empty()))
}

/// RFC 7644 §3.5.2.2: a required attribute that "becomes unassigned" is `mutability`.
pub(super) fn check_required(
    doc: &Map<String, Value>,
    before: &[(Option<&'static str>, &'static Attribute)],
) -> Result<()> {
    match before.iter().find(|(ext, attr)| !has_value(doc, *ext, attr)) {
        Some((_, attr)) => Err(ValidationError::mutability(format!(
            "\"{}\" is required and cannot become unassigned (RFC 7644 §3.5.2.2)",
            attr.name
        ))),
        None => Ok(()),
    }
}
