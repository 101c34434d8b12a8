//! Request targets as people type them (issue 11): `curl 'http://host/scim/v2/Users?filter=userName eq "bob"'`
//! sends a raw space and raw quotes in the request target, which RFC 9112 §3.2 does not allow,
//! and hyper answers such a request line with an empty 400. [`TargetFixer`] sits between the
//! socket and hyper and percent-encodes, inside the request target only, the bytes that are
//! never legal there but that people and SCIM guides do type: space, `"`, `<`, `>`, `\`, `^`,
//! `` ` ``, `{`, `|`, `}` and every non-ASCII byte. `%` is left alone, so a target that is
//! already encoded passes unchanged.
//!
//! A raw space makes the request line ambiguous; it is read as: the method up to the first
//! space, the version after the last space (it must be `HTTP/1.0` or `HTTP/1.1`, else the line
//! passes untouched), and everything between them the target.
//!
//! To find the next request line on a keep-alive connection the fixer follows the framing:
//! headers end at an empty line, then `Content-Length` bytes of body follow (none without one).
//! After a request it cannot frame that way (`Transfer-Encoding`, a malformed or repeated
//! `Content-Length`, an overlong line) it passes the rest of the connection through untouched:
//! hyper still parses and answers those requests, and only a raw-space target that follows a
//! chunked request on the same connection gets hyper's plain 400, as before.
//!
//! Allocation-light: per connection a read buffer and two vectors reused from request to
//! request; bodies and passed-through bytes are copied, not inspected.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest request line rewritten; a longer one passes untouched (and hyper refuses it).
const MAX_LINE: usize = 64 * 1024;
/// How much of a header line is kept to recognise `Content-Length` and `Transfer-Encoding`.
const MAX_HEADER_KEPT: usize = 1024;
/// The read buffer's size.
const READ_CHUNK: usize = 8 * 1024;

/// Whether `b` must be percent-encoded in a request target (see the module doc).
fn must_encode(b: u8) -> bool {
    matches!(b, b' ' | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}') || b >= 0x80
}

/// Where in the request stream the fixer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before a request line (blank lines allowed, RFC 9112 §2.2).
    Start,
    /// Inside a request line, collected until its line feed.
    Line,
    /// Inside the header section.
    Headers,
    /// Inside a body of this many more bytes.
    Body(u64),
    /// Framing unknown: everything passes untouched.
    Pass,
}

/// The byte-level state machine of [`TargetFixer`], apart from I/O so it can be tested with
/// any split of the input.
#[derive(Debug)]
pub struct Framer {
    phase: Phase,
    /// The request line so far, or the header line so far (at most [`MAX_HEADER_KEPT`]).
    line: Vec<u8>,
    content_length: Option<u64>,
    /// `Transfer-Encoding`, a malformed `Content-Length` or an overlong framing header.
    unframed: bool,
}

impl Default for Framer {
    fn default() -> Self {
        Self { phase: Phase::Start, line: Vec::new(), content_length: None, unframed: false }
    }
}

impl Framer {
    /// Feeds bytes read from the client; what hyper should see is appended to `out`.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        while !input.is_empty() {
            match self.phase {
                Phase::Pass => {
                    out.extend_from_slice(input);
                    return;
                }
                Phase::Body(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    let left = left - n as u64;
                    self.phase = if left == 0 { Phase::Start } else { Phase::Body(left) };
                }
                Phase::Start => {
                    let blank = input.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
                    out.extend_from_slice(&input[..blank]);
                    input = &input[blank..];
                    if !input.is_empty() {
                        self.phase = Phase::Line;
                        self.line.clear();
                    }
                }
                Phase::Line => {
                    let (take, done) = match input.iter().position(|b| *b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (input.len(), false),
                    };
                    self.line.extend_from_slice(&input[..take]);
                    input = &input[take..];
                    if done {
                        fix_request_line(&self.line, out);
                        self.line.clear();
                        self.content_length = None;
                        self.unframed = false;
                        self.phase = Phase::Headers;
                    } else if self.line.len() > MAX_LINE {
                        out.extend_from_slice(&self.line);
                        self.line.clear();
                        self.phase = Phase::Pass;
                    }
                }
                Phase::Headers => {
                    let (take, done) = match input.iter().position(|b| *b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (input.len(), false),
                    };
                    out.extend_from_slice(&input[..take]);
                    let room = MAX_HEADER_KEPT.saturating_sub(self.line.len());
                    self.line.extend_from_slice(&input[..take.min(room)]);
                    input = &input[take..];
                    if done {
                        self.header_line();
                    }
                }
            }
        }
    }

    /// The end of input: a request line cut short goes to hyper as it came. Whether anything
    /// was written.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> bool {
        if self.phase != Phase::Line || self.line.is_empty() {
            return false;
        }
        out.append(&mut self.line);
        self.phase = Phase::Pass;
        true
    }

    /// Whether the fixer still follows the framing (for tests).
    pub fn framed(&self) -> bool {
        self.phase != Phase::Pass
    }

    /// The end of one header line: note the framing headers, or end the header section.
    fn header_line(&mut self) {
        let full = self.line.len() >= MAX_HEADER_KEPT;
        let line = trim_eol(&self.line);
        if line.is_empty() {
            self.phase = match (self.unframed, self.content_length) {
                (true, _) => Phase::Pass,
                (false, Some(n)) if n > 0 => Phase::Body(n),
                (false, _) => Phase::Start,
            };
        } else if let Some(colon) = line.iter().position(|b| *b == b':') {
            let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"transfer-encoding") {
                self.unframed = true;
            } else if name.eq_ignore_ascii_case(b"content-length") {
                let n = std::str::from_utf8(value).ok().and_then(|v| v.parse::<u64>().ok());
                match (n, self.content_length) {
                    (Some(n), None) if !full && value.iter().all(u8::is_ascii_digit) => self.content_length = Some(n),
                    _ => self.unframed = true,
                }
            }
        }
        self.line.clear();
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Writes a request line (with its line ending) to `out`, its target percent-encoded where it
/// must be; a line that is not `METHOD SP target SP HTTP/1.x` is written as it came.
fn fix_request_line(line: &[u8], out: &mut Vec<u8>) {
    let body = trim_eol(line);
    let ending = &line[body.len()..];
    let first = body.iter().position(|b| *b == b' ');
    let last = body.iter().rposition(|b| *b == b' ');
    let (Some(first), Some(last)) = (first, last) else {
        out.extend_from_slice(line);
        return;
    };
    if first == last {
        out.extend_from_slice(line);
        return;
    }
    let (method, target, version) = (&body[..first], &body[first + 1..last], &body[last + 1..]);
    let is_method = !method.is_empty() && method.iter().all(|b| b.is_ascii_alphabetic() || *b == b'-');
    let is_version = version == b"HTTP/1.1" || version == b"HTTP/1.0";
    if !is_method || !is_version || !target.iter().copied().any(must_encode) {
        out.extend_from_slice(line);
        return;
    }
    out.extend_from_slice(&body[..=first]);
    for &b in target {
        if must_encode(b) {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        } else {
            out.push(b);
        }
    }
    out.push(b' ');
    out.extend_from_slice(version);
    out.extend_from_slice(ending);
}

/// A connection whose request targets are percent-encoded before hyper reads them (see the
/// module doc); writes pass straight through.
#[derive(Debug)]
pub struct TargetFixer<S> {
    inner: S,
    framer: Framer,
    buf: Box<[u8]>,
    out: Vec<u8>,
    out_at: usize,
    /// Set once the client has sent a byte (the connection loop closes connections that stay
    /// silent while the server is at its connection cap).
    heard: Arc<AtomicBool>,
}

impl<S> TargetFixer<S> {
    /// Wraps a connection; `heard` is set when the first byte arrives.
    pub fn new(inner: S, heard: Arc<AtomicBool>) -> Self {
        let buf = vec![0; READ_CHUNK].into_boxed_slice();
        Self { inner, framer: Framer::default(), buf, out: Vec::new(), out_at: 0, heard }
    }

    fn heard(&self) {
        if !self.heard.load(Ordering::Relaxed) {
            self.heard.store(true, Ordering::Relaxed);
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TargetFixer<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, dest: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.out_at < this.out.len() {
                let n = dest.remaining().min(this.out.len() - this.out_at);
                dest.put_slice(&this.out[this.out_at..this.out_at + n]);
                this.out_at += n;
                if this.out_at == this.out.len() {
                    this.out.clear();
                    this.out_at = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if !this.framer.framed() {
                this.heard();
                return Pin::new(&mut this.inner).poll_read(cx, dest);
            }
            let mut read = ReadBuf::new(&mut this.buf);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut read))?;
            let n = read.filled().len();
            if n == 0 {
                if this.framer.finish(&mut this.out) {
                    continue;
                }
                return Poll::Ready(Ok(()));
            }
            this.heard();
            this.framer.feed(&this.buf[..n], &mut this.out);
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TargetFixer<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes.
    fn run(input: &[u8], step: usize) -> (Vec<u8>, bool) {
        let (mut f, mut out) = (Framer::default(), Vec::new());
        for piece in input.chunks(step.max(1)) {
            f.feed(piece, &mut out);
        }
        f.finish(&mut out);
        (out, f.framed())
    }

    fn fixed(input: &str) -> String {
        let whole = run(input.as_bytes(), input.len()).0;
        for step in 1..8 {
            assert_eq!(run(input.as_bytes(), step).0, whole, "split every {step} bytes: {input:?}");
        }
        String::from_utf8(whole).unwrap_or_default()
    }

    #[test]
    fn targets_are_encoded_and_the_rest_untouched() {
        let cases = [
            (
                "GET /Users?filter=userName eq \"bob\" HTTP/1.1\r\nHost: a b\r\n\r\n",
                "GET /Users?filter=userName%20eq%20%22bob%22 HTTP/1.1\r\nHost: a b\r\n\r\n",
            ),
            (
                "GET /Users?filter=userName+eq+\"bob\" HTTP/1.1\r\n\r\n",
                "GET /Users?filter=userName+eq+%22bob%22 HTTP/1.1\r\n\r\n",
            ),
            ("GET /a?x={|}^`<>\\ HTTP/1.0\n\n", "GET /a?x=%7B%7C%7D%5E%60%3C%3E%5C HTTP/1.0\n\n"),
            ("GET /é HTTP/1.1\r\n\r\n", "GET /%C3%A9 HTTP/1.1\r\n\r\n"),
            (
                "GET /Users?filter=a%20eq%20%22b%22 HTTP/1.1\r\n\r\n",
                "GET /Users?filter=a%20eq%20%22b%22 HTTP/1.1\r\n\r\n",
            ),
            // Not a request line this fixer understands: untouched.
            ("GET /a b HTTP/2.0\r\n\r\n", "GET /a b HTTP/2.0\r\n\r\n"),
            ("GET /a\"b\r\n\r\n", "GET /a\"b\r\n\r\n"),
            ("GET /a\"b HTTP/1.1\r\n\r\n", "GET /a%22b HTTP/1.1\r\n\r\n"),
            (" \r\n\r\n", " \r\n\r\n"),
            ("  \r\n\r\n", "  \r\n\r\n"),
            ("\r\nGET /a b HTTP/1.1\r\n\r\n", "\r\nGET /a%20b HTTP/1.1\r\n\r\n"),
        ];
        for (input, want) in cases {
            assert_eq!(fixed(input), want, "{input:?}");
        }
    }

    #[test]
    fn pipelined_requests_and_bodies_that_look_like_requests() {
        let body = "GET /inside body HTTP/1.1\r\n\r\n";
        let input = format!(
            "POST /Users HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET /x y HTTP/1.1\r\ncontent-length:0\r\n\r\nGET /p q HTTP/1.1\r\n\r\n",
            body.len()
        );
        let want = format!(
            "POST /Users HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}GET /x%20y HTTP/1.1\r\ncontent-length:0\r\n\r\nGET /p%20q HTTP/1.1\r\n\r\n",
            body.len()
        );
        assert_eq!(fixed(&input), want);
    }

    #[test]
    fn unframed_requests_pass_the_rest_through() {
        for framing in ["Transfer-Encoding: chunked", "Content-Length: 5, 5", "Content-Length: x"] {
            let input = format!("POST /a HTTP/1.1\r\n{framing}\r\n\r\n0\r\n\r\nGET /b c HTTP/1.1\r\n\r\n");
            let (out, framed) = run(input.as_bytes(), 3);
            assert_eq!(out, input.as_bytes(), "{framing}");
            assert!(!framed);
        }
        let twice = "POST /a HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nxGET /b c HTTP/1.1\r\n\r\n";
        assert_eq!(fixed(twice), twice);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a b".repeat(MAX_LINE));
        let (out, framed) = run(long.as_bytes(), 4096);
        assert!(out == long.as_bytes() && !framed);
    }

    #[tokio::test]
    async fn the_adapter_reads_through_a_stream() {
        use tokio::io::AsyncReadExt;
        let (mut client, server) = tokio::io::duplex(4096);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            for piece in ["GET /Users?filter=userName ", "eq \"bob\" HTTP/1.1\r\n", "Host: x\r\n\r\n"] {
                let _ = client.write_all(piece.as_bytes()).await;
            }
        });
        let heard = Arc::new(AtomicBool::new(false));
        let mut fixer = TargetFixer::new(server, Arc::clone(&heard));
        let mut got = String::new();
        let _ = writer.await;
        let _ = fixer.read_to_string(&mut got).await;
        assert_eq!(got, "GET /Users?filter=userName%20eq%20%22bob%22 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(heard.load(Ordering::Relaxed));
    }

    proptest::proptest! {
        /// Any bytes, split anywhere: no panic, and the same output as fed whole; bytes outside
        /// request targets are never changed (so the output is never shorter).
        #[test]
        fn any_input_any_split(input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600), step in 1usize..64) {
            let whole = run(&input, input.len()).0;
            proptest::prop_assert_eq!(run(&input, step).0, whole.clone());
            proptest::prop_assert!(whole.len() >= input.len());
        }
    }
}
