//! scimbox's validation rules, shared by the server and the browser.
//!
//! Everything here is plain Rust over `serde_json` values with no I/O: the SCIM schema tables
//! ([`schema`]), input normalisation against them ([`resource`]), the filter grammar
//! ([`filter`]), attribute and PATCH paths ([`path`]) and PATCH application ([`patch`]). The
//! server calls these natively; the WebAssembly build (`wasm` module, compiled only for
//! `wasm32`) wraps the same functions for the browser, so both give the same verdict.
//!
//! ```
//! use scimbox_validator::{resource, schema::USER_RESOURCE};
//! let body = serde_json::json!({"userName": "bjensen", "active": "True", "password": "x"});
//! let user = resource::normalize(&USER_RESOURCE, &body).unwrap();
//! assert_eq!(user["active"], true);          // Entra's string booleans are coerced
//! assert!(user.get("password").is_none());   // never stored
//! ```
#![warn(missing_docs)]

pub mod access;
pub mod accounts;
pub mod check;
pub mod error;
pub mod filter;
mod json_string;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
pub mod text;

#[cfg(target_arch = "wasm32")]
pub mod wasm;

pub use error::{Result, ScimType, ValidationError};
