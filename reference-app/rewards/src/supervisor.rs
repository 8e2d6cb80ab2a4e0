//! Child services: starting one `rewards serve-module` process per extracted module on an ephemeral loopback port,
//! restarting one that dies, and making sure none outlives the parent.
//!
//! A child that exits without being asked to is started again on the same address, with the same arguments, after a
//! backoff that doubles with each crash in a row (100 ms, 200 ms, … up to 30 s) and starts again from 100 ms once a
//! child has run for a minute: a service that crashes at start-up is retried without spinning, and one that crashed
//! once comes back at once ([`Supervisor::keep_alive`]).
//!
//! Four things stop children: a graceful stop of the parent (Ctrl-C or SIGTERM) sends each child SIGTERM and waits
//! for it to exit ([`Supervisor::stop_all`]); dropping the [`Supervisor`] kills any that is left; each child asks
//! Linux, through `PR_SET_PDEATHSIG`, to be killed if its parent dies without doing either (a `kill -9` of the
//! parent); and each child exits at start if its parent is already gone.
//!
//! Services given to `serve` as `--peer NAME=URL` were started by someone else and are never stopped from here.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::config::ModuleName;

/// How long a child has to bind its port and say where it listens.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(20);

/// How long a child has to exit after SIGTERM before it is killed.
const CHILD_STOP_GRACE: Duration = Duration::from_secs(5);

/// The line a service prints on stdout once it listens, followed by its base URL.
pub const LISTENING_PREFIX: &str = "listening on ";

/// How often the supervisor looks for children that died.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// The wait before restarting a child after its first crash in a row.
const FIRST_RESTART_BACKOFF: Duration = Duration::from_millis(100);

/// The longest wait before a restart.
const LONGEST_RESTART_BACKOFF: Duration = Duration::from_secs(30);

/// A child that ran this long before it died starts its backoff again from the first step.
const STABLE_AFTER: Duration = Duration::from_secs(60);

/// The wait before restarting a child that crashed `crashes_in_a_row` times in a row.
pub fn restart_backoff(crashes_in_a_row: u32) -> Duration {
    let doublings = crashes_in_a_row.saturating_sub(1).min(16);
    FIRST_RESTART_BACKOFF.saturating_mul(1 << doublings).min(LONGEST_RESTART_BACKOFF)
}

/// One child service.
#[derive(Debug)]
struct ServiceChild {
    /// The base URL it announced.
    url: String,
    /// The address it listens on, kept across restarts so that its peers find it again.
    listen: String,
    arguments: Vec<String>,
    /// `None` while it is down: stopped on purpose, or dead and waiting for its restart.
    process: Option<Child>,
    /// Stopped on purpose ([`Supervisor::stop`]): not restarted until [`Supervisor::restart`].
    held: bool,
    started_at: Instant,
    crashes_in_a_row: u32,
    restart_at: Option<Instant>,
    /// How many times it was restarted after dying.
    restarts: u32,
}

/// The child services of one `rewards serve`.
#[derive(Debug)]
pub struct Supervisor {
    executable: PathBuf,
    data_dir: PathBuf,
    children: Mutex<BTreeMap<ModuleName, ServiceChild>>,
    stopping: AtomicBool,
}

impl Supervisor {
    /// Starts a service for each of `modules`, giving each the URLs of the peers it needs: another child's, a
    /// service's in `running_elsewhere` (started by hand), or `own_url` (this process's internal listener) for a
    /// module that this process hosts itself. Every child gets `shared_arguments` (limits, logging, TLS).
    pub async fn start(
        executable: &Path,
        data_dir: &Path,
        shared_arguments: &[String],
        modules: &BTreeSet<ModuleName>,
        running_elsewhere: &BTreeMap<ModuleName, String>,
        own_url: Option<&str>,
    ) -> anyhow::Result<Supervisor> {
        let supervisor = Supervisor {
            executable: executable.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            children: Mutex::new(BTreeMap::new()),
            stopping: AtomicBool::new(false),
        };
        // `ModuleName::ALL` lists points last, so that the peers it needs already have URLs.
        for module in ModuleName::ALL.into_iter().filter(|module| modules.contains(module)) {
            let mut arguments = vec![
                "serve-module".to_owned(),
                module.as_str().to_owned(),
                "--data-dir".to_owned(),
                data_dir.display().to_string(),
                "--parent-pid".to_owned(),
                std::process::id().to_string(),
            ];
            for peer in module.peers_needed() {
                let url = match supervisor.url_of(*peer).or_else(|| running_elsewhere.get(peer).cloned()) {
                    Some(url) => url,
                    None if !modules.contains(peer) => {
                        own_url.context("a child calls this process, which serves no internal listener")?.to_owned()
                    }
                    None => bail!("{peer} must start before {module}"),
                };
                arguments.push(format!("--peer={}={url}", peer.as_str()));
            }
            arguments.extend(shared_arguments.iter().cloned());
            let child = supervisor.spawn_child(module, &arguments, "127.0.0.1:0").await?;
            supervisor.lock_children()?.insert(module, child);
        }
        supervisor.write_services_file()?;
        Ok(supervisor)
    }

    fn lock_children(&self) -> anyhow::Result<std::sync::MutexGuard<'_, BTreeMap<ModuleName, ServiceChild>>> {
        self.children.lock().map_err(|_| anyhow::anyhow!("the supervisor's lock was poisoned"))
    }

    async fn spawn_child(
        &self,
        module: ModuleName,
        arguments: &[String],
        listen: &str,
    ) -> anyhow::Result<ServiceChild> {
        let mut process = Command::new(&self.executable)
            .args(arguments)
            .arg(format!("--listen={listen}"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {module} service from {}", self.executable.display()))?;
        let stdout = process.stdout.take().context("the child's stdout was not captured")?;
        let mut lines = BufReader::new(stdout).lines();
        let first_line = tokio::time::timeout(CHILD_START_TIMEOUT, lines.next_line())
            .await
            .with_context(|| format!("the {module} service did not start within {CHILD_START_TIMEOUT:?}"))?
            .with_context(|| format!("reading the {module} service's output"))?
            .with_context(|| format!("the {module} service exited before listening"))?;
        let url = first_line
            .strip_prefix(LISTENING_PREFIX)
            .with_context(|| format!("the {module} service printed {first_line:?} instead of its address"))?
            .trim()
            .to_owned();
        let address = url
            .split_once("://")
            .map(|(_, address)| address.to_owned())
            .with_context(|| format!("the {module} service announced {url:?}, which is not a URL"))?;
        // Keep reading so that the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        tracing::info!(%module, %url, pid = process.id(), "service started");
        Ok(ServiceChild {
            url,
            listen: address,
            arguments: arguments.to_vec(),
            process: Some(process),
            held: false,
            started_at: Instant::now(),
            crashes_in_a_row: 0,
            restart_at: None,
            restarts: 0,
        })
    }

    /// The base URL of a child service.
    pub fn url_of(&self, module: ModuleName) -> Option<String> {
        self.children.lock().ok()?.get(&module).map(|child| child.url.clone())
    }

    /// The base URLs of every child service.
    pub fn urls(&self) -> BTreeMap<ModuleName, String> {
        self.children
            .lock()
            .map(|children| children.iter().map(|(module, child)| (*module, child.url.clone())).collect())
            .unwrap_or_default()
    }

    /// The process id of a child service, while it runs.
    pub fn pid_of(&self, module: ModuleName) -> Option<u32> {
        self.children.lock().ok()?.get(&module)?.process.as_ref()?.id()
    }

    /// How many times a child was restarted after it died.
    pub fn restarts_of(&self, module: ModuleName) -> u32 {
        self.children.lock().ok().and_then(|children| children.get(&module).map(|child| child.restarts)).unwrap_or(0)
    }

    /// Kills one child service and waits for it to exit (to simulate, or to handle, the loss of a service). It stays
    /// down, and is not restarted by [`Supervisor::keep_alive`], until [`Supervisor::restart`].
    pub async fn stop(&self, module: ModuleName) -> anyhow::Result<()> {
        let process = {
            let mut children = self.lock_children()?;
            let child = children.get_mut(&module).with_context(|| format!("no {module} service was started"))?;
            child.held = true;
            child.process.take()
        };
        let Some(mut process) = process else {
            bail!("no {module} service is running");
        };
        process.start_kill().ok();
        process.wait().await.context("waiting for the service to exit")?;
        Ok(())
    }

    /// Starts a child service again on the same address, with the same arguments.
    pub async fn restart(&self, module: ModuleName) -> anyhow::Result<()> {
        let (address, arguments, running, restarts) = {
            let mut children = self.lock_children()?;
            let child = children.get_mut(&module).with_context(|| format!("{module} was never started"))?;
            (child.listen.clone(), child.arguments.clone(), child.process.take(), child.restarts)
        };
        if let Some(mut running) = running {
            running.start_kill().ok();
            running.wait().await.ok();
        }
        let mut child = self.spawn_child(module, &arguments, &address).await?;
        child.restarts = restarts;
        self.lock_children()?.insert(module, child);
        self.write_services_file()?;
        Ok(())
    }

    /// Restarts children that die, with backoff, until `stop` completes. The parent runs this alongside its servers,
    /// on the thread that runs `main`, so that restarted children get the same parent-death signal as the first ones.
    pub async fn keep_alive(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                () = tokio::time::sleep(WATCH_INTERVAL) => self.restart_dead_children().await,
            }
        }
    }

    async fn restart_dead_children(&self) {
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        let due: Vec<(ModuleName, String, Vec<String>)> = {
            let Ok(mut children) = self.children.lock() else {
                return;
            };
            for (module, child) in children.iter_mut().filter(|(_, child)| !child.held) {
                let Some(process) = child.process.as_mut() else {
                    continue;
                };
                let Ok(Some(status)) = process.try_wait() else {
                    continue;
                };
                child.process = None;
                if now.duration_since(child.started_at) >= STABLE_AFTER {
                    child.crashes_in_a_row = 0;
                }
                child.crashes_in_a_row += 1;
                let wait = restart_backoff(child.crashes_in_a_row);
                child.restart_at = Some(now + wait);
                tracing::warn!(%module, %status, crashes_in_a_row = child.crashes_in_a_row, ?wait, "service died; restarting it");
            }
            children
                .iter()
                .filter(|(_, child)| !child.held && child.process.is_none())
                .filter(|(_, child)| child.restart_at.is_some_and(|at| at <= now))
                .map(|(module, child)| (*module, child.listen.clone(), child.arguments.clone()))
                .collect()
        };
        for (module, listen, arguments) in due {
            let started = self.spawn_child(module, &arguments, &listen).await;
            let Ok(mut children) = self.children.lock() else {
                return;
            };
            let Some(child) = children.get_mut(&module) else {
                continue;
            };
            match started {
                // Stopped on purpose, or the parent began to stop, while this one was starting: it must not stay.
                Ok(mut fresh) if child.held || self.stopping.load(Ordering::SeqCst) => {
                    if let Some(process) = fresh.process.as_mut() {
                        process.start_kill().ok();
                    }
                }
                Ok(fresh) => {
                    child.process = fresh.process;
                    child.started_at = fresh.started_at;
                    child.restart_at = None;
                    child.restarts += 1;
                    tracing::info!(%module, restarts = child.restarts, "service restarted");
                }
                Err(error) => {
                    child.crashes_in_a_row += 1;
                    let wait = restart_backoff(child.crashes_in_a_row);
                    child.restart_at = Some(Instant::now() + wait);
                    tracing::error!(%module, error = format!("{error:#}"), ?wait, "restarting the service failed");
                }
            }
            drop(children);
            if let Err(error) = self.write_services_file() {
                tracing::warn!(error = format!("{error:#}"), "could not update services.json");
            }
        }
    }

    /// Stops every child service and waits until each has exited: SIGTERM first, so that each finishes its
    /// requests, then SIGKILL for any that has not exited within `CHILD_STOP_GRACE`.
    pub async fn stop_all(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let processes: Vec<(ModuleName, Child)> = match self.lock_children() {
            Ok(mut children) => children
                .iter_mut()
                .filter_map(|(module, child)| child.process.take().map(|process| (*module, process)))
                .collect(),
            Err(_) => return,
        };
        let mut waits = tokio::task::JoinSet::new();
        for (module, mut process) in processes {
            waits.spawn(async move {
                terminate(&process);
                if tokio::time::timeout(CHILD_STOP_GRACE, process.wait()).await.is_err() {
                    tracing::warn!(%module, "service did not stop within {CHILD_STOP_GRACE:?}; killing it");
                    process.start_kill().ok();
                    process.wait().await.ok();
                }
            });
        }
        while waits.join_next().await.is_some() {}
    }

    /// Writes `DIR/services.json`, which tells operators (and the fault test) where each service runs.
    fn write_services_file(&self) -> anyhow::Result<()> {
        let children = self.lock_children()?;
        let services: serde_json::Map<String, serde_json::Value> = children
            .iter()
            .map(|(module, child)| {
                (
                    module.as_str().to_owned(),
                    serde_json::json!({"url": child.url, "pid": child.process.as_ref().and_then(Child::id)}),
                )
            })
            .collect();
        let file = self.data_dir.join("services.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&services)?)
            .with_context(|| format!("writing {}", file.display()))
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if let Ok(children) = self.children.get_mut() {
            for process in children.values_mut().filter_map(|child| child.process.as_mut()) {
                process.start_kill().ok();
            }
        }
    }
}

/// Asks a child to stop as an operator would, with SIGTERM (the child's own graceful shutdown).
fn terminate(process: &Child) {
    #[cfg(unix)]
    if let Some(pid) = process.id().and_then(|pid| i32::try_from(pid).ok()).and_then(rustix::process::Pid::from_raw) {
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).ok();
    }
    #[cfg(not(unix))]
    let _ = process;
}

/// Called first thing in a child service: die with the parent, and do not start if it is already gone.
///
/// `PR_SET_PDEATHSIG` fires when the parent *thread* that spawned the child exits. The parent spawns children from
/// the thread that runs `main`, which lives as long as the process, so the signal means the parent process died.
pub fn die_with_parent(parent_pid: u32) -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL))
            .context("setting the parent-death signal")?;
        let current_parent = rustix::process::getppid().map(|pid| pid.as_raw_nonzero().get());
        if current_parent != i32::try_from(parent_pid).ok() {
            bail!("the parent process {parent_pid} is gone; not starting");
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = parent_pid;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_restart_backoff_doubles_and_is_capped() {
        assert_eq!(restart_backoff(1), Duration::from_millis(100));
        assert_eq!(restart_backoff(2), Duration::from_millis(200));
        assert_eq!(restart_backoff(5), Duration::from_millis(1_600));
        assert_eq!(restart_backoff(9), Duration::from_secs(25) + Duration::from_millis(600));
        assert_eq!(restart_backoff(10), LONGEST_RESTART_BACKOFF);
        assert_eq!(restart_backoff(u32::MAX), LONGEST_RESTART_BACKOFF);
    }
}
