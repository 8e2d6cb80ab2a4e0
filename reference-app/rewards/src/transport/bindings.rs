//! Each module's trait bound to the network, both ways: `*_routes` serves a local module to peers, and `*Client`
//! implements the module's trait by calling a peer. Every method is one `POST /rpc/{module}/{method}` whose body is
//! the arguments as a JSON array and whose answer is the method's `Result` as JSON.
//!
//! Each route lists the services it accepts calls from (the gateway, points, or both: whoever makes that call in some
//! topology, and no one else), and says whom the call acts for ([`ActingFor`]): the member or owner its arguments
//! name, any signed-in user (reads by id on a user's behalf), or nobody (registration, login, deliveries). The server
//! refuses a call from another service, and a call whose verified token does not speak for that user.
//!
//! The reads that only `verify` makes (the ledger summary, the invariants, the audit chain, every business's
//! statistics) are not served to peers at all: `verify` opens the modules' files itself.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_analytics::api::{AnalyticsApi, AnalyticsError, BusinessStats};
use rewards_audit::api::{AuditApi, AuditError, AuditedMovement};
use rewards_auth::api::{AuthApi, AuthError, LoginRequest, RegisterRequest, TokenClaims};
use rewards_business::api::{Business, BusinessApi, BusinessError, CreateBusinessRequest, CreateOfferRequest, Offer};
use rewards_points::api::{
    ClaimRequest, CreateQrRequest, EmitRequest, LedgerEntry, LedgerMovement, LedgerSubscriber, LedgerSummary,
    MovementReceipt, PointsApi, PointsError, QrCode, RedeemRequest, SubscriberFailure, UnitOfWork,
};
use rewards_users::api::{CreateProfileRequest, Profile, UsersApi, UsersError};

use crate::config::ModuleName;
use crate::secrets::Caller;
use crate::transport::client::{Idempotence, PeerClient};
use crate::transport::server::{ActingFor, RpcRoutes};

use ActingFor::{AnySignedInUser, NoUser};
use Idempotence::{Idempotent, NotIdempotent};

/// Calls only the public API makes.
const GATEWAY: &[Caller] = &[Caller::Gateway];
/// Reads that both the public API and points make (points checks the business, the offer and the member).
const GATEWAY_AND_POINTS: &[Caller] = &[Caller::Gateway, Caller::Service(ModuleName::Points)];
/// Deliveries of ledger movements, which only points' outbox relay makes.
const POINTS: &[Caller] = &[Caller::Service(ModuleName::Points)];

/// Why a read that only `verify` makes fails over the network.
fn not_served<E: rewards_platform::RemoteFailure>(module: &str) -> E {
    E::unavailable(format!("{module} serves this read to no peer; verify opens the module's file itself"))
}

/// Serves the auth module to peers.
pub fn auth_routes(service: Arc<dyn AuthApi>) -> RpcRoutes {
    RpcRoutes::new()
        .rpc(
            "/rpc/auth/register",
            &service,
            GATEWAY,
            |_: &(RegisterRequest,)| NoUser,
            |service, (request,): (RegisterRequest,)| async move { service.register(request).await },
        )
        .rpc(
            "/rpc/auth/login",
            &service,
            GATEWAY,
            |_: &(LoginRequest,)| NoUser,
            |service, (request,): (LoginRequest,)| async move { service.login(request).await },
        )
        .rpc(
            "/rpc/auth/verify",
            &service,
            GATEWAY,
            |_: &(String,)| NoUser,
            |service, (token,): (String,)| async move { service.verify(token).await },
        )
}

/// Reaches the auth module over the network.
#[derive(Debug)]
pub struct AuthClient(pub Arc<PeerClient>);

#[async_trait]
impl AuthApi for AuthClient {
    async fn register(&self, request: RegisterRequest) -> Result<i64, AuthError> {
        self.0.call("register", &(request,), NotIdempotent).await
    }

    async fn login(&self, request: LoginRequest) -> Result<String, AuthError> {
        // Never retried: a login that timed out may still be hashing, and retrying a saturated auth service multiplies
        // the very load that made it slow. The client retries, if it wants to.
        self.0.call("login", &(request,), NotIdempotent).await
    }

    async fn verify(&self, token: String) -> Result<TokenClaims, AuthError> {
        self.0.call("verify", &(token,), Idempotent).await
    }
}

/// Serves the users module to peers.
pub fn users_routes(service: Arc<dyn UsersApi>) -> RpcRoutes {
    RpcRoutes::new()
        .rpc(
            "/rpc/users/create_profile",
            &service,
            GATEWAY,
            |_: &(CreateProfileRequest,)| NoUser,
            |service, (request,): (CreateProfileRequest,)| async move { service.create_profile(request).await },
        )
        .rpc(
            "/rpc/users/get_profile",
            &service,
            GATEWAY_AND_POINTS,
            |_: &(i64,)| AnySignedInUser,
            |service, (user_id,): (i64,)| async move { service.get_profile(user_id).await },
        )
}

/// Reaches the users module over the network.
#[derive(Debug)]
pub struct UsersClient(pub Arc<PeerClient>);

#[async_trait]
impl UsersApi for UsersClient {
    async fn create_profile(&self, request: CreateProfileRequest) -> Result<Profile, UsersError> {
        // Creating the same profile twice is accepted by the module, so a retry is harmless.
        self.0.call("create_profile", &(request,), Idempotent).await
    }

    async fn get_profile(&self, user_id: i64) -> Result<Profile, UsersError> {
        self.0.call("get_profile", &(user_id,), Idempotent).await
    }
}

/// Serves the business module to peers.
pub fn business_routes(service: Arc<dyn BusinessApi>) -> RpcRoutes {
    RpcRoutes::new()
        .rpc(
            "/rpc/business/create_business",
            &service,
            GATEWAY,
            |(request,): &(CreateBusinessRequest,)| ActingFor::business_account(request.owner_user_id),
            |service, (request,): (CreateBusinessRequest,)| async move { service.create_business(request).await },
        )
        .rpc(
            "/rpc/business/get_business",
            &service,
            GATEWAY_AND_POINTS,
            |_: &(i64,)| AnySignedInUser,
            |service, (business_id,): (i64,)| async move { service.get_business(business_id).await },
        )
        .rpc(
            "/rpc/business/create_offer",
            &service,
            GATEWAY,
            |(request,): &(CreateOfferRequest,)| ActingFor::business_account(request.acting_user_id),
            |service, (request,): (CreateOfferRequest,)| async move { service.create_offer(request).await },
        )
        .rpc(
            "/rpc/business/get_offer",
            &service,
            GATEWAY_AND_POINTS,
            |_: &(i64,)| AnySignedInUser,
            |service, (offer_id,): (i64,)| async move { service.get_offer(offer_id).await },
        )
        .rpc(
            "/rpc/business/offers_of_businesses",
            &service,
            GATEWAY,
            |_: &(Vec<i64>, u32)| AnySignedInUser,
            |service, (business_ids, limit): (Vec<i64>, u32)| async move {
                service.offers_of_businesses(business_ids, limit).await
            },
        )
}

/// Reaches the business module over the network.
#[derive(Debug)]
pub struct BusinessClient(pub Arc<PeerClient>);

#[async_trait]
impl BusinessApi for BusinessClient {
    async fn create_business(&self, request: CreateBusinessRequest) -> Result<Business, BusinessError> {
        self.0.call("create_business", &(request,), NotIdempotent).await
    }

    async fn get_business(&self, business_id: i64) -> Result<Business, BusinessError> {
        self.0.call("get_business", &(business_id,), Idempotent).await
    }

    async fn create_offer(&self, request: CreateOfferRequest) -> Result<Offer, BusinessError> {
        self.0.call("create_offer", &(request,), NotIdempotent).await
    }

    async fn get_offer(&self, offer_id: i64) -> Result<Offer, BusinessError> {
        self.0.call("get_offer", &(offer_id,), Idempotent).await
    }

    async fn offers_of_businesses(&self, business_ids: Vec<i64>, limit: u32) -> Result<Vec<Offer>, BusinessError> {
        self.0.call("offers_of_businesses", &(business_ids, limit), Idempotent).await
    }
}

/// Serves the points module to peers.
pub fn points_routes(service: Arc<dyn PointsApi>) -> RpcRoutes {
    RpcRoutes::new()
        .rpc(
            "/rpc/points/emit",
            &service,
            GATEWAY,
            |(request,): &(EmitRequest,)| ActingFor::business_account(request.acting_user_id),
            |service, (request,): (EmitRequest,)| async move { service.emit(request).await },
        )
        .rpc(
            "/rpc/points/create_qr",
            &service,
            GATEWAY,
            |(request,): &(CreateQrRequest,)| ActingFor::business_account(request.acting_user_id),
            |service, (request,): (CreateQrRequest,)| async move { service.create_qr(request).await },
        )
        .rpc(
            "/rpc/points/claim",
            &service,
            GATEWAY,
            |(request,): &(ClaimRequest,)| ActingFor::member(request.member_id),
            |service, (request,): (ClaimRequest,)| async move { service.claim(request).await },
        )
        .rpc(
            "/rpc/points/redeem",
            &service,
            GATEWAY,
            |(request,): &(RedeemRequest,)| ActingFor::member(request.member_id),
            |service, (request,): (RedeemRequest,)| async move { service.redeem(request).await },
        )
        .rpc(
            "/rpc/points/balance",
            &service,
            GATEWAY,
            |(member_id,): &(i64,)| ActingFor::member(*member_id),
            |service, (member_id,): (i64,)| async move { service.balance(member_id).await },
        )
        .rpc(
            "/rpc/points/recent_movements",
            &service,
            GATEWAY,
            |(member_id, _): &(i64, u32)| ActingFor::member(*member_id),
            |service, (member_id, limit): (i64, u32)| async move { service.recent_movements(member_id, limit).await },
        )
}

/// Reaches the points module over the network.
#[derive(Debug)]
pub struct PointsClient(pub Arc<PeerClient>);

#[async_trait]
impl PointsApi for PointsClient {
    async fn emit(&self, request: EmitRequest) -> Result<MovementReceipt, PointsError> {
        // The idempotency key makes a repeated emit credit nothing, so it is safe to retry.
        self.0.call("emit", &(request,), Idempotent).await
    }

    async fn create_qr(&self, request: CreateQrRequest) -> Result<QrCode, PointsError> {
        self.0.call("create_qr", &(request,), NotIdempotent).await
    }

    async fn claim(&self, request: ClaimRequest) -> Result<MovementReceipt, PointsError> {
        self.0.call("claim", &(request,), NotIdempotent).await
    }

    async fn redeem(&self, request: RedeemRequest) -> Result<MovementReceipt, PointsError> {
        self.0.call("redeem", &(request,), Idempotent).await
    }

    async fn balance(&self, member_id: i64) -> Result<i64, PointsError> {
        self.0.call("balance", &(member_id,), Idempotent).await
    }

    async fn recent_movements(&self, member_id: i64, limit: u32) -> Result<Vec<LedgerEntry>, PointsError> {
        self.0.call("recent_movements", &(member_id, limit), Idempotent).await
    }

    async fn invariant_findings(&self) -> Result<Vec<String>, PointsError> {
        Err(not_served("points"))
    }

    async fn ledger_summary(&self) -> Result<LedgerSummary, PointsError> {
        Err(not_served("points"))
    }
}

/// Refuses a unit of work that holds a transaction: a remote subscriber can never join one, and being handed one
/// means the composition root wired in-transaction delivery to a remote module by mistake.
fn require_detached(unit_of_work: &UnitOfWork, module: &str) -> Result<(), SubscriberFailure> {
    if unit_of_work.is_detached() {
        Ok(())
    } else {
        Err(SubscriberFailure::new(format!(
            "{module} is remote and cannot join a transaction; deliver to it through the outbox"
        )))
    }
}

/// Serves the audit module to peers.
pub fn audit_routes(service: Arc<dyn AuditApi>) -> RpcRoutes {
    RpcRoutes::new().rpc(
        "/rpc/audit/record_movement",
        &service,
        POINTS,
        |_: &(LedgerMovement,)| NoUser,
        |service, (movement,): (LedgerMovement,)| async move {
            service.record_movement(&mut UnitOfWork::detached(), movement).await
        },
    )
}

/// Reaches the audit module over the network.
#[derive(Debug)]
pub struct AuditClient(pub Arc<PeerClient>);

#[async_trait]
impl LedgerSubscriber for AuditClient {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        require_detached(unit_of_work, "audit")?;
        // Audit ignores a second delivery of the same transaction id, so a retry is harmless.
        self.0.call("record_movement", &(movement,), Idempotent).await
    }
}

#[async_trait]
impl AuditApi for AuditClient {
    async fn chain_findings(&self) -> Result<Vec<String>, AuditError> {
        Err(not_served("audit"))
    }

    async fn recorded_movements(&self) -> Result<Vec<AuditedMovement>, AuditError> {
        Err(not_served("audit"))
    }
}

/// Serves the analytics module to peers.
pub fn analytics_routes(service: Arc<dyn AnalyticsApi>) -> RpcRoutes {
    RpcRoutes::new()
        .rpc(
            "/rpc/analytics/record_movement",
            &service,
            POINTS,
            |_: &(LedgerMovement,)| NoUser,
            |service, (movement,): (LedgerMovement,)| async move {
                service.record_movement(&mut UnitOfWork::detached(), movement).await
            },
        )
        .rpc(
            "/rpc/analytics/business_stats",
            &service,
            GATEWAY,
            |_: &(i64,)| AnySignedInUser,
            |service, (business_id,): (i64,)| async move { service.business_stats(business_id).await },
        )
}

/// Reaches the analytics module over the network.
#[derive(Debug)]
pub struct AnalyticsClient(pub Arc<PeerClient>);

#[async_trait]
impl LedgerSubscriber for AnalyticsClient {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        require_detached(unit_of_work, "analytics")?;
        // Analytics counts each transaction id once, so a retry is harmless.
        self.0.call("record_movement", &(movement,), Idempotent).await
    }
}

#[async_trait]
impl AnalyticsApi for AnalyticsClient {
    async fn business_stats(&self, business_id: i64) -> Result<BusinessStats, AnalyticsError> {
        self.0.call("business_stats", &(business_id,), Idempotent).await
    }

    async fn all_business_stats(&self) -> Result<Vec<BusinessStats>, AnalyticsError> {
        Err(not_served("analytics"))
    }
}
