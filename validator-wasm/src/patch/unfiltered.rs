//! Targets without a value filter: a sub-attribute on every element, a multi-valued attribute's
//! values, a singular complex attribute, and Entra's listed-member removal.

use serde_json::{Map, Value};

use super::doc::{get_ci, remove_ci, set_ci};
use super::value::{
    element, elements, fix_primary, from_vec, json_eq, merge_changes, merge_element, same_value, to_vec,
};
use crate::error::Result;
use crate::path::values_of;
use crate::schema::{AttrType, Attribute};

/// Sets a sub-attribute: on a singular complex attribute, or on every element of a multi-valued
/// one (creating one element if there is none).
pub(super) fn set_sub_everywhere(
    attr: &Attribute,
    sub: &Attribute,
    current: Option<Value>,
    v: &Value,
) -> Result<Option<Value>> {
    if !attr.multi_valued {
        let mut obj = object_or_new(current);
        set_sub(&mut obj, sub, v);
        return Ok(Some(obj));
    }
    let mut items = to_vec(current);
    if items.is_empty() {
        items.push(Value::Object(Map::new()));
    }
    for item in &mut items {
        set_sub(item, sub, v);
    }
    Ok(from_vec(items))
}

/// Removes a sub-attribute from a singular complex attribute or from every element.
pub(super) fn remove_sub_everywhere(attr: &Attribute, sub: &Attribute, current: Option<Value>) -> Option<Value> {
    let mut current = current?;
    match &mut current {
        Value::Object(obj) if !attr.multi_valued => remove_ci(obj, sub.name),
        Value::Array(items) => {
            for item in items.iter_mut() {
                if let Value::Object(obj) = item {
                    remove_ci(obj, sub.name);
                }
            }
        }
        _ => {}
    }
    Some(current)
}

/// Sets one sub-attribute of a complex value (an object); `null` unassigns it.
pub(super) fn set_sub(item: &mut Value, sub: &Attribute, v: &Value) {
    if let Value::Object(obj) = item {
        set_ci(obj, sub.name, v.clone());
    }
}

/// RFC 7644 §3.5.2.1 on a multi-valued attribute: the values are added, except those already
/// there, which are merged into the existing element.
pub(super) fn append(attr: &'static Attribute, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    let mut items = to_vec(current);
    let mut touched = Vec::new();
    for new in elements(attr, v)? {
        match items.iter().position(|e| same_value(attr, e, &new)) {
            Some(i) => {
                if let Some(item) = items.get_mut(i) {
                    merge_changes(attr, item, new);
                }
                touched.push(i);
            }
            None => {
                items.push(new);
                touched.push(items.len() - 1);
            }
        }
    }
    fix_primary(&mut items, &touched);
    Ok(from_vec(items))
}

/// Merges the sub-attributes of `v` into a singular complex attribute (RFC 7644 §3.5.2.1,
/// §3.5.2.3). An empty list or `null` unassigns it.
pub(super) fn merge_complex(attr: &'static Attribute, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    let Some(new) = element(attr, v)? else {
        return Ok(None);
    };
    let mut base = object_or_new(current);
    merge_element(attr, &mut base, new);
    Ok(Some(base))
}

/// The current object of a singular complex attribute, or a new empty one.
fn object_or_new(current: Option<Value>) -> Value {
    match current {
        Some(Value::Object(m)) => Value::Object(m),
        _ => Value::Object(Map::new()),
    }
}

/// Entra's `{"op":"Remove","path":"members","value":[{"value":"u1"}]}`: only the listed values go.
pub(super) fn remove_listed(attr: &Attribute, current: Option<Value>, listed: &Value) -> Option<Value> {
    let listed = values_of(listed);
    let mut items = to_vec(current);
    items.retain(|e| !listed.iter().any(|l| listed_matches(attr, e, l)));
    from_vec(items)
}

/// Whether element `e` is the value `l` names: by its `value` sub-attribute, or, when `l` has no
/// `value`, by every sub-attribute `l` gives (an empty `l` names nothing).
fn listed_matches(attr: &Attribute, e: &Value, l: &Value) -> bool {
    if attr.ty != AttrType::Complex {
        return json_eq(Some(attr), e, l);
    }
    let value_sub = attr.sub("value");
    match l {
        Value::Object(l) => match get_ci(l, "value").filter(|v| !v.is_null()) {
            Some(lv) => sub_eq(e, "value", value_sub, lv),
            None => {
                let given: Vec<_> = l.iter().filter(|(_, v)| !v.is_null()).collect();
                !given.is_empty() && given.iter().all(|(k, v)| sub_eq(e, k, attr.sub(k), v))
            }
        },
        scalar => sub_eq(e, "value", value_sub, scalar),
    }
}

/// Whether element `e`'s sub-attribute `name` equals `v`.
fn sub_eq(e: &Value, name: &str, sub: Option<&Attribute>, v: &Value) -> bool {
    e.as_object().and_then(|obj| get_ci(obj, name)).is_some_and(|ev| json_eq(sub, ev, v))
}
