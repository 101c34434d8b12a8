//! The server's one error type and its SCIM rendering (RFC 7644 §3.12): every error, from the
//! auth layer and the router too, leaves as a SCIM Error message with `status` as a string,
//! served as `application/scim+json`. Internal causes never reach the client: they travel to the
//! logging middleware in a response extension and are logged there, once. Every error response
//! also carries an [`ErrorInfo`] extension, so the journal records `scimType` and `detail`
//! without parsing bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimbox_validator::schema::ERROR_URN;
use scimbox_validator::{ScimType, ValidationError};

use crate::db::StoreError;

/// The SCIM media type (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";
/// `Retry-After` (RFC 9110 §10.2.3), in seconds, on a 503: IdPs retry such writes later.
pub const RETRY_AFTER_SECS: u64 = 30;

/// An error answered to a client.
#[derive(Debug)]
pub enum AppError {
    /// A client-facing error: status, optional `scimType`, and a detail a person can act on.
    Scim { status: StatusCode, scim_type: Option<ScimType>, detail: String },
    /// A server fault; the text is logged, never sent.
    Internal(String),
    /// 429 Too Many Requests (RFC 6585 §4) with `Retry-After` in whole seconds (at least 1): a
    /// rate limit, or the deprovisioning guard holding a deactivation or deletion.
    TooMany {
        /// What was refused and why.
        detail: String,
        /// Seconds before a retry is worth making.
        retry_after: u64,
    },
}

/// What a SCIM error said, attached to its response for the journal ([`crate::journal`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorInfo {
    /// The `scimType`, if any.
    pub scim_type: Option<&'static str>,
    /// The `detail` as sent to the client.
    pub detail: String,
}

/// The internal cause of a 5xx, attached to the response for the logging middleware.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

impl AppError {
    /// A client error with this status and detail.
    pub fn status(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::Scim { status, scim_type: None, detail: detail.into() }
    }
    /// 404 with this detail.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::NOT_FOUND, detail)
    }
    /// 400 with this scimType and detail.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::Scim { status: StatusCode::BAD_REQUEST, scim_type: Some(scim_type), detail: detail.into() }
    }
    /// 401 with this detail.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::status(StatusCode::UNAUTHORIZED, detail)
    }
    /// 503 for a store that cannot take writes now (see [`StoreError::Unavailable`]): nothing
    /// was changed, and the response carries `Retry-After`.
    pub fn unavailable(reason: &str) -> Self {
        Self::status(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("scimbox cannot store changes right now: {reason}. Nothing was changed; retry later."),
        )
    }
    /// The HTTP status this error is answered with.
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Scim { status, .. } => *status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl From<ValidationError> for AppError {
    fn from(e: ValidationError) -> Self {
        let status = StatusCode::from_u16(e.scim_type.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        Self::Scim { status, scim_type: Some(e.scim_type), detail: e.detail }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("the resource does not exist"),
            StoreError::Conflict(detail) => {
                Self::Scim { status: StatusCode::CONFLICT, scim_type: Some(ScimType::Uniqueness), detail }
            }
            StoreError::PreconditionFailed(detail) => Self::status(StatusCode::PRECONDITION_FAILED, detail),
            StoreError::DeadlinePassed => Self::status(
                StatusCode::REQUEST_TIMEOUT,
                "the request's deadline passed while it waited for the writer; nothing was changed, retry it",
            ),
            StoreError::Invalid(v) => v.into(),
            StoreError::Internal(msg) => Self::Internal(msg),
            StoreError::Unavailable(reason) => Self::unavailable(&reason),
        }
    }
}

/// The one mapping from the service's errors to SCIM errors (RFC 7644 §3.12).
impl From<crate::service::Error> for AppError {
    fn from(e: crate::service::Error) -> Self {
        use crate::service::Error as E;
        match e {
            E::NotFound(detail) => Self::not_found(detail),
            E::Conflict(detail) => {
                Self::Scim { status: StatusCode::CONFLICT, scim_type: Some(ScimType::Uniqueness), detail }
            }
            E::Unresolved(detail) => Self::status(StatusCode::CONFLICT, detail),
            E::MethodNotAllowed(detail) => Self::status(StatusCode::METHOD_NOT_ALLOWED, detail),
            E::PreconditionFailed(detail) => Self::status(StatusCode::PRECONDITION_FAILED, detail),
            E::Invalid(v) => v.into(),
            E::Limit(detail) => Self::status(StatusCode::PAYLOAD_TOO_LARGE, detail),
            E::TimedOut(detail) => Self::status(StatusCode::REQUEST_TIMEOUT, detail),
            E::Unavailable(reason) => Self::unavailable(&reason),
            E::Internal(msg) => Self::Internal(msg),
            E::Held { detail, retry_after } => Self::TooMany { detail, retry_after },
            E::Gone(detail) => Self::status(StatusCode::GONE, detail),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        let mut retry_after = None;
        let (scim_type, detail, cause) = match self {
            Self::Scim { scim_type, detail, .. } => (scim_type, detail, None),
            Self::TooMany { detail, retry_after: secs } => {
                retry_after = Some(secs.max(1));
                (None, detail, None)
            }
            Self::Internal(msg) => {
                (None, "internal server error; the cause is in the server log".to_string(), Some(msg))
            }
        };
        let mut body = serde_json::json!({
            "schemas": [ERROR_URN],
            "status": status.as_u16().to_string(),
            "detail": &detail,
        });
        if let Some(t) = scim_type {
            body["scimType"] = t.as_str().into();
        }
        let info = ErrorInfo { scim_type: scim_type.map(ScimType::as_str), detail };
        let mut resp = (status, body.to_string()).into_response();
        resp.extensions_mut().insert(info);
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"scimbox\""));
        }
        if let Some(msg) = cause {
            resp.extensions_mut().insert(InternalCause(msg));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::Error as E;

    fn shown(e: E) -> (u16, Option<&'static str>, String) {
        match AppError::from(e) {
            AppError::Scim { status, scim_type, detail } => (status.as_u16(), scim_type.map(ScimType::as_str), detail),
            AppError::Internal(_) => (500, None, String::new()),
            AppError::TooMany { detail, .. } => (429, None, detail),
        }
    }

    /// Each service error keeps the SCIM status and `scimType` its cases were answered with
    /// when the service spoke `AppError`.
    #[test]
    fn service_errors_become_the_scim_errors_they_always_were() {
        assert_eq!(shown(E::NotFound("User x not found".into())), (404, None, "User x not found".into()));
        assert_eq!(shown(E::Conflict("taken".into())), (409, Some("uniqueness"), "taken".into()));
        assert_eq!(shown(E::Unresolved("bulkId:a".into())), (409, None, "bulkId:a".into()));
        assert_eq!(shown(E::MethodNotAllowed("no".into())), (405, None, "no".into()));
        assert_eq!(shown(E::PreconditionFailed("stale".into())), (412, None, "stale".into()));
        assert_eq!(shown(E::Limit("big".into())), (413, None, "big".into()));
        assert_eq!(shown(E::Invalid(ValidationError::syntax("bad"))), (400, Some("invalidSyntax"), "bad".into()));
        assert_eq!(shown(E::TimedOut("late".into())).0, 408);
        assert_eq!(shown(E::Unavailable("disk full".into())).0, 503);
        assert_eq!(shown(E::Internal("bug".into())).0, 500);
        assert_eq!(shown(E::Held { detail: "held".into(), retry_after: 600 }), (429, None, "held".into()));
    }
}
