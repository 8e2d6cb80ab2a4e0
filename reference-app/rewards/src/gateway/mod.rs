//! The public HTTP API: routing, authentication, rate limiting, input validation, and the dashboard.
//!
//! Handlers only call module traits. Whether a trait object is the local module or a client over the network was
//! decided by the composition root, so this file reads the same in every topology.

mod client_address;
mod errors;
mod extract;
mod rate_limit;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Extension, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rewards_analytics::api::AnalyticsApi;
use rewards_auth::api::{AuthApi, LoginRequest, RegisterRequest, Role};
use rewards_business::api::{BusinessApi, CreateBusinessRequest, CreateOfferRequest};
use rewards_platform::TokenVerifier;
use rewards_points::api::{ClaimRequest, CreateQrRequest, EmitRequest, MovementReceipt, PointsApi, RedeemRequest};
use rewards_users::api::{CreateProfileRequest, UsersApi, validate_display_name};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;

pub use client_address::{ForwardedHeader, TrustedProxies, parse_trusted_proxy};
pub use errors::ApiError;
use extract::{Caller, JsonBody, parse_id, positive_id};
use rate_limit::{AuthLimits, RateLimiter};

use crate::config::Tuning;
use crate::health::ModuleHealth;
use crate::transport::context::{self, CallContext};
use crate::transport::wire::{MAX_BODY_BYTES, TRACEPARENT_HEADER};

/// The routes that spend the login budgets, and whose general rate limit is keyed on the address whatever token the
/// request carries.
const AUTH_ROUTES: [&str; 2] = ["/v1/auth/register", "/v1/auth/login"];
/// How many movements and offers the dashboard shows.
const DASHBOARD_ITEMS: u32 = 10;
/// The largest purchase accepted, in bolivianos.
const MAX_PURCHASE_BS: f64 = 100_000.0;

/// The modules the gateway calls, and what it needs to guard the door.
#[derive(Clone)]
pub struct GatewayState {
    /// Accounts and tokens.
    pub auth: Arc<dyn AuthApi>,
    /// Profiles.
    pub users: Arc<dyn UsersApi>,
    /// Businesses and offers.
    pub business: Arc<dyn BusinessApi>,
    /// The ledger.
    pub points: Arc<dyn PointsApi>,
    /// Statistics.
    pub analytics: Arc<dyn AnalyticsApi>,
    /// Every module this process uses, local or remote, which `/healthz` asks.
    pub health: Arc<ModuleHealth>,
    /// The public key that verifies tokens, with which the rate limit tells a genuine subject from a made-up bearer
    /// string.
    pub tokens: TokenVerifier,
    /// The per-client request budget.
    pub rate_limiter: Arc<RateLimiter>,
    /// The budgets of logins and registrations, per address and per e-mail.
    pub auth_limits: Arc<AuthLimits>,
    /// The proxies whose forwarded headers name the client.
    pub trusted_proxies: Arc<TrustedProxies>,
}

/// Builds the state, with the rate limits of `tuning`.
#[allow(clippy::too_many_arguments)]
pub fn gateway_state(
    auth: Arc<dyn AuthApi>,
    users: Arc<dyn UsersApi>,
    business: Arc<dyn BusinessApi>,
    points: Arc<dyn PointsApi>,
    analytics: Arc<dyn AnalyticsApi>,
    health: ModuleHealth,
    tokens: TokenVerifier,
    tuning: &Tuning,
    trusted_proxies: TrustedProxies,
) -> GatewayState {
    GatewayState {
        auth,
        users,
        business,
        points,
        analytics,
        health: Arc::new(health),
        tokens,
        rate_limiter: Arc::new(RateLimiter::new(tuning.rate_limit_per_second, tuning.rate_limit_burst)),
        auth_limits: Arc::new(AuthLimits::new(
            tuning.auth_rate_limit_per_minute,
            tuning.auth_rate_limit_burst,
            tuning.auth_email_rate_limit_per_minute,
            tuning.auth_email_rate_limit_burst,
        )),
        trusted_proxies: Arc::new(trusted_proxies),
    }
}

/// The client's address, as [`TrustedProxies`] reads it, for the handlers that limit by address.
#[derive(Debug, Clone, Copy)]
struct ClientAddress(Option<IpAddr>);

/// The public router.
pub fn router(state: GatewayState) -> Router {
    let authenticated = Router::new()
        .route("/v1/businesses", post(create_business))
        .route("/v1/businesses/{id}/offers", post(create_offer))
        .route("/v1/businesses/{id}/stats", get(business_stats))
        .route("/v1/points/emit", post(emit_points))
        .route("/v1/points/qr", post(create_qr))
        .route("/v1/points/claim", post(claim_qr))
        .route("/v1/points/redeem", post(redeem_offer))
        .route("/v1/dashboard", get(dashboard))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/healthz", get(health))
        .route("/v1/auth/register", post(register))
        .route("/v1/auth/login", post(login))
        .merge(authenticated)
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take this method")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), trace_and_rate_limit))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

fn bearer_token(request: &Request) -> Option<String> {
    request.headers().get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::to_owned)
}

/// Starts the trace (continuing the client's `traceparent` if it sent one), works out the client's address, spends
/// one unit of the client's rate limit, and logs the answer at `info` with the trace id.
async fn trace_and_rate_limit(State(state): State<GatewayState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let trace_id = request
        .headers()
        .get(TRACEPARENT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(context::trace_id_from_traceparent)
        .unwrap_or_else(context::new_trace_id);
    let span =
        tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), trace_id = %trace_id);
    let peer_address = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(address)| address.ip());
    let client_address = peer_address.map(|peer| state.trusted_proxies.client_address(peer, request.headers()));
    request.extensions_mut().insert(ClientAddress(client_address));
    // On the routes that take no token, a token must not buy a bucket of its own.
    let token = if AUTH_ROUTES.contains(&request.uri().path()) { None } else { bearer_token(&request) };
    let client = rate_limit::client_key(&state.tokens, token.as_deref(), client_address);
    let response = if state.rate_limiter.try_acquire(&client) {
        let call_context = CallContext { trace_id, member_token: None };
        context::run_within(call_context, next.run(request)).instrument(span.clone()).await
    } else {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; slow down").into_response()
    };
    let elapsed_ms = started.elapsed().as_secs_f64() * 1_000.0;
    span.in_scope(|| tracing::info!(status = response.status().as_u16(), elapsed_ms, "answered"));
    response
}

/// Verifies the bearer token through the auth module and records the caller. From here on, peer calls carry the
/// member's token so that each service can re-verify it.
async fn authenticate(State(state): State<GatewayState>, mut request: Request, next: Next) -> Response {
    let Some(token) = bearer_token(&request) else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "missing_token", "this needs a bearer token").into_response();
    };
    let claims = match state.auth.verify(token.clone()).await {
        Ok(claims) => claims,
        Err(error) => return ApiError::from(error).into_response(),
    };
    request.extensions_mut().insert(Caller(claims));
    let trace_id = context::current().map(|call| call.trace_id).unwrap_or_else(context::new_trace_id);
    let call_context = CallContext { trace_id, member_token: Some(token) };
    context::run_within(call_context, next.run(request)).await
}

/// 200 once every module answers: a cheap query on each local module's storage, `/healthz` of each remote one.
async fn health(State(state): State<GatewayState>) -> Response {
    state.health.answer().await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    email: String,
    password: String,
    name: String,
    role: Role,
}

/// Spends one attempt of the address's and the e-mail's login budgets, or answers 429.
fn admit_auth_attempt(state: &GatewayState, client: ClientAddress, email: &str) -> Result<(), ApiError> {
    if state.auth_limits.admit(client.0, email) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many logins or registrations; slow down")
            .with_retry_after(60))
    }
}

async fn register(
    State(state): State<GatewayState>,
    Extension(client): Extension<ClientAddress>,
    JsonBody(body): JsonBody<RegisterBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    admit_auth_attempt(&state, client, &body.email)?;
    // The name is checked before auth creates the account, so that a bad name leaves nothing behind.
    let display_name = validate_display_name(&body.name)?;
    let user_id =
        state.auth.register(RegisterRequest { email: body.email, password: body.password, role: body.role }).await?;
    state.users.create_profile(CreateProfileRequest { user_id, display_name, role: body.role }).await?;
    Ok((StatusCode::CREATED, Json(json!({"user_id": user_id}))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

async fn login(
    State(state): State<GatewayState>,
    Extension(client): Extension<ClientAddress>,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    admit_auth_attempt(&state, client, &body.email)?;
    let token = state.auth.login(LoginRequest { email: body.email, password: body.password }).await?;
    Ok(Json(json!({"token": token})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBusinessBody {
    name: String,
    points_per_boliviano: i64,
}

async fn create_business(
    State(state): State<GatewayState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateBusinessBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let owner_user_id = caller.require_role(Role::Business)?;
    let business = state
        .business
        .create_business(CreateBusinessRequest {
            owner_user_id,
            name: body.name,
            points_per_boliviano: body.points_per_boliviano,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"business_id": business.business_id}))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateOfferBody {
    title: String,
    cost_points: i64,
}

async fn create_offer(
    State(state): State<GatewayState>,
    caller: Caller,
    Path(raw_business_id): Path<String>,
    JsonBody(body): JsonBody<CreateOfferBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let acting_user_id = caller.require_role(Role::Business)?;
    let business_id = parse_id("business id", &raw_business_id)?;
    let offer = state
        .business
        .create_offer(CreateOfferRequest {
            acting_user_id,
            business_id,
            title: body.title,
            cost_points: body.cost_points,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"offer_id": offer.offer_id}))))
}

/// Converts bolivianos to centavos, refusing amounts that are not positive, too large, or finer than a centavo.
fn purchase_cents(purchase_bs: f64) -> Result<i64, ApiError> {
    if !purchase_bs.is_finite() || purchase_bs <= 0.0 || purchase_bs > MAX_PURCHASE_BS {
        return Err(ApiError::invalid_input(format!("purchase_bs must be positive and at most {MAX_PURCHASE_BS}")));
    }
    let cents = (purchase_bs * 100.0).round();
    if (cents - purchase_bs * 100.0).abs() > 1e-6 {
        return Err(ApiError::invalid_input("purchase_bs must have at most two decimals"));
    }
    // The bounds above keep `cents` between 1 and 10,000,000, so the conversion is exact.
    Ok(cents as i64)
}

fn receipt_response(receipt: MovementReceipt) -> (StatusCode, Json<Value>) {
    let status = if receipt.replayed { StatusCode::OK } else { StatusCode::CREATED };
    let body = json!({"transaction_id": receipt.transaction_id, "points": receipt.points, "balance": receipt.balance});
    (status, Json(body))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmitBody {
    business_id: i64,
    member_id: i64,
    purchase_bs: f64,
    idempotency_key: String,
}

async fn emit_points(
    State(state): State<GatewayState>,
    caller: Caller,
    JsonBody(body): JsonBody<EmitBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let acting_user_id = caller.require_role(Role::Business)?;
    let receipt = state
        .points
        .emit(EmitRequest {
            acting_user_id,
            business_id: positive_id("business_id", body.business_id)?,
            member_id: positive_id("member_id", body.member_id)?,
            purchase_cents: purchase_cents(body.purchase_bs)?,
            idempotency_key: body.idempotency_key,
        })
        .await?;
    Ok(receipt_response(receipt))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateQrBody {
    business_id: i64,
    purchase_bs: f64,
}

async fn create_qr(
    State(state): State<GatewayState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateQrBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let acting_user_id = caller.require_role(Role::Business)?;
    let code = state
        .points
        .create_qr(CreateQrRequest {
            acting_user_id,
            business_id: positive_id("business_id", body.business_id)?,
            purchase_cents: purchase_cents(body.purchase_bs)?,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"code": code.code, "expires_at": code.expires_at}))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimBody {
    code: String,
}

async fn claim_qr(
    State(state): State<GatewayState>,
    caller: Caller,
    JsonBody(body): JsonBody<ClaimBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let member_id = caller.require_role(Role::Member)?;
    let receipt = state.points.claim(ClaimRequest { member_id, code: body.code }).await?;
    Ok(receipt_response(receipt))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    offer_id: i64,
    idempotency_key: String,
}

async fn redeem_offer(
    State(state): State<GatewayState>,
    caller: Caller,
    JsonBody(body): JsonBody<RedeemBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let member_id = caller.require_role(Role::Member)?;
    let receipt = state
        .points
        .redeem(RedeemRequest {
            member_id,
            offer_id: positive_id("offer_id", body.offer_id)?,
            idempotency_key: body.idempotency_key,
        })
        .await?;
    Ok(receipt_response(receipt))
}

/// The member's tier, from the current balance.
fn tier_for(balance: i64) -> &'static str {
    match balance {
        ..1_000 => "bronze",
        1_000..10_000 => "silver",
        _ => "gold",
    }
}

/// The request the latency tables measure. Its call chain, after the authentication middleware's `auth.verify`:
/// `users.get_profile`, `points.balance`, `points.recent_movements`, then `business.offers_of_businesses` for the
/// businesses that appear in those movements (which is why it comes last).
async fn dashboard(State(state): State<GatewayState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let member_id = caller.require_role(Role::Member)?;
    let profile = state.users.get_profile(member_id).await?;
    let balance = state.points.balance(member_id).await?;
    let recent = state.points.recent_movements(member_id, DASHBOARD_ITEMS).await?;
    let mut business_ids: Vec<i64> = Vec::new();
    for entry in &recent {
        if !business_ids.contains(&entry.business_id) {
            business_ids.push(entry.business_id);
        }
    }
    let offers = state.business.offers_of_businesses(business_ids, DASHBOARD_ITEMS).await?;
    Ok(Json(json!({
        "profile": {
            "user_id": profile.user_id,
            "name": profile.display_name,
            "member_since": profile.member_since,
        },
        "balance": balance,
        "recent_transactions": recent,
        "offers": offers,
        "tier": tier_for(balance),
    })))
}

async fn business_stats(
    State(state): State<GatewayState>,
    caller: Caller,
    Path(raw_business_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let acting_user_id = caller.require_role(Role::Business)?;
    let business_id = parse_id("business id", &raw_business_id)?;
    let business = state.business.get_business(business_id).await?;
    if business.owner_user_id != acting_user_id {
        return Err(ApiError::forbidden("only the owner of this business may see its statistics"));
    }
    let stats = state.analytics.business_stats(business_id).await?;
    Ok(Json(json!({"emitted": stats.emitted, "redeemed": stats.redeemed, "members": stats.members})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purchase_amounts_are_bounded_and_exact_to_the_centavo() {
        assert_eq!(purchase_cents(10.5).unwrap(), 1_050);
        assert_eq!(purchase_cents(0.01).unwrap(), 1);
        assert_eq!(purchase_cents(100_000.0).unwrap(), 10_000_000);
        for bad in [0.0, -1.0, 100_000.01, 1.005, f64::NAN, f64::INFINITY] {
            assert!(purchase_cents(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tiers_follow_the_balance() {
        assert_eq!(tier_for(0), "bronze");
        assert_eq!(tier_for(1_000), "silver");
        assert_eq!(tier_for(10_000), "gold");
    }
}
