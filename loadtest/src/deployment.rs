//! The app under test as processes: seeding a fresh data directory, starting `rewards serve` pinned to its cores,
//! reading each process's CPU time and peak memory from `/proc`, running `verify`, and stopping every process.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::attack::{Accounts, read_accounts};
use crate::budget::Placement;
use crate::relay::RelayProcess;

/// The built binaries a run needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `rewards`, the app.
    pub rewards: PathBuf,
    /// `seams-loadtest`, which runs goose in a process of its own.
    pub loadtest: PathBuf,
}

impl Binaries {
    /// Both binaries sit in the same cargo target directory, next to the running one.
    pub fn beside_this_executable() -> anyhow::Result<Binaries> {
        let loadtest = std::env::current_exe().context("finding the seams-loadtest executable")?;
        let directory = loadtest.parent().context("the executable has a directory")?;
        let rewards = directory.join(format!("rewards{}", std::env::consts::EXE_SUFFIX));
        if !rewards.is_file() {
            bail!(
                "{} is missing; build it first with `cargo build --release -p rewards` (cargo xtask loadtest does)",
                rewards.display()
            );
        }
        Ok(Binaries { rewards, loadtest })
    }
}

/// The app's settings that every run shares, so that topologies differ only in topology.
fn common_app_arguments() -> Vec<&'static str> {
    vec![
        // Seeded accounts use the cheap hash; logins are setup, not what is measured.
        "--password-hashing=fast",
        // The per-client rate limit protects production; here it would cap the load generator instead of the app.
        "--rate-limit-per-second=1000000",
        "--rate-limit-burst=1000000",
        // So would the login budget of one address: the generator logs every user in from 127.0.0.1.
        "--auth-rate-limit-per-minute=1000000",
        "--auth-rate-limit-burst=1000000",
    ]
}

/// Seeds a fresh data directory for `topology` on the database that `database` names (`rewards --db` and its URL;
/// empty for SQLite) and returns the accounts (also written to `accounts.json`).
pub fn seed(
    binaries: &Binaries,
    data_dir: &Path,
    topology: &str,
    members: usize,
    database: &[String],
) -> anyhow::Result<Accounts> {
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir).with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
    let output = Command::new(&binaries.rewards)
        .args(["seed", "--data-dir"])
        .arg(data_dir)
        .args(["--topology", topology, "--members", &members.to_string(), "--businesses", "10", "--offers", "5"])
        .args(common_app_arguments())
        .args(database)
        .env("RUST_LOG", "warn")
        .output()
        .context("running rewards seed")?;
    if !output.status.success() {
        bail!("rewards seed failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let file = data_dir.join("accounts.json");
    std::fs::write(&file, &output.stdout).with_context(|| format!("writing {}", file.display()))?;
    read_accounts(&file)
}

/// CPU time and peak memory of the app's processes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// User plus system CPU seconds, including waited-for children.
    pub cpu_seconds: f64,
    /// The sum of every process's peak resident set, in MB.
    pub peak_rss_mb: f64,
    /// How many processes.
    pub processes: usize,
}

/// Gateways started by this process, so that a signal handler can stop them when Drop will not run.
static RUNNING_GATEWAYS: std::sync::Mutex<Vec<u32>> = std::sync::Mutex::new(Vec::new());

/// Stops every gateway this process started (each takes its services with it). For a SIGINT or SIGTERM of this
/// process, which ends it without running destructors.
pub fn stop_all_gateways() {
    let pids = RUNNING_GATEWAYS.lock().map(|pids| pids.clone()).unwrap_or_default();
    for pid in pids {
        let _ = Command::new("kill").arg("-TERM").arg(pid.to_string()).status();
    }
}

/// The modules points calls (`ModuleName::peers_needed` in the app).
const POINTS_PEERS: [&str; 4] = ["business", "users", "audit", "analytics"];

/// The modules a topology runs in processes of their own.
fn extracted_modules(topology: &str) -> Vec<&str> {
    match topology {
        "services" => vec!["auth", "users", "business", "audit", "analytics", "points"],
        _ => topology.strip_prefix("extract=").map(|modules| modules.split(',').collect()).unwrap_or_default(),
    }
}

/// A free loopback port, for a listener whose address must be known before its process starts.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Spawns a `rewards` process that prints `listening on URL` once it listens, and returns it with the URL.
fn spawn_announcing(mut command: Command, log: std::fs::File, what: &str) -> anyhow::Result<(Child, String)> {
    let mut child = command
        // Per-request logging would cost both topologies CPU that is not the architecture's.
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {what}"))?;
    let stdout = child.stdout.take().context("the app's stdout")?;
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        // Read to the end, so that the process never blocks on a full pipe.
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = sender.send(url.trim().to_owned());
            }
        }
    });
    match receiver.recv_timeout(Duration::from_secs(60)) {
        Ok(url) => Ok((child, url)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} did not start within 60 s")
        }
    }
}

/// `rewards serve`, running.
#[derive(Debug)]
pub struct RunningApp {
    child: Option<Child>,
    /// Services started here rather than by the gateway (with a relay on their links).
    services: Vec<Child>,
    /// The relays of the deployment's links, when the network is emulated.
    relay: Option<RelayProcess>,
    /// The gateway's base URL.
    pub url: String,
    /// The data directory.
    pub data_dir: PathBuf,
    /// Every process of the app (the gateway first), by pid.
    pub pids: Vec<u32>,
}

impl RunningApp {
    /// Starts `rewards serve` on `data_dir` (and the database `database` names, as for [`seed`]) inside the app's
    /// budget and waits until it listens and answers `/healthz`. With a `relay`, every link pays its delay: the
    /// extracted modules are started here with `rewards serve-module`, each behind a relay, the gateway is given
    /// their relayed addresses with `--peer` (and points the relayed address of the gateway's internal listener when
    /// it calls modules the gateway hosts), and the returned URL is the relayed one of the gateway.
    pub fn start(
        binaries: &Binaries,
        data_dir: &Path,
        topology: &str,
        database: &[String],
        placement: &Placement,
        log: &Path,
        relay: Option<RelayProcess>,
    ) -> anyhow::Result<RunningApp> {
        let log_file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
        let mut app = RunningApp {
            child: None,
            services: Vec::new(),
            relay,
            url: String::new(),
            data_dir: data_dir.to_path_buf(),
            pids: Vec::new(),
        };
        let mut gateway_arguments: Vec<String> = Vec::new();
        if let Some(relay) = app.relay.as_mut() {
            let extracted = extracted_modules(topology);
            // The gateway serves points' peers that it hosts on an internal listener, at an address chosen here so
            // that points can be given its relay before the gateway starts.
            let gateway_serves: Vec<&str> = if extracted.contains(&"points") {
                POINTS_PEERS.into_iter().filter(|peer| !extracted.contains(peer)).collect()
            } else {
                Vec::new()
            };
            let internal_url = if gateway_serves.is_empty() {
                None
            } else {
                let port = free_port()?;
                gateway_arguments.push(format!("--internal-listen=127.0.0.1:{port}"));
                Some(relay.link(&format!("http://127.0.0.1:{port}"))?)
            };
            let mut relayed: Vec<(&str, String)> = Vec::new();
            // Points last: it is the one that calls the others.
            let order = extracted
                .iter()
                .filter(|module| **module != "points")
                .chain(extracted.iter().filter(|module| **module == "points"));
            for module in order {
                let mut command = placement.app_command(&binaries.rewards);
                command
                    .args(["serve-module", module, "--listen", "127.0.0.1:0", "--data-dir"])
                    .arg(data_dir)
                    .arg(format!("--parent-pid={}", std::process::id()))
                    .args(common_app_arguments())
                    .args(database);
                if *module == "points" {
                    for peer in POINTS_PEERS {
                        let url = match relayed.iter().find(|(name, _)| *name == peer) {
                            Some((_, url)) => url.clone(),
                            None => internal_url.clone().context("points calls the gateway, which has no relay")?,
                        };
                        command.arg(format!("--peer={peer}={url}"));
                    }
                }
                let log_file = log_file.try_clone()?;
                let (child, url) = spawn_announcing(command, log_file, &format!("the {module} service"))?;
                app.pids.push(child.id());
                app.services.push(child);
                relayed.push((module, relay.link(&url)?));
            }
            for (module, url) in &relayed {
                gateway_arguments.push(format!("--peer={module}={url}"));
            }
        }
        let mut command = placement.app_command(&binaries.rewards);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--topology", topology, "--data-dir"])
            .arg(data_dir)
            .args(common_app_arguments())
            .args(database)
            .args(&gateway_arguments);
        let started = spawn_announcing(command, log_file, "rewards serve");
        let (child, url) = match started {
            Ok(started) => started,
            Err(error) => {
                let log_text = std::fs::read_to_string(log).unwrap_or_default();
                app.stop();
                return Err(error.context(format!("its log:\n{log_text}")));
            }
        };
        if let Ok(mut pids) = RUNNING_GATEWAYS.lock() {
            pids.push(child.id());
        }
        app.pids.insert(0, child.id());
        app.child = Some(child);
        app.url = match app.relay.as_mut() {
            Some(relay) => relay.link(&url)?,
            None => url,
        };
        let services = data_dir.join("services.json");
        if app.services.is_empty() {
            if let Ok(text) = std::fs::read_to_string(&services) {
                let value: serde_json::Value = serde_json::from_str(&text).context("parsing services.json")?;
                if let Some(map) = value.as_object() {
                    app.pids.extend(map.values().filter_map(|service| service["pid"].as_u64()).map(|pid| pid as u32));
                }
            }
        }
        wait_healthy(&app.url, Duration::from_secs(30))?;
        Ok(app)
    }

    /// The pid of the relay process, when the deployment has one.
    pub fn relay_pid(&self) -> Option<u32> {
        self.relay.as_ref().map(RelayProcess::pid)
    }

    /// What the app's processes have used so far.
    pub fn usage(&self) -> Usage {
        let ticks_per_second = clock_ticks_per_second();
        let mut usage = Usage { processes: self.pids.len(), ..Usage::default() };
        for pid in &self.pids {
            if let Some(ticks) = cpu_ticks(*pid) {
                usage.cpu_seconds += ticks as f64 / ticks_per_second;
            }
            if let Some(kilobytes) = peak_rss_kb(*pid) {
                usage.peak_rss_mb += kilobytes as f64 / 1024.0;
            }
        }
        usage
    }

    /// Runs `rewards verify` against the data directory while the app still serves (it only reads), giving the
    /// outbox `wait` seconds to drain. Returns whether it passed and what it printed.
    pub fn verify(&self, binaries: &Binaries, wait: u64, database: &[String]) -> anyhow::Result<(bool, String)> {
        let output = Command::new(&binaries.rewards)
            .args(["verify", "--wait", &wait.to_string(), "--data-dir"])
            .arg(&self.data_dir)
            .args(database)
            .env("RUST_LOG", "warn")
            .output()
            .context("running rewards verify")?;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        Ok((output.status.success(), text.trim().to_owned()))
    }

    /// Stops the gateway (SIGTERM, then SIGKILL after ten seconds) and makes sure no service survives it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(mut pids) = RUNNING_GATEWAYS.lock() {
                pids.retain(|pid| *pid != child.id());
            }
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
        for mut service in self.services.drain(..) {
            let _ = Command::new("kill").arg("-TERM").arg(service.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while !matches!(service.try_wait(), Ok(Some(_))) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = service.kill();
            let _ = service.wait();
        }
        self.relay.take();
        // Services die with their parent; this only catches one that did not, and never touches another program.
        for pid in self.pids.iter().skip(1) {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("serve-module") {
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            }
        }
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8_lossy(&output.stdout).trim().parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime + cutime + cstime of a process, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat)
}

/// Parses `/proc/PID/stat`; the fields after the parenthesised command name start at field 3 (state).
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 to 17 (utime, stime, cutime, cstime) sit at indexes 11 to 14 counted from field 3.
    let mut total = 0;
    for index in 11..=14 {
        total += fields.get(index)?.parse::<u64>().ok()?;
    }
    Some(total)
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A plain HTTP/1.1 exchange over one connection, for the few setup calls the orchestrator makes itself.
pub fn http(url: &str, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
    let authority = url.strip_prefix("http://").context("the app's URL is http://")?;
    let mut stream = std::net::TcpStream::connect(authority).with_context(|| format!("connecting to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {authority}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    Ok((status, body))
}

fn wait_healthy(url: &str, limit: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        match http(url, "GET", "/healthz", None) {
            Ok((200, _)) => return Ok(()),
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
            Ok((status, body)) => bail!("{url}/healthz answered {status}: {body}"),
            Err(error) => return Err(error.context("the app never answered /healthz")),
        }
    }
}

/// Logs in the first `users` members and every business owner once, through the public API, and returns the
/// accounts with their tokens.
pub fn log_in_all(url: &str, accounts_file: &Path, users: usize) -> anyhow::Result<Accounts> {
    let mut accounts = read_accounts(accounts_file)?;
    let members = users.clamp(1, accounts.member_emails.len().max(1));
    for email in accounts.member_emails.iter().take(members) {
        let token = log_in(url, email, &accounts.password)?;
        accounts.member_tokens.push(token);
    }
    for email in &accounts.business_owner_emails {
        let token = log_in(url, email, &accounts.password)?;
        accounts.owner_tokens.push(token);
    }
    Ok(accounts)
}

/// Logs in once and returns the token, for generators that take a fixed header.
pub fn log_in(url: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let body = serde_json::json!({"email": email, "password": password}).to_string();
    let (status, text) = http(url, "POST", "/v1/auth/login", Some(&body))?;
    if status != 200 {
        bail!("login as {email} answered {status}: {text}");
    }
    let value: serde_json::Value = serde_json::from_str(&text).context("parsing the login answer")?;
    value["token"].as_str().map(str::to_owned).context("the login answer has no token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name_even_with_spaces_and_parentheses_in_it() {
        let stat = "4242 (rewards (x) y) S 1 4242 4242 0 -1 4194560 2000 0 0 0 150 25 7 3 20 0 9 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(150 + 25 + 7 + 3));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }
}
