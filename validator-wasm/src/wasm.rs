//! The browser's entry points (compiled only for wasm32): glue that turns strings into calls of
//! [`crate::check`] and verdicts into JSON strings. No rules live here.

use wasm_bindgen::prelude::wasm_bindgen;

fn to_json(v: &crate::check::Verdict) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| r#"{"valid":false,"errors":[]}"#.into())
}

/// Checks a SCIM User body; returns the verdict as JSON (`{"valid":..,"errors":[..]}`).
#[wasm_bindgen(js_name = checkUser)]
pub fn check_user(text: &str) -> String {
    to_json(&crate::check::check_user(text))
}

/// Checks a filter expression; returns the verdict as JSON.
#[wasm_bindgen(js_name = checkFilter)]
pub fn check_filter(text: &str) -> String {
    to_json(&crate::check::check_filter(text))
}

/// The validator's version, to detect a stale cached module.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").into()
}
