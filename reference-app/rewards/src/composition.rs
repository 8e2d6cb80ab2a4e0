//! The composition root: the one place that knows the topology. It opens each local module on its database (an
//! SQLite file or a PostgreSQL database), builds a network client for each remote one, and hands out trait objects
//! that look the same either way. Each local module gets a [`ModuleStore`] of its own, never the database.
//!
//! It also decides how points delivers movements to audit and analytics: inside the ledger's transaction when the
//! subscriber is local and shares the ledger's database, through the outbox otherwise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rewards_analytics::LocalAnalytics;
use rewards_analytics::api::AnalyticsApi;
use rewards_audit::api::AuditApi;
use rewards_audit::{ChainKey, LocalAudit};
use rewards_auth::api::AuthApi;
use rewards_auth::{AuthSettings, LocalAuth};
use rewards_business::LocalBusiness;
use rewards_business::api::{BusinessApi, BusinessError};
use rewards_platform::{Database, ModuleStore};
use rewards_points::api::{LedgerSubscriber, PointsApi};
use rewards_points::{Delivery, LocalPoints, PointsSettings, Subscription};
use rewards_users::LocalUsers;
use rewards_users::api::{UsersApi, UsersError};

use crate::config::{DatabaseKind, ModuleName, StorageArgs, Tuning};
use crate::health::ModuleHealth;
use crate::secrets::{Caller, Secrets};
use crate::transport::bindings::{
    AnalyticsClient, AuditClient, AuthClient, BusinessClient, PointsClient, UsersClient, analytics_routes,
    audit_routes, auth_routes, business_routes, points_routes, users_routes,
};
use crate::transport::client::{PeerClient, PeerSettings};
use crate::transport::server::RpcRoutes;
use crate::transport::tls::PeerRoots;

/// The database that holds a module's tables.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum DatabaseLocation {
    /// An SQLite file.
    SqliteFile(PathBuf),
    /// A PostgreSQL database, with the most connections this process keeps open to it.
    Postgres {
        /// `postgres://…`
        url: String,
        /// The pool's size.
        max_connections: usize,
    },
}

impl DatabaseLocation {
    /// Where a module of a deployment under `data_dir` keeps its tables: for SQLite its own `NAME.db` when it runs
    /// as a service (`own_file`), otherwise the monolith's `rewards.db`; for PostgreSQL always the one database,
    /// where each module has its schema.
    pub fn of_module(
        storage: &StorageArgs,
        data_dir: &Path,
        module: ModuleName,
        own_file: bool,
    ) -> anyhow::Result<DatabaseLocation> {
        Ok(match storage.kind {
            DatabaseKind::Sqlite if own_file => DatabaseLocation::SqliteFile(service_database_file(data_dir, module)),
            DatabaseKind::Sqlite => DatabaseLocation::SqliteFile(monolith_database_file(data_dir)),
            DatabaseKind::Postgres => DatabaseLocation::Postgres {
                url: storage.postgres_url()?.to_owned(),
                max_connections: storage.database_max_connections,
            },
        })
    }

    async fn open(&self) -> anyhow::Result<Arc<Database>> {
        match self {
            DatabaseLocation::SqliteFile(file) => {
                Database::open_sqlite(file).with_context(|| format!("opening {}", file.display()))
            }
            DatabaseLocation::Postgres { url, max_connections } => Database::connect_postgres(url, *max_connections)
                .await
                .context("connecting to PostgreSQL (--database-url)"),
        }
    }
}

/// The databases of one process, each opened once and shared by the modules whose tables live in it.
#[derive(Default)]
struct OpenDatabases {
    open: BTreeMap<DatabaseLocation, Arc<Database>>,
}

impl OpenDatabases {
    /// The store of `module` in the database at `location`, opening the database on first use.
    async fn store(&mut self, location: &DatabaseLocation, module: ModuleName) -> anyhow::Result<ModuleStore> {
        let database = match self.open.get(location) {
            Some(database) => Arc::clone(database),
            None => {
                let database = location.open().await?;
                self.open.insert(location.clone(), Arc::clone(&database));
                database
            }
        };
        Ok(database.module_store(module.as_str())?)
    }
}

/// Where each module of one process lives: local modules in a database, remote ones at a URL. A module in neither
/// map is not available to this process.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    /// Local modules and the database that holds their tables.
    pub local: BTreeMap<ModuleName, DatabaseLocation>,
    /// Remote modules and the base URL of the service that hosts each.
    pub remote: BTreeMap<ModuleName, String>,
    /// The authorities that sign the certificates of `https://` remote modules.
    pub peer_roots: PeerRoots,
    /// Who this process's calls are from: the gateway, or the module a service hosts. A local points calls its
    /// remote peers as points whatever this says.
    pub caller: Caller,
}

impl Placement {
    /// Every module local, in one SQLite file: the monolith.
    pub fn all_local_in(database_file: &Path) -> Placement {
        Placement {
            local: ModuleName::ALL
                .into_iter()
                .map(|module| (module, DatabaseLocation::SqliteFile(database_file.to_path_buf())))
                .collect(),
            ..Placement::default()
        }
    }

    /// Every module local, each in the database a running deployment of `topology` would use under `data_dir`: for
    /// the `seed` and `verify` commands, which run the modules' own code directly on the databases.
    pub fn of_deployment(
        storage: &StorageArgs,
        data_dir: &Path,
        extracted: &std::collections::BTreeSet<ModuleName>,
    ) -> anyhow::Result<Placement> {
        let mut local = BTreeMap::new();
        for module in ModuleName::ALL {
            local.insert(module, DatabaseLocation::of_module(storage, data_dir, module, extracted.contains(&module))?);
        }
        Ok(Placement { local, ..Placement::default() })
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
    /// The local points module, which owns the outbox relay and the emission budgets.
    pub local_points: Option<Arc<LocalPoints>>,
    /// The local business module, which the operator's approval goes through.
    pub local_business: Option<Arc<LocalBusiness>>,
    /// Clients of the remote modules.
    pub peers: Vec<Arc<PeerClient>>,
    /// What `/healthz` checks: every local module's storage and every remote module.
    pub health: ModuleHealth,
    /// RPC routes of each local module, for peers to call (unguarded; the process adds the guard to those it serves).
    pub internal_routes: BTreeMap<ModuleName, RpcRoutes>,
}

/// Opens every local module, connects every remote one, and wires points to its subscribers.
pub async fn compose(placement: &Placement, secrets: &Secrets, tuning: &Tuning) -> anyhow::Result<Composition> {
    let mut databases = OpenDatabases::default();
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
        Some(location) => {
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
            let local = Arc::new(LocalAuth::open(databases.store(location, ModuleName::Auth).await?, settings).await?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Auth, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
            let local: Arc<dyn AuthApi> = local;
            internal_routes.insert(ModuleName::Auth, auth_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Auth, placement.caller)?.map(|peer| Arc::new(AuthClient(peer)) as Arc<dyn AuthApi>)
        }
    };
    let users: Option<Arc<dyn UsersApi>> = match placement.local.get(&ModuleName::Users) {
        Some(location) => {
            let local = Arc::new(LocalUsers::open(databases.store(location, ModuleName::Users).await?).await?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Users, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
            let local: Arc<dyn UsersApi> = local;
            internal_routes.insert(ModuleName::Users, users_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Users, placement.caller)?.map(|peer| Arc::new(UsersClient(peer)) as Arc<dyn UsersApi>)
        }
    };
    let mut local_business = None;
    let business: Option<Arc<dyn BusinessApi>> = match placement.local.get(&ModuleName::Business) {
        Some(location) => {
            let local = Arc::new(LocalBusiness::open(databases.store(location, ModuleName::Business).await?).await?);
            local_business = Some(Arc::clone(&local));
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Business, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
            let local: Arc<dyn BusinessApi> = local;
            internal_routes.insert(ModuleName::Business, business_routes(Arc::clone(&local)));
            Some(local)
        }
        None => client_as(ModuleName::Business, placement.caller)?
            .map(|peer| Arc::new(BusinessClient(peer)) as Arc<dyn BusinessApi>),
    };
    let audit: Option<Arc<dyn AuditApi>> = match placement.local.get(&ModuleName::Audit) {
        Some(location) => {
            let chain_key = secrets
                .audit_chain_key
                .as_ref()
                .context("audit runs here, but this process was given no audit chain key")?;
            let store = databases.store(location, ModuleName::Audit).await?;
            let local = Arc::new(LocalAudit::open(store, Some(ChainKey::new(chain_key))).await?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Audit, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
            let local: Arc<dyn AuditApi> = local;
            internal_routes.insert(ModuleName::Audit, audit_routes(Arc::clone(&local)));
            Some(local)
        }
        None => {
            client_as(ModuleName::Audit, placement.caller)?.map(|peer| Arc::new(AuditClient(peer)) as Arc<dyn AuditApi>)
        }
    };
    let analytics: Option<Arc<dyn AnalyticsApi>> = match placement.local.get(&ModuleName::Analytics) {
        Some(location) => {
            let local = Arc::new(LocalAnalytics::open(databases.store(location, ModuleName::Analytics).await?).await?);
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Analytics, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
            let local: Arc<dyn AnalyticsApi> = local;
            internal_routes.insert(ModuleName::Analytics, analytics_routes(Arc::clone(&local)));
            Some(local)
        }
        None => client_as(ModuleName::Analytics, placement.caller)?
            .map(|peer| Arc::new(AnalyticsClient(peer)) as Arc<dyn AnalyticsApi>),
    };

    let mut local_points = None;
    let points: Option<Arc<dyn PointsApi>> = match placement.local.get(&ModuleName::Points) {
        Some(location) => {
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
                if placement.local.get(&subscriber) == Some(location) {
                    Delivery::InTransaction
                } else {
                    Delivery::Outbox
                }
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
            let settings = PointsSettings {
                qr_lifetime_seconds: tuning.qr_lifetime_seconds,
                outbox_max_attempts: tuning.outbox_max_attempts,
            };
            let local = Arc::new(
                LocalPoints::open(
                    databases.store(location, ModuleName::Points).await?,
                    business,
                    users,
                    subscriptions,
                    settings,
                )
                .await?,
            );
            local_points = Some(Arc::clone(&local));
            let checked = Arc::clone(&local);
            health.add_local(ModuleName::Points, move || {
                let checked = Arc::clone(&checked);
                async move { checked.check_storage().await }
            });
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
    Ok(Composition {
        auth,
        users,
        business,
        points,
        audit,
        analytics,
        local_points,
        local_business,
        peers,
        health,
        internal_routes,
    })
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

/// The modules that `verify` reads, each opened on the database that holds its tables, when there is one.
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

/// Opens points, audit and analytics on the databases in `locations` (a module missing from it stays `None`), for
/// reading; audit with the chain's key when it is given.
///
/// Unlike [`compose`], this needs no module to be complete: points is opened without subscribers (`verify` relays
/// nothing) and without business and users, so that any subset of a deployment's databases can be checked.
pub async fn open_for_inspection(
    locations: &BTreeMap<ModuleName, DatabaseLocation>,
    audit_chain_key: Option<&[u8; 32]>,
) -> anyhow::Result<InspectedModules> {
    let mut databases = OpenDatabases::default();
    let mut inspected = InspectedModules::default();
    if let Some(location) = locations.get(&ModuleName::Points) {
        let not_opened = Arc::new(NotOpenedForInspection);
        let points = LocalPoints::open(
            databases.store(location, ModuleName::Points).await?,
            Arc::clone(&not_opened) as Arc<dyn BusinessApi>,
            not_opened as Arc<dyn UsersApi>,
            Vec::new(),
            PointsSettings { qr_lifetime_seconds: 0, outbox_max_attempts: 1 },
        )
        .await?;
        inspected.points = Some(Arc::new(points));
    }
    if let Some(location) = locations.get(&ModuleName::Audit) {
        let store = databases.store(location, ModuleName::Audit).await?;
        inspected.audit = Some(Arc::new(LocalAudit::open(store, audit_chain_key.map(ChainKey::new)).await?));
    }
    if let Some(location) = locations.get(&ModuleName::Analytics) {
        let store = databases.store(location, ModuleName::Analytics).await?;
        inspected.analytics = Some(Arc::new(LocalAnalytics::open(store).await?));
    }
    Ok(inspected)
}

/// The two modules the operator's commands act on, opened on their own databases.
pub struct OperatedModules {
    /// Approvals.
    pub business: Arc<LocalBusiness>,
    /// Emission budgets; points is wired to the business module above, and to nothing else (grants publish nothing).
    pub points: Arc<LocalPoints>,
}

/// Opens business and points on the databases in `locations`, for `rewards operator`. Both must be there.
pub async fn open_for_operator(locations: &BTreeMap<ModuleName, DatabaseLocation>) -> anyhow::Result<OperatedModules> {
    let mut databases = OpenDatabases::default();
    let (Some(business_location), Some(points_location)) =
        (locations.get(&ModuleName::Business), locations.get(&ModuleName::Points))
    else {
        bail!("the operator's commands need the databases of both the business and the points modules");
    };
    let business =
        Arc::new(LocalBusiness::open(databases.store(business_location, ModuleName::Business).await?).await?);
    let points = LocalPoints::open(
        databases.store(points_location, ModuleName::Points).await?,
        Arc::clone(&business) as Arc<dyn BusinessApi>,
        Arc::new(NotOpenedForInspection) as Arc<dyn UsersApi>,
        Vec::new(),
        PointsSettings { qr_lifetime_seconds: 0, outbox_max_attempts: 1 },
    )
    .await?;
    Ok(OperatedModules { business, points: Arc::new(points) })
}
