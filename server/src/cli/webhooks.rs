//! `scimbox webhook ...`: add, list, remove and replay the endpoints a running server delivers
//! events to (see [`crate::service::webhooks`] and docs/webhooks.md).

use clap::Subcommand;

use super::{DbArg, Failure, see_list, with_store};
use crate::service::webhooks::{self, Status};

#[derive(Debug, Subcommand)]
pub(super) enum WebhookCommand {
    /// Add an endpoint and print its signing secret (alone, on stdout): `whsec_` + base64 of 32
    /// random bytes, to verify signatures with. Delivery starts with the next event; a running
    /// server picks the endpoint up within a second.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The endpoint's name, such as "billing-app".
        #[arg(long)]
        name: String,
        /// Where to POST events: an https:// or http:// URL (a private CA: `serve --webhook-ca`).
        #[arg(long)]
        url: String,
        /// Only these event types, comma-separated, `*` matching any characters (user.*,group.*).
        /// All types without it.
        #[arg(long, value_name = "TYPE,...")]
        types: Option<String>,
    },
    /// List endpoints: url, types, state (delivering or failing), the last event delivered, the
    /// lag in events, the last error and when (never the secrets).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove an endpoint; a running server stops delivering to it within a second.
    Remove {
        #[command(flatten)]
        db: DbArg,
        /// The endpoint's name.
        name: String,
    },
    /// Deliver again every kept event from seq SEQ on (the feed's `seq`), in order; clears a
    /// failing state.
    Replay {
        #[command(flatten)]
        db: DbArg,
        /// The endpoint's name.
        name: String,
        /// The first event to send again.
        #[arg(long, value_name = "SEQ")]
        from: i64,
    },
}

/// `SCIMBOX_WEBHOOK_RETRY_SCALE`: what the retry delays are multiplied by, for tests (1 when
/// unset; more than 0, at most 1).
pub(super) fn retry_scale_from_env() -> Result<f64, String> {
    match std::env::var("SCIMBOX_WEBHOOK_RETRY_SCALE") {
        Err(_) => Ok(1.0),
        Ok(raw) => raw
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s <= 1.0)
            .ok_or_else(|| format!("SCIMBOX_WEBHOOK_RETRY_SCALE: \"{raw}\" is not a number above 0 and at most 1")),
    }
}

pub(super) fn run(cmd: WebhookCommand) -> Result<(), Failure> {
    match cmd {
        WebhookCommand::Add { db, name, url, types } => {
            let added = with_store(&db.db, async |db| Ok(webhooks::add(db, &name, &url, types.as_deref()).await?))?;
            println!("{}", added.secret);
            eprintln!("added webhook \"{}\": delivery starts after event {}", name.trim(), added.cursor);
        }
        WebhookCommand::List { db } => {
            let (list, deliverer) =
                with_store(&db.db, async |db| Ok((webhooks::list(db).await?, webhooks::deliverer(db).await?)))?;
            print(&list);
            if let Some(who) = deliverer {
                println!("delivering instance: {who}");
            }
        }
        WebhookCommand::Remove { db, name } => {
            with_store(&db.db, async |db| {
                webhooks::remove(db, &name).await.map_err(|e| Failure::hinted(e, see_list("webhook")))
            })?;
            eprintln!("removed webhook \"{}\"", name.trim());
        }
        WebhookCommand::Replay { db, name, from } => {
            with_store(&db.db, async |db| {
                webhooks::replay(db, &name, from).await.map_err(|e| Failure::hinted(e, see_list("webhook")))
            })?;
            eprintln!("webhook \"{}\" delivers again from event {from}", name.trim());
        }
    }
    Ok(())
}

fn print(list: &[Status]) {
    if list.is_empty() {
        println!("no webhooks; add one with `scimbox webhook add --name NAME --url URL`");
        return;
    }
    println!(
        "{:<20} {:<40} {:<20} {:<10} {:>10} {:>6} {:<24} LAST ERROR",
        "NAME", "URL", "TYPES", "STATE", "DELIVERED", "LAG", "LAST ERROR AT"
    );
    for s in list {
        let dash = || "-".to_owned();
        let error = match (&s.last_error, &s.next_attempt_at) {
            (Some(e), Some(next)) if s.attempts > 0 => format!("{e} ({} failed, next try {next})", s.attempts),
            (Some(e), _) => e.clone(),
            (None, _) => dash(),
        };
        println!(
            "{:<20} {:<40} {:<20} {:<10} {:>10} {:>6} {:<24} {}",
            s.name,
            s.url,
            s.types.clone().unwrap_or_else(|| "*".into()),
            s.state,
            s.cursor,
            s.lag,
            s.last_error_at.clone().unwrap_or_else(dash),
            error
        );
    }
}
