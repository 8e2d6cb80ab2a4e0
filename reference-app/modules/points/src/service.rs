//! The in-process implementation of [`PointsApi`] over the module's own tables (`points_*` on SQLite, the `points`
//! schema on PostgreSQL), and the outbox relay.
//!
//! Every movement follows the same steps: validate, replay an earlier answer if the idempotency key was seen, ask the
//! business and users modules what is needed (outside any transaction, because those calls may cross the network),
//! then in one unit of work lock the member's balance, write the ledger entry and the balance, and publish the
//! movement to each subscriber. A subscriber is delivered to either inside that unit of work (when its tables share
//! the database) or through a row of the outbox written in it, which the relay delivers later, at least once.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_business::api::{BusinessApi, BusinessError};
use rewards_platform::{ModuleStore, Row, StorageError, Transaction, UnitOfWork, now_unix_seconds, params};
use rewards_users::api::{Role, UsersApi, UsersError};

use crate::api::{
    BusinessLedgerTotals, ClaimRequest, CreateQrRequest, EmissionBudget, EmitRequest, LedgerEntry, LedgerMovement,
    LedgerSubscriber, LedgerSummary, MAX_RECENT_MOVEMENTS, MovementKind, MovementReceipt, PointsApi, PointsError,
    QrCode, RedeemRequest, SubscriberFailure,
};
use crate::domain;
use crate::statements::*;

/// How many outbox rows one relay pass leases per subscriber.
const RELAY_BATCH_SIZE: i64 = 200;

/// How long a relay's lease on the rows it took lasts: several times a delivery's deadline, so that a row is never
/// taken by a second relay while the first still delivers it. The relay renews it while it works through a batch,
/// and a relay that dies leaves its rows to the next one when it runs out.
const RELAY_LEASE_SECONDS: i64 = 10;

/// The most one grant may add to a business's budget, and the most its budget may reach: far beyond any real
/// economy, and far enough below `i64::MAX` that no sum of budgets or balances can overflow.
const MAX_GRANT: i64 = 1_000_000_000_000_000;
const MAX_BUDGET: i64 = 1_000_000_000_000_000_000;

/// How a subscriber receives movements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Inside the ledger's own transaction: the subscriber's tables live in the same database.
    InTransaction,
    /// Through the outbox, written in the ledger's transaction and delivered later by the relay.
    Outbox,
}

/// One subscriber of ledger movements, with its stable name (stored in outbox rows) and its delivery.
pub struct Subscription {
    /// A stable name such as `audit`; outbox rows are addressed by it.
    pub name: String,
    /// The local module or the remote client.
    pub subscriber: Arc<dyn LedgerSubscriber>,
    /// In the transaction, or through the outbox.
    pub delivery: Delivery,
}

/// Settings of the points module.
#[derive(Debug, Clone, Copy)]
pub struct PointsSettings {
    /// How long a QR code can be claimed after its creation.
    pub qr_lifetime_seconds: i64,
    /// How many times in a row a subscriber may refuse one outbox row (answer, and fail to record it) before the
    /// relay parks the row and moves on to the subscriber's later rows. A subscriber that cannot be reached at all
    /// does not count: its rows wait, in order, for it to come back.
    pub outbox_max_attempts: i64,
}

/// The points module running in this process, on its own tables.
pub struct LocalPoints {
    store: ModuleStore,
    business: Arc<dyn BusinessApi>,
    users: Arc<dyn UsersApi>,
    subscriptions: Vec<Subscription>,
    settings: PointsSettings,
}

/// A ledger entry about to be written.
struct NewMovement<'request> {
    member_id: i64,
    business_id: i64,
    kind: MovementKind,
    points: i64,
    idempotency_scope: Option<&'request str>,
    request_fingerprint: Option<&'request str>,
    qr_code: Option<&'request str>,
    offer_id: Option<i64>,
}

fn business_error(error: BusinessError) -> PointsError {
    match error {
        BusinessError::BusinessNotFound => PointsError::BusinessNotFound,
        BusinessError::OfferNotFound => PointsError::OfferNotFound,
        BusinessError::NotOwner => PointsError::NotOwner,
        BusinessError::InvalidInput(message) => PointsError::InvalidInput(message),
        BusinessError::Unavailable(message) => PointsError::Unavailable(message),
        BusinessError::RefusedAtHop(refusal) => PointsError::RefusedAtHop(refusal),
        BusinessError::Internal(message) => PointsError::Internal(format!("business: {message}")),
    }
}

fn users_error(error: UsersError) -> PointsError {
    match error {
        UsersError::NotFound => PointsError::MemberNotFound,
        UsersError::InvalidInput(message) => PointsError::InvalidInput(message),
        UsersError::Unavailable(message) => PointsError::Unavailable(message),
        UsersError::RefusedAtHop(refusal) => PointsError::RefusedAtHop(refusal),
        UsersError::Conflict | UsersError::Internal(_) => PointsError::Internal(format!("users: {error}")),
    }
}

/// The receipt of an earlier movement with the same idempotency scope, from its ledger row, or `None`.
fn replayed(row: Option<Row>, request_fingerprint: &str) -> Result<Option<MovementReceipt>, PointsError> {
    let Some(row) = row else {
        return Ok(None);
    };
    let fingerprint: Option<String> = row.get(3)?;
    if fingerprint.as_deref() != Some(request_fingerprint) {
        return Err(PointsError::IdempotencyKeyReused);
    }
    let points: i64 = row.get(1)?;
    Ok(Some(MovementReceipt {
        transaction_id: row.get(0)?,
        points: points.abs(),
        balance: row.get(2)?,
        replayed: true,
    }))
}

/// Makes sure the member has a balance row, locks it for the rest of the unit of work (PostgreSQL; SQLite's unit of
/// work holds the write lock already), and returns the balance.
async fn lock_balance(transaction: &mut Transaction<'_>, member_id: i64) -> Result<i64, PointsError> {
    transaction.execute(&ENSURE_BALANCE, params![member_id]).await?;
    Ok(transaction.query_one(&LOCK_BALANCE, params![member_id]).await?.get(0)?)
}

/// Spends `points` of the business's emission budget inside the caller's transaction, or refuses the credit. Every
/// movement that credits a member calls it before it locks the member's balance, so the locks are always taken in
/// the same order (budget, then balance).
async fn charge_budget(transaction: &mut Transaction<'_>, business_id: i64, points: i64) -> Result<(), PointsError> {
    if transaction.execute(&CHARGE_BUDGET, params![business_id, points]).await? != 1 {
        return Err(PointsError::EmissionBudgetExceeded);
    }
    Ok(())
}

/// Writes one ledger entry and the new balance inside the caller's transaction, the balance's row locked.
async fn write_movement(
    transaction: &mut Transaction<'_>,
    balance_before: i64,
    movement: &NewMovement<'_>,
) -> Result<LedgerMovement, PointsError> {
    let balance_after = balance_before
        .checked_add(movement.points)
        .ok_or_else(|| PointsError::InvalidInput("balance would overflow".to_owned()))?;
    if balance_after < 0 {
        return Err(PointsError::InsufficientPoints);
    }
    let occurred_at = now_unix_seconds();
    transaction.execute(&SET_BALANCE, params![movement.member_id, balance_after]).await?;
    let transaction_id = transaction
        .query_one(
            &APPEND_ENTRY,
            params![
                movement.member_id,
                movement.business_id,
                movement.kind.as_str(),
                movement.points,
                balance_after,
                movement.idempotency_scope,
                movement.request_fingerprint,
                movement.qr_code,
                movement.offer_id,
                occurred_at,
            ],
        )
        .await?
        .get(0)?;
    Ok(LedgerMovement {
        transaction_id,
        member_id: movement.member_id,
        business_id: movement.business_id,
        kind: movement.kind,
        points: movement.points,
        balance_after,
        occurred_at,
    })
}

fn receipt_of(movement: &LedgerMovement) -> MovementReceipt {
    MovementReceipt {
        transaction_id: movement.transaction_id,
        points: movement.points.abs(),
        balance: movement.balance_after,
        replayed: false,
    }
}

fn movement_kind(text: &str) -> Result<MovementKind, PointsError> {
    MovementKind::parse(text).ok_or_else(|| PointsError::Internal(format!("stored movement kind {text} is unknown")))
}

impl LocalPoints {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation.
    pub async fn open(
        store: ModuleStore,
        business: Arc<dyn BusinessApi>,
        users: Arc<dyn UsersApi>,
        subscriptions: Vec<Subscription>,
        settings: PointsSettings,
    ) -> Result<LocalPoints, StorageError> {
        store.migrate(&MIGRATION).await?;
        Ok(LocalPoints { store, business, users, subscriptions, settings })
    }

    /// Whether any subscriber is delivered through the outbox, so that a relay must run.
    pub fn needs_outbox_relay(&self) -> bool {
        self.subscriptions.iter().any(|subscription| subscription.delivery == Delivery::Outbox)
    }

    /// The budget's invariants: each budget's grants sum to what it says was granted, its business's credits in the
    /// ledger sum to what it says was emitted, which never exceeds what was granted; no business credited points
    /// without a budget; and the points members hold never exceed the budgets ever granted.
    async fn budget_findings(&self) -> Result<Vec<String>, PointsError> {
        let sums = |rows: Vec<Row>| -> Result<std::collections::BTreeMap<i64, i64>, StorageError> {
            rows.iter().map(|row| Ok((row.get(0)?, row.get(1)?))).collect()
        };
        let mut grants = sums(self.store.query(&GRANTS_BY_BUSINESS, &[]).await?)?;
        let mut credits = sums(self.store.query(&CREDITS_BY_BUSINESS, &[]).await?)?;
        let mut findings = Vec::new();
        for row in self.store.query(&BUDGETS, &[]).await? {
            let (business_id, granted, emitted): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let granted_in_ledger = grants.remove(&business_id).unwrap_or(0);
            let credited_in_ledger = credits.remove(&business_id).unwrap_or(0);
            if granted != granted_in_ledger {
                findings.push(format!(
                    "points: business {business_id} has a budget of {granted} but its grants sum to {granted_in_ledger}"
                ));
            }
            if emitted != credited_in_ledger {
                findings.push(format!(
                    "points: business {business_id} has used {emitted} of its budget but credited {credited_in_ledger} \
                     points in the ledger"
                ));
            }
            if credited_in_ledger > granted_in_ledger {
                findings.push(format!(
                    "points: business {business_id} credited {credited_in_ledger} points but was granted only \
                     {granted_in_ledger}"
                ));
            }
        }
        for (business_id, granted) in grants {
            findings.push(format!("points: business {business_id} was granted {granted} points but has no budget"));
        }
        for (business_id, credited) in credits {
            findings.push(format!("points: business {business_id} credited {credited} points without any budget"));
        }
        let circulation = self.store.query_one(&CIRCULATION, &[]).await?;
        let (held, granted): (i64, i64) = (circulation.get(0)?, circulation.get(1)?);
        if held > granted {
            findings.push(format!(
                "points: members hold {held} points between them, more than the {granted} ever granted to businesses"
            ));
        }
        Ok(findings)
    }

    async fn replay(&self, scope: &str, fingerprint: &str) -> Result<Option<MovementReceipt>, PointsError> {
        replayed(self.store.query_opt(&REPLAY, params![scope]).await?, fingerprint)
    }

    /// Writes a keyed movement (emit, redeem) in a unit of work: locks the key, replays it if a concurrent request
    /// committed it meanwhile, charges the business's budget for a credit, locks the member's balance, writes and
    /// publishes, commits.
    async fn keyed_movement(&self, movement: NewMovement<'_>) -> Result<MovementReceipt, PointsError> {
        let scope = movement.idempotency_scope.unwrap_or_default();
        let fingerprint = movement.request_fingerprint.unwrap_or_default();
        let mut transaction = self.store.begin().await?;
        transaction.execute(&LOCK_KEY, params![scope]).await?;
        // An earlier request with this key has committed by now, if there was one: the key's lock is held.
        if let Some(receipt) = replayed(transaction.query_opt(&REPLAY, params![scope]).await?, fingerprint)? {
            return Ok(receipt);
        }
        if movement.points > 0 {
            charge_budget(&mut transaction, movement.business_id, movement.points).await?;
        }
        let balance = lock_balance(&mut transaction, movement.member_id).await?;
        let written = write_movement(&mut transaction, balance, &movement).await?;
        self.publish(&mut transaction, &written).await?;
        transaction.commit().await?;
        Ok(receipt_of(&written))
    }

    /// Publishes a movement to every subscriber, inside the unit of work or through the outbox.
    async fn publish(&self, transaction: &mut Transaction<'_>, movement: &LedgerMovement) -> Result<(), PointsError> {
        for subscription in &self.subscriptions {
            match subscription.delivery {
                Delivery::InTransaction => subscription
                    .subscriber
                    .record_movement(transaction.unit_of_work(), movement.clone())
                    .await
                    .map_err(|failure| {
                        PointsError::Internal(format!("{} could not record the movement: {failure}", subscription.name))
                    })?,
                Delivery::Outbox => {
                    let payload =
                        serde_json::to_string(movement).map_err(|error| PointsError::Internal(error.to_string()))?;
                    transaction
                        .execute(
                            &ENQUEUE,
                            params![
                                subscription.name.as_str(),
                                movement.transaction_id,
                                payload.as_str(),
                                now_unix_seconds()
                            ],
                        )
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Delivers pending outbox rows once, oldest first per subscriber, and returns how many were delivered.
    ///
    /// Each subscriber is served from its own queue, so that one that is down cannot starve the others. The relay
    /// first leases a batch of rows (no other relay takes them while the lease lasts), then delivers them outside
    /// any transaction. A delivery that fails ends that subscriber's pass, so that its movements keep their order;
    /// the failed row and the rest of the batch are released and retried on the next pass. Delivery is at least
    /// once: a crash between the subscriber's commit and the row's update delivers the row again after the lease,
    /// which the subscriber ignores by transaction id.
    pub async fn relay_outbox_once(&self) -> Result<usize, StorageError> {
        let mut delivered = 0;
        for subscription in &self.subscriptions {
            if subscription.delivery != Delivery::Outbox {
                continue;
            }
            let now = now_unix_seconds();
            let mut lease_until = now + RELAY_LEASE_SECONDS;
            let leased = self
                .store
                .query(&LEASE_PENDING, params![subscription.name.as_str(), now, lease_until, RELAY_BATCH_SIZE])
                .await?;
            let mut pending = leased
                .iter()
                .map(|row| Ok((row.get::<i64>(0)?, row.get::<String>(1)?)))
                .collect::<Result<Vec<_>, StorageError>>()?;
            pending.sort_by_key(|(outbox_id, _)| *outbox_id);
            let ids: Vec<i64> = pending.iter().map(|(outbox_id, _)| *outbox_id).collect();
            for (position, (outbox_id, payload)) in pending.iter().enumerate() {
                if now_unix_seconds() + RELAY_LEASE_SECONDS / 2 >= lease_until {
                    let renewed = now_unix_seconds() + RELAY_LEASE_SECONDS;
                    let rest = &ids[position..];
                    let kept = self.store.execute(&MOVE_LEASE, params![renewed, rest, lease_until]).await?;
                    lease_until = renewed;
                    if kept < rest.len() as u64 {
                        // This relay was too slow and another took rows over; leave the rest of the batch to it.
                        break;
                    }
                }
                let outcome = match serde_json::from_str::<LedgerMovement>(payload) {
                    Ok(movement) => {
                        subscription.subscriber.record_movement(&mut UnitOfWork::detached(), movement).await
                    }
                    Err(error) => Err(SubscriberFailure::new(format!("unreadable outbox payload: {error}"))),
                };
                match outcome {
                    Ok(()) => {
                        self.store.execute(&MARK_DELIVERED, params![now_unix_seconds(), *outbox_id]).await?;
                        delivered += 1;
                    }
                    Err(failure) => {
                        let message = failure.message;
                        if failure.unreachable {
                            tracing::warn!(outbox_id, subscriber = %subscription.name, %message, "outbox delivery failed; will retry");
                            self.store.execute(&RELEASE, params![*outbox_id]).await?;
                        } else {
                            self.store.execute(&MARK_FAILED, params![*outbox_id]).await?;
                            let max_attempts = self.settings.outbox_max_attempts;
                            let parked = self
                                .store
                                .query_opt(&PARK, params![now_unix_seconds(), *outbox_id, max_attempts])
                                .await?;
                            if let Some(parked) = parked {
                                // The alert: this movement will not reach the subscriber until an operator requeues it.
                                let attempts: i64 = parked.get(0)?;
                                tracing::error!(
                                    outbox_id,
                                    subscriber = %subscription.name,
                                    attempts,
                                    %message,
                                    "outbox row parked: the subscriber refused it every time; its later rows go ahead \
                                     (rewards verify counts parked rows; rewards operator requeue-outbox retries them)"
                                );
                                continue;
                            }
                            tracing::warn!(outbox_id, subscriber = %subscription.name, %message, "the subscriber refused an outbox row; will retry");
                        }
                        let untried = &ids[position + 1..];
                        if !untried.is_empty() {
                            self.store.execute(&MOVE_LEASE, params![None::<i64>, untried, lease_until]).await?;
                        }
                        break;
                    }
                }
            }
        }
        Ok(delivered)
    }

    /// The emission rate of a business that the acting user owns and an operator has approved. Ownership is checked
    /// first, so that nobody learns whether another owner's business is approved.
    async fn owned_business_rate(&self, acting_user_id: i64, business_id: i64) -> Result<i64, PointsError> {
        let business = self.business.get_business(business_id).await.map_err(business_error)?;
        if business.owner_user_id != acting_user_id {
            return Err(PointsError::NotOwner);
        }
        if !business.approved {
            return Err(PointsError::BusinessNotApproved);
        }
        Ok(business.points_per_boliviano)
    }

    /// Puts every parked outbox row back in its subscriber's queue (`rewards operator requeue-outbox`), once the
    /// cause is fixed, and returns how many.
    pub async fn requeue_parked_outbox_rows(&self) -> Result<u64, StorageError> {
        self.store.execute(&REQUEUE_PARKED, &[]).await
    }

    /// A business's emission budget (all zero when nothing was ever granted to it).
    pub async fn emission_budget(&self, business_id: i64) -> Result<EmissionBudget, PointsError> {
        let row = self.store.query_opt(&BUDGET, params![business_id]).await?;
        Ok(match row {
            Some(row) => EmissionBudget { business_id, granted: row.get(0)?, emitted: row.get(1)? },
            None => EmissionBudget { business_id, granted: 0, emitted: 0 },
        })
    }

    /// The operator's top-up (`rewards operator grant-budget`): records the grant in the budget ledger and raises the
    /// business's budget by `points`, in one unit of work. Like approval, it is not part of [`PointsApi`]: no peer
    /// and no public route can call it, only a process that opens the module's storage itself.
    pub async fn grant_budget(&self, business_id: i64, points: i64) -> Result<EmissionBudget, PointsError> {
        if !(1..=MAX_GRANT).contains(&points) {
            return Err(PointsError::InvalidInput(format!("a grant must be between 1 and {MAX_GRANT} points")));
        }
        self.business.get_business(business_id).await.map_err(business_error)?;
        let mut transaction = self.store.begin().await?;
        let granted_before: i64 = match transaction.query_opt(&BUDGET, params![business_id]).await? {
            Some(row) => row.get(0)?,
            None => 0,
        };
        if granted_before.saturating_add(points) > MAX_BUDGET {
            return Err(PointsError::InvalidInput(format!("a business's budget may not exceed {MAX_BUDGET} points")));
        }
        transaction.execute(&RECORD_GRANT, params![business_id, points, now_unix_seconds()]).await?;
        let raised = transaction.query_one(&RAISE_BUDGET, params![business_id, points]).await?;
        let budget = EmissionBudget { business_id, granted: raised.get(0)?, emitted: raised.get(1)? };
        transaction.commit().await?;
        Ok(budget)
    }
}

#[async_trait]
impl PointsApi for LocalPoints {
    async fn emit(&self, request: EmitRequest) -> Result<MovementReceipt, PointsError> {
        let key = domain::idempotency_key(&request.idempotency_key)?;
        let purchase_cents = domain::purchase_cents(request.purchase_cents)?;
        let scope = format!("emit:{}:{key}", request.acting_user_id);
        let fingerprint = format!("{}:{}:{purchase_cents}", request.business_id, request.member_id);
        if let Some(receipt) = self.replay(&scope, &fingerprint).await? {
            return Ok(receipt);
        }
        let rate = self.owned_business_rate(request.acting_user_id, request.business_id).await?;
        let member = self.users.get_profile(request.member_id).await.map_err(users_error)?;
        if member.role != Role::Member {
            return Err(PointsError::InvalidInput("member_id must name a member account".to_owned()));
        }
        let points = domain::points_for_purchase(purchase_cents, rate)?;
        self.keyed_movement(NewMovement {
            member_id: request.member_id,
            business_id: request.business_id,
            kind: MovementKind::Emit,
            points,
            idempotency_scope: Some(&scope),
            request_fingerprint: Some(&fingerprint),
            qr_code: None,
            offer_id: None,
        })
        .await
    }

    async fn create_qr(&self, request: CreateQrRequest) -> Result<QrCode, PointsError> {
        let purchase_cents = domain::purchase_cents(request.purchase_cents)?;
        let rate = self.owned_business_rate(request.acting_user_id, request.business_id).await?;
        let points = domain::points_for_purchase(purchase_cents, rate)?;
        // A code promises points the budget covers now; the claim charges the budget, and is refused if it no longer
        // does by then.
        let remaining: i64 = match self.store.query_opt(&REMAINING_BUDGET, params![request.business_id]).await? {
            Some(row) => row.get(0)?,
            None => 0,
        };
        if points > remaining {
            return Err(PointsError::EmissionBudgetExceeded);
        }
        let code = domain::new_qr_code();
        let created_at = now_unix_seconds();
        let expires_at = created_at.saturating_add(self.settings.qr_lifetime_seconds);
        self.store
            .execute(&CREATE_QR, params![code.as_str(), request.business_id, points, created_at, expires_at])
            .await?;
        Ok(QrCode { code, points, expires_at })
    }

    async fn claim(&self, request: ClaimRequest) -> Result<MovementReceipt, PointsError> {
        let code = domain::qr_code(&request.code)?;
        let mut transaction = self.store.begin().await?;
        // Locks the code (PostgreSQL): a concurrent claim waits here and then finds it claimed.
        let Some(stored) = transaction.query_opt(&LOCK_QR, params![code]).await? else {
            return Err(PointsError::CodeNotFound);
        };
        let (business_id, points, expires_at, claimed_by): (i64, i64, i64, Option<i64>) =
            (stored.get(0)?, stored.get(1)?, stored.get(2)?, stored.get(3)?);
        if claimed_by.is_some() {
            return Err(PointsError::CodeUsed);
        }
        let now = now_unix_seconds();
        if now >= expires_at {
            return Err(PointsError::CodeExpired);
        }
        if transaction.execute(&CLAIM_QR, params![request.member_id, now, code]).await? != 1 {
            return Err(PointsError::CodeUsed);
        }
        charge_budget(&mut transaction, business_id, points).await?;
        let balance = lock_balance(&mut transaction, request.member_id).await?;
        let movement = write_movement(
            &mut transaction,
            balance,
            &NewMovement {
                member_id: request.member_id,
                business_id,
                kind: MovementKind::Claim,
                points,
                idempotency_scope: None,
                request_fingerprint: None,
                qr_code: Some(code),
                offer_id: None,
            },
        )
        .await?;
        self.publish(&mut transaction, &movement).await?;
        transaction.commit().await?;
        Ok(receipt_of(&movement))
    }

    async fn redeem(&self, request: RedeemRequest) -> Result<MovementReceipt, PointsError> {
        let key = domain::idempotency_key(&request.idempotency_key)?;
        let scope = format!("redeem:{}:{key}", request.member_id);
        let fingerprint = request.offer_id.to_string();
        if let Some(receipt) = self.replay(&scope, &fingerprint).await? {
            return Ok(receipt);
        }
        let offer = self.business.get_offer(request.offer_id).await.map_err(business_error)?;
        self.keyed_movement(NewMovement {
            member_id: request.member_id,
            business_id: offer.business_id,
            kind: MovementKind::Redeem,
            points: -offer.cost_points,
            idempotency_scope: Some(&scope),
            request_fingerprint: Some(&fingerprint),
            qr_code: None,
            offer_id: Some(offer.offer_id),
        })
        .await
    }

    async fn balance(&self, member_id: i64) -> Result<i64, PointsError> {
        match self.store.query_opt(&BALANCE, params![member_id]).await? {
            Some(row) => Ok(row.get(0)?),
            None => Ok(0),
        }
    }

    async fn recent_movements(&self, member_id: i64, limit: u32) -> Result<Vec<LedgerEntry>, PointsError> {
        let limit = limit.min(MAX_RECENT_MOVEMENTS);
        let rows = self.store.query(&RECENT_MOVEMENTS, params![member_id, limit]).await?;
        rows.iter()
            .map(|row| {
                Ok(LedgerEntry {
                    transaction_id: row.get(0)?,
                    business_id: row.get(1)?,
                    kind: movement_kind(&row.get::<String>(2)?)?,
                    points: row.get(3)?,
                    occurred_at: row.get(4)?,
                })
            })
            .collect()
    }

    async fn invariant_findings(&self) -> Result<Vec<String>, PointsError> {
        let mut findings = Vec::new();
        for row in self.store.query(&MISMATCHED_BALANCES, &[]).await? {
            let (member_id, balance, ledger_sum): (i64, i64, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            findings
                .push(format!("points: member {member_id} has balance {balance} but its ledger sums to {ledger_sum}"));
        }
        for row in self.store.query(&UNBALANCED_MEMBERS, &[]).await? {
            let (member_id, ledger_sum): (i64, i64) = (row.get(0)?, row.get(1)?);
            findings
                .push(format!("points: member {member_id} has ledger entries summing to {ledger_sum} but no balance"));
        }
        for row in self.store.query(&NEGATIVE_BALANCES, &[]).await? {
            let (member_id, balance): (i64, i64) = (row.get(0)?, row.get(1)?);
            findings.push(format!("points: member {member_id} has a negative balance {balance}"));
        }
        for row in self.store.query(&REUSED_KEYS, &[]).await? {
            let (scope, count): (String, i64) = (row.get(0)?, row.get(1)?);
            findings.push(format!("points: idempotency key {scope} was used by {count} ledger entries"));
        }
        for row in self.store.query(&REUSED_CODES, &[]).await? {
            let (code, count): (String, i64) = (row.get(0)?, row.get(1)?);
            findings.push(format!("points: QR code {code} was claimed by {count} ledger entries"));
        }
        for row in self.store.query(&CLAIMED_WITHOUT_ENTRY, &[]).await? {
            findings
                .push(format!("points: QR code {} is marked claimed but has no ledger entry", row.get::<String>(0)?));
        }
        findings.extend(self.budget_findings().await?);
        Ok(findings)
    }

    async fn ledger_summary(&self) -> Result<LedgerSummary, PointsError> {
        let entries = self
            .store
            .query(&ALL_ENTRIES, &[])
            .await?
            .iter()
            .map(|row| {
                Ok(LedgerMovement {
                    transaction_id: row.get(0)?,
                    member_id: row.get(1)?,
                    business_id: row.get(2)?,
                    kind: movement_kind(&row.get::<String>(3)?)?,
                    points: row.get(4)?,
                    balance_after: row.get(5)?,
                    occurred_at: row.get(6)?,
                })
            })
            .collect::<Result<Vec<_>, PointsError>>()?;
        let totals_by_business = self
            .store
            .query(&TOTALS_BY_BUSINESS, &[])
            .await?
            .iter()
            .map(|row| {
                Ok(BusinessLedgerTotals {
                    business_id: row.get(0)?,
                    emitted: row.get(1)?,
                    redeemed: row.get(2)?,
                    members: row.get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let undelivered_outbox_rows = self.store.query_one(&UNDELIVERED, &[]).await?.get(0)?;
        let parked_outbox_rows = self
            .store
            .query(&PARKED_BY_SUBSCRIBER, &[])
            .await?
            .iter()
            .map(|row| Ok((row.get(0)?, row.get(1)?)))
            .collect::<Result<Vec<_>, StorageError>>()?;
        Ok(LedgerSummary { entries, totals_by_business, undelivered_outbox_rows, parked_outbox_rows })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use rewards_business::LocalBusiness;
    use rewards_business::api::CreateBusinessRequest;
    use rewards_platform::testing::TestDatabases;
    use rewards_platform::{Database, Sql};
    use rewards_users::LocalUsers;
    use rewards_users::api::CreateProfileRequest;

    use super::*;

    /// A subscriber that writes nothing and always fails, standing in for an audit module that cannot record.
    struct FailingSubscriber;

    #[async_trait]
    impl LedgerSubscriber for FailingSubscriber {
        async fn record_movement(
            &self,
            _unit_of_work: &mut UnitOfWork,
            _movement: LedgerMovement,
        ) -> Result<(), crate::api::SubscriberFailure> {
            Err(crate::api::SubscriberFailure::new("the audit record could not be written"))
        }
    }

    /// A subscriber that remembers every delivery and takes a few milliseconds over each, as a remote one does.
    #[derive(Default)]
    struct CountingSubscriber {
        delivered: Mutex<Vec<i64>>,
    }

    #[async_trait]
    impl LedgerSubscriber for CountingSubscriber {
        async fn record_movement(
            &self,
            _unit_of_work: &mut UnitOfWork,
            movement: LedgerMovement,
        ) -> Result<(), crate::api::SubscriberFailure> {
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
            self.delivered.lock().unwrap().push(movement.transaction_id);
            Ok(())
        }
    }

    /// The budget the fixture's business is granted: enough for every test but the one about budgets.
    const FIXTURE_BUDGET: i64 = 1_000_000;

    struct Fixture {
        points: LocalPoints,
        owner_id: i64,
        member_id: i64,
        business_id: i64,
    }

    async fn points_with(
        database: &Arc<Database>,
        subscriber: Arc<dyn LedgerSubscriber>,
        delivery: Delivery,
    ) -> Fixture {
        let business = Arc::new(LocalBusiness::open(database.module_store("business").unwrap()).await.unwrap());
        let users = Arc::new(LocalUsers::open(database.module_store("users").unwrap()).await.unwrap());
        let owner_id = 1;
        let member_id = 2;
        users
            .create_profile(CreateProfileRequest {
                user_id: member_id,
                display_name: "Ana".to_owned(),
                role: Role::Member,
            })
            .await
            .unwrap();
        let shop = business
            .create_business(CreateBusinessRequest {
                owner_user_id: owner_id,
                name: "Shop".to_owned(),
                points_per_boliviano: 1,
            })
            .await
            .unwrap();
        business.approve_business(shop.business_id).await.unwrap();
        let subscriptions = vec![Subscription { name: "audit".to_owned(), subscriber, delivery }];
        let points = LocalPoints::open(
            database.module_store("points").unwrap(),
            business,
            users,
            subscriptions,
            PointsSettings { qr_lifetime_seconds: 60, outbox_max_attempts: 3 },
        )
        .await
        .unwrap();
        points.grant_budget(shop.business_id, FIXTURE_BUDGET).await.unwrap();
        Fixture { points, owner_id, member_id, business_id: shop.business_id }
    }

    fn emit_request(fixture: &Fixture, key: &str) -> EmitRequest {
        EmitRequest {
            acting_user_id: fixture.owner_id,
            business_id: fixture.business_id,
            member_id: fixture.member_id,
            purchase_cents: 10_000,
            idempotency_key: key.to_owned(),
        }
    }

    #[tokio::test]
    async fn a_failing_in_transaction_subscriber_rolls_the_movement_back() {
        for database in TestDatabases::open("a_failing_in_transaction_subscriber_rolls_back").await.all {
            let fixture = points_with(&database, Arc::new(FailingSubscriber), Delivery::InTransaction).await;
            let outcome = fixture.points.emit(emit_request(&fixture, "purchase-1")).await;
            assert!(matches!(outcome, Err(PointsError::Internal(_))), "{outcome:?}");
            assert_eq!(fixture.points.balance(fixture.member_id).await.unwrap(), 0);
            assert!(fixture.points.ledger_summary().await.unwrap().entries.is_empty());
        }
    }

    #[tokio::test]
    async fn an_outbox_subscriber_does_not_block_the_movement_and_stays_pending_until_delivered() {
        for database in TestDatabases::open("an_outbox_subscriber_does_not_block").await.all {
            let fixture = points_with(&database, Arc::new(FailingSubscriber), Delivery::Outbox).await;
            let points = &fixture.points;
            let receipt = points.emit(emit_request(&fixture, "purchase-1")).await.unwrap();
            assert_eq!((receipt.points, receipt.balance, receipt.replayed), (100, 100, false));
            let replay = points.emit(emit_request(&fixture, "purchase-1")).await.unwrap();
            assert_eq!((replay.transaction_id, replay.balance, replay.replayed), (receipt.transaction_id, 100, true));
            assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
            // The failed row was released: the next pass tries it again at once.
            assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
            assert_eq!(points.ledger_summary().await.unwrap().undelivered_outbox_rows, 1);
            assert!(points.invariant_findings().await.unwrap().is_empty());
        }
    }

    #[tokio::test]
    async fn two_relays_never_deliver_the_same_row() {
        for database in TestDatabases::open("two_relays_never_deliver_the_same_row").await.all {
            let subscriber = Arc::new(CountingSubscriber::default());
            let fixture = points_with(&database, Arc::clone(&subscriber) as _, Delivery::Outbox).await;
            for index in 0..30 {
                fixture.points.emit(emit_request(&fixture, &format!("purchase-{index}"))).await.unwrap();
            }
            // A second points process on the same database, relaying to the same subscriber.
            let second = LocalPoints::open(
                database.module_store("points").unwrap(),
                Arc::clone(&fixture.points.business),
                Arc::clone(&fixture.points.users),
                vec![Subscription {
                    name: "audit".to_owned(),
                    subscriber: Arc::clone(&subscriber) as _,
                    delivery: Delivery::Outbox,
                }],
                fixture.points.settings,
            )
            .await
            .unwrap();
            let (first_count, second_count) =
                tokio::join!(fixture.points.relay_outbox_once(), second.relay_outbox_once());
            let (first_count, second_count) = (first_count.unwrap(), second_count.unwrap());
            assert_eq!(first_count + second_count, 30, "{database:?}");
            let mut delivered = subscriber.delivered.lock().unwrap().clone();
            delivered.sort_unstable();
            delivered.dedup();
            assert_eq!(delivered.len(), 30, "a row was delivered twice: {database:?}");
            assert_eq!(fixture.points.ledger_summary().await.unwrap().undelivered_outbox_rows, 0);
        }
    }

    #[tokio::test]
    async fn concurrent_requests_with_one_key_write_one_entry_and_redeems_never_overdraw() {
        for database in TestDatabases::open("concurrent_requests_with_one_key").await.all {
            let fixture =
                Arc::new(points_with(&database, Arc::new(CountingSubscriber::default()), Delivery::Outbox).await);
            let mut emits = tokio::task::JoinSet::new();
            for _ in 0..20 {
                let fixture = Arc::clone(&fixture);
                emits.spawn(async move { fixture.points.emit(emit_request(&fixture, "same-key")).await });
            }
            let mut transaction_ids = Vec::new();
            while let Some(outcome) = emits.join_next().await {
                transaction_ids.push(outcome.unwrap().unwrap().transaction_id);
            }
            transaction_ids.dedup();
            assert_eq!(transaction_ids.len(), 1, "{database:?}");
            assert_eq!(fixture.points.balance(fixture.member_id).await.unwrap(), 100);
            // Thirty points each against a balance of 100: three succeed, whatever the interleaving.
            let offer = fixture
                .points
                .business
                .create_offer(rewards_business::api::CreateOfferRequest {
                    acting_user_id: fixture.owner_id,
                    business_id: fixture.business_id,
                    title: "Coffee".to_owned(),
                    cost_points: 30,
                })
                .await
                .unwrap();
            let mut redeems = tokio::task::JoinSet::new();
            for index in 0..20 {
                let fixture = Arc::clone(&fixture);
                let offer_id = offer.offer_id;
                redeems.spawn(async move {
                    fixture
                        .points
                        .redeem(RedeemRequest {
                            member_id: fixture.member_id,
                            offer_id,
                            idempotency_key: format!("redeem-{index}"),
                        })
                        .await
                });
            }
            let mut succeeded = 0;
            while let Some(outcome) = redeems.join_next().await {
                match outcome.unwrap() {
                    Ok(_) => succeeded += 1,
                    Err(PointsError::InsufficientPoints) => {}
                    Err(other) => panic!("unexpected {other:?} on {database:?}"),
                }
            }
            assert_eq!(succeeded, 3, "{database:?}");
            assert_eq!(fixture.points.balance(fixture.member_id).await.unwrap(), 10);
            assert_eq!(fixture.points.invariant_findings().await.unwrap(), Vec::<String>::new());
        }
    }

    /// A second business of the fixture's owner, approved or not, with the given budget (none when zero).
    async fn another_business(fixture: &Fixture, database: &Arc<Database>, approved: bool, budget: i64) -> i64 {
        let business = LocalBusiness::open(database.module_store("business").unwrap()).await.unwrap();
        let created = business
            .create_business(CreateBusinessRequest {
                owner_user_id: fixture.owner_id,
                name: "Kiosk".to_owned(),
                points_per_boliviano: 1,
            })
            .await
            .unwrap();
        if approved {
            business.approve_business(created.business_id).await.unwrap();
        }
        if budget > 0 {
            fixture.points.grant_budget(created.business_id, budget).await.unwrap();
        }
        created.business_id
    }

    #[tokio::test]
    async fn only_approved_businesses_emit_and_never_beyond_their_budget() {
        for database in TestDatabases::open("only_approved_businesses_emit").await.all {
            let fixture = points_with(&database, Arc::new(CountingSubscriber::default()), Delivery::Outbox).await;
            let points = &fixture.points;
            let emit_for = |business_id: i64, key: &str| EmitRequest { business_id, ..emit_request(&fixture, key) };
            let qr_for = |business_id: i64| CreateQrRequest {
                acting_user_id: fixture.owner_id,
                business_id,
                purchase_cents: 10_000,
            };
            let unapproved = another_business(&fixture, &database, false, 1_000).await;
            assert_eq!(points.emit(emit_for(unapproved, "a")).await, Err(PointsError::BusinessNotApproved));
            assert_eq!(points.create_qr(qr_for(unapproved)).await, Err(PointsError::BusinessNotApproved));
            let without_budget = another_business(&fixture, &database, true, 0).await;
            assert_eq!(points.emit(emit_for(without_budget, "b")).await, Err(PointsError::EmissionBudgetExceeded));
            assert_eq!(points.create_qr(qr_for(without_budget)).await, Err(PointsError::EmissionBudgetExceeded));
            // A budget of 250: two emits of 100 fit, the third does not, and a grant lets it through.
            let small = another_business(&fixture, &database, true, 250).await;
            points.emit(emit_for(small, "c1")).await.unwrap();
            let code = points.create_qr(qr_for(small)).await.unwrap();
            points.emit(emit_for(small, "c2")).await.unwrap();
            assert_eq!(points.emit(emit_for(small, "c3")).await, Err(PointsError::EmissionBudgetExceeded));
            // The code was covered when it was made, but the claim finds the budget spent.
            let claim = ClaimRequest { member_id: fixture.member_id, code: code.code };
            assert_eq!(points.claim(claim.clone()).await, Err(PointsError::EmissionBudgetExceeded));
            assert!(points.emit(emit_for(small, "c1")).await.unwrap().replayed, "a replay costs nothing");
            points.grant_budget(small, 100).await.unwrap();
            points.claim(claim).await.unwrap();
            let budget = points.emission_budget(small).await.unwrap();
            assert_eq!((budget.granted, budget.emitted), (350, 300));
            assert_eq!(
                points.grant_budget(small, 0).await,
                Err(PointsError::InvalidInput(format!("a grant must be between 1 and {MAX_GRANT} points")))
            );
            assert_eq!(points.grant_budget(999, 10).await, Err(PointsError::BusinessNotFound));
            assert_eq!(points.invariant_findings().await.unwrap(), Vec::<String>::new(), "{database:?}");
        }
    }

    /// Someone with write access to points' tables raises a budget's `granted` without a grant behind it.
    const RAISE_WITHOUT_GRANT: Sql = Sql {
        sqlite: "UPDATE points_emission_budgets SET granted = granted + 500",
        postgres: "UPDATE points.emission_budgets SET granted = granted + 500",
    };

    #[tokio::test]
    async fn concurrent_emits_never_overshoot_the_budget() {
        for database in TestDatabases::open("concurrent_emits_never_overshoot").await.all {
            let fixture =
                Arc::new(points_with(&database, Arc::new(CountingSubscriber::default()), Delivery::Outbox).await);
            let business_id = another_business(&fixture, &database, true, 1_000).await;
            let mut emits = tokio::task::JoinSet::new();
            for index in 0..40 {
                let fixture = Arc::clone(&fixture);
                emits.spawn(async move {
                    let request = EmitRequest { business_id, ..emit_request(&fixture, &format!("race-{index}")) };
                    fixture.points.emit(request).await
                });
            }
            let mut succeeded = 0;
            while let Some(outcome) = emits.join_next().await {
                match outcome.unwrap() {
                    Ok(receipt) => succeeded += receipt.points,
                    Err(PointsError::EmissionBudgetExceeded) => {}
                    Err(other) => panic!("unexpected {other:?} on {database:?}"),
                }
            }
            assert_eq!(succeeded, 1_000, "{database:?}");
            let budget = fixture.points.emission_budget(business_id).await.unwrap();
            assert_eq!((budget.granted, budget.emitted), (1_000, 1_000), "{database:?}");
            assert_eq!(fixture.points.invariant_findings().await.unwrap(), Vec::<String>::new(), "{database:?}");
            database.module_store("points").unwrap().execute(&RAISE_WITHOUT_GRANT, &[]).await.unwrap();
            let findings = fixture.points.invariant_findings().await.unwrap();
            assert!(
                findings
                    .iter()
                    .any(|finding| finding.contains(&format!("business {business_id} has a budget of 1500"))),
                "{findings:?}"
            );
        }
    }

    /// A subscriber that refuses one transaction, as if its payload broke it, and records every other one.
    #[derive(Default)]
    struct PoisonedSubscriber {
        poisoned_transaction: std::sync::atomic::AtomicI64,
        unreachable: std::sync::atomic::AtomicBool,
        delivered: Mutex<Vec<i64>>,
    }

    #[async_trait]
    impl LedgerSubscriber for PoisonedSubscriber {
        async fn record_movement(
            &self,
            _unit_of_work: &mut UnitOfWork,
            movement: LedgerMovement,
        ) -> Result<(), SubscriberFailure> {
            use std::sync::atomic::Ordering::SeqCst;
            if self.unreachable.load(SeqCst) {
                return Err(rewards_platform::RemoteFailure::unavailable("connection refused".to_owned()));
            }
            if movement.transaction_id == self.poisoned_transaction.load(SeqCst) {
                return Err(SubscriberFailure::new("this movement breaks the subscriber"));
            }
            self.delivered.lock().unwrap().push(movement.transaction_id);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_row_refused_too_often_is_parked_and_no_longer_blocks_the_rest() {
        use std::sync::atomic::Ordering::SeqCst;
        for database in TestDatabases::open("a_row_refused_too_often_is_parked").await.all {
            let subscriber = Arc::new(PoisonedSubscriber::default());
            let fixture = points_with(&database, Arc::clone(&subscriber) as _, Delivery::Outbox).await;
            let points = &fixture.points;
            // Unreachable: however many passes fail, nothing is parked, and the rows wait in order.
            subscriber.unreachable.store(true, SeqCst);
            let first = points.emit(emit_request(&fixture, "purchase-1")).await.unwrap();
            for index in 2..=3 {
                points.emit(emit_request(&fixture, &format!("purchase-{index}"))).await.unwrap();
            }
            for _ in 0..10 {
                assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
            }
            let summary = points.ledger_summary().await.unwrap();
            assert_eq!((summary.undelivered_outbox_rows, summary.parked_outbox_rows.len()), (3, 0), "{database:?}");
            // Reachable, but it refuses the first movement: three refusals (the fixture's limit) park it, and the
            // pass that parks it goes on to deliver the other two.
            subscriber.unreachable.store(false, SeqCst);
            subscriber.poisoned_transaction.store(first.transaction_id, SeqCst);
            assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
            assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
            assert_eq!(points.relay_outbox_once().await.unwrap(), 2);
            let summary = points.ledger_summary().await.unwrap();
            assert_eq!(summary.undelivered_outbox_rows, 0, "{database:?}");
            assert_eq!(summary.parked_outbox_rows, vec![("audit".to_owned(), 1)], "{database:?}");
            assert_eq!(points.relay_outbox_once().await.unwrap(), 0, "a parked row is not tried again");
            // Once the cause is fixed, the operator requeues it and it is delivered.
            subscriber.poisoned_transaction.store(0, SeqCst);
            assert_eq!(points.requeue_parked_outbox_rows().await.unwrap(), 1);
            assert_eq!(points.relay_outbox_once().await.unwrap(), 1);
            let summary = points.ledger_summary().await.unwrap();
            assert_eq!((summary.undelivered_outbox_rows, summary.parked_outbox_rows.len()), (0, 0), "{database:?}");
            let mut delivered = subscriber.delivered.lock().unwrap().clone();
            delivered.sort_unstable();
            assert_eq!(delivered.len(), 3, "{database:?}");
        }
    }
}
