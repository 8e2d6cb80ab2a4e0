//! The in-process implementation of [`AnalyticsApi`] over the module's own tables (`analytics_*` on SQLite, the
//! `analytics` schema on PostgreSQL).

use async_trait::async_trait;
use rewards_platform::{ModuleStore, Sql, StorageError, Transaction, now_unix_seconds, params};

use crate::api::{
    AnalyticsApi, AnalyticsError, BusinessStats, LedgerMovement, LedgerSubscriber, SubscriberFailure, UnitOfWork,
};

const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM analytics_processed_movements), \
             EXISTS (SELECT 1 FROM analytics_business_totals), EXISTS (SELECT 1 FROM analytics_business_members)",
    postgres: "SELECT EXISTS (SELECT 1 FROM analytics.processed_movements), \
               EXISTS (SELECT 1 FROM analytics.business_totals), EXISTS (SELECT 1 FROM analytics.business_members)",
};

// The processed-movements row is the consumer's idempotency record: a redelivered movement inserts nothing.
const MARK_PROCESSED: Sql = Sql {
    sqlite: "INSERT INTO analytics_processed_movements (transaction_id, processed_at) VALUES (?1, ?2) \
             ON CONFLICT (transaction_id) DO NOTHING",
    postgres: "INSERT INTO analytics.processed_movements (transaction_id, processed_at) VALUES ($1, $2) \
               ON CONFLICT (transaction_id) DO NOTHING",
};

const ADD_TO_TOTALS: Sql = Sql {
    sqlite: "INSERT INTO analytics_business_totals (business_id, emitted, redeemed) VALUES (?1, ?2, ?3) \
             ON CONFLICT (business_id) DO UPDATE SET emitted = analytics_business_totals.emitted + excluded.emitted, \
             redeemed = analytics_business_totals.redeemed + excluded.redeemed",
    postgres: "INSERT INTO analytics.business_totals AS totals (business_id, emitted, redeemed) VALUES ($1, $2, $3) \
               ON CONFLICT (business_id) DO UPDATE SET emitted = totals.emitted + excluded.emitted, \
               redeemed = totals.redeemed + excluded.redeemed",
};

const ADD_MEMBER: Sql = Sql {
    sqlite: "INSERT INTO analytics_business_members (business_id, member_id) VALUES (?1, ?2) \
             ON CONFLICT (business_id, member_id) DO NOTHING",
    postgres: "INSERT INTO analytics.business_members (business_id, member_id) VALUES ($1, $2) \
               ON CONFLICT (business_id, member_id) DO NOTHING",
};

const TOTALS: Sql = Sql {
    sqlite: "SELECT emitted, redeemed FROM analytics_business_totals WHERE business_id = ?1",
    postgres: "SELECT emitted, redeemed FROM analytics.business_totals WHERE business_id = $1",
};

const MEMBERS: Sql = Sql {
    sqlite: "SELECT COUNT(*) FROM analytics_business_members WHERE business_id = ?1",
    postgres: "SELECT COUNT(*) FROM analytics.business_members WHERE business_id = $1",
};

const BUSINESSES: Sql = Sql {
    sqlite: "SELECT business_id FROM analytics_business_totals ORDER BY business_id",
    postgres: "SELECT business_id FROM analytics.business_totals ORDER BY business_id",
};

/// The analytics module running in this process, on its own tables.
pub struct LocalAnalytics {
    store: ModuleStore,
}

impl LocalAnalytics {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation.
    pub async fn open(store: ModuleStore) -> Result<LocalAnalytics, StorageError> {
        store.migrate(&MIGRATION).await?;
        Ok(LocalAnalytics { store })
    }

    async fn stats_of(&self, business_id: i64) -> Result<BusinessStats, StorageError> {
        let (emitted, redeemed) = match self.store.query_opt(&TOTALS, params![business_id]).await? {
            Some(row) => (row.get(0)?, row.get(1)?),
            None => (0, 0),
        };
        let members = self.store.query_one(&MEMBERS, params![business_id]).await?.get(0)?;
        Ok(BusinessStats { business_id, emitted, redeemed, members })
    }
}

async fn count_movement(transaction: &mut Transaction<'_>, movement: &LedgerMovement) -> Result<(), StorageError> {
    let newly_processed =
        transaction.execute(&MARK_PROCESSED, params![movement.transaction_id, now_unix_seconds()]).await?;
    if newly_processed == 0 {
        return Ok(());
    }
    let (emitted, redeemed) = if movement.points >= 0 { (movement.points, 0) } else { (0, -movement.points) };
    transaction.execute(&ADD_TO_TOTALS, params![movement.business_id, emitted, redeemed]).await?;
    transaction.execute(&ADD_MEMBER, params![movement.business_id, movement.member_id]).await?;
    Ok(())
}

#[async_trait]
impl LedgerSubscriber for LocalAnalytics {
    async fn record_movement(
        &self,
        unit_of_work: &mut UnitOfWork,
        movement: LedgerMovement,
    ) -> Result<(), SubscriberFailure> {
        let failure = |error: StorageError| SubscriberFailure::new(format!("analytics: {error}"));
        // Joins the caller's transaction when it is on analytics' database, or commits one of analytics' own.
        let mut transaction = self.store.join(unit_of_work).await.map_err(failure)?;
        count_movement(&mut transaction, &movement).await.map_err(failure)?;
        transaction.commit().await.map_err(failure)
    }
}

#[async_trait]
impl AnalyticsApi for LocalAnalytics {
    async fn business_stats(&self, business_id: i64) -> Result<BusinessStats, AnalyticsError> {
        Ok(self.stats_of(business_id).await?)
    }

    async fn all_business_stats(&self) -> Result<Vec<BusinessStats>, AnalyticsError> {
        let mut stats = Vec::new();
        for row in self.store.query(&BUSINESSES, &[]).await? {
            stats.push(self.stats_of(row.get(0)?).await?);
        }
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use rewards_points::api::MovementKind;

    use super::*;

    #[tokio::test]
    async fn movements_are_counted_once_per_transaction() {
        for database in rewards_platform::testing::TestDatabases::open("movements_are_counted_once").await.all {
            let analytics = LocalAnalytics::open(database.module_store("analytics").unwrap()).await.unwrap();
            movements_are_counted_once_per_transaction_on(analytics).await;
        }
    }

    async fn movements_are_counted_once_per_transaction_on(analytics: LocalAnalytics) {
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
