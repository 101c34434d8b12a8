//! The floors under issue 17's read targets, measured by `compare` beside the bare axum handler
//! ([`crate::limit`]) in the same run:
//!
//! - **axum + one SQLite read**: the bare axum server whose `GET /scim/v2/Users/{id}` reads one
//!   user's stored text by its key from a SQLite file ([`user_table`]) and answers it as it is.
//!   The read is done as scimbox does a point read (`Db::read_now`): on the async worker when
//!   one of [`READERS`] WAL read connections is free, else on the blocking pool. No token, no
//!   journal, no splicing of `meta`: what any GET that reads a row must at least cost.
//! - **a bare page**: the bare axum server answering `GET /scim/v2/Users` with one fixed
//!   ListResponse of [`PAGE`] users of scimbox's shape ([`page`], built once at start, about
//!   60 KB), whatever the query: what a page of 100 costs the import's client and the HTTP stack
//!   with no server work at all.
//!
//! The user texts are scimbox's own: the body `compare` POSTs, normalised by the validator and
//! laid out by `scimbox::db::stored` as scimbox stores it; a listed user has `meta` spliced in as
//! scimbox's read does (a unit test checks it byte for byte against scimbox's answer).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use scimbox_validator::resource::normalize;
use scimbox_validator::schema::{LIST_RESPONSE_URN, USER_RESOURCE};
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::workloads::compare::scim;

/// Users on the bare page (Okta's import asks for 100 at a time).
pub const PAGE: u64 = 100;
/// Read connections, as scimbox keeps (`scimbox::db::READERS`).
pub const READERS: usize = scimbox::db::READERS;
/// The SCIM base path both floors answer under, as scimbox does.
pub const BASE_PATH: &str = "/scim/v2";

/// User `n`'s stored text with id `id`: the body `compare` POSTs for user `n`, normalised as
/// scimbox's create normalises it, laid out as scimbox stores it (`users.body`).
pub fn stored_user(n: u64, id: &str) -> anyhow::Result<String> {
    let name = scim::user_name(n);
    let body: Value = serde_json::from_str(&scim::user_body(&name, &format!("ext-{n}"), &scim::display_name(n)))
        .context("the bench's user body is not JSON")?;
    let mut doc = normalize(&USER_RESOURCE, &body).context("the bench's user body is invalid")?;
    doc.entry("active").or_insert(Value::Bool(true));
    let doc_json = serde_json::to_string(&doc).context("cannot serialise a user")?;
    scimbox::db::stored::user_body(id, &doc, &doc_json)
        .context("cannot lay out a stored user")?
        .context("a bench user names accounts, so scimbox stores no text for it")
}

/// User `n` as a read shows it: its stored text with `meta` spliced in before the closing
/// brace (version 1, created and last modified at `stamp`, `location` under `base`), as
/// `scimbox::service::stored` does for a user in no group.
pub fn listed_user(n: u64, id: &str, stamp: &str, base: &str) -> anyhow::Result<String> {
    let stored = stored_user(n, id)?;
    let open = stored.strip_suffix('}').context("a stored user is not a JSON object")?;
    let location = Value::String(format!("{base}/Users/{id}"));
    Ok(format!(
        r#"{open},"meta":{{"resourceType":"User","created":{stamp},"lastModified":{stamp},"location":{location},"version":"W/\"1\""}}}}"#,
        stamp = Value::String(stamp.to_owned()),
    ))
}

/// A ListResponse of users `0..count` (new ids, created now) under `base`, with `totalResults`
/// `total` and `startIndex` 1, laid out as scimbox lays out a list page.
pub fn page(total: u64, count: u64, base: &str) -> anyhow::Result<String> {
    let stamp = scimbox::clock::now_stamp();
    let mut out = format!(
        r#"{{"schemas":["{LIST_RESPONSE_URN}"],"itemsPerPage":{count},"totalResults":{total},"startIndex":1,"Resources":["#
    );
    for n in 0..count {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&listed_user(n, &uuid::Uuid::new_v4().to_string(), &stamp, base)?);
    }
    out.push_str("]}");
    Ok(out)
}

/// Creates the SQLite file `path` holding `users` users' stored texts keyed by new ids (WAL
/// mode, as scimbox's file is) and returns the ids, user `n`'s at `n`.
pub fn user_table(path: &Path, users: u64) -> anyhow::Result<Vec<String>> {
    let mut conn = Connection::open(path).with_context(|| format!("cannot create {}", path.display()))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE users (id TEXT PRIMARY KEY, body TEXT NOT NULL) STRICT;",
    )?;
    let mut ids = Vec::with_capacity(usize::try_from(users).unwrap_or(0));
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare("INSERT INTO users (id, body) VALUES (?1, ?2)")?;
        for n in 0..users {
            let id = uuid::Uuid::new_v4().to_string();
            insert.execute([&id, &stored_user(n, &id)?])?;
            ids.push(id);
        }
    }
    tx.commit()?;
    // Leave the rows in the database file, not its log, as scimbox's checkpoints do.
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(ids)
}

/// The read connections of the axum + SQLite floor, handed out as scimbox's reader pool does.
pub struct Readers {
    conns: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    /// [`READERS`] connections to `path`, opened as scimbox opens its readers (read-write
    /// flags, then `query_only`; a busy timeout; a statement cache).
    pub fn open(path: &Path) -> anyhow::Result<Arc<Self>> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let mut conns = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let conn =
                Connection::open_with_flags(path, flags).with_context(|| format!("cannot open {}", path.display()))?;
            conn.busy_timeout(Duration::from_secs(5))?;
            conn.set_prepared_statement_cache_capacity(64);
            conn.execute_batch("PRAGMA query_only = ON;")?;
            conns.push(conn);
        }
        Ok(Arc::new(Self { conns: Mutex::new(conns), permits: Arc::new(Semaphore::new(READERS)) }))
    }

    /// User `id`'s stored text: read here when a connection is free (the read is one row by
    /// its key), else on the blocking pool once one is.
    async fn user(self: Arc<Self>, id: String) -> anyhow::Result<Option<String>> {
        if let Ok(permit) = self.permits.try_acquire() {
            let found = self.read(&id);
            drop(permit);
            return found;
        }
        let permit = Arc::clone(&self.permits).acquire_owned().await.context("the reader pool is closed")?;
        tokio::task::spawn_blocking(move || {
            let found = self.read(&id);
            drop(permit);
            found
        })
        .await
        .context("the read task failed")?
    }

    /// The read itself, on a connection taken from the pool (the caller holds a permit).
    fn read(&self, id: &str) -> anyhow::Result<Option<String>> {
        let conn = self.lock()?.pop().context("no free read connection")?;
        let found = conn
            .prepare_cached("SELECT body FROM users WHERE id = ?1")
            .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional());
        self.lock()?.push(conn);
        Ok(found?)
    }

    fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Vec<Connection>>> {
        self.conns.lock().map_err(|_| anyhow::anyhow!("a read panicked"))
    }
}

/// `GET /scim/v2/Users/{id}` of the axum + SQLite floor: the stored text, or a SCIM 404. The id
/// is the path's last segment as sent (the bench's ids need no decoding).
pub async fn get_user(State(readers): State<Arc<Readers>>, uri: Uri) -> Response {
    let id = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    match readers.user(id.clone()).await {
        Ok(Some(body)) => scim_json(StatusCode::OK, body),
        Ok(None) => scim_error(StatusCode::NOT_FOUND, &format!("User {id} not found")),
        Err(e) => scim_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e:#}")),
    }
}

/// `GET /scim/v2/Users` of the bare page: the fixed ListResponse, whatever the query.
pub async fn get_page(State(page): State<Bytes>) -> Response {
    scim_json(StatusCode::OK, page)
}

fn scim_json(status: StatusCode, body: impl Into<axum::body::Body>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/scim+json")], body.into()).into_response()
}

fn scim_error(status: StatusCode, detail: &str) -> Response {
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    scim_json(status, body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scimbox::db::Db;
    use scimbox::service::{stored, users};

    /// A listed user of the floors is scimbox's answer to a GET of the same user, byte for
    /// byte, so the floors move as many bytes as scimbox does.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_floor_user_is_scimbox_s_answer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("scimbox.db")).unwrap();
        let base = "http://127.0.0.1:8080/scim/v2".to_owned();
        let n = 4_321;
        let body: Value =
            serde_json::from_str(&scim::user_body(&scim::user_name(n), &format!("ext-{n}"), &scim::display_name(n)))
                .unwrap();
        let created =
            users::create(&db, &body, &[], base.clone(), users::WithAccess::default()).await.unwrap().tree().unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let stamp = created["meta"]["created"].as_str().unwrap().to_owned();
        let answer = stored::user(&db, &id, base.clone()).await.unwrap().body;
        assert_eq!(listed_user(n, &id, &stamp, &base).unwrap().into_bytes(), answer);
    }

    /// The bare page: `PAGE` users, about 60 KB, a ListResponse as the import's checks want it.
    #[test]
    fn the_bare_page_is_a_full_page_of_about_60_kb() {
        let text = page(20_000, PAGE, "http://127.0.0.1:40000/scim/v2").unwrap();
        assert!((50_000..70_000).contains(&text.len()), "the page is {} bytes", text.len());
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["totalResults"], 20_000);
        assert_eq!(json["itemsPerPage"], PAGE);
        let resources = json["Resources"].as_array().unwrap();
        assert_eq!(resources.len() as u64, PAGE);
        let ids: std::collections::HashSet<&str> = resources.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len() as u64, PAGE);
    }

    /// The table holds every user's stored text under its id, and the readers find it.
    #[tokio::test(flavor = "multi_thread")]
    async fn the_readers_find_each_stored_user() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("floor.sqlite");
        let ids = user_table(&path, 50).unwrap();
        assert_eq!(ids.len(), 50);
        let readers = Readers::open(&path).unwrap();
        let found = Arc::clone(&readers).user(ids[7].clone()).await.unwrap();
        assert_eq!(found.unwrap(), stored_user(7, &ids[7]).unwrap());
        assert_eq!(readers.user("no-such-id".into()).await.unwrap(), None);
    }
}
