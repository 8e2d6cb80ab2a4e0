//! The in-process implementation of [`AnalyticsApi`] over the module's own `analytics_*` tables.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_platform::{Database, StorageError, now_unix_seconds};
use rusqlite::{Connection, OptionalExtension};

use crate::api::{
    AnalyticsApi, AnalyticsError, BusinessStats, LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork,
};

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

/// The analytics module running in this process, on its own tables of `database`.
pub struct LocalAnalytics {
    database: Arc<Database>,
}

impl LocalAnalytics {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM analytics_processed_movements), \
                 EXISTS (SELECT 1 FROM analytics_business_totals), \
                 EXISTS (SELECT 1 FROM analytics_business_members)",
                [],
                |_| Ok(()),
            )
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(database: Arc<Database>) -> Result<LocalAnalytics, StorageError> {
        database.migrate(MIGRATION)?;
        Ok(LocalAnalytics { database })
    }
}

fn count_movement(connection: &Connection, movement: &LedgerMovement) -> rusqlite::Result<()> {
    // The processed-movements row is the consumer's idempotency record: a redelivered movement inserts nothing.
    let newly_processed = connection.execute(
        "INSERT INTO analytics_processed_movements (transaction_id, processed_at) VALUES (?1, ?2) \
         ON CONFLICT (transaction_id) DO NOTHING",
        rusqlite::params![movement.transaction_id, now_unix_seconds()],
    )?;
    if newly_processed == 0 {
        return Ok(());
    }
    let (emitted, redeemed) = if movement.points >= 0 { (movement.points, 0) } else { (0, -movement.points) };
    connection.execute(
        "INSERT INTO analytics_business_totals (business_id, emitted, redeemed) VALUES (?1, ?2, ?3) \
         ON CONFLICT (business_id) DO UPDATE SET emitted = emitted + excluded.emitted, \
         redeemed = redeemed + excluded.redeemed",
        rusqlite::params![movement.business_id, emitted, redeemed],
    )?;
    connection.execute(
        "INSERT INTO analytics_business_members (business_id, member_id) VALUES (?1, ?2) \
         ON CONFLICT (business_id, member_id) DO NOTHING",
        rusqlite::params![movement.business_id, movement.member_id],
    )?;
    Ok(())
}

fn stats_of(connection: &Connection, business_id: i64) -> rusqlite::Result<BusinessStats> {
    let (emitted, redeemed) = connection
        .query_row(
            "SELECT emitted, redeemed FROM analytics_business_totals WHERE business_id = ?1",
            [business_id],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
        )
        .optional()?
        .unwrap_or((0, 0));
    let members = connection.query_row(
        "SELECT COUNT(*) FROM analytics_business_members WHERE business_id = ?1",
        [business_id],
        |row| row.get::<_, i64>(0),
    )?;
    Ok(BusinessStats { business_id, emitted, redeemed, members })
}

#[async_trait]
impl LedgerSubscriber for LocalAnalytics {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        self.database
            .within(unit_of_work, |connection| count_movement(connection, &movement))
            .map_err(|error| SubscriberFailure(format!("analytics: {error}")))
    }
}

#[async_trait]
impl AnalyticsApi for LocalAnalytics {
    async fn business_stats(&self, business_id: i64) -> Result<BusinessStats, AnalyticsError> {
        Ok(self.database.with_connection(|connection| stats_of(connection, business_id))?)
    }

    async fn all_business_stats(&self) -> Result<Vec<BusinessStats>, AnalyticsError> {
        let stats = self.database.with_connection(|connection| {
            let mut statement =
                connection.prepare("SELECT business_id FROM analytics_business_totals ORDER BY business_id")?;
            let business_ids =
                statement.query_map([], |row| row.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<i64>>>()?;
            business_ids
                .into_iter()
                .map(|business_id| stats_of(connection, business_id))
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use rewards_points::api::MovementKind;

    use super::*;

    #[tokio::test]
    async fn movements_are_counted_once_per_transaction() {
        let directory = tempfile::tempdir().unwrap();
        let analytics = LocalAnalytics::open(Database::open(&directory.path().join("analytics.db")).unwrap()).unwrap();
        let movement = |transaction_id, member_id, points| LedgerMovement {
            transaction_id,
            member_id,
            business_id: 7,
            kind: if points > 0 { MovementKind::Emit } else { MovementKind::Redeem },
            points,
            balance_after: 0,
            occurred_at: 0,
        };
        for delivered in [movement(1, 1, 100), movement(1, 1, 100), movement(2, 2, 50), movement(3, 1, -30)] {
            analytics.record_movement(&mut UnitOfWork::detached(), delivered).await.unwrap();
        }
        let expected = BusinessStats { business_id: 7, emitted: 150, redeemed: 30, members: 2 };
        assert_eq!(analytics.business_stats(7).await.unwrap(), expected);
        assert_eq!(analytics.all_business_stats().await.unwrap(), vec![expected]);
        assert_eq!(analytics.business_stats(8).await.unwrap().emitted, 0);
    }
}
