//! The goose side of a run: the scenarios, the logins, and the conversion of goose's metrics into histograms.
//!
//! This runs in its own process (`seams-loadtest attack`), so that it can be pinned to other cores than the app.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use goose::config::GooseConfiguration;
use goose::metrics::{GooseMetrics, GooseRequestMetricTimingData};
use goose::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::stats::Histogram;

/// The accounts `rewards seed` made, as it prints them.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Accounts {
    /// Every account's password.
    pub password: String,
    /// Members, in order.
    pub member_emails: Vec<String>,
    /// Members' user ids, in the same order.
    pub member_ids: Vec<i64>,
    /// Business owners, in order; owner `i` owns business `i`.
    pub business_owner_emails: Vec<String>,
    /// Businesses, in order.
    pub business_ids: Vec<i64>,
    /// Offers, grouped by business in the same order.
    pub offer_ids: Vec<i64>,
    /// A token per member, in order, from logging in once before the load (see `deployment::log_in_all`).
    #[serde(default)]
    pub member_tokens: Vec<String>,
    /// A token per business owner, in order.
    #[serde(default)]
    pub owner_tokens: Vec<String>,
}

pub use seams_loadtest_args::Scenario;

/// What to run.
#[derive(Debug, Clone)]
pub struct AttackPlan {
    /// The gateway's base URL.
    pub host: String,
    /// The seeded accounts.
    pub accounts: Accounts,
    /// The scenario.
    pub scenario: Scenario,
    /// Concurrent goose users.
    pub users: usize,
    /// The requests per second all users together offer: each user sends at fixed instants `users / rate` seconds
    /// apart (see [`pace`]).
    pub rate: usize,
    /// How long to measure, in seconds.
    pub seconds: usize,
    /// Where goose writes its HTML and JSON reports; `None` writes none (warm-up).
    pub report_stem: Option<PathBuf>,
}

/// What a goose run measured, per request name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AttackResult {
    /// Latency per request name (`dashboard`, `emit`, `qr`, `claim`, `redeem`), as the requests took it.
    pub histograms: BTreeMap<String, Histogram>,
    /// The same with goose's coordinated-omission back-fill (`--co-mitigation average`).
    pub corrected: BTreeMap<String, Histogram>,
    /// Requests actually sent per request name (without the synthetic corrections).
    pub requests: BTreeMap<String, u64>,
    /// Failed requests per request name.
    pub errors: BTreeMap<String, u64>,
    /// How long goose measured, in seconds.
    pub seconds: f64,
}

/// The request names that count in a run's summary; logins are setup, not load.
pub const MEASURED_REQUESTS: [&str; 6] = ["dashboard", "emit", "qr", "claim", "redeem", "healthz"];

static ACCOUNTS: OnceLock<Accounts> = OnceLock::new();
static SEQUENCE: AtomicU64 = AtomicU64::new(0);
/// The number of users, and every user's time between two requests (the number of users divided by the offered
/// rate).
static PACE: OnceLock<(usize, Duration)> = OnceLock::new();

#[derive(Debug, Clone)]
struct Session {
    member_token: String,
    owner_token: String,
    business_id: i64,
    offer_id: i64,
    member_id: i64,
    /// When this user sends its next request.
    next_request_at: Instant,
}

/// Runs goose with coordinated-omission mitigation on, and returns its measurements.
pub async fn run(plan: &AttackPlan) -> anyhow::Result<AttackResult> {
    if plan.accounts.member_tokens.is_empty() || plan.accounts.owner_tokens.is_empty() {
        bail!("the accounts need a token for at least one member and one business owner");
    }
    let _ = ACCOUNTS.set(plan.accounts.clone());
    let users = plan.users.max(1);
    let _ = PACE.set((users, Duration::from_secs_f64(users as f64 / plan.rate.max(1) as f64)));
    let mut arguments: Vec<String> = vec![
        "goose".into(),
        "--host".into(),
        plan.host.clone(),
        "--users".into(),
        plan.users.to_string(),
        // All users start within a second, so the measured window is all steady state.
        "--increase-rate".into(),
        plan.users.max(1).to_string(),
        "--run-time".into(),
        format!("{}s", plan.seconds.max(1)),
        "--co-mitigation".into(),
        "average".into(),
        "--timeout".into(),
        "10".into(),
        "--no-telnet".into(),
        "--no-print-metrics".into(),
        "--quiet".into(),
    ];
    if let Some(stem) = &plan.report_stem {
        for extension in ["html", "json"] {
            arguments.push("--report-file".into());
            arguments.push(stem.with_extension(extension).display().to_string());
        }
    }
    let configuration =
        GooseConfiguration::try_parse_from(&arguments).map_err(|error| anyhow::anyhow!("goose arguments: {error}"))?;
    let scenario = build_scenario(plan.scenario)?;
    let metrics = GooseAttack::initialize_with_config(configuration)?
        .register_scenario(scenario)
        .execute()
        .await
        .context("running goose")?;
    result_of(&metrics)
}

fn build_scenario(kind: Scenario) -> anyhow::Result<goose::goose::Scenario> {
    let login = transaction!(start_session).set_on_start().set_name("session");
    // Not the `scenario!` macro: it names `Scenario`, which in this file is the enum above.
    let scenario = goose::goose::Scenario::new("rewards").register_transaction(login);
    Ok(match kind {
        Scenario::Dashboard => scenario.register_transaction(transaction!(dashboard).set_name("dashboard")),
        Scenario::Emit => scenario.register_transaction(transaction!(emit).set_name("emit")),
        Scenario::Claim => scenario.register_transaction(transaction!(claim).set_name("claim")),
        Scenario::Redeem => scenario.register_transaction(transaction!(redeem).set_name("redeem")),
        Scenario::Healthz => scenario.register_transaction(transaction!(healthz).set_name("healthz")),
        // Weights per iteration of a user: seven dashboards for each emit, claim and redemption.
        Scenario::Mixed => scenario
            .register_transaction(transaction!(dashboard).set_name("dashboard").set_weight(7)?)
            .register_transaction(transaction!(emit).set_name("emit").set_weight(1)?)
            .register_transaction(transaction!(claim).set_name("claim").set_weight(1)?)
            .register_transaction(transaction!(redeem).set_name("redeem").set_weight(1)?),
    })
}

fn accounts() -> &'static Accounts {
    ACCOUNTS.get().expect("the accounts are set before goose starts")
}

fn next_key(prefix: &str) -> String {
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    // A per-process random tag keeps keys unique when several attacks hit one data directory.
    static TAG: OnceLock<u32> = OnceLock::new();
    let tag = TAG.get_or_init(rand::random::<u32>);
    format!("{prefix}-{tag:08x}-{sequence}")
}

/// Each goose user takes the tokens of one member and one business owner, logged in once before the load, so that
/// logins do not count as load. Users' first requests are spread over one period, so that they do not arrive in step.
async fn start_session(user: &mut GooseUser) -> TransactionResult {
    let accounts = accounts();
    let index = user.weighted_users_index;
    let member = index % accounts.member_tokens.len();
    let business = index % accounts.owner_tokens.len();
    let offers_per_business = accounts.offer_ids.len() / accounts.business_ids.len().max(1);
    let (users, period) = pace_settings();
    let offer_id = accounts.offer_ids.get(business * offers_per_business).copied().unwrap_or(0);
    user.set_session_data(Session {
        member_token: accounts.member_tokens[member].clone(),
        owner_token: accounts.owner_tokens[business].clone(),
        business_id: accounts.business_ids[business],
        offer_id,
        member_id: accounts.member_ids[member],
        next_request_at: Instant::now() + period.mul_f64((index % users) as f64 / users as f64),
    });
    Ok(())
}

fn pace_settings() -> (usize, Duration) {
    *PACE.get().expect("the pace is set before goose starts")
}

/// Waits for this user's next slot, then books the one after it.
///
/// Goose's own throttle (`--throttle-requests`) releases its tokens after relative sleeps of about ten milliseconds,
/// and each sleep overshoots by the timer's granularity, about a millisecond that is never made up: it delivered
/// 87% of 250 requests/s and 90% of 1,000 on an idle machine, and less on a busy one, which a capacity search then
/// reads as saturation. Absolute deadlines do not accumulate that error. A user that falls behind (its request took
/// longer than its period) sends at once and books its next slot one period later: the load stays closed-loop, as
/// goose's is, and the shortfall then is the app's, not the generator's.
async fn pace(user: &mut GooseUser) {
    let (_, period) = pace_settings();
    let at = user.get_session_data_unchecked::<Session>().next_request_at;
    tokio::time::sleep_until(at).await;
    let session = user.get_session_data_unchecked_mut::<Session>();
    session.next_request_at = at.max(Instant::now()) + period;
}

async fn send(
    user: &mut GooseUser,
    name: &str,
    method: GooseMethod,
    path: &str,
    token: &str,
    body: Option<serde_json::Value>,
    accepted: &[u16],
) -> Result<Option<serde_json::Value>, Box<TransactionError>> {
    pace(user).await;
    let mut builder = user.get_request_builder(&method, path)?.bearer_auth(token);
    if let Some(body) = &body {
        builder = builder.json(body);
    }
    let request = GooseRequest::builder().name(name).set_request_builder(builder).build();
    let mut response = user.request(request).await?;
    let status = response.request.status_code;
    if accepted.contains(&status) {
        // A documented refusal (an offer the member cannot afford yet) is a correct answer, not an error.
        user.set_success(&mut response.request)?;
    }
    match response.response {
        Ok(body) if (200..300).contains(&status) => Ok(body.json::<serde_json::Value>().await.ok()),
        _ => Ok(None),
    }
}

async fn dashboard(user: &mut GooseUser) -> TransactionResult {
    let token = user.get_session_data_unchecked::<Session>().member_token.clone();
    send(user, "dashboard", GooseMethod::Get, "/v1/dashboard", &token, None, &[]).await?;
    Ok(())
}

async fn healthz(user: &mut GooseUser) -> TransactionResult {
    let token = user.get_session_data_unchecked::<Session>().member_token.clone();
    send(user, "healthz", GooseMethod::Get, "/healthz", &token, None, &[]).await?;
    Ok(())
}

async fn emit(user: &mut GooseUser) -> TransactionResult {
    let session = user.get_session_data_unchecked::<Session>().clone();
    let body = serde_json::json!({
        "business_id": session.business_id,
        "member_id": session.member_id,
        "purchase_bs": 12.5,
        "idempotency_key": next_key("emit"),
    });
    send(user, "emit", GooseMethod::Post, "/v1/points/emit", &session.owner_token, Some(body), &[]).await?;
    Ok(())
}

async fn claim(user: &mut GooseUser) -> TransactionResult {
    let session = user.get_session_data_unchecked::<Session>().clone();
    let body = serde_json::json!({"business_id": session.business_id, "purchase_bs": 8});
    let created = send(user, "qr", GooseMethod::Post, "/v1/points/qr", &session.owner_token, Some(body), &[]).await?;
    if let Some(code) = created.as_ref().and_then(|created| created.get("code")).and_then(|code| code.as_str()) {
        let body = serde_json::json!({"code": code});
        send(user, "claim", GooseMethod::Post, "/v1/points/claim", &session.member_token, Some(body), &[]).await?;
    }
    Ok(())
}

async fn redeem(user: &mut GooseUser) -> TransactionResult {
    let session = user.get_session_data_unchecked::<Session>().clone();
    let body = serde_json::json!({"offer_id": session.offer_id, "idempotency_key": next_key("redeem")});
    send(user, "redeem", GooseMethod::Post, "/v1/points/redeem", &session.member_token, Some(body), &[409]).await?;
    Ok(())
}

/// Reads goose's bucketed times (microseconds) into a histogram.
fn histogram_of(timing: &GooseRequestMetricTimingData) -> anyhow::Result<Histogram> {
    // Goose serialises its buckets as an object of bucket to count; that is its stable, public form.
    let buckets: BTreeMap<String, u64> =
        serde_json::from_value(serde_json::to_value(&timing.times_us)?).context("reading goose's time buckets")?;
    let mut histogram = Histogram::default();
    for (bucket, count) in buckets {
        histogram.record(bucket.parse().context("a goose time bucket")?, count);
    }
    histogram.max_us = timing.maximum_time_us;
    histogram.total_us = timing.total_time_us;
    Ok(histogram)
}

/// How long goose counted requests, in seconds. Goose resets its metrics once every user has started and reports
/// its duration in whole seconds from the launch, so `metrics.duration` overstates the counted window by the
/// ramp-up (about 0.7 s of a 6 s run, which made every rate look 12% short of its offer); the test plan's history
/// has the exact time the users were all running and the time they began to stop.
fn measured_seconds(metrics: &GooseMetrics) -> f64 {
    use goose::test_plan::TestPlanStepAction;
    let maintaining = metrics.history.iter().position(|step| matches!(step.action, TestPlanStepAction::Maintaining));
    let window = maintaining.and_then(|start| {
        let end = metrics.history.get(start + 1)?;
        let milliseconds = (end.timestamp - metrics.history[start].timestamp).num_milliseconds();
        (milliseconds > 0).then(|| milliseconds as f64 / 1000.0)
    });
    window.unwrap_or(metrics.duration as f64)
}

fn result_of(metrics: &GooseMetrics) -> anyhow::Result<AttackResult> {
    let mut result = AttackResult { seconds: measured_seconds(metrics), ..AttackResult::default() };
    for (key, aggregate) in &metrics.requests {
        // Goose keys requests as "METHOD name".
        let name = key.split_once(' ').map_or(key.as_str(), |(_, name)| name);
        if !MEASURED_REQUESTS.contains(&name) {
            continue;
        }
        let corrected = aggregate.coordinated_omission_data.as_ref().unwrap_or(&aggregate.raw_data);
        result.histograms.entry(name.to_owned()).or_default().merge(&histogram_of(&aggregate.raw_data)?);
        result.corrected.entry(name.to_owned()).or_default().merge(&histogram_of(corrected)?);
        *result.requests.entry(name.to_owned()).or_default() += aggregate.raw_data.counter as u64;
        *result.errors.entry(name.to_owned()).or_default() += aggregate.fail_count as u64;
    }
    Ok(result)
}

/// Reads the accounts that `rewards seed` printed.
pub fn read_accounts(file: &Path) -> anyhow::Result<Accounts> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing the seeded accounts in {}", file.display()))
}
