//! Value-filtered targets: `emails[type eq "work"]` and `emails[type eq "work"].value`
//! (RFC 7644 §3.5.2), including the element an `add` creates when nothing matches.

use serde_json::{Map, Value};

use super::PatchOpKind;
use super::apply::missing_value;
use super::doc::{insert_ci, remove_ci};
use super::unfiltered::set_sub;
use super::value::{fix_primary, from_vec, merge_element, one_element, to_vec};
use crate::error::{Result, ValidationError};
use crate::filter::{CompareOp, Filter, Literal};
use crate::schema::Attribute;

/// The new value of `attr` after `kind` on the elements `filter` selects (and their `sub`).
pub(super) fn filtered(
    kind: PatchOpKind,
    attr: &'static Attribute,
    filter: &Filter,
    sub: Option<&'static Attribute>,
    current: Option<Value>,
    v: Option<&Value>,
) -> Result<Option<Value>> {
    let mut items = to_vec(current);
    let mut hits: Vec<usize> =
        (0..items.len()).filter(|&i| items.get(i).is_some_and(|e| filter.matches_value(attr, e))).collect();
    if hits.is_empty() {
        if kind == PatchOpKind::Remove || v.is_none_or(Value::is_null) {
            return Ok(from_vec(items)); // nothing to remove or to unassign: see apply_patch
        }
        items.push(upsert_element(kind, attr, filter, sub, v)?);
        hits.push(items.len() - 1);
        // The new element already carries the value: nothing more to set.
        fix_primary(&mut items, &hits);
        return Ok(from_vec(items));
    }
    match (kind, v) {
        (PatchOpKind::Remove, _) => remove_hits(&mut items, &hits, sub),
        (_, Some(v)) => {
            update_hits(kind, attr, &mut items, &hits, sub, v)?;
            fix_primary(&mut items, &hits);
        }
        (_, None) => return Err(missing_value(kind)),
    }
    Ok(from_vec(items))
}

fn remove_hits(items: &mut Vec<Value>, hits: &[usize], sub: Option<&Attribute>) {
    match sub {
        Some(sub) => {
            for &i in hits {
                if let Some(Value::Object(el)) = items.get_mut(i) {
                    remove_ci(el, sub.name);
                }
            }
        }
        None => {
            let mut i = 0;
            items.retain(|_| {
                i += 1;
                !hits.contains(&(i - 1))
            });
        }
    }
}

fn update_hits(
    kind: PatchOpKind,
    attr: &'static Attribute,
    items: &mut [Value],
    hits: &[usize],
    sub: Option<&'static Attribute>,
    v: &Value,
) -> Result<()> {
    let whole = match sub {
        None => one_element(attr, v)?,
        Some(_) => None,
    };
    for &i in hits {
        let Some(item) = items.get_mut(i) else {
            continue;
        };
        match (sub, kind, &whole) {
            (Some(sub), _, _) => set_sub(item, sub, v),
            (None, PatchOpKind::Replace, Some(new)) => *item = new.clone(),
            (None, PatchOpKind::Replace, None) => *item = Value::Null, // removed by tidy
            (None, _, Some(new)) => merge_element(attr, item, new.clone()),
            (None, _, None) => {}
        }
    }
    Ok(())
}

/// The element an `add` (or a `replace` with a sub-attribute) creates when its filter matches
/// nothing: the filter's `eq` terms plus the value (Entra, idp-behaviour.md §2.4 item 3).
/// Anything else is `noTarget` (RFC 7644 §3.5.2.3).
fn upsert_element(
    kind: PatchOpKind,
    attr: &'static Attribute,
    filter: &Filter,
    sub: Option<&'static Attribute>,
    v: Option<&Value>,
) -> Result<Value> {
    let no_target = || {
        ValidationError::no_target(format!(
            "the value filter on \"{}\" matched no value (RFC 7644 §3.5.2.3)",
            attr.name
        ))
    };
    if kind == PatchOpKind::Replace && sub.is_none() {
        return Err(no_target());
    }
    let Some(mut terms) = eq_terms(attr, filter) else {
        return Err(no_target());
    };
    let v = v.ok_or_else(|| missing_value(kind))?;
    let mut item = Value::Object(Map::new());
    match sub {
        Some(sub) => set_sub(&mut item, sub, v),
        None => {
            if let Some(new) = one_element(attr, v)? {
                merge_element(attr, &mut item, new);
            }
        }
    }
    if let Value::Object(obj) = &mut item {
        // The value's own sub-attributes win over the filter's.
        for (k, val) in std::mem::take(obj) {
            insert_ci(&mut terms, &k, val);
        }
    }
    Ok(Value::Object(terms))
}

/// The `sub eq literal [and ...]` terms of a filter, as an element; `None` if the filter is not
/// such a conjunction.
fn eq_terms(attr: &Attribute, filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::And(a, b) => {
            let mut left = eq_terms(attr, a)?;
            for (k, v) in eq_terms(attr, b)? {
                insert_ci(&mut left, &k, v);
            }
            Some(left)
        }
        Filter::Compare(path, CompareOp::Eq, literal) => {
            let name = match &path.sub {
                Some(s) if path.name.eq_ignore_ascii_case(attr.name) => s,
                Some(_) => return None,
                None => &path.name,
            };
            let sub = attr.sub(name)?;
            let value = literal_value(literal)?;
            let mut out = Map::new();
            out.insert(sub.name.to_string(), value);
            Some(out)
        }
        _ => None,
    }
}

fn literal_value(literal: &Literal) -> Option<Value> {
    match literal {
        Literal::String(s) => Some(Value::String(s.clone())),
        Literal::Number(n) => Some(Value::Number(n.clone())),
        Literal::Bool(b) => Some(Value::Bool(*b)),
        Literal::Null => None,
    }
}
