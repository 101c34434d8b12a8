//! The handlers of `/Users` and `/Groups` (RFC 7644 §3), generic over the resource type:
//! extract, call the service, project, render with `ETag` (and `Location` on 201).

use std::future::Future;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimbox_validator::ScimType;
use scimbox_validator::schema::{GROUP_RESOURCE, LIST_RESPONSE_URN, ResourceType, SEARCH_REQUEST_URN, USER_RESOURCE};
use serde_json::{Value, json};

use super::extract::{BaseUrl, Params, Projection, ResourceId, ScimJson, list_query};
use super::{AppState, scim_json};
use crate::error::{AppError, SCIM_JSON};
use crate::service::cursor::{self, Position, Scope, Walk};
use crate::service::groups::{self, Members};
use crate::service::list::{Keyset, ListQuery, PAGE_BYTES, Page, json_len};
use crate::service::stored::{self, Text};
use crate::service::users::WithAccess;
use crate::service::{self, Preconditions, Rendered, etag, tag_list_matches, users};

/// Whether a response is to a read or a write (which decides how many members a group carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// GET and lists.
    Read,
    /// POST, PUT, PATCH.
    Write,
}

/// What a resource type provides to the generic handlers.
pub trait Api: Send + Sync + 'static {
    /// Its schema.
    fn rt() -> &'static ResourceType;
    /// POST.
    fn create(
        st: &AppState,
        body: Value,
        base: String,
        out: Out,
    ) -> impl Future<Output = service::Result<Rendered>> + Send;
    /// GET by id.
    fn get(st: &AppState, id: String, base: String, out: Out)
    -> impl Future<Output = service::Result<Rendered>> + Send;
    /// PUT.
    fn replace(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> impl Future<Output = service::Result<Rendered>> + Send;
    /// PATCH.
    fn patch(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> impl Future<Output = service::Result<Rendered>> + Send;
    /// DELETE.
    fn delete(st: &AppState, id: String, pre: Preconditions) -> impl Future<Output = service::Result<()>> + Send;
    /// A list page: the total and the page's resources.
    fn list(st: &AppState, q: ListQuery, base: String, out: Out) -> impl Future<Output = service::Result<Page>> + Send;
    /// GET by id without a projection, as JSON text (issue 17: from stored text where there is
    /// some).
    fn get_text(st: &AppState, id: String, base: String) -> impl Future<Output = service::Result<Text>> + Send;
    /// A list page without a projection, its resources as JSON text.
    fn list_text(
        st: &AppState,
        q: ListQuery,
        base: String,
    ) -> impl Future<Output = service::Result<Page<Vec<u8>>>> + Send;
}

/// What the projection asks of related data (group members, a user's access), decided before
/// anything is read.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    /// The members a group response carries.
    pub members: Members,
    /// Whether a user response carries its effective access (`returned: default`).
    pub access: WithAccess,
}

impl Out {
    fn new(proj: &Projection, answer: Answer) -> Self {
        let members = match (proj.wants("members"), answer) {
            (Some(false), _) => Members::Omit,
            (Some(true), _) | (None, Answer::Read) => Members::All,
            (None, Answer::Write) => Members::IfSmall,
        };
        Out { members, access: WithAccess(proj.carries_access()) }
    }
}

/// Users.
pub struct UsersApi;
/// Groups.
pub struct GroupsApi;

impl Api for UsersApi {
    fn rt() -> &'static ResourceType {
        &USER_RESOURCE
    }
    async fn create(st: &AppState, body: Value, base: String, out: Out) -> service::Result<Rendered> {
        users::create(&st.db, &body, &st.required, base, out.access).await
    }
    async fn get(st: &AppState, id: String, base: String, out: Out) -> service::Result<Rendered> {
        users::get(&st.db, &id, base, out.access).await
    }
    async fn replace(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> service::Result<Rendered> {
        users::replace(&st.db, &id, &body, pre, &st.required, base, out.access).await
    }
    async fn patch(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> service::Result<Rendered> {
        users::patch(&st.db, &id, &body, pre, &st.required, base, out.access).await
    }
    async fn delete(st: &AppState, id: String, pre: Preconditions) -> service::Result<()> {
        users::delete(&st.db, &id, pre).await
    }
    async fn list(st: &AppState, q: ListQuery, base: String, out: Out) -> service::Result<Page> {
        users::list(&st.db, q, base, out.access).await
    }
    async fn get_text(st: &AppState, id: String, base: String) -> service::Result<Text> {
        stored::user(&st.db, &id, base).await
    }
    async fn list_text(st: &AppState, q: ListQuery, base: String) -> service::Result<Page<Vec<u8>>> {
        stored::users(&st.db, q, base).await
    }
}

impl Api for GroupsApi {
    fn rt() -> &'static ResourceType {
        &GROUP_RESOURCE
    }
    async fn create(st: &AppState, body: Value, base: String, out: Out) -> service::Result<Rendered> {
        groups::create(&st.db, &body, base, out.members).await
    }
    async fn get(st: &AppState, id: String, base: String, out: Out) -> service::Result<Rendered> {
        groups::get(&st.db, &id, base, out.members).await
    }
    async fn replace(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> service::Result<Rendered> {
        groups::replace(&st.db, &id, &body, pre, base, out.members).await
    }
    async fn patch(
        st: &AppState,
        id: String,
        body: Value,
        pre: Preconditions,
        base: String,
        out: Out,
    ) -> service::Result<Rendered> {
        groups::patch(&st.db, &id, &body, pre, base, out.members).await
    }
    async fn delete(st: &AppState, id: String, pre: Preconditions) -> service::Result<()> {
        groups::delete(&st.db, &id, pre).await
    }
    async fn list(st: &AppState, q: ListQuery, base: String, out: Out) -> service::Result<Page> {
        groups::list(&st.db, q, base, out.members).await
    }
    async fn get_text(st: &AppState, id: String, base: String) -> service::Result<Text> {
        stored::group(&st.db, &id, base).await
    }
    async fn list_text(st: &AppState, q: ListQuery, base: String) -> service::Result<Page<Vec<u8>>> {
        stored::groups(&st.db, q, base).await
    }
}

/// The `ETag` of a version (the same text as the body's `meta.version`).
fn etag_header(version: i64) -> Option<HeaderValue> {
    HeaderValue::from_str(&etag(version)).ok()
}

/// A single resource: body (projected), `ETag` of its version, and for 201 a `Location`
/// (RFC 7644 §3.3, §3.14); the service hands both typed, equal to the body's `meta`.
fn resource_response(
    status: StatusCode,
    rt: &ResourceType,
    mut r: Rendered,
    proj: &Projection,
) -> Result<Response, AppError> {
    let location = HeaderValue::from_str(&r.location).ok();
    let version = r.version;
    // Without a projection the body's text, when the service has it (a create's event data,
    // issue 17), goes out as is: the bytes `scim_json` would write.
    let mut resp = match (plain(proj), r.text.take()) {
        (true, Some(text)) => scim_text(status, text),
        (_, text) => scim_json(status, &proj.apply(rt, Rendered { text, ..r }.tree()?)),
    };
    let headers = resp.headers_mut();
    if let Some(v) = etag_header(version) {
        headers.insert(header::ETAG, v);
    }
    if let (StatusCode::CREATED, Some(v)) = (status, location) {
        headers.insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// A response whose body is JSON text already (a default read, see [`stored`]): the bytes
/// [`scim_json`] would write for the same resource.
fn scim_text(status: StatusCode, body: impl Into<Body>) -> Response {
    let body: Body = body.into();
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

/// Whether no projection applies (neither `attributes` nor `excludedAttributes`): the default
/// read, served as text.
fn plain(proj: &Projection) -> bool {
    proj.attributes.is_empty() && proj.excluded.is_empty()
}

/// `304 Not Modified` when `If-None-Match` names the version (RFC 7232 §4.1).
fn not_modified(pre: &Preconditions, version: i64) -> Option<Response> {
    if !pre.if_none_match.as_deref().is_some_and(|m| tag_list_matches(m, version)) {
        return None;
    }
    let mut resp = StatusCode::NOT_MODIFIED.into_response();
    if let Some(v) = etag_header(version) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Some(resp)
}

fn projection(params: &Params) -> Result<Projection, AppError> {
    Projection::parse(params.get("attributes"), params.get("excludedAttributes"))
}

pub async fn create<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    params: Params,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let full = A::create(&st, body, base, Out::new(&proj, Answer::Write)).await?;
    resource_response(StatusCode::CREATED, A::rt(), full, &proj)
}

pub async fn get<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    if plain(&proj) {
        let Text { body, version } = A::get_text(&st, id, base).await?;
        if let Some(resp) = not_modified(&pre, version) {
            return Ok(resp);
        }
        let mut resp = scim_text(StatusCode::OK, body);
        if let Some(v) = etag_header(version) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    let full = A::get(&st, id, base, Out::new(&proj, Answer::Read)).await?;
    if let Some(resp) = not_modified(&pre, full.version) {
        return Ok(resp);
    }
    resource_response(StatusCode::OK, A::rt(), full, &proj)
}

pub async fn replace<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let full = A::replace(&st, id, body, pre, base, Out::new(&proj, Answer::Write)).await?;
    resource_response(StatusCode::OK, A::rt(), full, &proj)
}

pub async fn patch<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let full = A::patch(&st, id, body, pre, base, Out::new(&proj, Answer::Write)).await?;
    resource_response(StatusCode::OK, A::rt(), full, &proj)
}

pub async fn delete<A: Api>(
    State(st): State<AppState>,
    ResourceId(id): ResourceId,
    pre: Preconditions,
) -> Result<StatusCode, AppError> {
    A::delete(&st, id, pre).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /{Resources} (RFC 7644 §3.4.2).
pub async fn list<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    params: Params,
) -> Result<Response, AppError> {
    let (q, proj) = list_query(|k| params.get(k).map(|v| Value::String(v.to_owned())))?;
    run_list::<A>(&st, q, proj, base).await
}

/// POST /{Resources}/.search (RFC 7644 §3.4.3).
pub async fn search<A: Api>(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let (q, proj) = search_query(&body)?;
    run_list::<A>(&st, q, proj, base).await
}

/// POST /.search (RFC 7644 §3.4.3): every resource type, Users first, then Groups, paged as one
/// list. A filter is checked against each type; a type whose schema lacks the filter's
/// attributes contributes nothing. With a `cursor` (RFC 9865 §3), the walk goes through the
/// Users, then the Groups; its cursor says which and where.
pub async fn search_all(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let (mut q, proj) = search_query(&body)?;
    let applies = |rt: &ResourceType| q.filter.as_ref().is_none_or(|f| f.check(rt).is_ok());
    if let Some(f) = &q.filter
        && !applies(&USER_RESOURCE)
        && !applies(&GROUP_RESOURCE)
    {
        f.check(&USER_RESOURCE)?; // neither type knows the filter's attributes: say why
    }
    let (users, groups) = (applies(&USER_RESOURCE), applies(&GROUP_RESOURCE));
    let out = Out::new(&proj, Answer::Read);
    if let Some(raw) = q.cursor.take() {
        let walk = cursor::open(Scope::All, &raw, &q)?;
        return search_all_by_cursor(&st, q, walk, (users, groups), &base, out, &proj).await;
    }
    // Users come first, then Groups: each type lists its part of the requested window, and the
    // Groups get what is left of the page's count and byte budget.
    let mut page = RootPage {
        skip: q.start_index.saturating_sub(1),
        left: q.count,
        bytes: PAGE_BYTES,
        total: Some(0),
        resources: Vec::new(),
    };
    if users {
        page.add::<UsersApi>(&st, &q, &base, out, &proj).await?;
    }
    if groups {
        page.add::<GroupsApi>(&st, &q, &base, out, &proj).await?;
    }
    Ok(list_response(page.total, Some(q.start_index), page.resources, [None, None]))
}

/// The root search's cursor page: from the walk's position, the rest of its part's page, and
/// when the Users are done and the page has room, the first Groups.
async fn search_all_by_cursor(
    st: &AppState,
    q: ListQuery,
    walk: Walk,
    (users, groups): (bool, bool),
    base: &str,
    out: Out,
    proj: &Projection,
) -> Result<Response, AppError> {
    let mut page = RootPage { skip: 0, left: q.count, bytes: PAGE_BYTES, total: Some(0), resources: Vec::new() };
    let mut next = None;
    let from_groups = walk.from.part == Scope::Groups;
    if users {
        let at = (!from_groups).then(|| walk.from.at.clone());
        next = page.walk::<UsersApi>(st, &q, at, base, out, proj).await?.map(|at| (Scope::Users, at));
    }
    if groups {
        let at = match (from_groups, &next) {
            (true, _) => Some(walk.from.at.clone()),
            // The Users filled the page exactly: whether a Group follows is known only by asking
            // for one, so that the last page carries no nextCursor (RFC 9865 §2).
            (false, None) if page.left == 0 && q.count > 0 => {
                let mut probe = RootPage { left: 1, ..page.empty() };
                let found = probe.walk::<GroupsApi>(st, &q, Some(Keyset::Start), base, out, proj).await?;
                if !probe.resources.is_empty() || found.is_some() {
                    next = Some((Scope::Groups, Keyset::Start));
                }
                None
            }
            (false, None) => Some(Keyset::Start),
            (false, Some(_)) => None,
        };
        if let Some(found) = page.walk::<GroupsApi>(st, &q, at, base, out, proj).await? {
            next = Some((Scope::Groups, found));
        }
    }
    // No previousCursor on the root search (RFC 9865 §2 makes it optional): going back across
    // the Users/Groups boundary is not worth its code for a search no IdP walks backwards.
    let next_cursor = next.filter(|_| q.count > 0).map(|(part, at)| walk.cursor(Position { part, at }));
    Ok(list_response(page.total, None, page.resources, [next_cursor, None]))
}

/// The root search's page as it is filled, one resource type after the other.
struct RootPage {
    /// Matches still to skip before the page starts.
    skip: u64,
    /// Resources the page may still take.
    left: u64,
    /// Bytes the page may still take ([`PAGE_BYTES`] in all).
    bytes: usize,
    /// The sum of the types' totals, while each is known.
    total: Option<u64>,
    resources: Vec<Value>,
}

impl RootPage {
    /// A page with this one's byte room and nothing in it.
    fn empty(&self) -> Self {
        RootPage { skip: 0, left: self.left, bytes: self.bytes.max(1), total: Some(0), resources: Vec::new() }
    }

    /// Lists type `A`'s part of the window and adds its total.
    async fn add<A: Api>(
        &mut self,
        st: &AppState,
        q: &ListQuery,
        base: &str,
        out: Out,
        proj: &Projection,
    ) -> Result<(), AppError> {
        let window =
            ListQuery { start_index: self.skip + 1, count: self.left, max_bytes: Some(self.bytes), ..q.clone() };
        let Page { total, resources: items, .. } = A::list(st, window, base.to_owned(), out).await?;
        let total = total.unwrap_or(0); // index paging always counts
        let taken = items.len() as u64;
        // Fewer than the window holds: the byte budget ended the page, the next one starts here.
        let cut = taken < self.left.min(total.saturating_sub(self.skip));
        self.total = self.total.map(|t| t + total);
        self.skip = self.skip.saturating_sub(total);
        self.take::<A>(items, cut, proj);
        Ok(())
    }

    /// Lists type `A` by keyset from `at` (`None`: only its total, with `count=0`) into what is
    /// left of the page; returns where its next page starts, if it has more.
    async fn walk<A: Api>(
        &mut self,
        st: &AppState,
        q: &ListQuery,
        at: Option<Keyset>,
        base: &str,
        out: Out,
        proj: &Projection,
    ) -> Result<Option<Keyset>, AppError> {
        let count = if at.is_some() { self.left } else { 0 };
        let window = ListQuery { count, max_bytes: Some(self.bytes), keyset: at, ..q.clone() };
        let Page { total, resources: items, next, .. } = A::list(st, window, base.to_owned(), out).await?;
        self.total = self.total.zip(total).map(|(a, b)| a + b);
        self.take::<A>(items, next.is_some(), proj);
        Ok(next)
    }

    /// Adds a type's resources; `full` when that type has more for this page than it gave.
    fn take<A: Api>(&mut self, items: Vec<Value>, full: bool, proj: &Projection) {
        let taken = items.len() as u64;
        self.bytes = self.bytes.saturating_sub(items.iter().map(json_len).sum());
        self.left = if full || self.bytes == 0 { 0 } else { self.left - taken.min(self.left) };
        self.resources.extend(items.into_iter().map(|r| proj.apply(A::rt(), r)));
    }
}

fn search_query(body: &Value) -> Result<(ListQuery, Projection), AppError> {
    let Value::Object(obj) = body else {
        return Err(AppError::bad(ScimType::InvalidSyntax, "a SearchRequest must be a JSON object"));
    };
    if let Some(schemas) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case("schemas")).map(|(_, v)| v) {
        let ok = schemas
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST_URN))));
        if !ok {
            return Err(AppError::bad(
                ScimType::InvalidSyntax,
                format!("a SearchRequest must list \"{SEARCH_REQUEST_URN}\" in schemas"),
            ));
        }
    }
    list_query(|k| obj.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone()))
}

async fn run_list<A: Api>(st: &AppState, q: ListQuery, proj: Projection, base: String) -> Result<Response, AppError> {
    // A cursor page has no index (RFC 9865 §2's responses carry none).
    let start = q.cursor.is_none().then_some(q.start_index);
    if plain(&proj) {
        let Page { total, resources, next_cursor, previous_cursor, .. } = A::list_text(st, q, base).await?;
        return Ok(list_text_response(total, start, resources, [next_cursor, previous_cursor]));
    }
    let Page { total, resources: items, next_cursor, previous_cursor, .. } =
        A::list(st, q, base, Out::new(&proj, Answer::Read)).await?;
    let resources = items.into_iter().map(|r| proj.apply(A::rt(), r)).collect();
    Ok(list_response(total, start, resources, [next_cursor, previous_cursor]))
}

/// A ListResponse (RFC 7644 §3.4.2); `totalResults` only when known and `startIndex` only for
/// index paging; `nextCursor` when a cursor walk has more, `previousCursor` when it is past its
/// first page (RFC 9865 §2).
fn list_response(
    total: Option<u64>,
    start: Option<u64>,
    resources: Vec<Value>,
    cursors: [Option<String>; 2],
) -> Response {
    let mut body = list_head(total, start, resources.len(), cursors);
    body["Resources"] = json!(resources);
    scim_json(StatusCode::OK, &body)
}

/// [`list_response`] of resources that are JSON text already: the same bytes, `Resources`
/// (the last member) spliced in.
fn list_text_response(
    total: Option<u64>,
    start: Option<u64>,
    resources: Vec<Vec<u8>>,
    cursors: [Option<String>; 2],
) -> Response {
    let mut head = String::with_capacity(160 + resources.iter().map(|r| r.len() + 1).sum::<usize>());
    push_list_head(&mut head, total, start, resources.len(), cursors);
    let mut body = head.into_bytes();
    body.extend_from_slice(b",\"Resources\":[");
    for (i, r) in resources.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.extend_from_slice(b"]}");
    scim_text(StatusCode::OK, body)
}

/// [`list_head`] written as text straight into `out`, without its closing brace: the same
/// bytes as serialising it (a list page's fixed cost, issue 17). The cursors are the only
/// strings that are not constants or numbers, so only they go through the serialiser.
fn push_list_head(
    out: &mut String,
    total: Option<u64>,
    start: Option<u64>,
    items: usize,
    [next, previous]: [Option<String>; 2],
) {
    use std::fmt::Write as _;
    let _ = write!(out, "{{\"schemas\":[\"{LIST_RESPONSE_URN}\"],\"itemsPerPage\":{items}");
    if let Some(total) = total {
        let _ = write!(out, ",\"totalResults\":{total}");
    }
    if let Some(start) = start {
        let _ = write!(out, ",\"startIndex\":{start}");
    }
    for (name, cursor) in [("nextCursor", next), ("previousCursor", previous)] {
        if let Some(cursor) = cursor {
            let _ = write!(out, ",\"{name}\":{}", Value::String(cursor));
        }
    }
}

/// A ListResponse's members before `Resources`, in their order.
fn list_head(total: Option<u64>, start: Option<u64>, items: usize, [next, previous]: [Option<String>; 2]) -> Value {
    let mut body = json!({
        "schemas": [LIST_RESPONSE_URN],
        "itemsPerPage": items,
    });
    if let Some(total) = total {
        body["totalResults"] = json!(total);
    }
    if let Some(start) = start {
        body["startIndex"] = json!(start);
    }
    if let Some(next) = next {
        body["nextCursor"] = json!(next);
    }
    if let Some(previous) = previous {
        body["previousCursor"] = json!(previous);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The envelope written as text is the serialised one, byte for byte, with every member
    /// present or absent, and cursors that need escaping.
    #[test]
    fn the_text_list_head_is_the_serialised_one() {
        for total in [None, Some(0), Some(123_456)] {
            for start in [None, Some(1), Some(101)] {
                for cursors in [[None, None], [Some("a\"b\\c".to_owned()), None], [Some("n".into()), Some("p".into())]]
                {
                    let want = list_head(total, start, 7, cursors.clone()).to_string();
                    let mut got = String::new();
                    push_list_head(&mut got, total, start, 7, cursors);
                    got.push('}');
                    assert_eq!(got, want);
                }
            }
        }
    }
}
