//! `POST /Bulk` (RFC 7644 §3.7): reads the body within `maxPayloadSize`, hands it to
//! [`crate::service::bulk`] (parsing, order, commit semantics), and renders the BulkResponse:
//! HTTP 200 whatever the operations' outcomes, each with its own `status` (§3.7.3).

use axum::extract::{FromRequest, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use scimbox_validator::schema::ERROR_URN;
use serde_json::{Map, Value, json};

use super::extract::{BaseUrl, ScimJson};
use super::{AppState, scim_json};
use crate::error::AppError;
use crate::service::bulk::{self, BULK_RESPONSE_URN, MAX_PAYLOAD_SIZE, Outcome};

/// A Bulk request body, read with its own limit, [`MAX_PAYLOAD_SIZE`], rather than
/// `max_body_bytes`: the limit enforced is the one `/ServiceProviderConfig` advertises, and going
/// over it is answered with RFC 7644 §3.7.4's 413 message. Content type and JSON checks are
/// [`ScimJson`]'s.
#[derive(Debug)]
pub struct BulkBody(pub Value);

impl FromRequest<AppState> for BulkBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let mut config = state.config.as_ref().clone();
        config.max_body_bytes = MAX_PAYLOAD_SIZE;
        let bounded = state.with_config(config);
        match ScimJson::from_request(req, &bounded).await {
            Ok(ScimJson(body)) => Ok(BulkBody(body)),
            Err(e) if e.http_status() == StatusCode::PAYLOAD_TOO_LARGE => Err(bulk::payload_too_large().into()),
            Err(e) => Err(e),
        }
    }
}

/// POST /Bulk (RFC 7644 §3.7).
pub async fn post(
    State(st): State<AppState>,
    BaseUrl(base): BaseUrl,
    BulkBody(body): BulkBody,
) -> Result<Response, AppError> {
    let req = bulk::parse(&body)?;
    drop(body);
    let cx = bulk::Context { db: &st.db, required: &st.required, base: &base };
    let operations: Vec<Value> = bulk::run(&cx, req).await.into_iter().map(operation_json).collect();
    let body = json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations});
    Ok(scim_json(StatusCode::OK, &body))
}

/// One element of the response's `Operations` (RFC 7644 §3.7.3): `status` is a string, and an
/// error is carried whole in `response`.
fn operation_json(o: Outcome) -> Value {
    let mut m = Map::new();
    let fields = [("method", o.method), ("bulkId", o.bulk_id), ("location", o.location), ("version", o.version)];
    for (k, v) in fields {
        if let Some(v) = v {
            m.insert(k.into(), v.into());
        }
    }
    match o.result {
        Ok(status) => {
            m.insert("status".into(), status.code().to_string().into());
        }
        Err(e) => {
            let e = AppError::from(e);
            m.insert("status".into(), e.http_status().as_u16().to_string().into());
            m.insert("response".into(), error_json(e));
        }
    }
    Value::Object(m)
}

/// The SCIM Error message `e` would be answered with alone (RFC 7644 §3.12). An internal cause
/// is logged here, since the request itself succeeds and the logging middleware sees a 200.
fn error_json(e: AppError) -> Value {
    if let AppError::Internal(cause) = &e {
        tracing::error!(cause = %cause, "bulk operation failed");
    }
    let status = e.http_status();
    let (scim_type, detail) = match e {
        AppError::Scim { scim_type, detail, .. } => (scim_type, detail),
        AppError::TooMany { detail, .. } => (None, detail),
        AppError::Internal(_) => (None, "internal server error; the cause is in the server log".to_owned()),
    };
    let mut body = json!({"schemas": [ERROR_URN], "status": status.as_u16().to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = t.as_str().into();
    }
    body
}
