//! The in-process implementation of [`BusinessApi`] over the module's own tables (`business_*` on SQLite, the
//! `business` schema on PostgreSQL).

use async_trait::async_trait;
use rewards_platform::{ModuleStore, Row, Sql, StorageError, now_unix_seconds, params};

use crate::api::{
    Business, BusinessApi, BusinessError, CreateBusinessRequest, CreateOfferRequest, MAX_OFFERS_LISTED, Offer,
};
use crate::domain::{bounded_text, emission_rate, offer_cost};

const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM business_businesses), EXISTS (SELECT 1 FROM business_offers)",
    postgres: "SELECT EXISTS (SELECT 1 FROM business.businesses), EXISTS (SELECT 1 FROM business.offers)",
};

const CREATE_BUSINESS: Sql = Sql {
    sqlite: "INSERT INTO business_businesses (owner_user_id, name, points_per_boliviano, created_at) \
             VALUES (?1, ?2, ?3, ?4) RETURNING business_id",
    postgres: "INSERT INTO business.businesses (owner_user_id, name, points_per_boliviano, created_at) \
               VALUES ($1, $2, $3, $4) RETURNING business_id",
};

const GET_BUSINESS: Sql = Sql {
    sqlite: "SELECT business_id, owner_user_id, name, points_per_boliviano, approved_at IS NOT NULL \
             FROM business_businesses WHERE business_id = ?1",
    postgres: "SELECT business_id, owner_user_id, name, points_per_boliviano, approved_at IS NOT NULL \
               FROM business.businesses WHERE business_id = $1",
};

/// Approves a business once: a second approval keeps the first one's time.
const APPROVE_BUSINESS: Sql = Sql {
    sqlite: "UPDATE business_businesses SET approved_at = COALESCE(approved_at, ?2) WHERE business_id = ?1",
    postgres: "UPDATE business.businesses SET approved_at = COALESCE(approved_at, $2) WHERE business_id = $1",
};

const CREATE_OFFER: Sql = Sql {
    sqlite: "INSERT INTO business_offers (business_id, title, cost_points, created_at) VALUES (?1, ?2, ?3, ?4) \
             RETURNING offer_id",
    postgres: "INSERT INTO business.offers (business_id, title, cost_points, created_at) VALUES ($1, $2, $3, $4) \
               RETURNING offer_id",
};

const GET_OFFER: Sql = Sql {
    sqlite: "SELECT offer_id, business_id, title, cost_points FROM business_offers WHERE offer_id = ?1",
    postgres: "SELECT offer_id, business_id, title, cost_points FROM business.offers WHERE offer_id = $1",
};

// The id list is one parameter (a JSON array on SQLite, an array on PostgreSQL), so the text never changes with it.
const OFFERS_OF_BUSINESSES: Sql = Sql {
    sqlite: "SELECT offer_id, business_id, title, cost_points FROM business_offers \
             WHERE business_id IN (SELECT value FROM json_each(?1)) ORDER BY offer_id DESC LIMIT ?2",
    postgres: "SELECT offer_id, business_id, title, cost_points FROM business.offers \
               WHERE business_id = ANY($1) ORDER BY offer_id DESC LIMIT $2",
};

/// The business module running in this process, on its own tables.
pub struct LocalBusiness {
    store: ModuleStore,
}

impl LocalBusiness {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation.
    pub async fn open(store: ModuleStore) -> Result<LocalBusiness, StorageError> {
        store.migrate(&MIGRATION).await?;
        Ok(LocalBusiness { store })
    }

    /// The operator's approval (`rewards operator approve-business`): from now on the business may emit points,
    /// within the budget the operator grants it in the points module. It is not part of [`BusinessApi`], so no peer
    /// and no public route can call it; only a process that opens the module's storage itself can.
    pub async fn approve_business(&self, business_id: i64) -> Result<Business, BusinessError> {
        if self.store.execute(&APPROVE_BUSINESS, params![business_id, now_unix_seconds()]).await? != 1 {
            return Err(BusinessError::BusinessNotFound);
        }
        self.get_business(business_id).await
    }
}

fn offer_from_row(row: &Row) -> Result<Offer, StorageError> {
    Ok(Offer { offer_id: row.get(0)?, business_id: row.get(1)?, title: row.get(2)?, cost_points: row.get(3)? })
}

#[async_trait]
impl BusinessApi for LocalBusiness {
    async fn create_business(&self, request: CreateBusinessRequest) -> Result<Business, BusinessError> {
        let name = bounded_text("name", &request.name)?;
        let points_per_boliviano = emission_rate(request.points_per_boliviano)?;
        let business_id = self
            .store
            .query_one(
                &CREATE_BUSINESS,
                params![request.owner_user_id, name.as_str(), points_per_boliviano, now_unix_seconds()],
            )
            .await?
            .get(0)?;
        Ok(Business { business_id, owner_user_id: request.owner_user_id, name, points_per_boliviano, approved: false })
    }

    async fn get_business(&self, business_id: i64) -> Result<Business, BusinessError> {
        let row = self.store.query_opt(&GET_BUSINESS, params![business_id]).await?;
        let row = row.ok_or(BusinessError::BusinessNotFound)?;
        Ok(Business {
            business_id: row.get(0)?,
            owner_user_id: row.get(1)?,
            name: row.get(2)?,
            points_per_boliviano: row.get(3)?,
            approved: row.get::<i64>(4)? != 0,
        })
    }

    async fn create_offer(&self, request: CreateOfferRequest) -> Result<Offer, BusinessError> {
        let title = bounded_text("title", &request.title)?;
        let cost_points = offer_cost(request.cost_points)?;
        let business = self.get_business(request.business_id).await?;
        if business.owner_user_id != request.acting_user_id {
            return Err(BusinessError::NotOwner);
        }
        let offer_id = self
            .store
            .query_one(&CREATE_OFFER, params![business.business_id, title.as_str(), cost_points, now_unix_seconds()])
            .await?
            .get(0)?;
        Ok(Offer { offer_id, business_id: business.business_id, title, cost_points })
    }

    async fn get_offer(&self, offer_id: i64) -> Result<Offer, BusinessError> {
        let row = self.store.query_opt(&GET_OFFER, params![offer_id]).await?;
        Ok(offer_from_row(&row.ok_or(BusinessError::OfferNotFound)?)?)
    }

    async fn offers_of_businesses(&self, business_ids: Vec<i64>, limit: u32) -> Result<Vec<Offer>, BusinessError> {
        if business_ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let limit = limit.min(MAX_OFFERS_LISTED);
        let rows = self.store.query(&OFFERS_OF_BUSINESSES, params![&business_ids, limit]).await?;
        let offers = rows.iter().map(offer_from_row).collect::<Result<Vec<Offer>, _>>()?;
        Ok(offers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_owner_creates_offers_and_listing_filters_by_business() {
        let databases = rewards_platform::testing::TestDatabases::open("only_the_owner_creates_offers").await;
        for database in databases.all {
            let business = LocalBusiness::open(database.module_store("business").unwrap()).await.unwrap();
            only_the_owner_creates_offers_and_listing_filters_by_business_on(business).await;
        }
    }

    async fn only_the_owner_creates_offers_and_listing_filters_by_business_on(business: LocalBusiness) {
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
        assert!(!cafe.approved && !business.get_business(cafe.business_id).await.unwrap().approved);
        assert!(business.approve_business(cafe.business_id).await.unwrap().approved);
        assert!(business.approve_business(cafe.business_id).await.unwrap().approved, "approving twice is harmless");
        assert!(!business.get_business(other.business_id).await.unwrap().approved);
        assert_eq!(business.approve_business(999).await, Err(BusinessError::BusinessNotFound));
    }
}
