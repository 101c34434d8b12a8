//! Reading a BulkRequest (RFC 7644 §3.7): the request's own attributes (`schemas`,
//! `failOnErrors`, `Operations`) and each operation's (`method`, `bulkId`, `path`, `version`,
//! `data`), names matched case-insensitively. What is wrong with the request refuses it whole;
//! what is wrong with one operation is kept as that operation's outcome (see the parent module).

use std::collections::HashMap;

use scimbox_validator::ValidationError;
use serde_json::{Map, Value};

use super::{BULK_ID_PREFIX, BULK_REQUEST_URN, Error, MAX_OPERATIONS, Result, Status};

/// The method of one operation (RFC 7644 §3.7: POST, PUT, PATCH or DELETE, in any case here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn parse(s: &str) -> Option<Self> {
        [Self::Post, Self::Put, Self::Patch, Self::Delete]
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
    }
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
    /// The status the same request alone would succeed with.
    pub(super) fn success(self) -> Status {
        match self {
            Self::Post => Status::Created,
            Self::Put | Self::Patch => Status::Ok,
            Self::Delete => Status::NoContent,
        }
    }
}

/// The resource types a Bulk operation reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Endpoint {
    Users,
    Groups,
}

impl Endpoint {
    fn parse(s: &str) -> Option<Self> {
        [Self::Users, Self::Groups].into_iter().find(|e| e.as_str().eq_ignore_ascii_case(s))
    }
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Users => "Users",
            Self::Groups => "Groups",
        }
    }
}

/// The `{id}` of a path: an id, or a reference to the resource a POST of this request creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum IdRef {
    Id(String),
    Bulk(String),
}

/// A well-formed operation.
#[derive(Debug)]
pub(super) struct Op {
    pub(super) method: Method,
    pub(super) endpoint: Endpoint,
    pub(super) id: Option<IdRef>,
    /// `version`, sent as `If-Match` (RFC 7644 §3.7, §3.14).
    pub(super) version: Option<String>,
    /// `data`; `Null` for DELETE.
    pub(super) data: Value,
}

/// One element of `Operations`: what the response echoes, and the operation or why it cannot run.
#[derive(Debug)]
pub(super) struct Entry {
    pub(super) method: Option<String>,
    pub(super) bulk_id: Option<String>,
    pub(super) op: Result<Op>,
}

impl Entry {
    fn declares(&self) -> Option<&str> {
        self.bulk_id.as_deref().filter(|_| self.method.as_deref() == Some("POST"))
    }
}

/// A parsed BulkRequest.
#[derive(Debug)]
pub struct BulkRequest {
    pub(super) fail_on_errors: Option<usize>,
    pub(super) entries: Vec<Entry>,
    /// Each POST's `bulkId` and its index.
    pub(super) declared: HashMap<String, usize>,
}

fn syntax(detail: impl Into<String>) -> Error {
    Error::Invalid(ValidationError::syntax(detail))
}

fn invalid(detail: impl Into<String>) -> Error {
    Error::invalid(detail)
}

/// A member of an object, its name matched case-insensitively; `null` counts as absent.
fn field<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v).filter(|v| !v.is_null())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a BulkRequest body (RFC 7644 §3.7). Faults of the request are errors; the faults of
/// one operation are kept as that operation's outcome.
pub fn parse(body: &Value) -> Result<BulkRequest> {
    let Value::Object(obj) = body else { return Err(syntax("a BulkRequest must be a JSON object")) };
    check_schemas(field(obj, "schemas"))?;
    let Some(Value::Array(raw)) = field(obj, "Operations") else {
        return Err(syntax("a BulkRequest needs an \"Operations\" array (RFC 7644 §3.7)"));
    };
    if raw.len() > MAX_OPERATIONS {
        return Err(Error::Limit(format!(
            "The number of operations ({}) exceeds the maxOperations ({MAX_OPERATIONS}).",
            raw.len()
        )));
    }
    let fail_on_errors = fail_on_errors(field(obj, "failOnErrors"))?;
    let entries: Vec<Entry> = raw.iter().map(entry).collect();
    let declared = declarations(&entries)?;
    Ok(BulkRequest { fail_on_errors, entries, declared })
}

fn check_schemas(schemas: Option<&Value>) -> Result<()> {
    let listed = schemas
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(BULK_REQUEST_URN))));
    if listed {
        return Ok(());
    }
    Err(syntax(format!("a BulkRequest must list \"{BULK_REQUEST_URN}\" in schemas")))
}

/// `failOnErrors`: a positive integer (a numeric string is taken too), or absent.
fn fail_on_errors(raw: Option<&Value>) -> Result<Option<usize>> {
    let Some(v) = raw else { return Ok(None) };
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n.and_then(|n| usize::try_from(n).ok()) {
        Some(n) if n >= 1 => Ok(Some(n)),
        _ => Err(invalid(format!(
            "failOnErrors must be a positive integer (the errors to accept before stopping), got {v}"
        ))),
    }
}

/// The `bulkId` of every POST, refusing one declared twice (RFC 7644 §3.7: unique in a request).
fn declarations(entries: &[Entry]) -> Result<HashMap<String, usize>> {
    let mut declared = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        let Some(b) = e.declares() else { continue };
        if let Some(first) = declared.insert(b.to_owned(), i) {
            return Err(invalid(format!(
                "bulkId \"{b}\" is declared by both Operations[{first}] and Operations[{i}]; \
                 a bulkId must be unique within a request"
            )));
        }
    }
    Ok(declared)
}

fn entry(raw: &Value) -> Entry {
    let Value::Object(obj) = raw else {
        let why = syntax(format!("each operation must be a JSON object, got {}", kind_of(raw)));
        return Entry { method: None, bulk_id: None, op: Err(why) };
    };
    Entry {
        method: field(obj, "method").and_then(Value::as_str).map(|m| m.trim().to_ascii_uppercase()),
        bulk_id: field(obj, "bulkId").and_then(Value::as_str).map(str::to_owned),
        op: op(obj),
    }
}

fn op(obj: &Map<String, Value>) -> Result<Op> {
    let method = method(field(obj, "method"))?;
    check_bulk_id(method, field(obj, "bulkId"))?;
    let (endpoint, id) = path(method, field(obj, "path"))?;
    let version = match field(obj, "version") {
        None => None,
        Some(Value::String(v)) => Some(v.clone()),
        Some(v) => return Err(invalid(format!("\"version\" must be a string (an ETag), got {v}"))),
    };
    let data = data(method, field(obj, "data"))?;
    Ok(Op { method, endpoint, id, version, data })
}

fn method(raw: Option<&Value>) -> Result<Method> {
    let Some(raw) = raw else { return Err(invalid("\"method\" is required: POST, PUT, PATCH or DELETE")) };
    raw.as_str()
        .and_then(Method::parse)
        .ok_or_else(|| invalid(format!("\"method\" must be POST, PUT, PATCH or DELETE, got {raw}")))
}

fn check_bulk_id(method: Method, raw: Option<&Value>) -> Result<()> {
    match raw {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        Some(other) => Err(invalid(format!("\"bulkId\" must be a non-empty string, got {other}"))),
        None if method == Method::Post => Err(invalid("\"bulkId\" is required for POST (RFC 7644 §3.7)")),
        None => Ok(()),
    }
}

/// `path`: `/Users` or `/Groups` for POST, `/Users/{id}` or `/Groups/{id}` for the others.
fn path(method: Method, raw: Option<&Value>) -> Result<(Endpoint, Option<IdRef>)> {
    let Some(p) = raw.and_then(Value::as_str) else {
        return Err(invalid("\"path\" is required: \"/Users\" or \"/Groups\" for POST, \"/Users/{id}\" otherwise"));
    };
    let segs: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    let endpoint = segs.first().and_then(|s| Endpoint::parse(s)).filter(|_| segs.len() <= 2).ok_or_else(|| {
        Error::NotFound(format!("no resource at \"{p}\": Bulk operations reach /Users and /Groups only"))
    })?;
    let id = segs.get(1).map(|s| id_ref(s));
    let not_allowed = Error::MethodNotAllowed;
    match (method, &id) {
        (Method::Post, None) | (Method::Put | Method::Patch | Method::Delete, Some(_)) => Ok((endpoint, id)),
        (Method::Post, Some(_)) => Err(not_allowed(format!(
            "POST is not supported on \"{p}\"; POST to \"/{}\" creates a resource",
            endpoint.as_str()
        ))),
        (m, None) => Err(not_allowed(format!(
            "{} needs the path of one resource, such as \"/{}/{{id}}\"; got \"{p}\"",
            m.as_str(),
            endpoint.as_str()
        ))),
    }
}

fn id_ref(seg: &str) -> IdRef {
    match bulk_ref(seg) {
        Some(b) => IdRef::Bulk(b.to_owned()),
        None => IdRef::Id(seg.to_owned()),
    }
}

fn data(method: Method, raw: Option<&Value>) -> Result<Value> {
    match (method, raw) {
        (Method::Delete, _) => Ok(Value::Null),
        (_, Some(v @ Value::Object(_))) => Ok(v.clone()),
        (m, None) => Err(invalid(format!("\"data\" is required for {}", m.as_str()))),
        (m, Some(v)) => Err(syntax(format!("\"data\" of a {} must be a JSON object, got {}", m.as_str(), kind_of(v)))),
    }
}

/// The bulkId a string refers to: `"bulkId:qwerty"` refers to `qwerty`.
pub(super) fn bulk_ref(s: &str) -> Option<&str> {
    s.strip_prefix(BULK_ID_PREFIX).filter(|b| !b.is_empty())
}
