//! The protected SCIM routes' middleware as one layer (issue 17). Outside in: the journal
//! ([`journal::record`]), the per-address limit on refused tokens ([`ratelimit::anonymous`]), the token
//! check ([`super::require_token`]), the metrics' token tag ([`metrics::tag_token`]), the per-token
//! limit and the deprovisioning guard's scope ([`ratelimit::per_token`]): the same steps in the
//! same order as five `from_fn` layers were, called one inside the other. Each layer cost a clone
//! of the inner service, a boxed future and a move of everything inside it, for every request:
//! about a tenth of the server's work per GET by id, more than the five steps themselves.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{AppState, journal, metrics, ratelimit, require_token_around};

/// The layers of the protected SCIM routes, outermost first, around the route.
pub async fn layers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let st = &state;
    journal::record(st, req, |req| {
        ratelimit::anonymous_around(st, req, |req| {
            require_token_around(st, req, |req| {
                metrics::tag_token_around(req, |req| ratelimit::per_token_around(st, req, |req| next.run(req)))
            })
        })
    })
    .await
}
