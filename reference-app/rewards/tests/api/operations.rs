//! The operations commands through the real binary: `seed` fills a deployment's files through the modules, `verify`
//! passes on them and catches tampering; and `serve --topology services` leaves no orphan when it is killed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::rewards_binary;

fn run_rewards(arguments: &[&str]) -> (i32, String) {
    let output = Command::new(rewards_binary()).args(arguments).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap_or(-1), stdout)
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

fn is_running(pid: u64) -> bool {
    // A zombie has exited; only its process-table entry is left for a parent that is not reaping it.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
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
    let services: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data_dir.path().join("services.json")).unwrap()).unwrap();
    let pids: Vec<u64> =
        services.as_object().unwrap().values().map(|service| service["pid"].as_u64().unwrap()).collect();
    assert_eq!(pids.len(), 6);
    assert!(pids.iter().all(|pid| is_running(*pid)));

    // SIGKILL gives the parent no chance to clean up; only the children's parent-death signal can stop them.
    parent.kill().unwrap();
    parent.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|pid| is_running(*pid)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let survivors: Vec<&u64> = pids.iter().filter(|pid| is_running(**pid)).collect();
    assert!(survivors.is_empty(), "orphaned services: {survivors:?}");
}
