//! Test harness: starts the app in a topology on a fresh data directory and talks JSON to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use rewards::app::{Application, ServeConfig};
use rewards::config::{HashingCost, StorageArgs, Topology, Tuning};
use rewards::gateway::TrustedProxies;
use rewards::supervisor::Supervisor;
use rewards::transport::tls::InternalTls;
use rewards_platform::testing::ScratchPostgres;
use serde_json::{Value, json};

/// Settings that keep tests fast: cheap password hashing, no practical rate limit, short breaker and relay timings.
pub fn test_tuning() -> Tuning {
    Tuning {
        password_hashing: HashingCost::Fast,
        rate_limit_per_second: 100_000,
        rate_limit_burst: 100_000,
        auth_rate_limit_per_minute: 100_000,
        auth_rate_limit_burst: 100_000,
        auth_email_rate_limit_per_minute: 100_000,
        auth_email_rate_limit_burst: 100_000,
        peer_timeout_ms: 1_000,
        breaker_open_ms: 300,
        relay_interval_ms: 20,
        ..Tuning::default()
    }
}

/// The database a test runs the app on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A running app, its data directory and its database, stopped (children included) when dropped; a scratch
/// PostgreSQL database is dropped after the app.
pub struct RunningApp {
    pub api: Api,
    pub supervisor: Option<Arc<Supervisor>>,
    /// The gateway's internal listener, when the topology gives it one.
    pub internal_url: Option<String>,
    pub storage: StorageArgs,
    data_path: PathBuf,
    _data_dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    scratch: Option<ScratchPostgres>,
}

impl RunningApp {
    pub fn data_dir(&self) -> &Path {
        &self.data_path
    }

    /// The scratch PostgreSQL database, when the app runs on one.
    pub fn postgres(&self) -> Option<&ScratchPostgres> {
        self.scratch.as_ref()
    }

    /// Stops the server and waits for it, so that every child service has been killed on return.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            stop.send(()).ok();
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

pub fn rewards_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rewards"))
}

/// The configuration `start_app` serves with, on `data_dir`, on SQLite.
pub fn serve_config(data_dir: &Path, topology: Topology, tuning: Tuning) -> ServeConfig {
    ServeConfig {
        data_dir: data_dir.to_path_buf(),
        storage: StorageArgs::default(),
        listen: "127.0.0.1:0".to_owned(),
        internal_listen: "127.0.0.1:0".to_owned(),
        topology,
        peers: std::collections::BTreeMap::new(),
        tuning,
        internal_tls: InternalTls::default(),
        trusted_proxies: TrustedProxies::default(),
        executable: Some(rewards_binary()),
        log_arguments: Vec::new(),
    }
}

/// Starts the app on SQLite in `topology` with `tuning`.
pub async fn start_app(topology: Topology, tuning: Tuning) -> RunningApp {
    let data_dir = tempfile::tempdir().unwrap();
    let config = serve_config(data_dir.path(), topology, tuning);
    start_app_with(data_dir, config).await
}

/// Starts the app on `db`, or returns `None` when the test needs PostgreSQL and none is configured (outside CI; see
/// `rewards_platform::testing`). Each app gets a database of its own.
pub async fn start_app_on(db: Db, test_name: &str, topology: Topology, tuning: Tuning) -> Option<RunningApp> {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = serve_config(data_dir.path(), topology, tuning);
    match db {
        Db::Sqlite => Some(start_app_in(data_dir, config, None).await),
        Db::Postgres => {
            let scratch = ScratchPostgres::create(test_name).await?;
            config.storage = StorageArgs::postgres(scratch.url());
            Some(start_app_in(data_dir, config, Some(scratch)).await)
        }
    }
}

/// Starts the app with `config`, whose data directory lives in (or is) `data_dir`.
pub async fn start_app_with(data_dir: tempfile::TempDir, config: ServeConfig) -> RunningApp {
    start_app_in(data_dir, config, None).await
}

async fn start_app_in(
    data_dir: tempfile::TempDir,
    config: ServeConfig,
    scratch: Option<ScratchPostgres>,
) -> RunningApp {
    let data_path = config.data_dir.clone();
    let storage = config.storage.clone();
    let application = Application::build(config).await.unwrap();
    let internal_url = application.internal_url();
    let api = Api::new(format!("http://127.0.0.1:{}", application.port()));
    let supervisor = application.supervisor();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async move {
        stopped.await.ok();
    }));
    RunningApp {
        api,
        supervisor,
        internal_url,
        storage,
        data_path,
        _data_dir: data_dir,
        stop: Some(stop),
        server: Some(server),
        scratch,
    }
}

/// A JSON client of the public API.
#[derive(Clone)]
pub struct Api {
    base_url: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base_url: String) -> Api {
        Api { base_url, http: reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap() }
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends a raw body and returns the status and the decoded JSON answer (`Value::Null` if it is not JSON).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        self.try_send_raw(method, path, token, content_type, body).await.unwrap()
    }

    /// Like [`Api::send_raw`], but returns transport errors instead of panicking.
    pub async fn try_send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Result<(u16, Value), reqwest::Error> {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// Sends a body larger than the server accepts. The server answers 413 from the `Content-Length` alone and
    /// closes the connection with the rest of the body unread, which the kernel may turn into a reset that races
    /// the answer; so a transport error is retried, while any answer is returned as it is.
    pub async fn send_oversized(&self, path: &str, token: Option<&str>, size: usize) -> (u16, Value) {
        let mut last_error = None;
        for _ in 0..5 {
            match self.try_send_raw(Method::POST, path, token, Some("application/json"), vec![b' '; size]).await {
                Ok(answer) => return answer,
                Err(error) => last_error = Some(error),
            }
        }
        panic!("no answer to an oversized body after 5 attempts: {last_error:?}");
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        self.send_raw(Method::POST, path, token, Some("application/json"), serde_json::to_vec(&body).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.send_raw(Method::GET, path, token, None, Vec::new()).await
    }

    /// Registers an account and returns its user id.
    pub async fn register(&self, email: &str, role: &str) -> i64 {
        let (status, body) = self
            .post(
                "/v1/auth/register",
                None,
                json!({"email": email, "password": "password123", "name": format!("User {email}"), "role": role}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["user_id"].as_i64().unwrap()
    }

    /// Logs in and returns the token.
    pub async fn login(&self, email: &str) -> String {
        let (status, body) =
            self.post("/v1/auth/login", None, json!({"email": email, "password": "password123"})).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// A business owner with one business, and one member, both logged in.
pub struct Cast {
    pub owner_token: String,
    pub member_token: String,
    pub member_id: i64,
    pub business_id: i64,
}

/// The emission budget `cast` grants its business.
pub const CAST_BUDGET: i64 = 10_000_000;

/// Registers a business owner and a member, logs both in, and creates a business, which the operator (through
/// `rewards::operator`, on the deployment's databases in `data_dir` or on PostgreSQL) approves and grants
/// [`CAST_BUDGET`].
pub async fn cast(api: &Api, data_dir: &Path, storage: &StorageArgs, points_per_boliviano: i64) -> Cast {
    api.register("owner@example.com", "business").await;
    let member_id = api.register("member@example.com", "member").await;
    let owner_token = api.login("owner@example.com").await;
    let member_token = api.login("member@example.com").await;
    let (status, body) = api
        .post(
            "/v1/businesses",
            Some(&owner_token),
            json!({"name": "Café Central", "points_per_boliviano": points_per_boliviano}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let business_id = body["business_id"].as_i64().unwrap();
    rewards::operator::approve_business(data_dir, storage, business_id).await.unwrap();
    rewards::operator::grant_budget(data_dir, storage, business_id, CAST_BUDGET).await.unwrap();
    Cast { owner_token, member_token, member_id, business_id }
}

/// Asserts the public error shape and returns the code.
pub fn error_code(body: &Value) -> &str {
    assert!(body["error"]["message"].is_string(), "not the error shape: {body}");
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not the error shape: {body}"))
}

/// How many rows a table of a database file holds, read directly by the test (never by the app).
pub fn row_count(database_file: &Path, table: &str) -> i64 {
    let connection = rusqlite::Connection::open(database_file).unwrap();
    connection.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).unwrap()
}

/// Runs `verify` on the app's databases, letting the outbox drain first, and asserts that it finds nothing.
pub async fn assert_verify_passes(app: &RunningApp) {
    assert_verify_passes_in(app.data_dir(), &app.storage).await;
}

/// Runs `verify` on a deployment's databases, letting the outbox drain first, and asserts that it finds nothing.
pub async fn assert_verify_passes_in(data_dir: &Path, storage: &StorageArgs) {
    let report = rewards::verify::verify(data_dir, storage, Duration::from_secs(10)).await.unwrap();
    assert!(report.findings.is_empty(), "verify found: {:#?}", report.findings);
}

/// A `rewards` process started from the built binary: its announced URL, and every line it writes on stderr (its
/// logs). It is killed on drop, unless it was already stopped.
pub struct RewardsProcess {
    pub url: String,
    child: std::process::Child,
    stderr_lines: Arc<std::sync::Mutex<Vec<String>>>,
}

impl RewardsProcess {
    /// Starts `rewards ARGUMENTS` with `environment` added and waits until it prints the address it listens on.
    pub fn start(arguments: &[&str], environment: &[(&str, &str)]) -> RewardsProcess {
        use std::io::BufRead;
        let mut child = std::process::Command::new(rewards_binary())
            .args(arguments)
            .envs(environment.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr_lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let collected = Arc::clone(&stderr_lines);
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let mut first_line = String::new();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first_line).unwrap();
        // Keep reading so that the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in stdout.lines().map_while(Result::ok) {});
        let url = first_line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| {
                let logs = stderr_lines.lock().unwrap().join("\n");
                panic!("rewards {arguments:?} printed {first_line:?} instead of its address; its log:\n{logs}")
            })
            .trim()
            .to_owned();
        RewardsProcess { url, child, stderr_lines }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log lines written so far.
    pub fn log_lines(&self) -> Vec<String> {
        self.stderr_lines.lock().unwrap().clone()
    }

    /// Sends SIGTERM, as an operator or a service manager stops a process, and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.child.id()).unwrap()).unwrap();
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
        self.child.wait().unwrap()
    }
}

impl Drop for RewardsProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a process runs (a zombie, which has exited but not been reaped, does not).
pub fn is_running(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Waits up to five seconds for every process in `pids` to exit, and returns those still running.
pub fn survivors_after_grace(pids: &[u64]) -> Vec<u64> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|pid| is_running(*pid)) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    pids.iter().copied().filter(|pid| is_running(*pid)).collect()
}

/// The process ids in `DIR/services.json`, by module.
pub fn service_pids(data_dir: &Path) -> std::collections::BTreeMap<String, u64> {
    let services: Value = serde_json::from_slice(&std::fs::read(data_dir.join("services.json")).unwrap()).unwrap();
    services
        .as_object()
        .unwrap()
        .iter()
        .map(|(module, service)| (module.clone(), service["pid"].as_u64().unwrap()))
        .collect()
}
