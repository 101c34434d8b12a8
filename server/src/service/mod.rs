//! Domain operations between HTTP and storage: uniqueness, versions and preconditions, PATCH
//! application through the validator, list evaluation. No axum types here, no SQL.

pub mod accounts;
pub mod admins;
pub mod backup;
pub mod bulk;
pub mod cursor;
pub mod error;
pub mod events;
pub mod groups;
pub mod guard;
pub mod list;
pub mod metrics;
pub mod prefilter;
pub mod status;
pub mod stored;
pub mod tokens;
pub mod transfer;
pub mod users;
pub mod webhooks;

use serde_json::Value;

use crate::db::StoreError;
pub use error::{Error, Result};

/// That `location` (`--db`) names a database that is already there, for the commands that read
/// one and must not create it: a PostgreSQL URL always does (connecting says otherwise), a path
/// only when its file exists.
pub fn existing_database(location: &std::path::Path) -> Result<()> {
    if crate::db::Db::is_postgres(location) || location.is_file() {
        Ok(())
    } else {
        Err(Error::NotFound(format!("no database at {}", location.display())))
    }
}

/// A resource as the service rendered it, with what a response's headers and a Bulk outcome
/// need as typed values (RFC 7644 §3.3, §3.14), so that no entry point parses them back out of
/// the body's `meta`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The SCIM representation, before any `attributes` projection; `Null` when the service
    /// handed `text` alone (a new user's, issue 17: building this tree was a deep copy of its
    /// document that a response without a projection never reads). [`Rendered::tree`] gives
    /// the tree either way.
    pub body: Value,
    /// Its id.
    pub id: String,
    /// Its version; the `ETag` is [`etag`] of it, as `meta.version` is.
    pub version: i64,
    /// Its URL, as in `meta.location`.
    pub location: String,
    /// `body` serialised, when the service has that text already (a create's event data is the
    /// same JSON as its 201 response, RFC 7644 §3.3): an entry point answering without a
    /// projection sends it as is instead of serialising `body` again (issue 17).
    pub text: Option<String>,
}

impl Rendered {
    /// The representation as a tree: `body`, or `text` parsed when the service handed only that.
    pub fn tree(self) -> Result<Value> {
        match (self.body, self.text) {
            (Value::Null, Some(text)) => serde_json::from_str(&text).map_err(|e| Error::from(StoreError::from(e))),
            (body, _) => Ok(body),
        }
    }
}

/// `If-Match` / `If-None-Match` of a request (RFC 7644 §3.14, RFC 7232), checked against the
/// current version inside the write transaction.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    /// The `If-Match` header, if sent.
    pub if_match: Option<String>,
    /// The `If-None-Match` header, if sent.
    pub if_none_match: Option<String>,
}

/// The entity tag of a version: `W/"<version>"` (weak, RFC 7232 §2.3).
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// Whether an `If-Match`-style list (`*`, or comma-separated tags) names this version, using the
/// weak comparison of RFC 7232 §2.3.2.
pub fn tag_list_matches(list: &str, version: i64) -> bool {
    let want = version.to_string();
    list.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/").trim_matches('"') == want)
}

impl Preconditions {
    /// Refuses a write whose preconditions do not hold for `version` (412).
    pub fn check(&self, version: i64) -> Result<(), StoreError> {
        if let Some(m) = &self.if_match
            && !tag_list_matches(m, version)
        {
            return Err(StoreError::PreconditionFailed(format!(
                "If-Match {m} does not match the current version {}; read the resource again and retry",
                etag(version)
            )));
        }
        if let Some(m) = &self.if_none_match
            && tag_list_matches(m, version)
        {
            return Err(StoreError::PreconditionFailed(format!(
                "If-None-Match {m} matches the current version {}",
                etag(version)
            )));
        }
        Ok(())
    }
}

/// A new resource id: a UUID version 7 (RFC 9562 §5.7), time-ordered, with 74 random bits. SCIM
/// ids are opaque (RFC 7643 §3.1); ordered ones land at the end of the id index instead of on a
/// random page of it, so a batch of creates dirties (and writes to the WAL, and checkpoints) a
/// few index pages instead of one per create.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_comparison() {
        assert!(tag_list_matches("W/\"3\"", 3));
        assert!(tag_list_matches("\"3\"", 3));
        assert!(tag_list_matches("W/\"1\", W/\"3\"", 3));
        assert!(tag_list_matches("*", 9));
        assert!(!tag_list_matches("W/\"2\"", 3));
        let p = Preconditions { if_match: Some("W/\"2\"".into()), if_none_match: None };
        assert!(matches!(p.check(3), Err(StoreError::PreconditionFailed(_))));
        assert!(p.check(2).is_ok());
    }
}
