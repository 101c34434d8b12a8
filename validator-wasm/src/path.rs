//! Attribute paths and PATCH paths, and their resolution against a resource type's schemas.
//!
//! * [`AttrPath`] is the `attrPath` rule of RFC 7644 §3.4.2.2 (`[URI ":"] ATTRNAME *1subAttr`),
//!   the notation of RFC 7644 §3.10 used by filters, `sortBy`, `attributes` and PATCH.
//! * [`PatchPath`] is the PATCH `path` rule of RFC 7644 §3.5.2 (`attrPath / valuePath [subAttr]`).
//! * [`AttrPath::resolve`] finds the schema attribute a path names ([`Resolved`]).
//!
//! Attribute names and schema URNs match case-insensitively (RFC 7643 §2.1); `get_ci` and
//! `member_ci` are the one case-insensitive member lookup the crate uses on JSON objects, and
//! `values_of` reads a multi-valued attribute given as a list or as one value.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::{Result, ValidationError};
use crate::filter::Filter;
use crate::schema::{self, AttrType, Attribute, COMMON_ATTRIBUTES, Mutability, ResourceType, Schema};

/// An attribute path: `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2 ABNF, §3.10).
///
/// A fully qualified path such as
/// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value` is split at the
/// last `:` before the attribute name: `urn` is the schema URN, `name` the attribute and `sub`
/// the sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The schema URN qualifying the attribute, as written (`None` when unqualified).
    pub urn: Option<String>,
    /// The attribute name, as written (names match case-insensitively).
    pub name: String,
    /// The sub-attribute after the `.`, as written (`name.givenName`).
    pub sub: Option<String>,
}

impl AttrPath {
    /// Parses an attribute path (RFC 7644 §3.10). Errors are `invalidPath`.
    ///
    /// ```
    /// use scimbox_validator::path::AttrPath;
    /// let p = AttrPath::parse("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap();
    /// assert_eq!(p.urn.as_deref(), Some("urn:ietf:params:scim:schemas:core:2.0:User"));
    /// assert_eq!((p.name.as_str(), p.sub.as_deref()), ("name", Some("givenName")));
    /// ```
    pub fn parse(s: &str) -> Result<AttrPath> {
        parse_attr_path(s.trim())
            .map_err(|detail| ValidationError::path(format!("invalid path \"{}\": {detail}", clip(s))))
    }

    /// Finds the attribute this path names in `rt` (RFC 7644 §3.10).
    ///
    /// A URN selects the core schema or an extension. Unqualified names are looked up in the core
    /// schema first, then in the common attributes (`id`, `externalId`, `meta`, `schemas`; RFC 7643
    /// §3), then in the extensions; a name defined by more than one extension is ambiguous and
    /// must be qualified. Common attributes may also be qualified with the core schema URN
    /// (`urn:ietf:params:scim:schemas:core:2.0:User:meta.created`). Errors are `invalidPath` and
    /// name the attribute.
    pub fn resolve(&self, rt: &ResourceType) -> Result<Resolved> {
        let (container, attr) = match &self.urn {
            Some(urn) => self.resolve_qualified(rt, urn)?,
            None => self.resolve_unqualified(rt)?,
        };
        let sub = match &self.sub {
            Some(sub) => Some(resolve_sub(attr, sub)?),
            None => None,
        };
        Ok(Resolved { container, attr, sub })
    }

    /// Resolves the path inside an element of the complex attribute `parent`, as in a value
    /// filter (`emails[type eq "work"]`): `name` is a sub-attribute of `parent`, and `sub`
    /// (if any) a sub-attribute of that. `None` when either is unknown or the path carries a URN.
    pub fn resolve_in(&self, parent: &'static Attribute) -> Option<(&'static Attribute, Option<&'static Attribute>)> {
        if self.urn.is_some() {
            return None;
        }
        let attr = parent.sub(&self.name)?;
        let sub = match &self.sub {
            Some(s) => Some(attr.sub(s)?),
            None => None,
        };
        Some((attr, sub))
    }

    fn resolve_qualified(&self, rt: &ResourceType, urn: &str) -> Result<(Container, &'static Attribute)> {
        if urn.eq_ignore_ascii_case(rt.schema.id) {
            if let Some(attr) = rt.schema.attribute(&self.name) {
                return Ok((Container::Core, attr));
            }
            if let Some(attr) = common_attribute(&self.name) {
                return Ok((Container::Common, attr));
            }
            return Err(self.unknown_in(rt.schema));
        }
        if let Some(ext) = rt.extension(urn) {
            let attr = ext.attribute(&self.name).ok_or_else(|| self.unknown_in(ext))?;
            return Ok((Container::Extension(ext), attr));
        }
        Err(self.unknown_schema(rt, urn))
    }

    fn resolve_unqualified(&self, rt: &ResourceType) -> Result<(Container, &'static Attribute)> {
        if let Some(attr) = rt.schema.attribute(&self.name) {
            return Ok((Container::Core, attr));
        }
        if let Some(attr) = common_attribute(&self.name) {
            return Ok((Container::Common, attr));
        }
        let found: Vec<(&'static Schema, &'static Attribute)> =
            rt.extensions.iter().filter_map(|e| e.schema.attribute(&self.name).map(|a| (e.schema, a))).collect();
        match found.as_slice() {
            [(ext, attr)] => Ok((Container::Extension(ext), attr)),
            [] => Err(self.unknown(rt)),
            many => {
                let urns: Vec<&str> = many.iter().map(|(s, _)| s.id).collect();
                Err(ValidationError::path(format!(
                    "attribute \"{}\" is ambiguous: it is defined by {}; qualify it with the schema URN, e.g. {}:{}",
                    self.name,
                    urns.join(" and "),
                    urns.first().copied().unwrap_or_default(),
                    self.name
                )))
            }
        }
    }

    fn unknown(&self, rt: &ResourceType) -> ValidationError {
        let schemas: Vec<&str> = rt.schemas().map(|s| s.id).collect();
        ValidationError::path(format!(
            "unknown attribute \"{}\": {} resources have no such attribute in {} or the common attributes (id, externalId, meta)",
            self.name,
            rt.name,
            schemas.join(", ")
        ))
    }

    fn unknown_in(&self, schema: &Schema) -> ValidationError {
        ValidationError::path(format!("unknown attribute \"{}\": schema {} has no such attribute", self, schema.id))
    }

    fn unknown_schema(&self, rt: &ResourceType, urn: &str) -> ValidationError {
        let whole = format!("{urn}:{}", self.name);
        let schemas: Vec<&str> = rt.schemas().map(|s| s.id).collect();
        if schemas.iter().any(|s| s.eq_ignore_ascii_case(&whole)) {
            return ValidationError::path(format!(
                "\"{whole}\" is a schema URN, not an attribute; append the attribute name, e.g. {whole}:{}",
                if whole.eq_ignore_ascii_case(rt.schema.id) { "userName" } else { "department" }
            ));
        }
        ValidationError::path(format!(
            "unknown schema \"{urn}\" in \"{self}\": {} resources use {}",
            rt.name,
            schemas.join(" and ")
        ))
    }
}

impl fmt::Display for AttrPath {
    /// The canonical text: `[urn:]name[.sub]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// The `schemas` attribute every resource carries (RFC 7643 §3). It is in no schema and not in
/// [`COMMON_ATTRIBUTES`], but filters may use it (`schemas eq "urn:...:enterprise:2.0:User"` is an
/// RFC 7644 §3.4.2.2 example), so paths resolve it as a common attribute.
/// Its values compare case-insensitively, like schema URNs everywhere else in scimbox.
pub static SCHEMAS_ATTRIBUTE: Attribute = Attribute {
    case_exact: false,
    ..Attribute::reference("schemas", "The schema URIs the resource conforms to.", &["uri"]).multi().required()
};

fn common_attribute(name: &str) -> Option<&'static Attribute> {
    schema::find(COMMON_ATTRIBUTES, name)
        .or_else(|| SCHEMAS_ATTRIBUTE.name.eq_ignore_ascii_case(name).then_some(&SCHEMAS_ATTRIBUTE))
}

fn resolve_sub(attr: &'static Attribute, sub: &str) -> Result<&'static Attribute> {
    if attr.ty != AttrType::Complex {
        return Err(ValidationError::path(format!(
            "\"{}\" has no sub-attributes: it is a {} attribute, so \"{}.{sub}\" does not exist",
            attr.name,
            attr.ty.as_str(),
            attr.name
        )));
    }
    attr.sub(sub).ok_or_else(|| {
        ValidationError::path(format!(
            "unknown sub-attribute \"{sub}\" of \"{}\" (its sub-attributes are {})",
            attr.name,
            sub_names(attr)
        ))
    })
}

/// The sub-attribute names of a complex attribute, comma-separated, for error details.
pub(crate) use crate::resource::sub_names;

/// Where a resolved attribute lives in the resource representation (RFC 7643 §3).
#[derive(Debug, Clone, Copy)]
pub enum Container {
    /// A top-level attribute of the core schema.
    Core,
    /// An attribute of this extension schema, under the extension's URN key (RFC 7643 §3.3).
    Extension(&'static Schema),
    /// A common attribute (`id`, `externalId`, `meta`, `schemas`; RFC 7643 §3.1), at the top level.
    Common,
}

impl PartialEq for Container {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Core, Self::Core) | (Self::Common, Self::Common) => true,
            (Self::Extension(a), Self::Extension(b)) => a.id == b.id,
            _ => false,
        }
    }
}

impl Eq for Container {}

/// An attribute path resolved against a resource type ([`AttrPath::resolve`]).
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    /// Where the attribute lives.
    pub container: Container,
    /// The (top-level) attribute.
    pub attr: &'static Attribute,
    /// The sub-attribute, when the path has one.
    pub sub: Option<&'static Attribute>,
}

impl Resolved {
    /// The attribute the path designates: the sub-attribute if any, else the attribute.
    pub fn target(&self) -> &'static Attribute {
        self.sub.unwrap_or(self.attr)
    }

    /// The JSON object holding the attribute: the resource itself, or its extension object.
    pub fn container_in<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        match self.container {
            Container::Core | Container::Common => Some(resource),
            Container::Extension(ext) => get_ci(resource, ext.id),
        }
    }

    /// The attribute's value in `resource` (the whole array for a multi-valued attribute), if set.
    pub fn attr_value<'a>(&self, resource: &'a Value) -> Option<&'a Value> {
        self.container_in(resource).and_then(|c| get_ci(c, self.attr.name))
    }

    /// Whether a client may never see the attribute's value (RFC 7643 §7 `returned: never` or
    /// `mutability: writeOnly`, e.g. `password`): such attributes cannot be filtered or sorted on.
    pub fn is_hidden(&self) -> bool {
        is_hidden(self.attr) || self.sub.is_some_and(is_hidden)
    }
}

pub(crate) fn is_hidden(attr: &Attribute) -> bool {
    attr.returned == schema::Returned::Never || attr.mutability == Mutability::WriteOnly
}

/// The member `key` of a JSON object: the exact key if present, else the first key equal to it
/// ignoring ASCII case (attribute names are case-insensitive, RFC 7643 §2.1).
pub(crate) fn get_ci<'a>(obj: &'a Value, key: &str) -> Option<&'a Value> {
    member_ci(obj.as_object()?, key).map(|(_, v)| v)
}

/// The member of `map` named `key`, with the key as spelt in the map: the exact key if present,
/// else the first key equal to it ignoring ASCII case. The one case-insensitive lookup behind
/// [`get_ci`] and PATCH's key helpers.
///
/// A small object (a SCIM resource has a dozen attributes or fewer, a complex value a handful)
/// is searched in order instead of hashed: the map's hasher (SipHash) costs more than comparing
/// a few keys, most of which differ in length, and the index's entries look up some forty
/// attributes of each new user, most of them absent (issue 17, fourth round).
pub(crate) fn member_ci<'a>(map: &'a Map<String, Value>, key: &str) -> Option<(&'a String, &'a Value)> {
    const SEARCHED: usize = 16;
    let exact = match map.len() <= SEARCHED {
        true => map.iter().find(|(k, _)| k.as_str() == key),
        false => map.get_key_value(key),
    };
    exact.or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)))
}

/// The values of an attribute given as a list or as one value: an array's items, none for
/// `null` (unassigned, RFC 7643 §2.5), else the value itself.
pub fn values_of(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        one => vec![one],
    }
}

/// A PATCH operation path: `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
///
/// * `name.familyName`: `attr` holds the whole path (with `attr.sub`), `filter` and `sub` are `None`.
/// * `emails[type eq "work"].value`: `attr` is `emails` (its `sub` is always `None`), `filter` is
///   the value filter (paths relative to `emails`) and `sub` is the trailing `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    /// The attribute path (before any `[`).
    pub attr: AttrPath,
    /// The value filter between `[` and `]`, whose paths are relative to `attr`.
    pub filter: Option<Filter>,
    /// The sub-attribute after `]` (`emails[type eq "work"].value`).
    pub sub: Option<String>,
}

impl PatchPath {
    /// Parses a PATCH path (RFC 7644 §3.5.2). Errors are `invalidPath` and name the character
    /// position at fault. The filter between brackets follows RFC 7644 §3.4.2.2 `valFilter`: it
    /// may use `and`, `or`, `not` and parentheses but no nested `[...]`.
    ///
    /// ```
    /// use scimbox_validator::path::PatchPath;
    /// let p = PatchPath::parse(r#"emails[type eq "work"].value"#).unwrap();
    /// assert_eq!((p.attr.name.as_str(), p.sub.as_deref()), ("emails", Some("value")));
    /// assert!(p.filter.is_some());
    /// ```
    pub fn parse(s: &str) -> Result<PatchPath> {
        crate::filter::parse_patch_path(s)
    }
}

impl fmt::Display for PatchPath {
    /// The canonical text: `attrPath`, or `attrPath[filter]` optionally followed by `.sub`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            write!(f, "[{filter}]")?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

/// Parses `[URI ":"] ATTRNAME *1subAttr`; the error is a detail without position.
pub(crate) fn parse_attr_path(s: &str) -> Result<AttrPath, String> {
    if s.is_empty() {
        return Err("the attribute name is empty".into());
    }
    let (urn, rest) = match s.rfind(':') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    if let Some(urn) = urn {
        check_urn(urn, rest)?;
    }
    let (name, sub) = match rest.split_once('.') {
        Some((name, sub)) => (name, Some(sub)),
        None => (rest, None),
    };
    check_name(name)?;
    if let Some(sub) = sub {
        if sub.contains('.') {
            return Err(format!(
                "\"{}\" has more than one sub-attribute level; SCIM paths have at most one (name.givenName)",
                clip(rest)
            ));
        }
        check_name(sub)?;
    }
    Ok(AttrPath { urn: urn.map(str::to_owned), name: name.to_owned(), sub: sub.map(str::to_owned) })
}

fn check_urn(urn: &str, rest: &str) -> Result<(), String> {
    if urn.is_empty() {
        return Err(format!("\":{}\" has an empty schema URN before the ':'", clip(rest)));
    }
    if rest.is_empty() {
        return Err(format!(
            "expected an attribute name after the schema URN \"{}:\", e.g. {}:userName",
            clip(urn),
            clip(urn)
        ));
    }
    Ok(())
}

/// `ATTRNAME = ALPHA *(nameChar)`, `nameChar = "-" / "_" / DIGIT / ALPHA` (RFC 7644 §3.4.2.2);
/// a leading `$` is also accepted for `$ref` (RFC 7643 §2.3.7).
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    let body = name.strip_prefix('$').unwrap_or(name);
    let mut chars = body.chars();
    let starts_alpha = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if starts_alpha && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Ok(());
    }
    if name.is_empty() {
        return Err("an attribute name is empty (check for a stray '.' or ':')".into());
    }
    let mut msg = format!(
        "\"{}\" is not a valid attribute name: names start with a letter and contain only letters, digits, '-' and '_'",
        clip(name)
    );
    if name.contains(['=', '<', '>', '!']) {
        msg.push_str("; comparison operators are words separated by spaces (userName eq \"bjensen\")");
    }
    Err(msg)
}

/// Shortens user input quoted in an error detail to at most 100 characters.
pub(crate) fn clip(s: &str) -> String {
    const MAX: usize = 100;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ScimType;
    use crate::schema::{ENTERPRISE_USER_URN, USER_RESOURCE, USER_URN};

    fn ap(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath { urn: urn.map(Into::into), name: name.into(), sub: sub.map(Into::into) }
    }

    /// The exact key wins over one equal ignoring case, in a small object searched in order
    /// and in a large one hashed alike; else the first key equal ignoring case.
    #[test]
    fn member_ci_prefers_the_exact_key_at_any_size() {
        for filler in [0, 40] {
            let mut m = Map::new();
            m.insert("DisplayName".into(), Value::from(1));
            m.insert("displayName".into(), Value::from(2));
            m.insert("NICKNAME".into(), Value::from(3));
            m.insert("nickname".into(), Value::from(4));
            for i in 0..filler {
                m.insert(format!("extra{i}"), Value::Null);
            }
            let at = |k: &str| member_ci(&m, k).map(|(k, v)| (k.clone(), v.clone()));
            assert_eq!(at("displayName"), Some(("displayName".into(), Value::from(2))), "{filler}");
            assert_eq!(at("DISPLAYNAME"), Some(("DisplayName".into(), Value::from(1))), "{filler}");
            assert_eq!(at("nickName"), Some(("NICKNAME".into(), Value::from(3))), "{filler}");
            assert_eq!(at("nickname"), Some(("nickname".into(), Value::from(4))), "{filler}");
            assert_eq!(at("title"), None, "{filler}");
        }
    }

    #[test]
    fn attr_paths_parse() {
        let ent = ENTERPRISE_USER_URN;
        let cases: Vec<(String, AttrPath)> = vec![
            ("userName".into(), ap(None, "userName", None)),
            ("  userName ".into(), ap(None, "userName", None)),
            ("name.givenName".into(), ap(None, "name", Some("givenName"))),
            ("meta.lastModified".into(), ap(None, "meta", Some("lastModified"))),
            ("groups.$ref".into(), ap(None, "groups", Some("$ref"))),
            (format!("{USER_URN}:userName"), ap(Some(USER_URN), "userName", None)),
            (format!("{USER_URN}:name.familyName"), ap(Some(USER_URN), "name", Some("familyName"))),
            (format!("{ent}:department"), ap(Some(ent), "department", None)),
            (format!("{ent}:manager.value"), ap(Some(ent), "manager", Some("value"))),
            ("x509Certificates".into(), ap(None, "x509Certificates", None)),
            ("my-attr_2".into(), ap(None, "my-attr_2", None)),
        ];
        for (text, want) in cases {
            let got = AttrPath::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(got, want, "{text}");
            assert_eq!(AttrPath::parse(&got.to_string()).ok(), Some(want), "display round trip of {text}");
        }
    }

    #[test]
    fn bad_attr_paths_are_invalid_path() {
        let cases = [
            ("", "empty"),
            ("1abc", "\"1abc\" is not a valid attribute name"),
            ("name.", "empty"),
            (".name", "empty"),
            ("name.given.name", "more than one sub-attribute level"),
            (":userName", "empty schema URN"),
            ("urn:x:", "expected an attribute name after the schema URN"),
            ("userName=bjensen", "comparison operators are words"),
            ("nöm", "not a valid attribute name"),
            ("$", "not a valid attribute name"),
        ];
        for (text, needle) in cases {
            let err = AttrPath::parse(text).expect_err(text);
            assert_eq!(err.scim_type, ScimType::InvalidPath, "{text}");
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn paths_resolve_against_the_user_type() {
        let ent = ENTERPRISE_USER_URN;
        let cases: Vec<(String, Container, &str, Option<&str>)> = vec![
            ("userName".into(), Container::Core, "userName", None),
            ("USERNAME".into(), Container::Core, "userName", None),
            (format!("{USER_URN}:userName"), Container::Core, "userName", None),
            (format!("{}:username", USER_URN.to_uppercase()), Container::Core, "userName", None),
            ("name.givenName".into(), Container::Core, "name", Some("givenName")),
            ("emails.value".into(), Container::Core, "emails", Some("value")),
            ("id".into(), Container::Common, "id", None),
            ("externalId".into(), Container::Common, "externalId", None),
            ("meta.lastModified".into(), Container::Common, "meta", Some("lastModified")),
            ("schemas".into(), Container::Common, "schemas", None),
            (format!("{USER_URN}:meta.created"), Container::Common, "meta", Some("created")),
            ("department".into(), Container::Extension(&crate::schema::ENTERPRISE_USER_SCHEMA), "department", None),
            (
                format!("{ent}:manager.value"),
                Container::Extension(&crate::schema::ENTERPRISE_USER_SCHEMA),
                "manager",
                Some("value"),
            ),
        ];
        for (text, container, attr, sub) in cases {
            let r = AttrPath::parse(&text).and_then(|p| p.resolve(&USER_RESOURCE));
            let r = r.unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(r.container, container, "{text}");
            assert_eq!(r.attr.name, attr, "{text}");
            assert_eq!(r.sub.map(|s| s.name), sub, "{text}");
        }
    }

    #[test]
    fn unknown_paths_name_the_attribute() {
        let ent = ENTERPRISE_USER_URN;
        let cases: Vec<(String, &str)> = vec![
            ("nickname2".into(), "unknown attribute \"nickname2\""),
            ("name.first".into(), "unknown sub-attribute \"first\" of \"name\""),
            ("userName.x".into(), "\"userName\" has no sub-attributes"),
            (format!("{ent}:userName"), "has no such attribute"),
            (format!("{USER_URN}:department"), "has no such attribute"),
            ("urn:example:foo:bar".into(), "unknown schema \"urn:example:foo\""),
            (ent.to_string(), "is a schema URN, not an attribute"),
        ];
        for (text, needle) in cases {
            let err = AttrPath::parse(&text).and_then(|p| p.resolve(&USER_RESOURCE)).expect_err(&text);
            assert_eq!(err.scim_type, ScimType::InvalidPath, "{text}");
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn patch_paths_parse() {
        let ent = ENTERPRISE_USER_URN;
        // (path, attr, has filter, trailing sub)
        let cases: Vec<(String, AttrPath, bool, Option<&str>)> = vec![
            (r#"members[value eq "2819c223"]"#.into(), ap(None, "members", None), true, None),
            (r#"emails[type eq "work"].value"#.into(), ap(None, "emails", None), true, Some("value")),
            ("name.familyName".into(), ap(None, "name", Some("familyName")), false, None),
            (format!("{ent}:manager"), ap(Some(ent), "manager", None), false, None),
            (format!("{ent}:manager.value"), ap(Some(ent), "manager", Some("value")), false, None),
            (
                r#"addresses[type eq "work"].streetAddress"#.into(),
                ap(None, "addresses", None),
                true,
                Some("streetAddress"),
            ),
            (r#"emails[type eq "work" and not (value ew ".org")]"#.into(), ap(None, "emails", None), true, None),
            (format!("{USER_URN}:emails[primary eq true]"), ap(Some(USER_URN), "emails", None), true, None),
            (" userName ".into(), ap(None, "userName", None), false, None),
        ];
        for (text, attr, has_filter, sub) in cases {
            let p = PatchPath::parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.attr, attr, "{text}");
            assert_eq!(p.filter.is_some(), has_filter, "{text}");
            assert_eq!(p.sub.as_deref(), sub, "{text}");
            assert_eq!(PatchPath::parse(&p.to_string()).as_ref(), Ok(&p), "display round trip of {text}");
        }
        let p = PatchPath::parse(r#"members[value eq "2819c223"]"#).unwrap();
        let want = Filter::Compare(ap(None, "value", None), crate::filter::CompareOp::Eq, "2819c223".into());
        assert_eq!(p.filter, Some(want));
    }

    #[test]
    fn bad_patch_paths_are_invalid_path_with_position() {
        let cases = [
            ("", "the path is empty"),
            ("   ", "the path is empty"),
            ("emails[", "character 8: expected an attribute name"),
            (r#"emails[type eq "work""#, "expected \"]\" to close the \"[\" at character 7"),
            (r#"emails[type eq "work"]value"#, "character 23: expected the end of the path"),
            (r#"emails[type eq "work"]."#, "character 24: an attribute name is empty"),
            (r#"emails[type eq "work"].value.x"#, "more than one"),
            (r#"emails[type eq "work"][value pr]"#, "character 23"),
            (r#"emails.value[type eq "work"]"#, "must follow a complex attribute"),
            (r#"emails[type[value pr]]"#, "cannot be nested"),
            (r#"emails[type equals "work"]"#, "character 13: expected a comparison operator"),
            ("name givenName", "character 6: expected the end of the path"),
            ("1name", "character 1: \"1name\" is not a valid attribute name"),
            (r#""userName""#, "character 1: expected an attribute name"),
            (r#"emails[type eq "wo]"#, "unterminated string"),
            (r#"emails[]"#, "character 8: expected an attribute name"),
        ];
        for (text, needle) in cases {
            let err = PatchPath::parse(text).expect_err(text);
            assert_eq!(err.scim_type, ScimType::InvalidPath, "{text}");
            assert!(err.detail.contains(needle), "{text}: {}", err.detail);
            assert!(err.detail.starts_with("invalid path"), "{text}: {}", err.detail);
        }
    }

    #[test]
    fn get_ci_prefers_the_exact_key() {
        let v = serde_json::json!({"UserName": "a", "userName": "b", "Title": "t"});
        assert_eq!(get_ci(&v, "userName"), Some(&Value::from("b")));
        assert_eq!(get_ci(&v, "title"), Some(&Value::from("t")));
        assert_eq!(get_ci(&v, "nope"), None);
        assert_eq!(get_ci(&Value::from(1), "x"), None);
    }

    #[test]
    fn clip_shortens_long_input() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"é".repeat(100)), "é".repeat(100));
        assert_eq!(clip(&"é".repeat(200)).chars().count(), 101);
    }
}
