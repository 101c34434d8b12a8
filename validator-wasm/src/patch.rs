//! SCIM PATCH (RFC 7644 §3.5.2): parsing a `PatchOp` request body and applying its operations to a
//! stored resource document.
//!
//! The document is the resource's JSON object: core and common attributes at the top level,
//! extension attributes in an object under the extension URN
//! (`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "x"}}`).
//! Operations are applied in order, in place; the caller works on a clone and discards it on
//! `Err`, which makes a request atomic (RFC 7644 §3.5.2: a PATCH request "SHALL be treated as
//! atomic"; on an error "the original target resource MUST be restored").
//!
//! Values are stored as sent; the caller re-normalises types and key casing afterwards. What this
//! module decides is *where* a value goes and *which* values an operation touches. It follows the
//! RFC and, where real identity providers depart from it (idp-behaviour.md §1.2, §2.4, §2.5),
//! accepts what they send:
//!
//! * `op` and every key and attribute name match case-insensitively (`"Replace"`, `"Operations"`).
//! * `add` to `emails[type eq "work"].value` when no element matches creates
//!   `{"type": "work", "value": ...}` (Entra's upsert); so does `replace` with a sub-attribute.
//! * A path-less value may use attribute names, dotted paths (`name.givenName`), URN-qualified
//!   paths (`urn:...:enterprise:2.0:User:employeeNumber`), full PATCH paths
//!   (`emails[type eq "work"].value`) or a schema URN holding an object. Read-only keys (`id`,
//!   `meta`, `groups`), the server-owned `schemas` and unknown keys in it are ignored.
//! * `remove` of `members` with a `value` list removes only the listed members (matched on their
//!   `value` sub-attribute), never all; an empty list or `{}` removes nothing.
//! * A scalar for a complex attribute with a `value` sub-attribute (Entra's manager `"mgr-id"`)
//!   becomes `{"value": "mgr-id"}`, a one-element list for a singular complex attribute is
//!   unwrapped, and `{"value": ""}` clears a singular complex attribute.
//! * `"True"`/`"False"` count as booleans where values are compared (`primary`, filters, duplicate
//!   detection); they are stored as sent.
//!
//! Semantic choices where the RFC is silent or ambiguous:
//!
//! * `remove` whose value filter matches nothing succeeds and changes nothing (see
//!   [`apply_patch`]).
//! * `add` of an element equal to an existing one (same `value` and compatible `type`, or the same
//!   sub-attributes when there is no `value`) does not duplicate it; its sub-attributes are merged
//!   into the existing element (RFC 7644 §3.5.2.1: "no changes SHOULD be made" when the value is
//!   already there).
//! * `replace` of a singular complex attribute merges sub-attributes (RFC 7644 §3.5.2.3:
//!   "Sub-attributes that are not specified ... are left unchanged").
//! * A sub-attribute path on a multi-valued attribute without a filter (`emails.display`)
//!   addresses every element, as if the filter matched them all (RFC 7644 §3.5.2.3: "the matching
//!   sub-attribute of all matching records"); with no element, `add`/`replace` create one.
//! * `add` with a value filter and no sub-attribute (`emails[type eq "work"]`) merges the value
//!   into the matching elements.
//! * `remove` with both a filter and a `value` uses the filter; `remove` of a singular attribute
//!   ignores `value`.
//! * An explicit `null` value (add or replace) makes the target unassigned (RFC 7643 §2.5).
//! * When an extension object is created or dropped, a `schemas` list in the document (if any)
//!   gains or loses its URN.
//! * `password` (writeOnly) may be set; it is then dropped: scimbox never stores it.

use serde_json::{Map, Value};

use crate::error::{Result, ValidationError};
use crate::filter::{CompareOp, Filter, Literal};
use crate::path::{Container, PatchPath};
use crate::schema::{AttrType, Attribute, COMMON_ATTRIBUTES, Mutability, PATCH_OP_URN, ResourceType, Schema};

/// The three PATCH operations (RFC 7644 §3.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOpKind {
    /// Adds values (RFC 7644 §3.5.2.1).
    Add,
    /// Replaces values (RFC 7644 §3.5.2.3).
    Replace,
    /// Removes values (RFC 7644 §3.5.2.2).
    Remove,
}

impl PatchOpKind {
    /// Parses an `op` value, case-insensitively (Entra sends `"Add"`, `"Replace"`, `"Remove"`).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Add, Self::Replace, Self::Remove].into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// The operation's name as RFC 7644 §3.5.2 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Add => "add",
            Self::Replace => "replace",
            Self::Remove => "remove",
        }
    }
}

/// One element of a PatchOp's `Operations` array (RFC 7644 §3.5.2).
#[derive(Debug, Clone)]
pub struct PatchOperation {
    /// What to do.
    pub op: PatchOpKind,
    /// Where; `None` means the resource itself (allowed for add and replace only).
    pub path: Option<PatchPath>,
    /// The value; `None` when the member was absent (`Some(Value::Null)` when it was `null`).
    pub value: Option<Value>,
}

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
pub fn parse_patch(body: &Value) -> Result<Vec<PatchOperation>> {
    let obj = body.as_object().ok_or_else(|| ValidationError::syntax("a PatchOp body must be a JSON object"))?;
    check_schemas(obj)?;
    let ops = get_ci(obj, "Operations")
        .ok_or_else(|| ValidationError::syntax("a PatchOp body needs an \"Operations\" array"))?;
    let ops = ops.as_array().ok_or_else(|| ValidationError::syntax("\"Operations\" must be an array"))?;
    if ops.is_empty() {
        return Err(ValidationError::syntax("\"Operations\" must hold at least one operation"));
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
            return Err(ValidationError::value(format!(
                "Operations[{i}]: {} needs a \"value\" (RFC 7644 §3.5.2)",
                op.as_str()
            )));
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
        Some(Value::String(s)) => PatchPath::parse(s.trim())
            .map(Some)
            .map_err(|e| ValidationError::new(e.scim_type, format!("Operations[{i}].path: {}", e.detail))),
        Some(other) => Err(ValidationError::path(format!("Operations[{i}].path must be a string, got {other}"))),
    }
}

/// Applies `ops` in order to `doc` (RFC 7644 §3.5.2), stopping at the first error, whose detail
/// names the operation's index and path.
///
/// `doc` is modified in place: pass a clone and keep the original on `Err` to make the request
/// atomic. Rules beyond the per-operation ones of RFC 7644 §3.5.2.1–3:
///
/// * An explicit path to a `readOnly` attribute or sub-attribute (`id`, `meta.created`, `groups`,
///   `manager.displayName`) is `mutability` (RFC 7644 §3.5.2). In a path-less value object
///   read-only and unknown keys are ignored, since IdPs echo them (Okta sends `id`).
/// * Removing a required attribute (`userName`), or making it unassigned, is `mutability`
///   (RFC 7644 §3.5.2.2). Immutable attributes are the caller's to check.
/// * Unknown attribute names in a `path` are `invalidPath`.
/// * `remove` whose value filter matches nothing, or whose attribute is absent, is a successful
///   no-op. RFC 7644 §3.12 describes `noTarget` as "the specified path did not yield an attribute
///   or attribute value that could be operated on", but §3.5.2.2 prescribes it only for a missing
///   `path` (whereas §3.5.2.3 prescribes it for `replace`), and the state the client asks for
///   (no such value) already holds: Okta and Entra remove members that may already be gone, and
///   retries stay idempotent. `replace` with a filter that matches nothing is
///   `noTarget` (RFC 7644 §3.5.2.3), except that a filter made only of `eq` tests on
///   sub-attributes, combined with `and`, and a targeted sub-attribute creates the element
///   (Entra); `add` with a filter behaves the same way, with or without a sub-attribute.
/// * Setting an element's `primary` to true sets `primary` to false on the attribute's other
///   elements that had it true (RFC 7643 §2.4, RFC 7644 §3.5.2).
/// * Emptied multi-valued and complex attributes, `null` values and emptied extension objects
///   are removed (RFC 7643 §2.5: null and empty mean unassigned); a singular complex attribute
///   whose `value` is `""` is removed (Entra clears the manager with `{"value": ""}`).
/// * `password` and any other writeOnly attribute is dropped from the document after the op.
pub fn apply_patch(rt: &ResourceType, doc: &mut Map<String, Value>, ops: &[PatchOperation]) -> Result<()> {
    for (i, op) in ops.iter().enumerate() {
        apply_operation(rt, doc, op).map_err(|e| in_operation(i, op, e))?;
    }
    Ok(())
}

/// Prefixes an error with the operation that caused it.
fn in_operation(i: usize, op: &PatchOperation, e: ValidationError) -> ValidationError {
    let path = op.path.as_ref().map_or_else(|| "(no path)".to_string(), PatchPath::to_string);
    ValidationError::new(e.scim_type, format!("Operations[{i}] ({} {path}): {}", op.op.as_str(), e.detail))
}

fn apply_operation(rt: &ResourceType, doc: &mut Map<String, Value>, op: &PatchOperation) -> Result<()> {
    let required = present_required(rt, doc);
    match (&op.path, op.op) {
        (None, PatchOpKind::Remove) => {
            return Err(ValidationError::no_target("remove needs a path (RFC 7644 §3.5.2.2)"));
        }
        (None, kind) => apply_pathless(rt, doc, kind, op.value.as_ref())?,
        (Some(path), kind) => apply_at_path(rt, doc, kind, path, op.value.as_ref())?,
    }
    tidy(rt, doc);
    check_required(doc, &required)
}

// ---------------------------------------------------------------------------------------------
// Resolving a path to its target
// ---------------------------------------------------------------------------------------------

/// What a PATCH path designates.
enum Resolution<'p> {
    /// A whole extension object (`path` is the extension URN).
    Extension(&'static Schema),
    /// An attribute, possibly narrowed by a value filter and a sub-attribute.
    Attr(Target<'p>),
}

/// An attribute target: where it lives, what it is, which values and which sub-attribute.
struct Target<'p> {
    ext: Option<&'static Schema>,
    attr: &'static Attribute,
    sub: Option<&'static Attribute>,
    filter: Option<&'p Filter>,
    /// `schemas` (RFC 7643 §3): resolvable, but derived by the server from the extensions present.
    server_owned: bool,
}

impl Target<'_> {
    /// The dotted attribute name, for messages.
    fn name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.attr.name, sub.name),
            None => self.attr.name.to_string(),
        }
    }

    fn is_read_only(&self) -> bool {
        self.server_owned
            || self.attr.mutability == Mutability::ReadOnly
            || self.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    }
}

fn resolve<'p>(rt: &ResourceType, path: &'p PatchPath) -> Result<Resolution<'p>> {
    if let Some(ext) = whole_extension(rt, path) {
        return Ok(Resolution::Extension(ext));
    }
    let resolved = path.attr.resolve(rt)?;
    let attr = resolved.attr;
    let (ext, server_owned) = match resolved.container {
        Container::Extension(schema) => (Some(schema), false),
        Container::Common => (None, attr.name.eq_ignore_ascii_case("schemas")),
        Container::Core => (None, false),
    };
    let sub = match &path.sub {
        Some(name) => Some(
            attr.sub(name)
                .ok_or_else(|| ValidationError::path(format!("unknown sub-attribute \"{}.{name}\"", attr.name)))?,
        ),
        None => resolved.sub,
    };
    if let Some(filter) = &path.filter {
        check_filter(rt, path, attr, filter)?;
    }
    let filter = path.filter.as_ref();
    Ok(Resolution::Attr(Target { ext, attr, sub, filter, server_owned }))
}

/// The extension whose URN is the whole path (`"path": "urn:...:enterprise:2.0:User"`).
fn whole_extension(rt: &ResourceType, path: &PatchPath) -> Option<&'static Schema> {
    if path.filter.is_some() || path.sub.is_some() || path.attr.sub.is_some() {
        return None;
    }
    let full = match &path.attr.urn {
        Some(urn) => format!("{urn}:{}", path.attr.name),
        None => path.attr.name.clone(),
    };
    rt.extension(&full)
}

/// A value filter applies to a multi-valued attribute and names only its sub-attributes.
fn check_filter(rt: &ResourceType, path: &PatchPath, attr: &Attribute, filter: &Filter) -> Result<()> {
    if !attr.multi_valued {
        return Err(ValidationError::path(format!(
            "\"{}\" is single-valued: a value filter applies to multi-valued attributes only",
            attr.name
        )));
    }
    let mut whole_attr = path.attr.clone();
    whole_attr.sub = None;
    Filter::ValuePath(whole_attr, Box::new(filter.clone())).check(rt).map_err(|e| ValidationError::path(e.detail))
}

// ---------------------------------------------------------------------------------------------
// Operations with a path
// ---------------------------------------------------------------------------------------------

fn apply_at_path(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: PatchOpKind,
    path: &PatchPath,
    value: Option<&Value>,
) -> Result<()> {
    match resolve(rt, path)? {
        Resolution::Extension(ext) => apply_extension(rt, doc, kind, ext, value),
        Resolution::Attr(target) => {
            check_mutability(kind, &target)?;
            apply_target(doc, kind, &target, value)
        }
    }
}

/// RFC 7644 §3.5.2: operations must respect mutability; §3.5.2.2: removing a required or
/// read-only attribute is `mutability`.
fn check_mutability(kind: PatchOpKind, t: &Target<'_>) -> Result<()> {
    if t.is_read_only() {
        return Err(ValidationError::mutability(format!(
            "\"{}\" is readOnly and cannot be modified (RFC 7643 §7, RFC 7644 §3.5.2)",
            t.name()
        )));
    }
    let removes_required = match t.sub {
        Some(sub) => sub.required,
        None => t.attr.required && t.filter.is_none(),
    };
    if kind == PatchOpKind::Remove && removes_required {
        return Err(ValidationError::mutability(format!(
            "\"{}\" is required and cannot be removed (RFC 7644 §3.5.2.2)",
            t.name()
        )));
    }
    Ok(())
}

/// Whole-extension path: add/replace apply each key of the object; remove drops the extension.
fn apply_extension(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: PatchOpKind,
    ext: &'static Schema,
    value: Option<&Value>,
) -> Result<()> {
    match (kind, value) {
        (PatchOpKind::Remove, _) => {
            remove_extension(doc, ext);
            Ok(())
        }
        (_, Some(v)) => apply_schema_object(rt, doc, kind, ext, v),
        (_, None) => Err(missing_value(kind)),
    }
}

fn missing_value(kind: PatchOpKind) -> ValidationError {
    ValidationError::value(format!("{} needs a \"value\" (RFC 7644 §3.5.2)", kind.as_str()))
}

/// Applies `kind` to the attribute `t` designates.
fn apply_target(doc: &mut Map<String, Value>, kind: PatchOpKind, t: &Target<'_>, value: Option<&Value>) -> Result<()> {
    let value = match (kind, value) {
        (PatchOpKind::Remove, v) => v,
        (_, Some(v)) => Some(v),
        (_, None) => return Err(missing_value(kind)),
    };
    let Some(holder) = holder(doc, t.ext, kind != PatchOpKind::Remove) else {
        return Ok(()); // removing from an extension the resource does not have
    };
    with_slot(holder, t.attr.name, |current| match (kind, value) {
        (PatchOpKind::Remove, v) => remove(t, current, v),
        (PatchOpKind::Add, Some(v)) => add(t, current, v),
        (PatchOpKind::Replace, Some(v)) => replace(t, current, v),
        (_, None) => Err(missing_value(kind)),
    })
}

/// RFC 7644 §3.5.2.1.
fn add(t: &Target<'_>, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    match (t.filter, t.sub) {
        (Some(filter), sub) => filtered(PatchOpKind::Add, t.attr, filter, sub, current, Some(v)),
        (None, Some(sub)) => set_sub_everywhere(t.attr, sub, current, v),
        (None, None) if t.attr.multi_valued => append(t.attr, current, v),
        (None, None) if t.attr.ty == AttrType::Complex => merge_complex(t.attr, current, v),
        (None, None) => Ok(assigned(v.clone())),
    }
}

/// RFC 7644 §3.5.2.3. A target that does not exist is treated as an add.
fn replace(t: &Target<'_>, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    match (t.filter, t.sub) {
        (Some(filter), sub) => filtered(PatchOpKind::Replace, t.attr, filter, sub, current, Some(v)),
        (None, Some(sub)) => set_sub_everywhere(t.attr, sub, current, v),
        (None, None) if t.attr.multi_valued => Ok(from_vec(elements(t.attr, v)?)),
        (None, None) if t.attr.ty == AttrType::Complex => merge_complex(t.attr, current, v),
        (None, None) => Ok(assigned(v.clone())),
    }
}

/// RFC 7644 §3.5.2.2, plus Entra's `remove` with a `value` list on a multi-valued attribute.
fn remove(t: &Target<'_>, current: Option<Value>, v: Option<&Value>) -> Result<Option<Value>> {
    match (t.filter, t.sub) {
        (Some(filter), sub) => filtered(PatchOpKind::Remove, t.attr, filter, sub, current, None),
        (None, Some(sub)) => Ok(remove_sub_everywhere(t.attr, sub, current)),
        (None, None) => match v {
            Some(listed) if t.attr.multi_valued => Ok(remove_listed(t.attr, current, listed)),
            _ => Ok(None),
        },
    }
}

/// `null` is unassigned (RFC 7643 §2.5).
fn assigned(v: Value) -> Option<Value> {
    (!v.is_null()).then_some(v)
}

// ---------------------------------------------------------------------------------------------
// Value-filtered targets: emails[type eq "work"], emails[type eq "work"].value
// ---------------------------------------------------------------------------------------------

fn filtered(
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

// ---------------------------------------------------------------------------------------------
// Unfiltered targets
// ---------------------------------------------------------------------------------------------

/// Sets a sub-attribute: on a singular complex attribute, or on every element of a multi-valued
/// one (creating one element if there is none).
fn set_sub_everywhere(attr: &Attribute, sub: &Attribute, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    if !attr.multi_valued {
        let mut obj = match current {
            Some(Value::Object(m)) => Value::Object(m),
            _ => Value::Object(Map::new()),
        };
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

fn remove_sub_everywhere(attr: &Attribute, sub: &Attribute, current: Option<Value>) -> Option<Value> {
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
fn set_sub(item: &mut Value, sub: &Attribute, v: &Value) {
    if let Value::Object(obj) = item {
        if v.is_null() {
            remove_ci(obj, sub.name);
        } else {
            insert_ci(obj, sub.name, v.clone());
        }
    }
}

/// RFC 7644 §3.5.2.1 on a multi-valued attribute: the values are added, except those already
/// there, which are merged into the existing element.
fn append(attr: &'static Attribute, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
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
fn merge_complex(attr: &'static Attribute, current: Option<Value>, v: &Value) -> Result<Option<Value>> {
    let Some(new) = element(attr, v)? else {
        return Ok(None);
    };
    let mut base = match current {
        Some(Value::Object(m)) => Value::Object(m),
        _ => Value::Object(Map::new()),
    };
    merge_element(attr, &mut base, new);
    Ok(Some(base))
}

/// Entra's `{"op":"Remove","path":"members","value":[{"value":"u1"}]}`: only the listed values go.
fn remove_listed(attr: &Attribute, current: Option<Value>, listed: &Value) -> Option<Value> {
    let listed: Vec<&Value> = match listed {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    };
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

// ---------------------------------------------------------------------------------------------
// Operations without a path
// ---------------------------------------------------------------------------------------------

/// RFC 7644 §3.5.2.1 / §3.5.2.3 without `path`: `value` is an object whose keys are attribute
/// paths (Entra: dotted and URN-qualified) or extension URNs; each is applied at its path.
/// Read-only and unknown keys are ignored.
fn apply_pathless(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: PatchOpKind,
    value: Option<&Value>,
) -> Result<()> {
    let obj = value.and_then(Value::as_object).ok_or_else(|| {
        ValidationError::value(format!(
            "{} without a path needs a \"value\" object of attributes (RFC 7644 §3.5.2)",
            kind.as_str()
        ))
    })?;
    for (key, v) in obj {
        apply_key(rt, doc, kind, key, v)
            .map_err(|e| ValidationError::new(e.scim_type, format!("value key \"{key}\": {}", e.detail)))?;
    }
    Ok(())
}

fn apply_key(rt: &ResourceType, doc: &mut Map<String, Value>, kind: PatchOpKind, key: &str, v: &Value) -> Result<()> {
    if let Some(schema) = rt.schemas().find(|s| s.id.eq_ignore_ascii_case(key.trim())) {
        return apply_schema_object(rt, doc, kind, schema, v);
    }
    let Ok(path) = PatchPath::parse(key.trim()) else {
        return Ok(()); // not an attribute path: an IdP's own key
    };
    match resolve(rt, &path) {
        Ok(Resolution::Extension(ext)) => apply_schema_object(rt, doc, kind, ext, v),
        Ok(Resolution::Attr(t)) if !t.is_read_only() => apply_target(doc, kind, &t, Some(v)),
        Ok(Resolution::Attr(_)) | Err(_) => Ok(()), // read-only or unknown: ignored
    }
}

/// A schema URN holding an object of that schema's attributes: usually an extension
/// (`"urn:...:enterprise:2.0:User": {"department": "x"}`), `null` removing it; the core schema's
/// URN is accepted too.
fn apply_schema_object(
    rt: &ResourceType,
    doc: &mut Map<String, Value>,
    kind: PatchOpKind,
    schema: &'static Schema,
    v: &Value,
) -> Result<()> {
    match v {
        Value::Null if std::ptr::eq(schema, rt.schema) => Ok(()),
        Value::Null => {
            remove_extension(doc, schema);
            Ok(())
        }
        Value::Object(obj) => {
            for (k, v) in obj {
                apply_key(rt, doc, kind, &format!("{}:{}", schema.id, k.trim()), v)?;
            }
            Ok(())
        }
        _ => Err(ValidationError::value(format!("\"{}\" must be an object of that schema's attributes", schema.id))),
    }
}

// ---------------------------------------------------------------------------------------------
// Elements and values
// ---------------------------------------------------------------------------------------------

/// The values of a multi-valued attribute given as a list or as one value.
fn elements(attr: &'static Attribute, v: &Value) -> Result<Vec<Value>> {
    let given: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    };
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
fn element(attr: &'static Attribute, v: &Value) -> Result<Option<Value>> {
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
    let subs: Vec<&str> = attr.sub_attributes.iter().map(|s| s.name).collect();
    let got = match v {
        Value::Array(_) => "a list".to_string(),
        other => other.to_string(),
    };
    ValidationError::value(format!(
        "\"{}\" is complex: its value must be an object with sub-attributes {}, got {got}",
        attr.name,
        subs.join(", ")
    ))
}

/// The value for one element selected by a filter: like [`element`], also unwrapping a
/// one-element list (`"value": [{"value": "x"}]`).
fn one_element(attr: &'static Attribute, v: &Value) -> Result<Option<Value>> {
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
fn merge_element(attr: &Attribute, item: &mut Value, new: Value) {
    match (item, new) {
        (Value::Object(base), Value::Object(new)) => {
            for (k, v) in new {
                let name = attr.sub(&k).map_or(k.as_str(), |s| s.name);
                if v.is_null() {
                    remove_ci(base, name);
                } else {
                    insert_ci(base, name, v);
                }
            }
        }
        (item, new) => *item = new,
    }
}

/// Merges into an element already holding the same value only the sub-attributes that differ,
/// so an equal value sent in another case leaves the stored one as it is.
fn merge_changes(attr: &Attribute, item: &mut Value, new: Value) {
    let (Value::Object(base), Value::Object(mut new)) = (&mut *item, new) else {
        return;
    };
    new.retain(|k, v| !get_ci(base, k).is_some_and(|old| json_eq(attr.sub(k), old, v)));
    merge_element(attr, item, Value::Object(new));
}

/// Whether two values of `attr` are the same value: complex values with a `value` are the same
/// when their `value`s are equal and their `type`s do not differ; other values when equal.
fn same_value(attr: &Attribute, a: &Value, b: &Value) -> bool {
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
fn json_eq(attr: Option<&Attribute>, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            if attr.is_some_and(|t| t.ty == AttrType::Boolean) {
                return as_bool(a).is_some() && as_bool(a) == as_bool(b);
            }
            if attr.is_some_and(|t| !t.case_exact) { x.to_lowercase() == y.to_lowercase() } else { x == y }
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
        Value::String(s) if s.trim().eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.trim().eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn is_primary(v: &Value) -> bool {
    v.as_object().and_then(|obj| get_ci(obj, "primary")).and_then(as_bool).unwrap_or(false)
}

/// RFC 7644 §3.5.2: setting a value's `primary` to true "SHALL cause the server to automatically
/// set 'primary' to 'false' for any other values". Elements in `touched` were set by this
/// operation; the others lose `primary` if one of them is primary.
fn fix_primary(items: &mut [Value], touched: &[usize]) {
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

fn to_vec(current: Option<Value>) -> Vec<Value> {
    match current {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(one) => vec![one],
    }
}

fn from_vec(items: Vec<Value>) -> Option<Value> {
    (!items.is_empty()).then_some(Value::Array(items))
}

// ---------------------------------------------------------------------------------------------
// The document: containers, slots, case-insensitive keys, tidying
// ---------------------------------------------------------------------------------------------

/// The object holding an attribute: the document itself, or the extension's object (created
/// when `create`, in which case the URN is also added to a `schemas` list if the document has one).
fn holder<'a>(
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

fn remove_extension(doc: &mut Map<String, Value>, ext: &Schema) {
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
fn with_slot(
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
    if obj.contains_key(name) {
        return Some(name.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

fn get_ci<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// Inserts under the existing key that matches `name` case-insensitively, or under `name`.
fn insert_ci(obj: &mut Map<String, Value>, name: &str, v: Value) {
    let key = find_key(obj, name).unwrap_or_else(|| name.to_string());
    obj.insert(key, v);
}

fn remove_ci(obj: &mut Map<String, Value>, name: &str) {
    while let Some(key) = find_key(obj, name) {
        obj.shift_remove(&key);
    }
}

/// Drops what is unassigned after an operation (RFC 7643 §2.5): `null`s, empty lists, empty
/// complex values, empty extension objects, a singular complex attribute whose `value` is `""`;
/// and writeOnly attributes, which scimbox never stores.
fn tidy(rt: &ResourceType, doc: &mut Map<String, Value>) {
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
fn present_required(rt: &ResourceType, doc: &Map<String, Value>) -> Vec<(Option<&'static str>, &'static Attribute)> {
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
fn check_required(doc: &Map<String, Value>, before: &[(Option<&'static str>, &'static Attribute)]) -> Result<()> {
    match before.iter().find(|(ext, attr)| !has_value(doc, *ext, attr)) {
        Some((_, attr)) => Err(ValidationError::mutability(format!(
            "\"{}\" is required and cannot become unassigned (RFC 7644 §3.5.2.2)",
            attr.name
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_URN as ENT, Extension, USER_RESOURCE, USER_URN};
    use serde_json::json;

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

    fn body(ops: &Value) -> Value {
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

    // ------------------------------------------------------------------------------ parse_patch

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

    // --------------------------------------------------------------------- RFC 7644 §3.5.2 examples

    #[test]
    fn rfc_examples_on_groups() {
        let new_member =
            json!({"display": "Babs Jensen", "$ref": format!("https://example.com/v2/Users/{U1}"), "value": U1});
        let cases = vec![
            (
                "§3.5.2.1 add member to an empty group",
                json!({"displayName": "G"}),
                json!([{"op": "add", "path": "members", "value": [new_member]}]),
                doc(&[
                    ("/members/0/value", json!(U1)),
                    ("/members/0/display", json!("Babs Jensen")),
                    ("/members/1", Value::Null),
                ]),
            ),
            (
                "§3.5.2.1 add an existing member: no duplicate",
                group(),
                json!([{"op": "add", "path": "members", "value": [new_member]}]),
                doc(&[("/members/0/$ref", new_member["$ref"].clone()), ("/members/2", Value::Null)]),
            ),
            (
                "§3.5.2.2 remove a single member",
                group(),
                json!([{"op": "remove", "path": format!("members[value eq \"{U1}\"]")}]),
                doc(&[("/members/0/value", json!(U2)), ("/members/1", Value::Null)]),
            ),
            (
                "§3.5.2.2 remove all members",
                group(),
                json!([{"op": "remove", "path": "members"}]),
                doc(&[("/members", Value::Null), ("/displayName", json!("Tour Guides"))]),
            ),
            (
                "§3.5.2.2 replace all members: remove then add",
                group(),
                json!([{"op": "remove", "path": "members"},
                    {"op": "add", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}]),
                doc(&[("/members/0/value", json!("08e1d05d")), ("/members/1", Value::Null)]),
            ),
            (
                "§3.5.2.3 replace all members",
                group(),
                json!([{"op": "replace", "path": "members", "value": [{"display": "James Smith", "value": "08e1d05d"}]}]),
                doc(&[("/members/0/value", json!("08e1d05d")), ("/members/1", Value::Null)]),
            ),
            (
                "Okta membership update",
                group(),
                json!([{"op": "remove", "path": format!("members[value eq \"{U2}\"]")},
                    {"op": "add", "path": "members", "value": [{"value": "u3", "display": "user@x"}]}]),
                doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!("u3")), ("/members/2", Value::Null)]),
            ),
            (
                "Okta group rename with id in the value",
                group(),
                json!([{"op": "replace", "value": {"id": "g-1", "displayName": "New name"}}]),
                doc(&[("/displayName", json!("New name")), ("/id", Value::Null)]),
            ),
            (
                "Entra remove members by value list",
                group(),
                json!([{"op": "Remove", "path": "members", "value": [{"value": U1}]}]),
                doc(&[("/members/0/value", json!(U2)), ("/members/1", Value::Null)]),
            ),
            (
                "remove by value list never removes all: unknown value",
                group(),
                json!([{"op": "Remove", "path": "members", "value": [{"value": "nobody"}]}]),
                doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
            ),
            (
                "remove by value list never removes all: empty element",
                group(),
                json!([{"op": "Remove", "path": "members", "value": [{}]}]),
                doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
            ),
            (
                "remove by value list never removes all: empty list",
                group(),
                json!([{"op": "Remove", "path": "members", "value": []}]),
                doc(&[("/members/0/value", json!(U1)), ("/members/1/value", json!(U2))]),
            ),
            (
                "remove by bare ids",
                group(),
                json!([{"op": "remove", "path": "members", "value": [U1, U2]}]),
                doc(&[("/members", Value::Null)]),
            ),
            (
                "remove a member that is not there: no-op",
                group(),
                json!([{"op": "remove", "path": "members[value eq \"nobody\"]"}]),
                doc(&[("/members/1/value", json!(U2))]),
            ),
            (
                "members filter on an unknown sub-attribute",
                group(),
                json!([{"op": "remove", "path": "members[foo eq \"x\"]"}]),
                Fails(ScimType::InvalidPath, "foo"),
            ),
            (
                "removing the required displayName",
                group(),
                json!([{"op": "remove", "path": "displayName"}]),
                Fails(ScimType::Mutability, "displayName"),
            ),
        ];
        check_all(&GROUP_RESOURCE, cases);
    }

    #[test]
    fn rfc_examples_on_users() {
        let cases = vec![
            (
                "§3.5.2.1 add without path",
                bare_user(),
                json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
                doc(&[("/emails/0/value", json!("babs@jensen.org")), ("/nickName", json!("Babs"))]),
            ),
            (
                "§3.5.2.1 add without path: existing email not duplicated",
                user(),
                json!([{"op": "add", "value": {"emails": [{"value": "babs@jensen.org", "type": "home"}], "nickname": "Babs"}}]),
                doc(&[
                    ("/emails/1/value", json!("babs@jensen.org")),
                    ("/emails/2", Value::Null),
                    ("/nickName", json!("Babs")),
                ]),
            ),
            (
                "§3.5.2.2 remove with a complex filter",
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"work\" and value ew \"example.com\"]"}]),
                doc(&[("/emails/0/value", json!("babs@jensen.org")), ("/emails/1", Value::Null)]),
            ),
            (
                "§3.5.2.3 replace a whole work address",
                user(),
                json!([{"op": "replace", "path": "addresses[type eq \"work\"]",
                     "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
                               "region": "CA", "postalCode": "91608", "country": "US",
                               "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": true}}]),
                doc(&[
                    ("/addresses/0/streetAddress", json!("911 Universal City Plaza")),
                    ("/addresses/0/postalCode", json!("91608")),
                    ("/addresses/1", Value::Null),
                ]),
            ),
            (
                "§3.5.2.3 replace a sub-attribute of matching elements",
                user(),
                json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]),
                doc(&[
                    ("/addresses/0/streetAddress", json!("1010 Broadway Ave")),
                    ("/addresses/0/locality", json!("Hollywood")),
                ]),
            ),
            (
                "§3.5.2.3 replace without path",
                user(),
                json!([{"op": "replace", "value": {
                 "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                            {"value": "babs@jensen.org", "type": "home"}],
                 "nickname": "Babs"}}]),
                doc(&[("/emails/0/primary", json!(true)), ("/emails/2", Value::Null), ("/nickName", json!("Babs"))]),
            ),
        ];
        check_all(&USER_RESOURCE, cases);
    }

    // ------------------------------------------------------------------------------------- add

    #[test]
    fn add_with_path() {
        let cases = vec![
            (
                "new single-valued attribute",
                user(),
                json!([{"op": "add", "path": "nickName", "value": "Babs"}]),
                doc(&[("/nickName", json!("Babs"))]),
            ),
            (
                "existing single-valued attribute is replaced",
                user(),
                json!([{"op": "add", "path": "DISPLAYNAME", "value": "B. Jensen"}]),
                doc(&[("/displayName", json!("B. Jensen")), ("/DISPLAYNAME", Value::Null)]),
            ),
            (
                "complex: sub-attributes merged",
                user(),
                json!([{"op": "add", "path": "name", "value": {"middleName": "Jane", "GIVENNAME": "Babs"}}]),
                doc(&[
                    ("/name/givenName", json!("Babs")),
                    ("/name/familyName", json!("Jensen")),
                    ("/name/middleName", json!("Jane")),
                    ("/name/GIVENNAME", Value::Null),
                ]),
            ),
            (
                "dotted sub-attribute",
                bare_user(),
                json!([{"op": "add", "path": "name.givenName", "value": "John"}]),
                doc(&[("/name/givenName", json!("John"))]),
            ),
            (
                "URN-qualified core attribute",
                user(),
                json!([{"op": "add", "path": format!("{USER_URN}:title"), "value": "Tour Guide"}]),
                doc(&[("/title", json!("Tour Guide"))]),
            ),
            (
                "multi-valued: one object appended",
                user(),
                json!([{"op": "add", "path": "emails", "value": {"value": "b@other.org", "type": "other"}}]),
                doc(&[("/emails/2/value", json!("b@other.org")), ("/emails/0/primary", json!(true))]),
            ),
            (
                "multi-valued: a bare string becomes {value}",
                user(),
                json!([{"op": "add", "path": "emails", "value": "b@other.org"}]),
                doc(&[("/emails/2/value", json!("b@other.org"))]),
            ),
            (
                "multi-valued: equal value (other case) not duplicated",
                user(),
                json!([{"op": "add", "path": "emails", "value": [{"value": "BJensen@Example.com", "type": "work"}]}]),
                doc(&[("/emails/2", Value::Null), ("/emails/0/value", json!("bjensen@example.com"))]),
            ),
            (
                "multi-valued: new primary clears the old one",
                user(),
                json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work", "primary": true}]}]),
                doc(&[("/emails/2/primary", json!(true)), ("/emails/0/primary", json!(false))]),
            ),
            (
                "multi-valued: Entra's string primary counts",
                user(),
                json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "primary": "True"}]}]),
                doc(&[("/emails/2/primary", json!("True")), ("/emails/0/primary", json!(false))]),
            ),
            (
                "multi-valued: adding to a missing attribute",
                bare_user(),
                json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "555-1234", "type": "work"}]}]),
                doc(&[("/phoneNumbers/0/value", json!("555-1234"))]),
            ),
            (
                "Entra upsert: no emails yet",
                bare_user(),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
                doc(&[("/emails/0", json!({"type": "work", "value": "x@y"})), ("/emails/1", Value::Null)]),
            ),
            (
                "Entra upsert: a work email exists",
                user(),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
                doc(&[
                    ("/emails/0/value", json!("x@y")),
                    ("/emails/0/primary", json!(true)),
                    ("/emails/2", Value::Null),
                ]),
            ),
            (
                "Entra upsert: only a home email exists",
                json!({"userName": "a", "emails": [{"value": "h@x", "type": "home"}]}),
                json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "x@y"}]),
                doc(&[("/emails/0/value", json!("h@x")), ("/emails/1", json!({"type": "work", "value": "x@y"}))]),
            ),
            (
                "Entra upsert: address street",
                user(),
                json!([{"op": "Add", "path": "addresses[type eq \"home\"].streetAddress", "value": "1 Main St"}]),
                doc(&[("/addresses/1", json!({"type": "home", "streetAddress": "1 Main St"}))]),
            ),
            (
                "upsert with two eq terms",
                bare_user(),
                json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\" and primary eq true].value", "value": "555"}]),
                doc(&[("/phoneNumbers/0", json!({"type": "mobile", "primary": true, "value": "555"}))]),
            ),
            (
                "add with a filter and no sub-attribute merges into matches",
                user(),
                json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
                doc(&[("/emails/1/display", json!("Home")), ("/emails/1/value", json!("babs@jensen.org"))]),
            ),
            (
                "add with a filter, no match, no sub-attribute: created",
                bare_user(),
                json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x"}}]),
                doc(&[("/emails/0", json!({"type": "home", "value": "h@x"}))]),
            ),
            (
                "add with a non-eq filter matching nothing",
                user(),
                json!([{"op": "add", "path": "emails[value co \"nomatch\"].display", "value": "x"}]),
                Fails(ScimType::NoTarget, "emails"),
            ),
            (
                "enterprise manager as a raw string",
                user(),
                json!([{"op": "add", "path": format!("{ENT}:manager"), "value": "mgr-id"}]),
                doc(&[(&ent("manager"), json!({"value": "mgr-id"})), ("/schemas/1", json!(ENT))]),
            ),
            (
                "enterprise manager as Entra's one-element list",
                user(),
                json!([{"op": "add", "path": format!("{ENT}:manager"), "value": [{"$ref": "../Users/m", "value": "m"}]}]),
                doc(&[(&ent("manager/value"), json!("m")), (&ent("manager/$ref"), json!("../Users/m"))]),
            ),
            (
                "enterprise attribute, qualified",
                bare_user(),
                json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "42"}]),
                doc(&[(&ent("employeeNumber"), json!("42")), ("/schemas", Value::Null)]),
            ),
            (
                "enterprise attribute, unqualified",
                enterprise_user(),
                json!([{"op": "add", "path": "department", "value": "Tour Operations"}]),
                doc(&[(&ent("department"), json!("Tour Operations")), (&ent("employeeNumber"), json!("701984"))]),
            ),
            (
                "password is accepted and never stored",
                user(),
                json!([{"op": "add", "path": "password", "value": "t1meMa$heen"}]),
                doc(&[("/password", Value::Null), ("/userName", json!("bjensen"))]),
            ),
            (
                "null unassigns",
                user(),
                json!([{"op": "add", "path": "displayName", "value": null}]),
                doc(&[("/displayName", Value::Null)]),
            ),
            (
                "complex attribute given a bare string",
                user(),
                json!([{"op": "add", "path": "name", "value": "Babs"}]),
                Fails(ScimType::InvalidValue, "\"name\" is complex"),
            ),
            (
                "singular complex given a long list",
                user(),
                json!([{"op": "add", "path": format!("{ENT}:manager"), "value": [{"value": "a"}, {"value": "b"}]}]),
                Fails(ScimType::InvalidValue, "manager"),
            ),
            (
                "multi-valued element that is a list",
                user(),
                json!([{"op": "add", "path": "emails", "value": [["x"]]}]),
                Fails(ScimType::InvalidValue, "emails"),
            ),
            (
                "unknown attribute",
                user(),
                json!([{"op": "add", "path": "favouriteColour", "value": "red"}]),
                Fails(ScimType::InvalidPath, "favouriteColour"),
            ),
            (
                "unknown sub-attribute",
                user(),
                json!([{"op": "add", "path": "name.nickname", "value": "x"}]),
                Fails(ScimType::InvalidPath, "nickname"),
            ),
            (
                "unknown sub-attribute after a filter",
                user(),
                json!([{"op": "add", "path": "emails[type eq \"work\"].label", "value": "x"}]),
                Fails(ScimType::InvalidPath, "label"),
            ),
            (
                "filter on a single-valued attribute",
                user(),
                json!([{"op": "add", "path": "name[givenName eq \"x\"].familyName", "value": "x"}]),
                Fails(ScimType::InvalidPath, "single-valued"),
            ),
            (
                "readOnly id",
                user(),
                json!([{"op": "add", "path": "id", "value": "x"}]),
                Fails(ScimType::Mutability, "\"id\" is readOnly"),
            ),
            (
                "readOnly meta",
                user(),
                json!([{"op": "add", "path": "meta", "value": {"version": "x"}}]),
                Fails(ScimType::Mutability, "\"meta\""),
            ),
            (
                "readOnly meta.created",
                user(),
                json!([{"op": "replace", "path": "meta.created", "value": "x"}]),
                Fails(ScimType::Mutability, "\"meta.created\""),
            ),
            (
                "readOnly groups",
                user(),
                json!([{"op": "add", "path": "groups", "value": [{"value": "g-2"}]}]),
                Fails(ScimType::Mutability, "\"groups\""),
            ),
            (
                "readOnly manager.displayName",
                enterprise_user(),
                json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "x"}]),
                Fails(ScimType::Mutability, "\"manager.displayName\""),
            ),
            (
                "server-owned schemas",
                user(),
                json!([{"op": "add", "path": "schemas", "value": [ENT]}]),
                Fails(ScimType::Mutability, "\"schemas\""),
            ),
            (
                "readOnly sub-attribute inside a value is dropped",
                user(),
                json!([{"op": "add", "path": format!("{ENT}:manager"), "value": {"value": "m", "displayName": "x"}}]),
                doc(&[(&ent("manager"), json!({"value": "m"}))]),
            ),
            (
                "dotted sub-attribute of a multi-valued attribute: every element",
                user(),
                json!([{"op": "add", "path": "emails.display", "value": "E"}]),
                doc(&[("/emails/0/display", json!("E")), ("/emails/1/display", json!("E"))]),
            ),
            (
                "dotted sub-attribute of a missing multi-valued attribute: one element",
                bare_user(),
                json!([{"op": "add", "path": "ims.value", "value": "babs"}]),
                doc(&[("/ims", json!([{"value": "babs"}]))]),
            ),
            (
                "add with a filter and a one-element list",
                user(),
                json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": [{"display": "H"}]}]),
                doc(&[("/emails/1/display", json!("H"))]),
            ),
            (
                "null with a filter matching nothing: no element created",
                bare_user(),
                json!([{"op": "add", "path": "emails[type eq \"work\"].value", "value": null}]),
                doc(&[("/emails", Value::Null)]),
            ),
        ];
        check_all(&USER_RESOURCE, cases);
    }

    #[test]
    fn add_and_replace_without_path() {
        let entra_flagged = json!({
            "displayName": "Babs J", "name.givenName": "Babs", "name.familyName": "Jensen-Smith",
            format!("{ENT}:employeeNumber"): "42"
        });
        let cases = vec![
            (
                "Okta deactivate",
                user(),
                json!([{"op": "replace", "value": {"active": false}}]),
                doc(&[("/active", json!(false)), ("/userName", json!("bjensen"))]),
            ),
            (
                "Okta reactivate with password",
                user(),
                json!([{"op": "replace", "value": {"active": true, "password": "secret"}}]),
                doc(&[("/active", json!(true)), ("/password", Value::Null)]),
            ),
            (
                "Entra path-less replace with dotted and URN keys",
                user(),
                json!([{"op": "replace", "value": entra_flagged}]),
                doc(&[
                    ("/displayName", json!("Babs J")),
                    ("/name/givenName", json!("Babs")),
                    ("/name/familyName", json!("Jensen-Smith")),
                    (&ent("employeeNumber"), json!("42")),
                    ("/schemas/1", json!(ENT)),
                ]),
            ),
            (
                "extension URN key holding an object",
                user(),
                json!([{"op": "add", "value": {ENT: {"department": "Tours", "manager": "m-9", "bogus": 1}}}]),
                doc(&[
                    (&ent("department"), json!("Tours")),
                    (&ent("manager/value"), json!("m-9")),
                    (&ent("bogus"), Value::Null),
                ]),
            ),
            (
                "read-only, server-owned and unknown keys ignored",
                user(),
                json!([{"op": "replace", "value": {
                 "id": "other", "meta": {"version": "x"}, "schemas": [USER_URN], "groups": [],
                 "customThing": 1, "urn:example:custom:1.0:User:x": "y", "nickName": "B"}}]),
                doc(&[
                    ("/id", json!("u-1")),
                    ("/meta/version", json!("W/\"1\"")),
                    ("/schemas", json!([USER_URN])),
                    ("/groups/0/value", json!("g-1")),
                    ("/customThing", Value::Null),
                    ("/nickName", json!("B")),
                ]),
            ),
            (
                "replace of a complex attribute keeps unspecified sub-attributes",
                user(),
                json!([{"op": "replace", "value": {"name": {"givenName": "Babs"}}}]),
                doc(&[("/name/givenName", json!("Babs")), ("/name/familyName", json!("Jensen"))]),
            ),
            (
                "add merges multi-valued values",
                user(),
                json!([{"op": "add", "value": {"emails": [{"value": "new@x", "type": "other"}]}}]),
                doc(&[("/emails/2/value", json!("new@x")), ("/emails/0/value", json!("bjensen@example.com"))]),
            ),
            (
                "replace replaces multi-valued values",
                user(),
                json!([{"op": "replace", "value": {"emails": [{"value": "new@x", "type": "other"}]}}]),
                doc(&[("/emails/0/value", json!("new@x")), ("/emails/1", Value::Null)]),
            ),
            (
                "keys with a value filter",
                user(),
                json!([{"op": "replace", "value": {"emails[type eq \"work\"].value": "w@x"}}]),
                doc(&[("/emails/0/value", json!("w@x"))]),
            ),
            (
                "value must be an object",
                user(),
                json!([{"op": "replace", "value": "x"}]),
                Fails(ScimType::InvalidValue, "object"),
            ),
            (
                "value null is not an object",
                user(),
                json!([{"op": "add", "value": null}]),
                Fails(ScimType::InvalidValue, "object"),
            ),
            (
                "extension key with a non-object",
                user(),
                json!([{"op": "add", "value": {ENT: "x"}}]),
                Fails(ScimType::InvalidValue, ENT),
            ),
            (
                "userName set to null is required",
                user(),
                json!([{"op": "replace", "value": {"userName": null}}]),
                Fails(ScimType::Mutability, "userName"),
            ),
            (
                "core schema URN key holding an object",
                user(),
                json!([{"op": "replace", "value": {USER_URN: {"title": "T", "id": "x"}}}]),
                doc(&[("/title", json!("T")), ("/id", json!("u-1"))]),
            ),
            (
                "extension URN key holding null removes the extension",
                enterprise_user(),
                json!([{"op": "replace", "value": {ENT: null}}]),
                doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
            ),
            (
                "keys in any case",
                user(),
                json!([{"op": "replace", "value": {"NICKNAME": "B", "Name.GivenName": "G"}}]),
                doc(&[("/nickName", json!("B")), ("/name/givenName", json!("G"))]),
            ),
        ];
        check_all(&USER_RESOURCE, cases);
    }

    // --------------------------------------------------------------------------------- replace

    #[test]
    fn replace_with_path() {
        let cases = vec![
            (
                "Entra disable (string boolean kept for the caller)",
                user(),
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
                doc(&[("/active", json!("False"))]),
            ),
            (
                "flagged Entra disable",
                user(),
                json!([{"op": "replace", "path": "active", "value": false}]),
                doc(&[("/active", json!(false))]),
            ),
            (
                "missing attribute is added",
                user(),
                json!([{"op": "replace", "path": "title", "value": "Guide"}]),
                doc(&[("/title", json!("Guide"))]),
            ),
            (
                "missing sub-attribute is added",
                bare_user(),
                json!([{"op": "replace", "path": "name.familyName", "value": "Doe"}]),
                doc(&[("/name/familyName", json!("Doe"))]),
            ),
            (
                "multi-valued without filter: all replaced",
                user(),
                json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x", "type": "work"}]}]),
                doc(&[("/emails/0/value", json!("only@x")), ("/emails/1", Value::Null)]),
            ),
            (
                "multi-valued replaced by an empty list is unassigned",
                user(),
                json!([{"op": "replace", "path": "emails", "value": []}]),
                doc(&[("/emails", Value::Null)]),
            ),
            (
                "filter with no match",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x"}}]),
                Fails(ScimType::NoTarget, "emails"),
            ),
            (
                "filter with no match, eq and sub-attribute: Entra upsert",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"other\"].value", "value": "o@x"}]),
                doc(&[("/emails/2", json!({"type": "other", "value": "o@x"}))]),
            ),
            (
                "filter with no match, non-eq and sub-attribute",
                user(),
                json!([{"op": "replace", "path": "emails[value sw \"zzz\"].display", "value": "x"}]),
                Fails(ScimType::NoTarget, "matched no value"),
            ),
            (
                "filter with no match, or-filter and sub-attribute",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}]),
                Fails(ScimType::NoTarget, "emails"),
            ),
            (
                "filter matching: sub-attribute replaced on every match",
                json!({"userName": "a",
                "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "work"}, {"value": "c@x", "type": "home"}]}),
                json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "W"}]),
                doc(&[
                    ("/emails/0/display", json!("W")),
                    ("/emails/1/display", json!("W")),
                    ("/emails/2/display", Value::Null),
                ]),
            ),
            (
                "new primary via a filter clears the old one",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": true}]),
                doc(&[("/emails/1/primary", json!(true)), ("/emails/0/primary", json!(false))]),
            ),
            (
                "replace manager with a raw string",
                enterprise_user(),
                json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": "m-2"}]),
                doc(&[(&ent("manager/value"), json!("m-2")), (&ent("manager/displayName"), json!("John Smith"))]),
            ),
            (
                "Entra clears the manager",
                enterprise_user(),
                json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
                doc(&[(&ent("manager"), Value::Null), (&ent("employeeNumber"), json!("701984"))]),
            ),
            (
                "clearing the last extension attribute drops the extension",
                {
                    let mut u = user();
                    u["schemas"] = json!([USER_URN, ENT]);
                    u[ENT] = json!({"manager": {"value": "m-1"}});
                    u
                },
                json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": ""}}]),
                doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
            ),
            (
                "whole extension as the path",
                user(),
                json!([{"op": "replace", "path": ENT, "value": {"department": "D", "costCenter": "4130"}}]),
                doc(&[(&ent("department"), json!("D")), (&ent("costCenter"), json!("4130"))]),
            ),
            (
                "userName set to null",
                user(),
                json!([{"op": "replace", "path": "userName", "value": null}]),
                Fails(ScimType::Mutability, "userName"),
            ),
            (
                "replace with filter and null value unassigns matches",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": null}]),
                doc(&[("/emails/1", Value::Null), ("/emails/0/type", json!("work"))]),
            ),
            (
                "replace a filtered element given as a one-element list",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                        "value": [{"value": "h@x", "type": "home"}]}]),
                doc(&[("/emails/1", json!({"value": "h@x", "type": "home"}))]),
            ),
            (
                "replace a filtered element with a new primary",
                user(),
                json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                        "value": {"value": "h@x", "type": "home", "primary": true}}]),
                doc(&[("/emails/1/primary", json!(true)), ("/emails/0/primary", json!(false))]),
            ),
            (
                "filter on primary",
                user(),
                json!([{"op": "replace", "path": "emails[primary eq true].display", "value": "P"}]),
                doc(&[("/emails/0/display", json!("P")), ("/emails/1/display", Value::Null)]),
            ),
        ];
        check_all(&USER_RESOURCE, cases);
    }

    // ---------------------------------------------------------------------------------- remove

    #[test]
    fn remove_with_path() {
        let cases = vec![
            (
                "single attribute",
                user(),
                json!([{"op": "remove", "path": "displayName"}]),
                doc(&[("/displayName", Value::Null), ("/userName", json!("bjensen"))]),
            ),
            (
                "absent attribute: no-op",
                user(),
                json!([{"op": "remove", "path": "title"}]),
                doc(&[("/title", Value::Null)]),
            ),
            (
                "sub-attribute",
                user(),
                json!([{"op": "remove", "path": "name.givenName"}]),
                doc(&[("/name/givenName", Value::Null), ("/name/familyName", json!("Jensen"))]),
            ),
            (
                "last sub-attribute removes the complex attribute",
                user(),
                json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "NAME.FAMILYNAME"}]),
                doc(&[("/name", Value::Null)]),
            ),
            (
                "multi-valued without filter",
                user(),
                json!([{"op": "remove", "path": "emails"}]),
                doc(&[("/emails", Value::Null)]),
            ),
            (
                "Entra: remove emails[type eq \"work\"]",
                user(),
                json!([{"op": "Remove", "path": "emails[type eq \"work\"]"}]),
                doc(&[("/emails/0/type", json!("home")), ("/emails/1", Value::Null)]),
            ),
            (
                "filter removing the last element unassigns",
                json!({"userName": "a", "emails": [{"value": "a@x", "type": "work"}]}),
                json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
                doc(&[("/emails", Value::Null)]),
            ),
            (
                "filter and sub-attribute",
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
                doc(&[("/emails/0/primary", Value::Null), ("/emails/0/value", json!("bjensen@example.com"))]),
            ),
            (
                "filter matching nothing: no-op",
                user(),
                json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
                doc(&[("/emails/1/type", json!("home"))]),
            ),
            (
                "value list on emails removes only those",
                user(),
                json!([{"op": "remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]),
                doc(&[("/emails/0/type", json!("work")), ("/emails/1", Value::Null)]),
            ),
            (
                "value on a single-valued attribute is ignored",
                enterprise_user(),
                json!([{"op": "remove", "path": format!("{ENT}:manager"), "value": [{"value": "m-1"}]}]),
                doc(&[(&ent("manager"), Value::Null)]),
            ),
            (
                "from an extension the user lacks: no-op",
                user(),
                json!([{"op": "remove", "path": format!("{ENT}:department")}]),
                doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
            ),
            (
                "the whole extension",
                enterprise_user(),
                json!([{"op": "remove", "path": ENT}]),
                doc(&[(&format!("/{ENT}"), Value::Null), ("/schemas", json!([USER_URN]))]),
            ),
            ("password", user(), json!([{"op": "remove", "path": "password"}]), doc(&[("/password", Value::Null)])),
            (
                "required userName",
                user(),
                json!([{"op": "remove", "path": "userName"}]),
                Fails(ScimType::Mutability, "\"userName\" is required"),
            ),
            (
                "required userName, URN-qualified",
                user(),
                json!([{"op": "remove", "path": format!("{USER_URN}:username")}]),
                Fails(ScimType::Mutability, "userName"),
            ),
            ("readOnly id", user(), json!([{"op": "remove", "path": "id"}]), Fails(ScimType::Mutability, "\"id\"")),
            (
                "readOnly meta",
                user(),
                json!([{"op": "remove", "path": "meta"}]),
                Fails(ScimType::Mutability, "\"meta\""),
            ),
            (
                "readOnly groups",
                user(),
                json!([{"op": "remove", "path": "groups[value eq \"g-1\"]"}]),
                Fails(ScimType::Mutability, "\"groups\""),
            ),
            (
                "unknown attribute",
                user(),
                json!([{"op": "remove", "path": "shoeSize"}]),
                Fails(ScimType::InvalidPath, "shoeSize"),
            ),
        ];
        check_all(&USER_RESOURCE, cases);
    }

    // ------------------------------------------------------------------ several ops, atomicity

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
    fn op_names_round_trip() {
        for (text, kind) in
            [("add", PatchOpKind::Add), ("REPLACE", PatchOpKind::Replace), (" Remove ", PatchOpKind::Remove)]
        {
            assert_eq!(PatchOpKind::parse(text), Some(kind));
            assert_eq!(PatchOpKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(PatchOpKind::parse("move"), None);
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
}
