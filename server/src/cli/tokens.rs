//! `scimbox token ...`: issue, list, show, rotate and revoke the bearer tokens IdPs authenticate with.

use crate::quirks::Quirk;
use clap::Subcommand;

use super::{DbArg, Failure, see_list, with_store};
use crate::service::tokens::{self, Report, Token};

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
        /// scim: an IdP's token (the SCIM API). app: an application's token, which reads the
        /// SCIM API (GET, .search) and the change feed (/api/v1/events) and writes nothing.
        #[arg(long, value_name = "scim|app", default_value = "scim")]
        scope: String,
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
    /// Give the token with this name a new secret and print it (alone, on stdout; shown only this
    /// once). The old secret keeps working until the overlap ends, then gets 401 like an expired
    /// token. It stays the same connection: same name, compatibility report, journal. The new
    /// secret gets the lifetime the token was issued with.
    Rotate {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        name: String,
        /// How long the old secret keeps working: 3s, 10m, 24h, 7d.
        #[arg(long, value_name = "DURATION", default_value = "24h")]
        overlap: String,
    },
    /// Revoke the live token with this name; a running server refuses it within a second.
    Revoke {
        #[command(flatten)]
        db: DbArg,
        /// The token's name.
        name: String,
    },
}

pub(super) fn token(cmd: TokenCommand) -> Result<(), Failure> {
    match cmd {
        TokenCommand::Create { db, name, expires_in, scope } => {
            let scope = tokens::Scope::parse(&scope)?;
            let issued =
                with_store(
                    &db.db,
                    async |db| Ok(tokens::issue_scoped(db, &name, expires_in.as_deref(), scope).await?),
                )?;
            println!("{}", issued.secret);
        }
        TokenCommand::List { db } => print_tokens(&with_store(&db.db, async |db| Ok(tokens::list(db).await?))?),
        TokenCommand::Show { db, name } => {
            let shown = with_store(&db.db, async |db| {
                tokens::report(db, &name).await.map_err(|e| Failure::hinted(e, see_list("token")))
            });
            let (mine, report) = shown?;
            print_tokens(&mine);
            print_report(&report);
        }
        TokenCommand::Rotate { db, name, overlap } => {
            let rotated = with_store(&db.db, async |db| {
                tokens::rotate(db, &name, Some(&overlap)).await.map_err(|e| Failure::hinted(e, see_list("token")))
            })?;
            println!("{}", rotated.secret);
            if rotated.dropped_older {
                eprintln!("the secret before the previous rotation of \"{name}\" stops working now");
            }
            let until = &rotated.previous_valid_until;
            if rotated.previous_had_expired {
                eprintln!("rotated \"{name}\"; the old secret had already expired at {until}");
            } else {
                eprintln!("rotated \"{name}\"; the old secret works until {until}");
            }
        }
        TokenCommand::Revoke { db, name } => {
            with_store(&db.db, async |db| {
                tokens::revoke(db, &name).await.map_err(|e| Failure::hinted(e, see_list("token")))
            })?;
            eprintln!("revoked \"{name}\"");
        }
    }
    Ok(())
}

pub(super) fn print_report(report: &Report) {
    let (clients, quirks) = (&report.clients, &report.quirks);
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
    if let Some(c) = &report.other_clients {
        let others = format!("(more than {} others)", tokens::MAX_CLIENTS);
        println!("{:<40} {:>9} {:<24} {:<24}", others, c.count, c.first_seen, c.last_seen);
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

pub(super) fn print_tokens(list: &[Token]) {
    if list.is_empty() {
        println!("no tokens; create one with `scimbox token create --name NAME`");
        return;
    }
    println!(
        "{:<24} {:<8} {:<24} {:<24} {:<24} {:<5} NOTES",
        "NAME", "STATUS", "CREATED", "EXPIRES", "LAST USED", "SCOPE"
    );
    for t in list {
        let dash = || "-".to_string();
        println!(
            "{:<24} {:<8} {:<24} {:<24} {:<24} {:<5} {}",
            t.name,
            t.status.as_str(),
            t.created,
            t.expires.clone().unwrap_or_else(dash),
            t.last_used.clone().unwrap_or_else(dash),
            t.scope.as_str(),
            notes(t).unwrap_or_else(dash)
        );
    }
}

/// The flags of a token in a list: expiring soon, rotated and the old secret's end.
fn notes(t: &Token) -> Option<String> {
    let mut notes = Vec::new();
    if t.expiring_soon {
        notes.push(format!("EXPIRES SOON (within {} days): rotate it", tokens::EXPIRY_WARNING.as_secs() / 86_400));
    }
    if let Some(at) = &t.rotated {
        notes.push(format!("rotated {at}"));
    }
    if let Some(until) = &t.previous_valid_until {
        notes.push(format!("old secret valid until {until}"));
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}
