//! Elements and values: shaping a client's value into an attribute's elements, merging them,
//! SCIM equality of values, and `primary` (RFC 7643 §2.4).

use serde_json::{Map, Value};

use super::doc::{get_ci, insert_ci, set_ci};
use crate::error::{Result, ValidationError};
use crate::filter::fold;
use crate::path::{sub_names, values_of};
use crate::resource::parse_bool;
use crate::schema::{AttrType, Attribute, Mutability};

/// `null` is unassigned (RFC 7643 §2.5).
pub(super) fn assigned(v: Value) -> Option<Value> {
    (!v.is_null()).then_some(v)
}

/// The values of a multi-valued attribute given as a list or as one value.
pub(super) fn elements(attr: &'static Attribute, v: &Value) -> Result<Vec<Value>> {
    let given = values_of(v);
    let mut out = Vec::with_capacity(given.len());
    for g in given {
        if let Some(e) = element(attr, g)? {
            out.push(e);
        }
    }
    Ok(out)
}

/// One value of `attr`: for complex attributes an object (a scalar becomes `{"value": scalar}`
/// when there is a `value` sub-attribute; a one-element list is unwrapped for a singular
/// attribute), without read-only sub-attributes. `None` means unassigned.
pub(super) fn element(attr: &'static Attribute, v: &Value) -> Result<Option<Value>> {
    if attr.ty != AttrType::Complex {
        return Ok(assigned(v.clone()));
    }
    match v {
        Value::Null => Ok(None),
        Value::Object(obj) => Ok(Some(Value::Object(writable_subs(attr, obj)))),
        Value::Array(a) if !attr.multi_valued && a.len() <= 1 => match a.first() {
            Some(one) if !one.is_array() => element(attr, one),
            Some(_) => Err(complex_expected(attr, v)),
            None => Ok(None),
        },
        Value::Array(_) => Err(complex_expected(attr, v)),
        scalar if attr.sub("value").is_some() => {
            let mut obj = Map::new();
            obj.insert("value".into(), scalar.clone());
            Ok(Some(Value::Object(obj)))
        }
        _ => Err(complex_expected(attr, v)),
    }
}

fn complex_expected(attr: &Attribute, v: &Value) -> ValidationError {
    let got = match v {
        Value::Array(_) => "a list".to_string(),
        other => other.to_string(),
    };
    ValidationError::value(format!(
        "\"{}\" is complex: its value must be an object with sub-attributes {}, got {got}",
        attr.name,
        sub_names(attr)
    ))
}

/// The value for one element selected by a filter: like [`element`], also unwrapping a
/// one-element list (`"value": [{"value": "x"}]`).
pub(super) fn one_element(attr: &'static Attribute, v: &Value) -> Result<Option<Value>> {
    match v {
        Value::Array(a) if a.len() == 1 => a.first().map_or(Ok(None), |one| element(attr, one)),
        _ => element(attr, v),
    }
}

/// The object without read-only sub-attributes, which a client cannot set (RFC 7643 §7).
fn writable_subs(attr: &Attribute, obj: &Map<String, Value>) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| attr.sub(k).is_none_or(|s| s.mutability != Mutability::ReadOnly))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Merges `new` into `item`: sub-attributes by name, case-insensitively; `null` unassigns.
pub(super) fn merge_element(attr: &Attribute, item: &mut Value, new: Value) {
    match (item, new) {
        (Value::Object(base), Value::Object(new)) => {
            for (k, v) in new {
                set_ci(base, attr.sub(&k).map_or(k.as_str(), |s| s.name), v);
            }
        }
        (item, new) => *item = new,
    }
}

/// Merges into an element already holding the same value only the sub-attributes that differ,
/// so an equal value sent in another case leaves the stored one as it is.
pub(super) fn merge_changes(attr: &Attribute, item: &mut Value, new: Value) {
    let (Value::Object(base), Value::Object(mut new)) = (&mut *item, new) else {
        return;
    };
    new.retain(|k, v| !get_ci(base, k).is_some_and(|old| json_eq(attr.sub(k), old, v)));
    merge_element(attr, item, Value::Object(new));
}

/// Whether two values of `attr` are the same value: complex values with a `value` are the same
/// when their `value`s are equal and their `type`s do not differ; other values when equal.
pub(super) fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
    let (Value::Object(x), Value::Object(y)) = (a, b) else {
        return json_eq(Some(attr), a, b);
    };
    let value_of = |m: &'_ Map<String, Value>| get_ci(m, "value").filter(|v| !v.is_null()).cloned();
    match (attr.sub("value"), value_of(x), value_of(y)) {
        (Some(sub), Some(vx), Some(vy)) => {
            let type_of = |m: &'_ Map<String, Value>| get_ci(m, "type").filter(|v| !v.is_null()).cloned();
            let types_agree = match (type_of(x), type_of(y)) {
                (Some(tx), Some(ty)) => json_eq(attr.sub("type"), &tx, &ty),
                _ => true,
            };
            json_eq(Some(sub), &vx, &vy) && types_agree
        }
        _ => json_eq(Some(attr), a, b),
    }
}

/// SCIM equality: names case-insensitive, strings per `caseExact`, `"True"` equals `true`,
/// numbers by value, `null` members ignored.
pub(super) fn json_eq(attr: Option<&Attribute>, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if attr.is_some_and(|t| t.ty == AttrType::Boolean) {
                return as_bool(a).is_some() && as_bool(a) == as_bool(b);
            }
            attr.map_or(x == y, |t| fold(t, x) == fold(t, y))
        }
        (Value::Bool(_), Value::String(_)) | (Value::String(_), Value::Bool(_)) => {
            as_bool(a).is_some() && as_bool(a) == as_bool(b)
        }
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => objects_eq(attr, x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(attr, p, q)),
        _ => a == b,
    }
}

fn objects_eq(attr: Option<&Attribute>, x: &Map<String, Value>, y: &Map<String, Value>) -> bool {
    let count = |m: &Map<String, Value>| m.values().filter(|v| !v.is_null()).count();
    count(x) == count(y)
        && x.iter()
            .filter(|(_, v)| !v.is_null())
            .all(|(k, v)| get_ci(y, k).is_some_and(|w| json_eq(attr.and_then(|a| a.sub(k)), v, w)))
}

/// A boolean, or Entra's `"True"`/`"False"` in any case.
fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => parse_bool(s),
        _ => None,
    }
}

fn is_primary(v: &Value) -> bool {
    v.as_object().and_then(|obj| get_ci(obj, "primary")).and_then(as_bool).unwrap_or(false)
}

/// RFC 7644 §3.5.2: setting a value's `primary` to true "SHALL cause the server to automatically
/// set 'primary' to 'false' for any other values". Elements in `touched` were set by this
/// operation; the others lose `primary` if one of them is primary.
pub(super) fn fix_primary(items: &mut [Value], touched: &[usize]) {
    let new_primary = touched.iter().any(|&i| items.get(i).is_some_and(is_primary));
    if !new_primary {
        return;
    }
    for (i, item) in items.iter_mut().enumerate() {
        if touched.contains(&i) || !is_primary(item) {
            continue;
        }
        if let Value::Object(obj) = item {
            insert_ci(obj, "primary", Value::Bool(false));
        }
    }
}

/// The values of an attribute's current value, as a list.
pub(super) fn to_vec(current: Option<Value>) -> Vec<Value> {
    match current {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(one) => vec![one],
    }
}

/// A list of values as an attribute value; `None` (unassigned) when empty.
pub(super) fn from_vec(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}
