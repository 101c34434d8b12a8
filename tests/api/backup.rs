//! Backup and restore through the real binary (issue 15 item 6): `scimbox backup` while a
//! server takes writes, `scimbox restore` and its refusals, and `serve --backup-dir`'s schedule.
//!
//! [`Serving`] (a `scimbox serve` child with extra flags) is also used by `metrics.rs`.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::auth_tokens::{cli, create_token};
use crate::helpers::{bin, user};

/// A `scimbox serve` child started with extra flags, killed when dropped.
pub struct Serving {
    child: Child,
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// The `--metrics-listen` address given, if any (`127.0.0.1:PORT`).
    pub metrics: Option<String>,
    log: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

impl Serving {
    /// Starts `scimbox serve --db DB --listen ... EXTRA` (with `--metrics-listen` on a free port
    /// too when `metrics`), retrying if a port was taken meanwhile, and waits for `/healthz`.
    pub async fn start(db: &Path, log: &Path, extra: &[&str], metrics: bool) -> Serving {
        let client = reqwest::Client::new();
        for _ in 0..5 {
            let listen = format!("127.0.0.1:{}", free_port());
            let metrics_addr = metrics.then(|| format!("127.0.0.1:{}", free_port()));
            let mut args = vec!["serve", "--db", db.to_str().unwrap(), "--listen", &listen];
            if let Some(m) = &metrics_addr {
                args.extend(["--metrics-listen", m.as_str()]);
            }
            args.extend(extra);
            let log_file = File::options().create(true).append(true).open(log).expect("log file");
            let child = Command::new(bin())
                .args(&args)
                .env("RUST_LOG", "info")
                .env_remove("SCIMBOX_BASE_PATH")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(log_file))
                .spawn()
                .expect("spawn scimbox serve");
            let mut s =
                Serving { child, base: format!("http://{listen}/scim/v2"), metrics: metrics_addr, log: log.to_owned() };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if s.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                let health = client.get(format!("http://{listen}/healthz")).timeout(Duration::from_millis(500)).send();
                if health.await.is_ok_and(|r| r.status() == StatusCode::OK) {
                    return s;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            let _ = s.child.kill();
        }
        panic!("scimbox serve never became ready; log:\n{}", std::fs::read_to_string(log).unwrap_or_default());
    }

    /// The log written so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn run(args: &[&str]) -> Output {
    cli(args)
}

/// `PRAGMA integrity_check` of a database file, and its users' ids.
fn inspect(db: &Path) -> (String, BTreeSet<String>) {
    let c = rusqlite::Connection::open(db).expect("open");
    let check: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    let mut stmt = c.prepare("SELECT id FROM users").expect("prepare");
    let ids = stmt.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("ids");
    (check, ids)
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// A backup taken while a client keeps creating users holds every user acknowledged before the
/// backup began, passes SQLite's integrity check once restored, and is 0600.
#[tokio::test]
async fn a_backup_during_writes_restores_every_acknowledged_user() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("live.db");
    let token = create_token(&db, "loader", None);
    let server = Serving::start(&db, &dir.path().join("server.log"), &[], false).await;
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Four clients create users with 16 KiB titles, so that the database outgrows one step of
    // the online backup (1 MiB) and the copy spans many steps while the writes go on.
    let load: Vec<_> = (0..4)
        .map(|n| {
            let (acked, stop, url, token) =
                (Arc::clone(&acked), Arc::clone(&stop), format!("{}/Users", server.base), token.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    i += 1;
                    let mut body = user(&format!("load-{n}-{i:05}"));
                    body["title"] = "t".repeat(16 * 1024).into();
                    let r = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/scim+json")
                        .body(body.to_string())
                        .send()
                        .await
                        .expect("POST");
                    assert_eq!(r.status(), StatusCode::CREATED);
                    let body: Value = r.json().await.expect("json");
                    acked.lock().unwrap().push(body["id"].as_str().expect("id").to_owned());
                }
            })
        })
        .collect();
    while acked.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before: BTreeSet<String> = acked.lock().unwrap().iter().cloned().collect();
    let out_file = dir.path().join("snap.db");
    let out = {
        let args = ["backup", "--db", db.to_str().unwrap(), "--out", out_file.to_str().unwrap()];
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || Command::new(bin()).args(&args).output().expect("backup")).await.unwrap()
    };
    let during = acked.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for l in load {
        l.await.expect("load");
    }
    assert!(out.status.success(), "backup failed: {}", text(&out));
    assert!(text(&out).contains("integrity check passed"), "{}", text(&out));
    let total = acked.lock().unwrap().len();
    assert!(total > during, "writes went on after the backup ({during} then {total})");
    assert!(std::fs::metadata(&out_file).unwrap().len() > 4 << 20, "the copy took several steps");
    #[cfg(unix)]
    assert_eq!(mode(&out_file), 0o600, "the backup is private like the database");
    assert!(!Path::new(&format!("{}-wal", out_file.display())).exists(), "a backup is one file");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary file is left: {leftovers:?}");

    let restored = dir.path().join("restored.db");
    let r = run(&["restore", "--db", restored.to_str().unwrap(), "--from", out_file.to_str().unwrap()]);
    assert!(r.status.success(), "restore failed: {}", text(&r));
    let (check, ids) = inspect(&restored);
    assert_eq!(check, "ok");
    let missing: Vec<_> = before.difference(&ids).collect();
    assert!(missing.is_empty(), "acknowledged before the backup, missing from it: {missing:?}");
    assert!(ids.len() <= total, "the backup holds only users that were created");
    eprintln!("{} users acknowledged before the backup, {} in it, {total} in all", before.len(), ids.len());

    // A server started on the restored file serves those users.
    drop(server);
    let token = create_token(&restored, "after", None);
    let again = Serving::start(&restored, &dir.path().join("again.log"), &[], false).await;
    let one = before.iter().next().unwrap();
    let r = reqwest::Client::new().get(format!("{}/Users/{one}", again.base)).bearer_auth(token).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// restore refuses to overwrite a database without --force, refuses a running server's database
/// even with it, refuses a damaged backup and a missing one; nothing is changed by a refusal.
#[tokio::test]
async fn restore_refuses_what_would_lose_data() {
    let dir = tempfile::tempdir().unwrap();
    let (db, snap) = (dir.path().join("a.db"), dir.path().join("snap.db"));
    let (db_s, snap_s) = (db.to_str().unwrap(), snap.to_str().unwrap());
    let token = create_token(&db, "first", None);
    let out = run(&["backup", "--db", db_s, "--out", snap_s]);
    assert!(out.status.success(), "{}", text(&out));
    create_token(&db, "second", None); // the live database moves on after the backup

    let r = run(&["restore", "--db", db_s, "--from", snap_s]);
    assert!(!r.status.success());
    assert!(text(&r).contains("already exists") && text(&r).contains("--force"), "{}", text(&r));

    let server = Serving::start(&db, &dir.path().join("server.log"), &[], false).await;
    let r = run(&["restore", "--db", db_s, "--from", snap_s, "--force"]);
    assert_eq!(r.status.code(), Some(69), "{}", text(&r));
    assert!(text(&r).contains("open in another process"), "{}", text(&r));
    let ok = reqwest::Client::new().get(format!("{}/Users", server.base)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "the running server is unharmed");
    let write = reqwest::Client::new()
        .post(format!("{}/Users", server.base))
        .bearer_auth(&token)
        .header("Content-Type", "application/scim+json")
        .body(user("still-writing").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), StatusCode::CREATED, "and still takes writes");
    drop(server);

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let r = run(&["restore", "--db", db_s, "--from", garbage.to_str().unwrap(), "--force"]);
    assert_eq!(r.status.code(), Some(65), "{}", text(&r));
    assert!(text(&r).contains("not a readable SQLite database"), "{}", text(&r));
    // A backup from a newer scimbox (a migration this binary does not know) is refused.
    let newer = dir.path().join("newer.db");
    std::fs::copy(&snap, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .and_then(|c| {
            c.execute(
                "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) VALUES (99, 'future', '', '0')",
                [],
            )
        })
        .expect("a future migration");
    let r = run(&["restore", "--db", db_s, "--from", newer.to_str().unwrap(), "--force"]);
    assert!(!r.status.success());
    assert!(text(&r).contains("newer scimbox (schema version 99"), "{}", text(&r));
    let r = run(&["restore", "--db", db_s, "--from", dir.path().join("nope.db").to_str().unwrap(), "--force"]);
    assert_eq!(r.status.code(), Some(66), "{}", text(&r));
    let list = run(&["token", "list", "--db", db_s]);
    assert!(text(&list).contains("second"), "refusals changed nothing: {}", text(&list));

    let r = run(&["restore", "--db", db_s, "--from", snap_s, "--force"]);
    assert!(r.status.success(), "{}", text(&r));
    let list = run(&["token", "list", "--db", db_s]);
    assert!(text(&list).contains("first") && !text(&list).contains("second"), "{}", text(&list));
    assert_eq!(inspect(&db).0, "ok");

    let r = run(&["backup", "--db", db_s, "--out", dir.path().join(".").join("a.db").to_str().unwrap()]);
    assert_eq!(r.status.code(), Some(65), "{}", text(&r));
    assert!(text(&r).contains("is the database itself"), "{}", text(&r));
    let r = run(&["restore", "--db", db_s, "--from", db_s, "--force"]);
    assert!(text(&r).contains("is the database itself"), "{}", text(&r));
    assert_eq!(inspect(&db).0, "ok");

    let r = run(&["backup", "--db", dir.path().join("missing.db").to_str().unwrap(), "--out", snap_s]);
    assert_eq!(r.status.code(), Some(66), "{}", text(&r));
    assert!(!dir.path().join("missing.db").exists(), "backup never creates the database it copies");
}

/// `serve --backup-dir D --backup-every 1s --backup-keep 2`: backups appear, each one whole
/// and checked, and only the newest two are kept.
#[tokio::test]
async fn scheduled_backups_appear_and_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    std::fs::write(backups.join("notes.txt"), "not ours").unwrap();
    create_token(&db, "sched", None);
    let args = ["--backup-dir", backups.to_str().unwrap(), "--backup-every", "1s", "--backup-keep", "2"];
    let server = Serving::start(&db, &dir.path().join("server.log"), &args, true).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.log_text().matches("scheduled backup written").count() < 4 {
        assert!(Instant::now() < deadline, "too few scheduled backups; log:\n{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A new backup is renamed into place a moment before the oldest goes: look until the
    // folder is between two runs.
    let list = || {
        let mut names: Vec<String> = std::fs::read_dir(&backups)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n != "notes.txt" && !n.starts_with('.'))
            .collect();
        names.sort();
        names
    };
    let mut names = list();
    for _ in 0..50 {
        if names.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        names = list();
    }
    assert_eq!(names.len(), 2, "pruned to --backup-keep 2: {names:?}");
    assert!(backups.join("notes.txt").exists(), "other files are left alone");
    for n in &names {
        assert!(n.starts_with("scimbox-") && n.ends_with("Z.db"), "timestamped: {n}");
        assert_eq!(inspect(&backups.join(n)).0, "ok");
    }
    let scraped = reqwest::get(format!("http://{}/metrics", server.metrics.as_deref().unwrap())).await.unwrap();
    let scraped = scraped.text().await.unwrap();
    let last = scraped
        .lines()
        .find_map(|l| l.strip_prefix("scimbox_backup_last_success_timestamp_seconds "))
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or_default();
    let now = scimbox::clock::now().unix_timestamp();
    assert!((now - 30..=now + 1).contains(&last), "the last backup's time is a metric: {last} (now {now})");
    assert!(scraped.contains("scimbox_backup_failures_total 0"), "{scraped}");
    drop(server);
    let r = run(&["serve", "--db", db.to_str().unwrap(), "--backup-dir", backups.to_str().unwrap()]);
    assert!(!r.status.success() && text(&r).contains("--backup-every"), "{}", text(&r));
    let not_a_dir = backups.join("notes.txt");
    let r = run(&[
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--backup-every",
        "1h",
        "--backup-dir",
        not_a_dir.to_str().unwrap(),
    ]);
    assert!(!r.status.success(), "a backup folder that cannot be written stops the start: {}", text(&r));
    assert!(text(&r).contains("--backup-dir"), "{}", text(&r));
}
