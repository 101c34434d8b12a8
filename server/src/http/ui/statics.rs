//! The status page's own static files (`web/static/`), embedded in the binary and served under
//! `/static/`.
//!
//! The favicon is also answered at `/favicon.ico`, where browsers and feed readers look for it
//! without being told (an SVG there: every current browser reads it by its content type).
//!
//! Pages link each file with its ETag as `?v=`, so a response to that exact URL may be cached for
//! a year (`immutable`): a new build changes the link. Any other request of the file (no `v`, an
//! old `v`) is answered `no-cache`, revalidated with the ETag.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::AppState;

/// One embedded file.
struct Static {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

static FILES: [Static; 5] = [
    Static {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../../../web/static/style.css"),
    },
    Static {
        name: "check.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../../web/static/check.js"),
    },
    Static {
        name: "copy.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../../web/static/copy.js"),
    },
    Static {
        name: "time.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../../../web/static/time.js"),
    },
    Static {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../../../web/static/favicon.svg"),
    },
];

/// Where browsers look for a site's icon when a page names none.
const FAVICON_ICO: &str = "/favicon.ico";

/// Each file's version: FNV-1a (64 bits) of its bytes, in hex.
static VERSIONS: LazyLock<Vec<String>> = LazyLock::new(|| FILES.iter().map(|f| version(f.body)).collect());

fn version(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// The URL to link a static file by (`/static/style.css?v=...`).
pub fn url(name: &str) -> String {
    match FILES.iter().position(|f| f.name == name) {
        Some(i) => format!("/static/{name}?v={}", VERSIONS[i]),
        None => format!("/static/{name}"),
    }
}

/// The `/static/` routes and `/favicon.ico` (GET and HEAD).
pub fn router() -> Router<AppState> {
    let route = |i: usize| get(move |q: Query<Version>, headers: HeaderMap| async move { serve(i, &q, &headers) });
    let icon = FILES.iter().position(|f| f.name == "favicon.svg").unwrap_or_default();
    FILES
        .iter()
        .enumerate()
        .fold(Router::new(), |router, (i, file)| router.route(&format!("/static/{}", file.name), route(i)))
        .route(FAVICON_ICO, route(icon))
}

/// The `?v=` of a link.
#[derive(Debug, Deserialize)]
struct Version {
    v: Option<String>,
}

fn serve(i: usize, q: &Version, headers: &HeaderMap) -> Response {
    let (file, version) = (&FILES[i], &VERSIONS[i]);
    let etag = format!("\"{version}\"");
    let cached = crate::http::if_none_match(headers, &etag);
    let cache = if q.v.as_deref() == Some(version) { "public, max-age=31536000, immutable" } else { "no-cache" };
    let common = [
        (header::ETAG, HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""))),
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type))], file.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_version() {
        let link = url("style.css");
        assert!(link.starts_with("/static/style.css?v=") && link.len() == "/static/style.css?v=".len() + 16);
        assert_eq!(url("nope.css"), "/static/nope.css");
    }
}
