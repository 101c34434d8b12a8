//! A user's representation kept as text (`users.body`, `migrations/V14__stored_body.sql`), so
//! that a default read copies bytes instead of decoding, rendering and serialising a JSON tree
//! (issue 17).
//!
//! The body is the part of a User's representation that follows only from the stored row:
//! `schemas`, `id` and the document's attributes, in that order, as one compact JSON object.
//! What a read adds (the `groups` it belongs to, RFC 7643 §4.1.2, and `meta`, §3.1, whose
//! `location` depends on the request's base URL) is spliced in before its closing brace by
//! `service::stored`. [`user_object`] is also what the tree path (`service::users::to_resource`)
//! starts from, so both paths build the same attributes in the same order.
//!
//! A user whose payloads name accounts gets no body: its effective `access` follows the account
//! registry, which changes without the user being written, so it is computed on every read as
//! before, from the document.

use std::sync::LazyLock;

use super::sql::{Connection, params};
use scimbox_validator::accounts::mentions_accounts;
use scimbox_validator::schema::{USER_RESOURCE, USER_URN};
use serde_json::{Map, Value};

use super::StoreError;
use super::rows::{self, Fetched, Kind};

/// `schemas`, `id` and the document's attributes of user `id` (without `groups`, `meta` or
/// effective access): `schemas` lists the core schema and each extension the document holds.
pub fn user_object(id: &str, doc: &Map<String, Value>) -> Map<String, Value> {
    let mut m = Map::with_capacity(doc.len() + 3);
    let mut schemas = vec![Value::from(USER_URN)];
    for ext in USER_RESOURCE.extensions {
        if doc.contains_key(ext.schema.id) {
            schemas.push(ext.schema.id.into());
        }
    }
    m.insert("schemas".into(), Value::Array(schemas));
    m.insert("id".into(), id.into());
    for (k, v) in doc {
        m.insert(k.clone(), v.clone());
    }
    m
}

/// The stored body of user `id` with document `doc` ([`user_object`] as compact JSON), or
/// `None` when its effective access must be computed at read time (its payloads name accounts).
///
/// `doc_json` is `doc` as compact JSON (what the write stores in `doc`): a compact object's
/// members are written one after the other, so the body is `schemas` and `id` followed by that
/// text's members, the same bytes as serialising [`user_object`], without copying the tree.
pub fn user_body(id: &str, doc: &Map<String, Value>, doc_json: &str) -> Result<Option<String>, StoreError> {
    if mentions_accounts(doc) {
        return Ok(None);
    }
    let members = doc_json
        .strip_prefix('{')
        .and_then(|d| d.strip_suffix('}'))
        .ok_or_else(|| StoreError::Internal("a user's document is not a JSON object".into()))?;
    let schemas: Vec<&str> = std::iter::once(USER_URN)
        .chain(USER_RESOURCE.extensions.iter().map(|e| e.schema.id).filter(|s| doc.contains_key(*s)))
        .collect();
    let mut out = String::with_capacity(doc_json.len() + id.len() + 128);
    out.push_str("{\"schemas\":");
    out.push_str(&serde_json::to_string(&schemas)?);
    out.push_str(",\"id\":");
    out.push_str(&serde_json::to_string(id)?);
    if !members.is_empty() {
        out.push(',');
        out.push_str(members);
    }
    out.push('}');
    Ok(Some(out))
}

/// The users a default read of `userName eq name` lists: those whose uniqueness key is
/// `name`'s (at most one), oldest first, read as the stored text where there is some, in one
/// statement (issue 17: no second read by `seq`, no document decoded to be dropped).
pub fn users_named(conn: &Connection, name: &str) -> Result<Vec<Fetched>, StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows::select_as::<Fetched>(Kind::User, "WHERE user_name_key = ?1 ORDER BY seq"));
    rows::query_sql(conn, &SQL, [super::users::user_name_key(name)])
}

/// [`users_named`] for `id eq`.
pub fn users_with_id(conn: &Connection, id: &str) -> Result<Vec<Fetched>, StoreError> {
    static SQL: LazyLock<String> =
        LazyLock::new(|| rows::select_as::<Fetched>(Kind::User, "WHERE id = ?1 ORDER BY seq"));
    rows::query_sql(conn, &SQL, [id])
}

/// Which spelling of `users.body` this build writes (in `key_versions`, as `users.body`).
/// Raise it when [`user_body`] changes: [`fill`] then writes every body again at start.
pub const USER_BODY_VERSION: i64 = 1;

/// Writes the body of every user that has none and can have one, in one transaction: once at
/// start for a database from before V14 (or whose bodies an older [`USER_BODY_VERSION`] wrote),
/// recorded in `key_versions`. Returns how many it wrote. Rows it leaves NULL are read from their
/// documents, so a database never depends on this having run.
pub fn fill(conn: &mut Connection) -> Result<usize, StoreError> {
    const NAME: &str = "users.body";
    let tx = conn.transaction()?;
    let version = super::users::key_version(&tx, NAME)?;
    if version.is_some_and(|v| v >= USER_BODY_VERSION) {
        return Ok(0);
    }
    let rewrite = version.is_some(); // an older spelling: every body, not only the missing ones
    let mut written = 0;
    {
        let sql = if rewrite {
            "SELECT seq, id, doc FROM users"
        } else {
            "SELECT seq, id, doc FROM users WHERE body IS NULL"
        };
        let mut read = tx.prepare(sql)?;
        let mut set = tx.prepare("UPDATE users SET body = ?2 WHERE seq = ?1")?;
        let mut rows = read.query([])?;
        while let Some(r) = rows.next()? {
            let (seq, id, doc): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            // Written again from the tree: a row's stored text may not be this build's spelling.
            let doc: Map<String, Value> = serde_json::from_str(&doc)?;
            let body = user_body(&id, &doc, &serde_json::to_string(&doc)?)?;
            if body.is_some() || rewrite {
                set.execute(params![seq, body])?;
                written += 1;
            }
        }
    }
    super::users::set_key_version(&tx, NAME, USER_BODY_VERSION)?;
    tx.commit()?;
    if written > 0 {
        tracing::info!(written, "stored the text of users written before V14");
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        crate::db::scratch()
    }

    fn doc(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    fn body(id: &str, d: &Map<String, Value>) -> Option<String> {
        user_body(id, d, &serde_json::to_string(d).unwrap()).unwrap()
    }

    /// A user with account payloads has no body: its access is computed at read time.
    #[test]
    fn users_whose_payloads_name_accounts_have_no_body() {
        assert!(body("1", &doc(json!({"userName": "a", "accounts": ["x"]}))).is_none());
        let ext = scimbox_validator::schema::SCIMBOX_USER_URN;
        assert!(body("1", &doc(json!({"userName": "a", ext: {"accounts": "x"}}))).is_none());
        let body = body("1", &doc(json!({"userName": "a", "active": true})));
        assert_eq!(
            body.as_deref(),
            Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"1","userName":"a","active":true}"#)
        );
    }

    /// The body spliced from the document's text is the serialised [`user_object`], byte for
    /// byte: extensions in `schemas`, escapes, numbers, nesting, an empty document.
    #[test]
    fn the_body_is_the_serialised_user_object() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        for d in [
            json!({}),
            json!({"userName": "Zo\u{eb} \"q\" \\ </x>\t\u{1F600}", "active": false, "n": 1.5, "m": -3}),
            json!({"userName": "a", ent: {"manager": {"value": "m"}}, "emails": [{"value": "a@x", "primary": true}]}),
        ] {
            let d = doc(d);
            let want = serde_json::to_string(&user_object("id \"1\"", &d)).unwrap();
            assert_eq!(body("id \"1\"", &d).as_deref(), Some(want.as_str()));
        }
    }

    /// A document changed behind the server's back (an older binary, a hand-made UPDATE) loses
    /// its body, so a stale body is never served; a database from before V14 gets its bodies
    /// once, at start.
    #[test]
    fn a_doc_written_without_its_body_drops_the_body_and_fill_restores_it() {
        let (_d, mut c) = db();
        c.execute(
            "INSERT INTO users (id, user_name, user_name_key, version, created, last_modified, doc, body)
             VALUES ('u1', 'a', 'a', 1, 't', 't', '{\"userName\":\"a\"}', 'old')",
            [],
        )
        .unwrap();
        c.execute("UPDATE users SET doc = '{\"userName\":\"b\"}' WHERE id = 'u1'", []).unwrap();
        let body: Option<String> = c.query_row("SELECT body FROM users", [], |r| r.get(0)).unwrap();
        assert_eq!(body, None);
        c.execute("UPDATE users SET doc = '{\"userName\":\"c\"}', body = 'new' WHERE id = 'u1'", []).unwrap();
        let body: Option<String> = c.query_row("SELECT body FROM users", [], |r| r.get(0)).unwrap();
        assert_eq!(body.as_deref(), Some("new"), "a write of both keeps its body");
        c.execute("UPDATE users SET body = NULL", []).unwrap();
        c.execute("DELETE FROM key_versions WHERE name = 'users.body'", []).unwrap();
        assert_eq!(fill(&mut c).unwrap(), 1);
        let body: Option<String> = c.query_row("SELECT body FROM users", [], |r| r.get(0)).unwrap();
        assert_eq!(
            body.as_deref(),
            Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"u1","userName":"c"}"#)
        );
        assert_eq!(fill(&mut c).unwrap(), 0, "once");
    }
}
