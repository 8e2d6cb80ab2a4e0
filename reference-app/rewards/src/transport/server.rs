//! The server half of a hop: `/rpc/{module}/{method}` routes for the modules this process hosts, behind a guard
//! that demands the service credential, re-verifies the member's token, and restores the caller's trace.

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use axum::{Json, Router};
use rewards_platform::{TokenKey, now_unix_seconds};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::transport::client::SERVICE_CREDENTIAL_HEADER;
use crate::transport::context::{self, CallContext};

/// What the guard checks internal calls against.
#[derive(Clone)]
pub struct RpcGuard {
    /// The credential every internal call must carry.
    pub service_credential: Arc<str>,
    /// The key that member tokens are re-verified with.
    pub token_key: TokenKey,
}

/// Compares two byte strings in time that depends only on their lengths, so that a wrong credential leaks nothing
/// about the right one through timing.
fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b)) == 0
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// The per-hop check of every internal call: service credential, then (when present) the member's token.
pub async fn guard_internal_call(State(guard): State<RpcGuard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let credential = headers.get(SERVICE_CREDENTIAL_HEADER).map(|value| value.as_bytes()).unwrap_or_default();
    if !constant_time_equal(credential, guard.service_credential.as_bytes()) {
        return refusal(StatusCode::UNAUTHORIZED, "missing or wrong service credential");
    }
    let member_token = match bearer_token(headers) {
        Some(token) => match guard.token_key.verify(token, now_unix_seconds()) {
            Ok(_) => Some(token.to_owned()),
            Err(error) => return refusal(StatusCode::UNAUTHORIZED, &error.to_string()),
        },
        None => None,
    };
    let trace_id = headers
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .and_then(context::trace_id_from_traceparent)
        .unwrap_or_else(context::new_trace_id);
    let span = tracing::debug_span!("rpc_serve", path = %request.uri().path(), trace_id = %trace_id);
    let call_context = CallContext { trace_id, member_token };
    context::run_within(call_context, next.run(request).instrument(span)).await
}

/// One RPC route: decodes the arguments, calls `handler` on the local module, and encodes its `Result`.
pub fn rpc_route<S, A, T, E, F, Fut>(service: Arc<S>, handler: F) -> MethodRouter
where
    S: ?Sized + Send + Sync + 'static,
    A: DeserializeOwned + Send + 'static,
    T: Serialize + 'static,
    E: Serialize + 'static,
    F: Fn(Arc<S>, A) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    post(move |body: Bytes| {
        let service = Arc::clone(&service);
        let handler = handler.clone();
        async move {
            match serde_json::from_slice::<A>(&body) {
                Ok(arguments) => Json(handler(service, arguments).await).into_response(),
                Err(error) => refusal(StatusCode::BAD_REQUEST, &format!("unreadable arguments: {error}")),
            }
        }
    })
}

/// Puts the guard in front of the RPC routes of the modules this process hosts.
pub fn guarded(module_routes: Router, guard: RpcGuard) -> Router {
    module_routes.layer(axum::middleware::from_fn_with_state(guard, guard_internal_call))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_comparison_needs_equal_bytes() {
        assert!(constant_time_equal(b"secret", b"secret"));
        assert!(!constant_time_equal(b"secret", b"secreT"));
        assert!(!constant_time_equal(b"secret", b"secret!"));
        assert!(!constant_time_equal(b"", b"secret"));
    }
}
