//! Resolving a PATCH path to its target: a whole extension, or an attribute with its container,
//! value filter and sub-attribute (RFC 7644 §3.5.2).

use crate::error::{Result, ValidationError};
use crate::filter::Filter;
use crate::path::{Container, PatchPath};
use crate::schema::{Attribute, Mutability, ResourceType, Schema};

/// What a PATCH path designates.
pub(super) enum Resolution<'p> {
    /// A whole extension object (`path` is the extension URN).
    Extension(&'static Schema),
    /// An attribute, possibly narrowed by a value filter and a sub-attribute.
    Attr(Target<'p>),
}

/// An attribute target: where it lives, what it is, which values and which sub-attribute.
pub(super) struct Target<'p> {
    pub(super) ext: Option<&'static Schema>,
    pub(super) attr: &'static Attribute,
    pub(super) sub: Option<&'static Attribute>,
    pub(super) filter: Option<&'p Filter>,
    /// `schemas` (RFC 7643 §3): resolvable, but derived by the server from the extensions present.
    server_owned: bool,
}

impl Target<'_> {
    /// The dotted attribute name, for messages.
    pub(super) fn name(&self) -> String {
        match self.sub {
            Some(sub) => format!("{}.{}", self.attr.name, sub.name),
            None => self.attr.name.to_string(),
        }
    }

    /// Whether a client may not change it: read-only, or server-owned (`schemas`).
    pub(super) fn is_read_only(&self) -> bool {
        self.server_owned
            || self.attr.mutability == Mutability::ReadOnly
            || self.sub.is_some_and(|s| s.mutability == Mutability::ReadOnly)
    }
}

/// What `path` designates in `rt`; errors are `invalidPath`.
pub(super) fn resolve<'p>(rt: &ResourceType, path: &'p PatchPath) -> Result<Resolution<'p>> {
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
