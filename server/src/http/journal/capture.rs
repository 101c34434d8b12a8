//! A copy of the request body as the handler reads it: the request's body is wrapped in [`Tee`],
//! which passes every frame through unchanged (size hints included, so the handlers' limits and
//! 413s behave as before) and keeps the first [`CAPTURE_MAX`] bytes for the journal.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header::CONTENT_LENGTH;
use http_body::{Frame, SizeHint};

use crate::journal::{Body as Captured, CAPTURE_MAX};

/// The journal's end of a [`Tee`].
#[derive(Clone, Default)]
pub struct Sink {
    captured: Arc<Mutex<Captured>>,
    declared: Option<usize>,
}

impl Sink {
    /// What was captured so far; `None` when nothing was read.
    pub fn take(&self) -> Option<Captured> {
        let mut c = self.captured.lock().ok()?;
        if c.total == 0 {
            return None;
        }
        let mut out = std::mem::take(&mut *c);
        out.total = out.total.max(self.declared.unwrap_or(0));
        Some(out)
    }

    fn keep(&self, data: &Bytes) {
        let Ok(mut c) = self.captured.lock() else { return };
        c.total += data.len();
        let room = CAPTURE_MAX.saturating_sub(c.bytes.len());
        c.bytes.extend_from_slice(&data[..room.min(data.len())]);
    }
}

/// A body that copies what passes through it into a [`Sink`].
struct Tee {
    inner: Body,
    sink: Sink,
}

impl HttpBody for Tee {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled
            && let Some(data) = frame.data_ref()
        {
            self.sink.keep(data);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The request with its body wrapped, and the sink that receives the copy.
pub fn tee(req: Request) -> (Request, Sink) {
    let (parts, body) = req.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse().ok());
    let sink = Sink { captured: Arc::default(), declared };
    let body = Body::new(Tee { inner: body, sink: sink.clone() });
    (Request::from_parts(parts, body), sink)
}
