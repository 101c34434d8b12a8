//! `scimbox admin ...`: add, list and remove the administrators who log in to the status page.

use std::io::BufRead;

use clap::Subcommand;

use super::DbArg;
use crate::db::{self, StoreError, admins};
use crate::{admin, clock};

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

pub(super) fn run(cmd: AdminCommand) -> Result<(), String> {
    let err = |e: StoreError| e.to_string();
    match cmd {
        AdminCommand::Add { db, name } => add(&db, &name),
        AdminCommand::List { db } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            print_admins(&admins::list(&conn).map_err(err)?);
            Ok(())
        }
        AdminCommand::Remove { db, name } => {
            let conn = db::migrate(&db.db).map_err(err)?;
            admins::remove(&conn, name.trim()).map_err(|e| match e {
                StoreError::NotFound => format!("no administrator named \"{name}\" (see `scimbox admin list`)"),
                other => other.to_string(),
            })?;
            eprintln!("removed \"{}\"", name.trim());
            Ok(())
        }
    }
}

fn add(db: &DbArg, name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err("the name must not be empty or contain control characters".into());
    }
    let password = read_password()?;
    admin::check_new_password(&password)?;
    let hash = admin::hash_password(&password)?;
    let conn = db::migrate(&db.db).map_err(|e| e.to_string())?;
    admins::insert(&conn, name, &hash, &clock::now_stamp()).map_err(|e| match e {
        StoreError::Conflict(msg) => format!("{msg}; remove it first with `scimbox admin remove {name}`"),
        other => other.to_string(),
    })?;
    eprintln!("added administrator \"{name}\"");
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

fn print_admins(list: &[admins::AdminInfo]) {
    if list.is_empty() {
        println!("no administrators; add one with `scimbox admin add NAME` (password on stdin)");
        return;
    }
    println!("{:<24} {:<24} {:<24}", "NAME", "CREATED", "LAST LOGIN");
    for a in list {
        println!("{:<24} {:<24} {:<24}", a.name, a.created, a.last_login.as_deref().unwrap_or("-"));
    }
}
