//! The journal's middleware on the protected SCIM routes: it turns each request and its answer
//! into a plain [`Entry`] (with a copy of the body as the handler read it, see
//! [`capture`]) and hands it to the [`Recorder`]. What is kept, redacted, written and
//! pruned is the journal's business ([`crate::journal`]); only the HTTP side lives here.

mod capture;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;

use super::{AppState, OriginalPath};
use crate::clock;
use crate::error::{ErrorInfo, InternalCause};
use crate::journal::{Entry, Recorder, redact};

/// The middleware on the protected SCIM routes: records each request once it is answered (or
/// abandoned: timed out, or the client went away).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let (mut req, sink) = capture::tee(req);
    let token = TokenSlot::default();
    req.extensions_mut().insert(token.clone());
    let entry = Some(start(&req));
    let mut flight = InFlight { recorder: Arc::clone(&state.journal), entry, sink, token, began: Instant::now() };
    let resp = next.run(req).await;
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
    entry: Option<Entry>,
    sink: capture::Sink,
    token: TokenSlot,
    began: Instant,
}

impl InFlight {
    fn finish(&mut self, resp: &Response) {
        let Some(mut e) = self.entry.take() else { return };
        e.status = resp.status().as_u16();
        e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
        e.token_name = self.token.name();
        if let Some(info) = resp.extensions().get::<ErrorInfo>() {
            e.scim_type = info.scim_type.map(str::to_owned);
            e.detail = Some(info.detail.clone());
        }
        if let Some(InternalCause(cause)) = resp.extensions().get::<InternalCause>() {
            e.detail = Some(format!("internal error: {cause}"));
        }
        if e.resource_id.is_none() && e.resource_type.is_some() && resp.status().as_u16() == 201 {
            e.resource_id = created_id(resp.headers());
        }
        self.recorder.record(e, self.sink.take());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(mut e) = self.entry.take() {
            e.status = 408;
            e.token_name = self.token.name();
            e.duration_ms = self.began.elapsed().as_secs_f64() * 1000.0;
            e.detail = Some("no answer: the request timed out or the client closed the connection".into());
            self.recorder.record(e, self.sink.take());
        }
    }
}

/// What is known of a request when it arrives.
fn start(req: &Request) -> Entry {
    let h = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let full = req.extensions().get::<OriginalUri>().map_or(req.uri(), |u| &u.0);
    let path = req.extensions().get::<OriginalPath>().map_or(full.path(), |p| p.0.as_str());
    let (resource_type, resource_id) = resource_of(req.uri().path());
    Entry {
        at: clock::now_stamp(),
        client: h(header::USER_AGENT).map(|ua| ua.trim().chars().take(200).collect()),
        method: req.method().as_str().to_owned(),
        path: path.chars().take(2000).collect(),
        query: full.query().map(|q| redact::query(&q.chars().take(4000).collect::<String>())),
        resource_type: resource_type.map(str::to_owned),
        resource_id,
        ..Entry::default()
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
