//! `scimbox export` and `scimbox import`: the directory's data as NDJSON, to move it to another
//! machine or keep it in a form people and scripts can read.
//!
//! One JSON object per line, each with a `type`:
//!
//! | `type` | fields |
//! |---|---|
//! | `header` (first line) | `format` = `"scimbox-export"`, `formatVersion` (1), `scimboxVersion`, `schemaVersion`, `exportedAt` |
//! | `account` | `id`, `name`, `parent` (an account on an earlier line, or null), `created` |
//! | `role` | `name`, `created` |
//! | `user`, `group` | `resource`: the SCIM document (RFC 7643 §4.1, §4.2) with `id` and `meta` (`version`, `created`, `lastModified`; no `location`, which belongs to a server's URL), a group without `members` |
//! | `member` | `group`, `value` (the member's id), `memberType` (`User` or `Group`), `display` (as the client sent it, or null) |
//! | `end` (last line) | the count of each type above, so a cut-off file is refused |
//!
//! Never token secrets or hashes, administrators, password hashes, sessions, the journal or the
//! change history. Import loads a file into a database without users, groups, accounts or roles
//! in one transaction, keeping every `id`, `meta.version` and timestamp, so every resource reads
//! back the same through the API (ETags included); any fault in the file is refused with its line
//! number and nothing is imported.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};

use scimbox_validator::ValidationError;
use scimbox_validator::resource::normalize;
use scimbox_validator::schema::{GROUP_RESOURCE, GROUP_URN, ResourceType, USER_RESOURCE};
use serde_json::{Map, Value, json};

use super::{Result, etag};
use crate::clock;
use crate::db::accounts::{Account, Role};
use crate::db::groups::MemberType;
use crate::db::rows::ResourceRow;
use crate::db::transfer::{self as store, Item, Membership, Resource};
use crate::db::{Db, StoreError};

/// The `format` of the header line.
pub const FORMAT: &str = "scimbox-export";
/// The version of the line layout this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;

/// How many of each kind an export wrote or an import loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Accounts.
    pub accounts: u64,
    /// Roles.
    pub roles: u64,
    /// Users.
    pub users: u64,
    /// Groups.
    pub groups: u64,
    /// Memberships.
    pub members: u64,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Counts { accounts, roles, users, groups, members } = self;
        write!(f, "{users} users, {groups} groups, {members} memberships, {accounts} accounts, {roles} roles")
    }
}

/// The SCIM document of a stored resource, without `meta.location`.
fn document(kind: &str, row: &ResourceRow) -> Value {
    let mut out = match kind {
        "User" => super::users::to_resource(row, ""),
        _ => {
            let mut m = Map::new();
            m.insert("schemas".into(), json!([GROUP_URN]));
            m.insert("id".into(), row.id.clone().into());
            m.extend(row.doc.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Object(m)
        }
    };
    out["meta"] = json!({
        "resourceType": kind,
        "created": row.created,
        "lastModified": row.last_modified,
        "version": etag(row.version),
    });
    out
}

fn line_of(item: Item, counts: &mut Counts) -> Value {
    match item {
        Item::Account(a) => {
            counts.accounts += 1;
            json!({"type": "account", "id": a.id, "name": a.name, "parent": a.parent_id, "created": a.created})
        }
        Item::Role(r) => {
            counts.roles += 1;
            json!({"type": "role", "name": r.name, "created": r.created})
        }
        Item::User(row) => {
            counts.users += 1;
            json!({"type": "user", "resource": document("User", &row)})
        }
        Item::Group(row) => {
            counts.groups += 1;
            json!({"type": "group", "resource": document("Group", &row)})
        }
        Item::Member(m) => {
            counts.members += 1;
            json!({"type": "member", "group": m.group, "value": m.member, "memberType": m.kind.as_str(),
                   "display": m.display})
        }
    }
}

/// Writes the whole directory to `out` as NDJSON (see the module documentation), from one read
/// transaction; returns what it wrote.
pub async fn export<W: Write + Send + 'static>(db: &Db, mut out: W) -> Result<Counts> {
    let header = json!({
        "type": "header",
        "format": FORMAT,
        "formatVersion": FORMAT_VERSION,
        "scimboxVersion": env!("CARGO_PKG_VERSION"),
        "schemaVersion": crate::db::backup::latest_schema_version(),
        "exportedAt": clock::now_stamp(),
    });
    let write = |out: &mut W, v: &Value| {
        serde_json::to_writer(&mut *out, v)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| StoreError::Unavailable(format!("writing the export: {e}")))
    };
    let counts = db
        .read(move |c| {
            let mut counts = Counts::default();
            write(&mut out, &header)?;
            store::export(c, |item| write(&mut out, &line_of(item, &mut counts)))?;
            let mut end = serde_json::to_value(counts)?;
            end["type"] = "end".into();
            write(&mut out, &end)?;
            out.flush().map_err(|e| StoreError::Unavailable(format!("writing the export: {e}")))?;
            Ok(counts)
        })
        .await?;
    Ok(counts)
}

/// One line of an import, checked, ready to insert.
enum Record {
    Account(Account),
    Role(Role),
    User(Loaded),
    Group(Loaded),
    Member(Membership),
}

/// A user or group as it will be stored.
struct Loaded {
    id: String,
    version: i64,
    created: String,
    last_modified: String,
    doc: Map<String, Value>,
}

impl Loaded {
    fn row(&self) -> Resource<'_> {
        let Loaded { id, version, created, last_modified, doc } = self;
        Resource { id, version: *version, created, last_modified, doc }
    }
}

/// Refuses line `n` of the input.
fn at(n: usize, why: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(ValidationError::value(format!("line {n}: {why}; nothing was imported")))
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> std::result::Result<&'a str, String> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        _ => Err(format!("\"{key}\" must be a non-empty string")),
    }
}

/// A timestamp in the one stored form (`2026-11-30T10:00:00.000Z`), which sorts as text.
fn stamp(obj: &Map<String, Value>, key: &str) -> std::result::Result<String, String> {
    let s = text(obj, key)?;
    let parsed = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339);
    match parsed.map(crate::stamp::timestamp) {
        Ok(t) if t == s => Ok(t),
        _ => Err(format!("\"{key}\" must be a UTC time such as 2026-11-30T10:00:00.000Z, not \"{s}\"")),
    }
}

/// The checks one file needs across its lines: every id once, references to earlier lines.
#[derive(Default)]
struct Seen {
    accounts: HashSet<String>,
    roles: HashSet<String>,
    resources: HashMap<String, (MemberType, usize)>,
    members: HashSet<(String, String)>,
    counts: Counts,
}

fn resource(rt: &ResourceType, obj: &Map<String, Value>) -> std::result::Result<Loaded, String> {
    let Some(Value::Object(res)) = obj.get("resource") else {
        return Err("\"resource\" must be the SCIM document, an object".into());
    };
    let id = text(res, "id")?.to_owned();
    let Some(Value::Object(meta)) = res.get("meta") else { return Err("\"resource.meta\" must be an object".into()) };
    let version = text(meta, "version")?;
    let version = version
        .strip_prefix("W/\"")
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|v| *v >= 1)
        .ok_or_else(|| format!("\"meta.version\" must be W/\"N\" with N at least 1, not {version}"))?;
    let (created, last_modified) = (stamp(meta, "created")?, stamp(meta, "lastModified")?);
    if res.contains_key("members") {
        return Err("a group's members go on \"member\" lines, not in its document".into());
    }
    let mut body = res.clone();
    for derived in ["id", "meta", "groups"] {
        body.shift_remove(derived);
    }
    let doc = normalize(rt, &Value::Object(body.clone())).map_err(|e| e.detail)?;
    body.shift_remove("schemas");
    // An exported document is already normalised: kept as written, attribute order included,
    // it reads back byte for byte. One edited by hand is stored as normalised.
    let doc = if doc == body { body } else { doc };
    Ok(Loaded { id, version, created, last_modified, doc })
}

impl Seen {
    /// Checks line `n` (a JSON object) and turns it into a record; `None` for the end line.
    fn line(&mut self, n: usize, obj: &Map<String, Value>) -> std::result::Result<Option<Record>, String> {
        let kind = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        let record = match kind {
            "account" => {
                let id = text(obj, "id")?.to_owned();
                let parent = match obj.get("parent") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(p)) if self.accounts.contains(p) => Some(p.clone()),
                    Some(p) => return Err(format!("parent {p} is not an account on an earlier line")),
                };
                if !self.accounts.insert(id.clone()) {
                    return Err(format!("account \"{id}\" appears twice"));
                }
                self.counts.accounts += 1;
                let (name, created) = (text(obj, "name")?.to_owned(), stamp(obj, "created")?);
                Record::Account(Account { id, name, parent_id: parent, created })
            }
            "role" => {
                let name = text(obj, "name")?.to_owned();
                if !self.roles.insert(name.to_lowercase()) {
                    return Err(format!("role \"{name}\" appears twice (role names ignore case)"));
                }
                self.counts.roles += 1;
                Record::Role(Role { name, created: stamp(obj, "created")? })
            }
            "user" | "group" => {
                let (rt, t) = if kind == "user" {
                    (&USER_RESOURCE, MemberType::User)
                } else {
                    (&GROUP_RESOURCE, MemberType::Group)
                };
                let loaded = resource(rt, obj)?;
                if let Some((_, first)) = self.resources.insert(loaded.id.clone(), (t, n)) {
                    return Err(format!("id \"{}\" appears twice (first on line {first})", loaded.id));
                }
                if t == MemberType::User {
                    self.counts.users += 1;
                    Record::User(loaded)
                } else {
                    self.counts.groups += 1;
                    Record::Group(loaded)
                }
            }
            "member" => Record::Member(self.member(obj)?),
            "end" => {
                let said: Counts = serde_json::from_value(Value::Object(obj.clone()))
                    .map_err(|e| format!("the end line's counts do not read: {e}"))?;
                if said != self.counts {
                    return Err(format!("the end line counts {said}, the file holds {}", self.counts));
                }
                return Ok(None);
            }
            "header" => return Err("a second header".into()),
            "" => return Err("no \"type\"".into()),
            other => return Err(format!("unknown type \"{other}\"")),
        };
        Ok(Some(record))
    }

    fn member(&mut self, obj: &Map<String, Value>) -> std::result::Result<Membership, String> {
        let (group, member) = (text(obj, "group")?.to_owned(), text(obj, "value")?.to_owned());
        match self.resources.get(&group) {
            Some((MemberType::Group, _)) => {}
            _ => return Err(format!("group \"{group}\" is not a group on an earlier line")),
        }
        let kind = match self.resources.get(&member) {
            Some((kind, _)) => *kind,
            None => return Err(format!("member \"{member}\" is not a user or group on an earlier line")),
        };
        if obj.get("memberType").and_then(Value::as_str) != Some(kind.as_str()) {
            return Err(format!("\"memberType\" must be \"{}\", the type of \"{member}\"", kind.as_str()));
        }
        if group == member {
            return Err("a group cannot be its own member".into());
        }
        if !self.members.insert((group.clone(), member.clone())) {
            return Err(format!("\"{member}\" is a member of \"{group}\" twice"));
        }
        let display = match obj.get("display") {
            None | Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => return Err("\"display\" must be a string or null".into()),
        };
        self.counts.members += 1;
        Ok(Membership { group, member, kind, display })
    }
}

fn check_header(obj: &Map<String, Value>) -> std::result::Result<(), String> {
    if obj.get("type").and_then(Value::as_str) != Some("header")
        || obj.get("format").and_then(Value::as_str) != Some(FORMAT)
    {
        return Err(format!("the first line must be the header of a {FORMAT} file"));
    }
    match obj.get("formatVersion").and_then(Value::as_u64) {
        Some(FORMAT_VERSION) => Ok(()),
        v => Err(format!("format version {v:?} is not one this scimbox reads ({FORMAT_VERSION})")),
    }
}

/// Reads and checks a file line by line, handing each record to `put` as soon as it is checked
/// (so an import holds the ids it has seen, not the documents): every line is one JSON object,
/// the header first and the end line last; each fault names its line.
fn load(
    input: impl BufRead,
    mut put: impl FnMut(usize, Record) -> Result<(), StoreError>,
) -> Result<Counts, StoreError> {
    let mut seen = Seen::default();
    let (mut header, mut ended) = (false, false);
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| at(n, format!("cannot be read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        if ended {
            return Err(at(n, "text after the end line"));
        }
        let obj = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(obj)) => obj,
            Ok(_) => return Err(at(n, "not a JSON object")),
            Err(e) => return Err(at(n, format!("not JSON ({e})"))),
        };
        if !header {
            check_header(&obj).map_err(|e| at(n, e))?;
            header = true;
            continue;
        }
        match seen.line(n, &obj).map_err(|e| at(n, e))? {
            Some(record) => put(n, record)?,
            None => ended = true,
        }
    }
    let refuse = |why: String| StoreError::Invalid(ValidationError::value(why));
    if !header {
        return Err(refuse(format!("the input is empty: no {FORMAT} header; nothing was imported")));
    }
    if !ended {
        return Err(refuse("the file has no end line: it was cut off; nothing was imported".into()));
    }
    Ok(seen.counts)
}

/// A storage refusal of the record on line `n`, naming the line.
fn on_line(n: usize) -> impl Fn(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(m) => StoreError::Conflict(format!("line {n}: {m}; nothing was imported")),
        StoreError::Invalid(v) if !v.detail.starts_with("line ") => StoreError::Invalid(ValidationError::new(
            v.scim_type,
            format!("line {n}: {}; nothing was imported", v.detail),
        )),
        other => other,
    }
}

/// Loads an export into `db`, which must hold no users, groups, accounts or roles, in one
/// transaction (the writer's: nothing else is written meanwhile): all of it or, on any fault
/// (named with its line), nothing.
pub async fn import(db: &Db, input: impl BufRead + Send + 'static) -> Result<Counts> {
    let counts = db
        .write(move |c| {
            if let Some(what) = store::holds_data(c)? {
                return Err(StoreError::Conflict(format!(
                    "the database already holds {what}; import only into an empty database (a new --db path)"
                )));
            }
            load(input, |n, record| {
                match &record {
                    Record::Account(a) => store::put_account(c, a),
                    Record::Role(r) => store::put_role(c, r),
                    Record::User(u) => store::put_user(c, &u.row()),
                    Record::Group(g) => store::put_group(c, &g.row()),
                    Record::Member(m) => store::put_member(c, m).map(drop),
                }
                .map_err(on_line(n))
            })
        })
        .await?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `lines` (after a header) through the checks, storing nothing; the first refusal.
    fn refusal(lines: &[Value]) -> Option<String> {
        let header = json!({"type": "header", "format": FORMAT, "formatVersion": FORMAT_VERSION});
        let text: Vec<String> = std::iter::once(&header).chain(lines).map(Value::to_string).collect();
        load(std::io::Cursor::new(text.join("\n")), |_, _| Ok(())).err().map(|e| e.to_string())
    }

    fn user(id: &str, created: &str) -> Value {
        json!({"type": "user", "resource": {"schemas": [scimbox_validator::schema::USER_URN], "id": id,
            "userName": id, "meta": {"version": "W/\"1\"", "created": created, "lastModified": created}}})
    }

    const AT: &str = "2026-12-07T10:00:00.000Z";

    #[test]
    fn a_well_formed_file_passes_and_counts() {
        let end = json!({"type": "end", "accounts": 1, "roles": 0, "users": 1, "groups": 0, "members": 0});
        let account = json!({"type": "account", "id": "A", "name": "Acme", "parent": null, "created": AT});
        assert_eq!(refusal(&[account, user("u1", AT), end]), None);
    }

    #[test]
    fn each_fault_names_its_line() {
        let stamp = refusal(&[user("u1", "2026-12-07 10:00")]).unwrap_or_default();
        assert!(stamp.contains("line 2: \"created\" must be a UTC time"), "{stamp}");
        let orphan = json!({"type": "account", "id": "B", "name": "b", "parent": "A", "created": AT});
        let orphan = refusal(&[orphan]).unwrap_or_default();
        assert!(orphan.contains("line 2: parent \"A\" is not an account on an earlier line"), "{orphan}");
        let group = json!({"type": "group", "resource": {"id": "g", "displayName": "G",
            "meta": {"version": "W/\"1\"", "created": AT, "lastModified": AT}}});
        let wrong = json!({"type": "member", "group": "g", "value": "u1", "memberType": "Group"});
        let wrong = refusal(&[user("u1", AT), group, wrong]).unwrap_or_default();
        assert!(wrong.contains("line 4: \"memberType\" must be \"User\""), "{wrong}");
        let end = json!({"type": "end", "accounts": 0, "roles": 0, "users": 2, "groups": 0, "members": 0});
        let short = refusal(&[user("u1", AT), end]).unwrap_or_default();
        assert!(short.contains("line 3: the end line counts 2 users"), "{short}");
        let version = json!({"type": "user", "resource": {"id": "u", "userName": "u",
            "meta": {"version": "3", "created": AT, "lastModified": AT}}});
        let version = refusal(&[version]).unwrap_or_default();
        assert!(version.contains("line 2: \"meta.version\" must be W/\"N\""), "{version}");
    }
}
