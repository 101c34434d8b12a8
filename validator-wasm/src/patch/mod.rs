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
//!
//! Layout: this file holds the operation types; `parse` reads the request body; `apply` runs
//! each operation (with a path, on a whole extension, or path-less) after `resolve` has found
//! its target; `filtered` and `unfiltered` compute an attribute's new value with and without a
//! value filter, from the element helpers and SCIM equality of `value`; `doc` finds, creates,
//! tidies and checks the attribute slots of the document.

use serde_json::Value;

use crate::error::ValidationError;
use crate::path::PatchPath;

mod apply;
mod doc;
mod filtered;
mod parse;
mod resolve;
mod unfiltered;
mod value;

pub use apply::{apply_one, apply_patch, apply_patch_checked, blame};
pub use parse::{MAX_OPERATIONS, parse_patch};

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

/// Prefixes an error's detail with where it arose (`Operations[1].path: ...`), keeping its
/// `scimType`.
fn within(place: impl std::fmt::Display, e: ValidationError) -> ValidationError {
    ValidationError::new(e.scim_type, format!("{place}: {}", e.detail))
}

#[cfg(test)]
mod tests;
