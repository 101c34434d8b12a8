//! A SCIM client that times each request: one keep-alive HTTP/1.1 connection pool, the bearer
//! token on every request, and the clock stopped only once the whole response body is read.

use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Method, StatusCode, header};
use serde_json::Value;

/// The media type SCIM requests carry (RFC 7644 §3.1).
const SCIM_JSON: &str = "application/scim+json";

/// One answer, read whole.
#[derive(Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: StatusCode,
    /// From just before the request was written to just after the last body byte was read.
    pub elapsed: Duration,
    /// The `ETag` header, if any.
    pub etag: Option<String>,
    /// The response body.
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| format!("the {} response is not JSON", self.status))
    }

    /// The body as text, for error messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Fails unless the status is `want`, quoting the body.
    pub fn expect_status(&self, want: StatusCode, what: &str) -> anyhow::Result<()> {
        anyhow::ensure!(self.status == want, "{what}: expected {want}, got {}: {}", self.status, self.text());
        Ok(())
    }

    /// The resource version its `ETag` (`W/"<n>"`) carries.
    pub fn version(&self) -> anyhow::Result<i64> {
        let tag = self.etag.as_deref().context("the response has no ETag")?;
        tag.trim_start_matches("W/").trim_matches('"').parse().with_context(|| format!("unexpected ETag {tag}"))
    }
}

/// A client for one SCIM base URL with one bearer token.
#[derive(Debug, Clone)]
pub struct ScimClient {
    http: reqwest::Client,
    base: String,
    auth: String,
}

impl ScimClient {
    /// A client for `base` (such as `http://127.0.0.1:PORT/scim/v2`). Proxies are ignored: the
    /// requests go straight to the server.
    pub fn new(base: String, token: &str) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(4)
            .build()
            .context("cannot build the HTTP client")?;
        Ok(Self { http, base, auth: format!("Bearer {token}") })
    }

    /// GET `path` (relative to the base URL) with these query parameters.
    pub async fn get(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Reply> {
        let req = self.request(Method::GET, path).query(query);
        self.send(req).await
    }

    /// PATCH `path` with a JSON body.
    pub async fn patch(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        let req = self.request(Method::PATCH, path).header(header::CONTENT_TYPE, SCIM_JSON).body(body.to_string());
        self.send(req).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, &self.auth)
            .header(header::ACCEPT, SCIM_JSON)
    }

    /// Sends a built request and reads the whole answer; only that is timed.
    async fn send(&self, req: reqwest::RequestBuilder) -> anyhow::Result<Reply> {
        let req = req.build().context("cannot build the request")?;
        let what = format!("{} {}", req.method(), req.url().path());
        let start = Instant::now();
        let resp = self.http.execute(req).await.with_context(|| format!("{what}: no response"))?;
        let status = resp.status();
        let etag = resp.headers().get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = resp.bytes().await.with_context(|| format!("{what}: cannot read the body"))?;
        let elapsed = start.elapsed();
        Ok(Reply { status, elapsed, etag, body: body.to_vec() })
    }
}
