//! The simulated IdPs' HTTP/1.1 client: hyper's, one kept-alive connection per IdP, loopback only.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header;
use hyper_util::rt::TokioIo;

use super::*;

/// The server to talk to: a loopback socket address and the base path.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) addr: SocketAddr,
    pub(super) host: String,
    pub(super) base_path: String,
}

impl Target {
    pub(super) fn parse(base: &str) -> Result<Self, String> {
        let uri: http::Uri = base.parse().map_err(|e| format!("\"{base}\" is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("the simulated IdPs speak plain http to a loopback address, not \"{base}\""));
        }
        let host = uri.host().unwrap_or_default();
        let ip: IpAddr = if host.eq_ignore_ascii_case("localhost") {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
                .map_err(|_| format!("the simulated IdPs only talk to a loopback address, not \"{host}\""))?
        };
        if !ip.is_loopback() {
            return Err(format!("the simulated IdPs only talk to a loopback address, not {ip}"));
        }
        let port = uri.port_u16().unwrap_or(80);
        let authority = uri.authority().map_or_else(|| format!("{host}:{port}"), |a| a.as_str().to_owned());
        Ok(Target {
            addr: SocketAddr::new(ip, port),
            host: authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
        })
    }
}

/// An answer, read whole.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
}

/// One simulated IdP's HTTP connection and manners.
pub(super) struct Client {
    pub(super) idp: Idp,
    pub(super) target: Target,
    pub(super) auth: String,
    pub(super) user_agent: Option<&'static str>,
    pub(super) content_type: &'static str,
    pub(super) pace: Duration,
    pub(super) conn: Option<Connection>,
    pub(super) observe: Observer,
    pub(super) report: Report,
}

/// A kept-alive HTTP/1.1 connection: hyper's client half; the connection task runs beside it.
pub(super) type Connection = http1::SendRequest<Full<Bytes>>;

/// How long one request may take before the simulation gives up on the server.
pub(super) const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

impl Client {
    /// Waits the IdP's pace (with some jitter), sends one request and reads the answer.
    pub(super) async fn send(
        &mut self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
        what: &str,
    ) -> Result<Reply, String> {
        let jitter = rand::rng().random_range(0.6..1.4);
        tokio::time::sleep(self.pace.mul_f64(jitter)).await;
        let body = body.map(Value::to_string).unwrap_or_default();
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(method, path, &body)).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return Err(format!("{}: {method} {path}: {e}", self.idp.name())),
            Err(_) => {
                self.conn = None;
                return Err(format!("{}: {method} {path}: no answer within {REQUEST_TIMEOUT:?}", self.idp.name()));
            }
        };
        self.report.requests += 1;
        *self.report.statuses.entry(reply.status).or_default() += 1;
        let detail = (reply.status >= 400).then(|| reply.body["detail"].as_str().unwrap_or_default().to_owned());
        let event =
            Event { idp: self.idp, method, path: path.to_owned(), status: reply.status, what: what.to_owned(), detail };
        (self.observe)(&event);
        Ok(reply)
    }

    /// The request as this IdP sends it: its headers (no User-Agent at all for Entra), its
    /// content type, the body as one buffer.
    pub(super) fn request(&self, method: &str, path: &str, body: &str) -> Result<hyper::Request<Full<Bytes>>, String> {
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.target.base_path))
            .header(header::HOST, &self.target.host)
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::ACCEPT, "application/scim+json");
        if let Some(ua) = self.user_agent {
            req = req.header(header::USER_AGENT, ua).header(header::ACCEPT_CHARSET, "utf-8");
        }
        if !body.is_empty() {
            req = req.header(header::CONTENT_TYPE, self.content_type);
        }
        req.body(Full::new(Bytes::copy_from_slice(body.as_bytes())))
            .map_err(|e| format!("cannot build the request: {e}"))
    }

    /// Sends on the kept-alive connection; if that connection turns out to be closed before
    /// the request went out, once more on a new one.
    pub(super) async fn exchange(&mut self, method: &str, path: &str, body: &str) -> Result<Reply, String> {
        if let Some(mut conn) = self.conn.take()
            && conn.ready().await.is_ok()
        {
            match conn.send_request(self.request(method, path, body)?).await {
                Ok(resp) => {
                    let reply = read_reply(resp).await?;
                    self.conn = Some(conn);
                    return Ok(reply);
                }
                // hyper hands the request back when it never reached the wire: send it anew.
                Err(e) if e.is_canceled() || e.is_closed() => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.target.addr))?;
        let _ = stream.set_nodelay(true);
        let (mut conn, driver) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(driver);
        let resp = conn.send_request(self.request(method, path, body)?).await.map_err(|e| match e {
            e if e.is_incomplete_message() || e.is_closed() => {
                "the server closed the connection without answering".to_owned()
            }
            e => e.to_string(),
        })?;
        let reply = read_reply(resp).await?;
        self.conn = Some(conn);
        Ok(reply)
    }

    pub(super) async fn get(&mut self, path: &str, what: &str) -> Result<Reply, String> {
        self.send("GET", path, None, what).await
    }
    pub(super) async fn post(&mut self, path: &str, body: &Value, what: &str) -> Result<Reply, String> {
        self.send("POST", path, Some(body), what).await
    }
    pub(super) async fn put(&mut self, path: &str, body: &Value, what: &str) -> Result<Reply, String> {
        self.send("PUT", path, Some(body), what).await
    }
    pub(super) async fn patch(&mut self, path: &str, ops: Value, what: &str) -> Result<Reply, String> {
        self.send("PATCH", path, Some(&json!({"schemas": [PATCH_URN], "Operations": ops})), what).await
    }

    /// POST /Users; the new user's id when it was created.
    pub(super) async fn create_user(&mut self, body: &Value, what: &str) -> Result<Option<String>, String> {
        let r = self.post("/Users", body, what).await?;
        if r.status == 201 {
            self.report.users_created += 1;
        }
        Ok(id_if(&r, 201))
    }
}

/// Reads an answer whole; a body that is not JSON (or none, as on a 204) reads as `null`.
pub(super) async fn read_reply<B>(resp: hyper::Response<B>) -> Result<Reply, String>
where
    B: hyper::body::Body,
    B::Error: std::fmt::Display,
{
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.map_err(|e| format!("reading the answer: {e}"))?.to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok(Reply { status, body })
}
