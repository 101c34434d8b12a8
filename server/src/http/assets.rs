//! The browser validator (`web/pkg/`, built by `scripts/build-wasm.sh`), embedded in the binary
//! and served without a token under `/assets/`, for the payload checker page and for anyone who
//! wants to check payloads offline.
//!
//! The names carry no content hash, so responses say `Cache-Control: no-cache`: a browser keeps
//! the file but revalidates it with its ETag (computed by `build.rs`) and gets a 304 while it is
//! current. A stale module that slipped through is detectable with the module's `version()`.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;

/// One embedded file.
struct Asset {
    /// The URL path.
    path: &'static str,
    content_type: &'static str,
    /// Quoted, as sent.
    etag: &'static str,
    body: &'static [u8],
}

static ASSETS: [Asset; 3] = [
    Asset {
        path: "/assets/validator.js",
        content_type: "text/javascript; charset=utf-8",
        etag: env!("SCIMBOX_ETAG_VALIDATOR_JS"),
        body: include_bytes!("../../../web/pkg/validator.js"),
    },
    Asset {
        path: "/assets/validator_bg.wasm",
        content_type: "application/wasm",
        etag: env!("SCIMBOX_ETAG_VALIDATOR_WASM"),
        body: include_bytes!("../../../web/pkg/validator_bg.wasm"),
    },
    Asset {
        path: "/assets/validator.d.ts",
        content_type: "application/typescript; charset=utf-8",
        etag: env!("SCIMBOX_ETAG_VALIDATOR_DTS"),
        body: include_bytes!("../../../web/pkg/validator.d.ts"),
    },
];

/// The `/assets/` routes (GET and HEAD).
pub fn router() -> Router<AppState> {
    ASSETS.iter().fold(Router::new(), |router, asset| {
        router.route(asset.path, get(move |headers: HeaderMap| async move { serve(asset, &headers) }))
    })
}

fn serve(asset: &'static Asset, headers: &HeaderMap) -> Response {
    let cached = super::if_none_match(headers, asset.etag);
    let common = [
        (header::ETAG, HeaderValue::from_static(asset.etag)),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    ];
    if cached {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))], asset.body).into_response()
}
