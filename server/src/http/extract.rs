//! scimbox's own extractors, so that every rejection speaks SCIM (RFC 7644 §3.12) instead of
//! axum's plain text: request bodies, list parameters, preconditions and the base URL.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use scimbox_validator::ScimType;
use scimbox_validator::filter::Filter;
use scimbox_validator::path::AttrPath;
use scimbox_validator::schema::ResourceType;
use serde_json::Value;

use super::AppState;
use crate::auth::Principal;
use crate::config::Config;
use crate::error::AppError;
use crate::service::Preconditions;
use crate::service::list::{DEFAULT_COUNT, ListQuery, MAX_RESULTS, SortOrder};

/// A JSON request body, accepted as `application/scim+json` or `application/json` (with any
/// parameters, or with no Content-Type at all: some IdPs omit it on PATCH).
#[derive(Debug)]
pub struct ScimJson(pub Value);

impl FromRequest<AppState> for ScimJson {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        check_content_type(req.headers().get(header::CONTENT_TYPE))?;
        let token = req.extensions().get::<Principal>().map(|p| p.token_name.clone());
        let limit = state.config.max_body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit).await.map_err(|e| body_error(e, limit))?;
        let value = parse_json(&bytes)?;
        if let Some(token) = token {
            state.compat.quirks(&token, &crate::quirks::in_body(&value));
        }
        Ok(ScimJson(value))
    }
}

fn check_content_type(ct: Option<&header::HeaderValue>) -> Result<(), AppError> {
    let Some(ct) = ct else { return Ok(()) };
    let mime = ct.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/scim+json" || mime == "application/json" || mime.is_empty() {
        return Ok(());
    }
    Err(AppError::status(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        format!("Content-Type \"{mime}\" is not accepted; send application/scim+json or application/json"),
    ))
}

fn body_error(e: axum::Error, limit: usize) -> AppError {
    let too_big =
        std::error::Error::source(&e).is_some_and(|s| s.downcast_ref::<http_body_util::LengthLimitError>().is_some());
    if too_big {
        AppError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the {limit}-byte limit"),
        )
    } else {
        AppError::bad(ScimType::InvalidSyntax, format!("the request body could not be read: {e}"))
    }
}

/// Parses a body as JSON; a syntax error names its line and column.
pub fn parse_json(bytes: &Bytes) -> Result<Value, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad(ScimType::InvalidSyntax, "the request body is empty; a JSON object was expected"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| AppError::bad(ScimType::InvalidSyntax, format!("the request body is not valid JSON: {e}")))
}

/// The SCIM base URL as the client sees it (`http://host:port/scim/v2`), for `meta.location`
/// and `Location`: `--public-url` when set; else the `X-Forwarded-Host`/`-Proto` of a trusted
/// proxy (see [`Forwarded`]); else the `Host` header over plain HTTP. A client that is not a
/// trusted proxy cannot make the server write `http://evil.example/...` into a `Location`.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let config = &state.config;
        if let Some(url) = &config.public_url {
            return Ok(BaseUrl(format!("{url}{}", config.base_path)));
        }
        let fwd = Forwarded::of(parts, config);
        let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
        let forwarded_host = fwd.trusted.then(|| h("x-forwarded-host")).flatten();
        let host = forwarded_host
            .map(|v| v.split(',').next().unwrap_or("").trim())
            .or_else(|| h("host"))
            .filter(|v| !v.is_empty() && !v.contains(['/', ' ', '\\', '@', '?', '#']))
            .map(str::to_owned)
            .unwrap_or_else(|| config.listen.to_string());
        let scheme = if fwd.tls { "https" } else { "http" };
        Ok(BaseUrl(format!("{scheme}://{host}{}", config.base_path)))
    }
}

/// What the connection's peer may tell about the client (issue 11, problem 9): forwarded
/// headers are believed only when the peer is one of `--trusted-proxy`'s networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forwarded {
    /// Whether the peer is a trusted proxy.
    pub trusted: bool,
    /// Whether the client reached us over TLS: `--public-url` is `https://`, or a trusted proxy
    /// sent `X-Forwarded-Proto: https`. Decides the session cookie's `Secure` flag too.
    pub tls: bool,
    /// The client's address: the peer's; behind trusted proxies, the nearest
    /// `X-Forwarded-For` entry that is not itself a trusted proxy. `None` outside the server
    /// loop (no peer known).
    pub client: Option<IpAddr>,
}

impl Forwarded {
    /// The trust decision for one request.
    pub fn of(parts: &Parts, config: &Config) -> Self {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let is_proxy = |ip: &IpAddr| config.trusted_proxies.iter().any(|net| net.contains(&canonical(*ip)));
        let trusted = peer.as_ref().is_some_and(is_proxy);
        let h = |name: &str| parts.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        let proto_https = || {
            h("x-forwarded-proto")
                .first()
                .and_then(|v| v.split(',').next())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        };
        let public_tls = config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
        let tls = public_tls || (trusted && proto_https());
        let mut client = peer;
        if trusted {
            // X-Forwarded-For lists the hops left to right; walk back from the nearest while
            // the hop is a trusted proxy.
            let hops = h("x-forwarded-for");
            let hops = hops.iter().flat_map(|v| v.split(',')).map(str::trim).collect::<Vec<_>>();
            for hop in hops.iter().rev() {
                let Ok(ip) = hop.parse::<IpAddr>() else { break };
                client = Some(ip);
                if !is_proxy(&ip) {
                    break;
                }
            }
        }
        Self { trusted, tls, client }
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`, as a dual-stack listener reports it) as
/// the IPv4 address, so `--trusted-proxy 10.0.0.0/8` matches it.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromRequestParts<AppState> for Preconditions {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        let h = |name| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Preconditions { if_match: h(header::IF_MATCH), if_none_match: h(header::IF_NONE_MATCH) })
    }
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9), valid on every response.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// `attributes`.
    pub attributes: Vec<AttrPath>,
    /// `excludedAttributes`.
    pub excluded: Vec<AttrPath>,
}

impl Projection {
    /// Parses the two comma-separated lists.
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, AppError> {
        Ok(Self {
            attributes: parse_paths("attributes", attributes)?,
            excluded: parse_paths("excludedAttributes", excluded)?,
        })
    }

    /// Applies it to one resource of type `rt`.
    pub fn apply(&self, rt: &ResourceType, resource: Value) -> Value {
        if self.attributes.is_empty() && self.excluded.is_empty() {
            return resource;
        }
        scimbox_validator::resource::project(rt, resource, &self.attributes, &self.excluded)
    }

    /// Whether a User response carries the scimbox extension's `access`, `returned: default`
    /// (RFC 7644 §3.9, issue 13 §3): with `attributes`, only when they name it (by its path,
    /// bare or URN-qualified, or the whole extension by its URN); otherwise unless
    /// `excludedAttributes` names it or the whole extension. Decided before anything is read, so
    /// access left out is never computed.
    pub fn carries_access(&self) -> bool {
        let names_access = |p: &AttrPath| {
            let whole = p.urn.as_deref().map(|u| format!("{u}:{}", p.name));
            let ext = scimbox_validator::schema::SCIMBOX_USER_URN;
            (p.name.eq_ignore_ascii_case("access") && p.urn.as_deref().is_none_or(|u| u.eq_ignore_ascii_case(ext)))
                || whole.is_some_and(|w| w.eq_ignore_ascii_case(ext))
        };
        if !self.attributes.is_empty() {
            return self.attributes.iter().any(names_access);
        }
        !self.excluded.iter().any(|p| names_access(p) && p.sub.is_none())
    }

    /// Whether the response will carry the top-level attribute `name`: `Some(true)` when
    /// `attributes` names it (or one of its sub-attributes), `Some(false)` when `attributes`
    /// leaves it out or `excludedAttributes` names it whole, `None` when neither says.
    pub fn wants(&self, name: &str) -> Option<bool> {
        let is = |p: &AttrPath| p.name.eq_ignore_ascii_case(name);
        if !self.attributes.is_empty() {
            return Some(self.attributes.iter().any(is));
        }
        self.excluded.iter().any(|p| is(p) && p.sub.is_none()).then_some(false)
    }
}

fn parse_paths(param: &str, raw: Option<&str>) -> Result<Vec<AttrPath>, AppError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            AttrPath::parse(s).map_err(|e| AppError::bad(ScimType::InvalidValue, format!("{param}: {}", e.detail)))
        })
        .collect()
}

/// The query string as case-insensitive parameters (unknown ones, like Entra's
/// `aadOptscim062020`, are ignored).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Parses a raw query string; `+` is a space (Entra sends `userName+eq+"x"`).
    pub fn parse(raw: Option<&str>) -> Self {
        Params(form_urlencoded::parse(raw.unwrap_or("").as_bytes()).into_owned().collect())
    }
    /// The first value of a parameter, matched case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl FromRequestParts<AppState> for Params {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, AppError> {
        Ok(Params::parse(parts.uri.query()))
    }
}

/// Reads an integer parameter; RFC 7644 §3.4.2.4 clamps rather than refuses out-of-range values.
fn int_param(name: &str, raw: Option<&Value>) -> Result<Option<i64>, AppError> {
    let Some(v) = raw else { return Ok(None) };
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Null => return Ok(None),
        _ => None,
    };
    n.map(Some).ok_or_else(|| AppError::bad(ScimType::InvalidValue, format!("{name} must be an integer, got {v}")))
}

/// The search parameters, from a query string or a SearchRequest body (RFC 7644 §3.4.3), as
/// one JSON object with canonical keys.
pub fn list_query(get: impl Fn(&str) -> Option<Value>) -> Result<(ListQuery, Projection), AppError> {
    let text = |k: &str| get(k).and_then(|v| v.as_str().map(str::to_owned));
    let list = |k: &str| match get(k) {
        Some(Value::Array(a)) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")),
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let filter = match text("filter") {
        Some(f) if !f.trim().is_empty() => Some(Filter::parse(&f)?),
        _ => None,
    };
    let sort_by = match text("sortBy") {
        Some(s) if !s.trim().is_empty() => Some(
            AttrPath::parse(s.trim())
                .map_err(|e| AppError::bad(ScimType::InvalidValue, format!("sortBy: {}", e.detail)))?,
        ),
        _ => None,
    };
    let sort_order = match text("sortOrder").as_deref().map(str::trim) {
        None | Some("") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("ascending") => SortOrder::Ascending,
        Some(s) if s.eq_ignore_ascii_case("descending") => SortOrder::Descending,
        Some(s) => {
            return Err(AppError::bad(
                ScimType::InvalidValue,
                format!("sortOrder must be \"ascending\" or \"descending\", got \"{s}\""),
            ));
        }
    };
    let start = int_param("startIndex", get("startIndex").as_ref())?;
    let count = int_param("count", get("count").as_ref())?.map_or(DEFAULT_COUNT, |c| c.max(0) as u64);
    let cursor = cursor_param(get("cursor"))?;
    if cursor.is_some() {
        cursor_rules(start, count)?;
    }
    let q = ListQuery {
        filter,
        sort_by,
        sort_order,
        start_index: start.unwrap_or(1).max(1) as u64,
        count: count.min(MAX_RESULTS),
        max_bytes: None,
        cursor,
        keyset: None,
    };
    let proj = Projection::parse(list("attributes").as_deref(), list("excludedAttributes").as_deref())?;
    Ok((q, proj))
}

/// The `cursor` parameter (RFC 9865 §2): `Some("")` when sent empty (`?cursor` or `cursor=`,
/// or `"cursor": ""` in a SearchRequest, also `null` there), which asks for a walk's first page.
fn cursor_param(raw: Option<Value>) -> Result<Option<String>, AppError> {
    match raw {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => {
            Err(AppError::bad(ScimType::InvalidCursor, format!("cursor must be a string (a nextCursor), got {other}")))
        }
    }
}

/// What a cursor request may not carry: `startIndex`, the other paging method (RFC 9865
/// §2.4 has the client pick one with its parameter; both at once has no meaning, so it is
/// refused rather than one silently ignored), and a `count` above `maxPageSize`, which RFC
/// 9865 §2.1 makes `invalidCount` (index paging keeps RFC 7644 §3.4.2.4's clamping).
fn cursor_rules(start: Option<i64>, count: u64) -> Result<(), AppError> {
    if start.is_some() {
        return Err(AppError::bad(
            ScimType::InvalidValue,
            "startIndex and cursor are two ways to page (RFC 9865 §2.4): send startIndex to page by index, or \
             cursor (empty for the first page) to page by cursor, not both",
        ));
    }
    if count > MAX_RESULTS {
        return Err(AppError::bad(
            ScimType::InvalidCount,
            format!("count must be between 0 and {MAX_RESULTS} (maxPageSize) when paging by cursor, got {count}"),
        ));
    }
    Ok(())
}

/// The `{id}` of a resource path. Wraps axum's `Path` so that a malformed id (bad
/// percent-encoding, say) is a SCIM 404 rather than axum's plain-text rejection.
#[derive(Debug, Clone)]
pub struct ResourceId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        #[allow(clippy::disallowed_types, reason = "this is the one sanctioned use of axum's Path")]
        let path = axum::extract::Path::<String>::from_request_parts(parts, state).await;
        path.map(|p| ResourceId(p.0)).map_err(|e| AppError::not_found(format!("no resource at this path: {e}")))
    }
}
