//! Discovery (RFC 7644 §4, RFC 7643 §5–7): `/ServiceProviderConfig`, `/Schemas`,
//! `/ResourceTypes`, generated from the validator's schema tables (never a second, hand-kept
//! copy). Open without a token: they describe the server, not its data. Query parameters are
//! ignored, except that a `filter` is refused with 403 as RFC 7644 §4 asks. One part of
//! `/Schemas` follows the data: the `accounts` attribute's example names a registered account,
//! for a request with a token only (see `accounts_example`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use scimbox_validator::schema::{
    self, AccountsExample, LIST_RESPONSE_URN, RESOURCE_TYPES, SERVICE_PROVIDER_CONFIG_URN,
};
use serde_json::{Value, json};

use super::extract::{BaseUrl, Params, ResourceId};
use super::{AppState, scim_json};
use crate::auth;
use crate::error::AppError;
use crate::service::accounts;
use crate::service::bulk::{MAX_OPERATIONS, MAX_PAYLOAD_SIZE};
use crate::service::cursor::{CURSOR_TIMEOUT, MAX_PAGE_SIZE};
use crate::service::list::{DEFAULT_COUNT, MAX_RESULTS};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(one_schema))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(one_resource_type))
}

fn refuse_filter(params: &Params) -> Result<(), AppError> {
    match params.get("filter") {
        Some(_) => Err(AppError::status(
            StatusCode::FORBIDDEN,
            "filtering is not supported on discovery endpoints (RFC 7644 §4)",
        )),
        None => Ok(()),
    }
}

/// The ServiceProviderConfig document (RFC 7643 §5): what scimbox really supports.
pub fn service_provider_config_json(base: &str) -> Value {
    json!({
        "schemas": [SERVICE_PROVIDER_CONFIG_URN],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": true, "maxOperations": MAX_OPERATIONS, "maxPayloadSize": MAX_PAYLOAD_SIZE},
        "filter": {"supported": true, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": pagination_json(),
        // RFC 9967 §4: the events the feed emits as SETs (`format=set`); no asynchronous requests.
        "securityEvents": {"asyncRequest": "none", "eventUris": crate::service::events::set_event_uris()},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token issued by `scimbox token create`, sent as \"Authorization: Bearer <token>\".",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        }
    })
}

/// The `pagination` block (RFC 9865 §4): both methods, index the default (RFC 9865 §2.4: a
/// server that paged by index before keeps it, and Okta and Entra page by `startIndex`).
/// `maxPageSize` is a ceiling: the 4 MiB page budget may end a page sooner.
fn pagination_json() -> Value {
    json!({
        "cursor": true,
        "index": true,
        "defaultPaginationMethod": "index",
        "defaultPageSize": DEFAULT_COUNT,
        "maxPageSize": MAX_PAGE_SIZE,
        "cursorTimeout": CURSOR_TIMEOUT,
    })
}

fn list_response(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE_URN],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn service_provider_config(BaseUrl(base): BaseUrl) -> Response {
    scim_json(StatusCode::OK, &service_provider_config_json(&base))
}

/// A Schema resource, with the deployment's required User attributes marked and the `accounts`
/// attribute described for this registry.
fn schema_json(s: &schema::Schema, base: &str, st: &AppState, example: &AccountsExample) -> Value {
    let mut v = s.to_json(base);
    if s.id == schema::USER_URN {
        schema::mark_required(&mut v, &st.config.required);
    }
    if s.id == schema::USER_URN || s.id == schema::SCIMBOX_USER_URN {
        schema::describe_accounts(&mut v, example);
    }
    v
}

/// What the `accounts` attribute shows of the registry to this request. Discovery needs no
/// token (RFC 7644 §4), but the registry's account ids are the deployment's own, so it is read
/// only for a request with a live bearer token, as IdPs and conformance checkers send; anyone
/// else gets the description without a registered name (and no error: a bad token is not
/// refused here, it only sees what an anonymous request sees).
async fn accounts_example(st: &AppState, headers: &HeaderMap) -> Result<AccountsExample, AppError> {
    let header = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let Some(token) = header.and_then(auth::parse_header) else { return Ok(AccountsExample::Unread) };
    match st.tokens.check(&st.db, token).await? {
        Some(_) => Ok(accounts::schema_example(&st.db).await?),
        None => Ok(AccountsExample::Unread),
    }
}

/// A `/Schemas` answer: its content depends on the Authorization header (see
/// [`accounts_example`]), which caches must know.
fn schemas_response(body: &Value) -> Response {
    let mut resp = scim_json(StatusCode::OK, body);
    resp.headers_mut().insert(header::VARY, HeaderValue::from_static("Authorization"));
    resp
}

async fn schemas(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    params: Params,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    refuse_filter(&params)?;
    let example = accounts_example(&st, &headers).await?;
    let all = schema::all_schemas().into_iter().map(|s| schema_json(s, &base, &st, &example)).collect();
    Ok(schemas_response(&list_response(all)))
}

async fn one_schema(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let found = schema::all_schemas().into_iter().find(|s| s.id.eq_ignore_ascii_case(&id));
    let s = found.ok_or_else(|| AppError::not_found(format!("no schema {id}")))?;
    let example = accounts_example(&st, &headers).await?;
    Ok(schemas_response(&schema_json(s, &base, &st, &example)))
}

async fn resource_types(BaseUrl(base): BaseUrl, params: Params) -> Result<Response, AppError> {
    refuse_filter(&params)?;
    let all = RESOURCE_TYPES.iter().map(|rt| rt.to_json(&base)).collect();
    Ok(scim_json(StatusCode::OK, &list_response(all)))
}

async fn one_resource_type(
    BaseUrl(base): BaseUrl,
    ResourceId(id): ResourceId,
    _: State<AppState>,
) -> Result<Response, AppError> {
    let rt = RESOURCE_TYPES.iter().find(|rt| rt.name.eq_ignore_ascii_case(&id));
    let rt = rt.ok_or_else(|| AppError::not_found(format!("no resource type {id}")))?;
    Ok(scim_json(StatusCode::OK, &rt.to_json(&base)))
}
