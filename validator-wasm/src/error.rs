//! The one error type of the validator, and the single source of SCIM `scimType` names
//! (RFC 7644 §3.12, Table 9).

use std::fmt;

/// A `scimType` detail error keyword (RFC 7644 §3.12, extended by RFC 9865 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScimType {
    /// The filter syntax was invalid, or an attribute or operator is not supported.
    InvalidFilter,
    /// The filter yields more results than the server is willing to compute.
    TooMany,
    /// One or more unique attribute values are already in use.
    Uniqueness,
    /// An attempt to modify an attribute whose mutability forbids it.
    Mutability,
    /// The request body structure was invalid or did not conform to the schema.
    InvalidSyntax,
    /// The `path` attribute was invalid or malformed.
    InvalidPath,
    /// The `path` did not yield an attribute or attribute value that could be operated on.
    NoTarget,
    /// A required value was missing, or the value was not compatible with the attribute type.
    InvalidValue,
    /// The specified SCIM protocol version is not supported.
    InvalidVers,
    /// The request cannot be completed because of sensitive data in the request URI.
    Sensitive,
    /// The `cursor` was not issued by this server for this query (RFC 9865 §2.1).
    InvalidCursor,
    /// The `cursor` is older than the server's `cursorTimeout` (RFC 9865 §2.1).
    ExpiredCursor,
    /// The `count` of a cursor request is above `maxPageSize` or differs from the first page's
    /// (RFC 9865 §2.1).
    InvalidCount,
}

impl ScimType {
    /// The keyword as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidFilter => "invalidFilter",
            Self::TooMany => "tooMany",
            Self::Uniqueness => "uniqueness",
            Self::Mutability => "mutability",
            Self::InvalidSyntax => "invalidSyntax",
            Self::InvalidPath => "invalidPath",
            Self::NoTarget => "noTarget",
            Self::InvalidValue => "invalidValue",
            Self::InvalidVers => "invalidVers",
            Self::Sensitive => "sensitive",
            Self::InvalidCursor => "invalidCursor",
            Self::ExpiredCursor => "expiredCursor",
            Self::InvalidCount => "invalidCount",
        }
    }

    /// The HTTP status RFC 7644 §3.12 pairs with this keyword.
    pub fn http_status(self) -> u16 {
        match self {
            Self::Uniqueness => 409,
            Self::Sensitive => 403,
            _ => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule was broken: what kind (`scim_type`) and, in words a person can act on, what and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The SCIM error keyword.
    pub scim_type: ScimType,
    /// A human-readable explanation naming the attribute, path or position at fault.
    pub detail: String,
}

impl ValidationError {
    /// A new error of the given kind.
    pub fn new(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self { scim_type, detail: detail.into() }
    }
    /// `invalidFilter`.
    pub fn filter(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidFilter, detail)
    }
    /// `invalidPath`.
    pub fn path(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidPath, detail)
    }
    /// `invalidValue`.
    pub fn value(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidValue, detail)
    }
    /// `invalidSyntax`.
    pub fn syntax(detail: impl Into<String>) -> Self {
        Self::new(ScimType::InvalidSyntax, detail)
    }
    /// `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::new(ScimType::Mutability, detail)
    }
    /// `noTarget`.
    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::new(ScimType::NoTarget, detail)
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.scim_type, self.detail)
    }
}

impl std::error::Error for ValidationError {}

/// Result alias of the validator.
pub type Result<T, E = ValidationError> = std::result::Result<T, E>;
