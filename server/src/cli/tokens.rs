//! `scimbox token ...`: issue, list, show and revoke the bearer tokens IdPs authenticate with.

use crate::quirks::Quirk;
use clap::Subcommand;

use super::DbArg;
use crate::db::{self, StoreError, compat, tokens};
use crate::{auth, clock};

#[derive(Debug, Subcommand)]
pub(super) enum TokenCommand {
    /// Issue a token and print it (alone, on stdout). It is shown only this once.
    Create {
        #[command(flatten)]
        db: DbArg,
        /// The connection the token is for, such as "okta-prod".
        #[arg(long)]
        name: String,
        /// How long it stays valid: 90d, 12h, 30m, 2w, 1y. Without it, until revoked.
        #[arg(long, value_name = "DURATION")]
        expires_in: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Show a token's compatibility report: the clients that used it and the departures from
    /// the SCIM RFCs scimbox accepted from them, how often and when last.
    Show {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        name: String,
    },
    /// Revoke the live token with this name; a running server refuses it within a second.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        name: String,
    },
}

pub(super) fn token(cmd: TokenCommand) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    match cmd {
        TokenCommand::Create { db, name, expires_in } => {
            let name = name.trim().to_string();
            if name.is_empty() {
                return Err("--name must not be empty".into());
            }
            let now = clock::now();
            let expires = match expires_in {
                Some(d) => Some(db::timestamp(now + auth::parse_duration(&d)?)),
                None => None,
            };
            let conn = db::migrate(&db.db).map_err(err)?;
            let secret = auth::generate();
            tokens::insert(&conn, &name, &auth::hash(&secret), &db::timestamp(now), expires.as_deref()).map_err(err)?;
            println!("{secret}");
            Ok(())
        }
        TokenCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            print_tokens(&tokens::list(&conn).map_err(err)?);
            Ok(())
        }
        TokenCommand::Show { db, name } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            let all = tokens::list(&conn).map_err(err)?;
            let mine: Vec<_> = all.into_iter().filter(|t| t.name == name).collect();
            if mine.is_empty() {
                return Err(format!("no token named \"{name}\" (see `scimbox token list`)"));
            }
            print_tokens(&mine);
            let clients = compat::clients(&conn, &name).map_err(err)?;
            let quirks = compat::quirks(&conn, &name).map_err(err)?;
            print_report(&clients, &quirks);
            Ok(())
        }
        TokenCommand::Revoke { db, name } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            tokens::revoke(&conn, &name, &clock::now_stamp()).map_err(|e| match e {
                StoreError::NotFound => format!("no live token named \"{name}\" (see `scimbox token list`)"),
                other => other.to_string(),
            })?;
            eprintln!("revoked \"{name}\"");
            Ok(())
        }
    }
}

pub(super) fn print_report(clients: &[compat::Tally], quirks: &[compat::Tally]) {
    println!();
    if clients.is_empty() {
        println!("no requests recorded yet");
        return;
    }
    println!("{:<40} {:>9} {:<24} {:<24}", "CLIENT (User-Agent)", "REQUESTS", "FIRST SEEN", "LAST SEEN");
    for c in clients {
        let ua = if c.key.is_empty() { "(none sent)" } else { c.key.as_str() };
        println!("{:<40} {:>9} {:<24} {:<24}", ua, c.count, c.first_seen, c.last_seen);
    }
    println!();
    if quirks.is_empty() {
        println!("no departures from the SCIM RFCs seen: this client speaks plain RFC 7643/7644");
        return;
    }
    println!("{:<22} {:>7} {:<24} WHAT SCIMBOX DID", "ACCEPTED", "COUNT", "LAST SEEN");
    for q in quirks {
        let what = Quirk::from_code(&q.key).map_or("(unknown to this version)", Quirk::description);
        println!("{:<22} {:>7} {:<24} {}", q.key, q.count, q.last_seen, what);
    }
}

pub(super) fn print_tokens(list: &[tokens::TokenInfo]) {
    if list.is_empty() {
        println!("no tokens; create one with `scimbox token create --name NAME`");
        return;
    }
    let now = clock::now_stamp();
    println!("{:<24} {:<8} {:<24} {:<24} {:<24}", "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED");
    for t in list {
        let status = match (&t.revoked, &t.expires) {
            (Some(_), _) => "revoked",
            (None, Some(e)) if *e <= now => "expired",
            _ => "active",
        };
        let dash = || "-".to_string();
        println!(
            "{:<24} {:<8} {:<24} {:<24} {:<24}",
            t.name,
            status,
            t.created,
            t.expires.clone().unwrap_or_else(dash),
            t.last_used.clone().unwrap_or_else(dash)
        );
    }
}
