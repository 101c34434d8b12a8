//! `scimbox serve --config FILE` and `scimbox config`: settings from a TOML file whose keys are
//! the long flags of `serve` (`listen = "127.0.0.1:8080"`, `max-connections = 512`), with the
//! precedence flag > environment > file > default.
//!
//! Nothing here knows a setting by name: the file is checked against clap's own description of
//! the `serve` command (each argument's long name, value parser, whether it repeats or is a
//! switch), and its values are handed to clap as the flags they stand for, after those given on
//! the command line and only for arguments neither a flag nor an environment variable set. So a
//! flag added to `serve` works in the file, with the same checks, without a change here.
//!
//! A value may be read from a file instead (`public-url = { file = "/run/secrets/url" }`): read
//! at start, one trailing newline removed, and never printed by `scimbox config`; neither is the
//! value of an argument marked `hide_env_values` (clap's marker for a secret), wherever it comes
//! from.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::error::ErrorKind;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches};

use super::{Cli, Failure};

/// The arguments of `serve` a file cannot set: the file itself, and clap's own.
const NOT_IN_FILE: &[&str] = &["config", "help", "version"];

/// The argument that names the file (also from `SCIMBOX_CONFIG`).
const CONFIG_ID: &str = "config";

/// One key of the file, checked against the argument it sets.
#[derive(Debug, Clone)]
struct FileValue {
    /// The argument's id.
    id: String,
    /// Its line in the file (1-based).
    line: usize,
    /// The flags it stands for (`--key=value`, once per value; `--key` for a switch set true).
    flags: Vec<OsString>,
    /// The file the value was read from, for `{ file = "..." }`.
    secret_file: Option<PathBuf>,
}

/// Where an effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Source {
    /// A flag on the command line.
    Flag,
    /// The environment variable of that name.
    Env(String),
    /// The config file, at this line.
    File(PathBuf, usize),
    /// The built-in default.
    Default,
    /// Not set anywhere (an optional setting).
    Unset,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Flag => f.write_str("flag"),
            Self::Env(name) => write!(f, "env {name}"),
            Self::File(path, line) => write!(f, "file {}:{line}", path.display()),
            Self::Default => f.write_str("default"),
            Self::Unset => f.write_str("not set"),
        }
    }
}

/// One setting of `serve` as it will run.
#[derive(Debug, Clone)]
pub(super) struct Setting {
    /// The long flag name (the file's key).
    pub(super) key: String,
    /// The values as given (several for a repeated flag); empty when unset.
    pub(super) values: Vec<String>,
    /// Where they came from.
    pub(super) source: Source,
    /// Never printed: a secret argument, or a value read from a file (named here).
    pub(super) hidden: Option<Hidden>,
}

/// Why a setting's value is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Hidden {
    /// The argument is a secret (`hide_env_values`).
    Secret,
    /// The value was read from this file.
    FromFile(PathBuf),
}

/// Every setting of `serve`, in `--help` order.
#[derive(Debug, Clone, Default)]
pub(super) struct Effective {
    pub(super) settings: Vec<Setting>,
}

/// Parses the command line, and for `serve` and `config` merges the config file (if `--config`
/// or `SCIMBOX_CONFIG` names one) under the flags and environment. `--help`, `--version` and
/// bad flags end the process as clap does.
pub(super) fn parse() -> Result<(Cli, Option<Effective>), Failure> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let first = Cli::command().get_matches_from(&argv);
    let mut cmd = Cli::command();
    cmd.build();
    let Some((name, sub)) = first.subcommand().filter(|(n, _)| matches!(*n, "serve" | "config")) else {
        return Ok((typed(&first)?, None));
    };
    let serve = cmd.find_subcommand(name).ok_or_else(|| format!("no {name} command"))?;
    let path = sub.get_one::<PathBuf>(CONFIG_ID).cloned();
    let values = match &path {
        Some(p) => read(p, serve)?,
        None => Vec::new(),
    };
    let from_file: Vec<&FileValue> =
        values.iter().filter(|v| matches!(sub.value_source(&v.id), None | Some(ValueSource::DefaultValue))).collect();
    let mut merged = argv;
    merged.extend(from_file.iter().flat_map(|v| v.flags.iter().cloned()));
    // The file's values passed their parsers above, so this parse fails only on a conflict
    // between arguments, which clap words better than we could.
    let matches = Cli::command().try_get_matches_from(&merged).map_err(|e| first_line(&e))?;
    let sub = matches.subcommand().map(|(_, s)| s).ok_or_else(|| "no subcommand".to_owned())?;
    let effective = describe(serve, sub, &from_file, path.as_deref());
    Ok((typed(&matches)?, Some(effective)))
}

fn typed(matches: &ArgMatches) -> Result<Cli, Failure> {
    Cli::from_arg_matches(matches).map_err(|e| Failure::from(first_line(&e)))
}

/// A clap error's message without `error: ` and the usage after it.
fn first_line(e: &clap::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_owned()
}

/// The arguments a file may set, by long name.
fn settable(cmd: &Command) -> impl Iterator<Item = &Arg> {
    cmd.get_arguments().filter(|a| a.get_long().is_some() && !NOT_IN_FILE.contains(&a.get_id().as_str()))
}

/// Reads and checks the file against `cmd`'s arguments.
fn read(path: &Path, cmd: &Command) -> Result<Vec<FileValue>, Failure> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the config file {}: {e}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("the config file {} is not valid TOML: {e}", path.display()))?;
    let lines = key_lines(&text);
    let mut out = Vec::new();
    for (key, value) in table {
        let line = lines.iter().find(|(k, _)| *k == key).map(|(_, l)| *l);
        let at = |msg: String| match line {
            Some(line) => format!("{}:{line}: {key}: {msg}", path.display()),
            None => format!("{}: {key}: {msg}", path.display()),
        };
        let Some(arg) = settable(cmd).find(|a| a.get_long() == Some(key.as_str())) else {
            let known: Vec<&str> = settable(cmd).filter_map(Arg::get_long).collect();
            return Err(Failure::from(at(format!(
                "unknown key; the keys are the long flags of `scimbox serve`: {}",
                known.join(", ")
            ))));
        };
        let (raw, secret_file) = values_of(arg, &value).map_err(at)?;
        let flags = flags_for(cmd, &key, raw).map_err(at)?;
        out.push(FileValue { id: arg.get_id().to_string(), line: line.unwrap_or(0), flags, secret_file });
    }
    Ok(out)
}

/// The line of each top-level key, for messages (TOML's own errors carry their line already):
/// `key = ...` and the first part of a dotted `key.sub = ...` before any table, then the first
/// `[table]` header (every key below it is that table's, which no flag is).
fn key_lines(text: &str) -> Vec<(String, usize)> {
    let unquote = |k: &str| k.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if let Some(header) = line.strip_prefix('[') {
            let name = header.trim_start_matches('[').split(['.', ']']).next().unwrap_or_default();
            out.push((unquote(name), n + 1));
            break;
        }
        if let Some((key, _)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            out.push((unquote(key.split('.').next().unwrap_or_default()), n + 1));
        }
    }
    out
}

/// What a value of the file stands for: whether to give the switch, or the value(s) as text;
/// a `{ file = "..." }` table is read here.
enum Raw {
    Switch(bool),
    Values(Vec<String>),
}

fn values_of(arg: &Arg, value: &toml::Value) -> Result<(Raw, Option<PathBuf>), String> {
    use toml::Value as V;
    let switch = !arg.get_action().takes_values();
    let scalar = |v: &V| match v {
        V::String(s) => Ok(s.clone()),
        V::Integer(i) => Ok(i.to_string()),
        V::Float(f) => Ok(f.to_string()),
        other => Err(format!("expected a string or a number, found {}", other.type_str())),
    };
    match value {
        // The key is the flag: `true` gives it, whatever it sets (`no-color = true` is
        // `--no-color`, also when that flag sets a value to false).
        V::Boolean(b) if switch => Ok((Raw::Switch(*b), None)),
        _ if switch => Err(format!("expected true or false, found {}", value.type_str())),
        V::Array(items) if repeats(arg) => Ok((Raw::Values(items.iter().map(scalar).collect::<Result<_, _>>()?), None)),
        V::Array(_) => Err("expected one value, found an array (this flag is not repeated)".into()),
        V::Table(t) => {
            let file = match (t.get("file"), t.len()) {
                (Some(V::String(f)), 1) => PathBuf::from(f),
                _ => {
                    return Err(
                        "a table here must be { file = \"PATH\" }, naming the file to read the value from".into()
                    );
                }
            };
            let read = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let trimmed = read.strip_suffix('\n').map_or(read.as_str(), |s| s.strip_suffix('\r').unwrap_or(s));
            Ok((Raw::Values(vec![trimmed.to_owned()]), Some(file)))
        }
        other => Ok((Raw::Values(vec![scalar(other)?]), None)),
    }
}

/// Whether the argument takes several values (repeated, or split at a delimiter).
fn repeats(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append) || arg.get_value_delimiter().is_some()
}

/// Checks the values with the argument's own parser (clap keeps it to itself, so by parsing
/// the flags they stand for alone) and returns those flags.
fn flags_for(cmd: &Command, key: &str, raw: Raw) -> Result<Vec<OsString>, String> {
    let flags: Vec<OsString> = match raw {
        Raw::Switch(on) => return Ok(if on { vec![format!("--{key}").into()] } else { Vec::new() }),
        Raw::Values(v) => v.into_iter().map(|v| format!("--{key}={v}").into()).collect(),
    };
    match cmd.clone().no_binary_name(true).try_get_matches_from(&flags) {
        // Only a verdict on these values counts here; anything else (a flag this one requires,
        // say) is for the whole command line's parse to word.
        Err(e) if matches!(e.kind(), ErrorKind::InvalidValue | ErrorKind::ValueValidation | ErrorKind::InvalidUtf8) => {
            Err(first_line(&e))
        }
        _ => Ok(flags),
    }
}

/// The effective value and source of every argument `cmd` has.
fn describe(cmd: &Command, sub: &ArgMatches, from_file: &[&FileValue], path: Option<&Path>) -> Effective {
    let settings = settable(cmd)
        .map(|arg| {
            let id = arg.get_id().as_str();
            let key = arg.get_long().unwrap_or(id).to_owned();
            let file = from_file.iter().find(|v| v.id == id);
            let values: Vec<String> = if arg.get_action().takes_values() {
                sub.get_raw(id).map(|raw| raw.map(|v| v.to_string_lossy().into_owned()).collect()).unwrap_or_default()
            } else {
                // As the file says it: whether the flag is given (a flag that sets false, too).
                let given = |b: &bool| *b != matches!(arg.get_action(), ArgAction::SetFalse);
                sub.try_get_one::<bool>(id).ok().flatten().map(|b| vec![given(b).to_string()]).unwrap_or_default()
            };
            let source = match (sub.value_source(id), file, path) {
                _ if values.is_empty() => Source::Unset,
                (Some(ValueSource::CommandLine), Some(v), Some(p)) => Source::File(p.to_owned(), v.line),
                (Some(ValueSource::CommandLine), ..) => Source::Flag,
                (Some(ValueSource::EnvVariable), ..) => {
                    Source::Env(arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default())
                }
                (Some(ValueSource::DefaultValue), ..) => Source::Default,
                _ => Source::Unset,
            };
            let hidden = if arg.is_hide_env_values_set() {
                Some(Hidden::Secret)
            } else {
                file.filter(|_| matches!(source, Source::File(..)))
                    .and_then(|v| v.secret_file.clone())
                    .map(Hidden::FromFile)
            };
            Setting { key, values, source, hidden }
        })
        .collect();
    Effective { settings }
}

impl Effective {
    /// The setting with this key.
    pub(super) fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The settings as a TOML file would set them, each with its source in a comment: what
    /// `scimbox config` prints. Secret values are never shown.
    pub(super) fn render(&self) -> String {
        let mut out = String::new();
        for s in &self.settings {
            let value = match (&s.hidden, s.values.as_slice()) {
                (_, []) => {
                    let _ = writeln!(out, "# {} is not set", s.key);
                    continue;
                }
                (Some(Hidden::Secret), _) => "\"(secret, not shown)\"".to_owned(),
                (Some(Hidden::FromFile(f)), _) => format!("{{ file = {} }}", toml_string(&f.to_string_lossy())),
                (None, [one]) => toml_scalar(one),
                (None, many) => format!("[{}]", many.iter().map(|v| toml_scalar(v)).collect::<Vec<_>>().join(", ")),
            };
            let _ = writeln!(out, "{:<40} # {}", format!("{} = {value}", s.key), s.source);
        }
        out
    }

    /// Where the setting for `--key` came from, when that was the file: ` (set in PATH:LINE)`,
    /// to follow a message about the flag.
    pub(super) fn where_set(&self, key: &str) -> Option<String> {
        match &self.get(key)?.source {
            Source::File(path, line) => Some(format!(" (set in {}:{line})", path.display())),
            _ => None,
        }
    }
}

/// A value as TOML: numbers and booleans bare, anything else a string.
fn toml_scalar(v: &str) -> String {
    if v.parse::<i64>().is_ok() || v == "true" || v == "false" { v.to_owned() } else { toml_string(v) }
}

fn toml_string(v: &str) -> String {
    toml::Value::String(v.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command() -> Command {
        let mut cmd = Command::new("t")
            .arg(Arg::new("config").long("config"))
            .arg(Arg::new("port").long("port").value_parser(clap::value_parser!(u16)).default_value("80"))
            .arg(Arg::new("tag").long("tag").action(ArgAction::Append))
            .arg(Arg::new("quiet").long("quiet").action(ArgAction::SetTrue))
            .arg(Arg::new("password").long("password").env("T_PASSWORD").hide_env_values(true))
            .arg(Arg::new("color").long("no-color").action(ArgAction::SetFalse));
        cmd.build();
        cmd
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("c.toml");
        std::fs::write(&path, text).expect("write");
        (dir, path)
    }

    fn err(text: &str) -> String {
        let (_dir, path) = file(text);
        read(&path, &command()).unwrap_err().message
    }

    #[test]
    fn values_become_flags() {
        let (_dir, path) = file("port = 8080\n# a comment\ntag = [\"a\", \"b\"]\nquiet = true\n");
        let v = read(&path, &command()).expect("read");
        let flags: Vec<_> = v.iter().flat_map(|v| v.flags.clone()).collect();
        assert_eq!(flags, ["--port=8080", "--quiet", "--tag=a", "--tag=b"].map(OsString::from));
        let lines: Vec<(&str, usize)> = v.iter().map(|v| (v.id.as_str(), v.line)).collect();
        assert_eq!(lines, [("port", 1), ("quiet", 4), ("tag", 3)]);
        // A switch is given for `true`, also one that sets false; left out for `false`.
        for (text, flags) in [("no-color = true", vec![OsString::from("--no-color")]), ("no-color = false", vec![])] {
            let (_dir, path) = file(text);
            assert_eq!(read(&path, &command()).expect("read")[0].flags, flags, "{text}");
        }
    }

    #[test]
    fn refusals_name_the_key_and_line() {
        let e = err("port = 1\nportt = 2\n");
        assert!(
            e.ends_with(
                ":2: portt: unknown key; the keys are the long flags of `scimbox serve`: port, tag, quiet, password, no-color"
            ),
            "{e}"
        );
        let e = err("\nport = \"eighty\"\n");
        assert!(e.contains(":2: port: invalid value 'eighty'"), "{e}");
        assert!(err("port = 70000").contains("port: invalid value '70000'"));
        assert!(err("port = [1, 2]").contains("port: expected one value, found an array"));
        assert!(err("quiet = \"yes\"").contains("quiet: expected true or false, found string"));
        assert!(err("tag = true").contains("tag: expected a string or a number, found boolean"));
        assert!(err("tag = { path = \"x\" }").contains("must be { file = \"PATH\" }"));
        assert!(err("config = \"x\"").contains("config: unknown key"));
        assert!(err("port = ").contains("not valid TOML"), "{}", err("port = "));
        assert!(err("port = 1\n\n[server]\nport = 2\n").ends_with(
            ":3: server: unknown key; the keys are the long flags of `scimbox serve`: port, tag, quiet, password, no-color"
        ));
        assert!(err("\nsection.port = 2\n").contains(":2: section: unknown key"));
        assert!(err("password = { file = \"/no/such/file\" }").contains("password: cannot read /no/such/file"));
    }

    #[test]
    fn a_secret_file_loses_one_newline_and_is_never_shown() {
        let dir = tempfile::tempdir().expect("dir");
        let secret = dir.path().join("s");
        std::fs::write(&secret, "hunter2\n\n").expect("write");
        let (_d, path) = file(&format!("password = {{ file = {:?} }}\n", secret.to_str().expect("utf-8")));
        let cmd = command();
        let v = read(&path, &cmd).expect("read");
        assert_eq!(v[0].flags, [OsString::from("--password=hunter2\n")], "one newline removed, not all");
        let m = cmd.clone().try_get_matches_from(["t", "--password=hunter2\n"]).expect("matches");
        let shown = describe(&cmd, &m, &[&v[0]], Some(&path)).render();
        assert!(!shown.contains("hunter2") && shown.contains("(secret, not shown)"), "{shown}");
        // A secret argument is hidden from whatever source; others are shown as TOML.
        let m = cmd.clone().try_get_matches_from(["t", "--password", "pw", "--tag", "x y"]).expect("matches");
        let shown = describe(&cmd, &m, &[], None).render();
        assert!(!shown.contains("pw\""), "{shown}");
        assert!(shown.contains("port = 80") && shown.contains("# default"), "{shown}");
        assert!(shown.contains("tag = \"x y\"") && shown.contains("# flag"), "{shown}");
        assert!(shown.contains("quiet = false") && shown.contains("no-color = false"), "{shown}");
        assert!(!shown.contains("config"), "the file is not a setting of itself: {shown}");
    }
}
