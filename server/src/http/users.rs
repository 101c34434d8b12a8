//! `/Users` handlers (RFC 7644 §3): extract, call [`crate::service::users`], render.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scimbox_validator::ScimType;
use scimbox_validator::schema::{LIST_RESPONSE_URN, SEARCH_REQUEST_URN};
use serde_json::{Value, json};

use super::extract::{BaseUrl, Params, Projection, ResourceId, ScimJson, list_query};
use super::{AppState, scim_json};
use crate::db::users::UserRow;
use crate::error::AppError;
use crate::service::{Preconditions, etag, tag_list_matches, users};

/// A single resource: body (projected), `ETag` equal to `meta.version`, and for 201 a
/// `Location` equal to `meta.location` (RFC 7644 §3.3, §3.14).
fn resource_response(status: StatusCode, row: &UserRow, base: &str, proj: &Projection) -> Response {
    let full = users::to_resource(row, base);
    let location = full["meta"]["location"].as_str().map(str::to_owned);
    let mut resp = scim_json(status, &proj.apply(full));
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag(row.version)) {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED
        && let Some(v) = location.and_then(|l| HeaderValue::from_str(&l).ok())
    {
        headers.insert(header::LOCATION, v);
    }
    resp
}

fn projection(params: &Params) -> Result<Projection, AppError> {
    Projection::parse(params.get("attributes"), params.get("excludedAttributes"))
}

pub async fn create(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    params: Params,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let row = users::create(&st.db, &body, &st.required).await?;
    Ok(resource_response(StatusCode::CREATED, &row, &base, &proj))
}

pub async fn get(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let row = users::get(&st.db, &id).await?;
    if pre.if_none_match.as_deref().is_some_and(|m| tag_list_matches(m, row.version)) {
        let mut resp = StatusCode::NOT_MODIFIED.into_response();
        if let Ok(v) = HeaderValue::from_str(&etag(row.version)) {
            resp.headers_mut().insert(header::ETAG, v);
        }
        return Ok(resp);
    }
    Ok(resource_response(StatusCode::OK, &row, &base, &proj))
}

pub async fn replace(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let row = users::replace(&st.db, &id, &body, pre, &st.required).await?;
    Ok(resource_response(StatusCode::OK, &row, &base, &proj))
}

pub async fn patch(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    params: Params,
    pre: Preconditions,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let proj = projection(&params)?;
    let row = users::patch(&st.db, &id, &body, pre, &st.required).await?;
    Ok(resource_response(StatusCode::OK, &row, &base, &proj))
}

pub async fn delete(
    State(st): State<AppState>,
    ResourceId(id): ResourceId,
    pre: Preconditions,
) -> Result<StatusCode, AppError> {
    users::delete(&st.db, &id, pre).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// GET /Users (RFC 7644 §3.4.2).
pub async fn list(State(st): State<AppState>, BaseUrl(base): BaseUrl, params: Params) -> Result<Response, AppError> {
    let (q, proj) = list_query(|k| params.get(k).map(|v| Value::String(v.to_owned())))?;
    run_list(&st, q, proj, base).await
}

/// POST /Users/.search and POST /.search (RFC 7644 §3.4.3). The root search covers every
/// resource type, which is Users alone for now.
pub async fn search(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ScimJson(body): ScimJson,
) -> Result<Response, AppError> {
    let Value::Object(obj) = &body else {
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
    let (q, proj) = list_query(|k| obj.iter().find(|(key, _)| key.eq_ignore_ascii_case(k)).map(|(_, v)| v.clone()))?;
    run_list(&st, q, proj, base).await
}

async fn run_list(st: &AppState, q: users::ListQuery, proj: Projection, base: String) -> Result<Response, AppError> {
    let start = q.start_index;
    let page = users::list(&st.db, q, base.clone()).await?;
    let resources: Vec<Value> = page.rows.iter().map(|r| proj.apply(users::to_resource(r, &base))).collect();
    let body = json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": page.total,
        "startIndex": start,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    Ok(scim_json(StatusCode::OK, &body))
}
