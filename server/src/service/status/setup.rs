//! A first start: what the database still lacks before anyone can use the server (an
//! administrator for the status page, a token for an IdP), and the exact command that adds each.
//!
//! `serve` logs it once at start and the login page and the overview show it, with the same
//! words, so a newcomer who ran only `scimbox serve` is told what to run next rather than
//! facing a login form nobody can use.

use std::path::Path;

use crate::clock;
use crate::db::Db;
use crate::db::ui;
use crate::service::Result;
use crate::stamp::timestamp;

/// What a first start lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setup {
    /// At least one administrator exists (someone can log in to the status page).
    pub has_admin: bool,
    /// At least one token works now (an IdP can connect).
    pub has_token: bool,
}

/// Reads what the database has now.
pub async fn setup(db: &Db) -> Result<Setup> {
    let now = timestamp(clock::now());
    let (has_admin, has_token) = db.read(move |c| ui::setup(c, &now)).await?;
    Ok(Setup { has_admin, has_token })
}

/// The command that adds the first administrator to the database at `db_path` (its password is
/// read from standard input).
pub fn admin_command(db_path: &Path) -> String {
    format!("scimbox admin add --db {} admin", shell_word(db_path))
}

/// The command that issues a token for an IdP in the database at `db_path`.
pub fn token_command(db_path: &Path) -> String {
    format!("scimbox token create --db {} --name my-idp", shell_word(db_path))
}

/// `db_path` as one POSIX shell word: absolute (so the command works from any directory; a
/// relative `--db` is relative to where `serve` was started), quoted when it holds anything but
/// plain path characters.
fn shell_word(db_path: &Path) -> String {
    // A PostgreSQL URL as it is, without its password (the operator has it).
    let path = if crate::db::Db::is_postgres(db_path) {
        std::path::PathBuf::from(crate::db::Db::shown(db_path))
    } else {
        std::path::absolute(db_path).unwrap_or_else(|_| db_path.to_owned())
    };
    let text = path.to_string_lossy();
    let plain = |ch: char| ch.is_ascii_alphanumeric() || "/._-+,:@%".contains(ch);
    if !text.is_empty() && text.chars().all(plain) {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_one_shell_word() {
        assert_eq!(shell_word(Path::new("/var/lib/scimbox.db")), "/var/lib/scimbox.db");
        assert_eq!(shell_word(Path::new("/tmp/my dir/it's.db")), r"'/tmp/my dir/it'\''s.db'");
        assert!(shell_word(Path::new("scimbox.db")).starts_with('/'), "made absolute");
        assert_eq!(admin_command(Path::new("/d.db")), "scimbox admin add --db /d.db admin");
        assert_eq!(token_command(Path::new("/d.db")), "scimbox token create --db /d.db --name my-idp");
    }
}
