//! `scimbox guard ...`: what the deprovisioning guard holds, per token, and releasing it (see
//! [`crate::service::guard`]).

use std::time::Duration;

use clap::Subcommand;

use super::{DbArg, Failure, see_list, with_store};
use crate::service::guard::{self, TokenGuard};

#[derive(Debug, Subcommand)]
pub(super) enum GuardCommand {
    /// Show, per token, whether the guard holds its deactivations and deletions (since when,
    /// how many attempts, some of the users), how many it counted in the window ending now, and
    /// until when a release lets them through.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// The window the server runs with (its --guard-window), for the count in it.
        #[arg(long = "guard-window", env = "SCIMBOX_GUARD_WINDOW", default_value = "10m", value_name = "DURATION",
              value_parser = super::parse_window)]
        window: Duration,
    },
    /// Let a token's deactivations and deletions through: the guard stops holding them (the
    /// IdP's retries then succeed) and counts none until the release ends; then it counts
    /// afresh. Also before a trip, for an intended mass deprovisioning. A running server obeys
    /// at once.
    Release {
        #[command(flatten)]
        db: DbArg,
        /// The token's name (the IdP connection).
        name: String,
        /// How long the release lasts: 30m, 1h, 2d.
        #[arg(long = "for", default_value = "1h", value_name = "DURATION", value_parser = super::parse_window)]
        duration: Duration,
    },
}

pub(super) fn run(cmd: GuardCommand) -> Result<(), Failure> {
    match cmd {
        GuardCommand::Status { db, window } => {
            print_status(&with_store(&db.db, async |db| Ok(guard::status(db, window).await?))?, window);
        }
        GuardCommand::Release { db, name, duration } => {
            let until = with_store(&db.db, async |db| {
                guard::release(db, &name, duration).await.map_err(|e| Failure::hinted(e, see_list("token")))
            })?;
            eprintln!("released \"{name}\": its deactivations and deletions go through until {until}");
        }
    }
    Ok(())
}

fn print_status(list: &[TokenGuard], window: Duration) {
    if list.is_empty() {
        println!("nothing held, and no deprovisioning counted in the last {}", guard::human(window));
        return;
    }
    let dash = || "-".to_owned();
    println!(
        "{:<24} {:<9} {:<24} {:>6} {:>9} {:<24} {:<24}",
        "TOKEN", "STATE", "TRIPPED SINCE", "HELD", "IN WINDOW", "LAST HELD", "RELEASED UNTIL"
    );
    for g in list {
        let state = if g.holding() {
            "holding"
        } else if g.released_until.is_some() {
            "released"
        } else {
            "counting"
        };
        println!(
            "{:<24} {:<9} {:<24} {:>6} {:>9} {:<24} {:<24}",
            g.token,
            state,
            g.tripped_at.clone().unwrap_or_else(dash),
            g.held,
            g.window_count,
            g.last_held.clone().unwrap_or_else(dash),
            g.released_until.clone().unwrap_or_else(dash),
        );
    }
    for g in list.iter().filter(|g| g.holding()) {
        let first = g.first_held.clone().unwrap_or_else(dash);
        println!();
        println!("{}: {} attempt(s) held since {first}; users: {}", g.token, g.held, g.sample.join(", "));
        println!("  release with: scimbox guard release --db PATH {}", g.token);
    }
}
