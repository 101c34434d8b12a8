//! The one way a page becomes a response ([`Page`]), and the status page's errors ([`UiError`]),
//! rendered as HTML rather than as SCIM JSON.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{AppError, InternalCause};
use crate::service;

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script or style;
/// `wasm-unsafe-eval` lets the checker compile the validator's WebAssembly.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A rendered page: an askama template with a status.
pub struct Page<T> {
    status: StatusCode,
    template: T,
}

impl<T: Template> Page<T> {
    /// `200 OK`.
    pub fn ok(template: T) -> Self {
        Self { status: StatusCode::OK, template }
    }

    /// Another status (a form shown again with its error, say).
    pub fn status(status: StatusCode, template: T) -> Self {
        Self { status, template }
    }
}

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.template.render() {
            Ok(body) => html(self.status, body),
            Err(e) => UiError::Internal(format!("rendering a page: {e}")).into_response(),
        }
    }
}

/// An HTML response with the status page's headers: never cached (pages show live data and
/// CSRF tokens), never framed, and limited to this site's own scripts and styles.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    resp
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum UiError {
    /// 400: the request makes no sense; the text says why.
    BadRequest(String),
    /// 403: a form without the session's CSRF token.
    Forbidden(String),
    /// 404: no such user, entry, group...
    NotFound(String),
    /// 500: the cause is logged, never shown.
    Internal(String),
    /// Another 4xx/5xx the client can act on (413 too large, 429 slow down, 503 busy), with a
    /// `Retry-After` in seconds when waiting helps.
    Refused(StatusCode, String, Option<u64>),
}

/// The error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    reason: &'static str,
    message: String,
}

impl UiError {
    fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Refused(status, ..) => *status,
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = if let Self::Refused(_, _, Some(secs)) = &self { Some(*secs) } else { None };
        let (message, cause) = match self {
            Self::BadRequest(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Refused(_, m, _) => (m, None),
            Self::Internal(cause) => {
                ("Something went wrong on the server; the cause is in its log.".into(), Some(cause))
            }
        };
        let page = ErrorPage { status: status.as_u16(), reason: status.canonical_reason().unwrap_or("Error"), message };
        let body = page.render().unwrap_or_else(|_| format!("{} {}", page.status, page.reason));
        let mut resp = html(status, body);
        if let Some(secs) = retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(cause) = cause {
            resp.extensions_mut().insert(InternalCause(cause));
        }
        resp
    }
}

impl From<service::Error> for UiError {
    /// A domain refusal as a page: its text is meant for people; an internal fault is logged.
    fn from(e: service::Error) -> Self {
        use service::Error as E;
        match e {
            E::NotFound(m) => Self::NotFound(capitalised(&m)),
            E::Internal(cause) => Self::Internal(cause),
            E::Unavailable(_) | E::TimedOut(_) => {
                Self::Refused(StatusCode::SERVICE_UNAVAILABLE, e.to_string(), Some(5))
            }
            E::Conflict(_) | E::Unresolved(_) => Self::Refused(StatusCode::CONFLICT, capitalised(&e.to_string()), None),
            E::MethodNotAllowed(_) => Self::Refused(StatusCode::METHOD_NOT_ALLOWED, e.to_string(), None),
            E::PreconditionFailed(_) => Self::Refused(StatusCode::PRECONDITION_FAILED, e.to_string(), None),
            E::Limit(_) => Self::Refused(StatusCode::PAYLOAD_TOO_LARGE, e.to_string(), None),
            E::Gone(_) => Self::Refused(StatusCode::GONE, e.to_string(), None),
            E::Held { retry_after, .. } => {
                Self::Refused(StatusCode::TOO_MANY_REQUESTS, e.to_string(), Some(retry_after))
            }
            E::Invalid(_) => Self::BadRequest(capitalised(&e.to_string())),
        }
    }
}

/// A service message as a sentence: its first letter capitalised, a full stop at the end.
fn capitalised(m: &str) -> String {
    let mut chars = m.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    let stop = if m.ends_with(['.', '!', '?']) { "" } else { "." };
    format!("{first}{}{stop}", chars.as_str())
}

impl From<AppError> for UiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Internal(cause) => Self::Internal(cause),
            AppError::Scim { status, detail, .. } if status == StatusCode::NOT_FOUND => Self::NotFound(detail),
            AppError::Scim { detail, .. } => Self::BadRequest(detail),
            AppError::TooMany { detail, retry_after } => {
                Self::Refused(StatusCode::TOO_MANY_REQUESTS, detail, Some(retry_after))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_become_pages_with_their_status() {
        let status = |e: service::Error| UiError::from(e).status();
        assert_eq!(status(service::Error::NotFound("no such user".into())), StatusCode::NOT_FOUND);
        assert_eq!(status(service::Error::Internal("disk".into())), StatusCode::INTERNAL_SERVER_ERROR);
        // Storage that cannot answer now is not the visitor's mistake: 503, try again later.
        assert_eq!(status(service::Error::Unavailable("read-only".into())), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(status(service::Error::invalid("bad")), StatusCode::BAD_REQUEST);
        let page = UiError::from(service::Error::Internal("secret cause".into())).into_response();
        assert!(page.extensions().get::<InternalCause>().is_some_and(|c| c.0 == "secret cause"));
    }
}
