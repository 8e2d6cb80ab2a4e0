//! The composition root: the one place that knows the topology. It opens each local module on its database file,
//! builds a network client for each remote one, and hands out trait objects that look the same either way.
//!
//! It also decides how points delivers movements to audit and analytics: inside the ledger's transaction when the
//! subscriber is local and shares the ledger's database file, through the outbox otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rewards_analytics::LocalAnalytics;
use rewards_analytics::api::AnalyticsApi;
use rewards_audit::LocalAudit;
use rewards_audit::api::AuditApi;
use rewards_auth::api::AuthApi;
use rewards_auth::{AuthSettings, LocalAuth};
use rewards_business::LocalBusiness;
use rewards_business::api::{BusinessApi, BusinessError};
use rewards_platform::Database;
use rewards_points::api::{LedgerSubscriber, PointsApi};
use rewards_points::{Delivery, LocalPoints, PointsSettings, Subscription};
use rewards_users::LocalUsers;
use rewards_users::api::{UsersApi, UsersError};

use crate::config::{ModuleName, Tuning};
use crate::health::ModuleHealth;
use crate::secrets::{Caller, Secrets};
use crate::transport::bindings::{
    AnalyticsClient, AuditClient, AuthClient, BusinessClient, PointsClient, UsersClient, analytics_routes,
    audit_routes, auth_routes, business_routes, points_routes, users_routes,
};
use crate::transport::client::{PeerClient, PeerSettings};
use crate::transport::server::RpcRoutes;
use crate::transport::tls::PeerRoots;

/// Where each module of one process lives: local modules on a database file, remote ones at a URL. A module in
/// neither map is not available to this process.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Local modules and the database file that holds their tables.
    pub local: BTreeMap<ModuleName, PathBuf>,
    /// Remote modules and the base URL of the service that hosts each.
    pub remote: BTreeMap<ModuleName, String>,
    /// The authorities that sign the certificates of `https://` remote modules.
    pub peer_roots: PeerRoots,
    /// Who this process's calls are from: the gateway, or the module a service hosts. A local points calls its
    /// remote peers as points whatever this says.
    pub caller: Caller,
}

impl Placement {
    /// Every module local, in one database file: the monolith.
    pub fn all_local_in(database_file: &Path) -> Placement {
        Placement {
            local: ModuleName::ALL.into_iter().map(|module| (module, database_file.to_path_buf())).collect(),
            ..Placement::default()
        }
    }

    /// Every module local, each in the file a running deployment of `topology` would use under `data_dir`: for the
    /// `seed` and `verify` commands, which run the modules' own code directly on the files.
    pub fn files_of_deployment(data_dir: &Path, extracted: &std::collections::BTreeSet<ModuleName>) -> Placement {
        Placement {
            local: ModuleName::ALL
                .into_iter()
                .map(|module| {
                    let file = if extracted.contains(&module) {
                        service_database_file(data_dir, module)
                    } else {
                        monolith_database_file(data_dir)
                    };
                    (module, file)
                })
                .collect(),
            ..Placement::default()
        }
    }
}

/// The monolith's single database file.
pub fn monolith_database_file(data_dir: &Path) -> PathBuf {
    data_dir.join("rewards.db")
}

/// A service's own database file.
pub fn service_database_file(data_dir: &Path, module: ModuleName) -> PathBuf {
    data_dir.join(format!("{}.db", module.as_str()))
}

/// The modules of one process, as trait objects, plus what the process needs to serve and run them.
pub struct Composition {
    /// Accounts and tokens, if available.
    pub auth: Option<Arc<dyn AuthApi>>,
    /// Profiles, if available.
    pub users: Option<Arc<dyn UsersApi>>,
    /// Businesses and offers, if available.
    pub business: Option<Arc<dyn BusinessApi>>,
    /// The ledger, if available.
    pub points: Option<Arc<dyn PointsApi>>,
    /// The audit record, if available.
    pub audit: Option<Arc<dyn AuditApi>>,
    /// Statistics, if available.
    pub analytics: Option<Arc<dyn AnalyticsApi>>,
    /// The local points module, which owns the outbox relay.
    pub local_points: Option<Arc<LocalPoints>>,
    /// Clients of the remote modules.
    pub peers: Vec<Arc<PeerClient>>,
    /// What `/healthz` checks: every local module's storage and every remote module.
    pub health: ModuleHealth,
    /// RPC routes of each local module, for peers to call (unguarded; the process adds the guard to those it serves).
    pub internal_routes: BTreeMap<ModuleName, RpcRoutes>,
}

/// Opens every local module, connects every remote one, and wires points to its subscribers.
pub fn compose(placement: &Placement, secrets: &Secrets, tuning: &Tuning) -> anyhow::Result<Composition> {
    let mut databases: BTreeMap<PathBuf, Arc<Database>> = BTreeMap::new();
    let mut database_for = |file: &PathBuf| -> anyhow::Result<Arc<Database>> {
        if let Some(database) = databases.get(file) {
            return Ok(Arc::clone(database));
        }
        let database = Database::open(file).with_context(|| format!("opening {}", file.display()))?;
        databases.insert(file.clone(), Arc::clone(&database));
        Ok(database)
    };
    let mut peers = Vec::new();
    let mut clients: BTreeMap<(ModuleName, Caller), Arc<PeerClient>> = BTreeMap::new();
    // One client per remote module and per caller it is called as, each sending that caller's credential.
    let mut client_as = |module: ModuleName, caller: Caller| -> anyhow::Result<Option<Arc<PeerClient>>> {
        let Some(url) = placement.remote.get(&module) else {
            return Ok(None);
        };
        if let Some(client) = clients.get(&(module, caller)) {
            return Ok(Some(Arc::clone(client)));
        }
        let credential = secrets.credential(caller)?;
        let client =
            PeerClient::new(module.as_str(), url, credential, PeerSettings::from_tuning(tuning), &placement.peer_roots)
                .with_context(|| format!("building the client for {module} at {url}"))?;
        let client = Arc::new(client);
        if caller == placement.caller {
            peers.push(Arc::clone(&client));
        }
        clients.insert((module, caller), Arc::clone(&client));
        Ok(Some(client))
    };

    let mut internal_routes = BTreeMap::new();
    let mut health = ModuleHealth::default();

    let auth: Option<Arc<dyn AuthApi>> = match placement.local.get(&ModuleName::Auth) {
        Some(file) => {
            let token_signer = secrets
                .token_signer
                .clone()
                .context("auth runs here, but this process was given no token signing key")?;
            let settings = AuthSettings {
                token_signer,
                token_lifetime_seconds: tuning.token_lifetime_seconds,
                password_hashing: tuning.password_hashing(),
                hashing_threads: tuning.hashing_threads(),
                hashing_queue: tuning.password_hashing_queue,
            };
            let local = Arc::new(LocalAuth::open(database_for(file)?, settings)?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Auth, move || checked.check_storage());
            let local: Arc<dyn AuthApi> = local;
            internal_routes.insert(ModuleName::Auth, auth_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Auth, placement.caller)?.map(|peer| Arc::new(AuthClient(peer)) as Arc<dyn AuthApi>)
        }
    };
    let users: Option<Arc<dyn UsersApi>> = match placement.local.get(&ModuleName::Users) {
        Some(file) => {
            let local = Arc::new(LocalUsers::open(database_for(file)?)?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Users, move || checked.check_storage());
            let local: Arc<dyn UsersApi> = local;
            internal_routes.insert(ModuleName::Users, users_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Users, placement.caller)?.map(|peer| Arc::new(UsersClient(peer)) as Arc<dyn UsersApi>)
        }
    };
    let business: Option<Arc<dyn BusinessApi>> = match placement.local.get(&ModuleName::Business) {
        Some(file) => {
            let local = Arc::new(LocalBusiness::open(database_for(file)?)?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Business, move || checked.check_storage());
            let local: Arc<dyn BusinessApi> = local;
            internal_routes.insert(ModuleName::Business, business_routes(Arc::clone(&local)));
            Some(local)
        }
        None => client_as(ModuleName::Business, placement.caller)?
            .map(|peer| Arc::new(BusinessClient(peer)) as Arc<dyn BusinessApi>),
    };
    let audit: Option<Arc<dyn AuditApi>> = match placement.local.get(&ModuleName::Audit) {
        Some(file) => {
            let local = Arc::new(LocalAudit::open(database_for(file)?)?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Audit, move || checked.check_storage());
            let local: Arc<dyn AuditApi> = local;
            internal_routes.insert(ModuleName::Audit, audit_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Audit, placement.caller)?.map(|peer| Arc::new(AuditClient(peer)) as Arc<dyn AuditApi>)
        }
    };
    let analytics: Option<Arc<dyn AnalyticsApi>> = match placement.local.get(&ModuleName::Analytics) {
        Some(file) => {
            let local = Arc::new(LocalAnalytics::open(database_for(file)?)?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Analytics, move || checked.check_storage());
            let local: Arc<dyn AnalyticsApi> = local;
            internal_routes.insert(ModuleName::Analytics, analytics_routes(Arc::clone(&local)));
            Some(local)
        }
        None => client_as(ModuleName::Analytics, placement.caller)?
            .map(|peer| Arc::new(AnalyticsClient(peer)) as Arc<dyn AnalyticsApi>),
    };

    let mut local_points = None;
    let points: Option<Arc<dyn PointsApi>> = match placement.local.get(&ModuleName::Points) {
        Some(file) => {
            let (Some(business), Some(users), Some(audit), Some(analytics)) = (&business, &users, &audit, &analytics)
            else {
                bail!("points needs business, users, audit and analytics, locally or as --peer NAME=URL");
            };
            // Points calls its remote peers as points, with points' credential, wherever it runs: the routes it calls
            // accept points, and the audit and analytics deliveries accept no one else.
            let as_points = Caller::Service(ModuleName::Points);
            let business: Arc<dyn BusinessApi> = match client_as(ModuleName::Business, as_points)? {
                Some(client) => Arc::new(BusinessClient(client)),
                None => Arc::clone(business),
            };
            let users: Arc<dyn UsersApi> = match client_as(ModuleName::Users, as_points)? {
                Some(client) => Arc::new(UsersClient(client)),
                None => Arc::clone(users),
            };
            let audit_subscriber: Arc<dyn LedgerSubscriber> = match client_as(ModuleName::Audit, as_points)? {
                Some(client) => Arc::new(AuditClient(client)),
                None => Arc::clone(audit) as Arc<dyn LedgerSubscriber>,
            };
            let analytics_subscriber: Arc<dyn LedgerSubscriber> = match client_as(ModuleName::Analytics, as_points)? {
                Some(client) => Arc::new(AnalyticsClient(client)),
                None => Arc::clone(analytics) as Arc<dyn LedgerSubscriber>,
            };
            let delivery_to = |subscriber: ModuleName| {
                if placement.local.get(&subscriber) == Some(file) { Delivery::InTransaction } else { Delivery::Outbox }
            };
            let subscriptions = vec![
                Subscription {
                    name: ModuleName::Audit.as_str().to_owned(),
                    subscriber: audit_subscriber,
                    delivery: delivery_to(ModuleName::Audit),
                },
                Subscription {
                    name: ModuleName::Analytics.as_str().to_owned(),
                    subscriber: analytics_subscriber,
                    delivery: delivery_to(ModuleName::Analytics),
                },
            ];
            let settings = PointsSettings { qr_lifetime_seconds: tuning.qr_lifetime_seconds };
            let local = Arc::new(LocalPoints::open(database_for(file)?, business, users, subscriptions, settings)?);
            local_points = Some(Arc::clone(&local));
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Points, move || checked.check_storage());
            let as_trait: Arc<dyn PointsApi> = local;
            internal_routes.insert(ModuleName::Points, points_routes(Arc::clone(&as_trait)));
            Some(as_trait)
        }
        None => client_as(ModuleName::Points, placement.caller)?
            .map(|peer| Arc::new(PointsClient(peer)) as Arc<dyn PointsApi>),
    };

    for peer in &peers {
        health.add_remote(Arc::clone(peer));
    }
    Ok(Composition { auth, users, business, points, audit, analytics, local_points, peers, health, internal_routes })
}

/// Runs the outbox relay of a local points module until the process ends.
pub fn spawn_outbox_relay(points: Arc<LocalPoints>, interval: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match points.relay_outbox_once().await {
                // A full batch may mean more is waiting; go again at once.
                Ok(delivered) if delivered > 0 => continue,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "the outbox relay could not read the outbox"),
            }
            tokio::time::sleep(interval).await;
        }
    })
}

/// The modules that `verify` reads, each opened on the file that holds its tables, when that file exists.
#[derive(Default)]
pub struct InspectedModules {
    /// The ledger, if its file exists.
    pub points: Option<Arc<dyn PointsApi>>,
    /// The audit record, if its file exists.
    pub audit: Option<Arc<dyn AuditApi>>,
    /// Statistics, if their file exists.
    pub analytics: Option<Arc<dyn AnalyticsApi>>,
}

/// Stands in for business and users under `verify`, which opens points only to read its own tables and never makes
/// it call the modules it depends on. Any call it did make would be answered as an outage.
struct NotOpenedForInspection;

const NOT_OPENED: &str = "this module is not opened by verify";

#[async_trait::async_trait]
impl BusinessApi for NotOpenedForInspection {
    async fn create_business(
        &self,
        _request: rewards_business::api::CreateBusinessRequest,
    ) -> Result<rewards_business::api::Business, BusinessError> {
        Err(BusinessError::Unavailable(NOT_OPENED.to_owned()))
    }

    async fn get_business(&self, _business_id: i64) -> Result<rewards_business::api::Business, BusinessError> {
        Err(BusinessError::Unavailable(NOT_OPENED.to_owned()))
    }

    async fn create_offer(
        &self,
        _request: rewards_business::api::CreateOfferRequest,
    ) -> Result<rewards_business::api::Offer, BusinessError> {
        Err(BusinessError::Unavailable(NOT_OPENED.to_owned()))
    }

    async fn get_offer(&self, _offer_id: i64) -> Result<rewards_business::api::Offer, BusinessError> {
        Err(BusinessError::Unavailable(NOT_OPENED.to_owned()))
    }

    async fn offers_of_businesses(
        &self,
        _business_ids: Vec<i64>,
        _limit: u32,
    ) -> Result<Vec<rewards_business::api::Offer>, BusinessError> {
        Err(BusinessError::Unavailable(NOT_OPENED.to_owned()))
    }
}

#[async_trait::async_trait]
impl UsersApi for NotOpenedForInspection {
    async fn create_profile(
        &self,
        _request: rewards_users::api::CreateProfileRequest,
    ) -> Result<rewards_users::api::Profile, UsersError> {
        Err(UsersError::Unavailable(NOT_OPENED.to_owned()))
    }

    async fn get_profile(&self, _user_id: i64) -> Result<rewards_users::api::Profile, UsersError> {
        Err(UsersError::Unavailable(NOT_OPENED.to_owned()))
    }
}

/// Opens points, audit and analytics on the files in `files` (a module missing from it stays `None`), for reading.
///
/// Unlike [`compose`], this needs no module to be complete: points is opened without subscribers (`verify` relays
/// nothing) and without business and users, so that any subset of a deployment's files can be checked.
pub fn open_for_inspection(files: &BTreeMap<ModuleName, PathBuf>) -> anyhow::Result<InspectedModules> {
    let mut databases: BTreeMap<PathBuf, Arc<Database>> = BTreeMap::new();
    let mut database_for = |file: &PathBuf| -> anyhow::Result<Arc<Database>> {
        if let Some(database) = databases.get(file) {
            return Ok(Arc::clone(database));
        }
        let database = Database::open(file).with_context(|| format!("opening {}", file.display()))?;
        databases.insert(file.clone(), Arc::clone(&database));
        Ok(database)
    };
    let mut inspected = InspectedModules::default();
    if let Some(file) = files.get(&ModuleName::Points) {
        let not_opened = Arc::new(NotOpenedForInspection);
        let points = LocalPoints::open(
            database_for(file)?,
            Arc::clone(&not_opened) as Arc<dyn BusinessApi>,
            not_opened as Arc<dyn UsersApi>,
            Vec::new(),
            PointsSettings { qr_lifetime_seconds: 0 },
        )?;
        inspected.points = Some(Arc::new(points));
    }
    if let Some(file) = files.get(&ModuleName::Audit) {
        inspected.audit = Some(Arc::new(LocalAudit::open(database_for(file)?)?));
    }
    if let Some(file) = files.get(&ModuleName::Analytics) {
        inspected.analytics = Some(Arc::new(LocalAnalytics::open(database_for(file)?)?));
    }
    Ok(inspected)
}
