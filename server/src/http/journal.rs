//! The journal's middleware on the protected SCIM routes: it turns each request and its answer
//! into a plain [`Entry`] (with a copy of the body as the handler read it, see
//! [`capture`]) and hands it to the [`Recorder`]. What is kept, redacted, written and
//! pruned is the journal's business ([`crate::journal`]); only the HTTP side lives here.

mod capture;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{OriginalUri, Request};
use axum::http::{HeaderMap, HeaderValue, Method, Uri, header};
use axum::response::Response;

use super::{AppState, OriginalPath};
use crate::error::{ErrorInfo, InternalCause};
use crate::journal::{self, Entry, Recorder, redact};
use crate::{clock, stamp};

/// The middleware on the protected SCIM routes: records each request once it is answered (or
/// abandoned: timed out, or the client went away).
///
/// What the entry needs of the request is kept as it arrived ([`Arrival`]: shared clones, the
/// time unformatted) and made into an [`Entry`] only when it is listed: a successful read past
/// the journal's rate is only counted (issue 17: building the entry was most of the journal's
/// cost per GET). A request without a body (no `Content-Length`, no `Transfer-Encoding`: RFC
/// 9112 §6.3) has its body left unwrapped, as there is nothing to copy.
///
/// Called by [`super::protect`] around the layers inside it (`inner`).
pub async fn record<F, Fut>(state: &AppState, req: Request, inner: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let has_body =
        req.headers().contains_key(header::CONTENT_LENGTH) || req.headers().contains_key(header::TRANSFER_ENCODING);
    let (mut req, sink) = if has_body { capture::tee(req) } else { (req, capture::Sink::default()) };
    let token = TokenSlot::default();
    req.extensions_mut().insert(token.clone());
    let arrival = Some(Arrival::of(&req));
    let mut flight = InFlight { recorder: Arc::clone(&state.journal), arrival, sink, token, began: Instant::now() };
    let resp = inner(req).await;
    flight.finish(&resp);
    resp
}

/// The connection (token name) of a request, once the token check has accepted it.
#[derive(Clone, Default)]
struct TokenSlot(Arc<Mutex<Option<String>>>);

impl TokenSlot {
    fn name(&self) -> Option<String> {
        self.0.lock().ok()?.clone()
    }
}

/// Called by the token check when it accepts a request: the journal records the connection.
pub fn identify(req: &Request, token_name: &str) {
    if let Some(TokenSlot(slot)) = req.extensions().get::<TokenSlot>()
        && let Ok(mut slot) = slot.lock()
    {
        *slot = Some(token_name.to_owned());
    }
}

/// A request being answered; recorded as abandoned if dropped before [`InFlight::finish`].
struct InFlight {
    recorder: Arc<Recorder>,
    arrival: Option<Arrival>,
    sink: capture::Sink,
    token: TokenSlot,
    began: Instant,
}

impl InFlight {
    fn finish(&mut self, resp: &Response) {
        let Some(arrival) = self.arrival.take() else { return };
        let status = resp.status().as_u16();
        let listed = if journal::is_read(arrival.method.as_str(), arrival.path(), status) {
            self.recorder.admit_read(|| stamp::timestamp(arrival.at))
        } else {
            true
        };
        if !listed {
            return;
        }
        let mut e = arrival.entry();
        e.status = status;
        e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
        e.token_name = self.token.name();
        if let Some(info) = resp.extensions().get::<ErrorInfo>() {
            e.scim_type = info.scim_type.map(str::to_owned);
            e.detail = Some(info.detail.clone());
        }
        if let Some(InternalCause(cause)) = resp.extensions().get::<InternalCause>() {
            e.detail = Some(format!("internal error: {cause}"));
        }
        if e.resource_id.is_none() && e.resource_type.is_some() && status == 201 {
            e.resource_id = created_id(resp.headers());
        }
        self.recorder.record_admitted(e, self.sink.take());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(arrival) = self.arrival.take() {
            let mut e = arrival.entry();
            e.status = 408;
            e.token_name = self.token.name();
            e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
            e.detail = Some("no answer: the request timed out or the client closed the connection".into());
            self.recorder.record_admitted(e, self.sink.take());
        }
    }
}

/// What is known of a request when it arrives, as it arrived: the parts of the request line and
/// the User-Agent are shared clones, the time is not formatted yet.
struct Arrival {
    at: time::OffsetDateTime,
    method: Method,
    /// The target as routed (relative to the SCIM base).
    routed: Uri,
    /// The target as received ([`OriginalUri`]), when routing changed it.
    full: Option<Uri>,
    /// The path as the client sent it ([`OriginalPath`]), when it was normalised.
    sent: Option<String>,
    user_agent: Option<HeaderValue>,
}

impl Arrival {
    fn of(req: &Request) -> Self {
        let full = req.extensions().get::<OriginalUri>().map(|u| u.0.clone()).filter(|u| u != req.uri());
        Self {
            at: clock::now(),
            method: req.method().clone(),
            routed: req.uri().clone(),
            full,
            sent: req.extensions().get::<OriginalPath>().map(|p| p.0.clone()),
            user_agent: req.headers().get(header::USER_AGENT).cloned(),
        }
    }

    /// The path as the client sent it.
    fn path(&self) -> &str {
        self.sent.as_deref().unwrap_or_else(|| self.full.as_ref().unwrap_or(&self.routed).path())
    }

    /// The entry as far as the request tells it.
    fn entry(&self) -> Entry {
        let full = self.full.as_ref().unwrap_or(&self.routed);
        let (resource_type, resource_id) = resource_of(self.routed.path());
        Entry {
            at: stamp::timestamp(self.at),
            client: self
                .user_agent
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.trim().chars().take(200).collect()),
            method: self.method.as_str().to_owned(),
            path: self.path().chars().take(2000).collect(),
            query: full.query().map(|q| redact::query(&q.chars().take(4000).collect::<String>())),
            resource_type: resource_type.map(str::to_owned),
            resource_id,
            ..Entry::default()
        }
    }
}

/// `User`/`Group` and the id, from a path relative to the SCIM base (`/Users/{id}`).
fn resource_of(path: &str) -> (Option<&'static str>, Option<String>) {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    let kind = match segs.next() {
        Some("Users") => "User",
        Some("Groups") => "Group",
        _ => return (None, None),
    };
    let id = segs
        .next()
        .filter(|s| !s.starts_with('.'))
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().chars().take(200).collect::<String>());
    (Some(kind), id)
}

/// The id at the end of a 201's `Location`.
fn created_id(headers: &HeaderMap) -> Option<String> {
    let loc = headers.get(header::LOCATION)?.to_str().ok()?;
    loc.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_from_paths() {
        assert_eq!(resource_of("/Users"), (Some("User"), None));
        assert_eq!(resource_of("/Users/.search"), (Some("User"), None));
        assert_eq!(resource_of("/Groups/a%20b"), (Some("Group"), Some("a b".into())));
        assert_eq!(resource_of("/Bulk"), (None, None));
        let mut h = HeaderMap::new();
        h.insert(
            header::LOCATION,
            "http://x/scim/v2/Users/abc".parse().unwrap_or(header::HeaderValue::from_static("")),
        );
        assert_eq!(created_id(&h).as_deref(), Some("abc"));
    }
}
