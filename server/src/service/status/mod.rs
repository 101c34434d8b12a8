//! The status page's read models: what each page of `http::ui` shows, read in one transaction
//! and returned typed, so that a page only formats and renders. One module per view.
//!
//! Every view carries `at`, the moment it was read (from [`crate::clock`], here and nowhere in
//! the pages): the queries that depend on time are given it, and the pages show relative times
//! ("5 min ago") from it. Errors are [`crate::service::Error`]; a lookup that finds nothing is
//! `Ok(None)`, so each page can say what was missing in its own words.
//!
//! Some results are storage's row types, re-exported ([`Change`], [`Entry`], [`user::Membership`]...):
//! they are plain data with no connection or SQL in them, and copying each into a twin struct
//! would only add code to keep in step.

pub mod groups;
pub mod journal;
pub mod overview;
pub mod setup;
pub mod trends;
pub mod user;
pub mod users;
pub mod webhooks;

use scimbox_validator::accounts::Catalogue;

use super::Result;
pub use crate::db::journal::{Change, Entry};
use crate::db::{Db, accounts};

/// How many changes and requests a user's or a group's view lists.
pub const HISTORY: u32 = 50;

/// The registry's catalogue (accounts and roles), which the payload checker holds payloads to.
pub async fn catalogue(db: &Db) -> Result<Catalogue> {
    Ok(db.read(accounts::catalogue).await?)
}
