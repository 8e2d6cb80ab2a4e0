//! TLS between services: a hand-started service serves its internal routes over TLS with a certificate from a private
//! authority, the gateway and its points child reach it at an `https://` URL trusting only that authority, and the
//! whole API works through it. A caller that trusts another authority, or names none, gets nowhere.

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::json;

use crate::support::{Api, RewardsProcess, assert_verify_passes_in, cast, error_code, rewards_binary};

/// A certificate authority and a certificate it signed for 127.0.0.1 and localhost, written as PEM files into
/// `directory`: `ca.pem`, `cert.pem`, `key.pem`. Returns the authority's file.
fn write_certificates(directory: &Path, authority_name: &str) -> std::path::PathBuf {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, authority_name);
    let authority = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server_params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let server = server_params.signed_by(&server_key, &authority).unwrap();
    std::fs::write(directory.join("ca.pem"), authority.pem()).unwrap();
    std::fs::write(directory.join("cert.pem"), server.pem()).unwrap();
    std::fs::write(directory.join("key.pem"), server_key.serialize_pem()).unwrap();
    directory.join("ca.pem")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn services_talk_over_tls_with_a_private_authority_and_refuse_any_other() {
    let data_dir = tempfile::tempdir().unwrap();
    let certificates = tempfile::tempdir().unwrap();
    let ca = write_certificates(certificates.path(), "rewards test authority");
    let other = tempfile::tempdir().unwrap();
    let other_ca = write_certificates(other.path(), "someone else's authority");
    let directory = data_dir.path().to_str().unwrap();
    let cert = certificates.path().join("cert.pem");
    let key = certificates.path().join("key.pem");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());

    let analytics = RewardsProcess::start(
        &[
            "serve-module",
            "analytics",
            "--listen=127.0.0.1:0",
            "--data-dir",
            directory,
            "--internal-tls-cert",
            cert,
            "--internal-tls-key",
            key,
        ],
        &[],
    );
    assert!(analytics.url.starts_with("https://127.0.0.1:"), "{}", analytics.url);
    let peer = format!("--peer=analytics={}", analytics.url);
    let ca_argument = format!("--peer-ca={}", ca.display());
    let gateway = RewardsProcess::start(
        &[
            "serve",
            "--listen=127.0.0.1:0",
            "--data-dir",
            directory,
            "--topology=extract=points,analytics",
            &peer,
            &ca_argument,
            "--password-hashing=fast",
            "--relay-interval-ms=20",
        ],
        &[],
    );
    let api = Api::new(gateway.url.clone());
    assert_eq!(api.get("/healthz", None).await, (200, json!({"status": "ok"})), "analytics' /healthz over TLS");
    let people = cast(&api, data_dir.path(), &rewards::config::StorageArgs::default(), 2).await;
    let emit = json!({"business_id": people.business_id, "member_id": people.member_id, "purchase_bs": 10, "idempotency_key": "k-1"});
    let (status, body) = api.post("/v1/points/emit", Some(&people.owner_token), emit).await;
    assert_eq!(status, 201, "{body}");
    // The points child delivers to analytics over TLS; the gateway reads the statistics over TLS.
    let stats_path = format!("/v1/businesses/{}/stats", people.business_id);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stats = loop {
        let (status, stats) = api.get(&stats_path, Some(&people.owner_token)).await;
        assert_eq!(status, 200, "{stats}");
        if stats["emitted"] == json!(20) || std::time::Instant::now() > deadline {
            break stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(stats, json!({"emitted": 20, "redeemed": 0, "members": 1}));
    assert_verify_passes_in(data_dir.path(), &rewards::config::StorageArgs::default()).await;

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = analytics.url.replacen("https://", "http://", 1);
    assert!(reqwest::Client::new().get(format!("{plain}/healthz")).send().await.is_err());

    // A gateway that trusts another authority cannot reach the service, though it holds the deployment's secrets: the
    // statistics are unavailable, and the service saw the handshake fail.
    let wrong_ca = format!("--peer-ca={}", other_ca.display());
    let other_data = tempfile::tempdir().unwrap();
    std::fs::create_dir(other_data.path().join("secrets")).unwrap();
    for entry in std::fs::read_dir(data_dir.path().join("secrets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), other_data.path().join("secrets").join(entry.file_name())).unwrap();
    }
    let distrustful = RewardsProcess::start(
        &[
            "serve",
            "--listen=127.0.0.1:0",
            "--data-dir",
            other_data.path().to_str().unwrap(),
            "--topology=extract=analytics",
            &peer,
            &wrong_ca,
            "--password-hashing=fast",
        ],
        &[],
    );
    let api = Api::new(distrustful.url.clone());
    let people = cast(&api, other_data.path(), &rewards::config::StorageArgs::default(), 1).await;
    let (status, body) =
        api.get(&format!("/v1/businesses/{}/stats", people.business_id), Some(&people.owner_token)).await;
    assert_eq!((status, error_code(&body)), (503, "service_unavailable"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !analytics.log_lines().iter().any(|line| line.contains("TLS handshake failed")) {
        assert!(std::time::Instant::now() < deadline, "no failed handshake in {:#?}", analytics.log_lines());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // And one that names no authority for an https:// peer does not start.
    let output = Command::new(rewards_binary())
        .args(["serve", "--listen=127.0.0.1:0", "--topology=extract=analytics", &peer, "--data-dir"])
        .arg(other_data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--peer-ca"), "{stderr}");
}
