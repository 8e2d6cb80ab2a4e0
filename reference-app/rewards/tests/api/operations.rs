//! The operations commands through the real binary: `seed` fills a deployment's files through the modules, `verify`
//! passes on them, on any subset of them, and catches tampering; and `serve --topology services` leaves no orphan
//! when it is stopped with SIGTERM or killed.

use std::process::{Command, Stdio};

use rewards_platform::testing::ScratchPostgres;

use crate::support::{RewardsProcess, is_running, rewards_binary, service_pids, survivors_after_grace};

fn run_rewards(arguments: &[&str]) -> (i32, String) {
    let output = Command::new(rewards_binary()).args(arguments).env_remove("REWARDS_DATABASE_URL").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_and_verify_run_on_postgres_through_the_binary_and_verify_catches_tampering() {
    let Some(scratch) = ScratchPostgres::create("seed_and_verify_run_on_postgres").await else {
        return;
    };
    let data_dir = tempfile::tempdir().unwrap();
    let directory = data_dir.path().to_str().unwrap();
    let (status, stdout) = run_rewards(&[
        "seed",
        "--db",
        "postgres",
        "--database-url",
        scratch.url(),
        "--data-dir",
        directory,
        "--topology",
        "services",
        "--members",
        "6",
        "--businesses",
        "2",
        "--password-hashing",
        "fast",
    ]);
    assert_eq!(status, 0, "{stdout}");
    // The URL may also come from the environment.
    let verify = || {
        let output = Command::new(rewards_binary())
            .args(["verify", "--db", "postgres", "--data-dir", directory])
            .env("REWARDS_DATABASE_URL", scratch.url())
            .output()
            .unwrap();
        (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (status, stdout) = verify();
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("6 ledger entries, 6 audit records, 2 businesses"), "{stdout}");
    assert!(
        std::fs::read_dir(data_dir.path())
            .unwrap()
            .all(|entry| { !entry.unwrap().file_name().to_string_lossy().ends_with(".db") })
    );

    let (client, connection) = tokio_postgres::connect(scratch.url(), tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    let tampered = client
        .execute(
            "UPDATE audit.records SET payload = replace(payload, '\"points\":', '\"points\":1') WHERE sequence = 2",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(tampered, 1);
    let (status, stdout) = verify();
    assert_eq!(status, 1, "{stdout}");
    assert!(stdout.contains("record 2") && stdout.contains("does not match its hash"), "{stdout}");

    let output = Command::new(rewards_binary())
        .args(["verify", "--db", "postgres", "--data-dir", directory])
        .env_remove("REWARDS_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--db postgres needs --database-url"));
}

#[test]
fn seed_fills_every_topology_and_verify_catches_a_tampered_audit_record() {
    for topology in ["monolith", "services", "extract=points"] {
        let data_dir = tempfile::tempdir().unwrap();
        let directory = data_dir.path().to_str().unwrap();
        let (status, stdout) = run_rewards(&[
            "seed",
            "--data-dir",
            directory,
            "--topology",
            topology,
            "--members",
            "6",
            "--businesses",
            "2",
            "--offers",
            "3",
            "--password-hashing",
            "fast",
        ]);
        assert_eq!(status, 0, "{topology}: {stdout}");
        let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["member_ids"].as_array().unwrap().len(), 6);
        assert_eq!(summary["offer_ids"].as_array().unwrap().len(), 6);
        let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
        assert_eq!(status, 0, "{topology}: {stdout}");
        assert!(stdout.contains("6 ledger entries, 6 audit records, 2 businesses"), "{stdout}");

        let audit_file = if topology == "services" { "audit.db" } else { "rewards.db" };
        let connection = rusqlite::Connection::open(data_dir.path().join(audit_file)).unwrap();
        connection
            .execute(
                "UPDATE audit_records SET payload = replace(payload, '\"points\":', '\"points\":1') WHERE sequence = 2",
                [],
            )
            .unwrap();
        drop(connection);
        let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
        assert_eq!(status, 1, "{topology}: {stdout}");
        assert!(stdout.contains("record 2") && stdout.contains("does not match its hash"), "{stdout}");
    }
}

#[test]
fn killing_the_parent_leaves_no_orphan_service() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut parent = Command::new(rewards_binary())
        .args(["serve", "--listen", "127.0.0.1:0", "--topology", "services", "--password-hashing", "fast"])
        .arg("--data-dir")
        .arg(data_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first_line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(parent.stdout.take().unwrap()), &mut first_line).unwrap();
    assert!(first_line.starts_with("listening on http://"), "{first_line}");
    let pids: Vec<u64> = service_pids(data_dir.path()).into_values().collect();
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|pid| is_running(*pid)));

    // SIGKILL gives the parent no chance to clean up; only the children's parent-death signal can stop them.
    parent.kill().unwrap();
    parent.wait().unwrap();
    let survivors = survivors_after_grace(&pids);
    assert!(survivors.is_empty(), "orphaned services: {survivors:?}");
}

#[test]
fn stopping_the_parent_with_sigterm_stops_every_service_before_it_exits() {
    let data_dir = tempfile::tempdir().unwrap();
    let directory = data_dir.path().to_str().unwrap();
    let mut parent = RewardsProcess::start(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--topology",
            "services",
            "--password-hashing",
            "fast",
            "--data-dir",
            directory,
        ],
        &[],
    );
    let pids: Vec<u64> = service_pids(data_dir.path()).into_values().collect();
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|pid| is_running(*pid)));

    // SIGTERM is a graceful stop: the parent stops its children and waits for them, so none is left when it exits.
    let status = parent.terminate();
    assert!(status.success(), "a SIGTERMed server exits cleanly: {status:?}");
    let still_running: Vec<&u64> = pids.iter().filter(|pid| is_running(**pid)).collect();
    assert!(still_running.is_empty(), "services still running after the parent exited: {still_running:?}");
}

fn seed_services(directory: &str) {
    let (status, stdout) = run_rewards(&[
        "seed",
        "--data-dir",
        directory,
        "--topology",
        "services",
        "--members",
        "4",
        "--businesses",
        "2",
        "--offers",
        "1",
        "--password-hashing",
        "fast",
    ]);
    assert_eq!(status, 0, "{stdout}");
}

#[test]
fn verify_checks_whatever_subset_of_the_service_files_exists() {
    let data_dir = tempfile::tempdir().unwrap();
    let directory = data_dir.path().to_str().unwrap();
    seed_services(directory);
    // Only the ledger and the audit record: the ledger is checked against audit, and analytics is reported skipped.
    for module in ["auth", "users", "business", "analytics"] {
        std::fs::remove_file(data_dir.path().join(format!("{module}.db"))).unwrap();
    }
    let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.starts_with("verify: ok (4 ledger entries, 4 audit records, 0 businesses)"), "{stdout}");
    assert!(stdout.contains("not checked: analytics"), "{stdout}");

    // Only the audit record: its chain is still checked, and a break in it still fails.
    std::fs::remove_file(data_dir.path().join("points.db")).unwrap();
    let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
    assert_eq!(status, 0, "{stdout}");
    assert!(stdout.contains("4 audit records") && stdout.contains("not checked: points"), "{stdout}");
    let connection = rusqlite::Connection::open(data_dir.path().join("audit.db")).unwrap();
    connection.execute("DELETE FROM audit_records WHERE sequence = 2", []).unwrap();
    drop(connection);
    let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
    assert_eq!(status, 1, "{stdout}");
    assert!(stdout.contains("does not chain to the record before it"), "{stdout}");

    // No database file at all is a usage error (most likely the wrong directory), not a pass.
    let empty = tempfile::tempdir().unwrap();
    let (status, stdout) = run_rewards(&["verify", "--data-dir", empty.path().to_str().unwrap()]);
    assert_eq!(status, 2, "{stdout}");
}

#[test]
fn verify_compares_each_audit_record_with_its_ledger_entry() {
    let data_dir = tempfile::tempdir().unwrap();
    let directory = data_dir.path().to_str().unwrap();
    seed_services(directory);
    // Rewrite ledger entry 1 (and the balance, so that the ledger alone stays consistent): the audit chain is intact
    // and every transaction id still has its record, but the record no longer describes the entry.
    let connection = rusqlite::Connection::open(data_dir.path().join("points.db")).unwrap();
    connection.execute("UPDATE points_ledger SET points = points + 7 WHERE transaction_id = 1", []).unwrap();
    connection
        .execute(
            "UPDATE points_balances SET balance = balance + 7 \
             WHERE member_id = (SELECT member_id FROM points_ledger WHERE transaction_id = 1)",
            [],
        )
        .unwrap();
    drop(connection);
    let (status, stdout) = run_rewards(&["verify", "--data-dir", directory]);
    assert_eq!(status, 1, "{stdout}");
    assert!(stdout.contains("the record of transaction 1 does not describe its ledger entry: points"), "{stdout}");
    assert!(!stdout.contains("chain") && !stdout.contains("has no audit record"), "{stdout}");
}
