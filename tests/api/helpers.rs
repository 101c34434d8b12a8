//! A real scimbox on `127.0.0.1:0` with a fresh SQLite file, and a small SCIM client for it.
//!
//! With `SCIMBOX_TEST_PG=postgres://...` (a role that may create databases, such as the one
//! `scripts/pg.sh start` prints), every server gets a fresh PostgreSQL database created from that
//! URL instead of the file (issue 18): `scripts/test.sh` runs the PostgreSQL-ready modules so.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use scimbox::db::{Db, tokens};
use scimbox::{AppState, Config, auth};
use serde_json::Value;
use tokio::sync::oneshot;

/// One running server, shut down when dropped.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub origin: String,
    /// `http://127.0.0.1:PORT/scim/v2`.
    pub base: String,
    /// A live token.
    pub token: String,
    /// The database file.
    pub db_path: PathBuf,
    /// The database handle the server uses.
    pub db: Db,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a SCIM error with this status (and scimType, if given); returns its detail.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{}", self.text);
        assert_eq!(self.body["status"], status.to_string(), "status is a string: {}", self.text);
        assert_eq!(self.header("content-type"), Some("application/scim+json"));
        if let Some(t) = scim_type {
            assert_eq!(self.body["scimType"], t, "{}", self.text);
        }
        let detail = self.body["detail"].as_str().unwrap_or_default().to_owned();
        assert!(!detail.is_empty(), "an error has a detail: {}", self.text);
        detail
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|c| c).await
    }

    pub async fn spawn_with(tune: impl FnOnce(Config) -> Config) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_path = fresh_db(dir.path()).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let config = tune(Config::new(db_path.clone(), addr));
        let base_path = config.base_path.clone();
        let db = Db::open(&db_path).expect("open db");
        let token = auth::generate();
        let h = auth::hash(&token);
        db.write(move |c| tokens::insert(c, "test", &h, &scimbox::stamp::timestamp(scimbox::clock::now()), None))
            .await
            .expect("token");
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(db.clone(), config);
        tokio::spawn(scimbox::serve(state, listener, async move {
            let _ = stopped.await;
        }));
        let origin = format!("http://{addr}");
        TestApp {
            base: format!("{origin}{base_path}"),
            origin,
            token,
            db_path,
            db,
            client: reqwest::Client::new(),
            _dir: dir,
            stop: Some(stop),
        }
    }

    /// A request with the token and the given headers; `path` is relative to the SCIM base
    /// unless it starts with `http`.
    pub async fn send(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Resp {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        let mut req = self.client.request(method, url).header("Authorization", format!("Bearer {}", self.token));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None, &[]).await
    }
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body), &[]).await
    }
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PUT, path, Some(body), &[]).await
    }
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body), &[]).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Creates a user and returns its representation (asserting 201).
    pub async fn create_user(&self, body: &Value) -> Value {
        let r = self.post("/Users", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    /// GET /Users with this filter (URL-encoded here); returns the ListResponse.
    pub async fn filter(&self, filter: &str) -> Resp {
        let q: String = form_encode(&[("filter", filter)]);
        self.get(&format!("/Users?{q}")).await
    }
}

/// Encodes query parameters.
/// Logs in at `/login` as an existing administrator: a client that does not follow redirects,
/// and the session cookie as a `Cookie` header value (`name=value`).
pub async fn login(app: &TestApp, name: &str, password: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let login = client
        .post(format!("{}/login", app.origin))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_encode(&[("name", name), ("password", password), ("next", "/")]))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status(), StatusCode::SEE_OTHER, "{name} logs in");
    let cookie = login.headers().get(reqwest::header::SET_COOKIE).and_then(|v| v.to_str().ok()).unwrap_or("");
    (client, cookie.split(';').next().unwrap_or("").to_owned())
}

pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A minimal user body.
pub fn user(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
    })
}

/// The ids of a ListResponse's resources.
pub fn ids(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .map(|a| a.iter().map(|r| r["id"].as_str().unwrap_or("").to_owned()).collect())
        .unwrap_or_default()
}

/// Where a test's store goes: `dir/scimbox.db`, or with `SCIMBOX_TEST_PG` set, the URL of a new,
/// empty PostgreSQL database of its own (left behind: the cluster is a throwaway one).
pub async fn fresh_db(dir: &std::path::Path) -> PathBuf {
    let Some(url) = std::env::var("SCIMBOX_TEST_PG").ok().filter(|u| !u.is_empty()) else {
        return dir.join("scimbox.db");
    };
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("SCIMBOX_TEST_PG: connect");
    let driver = tokio::spawn(conn);
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    client.batch_execute(&format!("CREATE DATABASE {name}")).await.expect("SCIMBOX_TEST_PG: create database");
    drop(client);
    let _ = driver.await;
    // The URL's path is its database: swap it for the new one, keeping any query.
    let (base, query) = url.split_once('?').map_or((url.as_str(), ""), |(b, q)| (b, q));
    let server = base.rsplit_once('/').map_or(base, |(s, _)| s);
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    PathBuf::from(format!("{server}/{name}{query}"))
}

/// The path of the `scimbox` binary built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scimbox")
}

/// Runs the `scimbox` binary with `args`, `stdin` written to it and `SCIMBOX_DB` unset (so only
/// an explicit `--db` chooses the database), and waits for it.
pub fn run_scimbox(args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("SCIMBOX_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run scimbox");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    child.wait_with_output().expect("wait")
}

/// Registers accounts `(id, parent)` in order, straight in storage, in one write (setting the
/// scene: no CLI, no events).
pub async fn register_accounts(app: &TestApp, list: &[(&str, Option<&str>)]) {
    let list: Vec<(String, Option<String>)> =
        list.iter().map(|(id, p)| ((*id).to_owned(), p.map(str::to_owned))).collect();
    let now = scimbox::stamp::timestamp(scimbox::clock::now());
    app.db
        .write(move |c| {
            for (id, parent) in &list {
                scimbox::db::accounts::add(c, id, &format!("Account {id}"), parent.as_deref(), &now)?;
            }
            Ok(())
        })
        .await
        .expect("register accounts");
}

/// Whether this run's stores are PostgreSQL databases (`SCIMBOX_TEST_PG` set; see [`fresh_db`]).
pub fn on_postgres() -> bool {
    std::env::var("SCIMBOX_TEST_PG").is_ok_and(|u| !u.is_empty())
}

/// Statements run as the role of `SCIMBOX_TEST_PG` on its own database (not the test's), such as
/// the `ALTER DATABASE` that a test's own database cannot run on itself while the server uses it.
pub async fn pg_admin(statements: &str) {
    let url = std::env::var("SCIMBOX_TEST_PG").expect("SCIMBOX_TEST_PG");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("SCIMBOX_TEST_PG: connect");
    let driver = tokio::spawn(conn);
    client.batch_execute(statements).await.unwrap_or_else(|e| panic!("{statements}: {e}"));
    drop(client);
    let _ = driver.await;
}

/// The name of a test's PostgreSQL database (the last segment of its URL's path).
pub fn pg_database(db: &std::path::Path) -> String {
    let url = db.to_str().expect("utf-8 URL");
    let path = url.split_once('?').map_or(url, |(p, _)| p);
    path.rsplit_once('/').map_or(path, |(_, name)| name).to_owned()
}

/// Makes every write of a running server fail from now on, while its reads go on, as a disk
/// taken away does: on SQLite the database file and its WAL are removed (the open readers keep
/// the removed file; the writer notices the new inode and refuses); on PostgreSQL the database
/// is made read-only (`default_transaction_read_only`, what a standby after a failover is too)
/// and the server's connections are ended, so the ones it opens next are read-only.
pub async fn refuse_writes(app: &TestApp) {
    if !on_postgres() {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", app.db_path.display()));
        }
        return;
    }
    let name = pg_database(&app.db_path);
    pg_admin(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .await;
}

/// Column 0 of every row `sql` returns, read from the test's store through the server's own SQL
/// facade (`scimbox::db::sql`: SQLite's text with `?N` parameters, run on either engine), so that
/// a test looking at rows runs on SQLite and on PostgreSQL alike.
pub async fn column<T>(app: &TestApp, sql: &str, args: &[&str]) -> Vec<T>
where
    T: scimbox::db::sql::FromSql + Send + 'static,
{
    let (text, args) = (sql.to_owned(), args.iter().map(|a| (*a).to_owned()).collect::<Vec<String>>());
    app.db
        .read(move |c| {
            let mut s = c.prepare(&text)?;
            let rows = s.query_map(scimbox::db::sql::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok(rows.collect::<Result<Vec<T>, _>>()?)
        })
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The one number `sql` returns (a `count(*)`), read as [`column`] reads.
pub async fn count(app: &TestApp, sql: &str, args: &[&str]) -> i64 {
    let all = column::<i64>(app, sql, args).await;
    assert_eq!(all.len(), 1, "{sql}: one row");
    all[0]
}
