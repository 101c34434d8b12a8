//! scimbox's integration tests: one binary, each test against a real server on 127.0.0.1:0
//! with a fresh SQLite file (see `helpers`).

mod helpers;

mod auth_tokens;
mod compat;
mod discovery;
mod durability;
mod filter_list;
mod limits;
mod patch_ops;
mod users;
