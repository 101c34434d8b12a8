//! Starting a scimbox binary of any age: `serve` and `token create` with only the flags that
//! binary has.
//!
//! Benchmarks compare today's scimbox with older commits' (`compare --scimbox`, `ab`), and every
//! `serve` flag added since (`--rate`, issue 15) is an unknown argument to an older binary, which
//! clap answers with exit status 2 before serving. So the launcher asks the binary first
//! (`BIN serve --help`, `BIN token create --help`), passes an optional flag only when the binary
//! lists it, and falls back to what every scimbox had (`--db`, `--listen`, `--name`) when it
//! cannot tell.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tokio::process::Command;

/// The per-token rate limit's flag (issue 15); `0` turns the limit off.
const RATE: &str = "--rate";

/// A scimbox binary and the long flags its commands accept.
#[derive(Debug, Clone)]
pub struct Binary {
    /// The executable.
    pub path: PathBuf,
    /// What `--version` printed (trimmed), or `"unknown"`.
    pub version: String,
    /// The long flags `serve --help` lists (empty if it could not be asked).
    serve: BTreeSet<String>,
    /// The long flags `token create --help` lists (empty if it could not be asked).
    token_create: BTreeSet<String>,
}

impl Binary {
    /// Asks `path` for its version and the flags of `serve` and `token create`. A binary that
    /// cannot run at all is an error; one whose help cannot be read gets the flags every scimbox
    /// has had, and a note on stderr.
    pub async fn probe(path: &Path) -> anyhow::Result<Self> {
        let version = output(path, &["--version"]).await?.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let version = version.unwrap_or_else(|| "unknown".to_owned());
        let mut flags = Vec::new();
        for command in [&["serve", "--help"][..], &["token", "create", "--help"][..]] {
            let help = output(path, command).await?;
            if help.is_none() {
                eprintln!(
                    "note: `{} {}` failed; using only the flags every scimbox has",
                    path.display(),
                    command.join(" ")
                );
            }
            flags.push(help.as_deref().map(long_flags).unwrap_or_default());
        }
        let token_create = flags.pop().unwrap_or_default();
        let serve = flags.pop().unwrap_or_default();
        Ok(Self { path: path.to_path_buf(), version, serve, token_create })
    }

    /// Whether `serve` accepts the long flag `flag` (such as `--rate`).
    pub fn serves_with(&self, flag: &str) -> bool {
        self.serve.contains(flag)
    }

    /// `serve` on `db` at `addr`, with the per-token rate limit off where the binary has one
    /// (benchmarks measure capacity with one token, which the limit would cap; binaries from
    /// before issue 15 have no limit to turn off).
    pub fn serve(&self, db: &Path, addr: SocketAddr) -> Command {
        let mut command = Command::new(&self.path);
        command.arg("serve").arg("--db").arg(db).arg("--listen").arg(addr.to_string());
        if self.serves_with(RATE) {
            command.arg(RATE).arg("0");
        }
        command
    }

    /// The arguments of `token create` for a token named `name` on `db`: `--name` and `--db`
    /// when the binary lists them (every scimbox so far), else the name as a positional argument
    /// and the database through `SCIMBOX_DB`.
    fn token_args(&self, db: &Path, name: &str) -> (Vec<String>, Option<PathBuf>) {
        let mut args = vec!["token".to_owned(), "create".to_owned()];
        let known = !self.token_create.is_empty();
        if !known || self.token_create.contains("--name") {
            args.extend(["--name".to_owned(), name.to_owned()]);
        } else {
            args.push(name.to_owned());
        }
        if !known || self.token_create.contains("--db") {
            args.extend(["--db".to_owned(), db.display().to_string()]);
            (args, None)
        } else {
            (args, Some(db.to_path_buf()))
        }
    }

    /// Issues a token named `name` on `db` (migrating it, or creating it, as the binary does) and
    /// returns its secret.
    pub async fn create_token(&self, db: &Path, name: &str) -> anyhow::Result<String> {
        let (args, env_db) = self.token_args(db, name);
        let mut command = Command::new(&self.path);
        command.args(&args);
        if let Some(db) = env_db {
            command.env("SCIMBOX_DB", db);
        }
        let out = command.output().await.with_context(|| format!("cannot run {}", self.path.display()))?;
        anyhow::ensure!(
            out.status.success(),
            "{} {} failed ({}): {}",
            self.path.display(),
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        let secret = String::from_utf8(out.stdout).context("scimbox printed a token that is not UTF-8")?;
        let secret = secret.trim();
        anyhow::ensure!(!secret.is_empty(), "{} printed no token", self.path.display());
        Ok(secret.to_owned())
    }
}

/// What `path ARGS` printed on stdout, or `None` if it ran but failed or printed something that
/// is not UTF-8; an error only if it could not be started.
async fn output(path: &Path, args: &[&str]) -> anyhow::Result<Option<String>> {
    let out = Command::new(path).args(args).output().await.with_context(|| format!("cannot run {}", path.display()))?;
    Ok(out.status.success().then(|| String::from_utf8(out.stdout).ok()).flatten())
}

/// The long flags of a clap help text: on option lines only (those starting with `-` once
/// indented, such as `  -h, --help` or `      --db <DB>`), so that a flag named in another's
/// description does not count.
fn long_flags(help: &str) -> BTreeSet<String> {
    help.lines()
        .map(str::trim_start)
        .filter(|line| line.starts_with('-'))
        .flat_map(|line| {
            line.split([' ', ',', '=', '\t'])
                .take_while(|word| word.starts_with('-') || word.is_empty())
                .filter(|word| word.starts_with("--") && word.len() > 2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `serve --help` of a binary from before issue 15, abridged.
    const OLD_SERVE: &str = "Run the SCIM server\n\nUsage: scimbox serve [OPTIONS]\n\nOptions:\n      --db <DB>\n          \
        The SQLite database file\n\n      --listen <LISTEN>\n          The address to listen on; see --rate in \
        later versions\n  -h, --help\n          Print help\n";
    /// The same with the rate limit's flag.
    const NEW_SERVE: &str = "Options:\n      --db <DB>\n          The SQLite database file\n      --rate <N>\n          \
        Requests per second per token\n  -h, --help\n";

    fn binary(serve: &str, token_create: &str) -> Binary {
        Binary {
            path: PathBuf::from("scimbox"),
            version: "scimbox 0.1.0".into(),
            serve: long_flags(serve),
            token_create: long_flags(token_create),
        }
    }

    fn args(command: &Command) -> Vec<String> {
        command.as_std().get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn reads_option_lines_only() {
        let flags: Vec<String> = long_flags(OLD_SERVE).into_iter().collect();
        assert_eq!(flags, ["--db", "--help", "--listen"]);
        let short = "  -n, --name <NAME>  The name, not --label\n      --scope=<scim|app>\n  -q\n";
        let flags: Vec<String> = long_flags(short).into_iter().collect();
        assert_eq!(flags, ["--name", "--scope"]);
        assert!(long_flags("").is_empty());
    }

    #[test]
    fn passes_the_rate_flag_only_to_a_binary_that_has_it() {
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let old = binary(OLD_SERVE, "");
        assert_eq!(args(&old.serve(Path::new("d.db"), addr)), ["serve", "--db", "d.db", "--listen", "127.0.0.1:9"]);
        let new = binary(NEW_SERVE, "");
        assert_eq!(
            args(&new.serve(Path::new("d.db"), addr)),
            ["serve", "--db", "d.db", "--listen", "127.0.0.1:9", "--rate", "0"]
        );
    }

    #[test]
    fn creates_tokens_in_the_binary_own_syntax() {
        let db = Path::new("d.db");
        let flagged = binary("", "      --db <DB>\n      --name <NAME>\n");
        assert_eq!(
            flagged.token_args(db, "bench"),
            (strings(&["token", "create", "--name", "bench", "--db", "d.db"]), None)
        );
        let unknown = binary("", "");
        assert_eq!(unknown.token_args(db, "bench").0, flagged.token_args(db, "bench").0);
        let positional = binary("", "  -h, --help\n");
        assert_eq!(
            positional.token_args(db, "bench"),
            (strings(&["token", "create", "bench"]), Some(db.to_path_buf()))
        );
    }

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }
}
