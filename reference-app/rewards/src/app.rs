//! [`Application`]: a bound listener plus the router and background work of one process, either the public gateway
//! (`rewards serve`) or one module service (`rewards serve-module`).

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::composition::{
    Composition, Placement, compose, monolith_database_file, service_database_file, spawn_outbox_relay,
};
use crate::config::{ModuleName, Secrets, Topology, Tuning};
use crate::gateway;
use crate::supervisor::Supervisor;
use crate::transport::server::{RpcGuard, guarded};

/// What `rewards serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the database files and secrets live.
    pub data_dir: PathBuf,
    /// The public address; port 0 picks a free one.
    pub listen: String,
    /// How the modules are spread over processes.
    pub topology: Topology,
    /// Services already running elsewhere (started by hand with `serve-module`), by module: an extracted module
    /// listed here is reached at its URL instead of being started as a child.
    pub peers: BTreeMap<ModuleName, String>,
    /// Limits and timings.
    pub tuning: Tuning,
    /// The `rewards` binary to start child services from; `None` means this very executable.
    pub executable: Option<PathBuf>,
    /// Logging arguments passed on to child services.
    pub log_arguments: Vec<String>,
}

/// What `rewards serve-module` needs.
#[derive(Debug, Clone)]
pub struct ModuleServiceConfig {
    /// The module this service hosts.
    pub module: ModuleName,
    /// Where its database file and the secrets live.
    pub data_dir: PathBuf,
    /// The address to listen on; port 0 picks a free one.
    pub listen: String,
    /// The base URL of each peer module it calls.
    pub peers: BTreeMap<ModuleName, String>,
    /// Limits and timings.
    pub tuning: Tuning,
}

/// A process of the app, bound and ready to serve.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: Router,
    supervisor: Option<Arc<Supervisor>>,
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Application").field("address", &self.address).finish()
    }
}

fn background_work(composition: &Composition, tuning: &Tuning) -> Vec<JoinHandle<()>> {
    match &composition.local_points {
        Some(points) if points.needs_outbox_relay() => {
            vec![spawn_outbox_relay(Arc::clone(points), Duration::from_millis(tuning.relay_interval_ms.max(1)))]
        }
        _ => Vec::new(),
    }
}

impl Application {
    /// Builds the gateway process: binds the listener, starts child services for the modules that the topology
    /// extracts (except those given as peers, which already run elsewhere), and wires everything else in-process.
    pub async fn build(config: ServeConfig) -> anyhow::Result<Application> {
        let extracted = config.topology.extracted_modules();
        if let Some(module) = config.peers.keys().find(|module| !extracted.contains(module)) {
            bail!(
                "--peer {module}=URL names a module that topology {} runs in this process; use --topology services \
                 or extract={module}",
                config.topology
            );
        }
        std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
        let secrets = Secrets::load_or_create(&config.data_dir)?;
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        let children: BTreeSet<ModuleName> =
            extracted.iter().copied().filter(|module| !config.peers.contains_key(module)).collect();
        let supervisor = if children.is_empty() {
            None
        } else {
            let executable = match &config.executable {
                Some(executable) => executable.clone(),
                None => std::env::current_exe().context("finding the rewards executable")?,
            };
            let supervisor = Supervisor::start(
                &executable,
                &config.data_dir,
                &config.tuning,
                &config.log_arguments,
                &children,
                &config.peers,
                &format!("http://{address}"),
            )
            .await?;
            Some(Arc::new(supervisor))
        };
        let mut placement = Placement::default();
        for module in ModuleName::ALL {
            let child_url = supervisor.as_ref().and_then(|supervisor| supervisor.url_of(module));
            match config.peers.get(&module).cloned().or(child_url) {
                Some(url) => {
                    placement.remote.insert(module, url);
                }
                None => {
                    placement.local.insert(module, monolith_database_file(&config.data_dir));
                }
            }
        }
        let composition = compose(&placement, &secrets, &config.tuning)?;
        let missing = |module: &str| anyhow::anyhow!("the gateway needs the {module} module");
        let state = gateway::gateway_state(
            composition.auth.clone().ok_or_else(|| missing("auth"))?,
            composition.users.clone().ok_or_else(|| missing("users"))?,
            composition.business.clone().ok_or_else(|| missing("business"))?,
            composition.points.clone().ok_or_else(|| missing("points"))?,
            composition.analytics.clone().ok_or_else(|| missing("analytics"))?,
            composition.health.clone(),
            secrets.token_key.clone(),
            config.tuning.rate_limit_per_second,
            config.tuning.rate_limit_burst,
        );
        let guard = RpcGuard {
            service_credential: Arc::from(secrets.service_credential.as_str()),
            token_key: secrets.token_key.clone(),
        };
        let background = background_work(&composition, &config.tuning);
        let router = gateway::router(state).merge(guarded(composition.internal_routes, guard));
        tracing::info!(%address, topology = %config.topology, "gateway ready");
        Ok(Application { listener, address, router, supervisor, background })
    }

    /// Builds one module service: its own database file, RPC routes behind the guard, and `/healthz`.
    pub async fn build_module_service(config: ModuleServiceConfig) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| format!("creating {}", config.data_dir.display()))?;
        let secrets = Secrets::load_or_create(&config.data_dir)?;
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        let mut placement = Placement::default();
        placement.local.insert(config.module, service_database_file(&config.data_dir, config.module));
        placement.remote = config.peers.clone();
        let composition = compose(&placement, &secrets, &config.tuning)?;
        let guard = RpcGuard {
            service_credential: Arc::from(secrets.service_credential.as_str()),
            token_key: secrets.token_key.clone(),
        };
        let background = background_work(&composition, &config.tuning);
        // A service answers for its own storage; its peers are asked by the gateway's `/healthz` themselves.
        let health = Arc::new(composition.health.local_only());
        let router = Router::new()
            .route("/healthz", get(move || async move { health.answer().await }))
            .merge(guarded(composition.internal_routes, guard));
        tracing::info!(%address, module = %config.module, "service ready");
        Ok(Application { listener, address, router, supervisor: None, background })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The child services, when the topology has any.
    pub fn supervisor(&self) -> Option<Arc<Supervisor>> {
        self.supervisor.clone()
    }

    /// Serves until `shutdown` completes, then stops background work and child services, waiting until every
    /// child has exited.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { listener, router, supervisor, background, .. } = self;
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await;
        for task in background {
            task.abort();
        }
        if let Some(supervisor) = supervisor {
            supervisor.stop_all().await;
        }
        served.context("serving HTTP")
    }
}
