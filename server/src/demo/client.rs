//! The simulated IdPs' HTTP/1.1 client: keep-alive over a TCP stream, loopback only.

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
    pub(super) conn: Option<BufReader<TcpStream>>,
    pub(super) observe: Observer,
    pub(super) report: Report,
}

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
        let request = self.request_bytes(method, path, body);
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(&request)).await {
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

    pub(super) fn request_bytes(&self, method: &str, path: &str, body: Option<&Value>) -> Vec<u8> {
        let mut head = format!(
            "{method} {}{path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: application/scim+json\r\n",
            self.target.base_path, self.target.host, self.auth
        );
        if let Some(ua) = self.user_agent {
            head.push_str(&format!("User-Agent: {ua}\r\nAccept-Charset: utf-8\r\n"));
        }
        let body = body.map(Value::to_string).unwrap_or_default();
        if !body.is_empty() {
            head.push_str(&format!("Content-Type: {}\r\nContent-Length: {}\r\n", self.content_type, body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }

    /// Sends on the kept-alive connection; if that connection turns out to be closed before
    /// any answer arrived, once more on a new one.
    pub(super) async fn exchange(&mut self, request: &[u8]) -> Result<Reply, String> {
        if let Some(mut conn) = self.conn.take() {
            match round_trip(&mut conn, request).await {
                Ok((reply, keep)) => {
                    if keep {
                        self.conn = Some(conn);
                    }
                    return Ok(reply);
                }
                Err(Failure::Stale) => {}
                Err(Failure::Broken(e)) => return Err(e),
            }
        }
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.target.addr))?;
        let _ = stream.set_nodelay(true);
        let mut conn = BufReader::new(stream);
        match round_trip(&mut conn, request).await {
            Ok((reply, keep)) => {
                if keep {
                    self.conn = Some(conn);
                }
                Ok(reply)
            }
            Err(Failure::Stale) => Err("the server closed the connection without answering".into()),
            Err(Failure::Broken(e)) => Err(e),
        }
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

/// Why an exchange failed: `Stale` when nothing at all came back (a kept-alive connection the
/// server had closed), so the request may be sent again on a new connection.
pub(super) enum Failure {
    Stale,
    Broken(String),
}

/// Writes `request` and reads one answer; also says whether the connection may be reused.
pub(super) async fn round_trip(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Result<(Reply, bool), Failure> {
    if conn.get_mut().write_all(request).await.is_err() {
        return Err(Failure::Stale);
    }
    let mut status_line = String::new();
    match conn.read_line(&mut status_line).await {
        Ok(0) | Err(_) => return Err(Failure::Stale),
        Ok(_) => {}
    }
    read_response(conn, &status_line).await.map_err(Failure::Broken)
}

/// Reads the rest of an HTTP/1.1 response after its status line.
pub(super) async fn read_response<R: tokio::io::AsyncBufRead + Unpin>(
    conn: &mut R,
    status_line: &str,
) -> Result<(Reply, bool), String> {
    let bad = |what: &str| format!("malformed response ({what})");
    let mut parts = status_line.split_whitespace();
    let version = parts.next().ok_or_else(|| bad("no status line"))?;
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
    let (mut length, mut chunked, mut keep) = (None, false, version == "HTTP/1.1");
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err(bad("headers cut short"));
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else { return Err(bad("header line")) };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| bad("Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    let mut body = Vec::new();
    if status == 204 || status == 304 || (100..200).contains(&status) {
    } else if chunked {
        loop {
            let mut size = String::new();
            conn.read_line(&mut size).await.map_err(|e| e.to_string())?;
            let size = size.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size, 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                // Trailers, up to the empty line.
                loop {
                    let mut line = String::new();
                    if conn.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 || line.trim().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..]).await.map_err(|e| e.to_string())?;
            let mut crlf = [0u8; 2];
            conn.read_exact(&mut crlf).await.map_err(|e| e.to_string())?;
        }
    } else if let Some(n) = length {
        body.resize(n, 0);
        conn.read_exact(&mut body).await.map_err(|e| e.to_string())?;
    } else {
        conn.read_to_end(&mut body).await.map_err(|e| e.to_string())?;
        keep = false;
    }
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((Reply { status, body }, keep))
}
