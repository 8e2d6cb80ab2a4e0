//! `rewards seed`: fills the database files of a deployment quickly, for load tests, through the modules' own code.
//!
//! Accounts are registered through auth and users exactly as the gateway registers them, businesses and offers are
//! created through business, each business is approved and granted an emission budget as the operator would
//! (`rewards operator`), and each member receives one emission through points, which publishes it to audit and
//! analytics (in its transaction or through its outbox, which is drained before the command ends).

use std::path::Path;

use anyhow::{Context, bail};
use rewards_auth::api::{RegisterRequest, Role};
use rewards_business::api::{CreateBusinessRequest, CreateOfferRequest};
use rewards_points::api::EmitRequest;
use rewards_users::api::CreateProfileRequest;
use serde::Serialize;

use crate::composition::{Placement, compose};
use crate::config::{StorageArgs, Topology, Tuning};
use crate::secrets::{Secrets, create_private_dir};

/// The password of every seeded account.
pub const SEED_PASSWORD: &str = "seed-password";

/// How much seeding to do.
#[derive(Debug, Clone)]
pub struct SeedRequest {
    /// How many member accounts.
    pub members: usize,
    /// How many business accounts, each owning one business.
    pub businesses: usize,
    /// How many offers per business.
    pub offers_per_business: usize,
    /// The purchase, in bolivianos, emitted to each member by one business.
    pub welcome_purchase_bs: i64,
    /// The emission budget each business is granted.
    pub budget_per_business: i64,
}

/// The emission budget of a seeded business unless told otherwise: enough for hours of load tests that emit and
/// claim at full speed.
pub const DEFAULT_SEED_BUDGET: i64 = 1_000_000_000_000;

/// What was created, printed as JSON so that load generators can log in as the seeded users.
#[derive(Debug, Clone, Serialize)]
pub struct SeedSummary {
    /// The password of every account.
    pub password: String,
    /// The member accounts' emails, in order.
    pub member_emails: Vec<String>,
    /// The member accounts' user ids, in order.
    pub member_ids: Vec<i64>,
    /// The business accounts' emails, in order.
    pub business_owner_emails: Vec<String>,
    /// The businesses' ids, in order.
    pub business_ids: Vec<i64>,
    /// Every offer's id.
    pub offer_ids: Vec<i64>,
    /// The points each member received.
    pub welcome_points: Vec<i64>,
}

/// Seeds the databases that a deployment of `topology` under `data_dir` uses (its SQLite files, or the PostgreSQL
/// database).
pub async fn seed(
    data_dir: &Path,
    storage: &StorageArgs,
    topology: &Topology,
    tuning: &Tuning,
    request: &SeedRequest,
) -> anyhow::Result<SeedSummary> {
    if request.businesses == 0 && request.members > 0 {
        bail!("members need at least one business to receive their welcome points from");
    }
    create_private_dir(data_dir)?;
    let secrets = Secrets::load_for_all_modules(data_dir)?;
    let placement = Placement::of_deployment(storage, data_dir, &topology.extracted_modules())?;
    let composition = compose(&placement, &secrets, tuning).await?;
    let (Some(auth), Some(users), Some(business), Some(points), Some(local_points), Some(local_business)) = (
        composition.auth.clone(),
        composition.users.clone(),
        composition.business.clone(),
        composition.points.clone(),
        composition.local_points.clone(),
        composition.local_business.clone(),
    ) else {
        bail!("seeding needs every module locally");
    };
    // A run tag keeps emails and idempotency keys unique when a data directory is seeded twice.
    let run_tag = hex::encode(rand::random::<[u8; 3]>());
    let register = |email: String, role: Role, name: String| {
        let auth = auth.clone();
        let users = users.clone();
        async move {
            let user_id = auth
                .register(RegisterRequest { email: email.clone(), password: SEED_PASSWORD.to_owned(), role })
                .await
                .with_context(|| format!("registering {email}"))?;
            users
                .create_profile(CreateProfileRequest { user_id, display_name: name, role })
                .await
                .with_context(|| format!("creating the profile of {email}"))?;
            anyhow::Ok(user_id)
        }
    };
    let mut summary = SeedSummary {
        password: SEED_PASSWORD.to_owned(),
        member_emails: Vec::new(),
        member_ids: Vec::new(),
        business_owner_emails: Vec::new(),
        business_ids: Vec::new(),
        offer_ids: Vec::new(),
        welcome_points: Vec::new(),
    };
    let mut owners = Vec::new();
    for index in 0..request.businesses {
        let email = format!("owner{index}.{run_tag}@seed.rewards.test");
        let owner_id = register(email.clone(), Role::Business, format!("Seed owner {index}")).await?;
        let created = business
            .create_business(CreateBusinessRequest {
                owner_user_id: owner_id,
                name: format!("Seed business {index}"),
                points_per_boliviano: 1 + i64::try_from(index % 5).unwrap_or(0),
            })
            .await
            .context("creating a business")?;
        local_business.approve_business(created.business_id).await.context("approving a business")?;
        local_points
            .grant_budget(created.business_id, request.budget_per_business)
            .await
            .context("granting a business its emission budget")?;
        for offer_index in 0..request.offers_per_business {
            let offer = business
                .create_offer(CreateOfferRequest {
                    acting_user_id: owner_id,
                    business_id: created.business_id,
                    title: format!("Seed offer {offer_index}"),
                    cost_points: 50 * (1 + i64::try_from(offer_index).unwrap_or(0)),
                })
                .await
                .context("creating an offer")?;
            summary.offer_ids.push(offer.offer_id);
        }
        owners.push((owner_id, created.business_id));
        summary.business_owner_emails.push(email);
        summary.business_ids.push(created.business_id);
    }
    for index in 0..request.members {
        let email = format!("member{index}.{run_tag}@seed.rewards.test");
        let member_id = register(email.clone(), Role::Member, format!("Seed member {index}")).await?;
        let (owner_id, business_id) = owners[index % owners.len()];
        let receipt = points
            .emit(EmitRequest {
                acting_user_id: owner_id,
                business_id,
                member_id,
                purchase_cents: request.welcome_purchase_bs.saturating_mul(100),
                idempotency_key: format!("seed-{run_tag}-{index}"),
            })
            .await
            .context("emitting welcome points")?;
        summary.member_emails.push(email);
        summary.member_ids.push(member_id);
        summary.welcome_points.push(receipt.points);
    }
    while local_points.relay_outbox_once().await? > 0 {}
    Ok(summary)
}
