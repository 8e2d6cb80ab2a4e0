//! Configuration shared by every command: module names, topologies and tunable limits (the secrets have a module of
//! their own).

use std::collections::BTreeSet;
use std::fmt;

use rewards_auth::PasswordHashing;

/// The six modules of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ModuleName {
    /// Accounts and tokens.
    Auth,
    /// Profiles.
    Users,
    /// Businesses and offers.
    Business,
    /// The ledger.
    Points,
    /// The audit record.
    Audit,
    /// Statistics.
    Analytics,
}

impl ModuleName {
    /// Every module, in the order services are started (points last, because it is the only one with peers).
    pub const ALL: [ModuleName; 6] = [
        ModuleName::Auth,
        ModuleName::Users,
        ModuleName::Business,
        ModuleName::Audit,
        ModuleName::Analytics,
        ModuleName::Points,
    ];

    /// The module's name on the command line, in URLs and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            ModuleName::Auth => "auth",
            ModuleName::Users => "users",
            ModuleName::Business => "business",
            ModuleName::Points => "points",
            ModuleName::Audit => "audit",
            ModuleName::Analytics => "analytics",
        }
    }

    /// The modules this one calls at run time.
    pub fn peers_needed(self) -> &'static [ModuleName] {
        match self {
            ModuleName::Points => &[ModuleName::Business, ModuleName::Users, ModuleName::Audit, ModuleName::Analytics],
            _ => &[],
        }
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for ModuleName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ModuleName::ALL.into_iter().find(|module| module.as_str() == text).ok_or_else(|| {
            format!("unknown module {text:?}; expected one of auth, users, business, points, audit, analytics")
        })
    }
}

/// How the modules are spread over processes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// One process, one database.
    Monolith,
    /// One process per module, one database per module, and the gateway in the parent.
    Services,
    /// A monolith minus the named modules, which run as services.
    Extract(BTreeSet<ModuleName>),
}

impl Topology {
    /// The modules that run as child services.
    pub fn extracted_modules(&self) -> BTreeSet<ModuleName> {
        match self {
            Topology::Monolith => BTreeSet::new(),
            Topology::Services => ModuleName::ALL.into_iter().collect(),
            Topology::Extract(modules) => modules.clone(),
        }
    }
}

impl fmt::Display for Topology {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Monolith => formatter.write_str("monolith"),
            Topology::Services => formatter.write_str("services"),
            Topology::Extract(modules) => {
                let names: Vec<&str> = modules.iter().map(|module| module.as_str()).collect();
                write!(formatter, "extract={}", names.join(","))
            }
        }
    }
}

impl std::str::FromStr for Topology {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "monolith" => Ok(Topology::Monolith),
            "services" => Ok(Topology::Services),
            _ => {
                let list = text.strip_prefix("extract=").ok_or_else(|| {
                    format!("unknown topology {text:?}; expected monolith, services or extract=MODULE[,MODULE...]")
                })?;
                let modules = list.split(',').map(str::parse::<ModuleName>).collect::<Result<BTreeSet<_>, _>>()?;
                if modules.is_empty() {
                    return Err("extract= needs at least one module".to_owned());
                }
                Ok(Topology::Extract(modules))
            }
        }
    }
}

/// How expensive password hashing is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HashingCost {
    /// OWASP's argon2id recommendation (19 MiB, two passes).
    Standard,
    /// A weak setting for tests and load-test seeding only.
    Fast,
}

/// Limits and timings, shared by `serve`, `serve-module` and `seed`, and passed on to child services.
#[derive(Debug, Clone, clap::Args)]
pub struct Tuning {
    /// Argon2 cost; `fast` is for tests and load-test seeding only.
    #[arg(long, value_enum, default_value = "standard")]
    pub password_hashing: HashingCost,
    /// How long a token stays valid after login.
    #[arg(long, default_value_t = 3_600)]
    pub token_lifetime_seconds: i64,
    /// How long a QR code can be claimed.
    #[arg(long, default_value_t = 300)]
    pub qr_lifetime_seconds: i64,
    /// Requests per second each client may make at the gateway, on average (0: only the burst, never refilled).
    #[arg(long, default_value_t = 200)]
    pub rate_limit_per_second: u32,
    /// Requests each client may make at once at the gateway.
    #[arg(long, default_value_t = 400)]
    pub rate_limit_burst: u32,
    /// Logins and registrations per minute from one client address, on average, whatever token they carry (0: only
    /// the burst, never refilled).
    #[arg(long, default_value_t = 60)]
    pub auth_rate_limit_per_minute: u32,
    /// Logins and registrations one client address may make at once.
    #[arg(long, default_value_t = 30)]
    pub auth_rate_limit_burst: u32,
    /// Logins and registrations per minute for one e-mail, from any address (0: only the burst, never refilled).
    #[arg(long, default_value_t = 10)]
    pub auth_email_rate_limit_per_minute: u32,
    /// Logins and registrations one e-mail may take at once.
    #[arg(long, default_value_t = 10)]
    pub auth_email_rate_limit_burst: u32,
    /// Threads that hash passwords, apart from the async workers (default: half the cores, at least one).
    #[arg(long)]
    pub password_hashing_threads: Option<usize>,
    /// Hashes that may wait for a hashing thread; past that a login or registration is answered 503 `auth_busy`.
    #[arg(long, default_value_t = 64)]
    pub password_hashing_queue: usize,
    /// The deadline of one call to a peer service, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub peer_timeout_ms: u64,
    /// Attempts of an idempotent call to a peer, in all, if its deadline leaves time for them.
    #[arg(long, default_value_t = 3)]
    pub peer_max_attempts: u32,
    /// The time a peer call may spend on retries beyond one --peer-timeout-ms, in milliseconds: the overall deadline
    /// of a call, every attempt included.
    #[arg(long, default_value_t = 500)]
    pub peer_retry_budget_ms: u64,
    /// Consecutive failures that open a peer's circuit breaker.
    #[arg(long, default_value_t = 5)]
    pub breaker_failure_threshold: u32,
    /// How long an open breaker waits before a trial call, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    pub breaker_open_ms: u64,
    /// How often the outbox relay looks for undelivered movements, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub relay_interval_ms: u64,
    /// Times in a row a subscriber may refuse one outbox row before the relay parks it and moves on (an unreachable
    /// subscriber does not count).
    #[arg(long, default_value_t = 20)]
    pub outbox_max_attempts: i64,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            password_hashing: HashingCost::Standard,
            token_lifetime_seconds: 3_600,
            qr_lifetime_seconds: 300,
            rate_limit_per_second: 200,
            rate_limit_burst: 400,
            auth_rate_limit_per_minute: 60,
            auth_rate_limit_burst: 30,
            auth_email_rate_limit_per_minute: 10,
            auth_email_rate_limit_burst: 10,
            password_hashing_threads: None,
            password_hashing_queue: 64,
            peer_timeout_ms: 2_000,
            peer_max_attempts: 3,
            peer_retry_budget_ms: 500,
            breaker_failure_threshold: 5,
            breaker_open_ms: 2_000,
            relay_interval_ms: 100,
            outbox_max_attempts: 20,
        }
    }
}

impl Tuning {
    /// The same settings as command-line arguments, for a child service.
    pub fn to_args(&self) -> Vec<String> {
        let hashing = match self.password_hashing {
            HashingCost::Standard => "standard",
            HashingCost::Fast => "fast",
        };
        let mut arguments = vec![
            format!("--password-hashing={hashing}"),
            format!("--token-lifetime-seconds={}", self.token_lifetime_seconds),
            format!("--qr-lifetime-seconds={}", self.qr_lifetime_seconds),
            format!("--rate-limit-per-second={}", self.rate_limit_per_second),
            format!("--rate-limit-burst={}", self.rate_limit_burst),
            format!("--peer-timeout-ms={}", self.peer_timeout_ms),
            format!("--peer-max-attempts={}", self.peer_max_attempts),
            format!("--peer-retry-budget-ms={}", self.peer_retry_budget_ms),
            format!("--breaker-failure-threshold={}", self.breaker_failure_threshold),
            format!("--breaker-open-ms={}", self.breaker_open_ms),
            format!("--relay-interval-ms={}", self.relay_interval_ms),
            format!("--outbox-max-attempts={}", self.outbox_max_attempts),
            format!("--auth-rate-limit-per-minute={}", self.auth_rate_limit_per_minute),
            format!("--auth-rate-limit-burst={}", self.auth_rate_limit_burst),
            format!("--auth-email-rate-limit-per-minute={}", self.auth_email_rate_limit_per_minute),
            format!("--auth-email-rate-limit-burst={}", self.auth_email_rate_limit_burst),
            format!("--password-hashing-queue={}", self.password_hashing_queue),
        ];
        if let Some(threads) = self.password_hashing_threads {
            arguments.push(format!("--password-hashing-threads={threads}"));
        }
        arguments
    }

    /// How many threads hash passwords.
    pub fn hashing_threads(&self) -> usize {
        self.password_hashing_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |cores| cores.get() / 2).max(1))
    }

    /// The argon2 parameters.
    pub fn password_hashing(&self) -> PasswordHashing {
        match self.password_hashing {
            HashingCost::Standard => PasswordHashing::standard(),
            HashingCost::Fast => PasswordHashing::fast(),
        }
    }
}

/// Which database the modules' tables live in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DatabaseKind {
    /// Embedded SQLite files under the data directory: `rewards.db` for the monolith, `NAME.db` per service.
    Sqlite,
    /// One PostgreSQL database (given by `--database-url`), one schema and one role per module.
    Postgres,
}

/// Where the modules' tables live, shared by `serve`, `serve-module`, `seed` and `verify`, and passed on to child
/// services.
#[derive(Debug, Clone, clap::Args)]
pub struct StorageArgs {
    /// The database: `sqlite` (files under --data-dir, nothing to install) or `postgres` (--database-url).
    #[arg(long = "db", value_enum, default_value = "sqlite")]
    pub kind: DatabaseKind,
    /// The PostgreSQL database, as postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE. The user must be allowed to
    /// create roles and schemas in it (or they must exist already): each module runs as a role of its own.
    #[arg(long, env = "REWARDS_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The most PostgreSQL connections each process keeps open.
    #[arg(long, default_value_t = 16)]
    pub database_max_connections: usize,
}

impl Default for StorageArgs {
    fn default() -> Self {
        StorageArgs { kind: DatabaseKind::Sqlite, database_url: None, database_max_connections: 16 }
    }
}

impl StorageArgs {
    /// PostgreSQL at `url`.
    pub fn postgres(url: &str) -> StorageArgs {
        StorageArgs { kind: DatabaseKind::Postgres, database_url: Some(url.to_owned()), ..StorageArgs::default() }
    }

    /// The PostgreSQL URL, or why there is none.
    pub fn postgres_url(&self) -> anyhow::Result<&str> {
        match (&self.kind, &self.database_url) {
            (DatabaseKind::Postgres, Some(url)) if !url.trim().is_empty() => Ok(url.trim()),
            (DatabaseKind::Postgres, _) => {
                anyhow::bail!("--db postgres needs --database-url (or REWARDS_DATABASE_URL)")
            }
            (DatabaseKind::Sqlite, _) => anyhow::bail!("the deployment runs on SQLite, not PostgreSQL"),
        }
    }

    /// The same settings as command-line arguments, for a child service.
    pub fn to_args(&self) -> Vec<String> {
        match self.kind {
            DatabaseKind::Sqlite => vec!["--db=sqlite".to_owned()],
            DatabaseKind::Postgres => {
                let mut arguments = vec![
                    "--db=postgres".to_owned(),
                    format!("--database-max-connections={}", self.database_max_connections),
                ];
                if let Some(url) = &self.database_url {
                    arguments.push(format!("--database-url={url}"));
                }
                arguments
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies_parse_and_print_back() {
        for text in ["monolith", "services", "extract=points,audit", "extract=analytics"] {
            let topology: Topology = text.parse().unwrap();
            assert_eq!(topology.to_string(), text);
        }
        assert!("extract=".parse::<Topology>().is_err());
        assert!("extract=billing".parse::<Topology>().is_err());
        assert!("microservices".parse::<Topology>().is_err());
    }
}
