//! The accounts registry, the roles catalogue and `scimbox validate` through the real binary
//! (issue 4, sections 1 and 6): `account add | list | move | remove`, `role add | list | remove`,
//! and `validate [FILE] [--db PATH]`, including against a database a running server holds.

use std::path::Path;

use crate::auth_tokens::Server;
use crate::helpers::run_scimbox;

/// What a run of the binary left: exit code, stdout, stderr.
struct Run {
    code: i32,
    out: String,
    err: String,
}

/// Runs `scimbox ARGS`, feeding `stdin` if given (an empty stdin otherwise).
fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let out = run_scimbox(args, stdin.unwrap_or(""));
    Run {
        code: out.status.code().expect("exit code"),
        out: String::from_utf8(out.stdout).expect("utf-8"),
        err: String::from_utf8(out.stderr).expect("utf-8"),
    }
}

/// Runs `scimbox ARGS` against `db` (appended as `--db DB`).
fn on(db: &Path, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--db", db.to_str().unwrap()]);
    run(&all, None)
}

/// Like [`on`], asserting success.
fn ok(db: &Path, args: &[&str]) -> Run {
    let r = on(db, args);
    assert_eq!(r.code, 0, "{args:?} failed: {}", r.err);
    r
}

/// Like [`on`], asserting exit `code` (1 for a conflict, 65 for bad input, 66 for something not
/// registered: `service::Error::exit_code`) with `scimbox: ...` on stderr containing every one
/// of `words`, and nothing on stdout.
fn refused(db: &Path, args: &[&str], code: i32, words: &[&str]) {
    let r = on(db, args);
    assert_eq!(r.code, code, "{args:?} should fail: {}{}", r.out, r.err);
    assert!(r.out.is_empty(), "{args:?} printed {:?}", r.out);
    assert!(r.err.starts_with("scimbox: "), "{args:?}: {}", r.err);
    for w in words {
        assert!(r.err.contains(w), "{args:?}: {:?} lacks {w:?}", r.err);
    }
}

/// Acme Corp (ACC100) with Acme EU (ACC110, with Acme FR ACC111) and Acme US (ACC120); Beta
/// (ACC200). Added children first where possible, to show that the listing sorts them.
fn acme(db: &Path) {
    ok(db, &["account", "add", "ACC200", "--name", "Beta"]);
    ok(db, &["account", "add", "ACC100", "--name", "Acme Corp"]);
    ok(db, &["account", "add", "ACC120", "--name", "Acme US", "--parent", "ACC100"]);
    ok(db, &["account", "add", "ACC110", "--name", "Acme EU", "--parent", "ACC100"]);
    ok(db, &["account", "add", "ACC111", "--name", "Acme FR", "--parent", "ACC110"]);
}

const ACME: &str = "ACC100  Acme Corp\n  ACC110  Acme EU\n    ACC111  Acme FR\n  ACC120  Acme US\nACC200  Beta\n";

#[test]
fn account_add_list_move_remove() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let r = ok(&db, &["account", "list"]);
    assert_eq!(r.out, "", "an empty registry lists nothing on stdout");
    assert!(r.err.contains("no accounts"), "{}", r.err);
    acme(&db);
    assert_eq!(ok(&db, &["account", "list"]).out, ACME);

    // A subtree moves with its root, to another parent and to the top level.
    let r = ok(&db, &["account", "move", "ACC110", "--parent", "ACC200"]);
    assert!(r.err.contains("moved account ACC110 under ACC200"), "{}", r.err);
    let moved = "ACC100  Acme Corp\n  ACC120  Acme US\nACC200  Beta\n  ACC110  Acme EU\n    ACC111  Acme FR\n";
    assert_eq!(ok(&db, &["account", "list"]).out, moved);
    ok(&db, &["account", "move", "ACC110", "--root"]);
    let rooted = "ACC100  Acme Corp\n  ACC120  Acme US\nACC110  Acme EU\n  ACC111  Acme FR\nACC200  Beta\n";
    assert_eq!(ok(&db, &["account", "list"]).out, rooted);

    // A parent goes only once its children have.
    refused(&db, &["account", "remove", "ACC110"], 1, &["ACC110", "child accounts", "ACC111"]);
    ok(&db, &["account", "remove", "ACC111"]);
    let r = ok(&db, &["account", "remove", "ACC110"]);
    assert!(r.err.contains("removed account ACC110"), "{}", r.err);
    refused(&db, &["account", "remove", "ACC110"], 66, &["no account \"ACC110\""]);
    assert_eq!(ok(&db, &["account", "list"]).out, "ACC100  Acme Corp\n  ACC120  Acme US\nACC200  Beta\n");
}

#[test]
fn cycles_and_bad_input_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    acme(&db);
    refused(&db, &["account", "move", "ACC100", "--parent", "ACC111"], 1, &["ACC100 > ACC110 > ACC111", "cycle"]);
    refused(&db, &["account", "move", "ACC110", "--parent", "ACC110"], 1, &["under itself"]);
    refused(&db, &["account", "move", "ACC110", "--parent", "NOPE"], 66, &["no account \"NOPE\""]);
    refused(&db, &["account", "move", "NOPE", "--root"], 66, &["no account \"NOPE\""]);
    refused(&db, &["account", "add", "ACC100", "--name", "Again"], 1, &["ACC100 already exists", "Acme Corp"]);
    refused(&db, &["account", "add", "ACC300", "--name", "X", "--parent", "NOPE"], 66, &["no account \"NOPE\""]);
    refused(&db, &["account", "add", "ACC 300", "--name", "X"], 65, &["whitespace"]);
    refused(&db, &["account", "add", "", "--name", "X"], 65, &["must not be empty"]);
    refused(&db, &["account", "add", &"A".repeat(65), "--name", "X"], 65, &["65 characters", "64"]);
    refused(&db, &["account", "add", "ACC300", "--name", " "], 65, &["name must not be empty"]);
    // Usage errors are clap's: exit 2 with help on stderr.
    for args in [
        &["account", "move", "ACC110"][..],
        &["account", "move", "ACC110", "--root", "--parent", "ACC200"],
        &["account", "add", "ACC300"],
    ] {
        let r = on(&db, args);
        assert_eq!(r.code, 2, "{args:?}: {}", r.err);
    }
    assert_eq!(ok(&db, &["account", "list"]).out, ACME, "nothing changed");
}

#[test]
fn role_commands() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let r = ok(&db, &["role", "list"]);
    assert_eq!(r.out, "");
    assert!(r.err.contains("any role name is accepted"), "{}", r.err);
    ok(&db, &["role", "add", "Editor"]);
    ok(&db, &["role", "add", "viewer"]);
    refused(&db, &["role", "add", "EDITOR"], 1, &["\"Editor\" already exists"]);
    refused(&db, &["role", "add", "  "], 65, &["must not be empty"]);
    assert_eq!(ok(&db, &["role", "list"]).out, "Editor\nviewer\n");
    ok(&db, &["role", "remove", "editor"]);
    refused(&db, &["role", "remove", "Editor"], 66, &["no role \"Editor\""]);
    assert_eq!(ok(&db, &["role", "list"]).out, "viewer\n");
}

#[test]
fn every_command_has_help() {
    for args in [
        &["account", "--help"][..],
        &["account", "add", "--help"],
        &["account", "list", "--help"],
        &["account", "move", "--help"],
        &["account", "remove", "--help"],
        &["role", "add", "--help"],
        &["role", "list", "--help"],
        &["role", "remove", "--help"],
        &["validate", "--help"],
    ] {
        let r = run(args, None);
        assert_eq!(r.code, 0, "{args:?}");
        assert!(r.out.contains("Usage: scimbox"), "{args:?}: {}", r.out);
    }
    let r = run(&["account", "move", "--help"], None);
    assert!(r.out.contains("--parent <ID>") && r.out.contains("--root"), "{}", r.out);
}

/// The CLI writes to the file a running server holds (WAL, busy timeout).
#[tokio::test]
async fn commands_work_while_a_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let db = crate::helpers::fresh_db(dir.path()).await;
    let server = Server::start(&db, &dir.path().join("server.log")).await;
    acme(&db);
    ok(&db, &["account", "move", "ACC111", "--parent", "ACC120"]);
    ok(&db, &["role", "add", "Editor"]);
    let r = ok(&db, &["account", "list"]);
    assert!(r.out.contains("  ACC120  Acme US\n    ACC111  Acme FR\n"), "{}", r.out);
    drop(server);
}

// ---------------------------------------------------------------------------------------------
// scimbox validate

/// Writes `text` to `name` in `dir` and returns its path as a string.
fn file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write file");
    path.to_str().unwrap().to_owned()
}

#[test]
fn validate_accepts_a_good_payload_and_lists() {
    let dir = tempfile::tempdir().unwrap();
    let one = file(
        dir.path(),
        "one.json",
        r#"{"accountId":"ACC123","roles":"Editor","teams":"Marketing","status":"Active"}"#,
    );
    let r = run(&["validate", &one], None);
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "valid: 1 payload(s)\n", ""));
    let list = r#"[{"accountId":"ACC1"}, "{\"accountId\":\"ACC2\",\"status\":\"inactive\"}"]"#;
    let r = run(&["validate"], Some(list));
    assert_eq!((r.code, r.out.as_str()), (0, "valid: 2 payload(s)\n"));
    let r = run(&["validate", "-"], Some(r#"{"accountId":"ACC1","teams":["A","B"]}"#));
    assert_eq!((r.code, r.out.as_str()), (0, "valid: 1 payload(s)\n"));
}

#[test]
fn validate_reports_faults_with_index_line_and_column() {
    // A trailing comma, from stdin: the comma's own line and column.
    let r = run(&["validate"], Some("{\n  \"accountId\": \"ACC123\",\n  \"roles\": \"Editor\",\n}\n"));
    assert_eq!(r.code, 1, "{}", r.err);
    assert_eq!(r.out, "line 3, column 20: trailing comma before }; remove the comma\n");
    assert_eq!(r.err, "");
    // In a list: every fault of every payload, each with its index and the position of the key
    // or value at fault.
    let r = run(&["validate"], Some(r#"[{"accountId":"A"},{"acountId":"B"},{"accountId":"C","status":"gone"}]"#));
    assert_eq!(r.code, 1);
    let has = |line: &str| r.out.lines().any(|l| l == line);
    assert!(has(r#"accounts[1] line 1, column 21: unknown key "acountId"; did you mean "accountId"?"#), "{}", r.out);
    assert!(has(r#"accounts[2] line 1, column 63: "status" must be "Active" or "Inactive", got "gone""#), "{}", r.out);
    assert!(r.out.lines().all(|l| !l.starts_with("accounts[0]")), "{}", r.out);
}

#[test]
fn validate_checks_a_whole_user_body() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
  "userName": "bjensen@example.com",
  "accounts": [
    {"accountId": "ACC100", "roles": ["Editor"]},
    "{\"accountId\": \"ACC110\", \"teams\": \"Marketing\"}"
  ]
}"#;
    let good = file(dir.path(), "good.json", body);
    let r = run(&["validate", &good], None);
    assert_eq!((r.code, r.out.as_str()), (0, "valid: 2 payload(s)\n"), "{}", r.err);
    let bad = file(dir.path(), "bad.json", &body.replace(r#""roles": ["Editor"]"#, r#""Roles": "Editor""#));
    let r = run(&["validate", &bad], None);
    assert_eq!(r.code, 1);
    assert_eq!(r.out, "accounts[0] line 5, column 29: unknown key \"Roles\"; did you mean \"roles\"?\n");
    // The rest of the body is checked too.
    let r = run(&["validate"], Some(r#"{"userName": 5, "accounts": ["{\"accountId\":\"A\"}"]}"#));
    assert_eq!(r.code, 1);
    assert!(r.out.contains("userName"), "{}", r.out);
}

#[test]
fn validate_with_db_checks_registration_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.db");
    let db_s = db.to_str().unwrap();
    acme(&db);
    let body = r#"{"userName":"bjensen","accounts":["{\"accountId\":\"ACC110\",\"roles\":\"editor\"}","{\"accountId\":\"ACC999\",\"roles\":[\"Editor\",\"Admin\"]}"]}"#;
    // Without --db, nothing is checked for registration.
    assert_eq!(run(&["validate"], Some(body)).code, 0);
    // With it and an empty roles catalogue: any role, registered accounts only.
    let r = run(&["validate", "--db", db_s], Some(body));
    assert_eq!(r.code, 1);
    assert_eq!(r.out.lines().count(), 1, "{}", r.out);
    // Positions are in the text read (issue 13 item 5), inside payload strings too.
    assert!(r.out.starts_with("accounts[1] line 1, column 101: account \"ACC999\" is not registered"), "{}", r.out);
    // With roles catalogued: `editor` matches `Editor`; `Admin` does not.
    ok(&db, &["role", "add", "Editor"]);
    let r = run(&["validate", "--db", db_s], Some(body));
    assert_eq!(r.code, 1);
    let lines: Vec<&str> = r.out.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.out);
    assert!(
        lines[1].starts_with("accounts[1] line 1, column 134: role \"Admin\" is not in the roles catalogue"),
        "{}",
        r.out
    );
    // Once registered and catalogued, valid.
    ok(&db, &["account", "add", "ACC999", "--name", "New"]);
    ok(&db, &["role", "add", "Admin"]);
    let r = run(&["validate", "--db", db_s], Some(body));
    assert_eq!((r.code, r.out.as_str()), (0, "valid: 2 payload(s)\n"), "{}", r.err);
}

#[test]
fn validate_usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let r = run(&["validate", missing.to_str().unwrap()], None);
    assert_eq!(r.code, 2);
    assert!(r.err.starts_with("scimbox: cannot read") && r.out.is_empty(), "{}", r.err);
    let nodb = dir.path().join("missing.db");
    let r = run(&["validate", "--db", nodb.to_str().unwrap()], Some(r#"{"accountId":"A"}"#));
    assert_eq!(r.code, 2);
    assert!(r.err.contains("no database at"), "{}", r.err);
    assert!(!nodb.exists(), "validate must not create a database");
    let junk = file(dir.path(), "junk.db", "this is not SQLite, just text that is long enough to look like a file...");
    let r = run(&["validate", "--db", &junk], Some(r#"{"accountId":"A"}"#));
    assert_eq!(r.code, 2, "{}", r.err);
    assert_eq!(run(&["validate", "--bogus"], None).code, 2);
}
