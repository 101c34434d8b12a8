//! scimbox's integration tests: one binary, each test against a real server on 127.0.0.1:0
//! with a fresh SQLite file (see `helpers`).

mod architecture;
mod helpers;

mod access;
mod accounts_cli;
mod admin;
mod auth_tokens;
mod backup;
mod bulk;
mod check_page;
mod compat;
mod config_file;
mod cursors;
mod demo;
mod discovery;
mod durability;
mod edges;
mod events;
mod feed;
mod fidelity;
mod filter_list;
mod first_run;
mod groups;
mod guard;
mod idp_entra;
mod idp_okta;
mod idp_onelogin_jumpcloud;
mod journal;
mod journal_hardening;
mod limits;
mod metrics;
mod parity;
mod patch_ops;
mod prefilter;
mod rate_limits;
mod rotation;
mod storage_faults;
mod token_parity;
mod transfer;
mod ui;
mod user_names;
mod users;
mod webhooks;
mod writes;
