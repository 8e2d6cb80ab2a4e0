//! TLS between services (rustls, with ring as its crypto provider): a listener that serves internal routes over TLS,
//! and the certificate authorities a client trusts for `https://` peers.
//!
//! On one host the services talk plain HTTP over loopback. Between hosts the internal listener takes
//! `--internal-tls-cert`/`--internal-tls-key`, and callers name the authority that signed those certificates with
//! `--peer-ca`; only that authority is trusted (no system roots), so a certificate from anyone else is refused.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// A TLS handshake that takes longer than this is dropped, so that a client that opens connections and says nothing
/// cannot hold the listener's resources.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Handshaken connections waiting for the server to take them.
const ACCEPTED_BACKLOG: usize = 256;

/// The TLS settings of an internal listener, and of the clients that call it.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct InternalTls {
    /// The PEM certificate chain the internal listener presents (with --internal-tls-key): internal routes are then
    /// served over TLS, and the listener's URL is https://.
    #[arg(long, requires = "internal_tls_key")]
    pub internal_tls_cert: Option<PathBuf>,
    /// The PEM private key of --internal-tls-cert.
    #[arg(long, requires = "internal_tls_cert")]
    pub internal_tls_key: Option<PathBuf>,
    /// A PEM file of the certificate authorities that sign https:// peers' certificates. No other authority is
    /// trusted.
    #[arg(long)]
    pub peer_ca: Option<PathBuf>,
}

impl InternalTls {
    /// The same settings as command-line arguments, for a child service.
    pub fn to_args(&self) -> Vec<String> {
        let mut arguments = Vec::new();
        if let (Some(cert), Some(key)) = (&self.internal_tls_cert, &self.internal_tls_key) {
            arguments.push(format!("--internal-tls-cert={}", cert.display()));
            arguments.push(format!("--internal-tls-key={}", key.display()));
        }
        if let Some(ca) = &self.peer_ca {
            arguments.push(format!("--peer-ca={}", ca.display()));
        }
        arguments
    }

    /// The server side, when a certificate is configured.
    pub fn server(&self) -> anyhow::Result<Option<ServerTls>> {
        match (&self.internal_tls_cert, &self.internal_tls_key) {
            (Some(cert), Some(key)) => ServerTls::from_pem_files(cert, key).map(Some),
            _ => Ok(None),
        }
    }

    /// The authorities trusted for https:// peers.
    pub fn peer_roots(&self) -> anyhow::Result<PeerRoots> {
        match &self.peer_ca {
            Some(file) => PeerRoots::from_pem_file(file),
            None => Ok(PeerRoots::default()),
        }
    }
}

/// The certificate authorities a client trusts for https:// peers.
#[derive(Debug, Clone, Default)]
pub struct PeerRoots {
    certificates: Vec<reqwest::Certificate>,
}

impl PeerRoots {
    /// Every certificate in a PEM file.
    pub fn from_pem_file(file: &Path) -> anyhow::Result<PeerRoots> {
        let pem = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} holds no readable PEM certificate", file.display()))?;
        if certificates.is_empty() {
            bail!("{} holds no certificate", file.display());
        }
        Ok(PeerRoots { certificates })
    }

    /// Whether no authority is trusted.
    pub fn is_empty(&self) -> bool {
        self.certificates.is_empty()
    }

    /// The trusted authorities.
    pub fn certificates(&self) -> &[reqwest::Certificate] {
        &self.certificates
    }
}

/// A certificate and its key, ready to accept TLS connections.
#[derive(Clone)]
pub struct ServerTls {
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ServerTls(<certificate>)")
    }
}

impl ServerTls {
    /// Reads a PEM certificate chain and its PEM private key.
    pub fn from_pem_files(cert: &Path, key: &Path) -> anyhow::Result<ServerTls> {
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("reading {}", cert.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("reading the certificates in {}", cert.display()))?;
        if chain.is_empty() {
            bail!("{} holds no certificate", cert.display());
        }
        let key = PrivateKeyDer::from_pem_file(key).with_context(|| format!("reading the key in {}", key.display()))?;
        // The provider is named rather than taken from the process default, which is ambiguous when another crate of
        // the build enables a second one.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .context("the certificate does not match its key")?;
        Ok(ServerTls { acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    /// Serves TLS on `listener`: handshakes run concurrently, each within a timeout, so that a slow or silent client
    /// delays no one else.
    pub fn listen(&self, listener: TcpListener) -> anyhow::Result<TlsListener> {
        let local_address = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(ACCEPTED_BACKLOG);
        let acceptor = self.acceptor.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(connection) => connection,
                    Err(error) => {
                        // Out of descriptors and the like: wait a little rather than spin.
                        tracing::warn!(%error, "accepting a TLS connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let sender = sender.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = sender.send((stream, peer)).await;
                        }
                        Ok(Err(error)) => tracing::info!(%peer, %error, "a TLS handshake failed"),
                        Err(_) => tracing::info!(%peer, "a TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { accepted, local_address, accepting })
    }
}

/// A listener that yields connections whose TLS handshake is done, for `axum::serve`.
#[derive(Debug)]
pub struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_address: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            // The accepting task only ends when this listener is dropped, so this never happens while it serves.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_address)
    }
}
