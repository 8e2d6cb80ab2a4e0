//! The `rewards` command: `serve`, `serve-module`, `seed`, `verify`, `operator` and `init-secrets`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use rewards::app::{Application, ModuleServiceConfig, ServeConfig};
use rewards::config::{ModuleName, StorageArgs, Topology, Tuning};
use rewards::gateway::{ForwardedHeader, TrustedProxies, parse_trusted_proxy};
use rewards::secrets::Secrets;
use rewards::seed::{SeedRequest, seed};
use rewards::supervisor::{LISTENING_PREFIX, die_with_parent};
use rewards::telemetry::{self, LogFormat};
use rewards::transport::tls::InternalTls;
use rewards::verify::verify;

/// A loyalty-points platform that runs as a modular monolith or as networked services.
#[derive(Debug, Parser)]
#[command(name = "rewards", version)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, global = true, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serves the public API, starting child services when the topology asks for them.
    Serve {
        /// Where the SQLite files (with --db sqlite), the secrets and services.json live.
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
        /// The public address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// monolith, services, or extract=MODULE[,MODULE...].
        #[arg(long, default_value = "monolith")]
        topology: Topology,
        /// The address of the internal listener, which serves this process's modules to extracted ones that call
        /// them (only then is it opened; never in the monolith).
        #[arg(long, default_value = "127.0.0.1:0")]
        internal_listen: String,
        /// An extracted module already served elsewhere (by `serve-module`), as NAME=URL: it is reached there
        /// instead of being started as a child. Repeat for each.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<(ModuleName, String)>,
        /// A proxy whose forwarded header names the client, as a CIDR range or one address; repeat for each. Only
        /// when the TCP peer is one of these is the right-most untrusted address of the header taken as the client.
        #[arg(long = "trusted-proxy", value_parser = parse_trusted_proxy)]
        trusted_proxies: Vec<ipnet::IpNet>,
        /// The header the trusted proxies write.
        #[arg(long, value_enum, default_value = "x-forwarded-for")]
        trusted_proxy_header: ForwardedHeader,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        internal_tls: InternalTls,
    },
    /// Serves one module to its peers (started by `serve`, or by hand to run services on several hosts).
    ServeModule {
        /// auth, users, business, points, audit or analytics.
        module: ModuleName,
        /// Where the module's SQLite file (with --db sqlite) and the secrets live.
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// A peer module's base URL, as NAME=URL; repeat for each peer.
        #[arg(long = "peer", value_parser = parse_peer)]
        peers: Vec<(ModuleName, String)>,
        /// Exit when this process exits (set by `serve` for its children).
        #[arg(long)]
        parent_pid: Option<u32>,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        internal_tls: InternalTls,
    },
    /// Fills the databases of a deployment through the modules' own code, and prints what it made as JSON.
    Seed {
        /// Where the SQLite files (with --db sqlite) and the secrets live.
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
        /// The topology whose files to fill.
        #[arg(long, default_value = "monolith")]
        topology: Topology,
        /// How many member accounts.
        #[arg(long, default_value_t = 100)]
        members: usize,
        /// How many businesses (each with its own owner account).
        #[arg(long, default_value_t = 10)]
        businesses: usize,
        /// How many offers per business.
        #[arg(long, default_value_t = 5)]
        offers: usize,
        /// The purchase, in bolivianos, that earns each member its welcome points.
        #[arg(long, default_value_t = 500)]
        welcome_purchase_bs: i64,
        /// The emission budget each business is granted (each is also approved).
        #[arg(long, default_value_t = rewards::seed::DEFAULT_SEED_BUDGET)]
        budget_points: i64,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Checks every invariant over the databases that exist; exits 1 with a list of findings if any fails.
    Verify {
        /// Where the SQLite files live (with --db sqlite).
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
        /// Seconds to let the outbox drain first (services topology).
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// The operator's actions on the points economy: approving businesses and granting emission budgets.
    Operator {
        #[command(subcommand)]
        action: OperatorAction,
    },
    /// Creates every secret of a deployment under DIR/secrets (keeping those that exist) and lists the files, for
    /// handing each host its share.
    InitSecrets {
        /// Where the secrets directory is made.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum OperatorAction {
    /// Approves a business created through the public API, so that it may emit points (within its budget).
    ApproveBusiness {
        /// The business id.
        business_id: i64,
        /// Where the SQLite files live (with --db sqlite).
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Grants a business POINTS more to emit, recorded in the budget ledger.
    GrantBudget {
        /// The business id.
        business_id: i64,
        /// How many points to add to its budget.
        points: i64,
        /// Where the SQLite files live (with --db sqlite).
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Puts the outbox rows that were parked (after their subscriber refused them too often) back in their queues.
    RequeueOutbox {
        /// Where the SQLite files live (with --db sqlite).
        #[arg(long)]
        data_dir: PathBuf,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

fn parse_peer(text: &str) -> Result<(ModuleName, String), String> {
    let (name, url) = text.split_once('=').ok_or_else(|| format!("expected NAME=URL, got {text:?}"))?;
    if !url.starts_with("http://") && !url.starts_with("https://") {
        return Err(format!("peer URLs start with http:// or https://, got {url:?}"));
    }
    Ok((name.parse()?, url.to_owned()))
}

/// The peers given on the command line, refusing a module given twice.
fn unique_peers(peers: Vec<(ModuleName, String)>) -> anyhow::Result<BTreeMap<ModuleName, String>> {
    let mut unique = BTreeMap::new();
    for (module, url) in peers {
        if unique.insert(module, url).is_some() {
            anyhow::bail!("--peer {module}=URL is given twice");
        }
    }
    Ok(unique)
}

/// A future that completes on Ctrl-C or SIGTERM. The handlers are installed here, before the address is announced,
/// so that a signal sent as soon as the process says it listens is a graceful stop and not the default death.
fn interrupted() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
        let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            tokio::signal::ctrl_c().await.ok();
            tracing::info!("shutting down");
        })
    }
}

fn announce(application: &Application) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{LISTENING_PREFIX}{}", application.url())?;
    stdout.flush().context("writing the address line")
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve {
            data_dir,
            storage,
            listen,
            internal_listen,
            topology,
            peers,
            trusted_proxies,
            trusted_proxy_header,
            tuning,
            internal_tls,
        } => {
            let application = Application::build(ServeConfig {
                data_dir,
                storage,
                listen,
                internal_listen,
                topology,
                peers: unique_peers(peers)?,
                tuning,
                internal_tls,
                trusted_proxies: TrustedProxies::new(trusted_proxies, trusted_proxy_header),
                executable: None,
                log_arguments: vec![cli.log_format.to_argument()],
            })
            .await?;
            let stop = interrupted()?;
            announce(&application)?;
            application.run_until_stopped(stop).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ServeModule { module, data_dir, storage, listen, peers, parent_pid, tuning, internal_tls } => {
            if let Some(parent_pid) = parent_pid {
                die_with_parent(parent_pid)?;
            }
            let application = Application::build_module_service(ModuleServiceConfig {
                module,
                data_dir,
                storage,
                listen,
                peers: unique_peers(peers)?,
                tuning,
                internal_tls,
            })
            .await?;
            let stop = interrupted()?;
            announce(&application)?;
            application.run_until_stopped(stop).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            data_dir,
            storage,
            topology,
            members,
            businesses,
            offers,
            welcome_purchase_bs,
            budget_points,
            tuning,
        } => {
            let request = SeedRequest {
                members,
                businesses,
                offers_per_business: offers,
                welcome_purchase_bs,
                budget_per_business: budget_points,
            };
            let summary = seed(&data_dir, &storage, &topology, &tuning, &request).await?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Operator { action: OperatorAction::ApproveBusiness { business_id, data_dir, storage } } => {
            let business = rewards::operator::approve_business(&data_dir, &storage, business_id).await?;
            println!("approved business {} ({})", business.business_id, business.name);
            Ok(ExitCode::SUCCESS)
        }
        Command::Operator { action: OperatorAction::GrantBudget { business_id, points, data_dir, storage } } => {
            let budget = rewards::operator::grant_budget(&data_dir, &storage, business_id, points).await?;
            println!(
                "business {}: {} points granted in all, {} emitted, {} left",
                budget.business_id,
                budget.granted,
                budget.emitted,
                budget.granted - budget.emitted
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Operator { action: OperatorAction::RequeueOutbox { data_dir, storage } } => {
            let requeued = rewards::operator::requeue_outbox(&data_dir, &storage).await?;
            println!("requeued {requeued} parked outbox rows");
            Ok(ExitCode::SUCCESS)
        }
        Command::InitSecrets { data_dir } => {
            rewards::secrets::create_private_dir(&data_dir)?;
            for file in Secrets::provision_all(&data_dir)? {
                println!("{}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { data_dir, storage, wait } => {
            let report = verify(&data_dir, &storage, Duration::from_secs(wait)).await?;
            let code = if report.findings.is_empty() {
                println!(
                    "verify: ok ({} ledger entries, {} audit records, {} businesses)",
                    report.ledger_entries, report.audit_records, report.businesses
                );
                ExitCode::SUCCESS
            } else {
                println!("verify: {} findings", report.findings.len());
                for finding in &report.findings {
                    println!("  - {finding}");
                }
                ExitCode::from(1)
            };
            for skipped in &report.skipped {
                println!("  not checked: {skipped}");
            }
            Ok(code)
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    match run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}
