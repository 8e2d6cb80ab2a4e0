//! The server half of a hop: `/rpc/{module}/{method}` routes for the modules this process hosts, behind a guard
//! that tells which service is calling from its credential, re-verifies the member's token, and restores the
//! caller's trace; and, in each route, the checks that the calling service is one the route accepts and that the
//! verified token speaks for the user the call acts for.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Extension, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use rewards_platform::{HopRefusal, Role, TokenClaims, TokenVerifier, now_unix_seconds};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::secrets::{Caller, CallerVerifiers};
use crate::transport::context::{self, CallContext};
use crate::transport::wire::{HopRefusalBody, MAX_BODY_BYTES, SERVICE_CREDENTIAL_HEADER, TRACEPARENT_HEADER};

/// What the guard checks internal calls against.
#[derive(Debug, Clone)]
pub struct RpcGuard {
    /// The verifiers of the services whose credentials this process accepts.
    pub callers: CallerVerifiers,
    /// The public key that member tokens are re-verified with.
    pub tokens: TokenVerifier,
}

/// Who an internal call acts for, which decides what the member's token must prove at this hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActingFor {
    /// No signed-in user: registration, login, token verification, outbox deliveries and `verify`'s reads. The
    /// service credential is enough.
    NoUser,
    /// Some signed-in user, whoever it is: reads by id that a user's request needs (a business, an offer, a
    /// profile), which a member and a business owner both make.
    AnySignedInUser,
    /// Exactly this user in this role: calls that name the member or the acting owner in their arguments.
    User {
        /// The user id the call names.
        user_id: i64,
        /// The role that user must have.
        role: Role,
    },
}

impl ActingFor {
    /// The call acts for this member.
    pub fn member(user_id: i64) -> ActingFor {
        ActingFor::User { user_id, role: Role::Member }
    }

    /// The call acts for this business account.
    pub fn business_account(user_id: i64) -> ActingFor {
        ActingFor::User { user_id, role: Role::Business }
    }

    /// Checks the claims of the token the call carried (verified by the guard) against who the call acts for.
    pub fn check(self, claims: Option<&TokenClaims>) -> Result<(), HopRefusal> {
        match (self, claims) {
            (ActingFor::NoUser, _) => Ok(()),
            (_, None) => Err(HopRefusal::MissingToken),
            (ActingFor::AnySignedInUser, Some(_)) => Ok(()),
            (ActingFor::User { user_id, role }, Some(claims)) if claims.user_id == user_id && claims.role == role => {
                Ok(())
            }
            (ActingFor::User { .. }, Some(_)) => Err(HopRefusal::Forbidden),
        }
    }
}

/// The claims of the member's token, verified by the guard, for the route to check against its arguments.
#[derive(Debug, Clone, Copy)]
struct VerifiedToken(TokenClaims);

/// The service whose credential the guard recognised, for the route to check against the callers it accepts.
#[derive(Debug, Clone, Copy)]
struct VerifiedCaller(Caller);

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, message.to_owned()).into_response()
}

/// Answers 401 or 403 with the refusal in a body the client understands.
fn hop_refusal_response(hop_refusal: HopRefusal) -> Response {
    let status = match hop_refusal {
        HopRefusal::Forbidden => StatusCode::FORBIDDEN,
        HopRefusal::MissingToken | HopRefusal::InvalidToken | HopRefusal::TokenExpired => StatusCode::UNAUTHORIZED,
    };
    (status, Json(HopRefusalBody { hop_refusal })).into_response()
}

/// The per-hop check of every internal call: which service is calling (from its credential), then (when present) the
/// member's token. The route then checks that it accepts that service, and that the token speaks for the user its
/// arguments name.
pub async fn guard_internal_call(State(guard): State<RpcGuard>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let trace_id = request
        .headers()
        .get(TRACEPARENT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(context::trace_id_from_traceparent)
        .unwrap_or_else(context::new_trace_id);
    let span = tracing::info_span!("rpc_serve", path = %request.uri().path(), trace_id = %trace_id);
    async move {
        let headers = request.headers();
        let credential = headers.get(SERVICE_CREDENTIAL_HEADER).map(|value| value.as_bytes());
        let Some(caller) = guard.callers.identify(credential) else {
            tracing::warn!("refused an internal call without a service credential this process accepts");
            return refusal(StatusCode::UNAUTHORIZED, "missing or wrong service credential");
        };
        let member_token = bearer_token(headers).map(str::to_owned);
        request.extensions_mut().insert(VerifiedCaller(caller));
        if let Some(token) = &member_token {
            match guard.tokens.verify(token, now_unix_seconds()) {
                Ok(claims) => {
                    request.extensions_mut().insert(VerifiedToken(claims));
                }
                Err(error) => {
                    let response = hop_refusal_response(HopRefusal::from(error));
                    tracing::info!(status = response.status().as_u16(), %error, "refused the member's token");
                    return response;
                }
            }
        }
        let call_context = CallContext { trace_id, member_token };
        let response = context::run_within(call_context, next.run(request)).await;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1_000.0;
        tracing::info!(status = response.status().as_u16(), elapsed_ms, "served");
        response
    }
    .instrument(span)
    .await
}

/// The RPC routes of one module, and every caller any of them accepts (whose verifiers the process must hold).
#[derive(Debug, Default)]
pub struct RpcRoutes {
    router: Router,
    callers: BTreeSet<Caller>,
}

impl RpcRoutes {
    /// No route yet.
    pub fn new() -> RpcRoutes {
        RpcRoutes::default()
    }

    /// Adds `POST path`: it checks that the calling service is one of `callers`, decodes the arguments, checks that
    /// the member's token speaks for the user that `acting_for` says the call acts for (see [`ActingFor`]), calls
    /// `handler` on `service`, and encodes its `Result`.
    pub fn rpc<S, A, T, E, P, F, Fut>(
        mut self,
        path: &str,
        service: &Arc<S>,
        callers: &'static [Caller],
        acting_for: P,
        handler: F,
    ) -> RpcRoutes
    where
        S: ?Sized + Send + Sync + 'static,
        A: DeserializeOwned + Send + 'static,
        T: Serialize + 'static,
        E: Serialize + 'static,
        P: Fn(&A) -> ActingFor + Clone + Send + Sync + 'static,
        F: Fn(Arc<S>, A) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        self.callers.extend(callers.iter().copied());
        let service = Arc::clone(service);
        let route = post(
            move |caller: Option<Extension<VerifiedCaller>>,
                  verified: Option<Extension<VerifiedToken>>,
                  body: Bytes| {
                let service = Arc::clone(&service);
                let acting_for = acting_for.clone();
                let handler = handler.clone();
                async move {
                    // The guard always sets the caller; a route served without the guard accepts no one.
                    let Some(Extension(VerifiedCaller(caller))) = caller else {
                        return refusal(StatusCode::UNAUTHORIZED, "missing or wrong service credential");
                    };
                    if !callers.contains(&caller) {
                        tracing::warn!(%caller, "refused an internal call from a service this route does not accept");
                        return refusal(
                            StatusCode::FORBIDDEN,
                            &format!("this route does not accept calls from {caller}"),
                        );
                    }
                    let arguments = match serde_json::from_slice::<A>(&body) {
                        Ok(arguments) => arguments,
                        Err(error) => {
                            return refusal(StatusCode::BAD_REQUEST, &format!("unreadable arguments: {error}"));
                        }
                    };
                    let claims = verified.map(|Extension(VerifiedToken(claims))| claims);
                    if let Err(hop_refusal) = acting_for(&arguments).check(claims.as_ref()) {
                        tracing::info!(%hop_refusal, "the member's token does not cover this call");
                        return hop_refusal_response(hop_refusal);
                    }
                    Json(handler(service, arguments).await).into_response()
                }
            },
        );
        self.router = self.router.route(path, route);
        self
    }

    /// Adds every route of `other`.
    pub fn merge(mut self, other: RpcRoutes) -> RpcRoutes {
        self.callers.extend(other.callers);
        self.router = self.router.merge(other.router);
        self
    }

    /// Every caller some route accepts.
    pub fn callers(&self) -> &BTreeSet<Caller> {
        &self.callers
    }
}

impl From<RpcRoutes> for Router {
    fn from(routes: RpcRoutes) -> Router {
        routes.router
    }
}

/// Puts the guard in front of the RPC routes of the modules this process hosts, with the public API's body limit.
pub fn guarded(module_routes: impl Into<Router>, guard: RpcGuard) -> Router {
    module_routes
        .into()
        .layer(axum::middleware::from_fn_with_state(guard, guard_internal_call))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_acting_for_a_user_needs_that_users_token_in_that_role() {
        let member = TokenClaims { user_id: 7, role: Role::Member, expires_at: i64::MAX };
        let owner = TokenClaims { user_id: 8, role: Role::Business, expires_at: i64::MAX };
        assert_eq!(ActingFor::NoUser.check(None), Ok(()));
        assert_eq!(ActingFor::AnySignedInUser.check(Some(&owner)), Ok(()));
        assert_eq!(ActingFor::AnySignedInUser.check(None), Err(HopRefusal::MissingToken));
        assert_eq!(ActingFor::member(7).check(Some(&member)), Ok(()));
        assert_eq!(ActingFor::member(7).check(None), Err(HopRefusal::MissingToken));
        assert_eq!(ActingFor::member(9).check(Some(&member)), Err(HopRefusal::Forbidden));
        assert_eq!(ActingFor::business_account(7).check(Some(&member)), Err(HopRefusal::Forbidden));
        assert_eq!(ActingFor::business_account(8).check(Some(&owner)), Ok(()));
    }
}
