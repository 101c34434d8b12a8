//! Where the status page's administrators used to live. The rules moved to
//! [`crate::service::admins`] and the HTTP side (the extractor, cookies, the login redirect) to
//! `http::ui::session`; these re-exports keep older imports compiling while the pages move to
//! `super::AdminSession`. Nothing new goes here, and it imports nothing from `http`.

pub use crate::service::admins::{
    AdminSession, LoginError, MAX_NAME_BYTES, MIN_PASSWORD, check_csrf, hash_password, verify_password,
};
