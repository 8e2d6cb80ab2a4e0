//! The in-process implementation of [`BusinessApi`] over the module's own `business_*` tables.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_platform::{Database, StorageError, now_unix_seconds};
use rusqlite::OptionalExtension;

use crate::api::{
    Business, BusinessApi, BusinessError, CreateBusinessRequest, CreateOfferRequest, MAX_OFFERS_LISTED, Offer,
};
use crate::domain::{bounded_text, emission_rate, offer_cost};

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

/// The business module running in this process, on its own tables of `database`.
pub struct LocalBusiness {
    database: Arc<Database>,
}

impl LocalBusiness {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row(
                "SELECT EXISTS (SELECT 1 FROM business_businesses), \
                 EXISTS (SELECT 1 FROM business_offers)",
                [],
                |_| Ok(()),
            )
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(database: Arc<Database>) -> Result<LocalBusiness, StorageError> {
        database.migrate(MIGRATION)?;
        Ok(LocalBusiness { database })
    }
}

fn offer_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Offer> {
    Ok(Offer { offer_id: row.get(0)?, business_id: row.get(1)?, title: row.get(2)?, cost_points: row.get(3)? })
}

#[async_trait]
impl BusinessApi for LocalBusiness {
    async fn create_business(&self, request: CreateBusinessRequest) -> Result<Business, BusinessError> {
        let name = bounded_text("name", &request.name)?;
        let points_per_boliviano = emission_rate(request.points_per_boliviano)?;
        let business_id = self.database.with_connection(|connection| {
            connection.execute(
                "INSERT INTO business_businesses (owner_user_id, name, points_per_boliviano, created_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![request.owner_user_id, name, points_per_boliviano, now_unix_seconds()],
            )?;
            Ok(connection.last_insert_rowid())
        })?;
        Ok(Business { business_id, owner_user_id: request.owner_user_id, name, points_per_boliviano })
    }

    async fn get_business(&self, business_id: i64) -> Result<Business, BusinessError> {
        self.database
            .with_connection(|connection| {
                connection
                    .query_row(
                        "SELECT business_id, owner_user_id, name, points_per_boliviano FROM business_businesses \
                         WHERE business_id = ?1",
                        [business_id],
                        |row| {
                            Ok(Business {
                                business_id: row.get(0)?,
                                owner_user_id: row.get(1)?,
                                name: row.get(2)?,
                                points_per_boliviano: row.get(3)?,
                            })
                        },
                    )
                    .optional()
            })?
            .ok_or(BusinessError::BusinessNotFound)
    }

    async fn create_offer(&self, request: CreateOfferRequest) -> Result<Offer, BusinessError> {
        let title = bounded_text("title", &request.title)?;
        let cost_points = offer_cost(request.cost_points)?;
        let business = self.get_business(request.business_id).await?;
        if business.owner_user_id != request.acting_user_id {
            return Err(BusinessError::NotOwner);
        }
        let offer_id = self.database.with_connection(|connection| {
            connection.execute(
                "INSERT INTO business_offers (business_id, title, cost_points, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![business.business_id, title, cost_points, now_unix_seconds()],
            )?;
            Ok(connection.last_insert_rowid())
        })?;
        Ok(Offer { offer_id, business_id: business.business_id, title, cost_points })
    }

    async fn get_offer(&self, offer_id: i64) -> Result<Offer, BusinessError> {
        self.database
            .with_connection(|connection| {
                connection
                    .query_row(
                        "SELECT offer_id, business_id, title, cost_points FROM business_offers WHERE offer_id = ?1",
                        [offer_id],
                        offer_from_row,
                    )
                    .optional()
            })?
            .ok_or(BusinessError::OfferNotFound)
    }

    async fn offers_of_businesses(&self, business_ids: Vec<i64>, limit: u32) -> Result<Vec<Offer>, BusinessError> {
        if business_ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // The id list is bound as one JSON array parameter, so the SQL text never changes with the input.
        let ids_as_json =
            serde_json::to_string(&business_ids).map_err(|error| BusinessError::Internal(error.to_string()))?;
        let limit = limit.min(MAX_OFFERS_LISTED);
        let offers = self.database.with_connection(|connection| {
            let mut statement = connection.prepare_cached(
                "SELECT offer_id, business_id, title, cost_points FROM business_offers \
                 WHERE business_id IN (SELECT value FROM json_each(?1)) ORDER BY offer_id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(rusqlite::params![ids_as_json, limit], offer_from_row)?;
            rows.collect::<rusqlite::Result<Vec<Offer>>>()
        })?;
        Ok(offers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_owner_creates_offers_and_listing_filters_by_business() {
        let directory = tempfile::tempdir().unwrap();
        let business = LocalBusiness::open(Database::open(&directory.path().join("business.db")).unwrap()).unwrap();
        let cafe = business
            .create_business(CreateBusinessRequest {
                owner_user_id: 1,
                name: "Café".to_owned(),
                points_per_boliviano: 2,
            })
            .await
            .unwrap();
        let other = business
            .create_business(CreateBusinessRequest {
                owner_user_id: 2,
                name: "Other".to_owned(),
                points_per_boliviano: 1,
            })
            .await
            .unwrap();
        let offer_request = |acting_user_id, business_id| CreateOfferRequest {
            acting_user_id,
            business_id,
            title: "Free coffee".to_owned(),
            cost_points: 50,
        };
        assert_eq!(business.create_offer(offer_request(2, cafe.business_id)).await, Err(BusinessError::NotOwner));
        let offer = business.create_offer(offer_request(1, cafe.business_id)).await.unwrap();
        business.create_offer(offer_request(2, other.business_id)).await.unwrap();
        let listed = business.offers_of_businesses(vec![cafe.business_id], 10).await.unwrap();
        assert_eq!(listed, vec![offer.clone()]);
        assert_eq!(business.get_offer(offer.offer_id).await.unwrap(), offer);
        assert_eq!(business.get_offer(999).await, Err(BusinessError::OfferNotFound));
    }
}
