//! The in-process implementation of [`PointsApi`] over the module's own `points_*` tables, and the outbox relay.
//!
//! Every movement follows the same steps: validate, replay an earlier answer if the idempotency key was seen, ask the
//! business and users modules what is needed (outside any transaction, because those calls may cross the network),
//! then in one unit of work write the ledger entry and the balance and publish the movement to each subscriber.
//! A subscriber is delivered to either inside that unit of work (when its tables share the database) or through a
//! row of `points_outbox` written in it, which the relay delivers later, at least once.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_business::api::{BusinessApi, BusinessError};
use rewards_platform::{Database, StorageError, UnitOfWork, now_unix_seconds};
use rewards_users::api::{Role, UsersApi, UsersError};
use rusqlite::{Connection, OptionalExtension};

use crate::api::{
    BusinessLedgerTotals, ClaimRequest, CreateQrRequest, EmitRequest, LedgerEntry, LedgerMovement, LedgerSubscriber,
    LedgerSummary, MAX_RECENT_MOVEMENTS, MovementKind, MovementReceipt, PointsApi, PointsError, QrCode, RedeemRequest,
};
use crate::domain;

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

/// How many outbox rows one relay pass reads.
const RELAY_BATCH_SIZE: i64 = 200;

impl From<rusqlite::Error> for PointsError {
    fn from(error: rusqlite::Error) -> Self {
        PointsError::Internal(error.to_string())
    }
}

/// How a subscriber receives movements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Inside the ledger's own transaction: the subscriber's tables live in the same database file.
    InTransaction,
    /// Through `points_outbox`, written in the ledger's transaction and delivered later by the relay.
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
}

/// The points module running in this process, on its own tables of `database`.
pub struct LocalPoints {
    database: Arc<Database>,
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

/// Looks up an earlier movement with the same idempotency scope and returns its receipt, or `None`.
fn replay(
    connection: &Connection,
    idempotency_scope: &str,
    request_fingerprint: &str,
) -> Result<Option<MovementReceipt>, PointsError> {
    let earlier = connection
        .query_row(
            "SELECT transaction_id, points, balance_after, request_fingerprint FROM points_ledger \
             WHERE idempotency_scope = ?1",
            [idempotency_scope],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, i64>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    match earlier {
        None => Ok(None),
        Some((_, _, _, fingerprint)) if fingerprint.as_deref() != Some(request_fingerprint) => {
            Err(PointsError::IdempotencyKeyReused)
        }
        Some((transaction_id, points, balance, _)) => {
            Ok(Some(MovementReceipt { transaction_id, points: points.abs(), balance, replayed: true }))
        }
    }
}

fn balance_of(connection: &Connection, member_id: i64) -> Result<i64, PointsError> {
    let balance = connection
        .query_row("SELECT balance FROM points_balances WHERE member_id = ?1", [member_id], |row| row.get::<_, i64>(0))
        .optional()?;
    Ok(balance.unwrap_or(0))
}

/// Writes one ledger entry and the new balance inside the caller's transaction.
fn write_movement(connection: &Connection, movement: &NewMovement<'_>) -> Result<LedgerMovement, PointsError> {
    let balance_after = balance_of(connection, movement.member_id)?
        .checked_add(movement.points)
        .ok_or_else(|| PointsError::InvalidInput("balance would overflow".to_owned()))?;
    if balance_after < 0 {
        return Err(PointsError::InsufficientPoints);
    }
    let occurred_at = now_unix_seconds();
    connection.execute(
        "INSERT INTO points_balances (member_id, balance) VALUES (?1, ?2) \
         ON CONFLICT (member_id) DO UPDATE SET balance = excluded.balance",
        rusqlite::params![movement.member_id, balance_after],
    )?;
    connection.execute(
        "INSERT INTO points_ledger (member_id, business_id, kind, points, balance_after, idempotency_scope, \
         request_fingerprint, qr_code, offer_id, occurred_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
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
    )?;
    Ok(LedgerMovement {
        transaction_id: connection.last_insert_rowid(),
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

impl LocalPoints {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM points_ledger), \
                 EXISTS (SELECT 1 FROM points_balances), \
                 EXISTS (SELECT 1 FROM points_qr_codes), EXISTS (SELECT 1 FROM points_outbox)",
                [],
                |_| Ok(()),
            )
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(
        database: Arc<Database>,
        business: Arc<dyn BusinessApi>,
        users: Arc<dyn UsersApi>,
        subscriptions: Vec<Subscription>,
        settings: PointsSettings,
    ) -> Result<LocalPoints, StorageError> {
        database.migrate(MIGRATION)?;
        Ok(LocalPoints { database, business, users, subscriptions, settings })
    }

    /// Whether any subscriber is delivered through the outbox, so that a relay must run.
    pub fn needs_outbox_relay(&self) -> bool {
        self.subscriptions.iter().any(|subscription| subscription.delivery == Delivery::Outbox)
    }

    /// Publishes a movement to every subscriber, inside the unit of work or through the outbox.
    async fn publish(&self, unit_of_work: &mut UnitOfWork, movement: &LedgerMovement) -> Result<(), PointsError> {
        for subscription in &self.subscriptions {
            match subscription.delivery {
                Delivery::InTransaction => subscription
                    .subscriber
                    .record_movement(unit_of_work, movement.clone())
                    .await
                    .map_err(|failure| {
                        PointsError::Internal(format!("{} could not record the movement: {failure}", subscription.name))
                    })?,
                Delivery::Outbox => {
                    let payload =
                        serde_json::to_string(movement).map_err(|error| PointsError::Internal(error.to_string()))?;
                    unit_of_work.connection()?.execute(
                        "INSERT INTO points_outbox (subscriber, transaction_id, payload, created_at) \
                         VALUES (?1, ?2, ?3, ?4)",
                        rusqlite::params![subscription.name, movement.transaction_id, payload, now_unix_seconds()],
                    )?;
                }
            }
        }
        Ok(())
    }

    /// Delivers pending outbox rows once, oldest first per subscriber, and returns how many were delivered.
    ///
    /// Each subscriber is served from its own queue, so that one that is down cannot starve the others. A delivery
    /// that fails ends that subscriber's pass, so that its movements keep their order; its rows stay pending and are
    /// retried on the next pass. Delivery is at least once: a crash between the subscriber's commit and the row's
    /// update delivers the row again, which the subscriber ignores by transaction id.
    pub async fn relay_outbox_once(&self) -> Result<usize, StorageError> {
        let mut delivered = 0;
        for subscription in &self.subscriptions {
            if subscription.delivery != Delivery::Outbox {
                continue;
            }
            let pending = self.database.with_connection(|connection| {
                let mut statement = connection.prepare_cached(
                    "SELECT outbox_id, payload FROM points_outbox WHERE subscriber = ?1 AND delivered_at IS NULL \
                     ORDER BY outbox_id LIMIT ?2",
                )?;
                let rows = statement.query_map(rusqlite::params![subscription.name, RELAY_BATCH_SIZE], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })?;
            for (outbox_id, payload) in pending {
                let outcome = match serde_json::from_str::<LedgerMovement>(&payload) {
                    Ok(movement) => subscription
                        .subscriber
                        .record_movement(&mut UnitOfWork::detached(), movement)
                        .await
                        .map_err(|failure| failure.0),
                    Err(error) => Err(format!("unreadable outbox payload: {error}")),
                };
                match outcome {
                    Ok(()) => {
                        self.database.with_connection(|connection| {
                            connection.execute(
                                "UPDATE points_outbox SET delivered_at = ?1, attempts = attempts + 1 \
                                 WHERE outbox_id = ?2",
                                rusqlite::params![now_unix_seconds(), outbox_id],
                            )
                        })?;
                        delivered += 1;
                    }
                    Err(message) => {
                        tracing::warn!(outbox_id, subscriber = %subscription.name, %message, "outbox delivery failed; will retry");
                        self.database.with_connection(|connection| {
                            connection.execute(
                                "UPDATE points_outbox SET attempts = attempts + 1 WHERE outbox_id = ?1",
                                [outbox_id],
                            )
                        })?;
                        break;
                    }
                }
            }
        }
        Ok(delivered)
    }

    async fn owned_business_rate(&self, acting_user_id: i64, business_id: i64) -> Result<i64, PointsError> {
        let business = self.business.get_business(business_id).await.map_err(business_error)?;
        if business.owner_user_id != acting_user_id {
            return Err(PointsError::NotOwner);
        }
        Ok(business.points_per_boliviano)
    }
}

#[async_trait]
impl PointsApi for LocalPoints {
    async fn emit(&self, request: EmitRequest) -> Result<MovementReceipt, PointsError> {
        let key = domain::idempotency_key(&request.idempotency_key)?;
        let purchase_cents = domain::purchase_cents(request.purchase_cents)?;
        let scope = format!("emit:{}:{key}", request.acting_user_id);
        let fingerprint = format!("{}:{}:{purchase_cents}", request.business_id, request.member_id);
        if let Some(receipt) =
            self.database.with_connection(|connection| Ok(replay(connection, &scope, &fingerprint)))??
        {
            return Ok(receipt);
        }
        let rate = self.owned_business_rate(request.acting_user_id, request.business_id).await?;
        let member = self.users.get_profile(request.member_id).await.map_err(users_error)?;
        if member.role != Role::Member {
            return Err(PointsError::InvalidInput("member_id must name a member account".to_owned()));
        }
        let points = domain::points_for_purchase(purchase_cents, rate)?;
        let mut unit_of_work = self.database.begin()?;
        // A concurrent request with the same key may have committed since the first check; the write lock is held now.
        if let Some(receipt) = replay(unit_of_work.connection()?, &scope, &fingerprint)? {
            return Ok(receipt);
        }
        let movement = write_movement(
            unit_of_work.connection()?,
            &NewMovement {
                member_id: request.member_id,
                business_id: request.business_id,
                kind: MovementKind::Emit,
                points,
                idempotency_scope: Some(&scope),
                request_fingerprint: Some(&fingerprint),
                qr_code: None,
                offer_id: None,
            },
        )?;
        self.publish(&mut unit_of_work, &movement).await?;
        unit_of_work.commit()?;
        Ok(receipt_of(&movement))
    }

    async fn create_qr(&self, request: CreateQrRequest) -> Result<QrCode, PointsError> {
        let purchase_cents = domain::purchase_cents(request.purchase_cents)?;
        let rate = self.owned_business_rate(request.acting_user_id, request.business_id).await?;
        let points = domain::points_for_purchase(purchase_cents, rate)?;
        let code = domain::new_qr_code();
        let created_at = now_unix_seconds();
        let expires_at = created_at.saturating_add(self.settings.qr_lifetime_seconds);
        self.database.with_connection(|connection| {
            connection.execute(
                "INSERT INTO points_qr_codes (code, business_id, points, created_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                rusqlite::params![code, request.business_id, points, created_at, expires_at],
            )
        })?;
        Ok(QrCode { code, points, expires_at })
    }

    async fn claim(&self, request: ClaimRequest) -> Result<MovementReceipt, PointsError> {
        let code = domain::qr_code(&request.code)?;
        let mut unit_of_work = self.database.begin()?;
        let connection = unit_of_work.connection()?;
        let stored = connection
            .query_row(
                "SELECT business_id, points, expires_at, claimed_by FROM points_qr_codes WHERE code = ?1",
                [code],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, Option<i64>>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((business_id, points, expires_at, claimed_by)) = stored else {
            return Err(PointsError::CodeNotFound);
        };
        if claimed_by.is_some() {
            return Err(PointsError::CodeUsed);
        }
        let now = now_unix_seconds();
        if now >= expires_at {
            return Err(PointsError::CodeExpired);
        }
        // The write lock is held, but the guard on `claimed_by` keeps the claim single even if that ever changes.
        let claimed = connection.execute(
            "UPDATE points_qr_codes SET claimed_by = ?1, claimed_at = ?2 WHERE code = ?3 AND claimed_by IS NULL",
            rusqlite::params![request.member_id, now, code],
        )?;
        if claimed != 1 {
            return Err(PointsError::CodeUsed);
        }
        let movement = write_movement(
            connection,
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
        )?;
        self.publish(&mut unit_of_work, &movement).await?;
        unit_of_work.commit()?;
        Ok(receipt_of(&movement))
    }

    async fn redeem(&self, request: RedeemRequest) -> Result<MovementReceipt, PointsError> {
        let key = domain::idempotency_key(&request.idempotency_key)?;
        let scope = format!("redeem:{}:{key}", request.member_id);
        let fingerprint = request.offer_id.to_string();
        if let Some(receipt) =
            self.database.with_connection(|connection| Ok(replay(connection, &scope, &fingerprint)))??
        {
            return Ok(receipt);
        }
        let offer = self.business.get_offer(request.offer_id).await.map_err(business_error)?;
        let mut unit_of_work = self.database.begin()?;
        if let Some(receipt) = replay(unit_of_work.connection()?, &scope, &fingerprint)? {
            return Ok(receipt);
        }
        let movement = write_movement(
            unit_of_work.connection()?,
            &NewMovement {
                member_id: request.member_id,
                business_id: offer.business_id,
                kind: MovementKind::Redeem,
                points: -offer.cost_points,
                idempotency_scope: Some(&scope),
                request_fingerprint: Some(&fingerprint),
                qr_code: None,
                offer_id: Some(offer.offer_id),
            },
        )?;
        self.publish(&mut unit_of_work, &movement).await?;
        unit_of_work.commit()?;
        Ok(receipt_of(&movement))
    }

    async fn balance(&self, member_id: i64) -> Result<i64, PointsError> {
        self.database.with_connection(|connection| Ok(balance_of(connection, member_id)))?
    }

    async fn recent_movements(&self, member_id: i64, limit: u32) -> Result<Vec<LedgerEntry>, PointsError> {
        let limit = limit.min(MAX_RECENT_MOVEMENTS);
        let rows = self.database.with_connection(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT transaction_id, business_id, kind, points, occurred_at FROM points_ledger \
                 WHERE member_id = ?1 ORDER BY transaction_id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(rusqlite::params![member_id, limit], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, i64>(3)?,
                    row.get::<_, i64>(4)?,
                ))
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })?;
        rows.into_iter()
            .map(|(transaction_id, business_id, kind, points, occurred_at)| {
                let kind = MovementKind::parse(&kind)
                    .ok_or_else(|| PointsError::Internal(format!("stored movement kind {kind} is unknown")))?;
                Ok(LedgerEntry { transaction_id, business_id, kind, points, occurred_at })
            })
            .collect()
    }

    async fn invariant_findings(&self) -> Result<Vec<String>, PointsError> {
        let findings = self.database.with_connection(|connection| {
            let mut findings = Vec::new();
            let mut mismatched = connection.prepare(
                "SELECT b.member_id, b.balance, COALESCE(SUM(l.points), 0) FROM points_balances b \
                 LEFT JOIN points_ledger l ON l.member_id = b.member_id GROUP BY b.member_id, b.balance \
                 HAVING b.balance != COALESCE(SUM(l.points), 0)",
            )?;
            for row in mismatched
                .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?, row.get::<_, i64>(2)?)))?
            {
                let (member_id, balance, ledger_sum) = row?;
                findings.push(format!(
                    "points: member {member_id} has balance {balance} but its ledger sums to {ledger_sum}"
                ));
            }
            let mut unbalanced = connection.prepare(
                "SELECT member_id, SUM(points) FROM points_ledger \
                 WHERE member_id NOT IN (SELECT member_id FROM points_balances) GROUP BY member_id",
            )?;
            for row in unbalanced.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))? {
                let (member_id, ledger_sum) = row?;
                findings.push(format!(
                    "points: member {member_id} has ledger entries summing to {ledger_sum} but no balance"
                ));
            }
            let mut negative =
                connection.prepare("SELECT member_id, balance FROM points_balances WHERE balance < 0")?;
            for row in negative.query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))? {
                let (member_id, balance) = row?;
                findings.push(format!("points: member {member_id} has a negative balance {balance}"));
            }
            let mut reused_keys = connection.prepare(
                "SELECT idempotency_scope, COUNT(*) FROM points_ledger WHERE idempotency_scope IS NOT NULL \
                 GROUP BY idempotency_scope HAVING COUNT(*) > 1",
            )?;
            for row in reused_keys.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))? {
                let (scope, count) = row?;
                findings.push(format!("points: idempotency key {scope} was used by {count} ledger entries"));
            }
            let mut reused_codes = connection.prepare(
                "SELECT qr_code, COUNT(*) FROM points_ledger WHERE qr_code IS NOT NULL \
                 GROUP BY qr_code HAVING COUNT(*) > 1",
            )?;
            for row in reused_codes.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))? {
                let (code, count) = row?;
                findings.push(format!("points: QR code {code} was claimed by {count} ledger entries"));
            }
            let mut claimed_without_entry = connection.prepare(
                "SELECT code FROM points_qr_codes WHERE claimed_by IS NOT NULL \
                 AND code NOT IN (SELECT qr_code FROM points_ledger WHERE qr_code IS NOT NULL)",
            )?;
            for row in claimed_without_entry.query_map([], |row| row.get::<_, String>(0))? {
                findings.push(format!("points: QR code {} is marked claimed but has no ledger entry", row?));
            }
            Ok(findings)
        })?;
        Ok(findings)
    }

    async fn ledger_summary(&self) -> Result<LedgerSummary, PointsError> {
        let summary = self.database.with_connection(|connection| {
            let mut statement = connection.prepare(
                "SELECT transaction_id, member_id, business_id, kind, points, balance_after, occurred_at \
                 FROM points_ledger ORDER BY transaction_id",
            )?;
            let entries = statement
                .query_map([], |row| {
                    let kind = row.get::<_, String>(3)?;
                    let kind = MovementKind::parse(&kind).ok_or_else(|| {
                        let unknown = format!("stored movement kind {kind} is unknown");
                        rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, unknown.into())
                    })?;
                    Ok(LedgerMovement {
                        transaction_id: row.get(0)?,
                        member_id: row.get(1)?,
                        business_id: row.get(2)?,
                        kind,
                        points: row.get(4)?,
                        balance_after: row.get(5)?,
                        occurred_at: row.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut totals = connection.prepare(
                "SELECT business_id, \
                 COALESCE(SUM(CASE WHEN points > 0 THEN points ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN points < 0 THEN -points ELSE 0 END), 0), \
                 COUNT(DISTINCT member_id) \
                 FROM points_ledger GROUP BY business_id ORDER BY business_id",
            )?;
            let totals_by_business = totals
                .query_map([], |row| {
                    Ok(BusinessLedgerTotals {
                        business_id: row.get(0)?,
                        emitted: row.get(1)?,
                        redeemed: row.get(2)?,
                        members: row.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let undelivered_outbox_rows =
                connection.query_row("SELECT COUNT(*) FROM points_outbox WHERE delivered_at IS NULL", [], |row| {
                    row.get::<_, i64>(0)
                })?;
            Ok(LedgerSummary { entries, totals_by_business, undelivered_outbox_rows })
        })?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use rewards_business::LocalBusiness;
    use rewards_business::api::CreateBusinessRequest;
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
            Err(crate::api::SubscriberFailure("the audit record could not be written".to_owned()))
        }
    }

    async fn points_with(
        directory: &tempfile::TempDir,
        subscriber: Arc<dyn LedgerSubscriber>,
        delivery: Delivery,
    ) -> (LocalPoints, i64, i64, i64) {
        let database = Database::open(&directory.path().join("rewards.db")).unwrap();
        let business = Arc::new(LocalBusiness::open(Arc::clone(&database)).unwrap());
        let users = Arc::new(LocalUsers::open(Arc::clone(&database)).unwrap());
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
        let subscriptions = vec![Subscription { name: "audit".to_owned(), subscriber, delivery }];
        let points =
            LocalPoints::open(database, business, users, subscriptions, PointsSettings { qr_lifetime_seconds: 60 })
                .unwrap();
        (points, owner_id, member_id, shop.business_id)
    }

    fn emit_request(owner_id: i64, member_id: i64, business_id: i64) -> EmitRequest {
        EmitRequest {
            acting_user_id: owner_id,
            business_id,
            member_id,
            purchase_cents: 10_000,
            idempotency_key: "purchase-1".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_failing_in_transaction_subscriber_rolls_the_movement_back() {
        let directory = tempfile::tempdir().unwrap();
        let (points, owner_id, member_id, business_id) =
            points_with(&directory, Arc::new(FailingSubscriber), Delivery::InTransaction).await;
        let outcome = points.emit(emit_request(owner_id, member_id, business_id)).await;
        assert!(matches!(outcome, Err(PointsError::Internal(_))), "{outcome:?}");
        assert_eq!(points.balance(member_id).await.unwrap(), 0);
        assert!(points.ledger_summary().await.unwrap().entries.is_empty());
    }

    #[tokio::test]
    async fn an_outbox_subscriber_does_not_block_the_movement_and_stays_pending_until_delivered() {
        let directory = tempfile::tempdir().unwrap();
        let (points, owner_id, member_id, business_id) =
            points_with(&directory, Arc::new(FailingSubscriber), Delivery::Outbox).await;
        let receipt = points.emit(emit_request(owner_id, member_id, business_id)).await.unwrap();
        assert_eq!((receipt.points, receipt.balance, receipt.replayed), (100, 100, false));
        let replay = points.emit(emit_request(owner_id, member_id, business_id)).await.unwrap();
        assert_eq!((replay.transaction_id, replay.balance, replay.replayed), (receipt.transaction_id, 100, true));
        assert_eq!(points.relay_outbox_once().await.unwrap(), 0);
        assert_eq!(points.ledger_summary().await.unwrap().undelivered_outbox_rows, 1);
        assert!(points.invariant_findings().await.unwrap().is_empty());
    }
}
