//! [`Application`]: the bound listeners plus the routers and background work of one process, either the public
//! gateway (`rewards serve`) or one module service (`rewards serve-module`).
//!
//! Internal routes (`/rpc/…`) are never served on the public port. A module service serves them on its one
//! listener; `serve` serves them on a listener of their own (`--internal-listen`), and only when an extracted module
//! calls a module that this process hosts. The monolith has no internal listener at all.

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
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::composition::{Composition, DatabaseLocation, Placement, compose, spawn_outbox_relay};
use crate::config::{ModuleName, StorageArgs, Topology, Tuning};
use crate::gateway::{self, TrustedProxies};
use crate::secrets::{Caller, Secrets, SecretsWanted, create_private_dir};
use crate::supervisor::Supervisor;
use crate::transport::server::{RpcGuard, RpcRoutes, guarded};
use crate::transport::tls::{InternalTls, TlsListener};

/// What `rewards serve` needs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where the SQLite files (with `--db sqlite`), the secrets and `services.json` live.
    pub data_dir: PathBuf,
    /// Which database the modules' tables live in.
    pub storage: StorageArgs,
    /// The public address; port 0 picks a free one.
    pub listen: String,
    /// The address of the internal listener, which serves this process's modules to extracted ones (when any calls
    /// them); port 0 picks a free one.
    pub internal_listen: String,
    /// How the modules are spread over processes.
    pub topology: Topology,
    /// Services already running elsewhere (started by hand with `serve-module`), by module: an extracted module
    /// listed here is reached at its URL instead of being started as a child.
    pub peers: BTreeMap<ModuleName, String>,
    /// Limits and timings.
    pub tuning: Tuning,
    /// TLS of the internal listener and of calls to https:// peers.
    pub internal_tls: InternalTls,
    /// The proxies whose forwarded headers name the client.
    pub trusted_proxies: TrustedProxies,
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
    /// Where its SQLite file (with `--db sqlite`) and the secrets live.
    pub data_dir: PathBuf,
    /// Which database the module's tables live in.
    pub storage: StorageArgs,
    /// The address to listen on; port 0 picks a free one.
    pub listen: String,
    /// The base URL of each peer module it calls.
    pub peers: BTreeMap<ModuleName, String>,
    /// Limits and timings.
    pub tuning: Tuning,
    /// TLS of its listener and of calls to https:// peers.
    pub internal_tls: InternalTls,
}

/// A bound listener, plain or TLS.
enum Bound {
    Plain(TcpListener),
    Tls(TlsListener),
}

impl Bound {
    async fn bind(address: &str, tls: &InternalTls) -> anyhow::Result<(Bound, SocketAddr, &'static str)> {
        let listener = TcpListener::bind(address).await.with_context(|| format!("binding {address}"))?;
        let local_address = listener.local_addr()?;
        Ok(match tls.server()? {
            Some(server) => (Bound::Tls(server.listen(listener)?), local_address, "https"),
            None => (Bound::Plain(listener), local_address, "http"),
        })
    }
}

/// The internal listener of a process, with the guarded routes it serves.
struct Internal {
    bound: Bound,
    address: SocketAddr,
    scheme: &'static str,
    router: Router,
}

/// A process of the app, bound and ready to serve.
pub struct Application {
    /// The public listener of the gateway, with its router; `None` for a module service.
    public: Option<(TcpListener, SocketAddr, Router)>,
    internal: Option<Internal>,
    supervisor: Option<Arc<Supervisor>>,
    background: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Application")
            .field("url", &self.url())
            .field("internal_url", &self.internal_url())
            .finish()
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

/// Puts the guard, holding the verifiers of every caller `routes` accept, in front of them.
fn guard_routes(data_dir: &std::path::Path, routes: RpcRoutes, secrets: &Secrets) -> anyhow::Result<Router> {
    let callers: BTreeSet<Caller> = routes.callers().clone();
    let guard =
        RpcGuard { callers: Secrets::load_verifiers(data_dir, &callers)?, tokens: secrets.token_verifier.clone() };
    Ok(guarded(routes, guard))
}

impl Application {
    /// Builds the gateway process: binds the listeners, starts child services for the modules that the topology
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
        create_private_dir(&config.data_dir)?;
        let local: BTreeSet<ModuleName> =
            ModuleName::ALL.into_iter().filter(|module| !extracted.contains(module)).collect();
        let mut calls_as = BTreeSet::new();
        if !extracted.is_empty() {
            calls_as.insert(Caller::Gateway);
        }
        if local.contains(&ModuleName::Points)
            && ModuleName::Points.peers_needed().iter().any(|peer| extracted.contains(peer))
        {
            calls_as.insert(Caller::Service(ModuleName::Points));
        }
        let secrets = Secrets::load(
            &config.data_dir,
            &SecretsWanted {
                signs_tokens: local.contains(&ModuleName::Auth),
                calls_as,
                hosts_audit: local.contains(&ModuleName::Audit),
            },
        )?;
        let listener = TcpListener::bind(&config.listen).await.with_context(|| format!("binding {}", config.listen))?;
        let address = listener.local_addr()?;
        // The local modules that an extracted module calls: this process serves those, and only those, to peers.
        let served: BTreeSet<ModuleName> = extracted
            .iter()
            .flat_map(|module| module.peers_needed().iter().copied())
            .filter(|module| local.contains(module))
            .collect();
        let internal_listener = if served.is_empty() {
            None
        } else {
            Some(Bound::bind(&config.internal_listen, &config.internal_tls).await?)
        };
        let internal_url =
            internal_listener.as_ref().map(|(_, internal_address, scheme)| format!("{scheme}://{internal_address}"));
        let children: BTreeSet<ModuleName> =
            extracted.iter().copied().filter(|module| !config.peers.contains_key(module)).collect();
        let supervisor = if children.is_empty() {
            None
        } else {
            let executable = match &config.executable {
                Some(executable) => executable.clone(),
                None => std::env::current_exe().context("finding the rewards executable")?,
            };
            let mut shared_arguments = config.tuning.to_args();
            shared_arguments.extend(config.log_arguments.iter().cloned());
            shared_arguments.extend(config.internal_tls.to_args());
            shared_arguments.extend(config.storage.to_args());
            let supervisor = Supervisor::start(
                &executable,
                &config.data_dir,
                &shared_arguments,
                &children,
                &config.peers,
                internal_url.as_deref(),
            )
            .await?;
            Some(Arc::new(supervisor))
        };
        let mut placement = Placement { peer_roots: config.internal_tls.peer_roots()?, ..Placement::default() };
        for module in ModuleName::ALL {
            let child_url = supervisor.as_ref().and_then(|supervisor| supervisor.url_of(module));
            match config.peers.get(&module).cloned().or(child_url) {
                Some(url) => {
                    placement.remote.insert(module, url);
                }
                None => {
                    let location = DatabaseLocation::of_module(&config.storage, &config.data_dir, module, false)?;
                    placement.local.insert(module, location);
                }
            }
        }
        let mut composition = compose(&placement, &secrets, &config.tuning).await?;
        let missing = |module: &str| anyhow::anyhow!("the gateway needs the {module} module");
        let state = gateway::gateway_state(
            composition.auth.clone().ok_or_else(|| missing("auth"))?,
            composition.users.clone().ok_or_else(|| missing("users"))?,
            composition.business.clone().ok_or_else(|| missing("business"))?,
            composition.points.clone().ok_or_else(|| missing("points"))?,
            composition.analytics.clone().ok_or_else(|| missing("analytics"))?,
            composition.health.clone(),
            secrets.token_verifier.clone(),
            &config.tuning,
            config.trusted_proxies.clone(),
        );
        let internal = match internal_listener {
            Some((bound, internal_address, scheme)) => {
                let mut routes = RpcRoutes::new();
                for module in &served {
                    if let Some(module_routes) = composition.internal_routes.remove(module) {
                        routes = routes.merge(module_routes);
                    }
                }
                let router = guard_routes(&config.data_dir, routes, &secrets)?;
                tracing::info!(%internal_address, modules = ?served, "internal listener ready");
                Some(Internal { bound, address: internal_address, scheme, router })
            }
            None => None,
        };
        let background = background_work(&composition, &config.tuning);
        let router = gateway::router(state);
        tracing::info!(%address, topology = %config.topology, "gateway ready");
        Ok(Application { public: Some((listener, address, router)), internal, supervisor, background })
    }

    /// Builds one module service: its own database file (or its schema of the PostgreSQL database), and its RPC
    /// routes behind the guard with `/healthz`, on its one (internal) listener.
    pub async fn build_module_service(config: ModuleServiceConfig) -> anyhow::Result<Application> {
        create_private_dir(&config.data_dir)?;
        let caller = Caller::Service(config.module);
        let calls_as = if config.peers.is_empty() { BTreeSet::new() } else { BTreeSet::from([caller]) };
        let secrets = Secrets::load(
            &config.data_dir,
            &SecretsWanted {
                signs_tokens: config.module == ModuleName::Auth,
                calls_as,
                hosts_audit: config.module == ModuleName::Audit,
            },
        )?;
        let (bound, address, scheme) = Bound::bind(&config.listen, &config.internal_tls).await?;
        let mut placement = Placement { peer_roots: config.internal_tls.peer_roots()?, caller, ..Placement::default() };
        let location = DatabaseLocation::of_module(&config.storage, &config.data_dir, config.module, true)?;
        placement.local.insert(config.module, location);
        placement.remote = config.peers.clone();
        let mut composition = compose(&placement, &secrets, &config.tuning).await?;
        let routes = composition.internal_routes.remove(&config.module).unwrap_or_default();
        let background = background_work(&composition, &config.tuning);
        // A service answers for its own storage; its peers are asked by the gateway's `/healthz` themselves.
        let health = Arc::new(composition.health.local_only());
        let router = Router::new()
            .route("/healthz", get(move || async move { health.answer().await }))
            .merge(guard_routes(&config.data_dir, routes, &secrets)?);
        tracing::info!(%address, module = %config.module, "service ready");
        Ok(Application {
            public: None,
            internal: Some(Internal { bound, address, scheme, router }),
            supervisor: None,
            background,
        })
    }

    /// The address a client reaches this process at: the public one of the gateway, the one listener of a service.
    pub fn address(&self) -> SocketAddr {
        match (&self.public, &self.internal) {
            (Some((_, address, _)), _) => *address,
            (None, Some(internal)) => internal.address,
            (None, None) => unreachable!("an application has at least one listener"),
        }
    }

    /// The base URL of [`Application::address`], as announced on stdout.
    pub fn url(&self) -> String {
        match (&self.public, &self.internal) {
            (None, Some(internal)) => format!("{}://{}", internal.scheme, internal.address),
            _ => format!("http://{}", self.address()),
        }
    }

    /// The base URL of the internal listener of the gateway, when it has one.
    pub fn internal_url(&self) -> Option<String> {
        self.internal.as_ref().map(|internal| format!("{}://{}", internal.scheme, internal.address))
    }

    /// The port of [`Application::address`].
    pub fn port(&self) -> u16 {
        self.address().port()
    }

    /// The child services, when the topology has any.
    pub fn supervisor(&self) -> Option<Arc<Supervisor>> {
        self.supervisor.clone()
    }

    /// Serves until `shutdown` completes, restarting child services that die meanwhile; then stops background work
    /// and child services, waiting until every child has exited.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Application { public, internal, supervisor, background } = self;
        let (stop_sender, stop) = watch::channel(false);
        let stopped = |mut receiver: watch::Receiver<bool>| async move {
            let _ = receiver.wait_for(|stopped| *stopped).await;
        };
        let serve_public = {
            let stop = stop.clone();
            async move {
                match public {
                    Some((listener, _, router)) => {
                        axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                            .with_graceful_shutdown(stopped(stop))
                            .await
                    }
                    None => Ok(()),
                }
            }
        };
        let serve_internal = {
            let stop = stop.clone();
            async move {
                match internal {
                    Some(Internal { bound: Bound::Plain(listener), router, .. }) => {
                        axum::serve(listener, router).with_graceful_shutdown(stopped(stop)).await
                    }
                    Some(Internal { bound: Bound::Tls(listener), router, .. }) => {
                        axum::serve(listener, router).with_graceful_shutdown(stopped(stop)).await
                    }
                    None => Ok(()),
                }
            }
        };
        let keep_children_alive = {
            let stop = stop.clone();
            let supervisor = supervisor.clone();
            async move {
                if let Some(supervisor) = supervisor {
                    supervisor.keep_alive(stopped(stop)).await;
                }
            }
        };
        let signal = async move {
            shutdown.await;
            let _ = stop_sender.send(true);
        };
        let (public_served, internal_served, (), ()) =
            tokio::join!(serve_public, serve_internal, keep_children_alive, signal);
        for task in background {
            task.abort();
        }
        if let Some(supervisor) = supervisor {
            supervisor.stop_all().await;
        }
        public_served.context("serving HTTP")?;
        internal_served.context("serving the internal listener")
    }
}
