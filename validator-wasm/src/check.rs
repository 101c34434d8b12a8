//! Whole-document checks that return a verdict instead of stopping at the first error: what the
//! browser checker (through the `wasm` module on wasm32) and, later, `scimbox validate` show.
//! The server applies the same functions ([`crate::resource::normalize`] and
//! [`crate::resource::check_required`]), so the verdicts agree.

use serde::Serialize;

use crate::filter::Filter;
use crate::resource::{check_required, normalize};
use crate::schema::USER_RESOURCE;
use crate::{ScimType, ValidationError};

/// The outcome of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether the input passed.
    pub valid: bool,
    /// What is wrong, if anything.
    pub errors: Vec<Fault>,
}

/// One fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fault {
    /// The SCIM `scimType` the server would answer with.
    #[serde(rename = "scimType")]
    pub scim_type: &'static str,
    /// What is wrong and where.
    pub detail: String,
    /// 1-based line of a JSON syntax error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column of a JSON syntax error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<ValidationError> for Fault {
    fn from(e: ValidationError) -> Self {
        Fault { scim_type: e.scim_type.as_str(), detail: e.detail, line: None, column: None }
    }
}

impl Verdict {
    fn of(result: Result<(), Fault>) -> Self {
        match result {
            Ok(()) => Verdict { valid: true, errors: Vec::new() },
            Err(f) => Verdict { valid: false, errors: vec![f] },
        }
    }
}

/// Checks a SCIM User body as `POST /Users` would (RFC 7644 §3.3): strict JSON, schema types,
/// required attributes.
///
/// ```
/// let v = scimbox_validator::check::check_user("{\"userName\": 5}");
/// assert!(!v.valid);
/// assert_eq!(v.errors[0].scim_type, "invalidValue");
/// ```
pub fn check_user(text: &str) -> Verdict {
    Verdict::of(check_user_inner(text))
}

fn check_user_inner(text: &str) -> Result<(), Fault> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| Fault {
        scim_type: ScimType::InvalidSyntax.as_str(),
        detail: format!("not valid JSON: {e}"),
        line: Some(e.line()),
        column: Some(e.column()),
    })?;
    let doc = normalize(&USER_RESOURCE, &value)?;
    check_required(&USER_RESOURCE, &doc, &[])?;
    Ok(())
}

/// Checks a filter expression as `GET /Users?filter=` would (RFC 7644 §3.4.2.2).
pub fn check_filter(text: &str) -> Verdict {
    Verdict::of(Filter::parse(text).and_then(|f| f.check(&USER_RESOURCE)).map_err(Fault::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert!(check_user(r#"{"userName": "a"}"#).valid);
        let v = check_user("{\n  \"userName\": \"a\",\n}");
        assert_eq!((v.errors[0].scim_type, v.errors[0].line), ("invalidSyntax", Some(3)));
        let v = check_user(r#"{"displayName": "a"}"#);
        assert!(v.errors[0].detail.contains("userName"));
        assert!(check_filter(r#"userName eq "a""#).valid);
        assert_eq!(check_filter("userName eq").errors[0].scim_type, "invalidFilter");
    }
}
