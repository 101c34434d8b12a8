//! The service layer's one error type: what went wrong in domain terms, with no HTTP status and
//! no exit code. Each entry point decides how to show it: `http` maps it to a SCIM Error message
//! ([`crate::error::AppError`]) or an error page, the CLI to a message and an exit code
//! ([`Error::exit_code`]).

use scimbox_validator::ValidationError;

use crate::db::StoreError;

/// Why a domain operation did not happen. Every variant but `Internal` carries a text a person
/// can act on; `Internal`'s text is for the log only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The thing named does not exist (a user, a token, an account...).
    #[error("{0}")]
    NotFound(String),
    /// A unique value is taken, or the change contradicts the current state.
    #[error("{0}")]
    Conflict(String),
    /// A reference inside the request names nothing this request made: a Bulk `bulkId` whose
    /// POST failed, did not run, or does not exist (RFC 7644 §3.7.1). Unlike `Conflict`, no
    /// unique value is taken, so SCIM answers it as 409 without `scimType`.
    #[error("{0}")]
    Unresolved(String),
    /// The method does not apply to what it names: a Bulk POST to one resource's path, or a
    /// PUT, PATCH or DELETE to a collection (RFC 7644 §3.7: what the same request alone would
    /// get, 405).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// `If-Match` / `If-None-Match` did not hold (RFC 7644 §3.14).
    #[error("{0}")]
    PreconditionFailed(String),
    /// The input breaks a rule; the validator's `scimType` and detail say which.
    #[error("{}", .0.detail)]
    Invalid(ValidationError),
    /// A documented limit was exceeded (a size, a count, a rate).
    #[error("{0}")]
    Limit(String),
    /// The operation's deadline passed before it started: nothing was changed.
    #[error("{0}")]
    TimedOut(String),
    /// Storage cannot take changes now (disk full, file removed, read-only): nothing was changed,
    /// retrying later may succeed.
    #[error("scimbox cannot store changes right now: {0}")]
    Unavailable(String),
    /// The deprovisioning guard holds this deactivation or deletion (see
    /// [`crate::service::guard`]): nothing was changed; a retry after `retry_after` seconds
    /// succeeds once an administrator has released the connection.
    #[error("{detail}")]
    Held {
        /// What happened and how to release it.
        detail: String,
        /// Seconds before a retry is worth making.
        retry_after: u64,
    },
    /// What was asked for existed once and was removed for good: a change-feed cursor older
    /// than the oldest event kept (see [`crate::service::events`]).
    #[error("{0}")]
    Gone(String),
    /// A fault of scimbox or its storage; the text is logged, never shown to a client.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The service's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The CLI's exit code for this error (sysexits.h, so scripts can tell a typo from an outage):
    /// 65 for input that breaks a rule, 66 for something that does not exist, 69 when storage is
    /// unavailable, 70 for an internal fault, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) | Self::Limit(_) => 65,
            Self::NotFound(_) => 66,
            Self::Unavailable(_) | Self::TimedOut(_) => 69,
            Self::Internal(_) => 70,
            Self::Conflict(_)
            | Self::Unresolved(_)
            | Self::MethodNotAllowed(_)
            | Self::PreconditionFailed(_)
            | Self::Held { .. }
            | Self::Gone(_) => 1,
        }
    }

    /// An `Invalid` error with the validator's generic `invalidValue` type.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::Invalid(ValidationError::value(detail))
    }
}

impl From<ValidationError> for Error {
    fn from(e: ValidationError) -> Self {
        Self::Invalid(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::NotFound("it does not exist".into()),
            StoreError::Conflict(detail) => Self::Conflict(detail),
            StoreError::PreconditionFailed(detail) => Self::PreconditionFailed(detail),
            StoreError::Invalid(v) => Self::Invalid(v),
            StoreError::DeadlinePassed => Self::TimedOut(
                "the request's deadline passed while it waited for the writer; nothing was changed, retry it".into(),
            ),
            StoreError::Unavailable(reason) => Self::Unavailable(reason),
            StoreError::Internal(msg) => Self::Internal(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_meaning() {
        assert_eq!(Error::from(StoreError::Conflict("taken".into())), Error::Conflict("taken".into()));
        assert_eq!(Error::from(StoreError::Unavailable("disk full".into())).exit_code(), 69);
        assert!(matches!(Error::from(StoreError::NotFound), Error::NotFound(_)));
        assert_eq!(Error::invalid("bad").to_string(), "bad");
        assert_eq!(Error::invalid("bad").exit_code(), 65);
    }
}
