//! `scimbox admin ...`: add, list and remove the administrators who log in to the status page.

use std::io::BufRead;

use clap::Subcommand;

use super::{DbArg, Failure, see_list, with_store};
use crate::service::Error;
use crate::service::admins::{self, Admin};

#[derive(Debug, Subcommand)]
pub(super) enum AdminCommand {
    /// Add an administrator. The password is read from standard input (one line, at least 12
    /// characters): `scimbox admin add --db scimbox.db alice < password.txt`.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The login name.
        name: String,
    },
    /// List administrators (never their passwords).
    List {
        #[command(flatten)]
        db: DbArg,
    },
    /// Remove an administrator and end its sessions.
    Remove {
        #[command(flatten)]
        db: DbArg,
        /// The login name.
        name: String,
    },
}

pub(super) fn run(cmd: AdminCommand) -> Result<(), Failure> {
    match cmd {
        AdminCommand::Add { db, name } => {
            // The name is checked before the password is read, so a typo fails at once.
            let name = admins::check_name(&name)?.to_owned();
            let password = read_password()?;
            let hint = |e: &Error| {
                matches!(e, Error::Conflict(_)).then(|| format!("; remove it first with `scimbox admin remove {name}`"))
            };
            let added = with_store(&db.db, async |db| {
                admins::add(db, &name, &password).await.map_err(|e| Failure::hinted(e, hint))
            })?;
            eprintln!("added administrator \"{added}\"");
        }
        AdminCommand::List { db } => print_admins(&with_store(&db.db, async |db| Ok(admins::list(db).await?))?),
        AdminCommand::Remove { db, name } => {
            let see = see_list("admin");
            with_store(&db.db, async |db| admins::remove(db, &name).await.map_err(|e| Failure::hinted(e, see)))?;
            eprintln!("removed \"{}\"", name.trim());
        }
    }
    Ok(())
}

/// One line of standard input, without its line ending.
fn read_password() -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("reading the password from stdin: {e}"))?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err("no password on standard input (one line, at least 12 characters)".into());
    }
    Ok(password)
}

fn print_admins(list: &[Admin]) {
    if list.is_empty() {
        println!("no administrators; add one with `scimbox admin add NAME` (password on stdin)");
        return;
    }
    println!("{:<24} {:<24} {:<24}", "NAME", "CREATED", "LAST LOGIN");
    for a in list {
        println!("{:<24} {:<24} {:<24}", a.name, a.created, a.last_login.as_deref().unwrap_or("-"));
    }
}
