//! The browser's entry points (compiled only for wasm32): glue that turns strings into calls of
//! [`crate::check`] and verdicts into JSON strings. No rules live here.
//!
//! Every function returns the [`Verdict`] as a JSON string, `{"valid": bool, "errors": [{"scimType",
//! "detail", "index"?, "line"?, "column"?}]}`. The optional `catalogue_json` is
//! `{"accounts": ["ACC123", ...], "roles": ["Editor", ...]}`; an absent key is not checked (any
//! account, any role). A catalogue that is not such JSON throws an `Error`.

use wasm_bindgen::JsError;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::accounts::Catalogue;
use crate::check::{self, Verdict};

fn to_json(v: &Verdict) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| r#"{"valid":false,"errors":[]}"#.into())
}

fn catalogue(json: Option<String>) -> Result<Catalogue, JsError> {
    match json.as_deref().map(str::trim) {
        None | Some("") => Ok(Catalogue::default()),
        Some(text) => serde_json::from_str(text).map_err(|e| JsError::new(&format!("catalogue: {e}"))),
    }
}

/// Checks one `accounts` payload, a list of them, a string holding them, or a whole SCIM User
/// body (what `scimbox validate` takes).
#[wasm_bindgen(js_name = checkPayloads)]
pub fn check_payloads(text: &str, catalogue_json: Option<String>) -> Result<String, JsError> {
    Ok(to_json(&check::check_payloads(text, &catalogue(catalogue_json)?)))
}

/// Checks a SCIM User body as `POST /Users` would.
#[wasm_bindgen(js_name = checkUser)]
pub fn check_user(text: &str, catalogue_json: Option<String>) -> Result<String, JsError> {
    Ok(to_json(&check::check_user_with(text, &catalogue(catalogue_json)?)))
}

/// Checks a PatchOp request body as `PATCH /Users/{id}` would, without the stored user.
#[wasm_bindgen(js_name = checkPatch)]
pub fn check_patch(text: &str, catalogue_json: Option<String>) -> Result<String, JsError> {
    Ok(to_json(&check::check_patch_with(text, &catalogue(catalogue_json)?)))
}

/// Checks a filter expression as `GET /Users?filter=` would.
#[wasm_bindgen(js_name = checkFilter)]
pub fn check_filter(text: &str) -> String {
    to_json(&check::check_filter(text))
}

/// The validator's version, to detect a stale cached module.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
