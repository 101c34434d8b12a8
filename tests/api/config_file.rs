//! The config file (issue 15 item 4) and JSON logs (item 8) through the real `scimbox` binary:
//! `serve --config` and `SCIMBOX_CONFIG`, precedence flag > environment > file > default, refusal
//! of unknown keys and bad values with the key and line, values read from files, `scimbox
//! config`, and `--log-format json`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::Value;

use crate::auth_tokens::{Server, create_token};
use crate::helpers::{bin, user};

/// Writes `text` to `name` in `dir`.
fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

/// Runs `scimbox ARGS` with only these `SCIMBOX_*` variables set.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    for (k, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("SCIMBOX_")) {
        cmd.env_remove(k);
    }
    cmd.args(args).envs(env.iter().copied()).output().expect("run scimbox")
}

/// The line of `scimbox config`'s output that sets `key`.
fn line<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines().find(|l| l.starts_with(&format!("{key} = "))).unwrap_or_else(|| panic!("no {key} in {out}"))
}

/// Flag beats environment beats file beats default, in `scimbox config` and in what `serve`
/// really does (the SCIM base path it serves under); `SCIMBOX_CONFIG` names the file too.
#[tokio::test]
async fn precedence_flag_env_file_default() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "scimbox.toml",
        "# settings\nbase-path = \"/from-file\"\njournal-rows = 5000\njournal-days = 7\nmax-connections = 512\n",
    );
    let f = file.to_str().unwrap();
    let out = run(&["config", "--config", f, "--journal-days", "9"], &[("SCIMBOX_JOURNAL_ROWS", "7000")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let expect = [
        ("journal-days", "9", "# flag".to_owned()),
        ("journal-rows", "7000", "# env SCIMBOX_JOURNAL_ROWS".to_owned()),
        ("max-connections", "512", format!("# file {f}:5")),
        ("base-path", "\"/from-file\"", format!("# file {f}:2")),
        ("listen", "\"127.0.0.1:8080\"", "# default".to_owned()),
        ("log-format", "\"text\"", "# default".to_owned()),
    ];
    for (key, value, source) in expect {
        let l = line(&text, key);
        assert!(l.starts_with(&format!("{key} = {value} ")) && l.ends_with(&source), "{key}: {l:?} in\n{text}");
    }
    assert!(text.contains("# public-url is not set"), "{text}");
    // The output is itself a config file that sets the same.
    let again = write(dir.path(), "again.toml", &text);
    let out = run(&["config", "--config", again.to_str().unwrap()], &[]);
    let second = String::from_utf8(out.stdout).unwrap();
    assert!(line(&second, "journal-rows").starts_with("journal-rows = 7000 "), "{second}");

    // serve: the file's base path, then the environment's over it, then the flag's over both.
    let db = crate::helpers::fresh_db(dir.path()).await;
    let log = dir.path().join("server.log");
    let client = reqwest::Client::new();
    let served = |server: &Server, base: &str| {
        let url = format!("{}{base}/ServiceProviderConfig", server.origin);
        let client = client.clone();
        async move { client.get(url).send().await.expect("request").status() }
    };
    let env_file = [("SCIMBOX_CONFIG", f)];
    let server = Server::start_with(&db, &log, &[], &env_file).await;
    assert_eq!(served(&server, "/from-file").await, StatusCode::OK);
    assert_eq!(served(&server, "/scim/v2").await, StatusCode::NOT_FOUND);
    drop(server);
    let env_both = [("SCIMBOX_CONFIG", f), ("SCIMBOX_BASE_PATH", "/from-env")];
    let server = Server::start_with(&db, &log, &[], &env_both).await;
    assert_eq!(served(&server, "/from-env").await, StatusCode::OK);
    assert_eq!(served(&server, "/from-file").await, StatusCode::NOT_FOUND);
    drop(server);
    let server = Server::start_with(&db, &log, &["--base-path", "/from-flag"], &env_both).await;
    assert_eq!(served(&server, "/from-flag").await, StatusCode::OK);
    assert_eq!(served(&server, "/from-env").await, StatusCode::NOT_FOUND);
}

/// An unknown key, a value of the wrong type or a value its flag refuses stops `serve` before
/// it opens the database, naming the key and its line; so does a later check of a value the
/// file set (`public-url`), with where it was set.
#[test]
fn bad_files_stop_the_start_with_the_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("never.db");
    let cases = [
        ("listen = \"127.0.0.1:0\"\nmax-conections = 5\n", ":2: max-conections: unknown key", 1),
        ("\n\nmax-connections = \"lots\"\n", ":3: max-connections: invalid value 'lots'", 1),
        ("max-connections = 0\n", ":1: max-connections: invalid value '0'", 1),
        ("journal-days = true\n", ":1: journal-days: expected a string or a number, found boolean", 1),
        ("listen = [\"a\", \"b\"]\n", ":1: listen: expected one value, found an array", 1),
        ("public-url = { file = \"/no/such/secret\" }\n", ":1: public-url: cannot read /no/such/secret", 1),
        ("public-url = \"ftp://example.com\"\n", "is not an http:// or https:// URL", 1),
        ("listen = \"127.0.0.1:0\n", "is not valid TOML", 1),
    ];
    for (n, (text, words, code)) in cases.into_iter().enumerate() {
        let file = write(dir.path(), &format!("bad{n}.toml"), text);
        let f = file.to_str().unwrap();
        let out = run(&["serve", "--db", db.to_str().unwrap(), "--config", f], &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{text:?}: {stderr}");
        assert!(stderr.contains(words) && stderr.contains(f), "{text:?}: {stderr}");
        assert!(!db.exists(), "{text:?}: the database was opened");
    }
    let file = write(dir.path(), "url.toml", "\npublic-url = \"ftp://example.com\"\n");
    let out = run(&["serve", "--db", db.to_str().unwrap(), "--config", file.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("(set in {}:2)", file.display())), "{stderr}");
    let out = run(&["serve", "--config", dir.path().join("missing.toml").to_str().unwrap()], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the config file"));
}

/// `{ file = "..." }` reads the value from that file at start, without its trailing newline;
/// `scimbox config` names the file and never prints the value.
#[tokio::test]
async fn a_value_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "public-url", "https://scim.example.com\n");
    let text = format!("public-url = {{ file = \"{}\" }}\n", secret.display());
    let file = write(dir.path(), "scimbox.toml", &text);
    let f = file.to_str().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let token = create_token(&db, "t", None);
    let server = Server::start_with(&db, &dir.path().join("server.log"), &["--config", f], &[]).await;
    let r = reqwest::Client::new()
        .post(format!("{}/Users", server.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/scim+json")
        .body(user("from-file").to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::CREATED);
    let location = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("https://scim.example.com/scim/v2/Users/"), "{location}");

    let out = run(&["config", "--config", f], &[]);
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(!shown.contains("scim.example.com"), "{shown}");
    let l = line(&shown, "public-url");
    assert!(l.contains(&format!("{{ file = \"{}\" }}", secret.display())) && l.ends_with(&format!("{f}:1")), "{l}");
}

/// `--log-format json` (here from the file): every log line is a JSON object with the fields
/// the text format shows (time, level, target, message, and a request's method, path, status
/// and duration).
#[tokio::test]
async fn json_logs_carry_the_request_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "scimbox.toml", "log-format = \"json\"\n");
    let db = crate::helpers::fresh_db(dir.path()).await;
    let mut server =
        Server::start_with(&db, &dir.path().join("server.log"), &["--config", file.to_str().unwrap()], &[]).await;
    let r = reqwest::Client::new().get(format!("{}/Users?count=1", server.base)).send().await.expect("request");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    server.kill();
    let log = server.log_text();
    let lines: Vec<Value> =
        log.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().all(|l| l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string()));
    let refused = lines.iter().find(|l| l["message"] == "request refused").unwrap_or_else(|| panic!("{log}"));
    assert_eq!(refused["method"], "GET", "{refused}");
    assert_eq!(refused["path"], "/scim/v2/Users", "{refused}");
    assert_eq!(refused["status"], 401, "{refused}");
    assert!(refused["ms"].is_number() && refused["level"] == "INFO", "{refused}");
}

/// The commented example at the repository's root is a config file `serve` accepts, and every
/// value it sets is the default it says it is.
#[test]
fn the_example_file_is_accepted() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config.example.toml");
    let e = example.to_str().unwrap();
    let with = run(&["config", "--config", e], &[]);
    assert!(with.status.success(), "{}", String::from_utf8_lossy(&with.stderr));
    let with = String::from_utf8(with.stdout).unwrap();
    let without = String::from_utf8(run(&["config"], &[]).stdout).unwrap();
    let value = |l: &str| l.split(" # ").next().unwrap_or_default().trim_end().to_owned();
    for l in with.lines().filter(|l| l.contains(&format!("# file {e}:"))) {
        let key = l.split(" = ").next().unwrap_or_default();
        assert_eq!(value(l), value(line(&without, key)), "{key}: the example says the default");
    }
    assert!(with.lines().filter(|l| l.contains("# file ")).count() >= 7, "{with}");
}
