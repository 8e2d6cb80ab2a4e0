//! The health of the modules one process uses: a cheap query on the storage of each local module, and the
//! `/healthz` of each remote one. The gateway's `/healthz` asks both; a module service's asks its own storage.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rewards_platform::StorageError;
use serde_json::json;

use crate::config::ModuleName;
use crate::transport::client::PeerClient;

type StorageCheck = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), StorageError>> + Send>> + Send + Sync>;

/// What `/healthz` asks before it answers 200.
#[derive(Clone, Default)]
pub struct ModuleHealth {
    local: Vec<(ModuleName, StorageCheck)>,
    remote: Vec<Arc<PeerClient>>,
}

impl std::fmt::Debug for ModuleHealth {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let local: Vec<ModuleName> = self.local.iter().map(|(module, _)| *module).collect();
        let remote: Vec<&str> = self.remote.iter().map(|peer| peer.module()).collect();
        formatter.debug_struct("ModuleHealth").field("local", &local).field("remote", &remote).finish()
    }
}

impl ModuleHealth {
    /// Adds a local module, checked by running `check` on its storage.
    pub fn add_local<Check>(&mut self, module: ModuleName, check: impl Fn() -> Check + Send + Sync + 'static)
    where
        Check: Future<Output = Result<(), StorageError>> + Send + 'static,
    {
        self.local.push((module, Arc::new(move || Box::pin(check()))));
    }

    /// Adds a remote module, checked through its own `/healthz`.
    pub fn add_remote(&mut self, peer: Arc<PeerClient>) {
        self.remote.push(peer);
    }

    /// The same checks without the remote modules, for a module service: its peers have health checks of their own.
    pub fn local_only(&self) -> ModuleHealth {
        ModuleHealth { local: self.local.clone(), remote: Vec::new() }
    }

    /// The modules that did not answer, by name; empty when all are healthy.
    pub async fn unavailable_modules(&self) -> BTreeSet<String> {
        let mut checks = tokio::task::JoinSet::new();
        for peer in &self.remote {
            let peer = Arc::clone(peer);
            checks.spawn(async move { (peer.module().to_owned(), peer.is_healthy().await) });
        }
        let mut unavailable = BTreeSet::new();
        // Each storage check reads at most one row per table, as little as any request does, so they run on this task.
        for (module, check) in &self.local {
            if let Err(error) = check().await {
                tracing::warn!(%module, %error, "a local module's storage failed its health check");
                unavailable.insert(module.as_str().to_owned());
            }
        }
        while let Some(outcome) = checks.join_next().await {
            match outcome {
                Ok((_, true)) => {}
                Ok((module, false)) => {
                    tracing::warn!(%module, "a remote module failed its health check");
                    unavailable.insert(module);
                }
                Err(_) => {
                    unavailable.insert("unknown".to_owned());
                }
            }
        }
        unavailable
    }

    /// The answer of `/healthz`: 200 `{"status":"ok"}`, or 503 with the modules that did not answer.
    pub async fn answer(&self) -> Response {
        let unavailable = self.unavailable_modules().await;
        if unavailable.is_empty() {
            (StatusCode::OK, Json(json!({"status": "ok"}))).into_response()
        } else {
            let body = json!({"status": "unavailable", "unavailable": unavailable});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}
