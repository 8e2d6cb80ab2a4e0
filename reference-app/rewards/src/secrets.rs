//! The deployment's secrets, and which of them each process holds.
//!
//! - **Token keys.** Auth signs tokens with an Ed25519 private key (`token-signing-key`) that only the process hosting
//!   auth loads; every process verifies them with the public key (`token-public-key`).
//! - **Service credentials.** Each process that calls others has a credential of its own (`credential-NAME`, NAME being
//!   `gateway` or the module it hosts), sent with every internal call. A process that serves internal routes holds
//!   only *verifiers* of its callers' credentials (`verifier-NAME`, the SHA-256 of the credential), never the
//!   credentials themselves, so a breached service can neither call as another nor learn how to.
//! - **Audit chain key.** The process that hosts audit keys the hashes of its chain with `audit-chain-key`, and
//!   `verify` checks them with it, so that someone who can write the database but not read this key cannot rewrite
//!   the audit record consistently.
//!
//! Every value comes from an environment variable when it is set (for services on several hosts), otherwise from a
//! file under `DIR/secrets/`, which is created with a fresh random value on first use. A file is written in full to
//! a temporary file, synced, and renamed into place without replacing anything, so a second process never sees a
//! partial file, and when two create one at once both end up with the first one's value. A value shorter than 32
//! bytes, from a file or the environment, stops the process (exit 2) with a message naming where it came from.

use std::collections::BTreeSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use rewards_platform::{TOKEN_KEY_LENGTH, TokenSigner, TokenVerifier};

use crate::config::ModuleName;

/// The fewest bytes a secret may have.
pub const MIN_SECRET_BYTES: usize = 32;

/// The token signing key (hex of a 32-byte Ed25519 seed), for the process that hosts auth.
pub const TOKEN_SIGNING_KEY_VARIABLE: &str = "REWARDS_TOKEN_SIGNING_KEY";
/// The token public key (hex of 32 bytes), for every process.
pub const TOKEN_PUBLIC_KEY_VARIABLE: &str = "REWARDS_TOKEN_PUBLIC_KEY";
/// The prefix of the variables that hold this process's own service credentials, one per caller it acts as:
/// `REWARDS_SERVICE_CREDENTIAL_GATEWAY`, `REWARDS_SERVICE_CREDENTIAL_POINTS`, … (at least 32 bytes each).
pub const SERVICE_CREDENTIAL_VARIABLE_PREFIX: &str = "REWARDS_SERVICE_CREDENTIAL_";

/// Variables of earlier versions, which held one key and one credential shared by every process. Setting one is an
/// error, so that a deployment does not silently run on fresh secrets of its own.
const RETIRED_VARIABLES: [(&str, &str); 2] = [
    (
        "REWARDS_TOKEN_KEY",
        "tokens are now signed with an Ed25519 key: set REWARDS_TOKEN_SIGNING_KEY where auth runs and REWARDS_TOKEN_PUBLIC_KEY everywhere",
    ),
    (
        "REWARDS_SERVICE_CREDENTIAL",
        "each service now has its own credential: set REWARDS_SERVICE_CREDENTIAL_<NAME> and REWARDS_CALLER_VERIFIERS",
    ),
];
/// The audit chain's key (hex of 32 bytes), for the process that hosts audit and for `verify`.
pub const AUDIT_CHAIN_KEY_VARIABLE: &str = "REWARDS_AUDIT_CHAIN_KEY";
/// The verifiers of the callers this process accepts, as `NAME=HEX,NAME=HEX`.
pub const CALLER_VERIFIERS_VARIABLE: &str = "REWARDS_CALLER_VERIFIERS";

/// Who makes an internal call: the gateway, or one module (points, whose calls to its peers carry its credential
/// whether it runs as a service of its own or inside the gateway's process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Caller {
    /// `rewards serve`: the public API, and the modules it hosts in-process.
    #[default]
    Gateway,
    /// `rewards serve-module NAME`.
    Service(ModuleName),
}

impl Caller {
    /// Every caller: the gateway, then each module's service.
    pub fn all() -> impl Iterator<Item = Caller> {
        std::iter::once(Caller::Gateway).chain(ModuleName::ALL.into_iter().map(Caller::Service))
    }

    /// The variable that holds this caller's credential.
    pub fn credential_variable(self) -> String {
        format!("{SERVICE_CREDENTIAL_VARIABLE_PREFIX}{}", self.as_str().to_uppercase())
    }

    /// `gateway`, or the module's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Caller::Gateway => "gateway",
            Caller::Service(module) => module.as_str(),
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl std::str::FromStr for Caller {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "gateway" { Ok(Caller::Gateway) } else { text.parse().map(Caller::Service) }
    }
}

/// This process's own credential, sent with each internal call it makes.
#[derive(Clone)]
pub struct ServiceCredential(Arc<str>);

impl ServiceCredential {
    /// Wraps a credential, refusing one shorter than 32 bytes.
    pub fn new(value: &str) -> anyhow::Result<ServiceCredential> {
        if value.len() < MIN_SECRET_BYTES {
            bail!(
                "it is shorter than {MIN_SECRET_BYTES} bytes ({} bytes); refusing to start with a weak secret",
                value.len()
            );
        }
        Ok(ServiceCredential(Arc::from(value)))
    }

    /// The credential's text, for the header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The verifier a receiver holds for this credential.
    pub fn verifier(&self) -> [u8; 32] {
        digest(self.0.as_bytes())
    }
}

impl fmt::Debug for ServiceCredential {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ServiceCredential(<redacted>)")
    }
}

/// The verifiers of the callers a process accepts, which tell who presented a credential.
#[derive(Clone, Default)]
pub struct CallerVerifiers {
    verifiers: Vec<(Caller, [u8; 32])>,
}

impl fmt::Debug for CallerVerifiers {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let callers: Vec<&str> = self.verifiers.iter().map(|(caller, _)| caller.as_str()).collect();
        formatter.debug_struct("CallerVerifiers").field("callers", &callers).finish()
    }
}

impl CallerVerifiers {
    /// Accepts `caller` when it presents the credential whose verifier is `verifier`.
    pub fn accept(&mut self, caller: Caller, verifier: [u8; 32]) {
        self.verifiers.retain(|(known, _)| *known != caller);
        self.verifiers.push((caller, verifier));
    }

    /// Verifiers that accept exactly these credentials (for tests and benches).
    pub fn of(credentials: &[(Caller, &ServiceCredential)]) -> CallerVerifiers {
        let mut verifiers = CallerVerifiers::default();
        for (caller, credential) in credentials {
            verifiers.accept(*caller, credential.verifier());
        }
        verifiers
    }

    /// The callers accepted.
    pub fn callers(&self) -> BTreeSet<Caller> {
        self.verifiers.iter().map(|(caller, _)| *caller).collect()
    }

    /// Who presented `credential`, if anyone this process accepts. An empty or missing credential is refused before
    /// any comparison; otherwise its digest is compared with every verifier, each in constant time and without
    /// stopping at a match, so the time taken says nothing about which verifier, or how much of one, matched.
    pub fn identify(&self, credential: Option<&[u8]>) -> Option<Caller> {
        let credential = credential.filter(|credential| !credential.is_empty())?;
        let presented = digest(credential);
        let mut found = None;
        for (caller, verifier) in &self.verifiers {
            if constant_time_equal(&presented, verifier) {
                found = Some(*caller);
            }
        }
        found
    }
}

/// SHA-256 of `bytes`.
fn digest(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_equal(left: &[u8], right: &[u8]) -> bool {
    if left.len() != right.len() {
        return false;
    }
    let difference = left.iter().zip(right).fold(0u8, |difference, (a, b)| difference | (a ^ b));
    std::hint::black_box(difference) == 0
}

/// What one process needs.
#[derive(Debug, Clone)]
pub struct SecretsWanted {
    /// Whether it hosts auth, which signs tokens.
    pub signs_tokens: bool,
    /// The callers it makes calls as, whose credentials it needs: the gateway when something it calls is remote,
    /// points when points runs here and one of its peers is remote.
    pub calls_as: BTreeSet<Caller>,
    /// Whether it hosts audit, which keys its chain.
    pub hosts_audit: bool,
}

/// What one process holds.
#[derive(Clone)]
pub struct Secrets {
    /// Signs tokens: only where auth runs.
    pub token_signer: Option<TokenSigner>,
    /// Verifies tokens, everywhere.
    pub token_verifier: TokenVerifier,
    /// The credentials of the callers this process makes calls as.
    pub credentials: std::collections::BTreeMap<Caller, ServiceCredential>,
    /// The audit chain's key: only where audit runs.
    pub audit_chain_key: Option<[u8; 32]>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Secrets")
            .field("signs_tokens", &self.token_signer.is_some())
            .field("calls_as", &self.credentials.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where one value was found, for messages.
enum Source {
    Environment(String),
    File(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Environment(variable) => write!(formatter, "the environment variable {variable}"),
            Source::File(file) => write!(formatter, "the file {}", file.display()),
        }
    }
}

/// The secrets directory of a data directory.
pub fn secrets_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets")
}

impl Secrets {
    /// Loads what `wanted` says this process needs, from the environment or `DIR/secrets/`, creating missing files.
    pub fn load(data_dir: &Path, wanted: &SecretsWanted) -> anyhow::Result<Secrets> {
        for (variable, instead) in RETIRED_VARIABLES {
            if std::env::var_os(variable).is_some() {
                bail!("{variable} is no longer read: {instead}");
            }
        }
        let store = Store { dir: secrets_dir(data_dir) };
        let token_signer = if wanted.signs_tokens { Some(store.signing_key()?) } else { None };
        let token_verifier = store.public_key(token_signer.as_ref())?;
        let credentials = wanted
            .calls_as
            .iter()
            .map(|caller| Ok((*caller, store.credential(*caller)?)))
            .collect::<anyhow::Result<_>>()?;
        let audit_chain_key = if wanted.hosts_audit { Some(store.audit_chain_key()?) } else { None };
        Ok(Secrets { token_signer, token_verifier, credentials, audit_chain_key })
    }

    /// The audit chain's key for `verify`, from the environment or `DIR/secrets/audit-chain-key`, or `None` when
    /// neither has it; unlike [`Secrets::load`], it never creates the file.
    pub fn existing_audit_chain_key(data_dir: &Path) -> anyhow::Result<Option<[u8; 32]>> {
        let store = Store { dir: secrets_dir(data_dir) };
        let file = store.file("audit-chain-key");
        if std::env::var_os(AUDIT_CHAIN_KEY_VARIABLE).is_none() && !file.exists() {
            return Ok(None);
        }
        store.audit_chain_key().map(Some)
    }

    /// The credential of `caller`, which this process must have been given.
    pub fn credential(&self, caller: Caller) -> anyhow::Result<ServiceCredential> {
        self.credentials
            .get(&caller)
            .cloned()
            .with_context(|| format!("this process calls as {caller}, but was given no credential for it"))
    }

    /// The verifiers of `callers`, for a process whose internal routes accept them: from `REWARDS_CALLER_VERIFIERS`
    /// when set (a caller it does not list is not accepted), otherwise from `DIR/secrets/verifier-NAME`.
    pub fn load_verifiers(data_dir: &Path, callers: &BTreeSet<Caller>) -> anyhow::Result<CallerVerifiers> {
        Store { dir: secrets_dir(data_dir) }.verifiers(callers)
    }

    /// Everything, for a process that hosts every module and calls no one (`seed`, and tests).
    pub fn load_for_all_modules(data_dir: &Path) -> anyhow::Result<Secrets> {
        Secrets::load(data_dir, &SecretsWanted { signs_tokens: true, calls_as: BTreeSet::new(), hosts_audit: true })
    }

    /// Fresh random keys that live only in this process, for commands that issue and check no token anyone keeps
    /// (`verify`), so that they never write into the data directory.
    pub fn ephemeral() -> Secrets {
        let signer = TokenSigner::random();
        Secrets {
            token_verifier: signer.verifier().clone(),
            token_signer: Some(signer),
            credentials: std::collections::BTreeMap::new(),
            audit_chain_key: None,
        }
    }

    /// Creates every secret file a deployment needs under `DIR/secrets/` (keeping those that exist), for an operator
    /// to hand each host its share, and returns the files.
    pub fn provision_all(data_dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let store = Store { dir: secrets_dir(data_dir) };
        let signer = store.signing_key()?;
        store.public_key(Some(&signer))?;
        store.audit_chain_key()?;
        store.verifiers(&Caller::all().collect())?;
        let mut files =
            vec![store.file("token-signing-key"), store.file("token-public-key"), store.file("audit-chain-key")];
        for caller in Caller::all() {
            files.push(store.file(&format!("credential-{caller}")));
            files.push(store.file(&format!("verifier-{caller}")));
        }
        Ok(files)
    }
}

struct Store {
    dir: PathBuf,
}

impl Store {
    fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The variable's value if set, otherwise the file's, created with `create()` if missing.
    fn value(
        &self,
        variable: Option<&str>,
        name: &str,
        create: impl FnOnce() -> anyhow::Result<String>,
    ) -> anyhow::Result<(String, Source)> {
        if let Some(variable) = variable
            && let Some(value) = std::env::var_os(variable)
        {
            let value = value.into_string().map_err(|_| anyhow::anyhow!("{variable} is not valid UTF-8"))?;
            return Ok((value.trim().to_owned(), Source::Environment(variable.to_owned())));
        }
        let file = self.file(name);
        let value = match std::fs::read_to_string(&file) {
            Ok(existing) => existing,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create_private_dir(&self.dir)?;
                create_exclusively(&file, &create()?)?
            }
            Err(error) => return Err(error).with_context(|| format!("reading {}", file.display())),
        };
        Ok((value.trim().to_owned(), Source::File(file)))
    }

    fn signing_key(&self) -> anyhow::Result<TokenSigner> {
        let (value, source) = self.value(Some(TOKEN_SIGNING_KEY_VARIABLE), "token-signing-key", || {
            Ok(hex::encode(rand::random::<[u8; TOKEN_KEY_LENGTH]>()))
        })?;
        let seed = key_bytes(&value, &source, "token signing key")?;
        TokenSigner::from_seed(&seed).with_context(|| format!("the token signing key in {source}"))
    }

    fn public_key(&self, signer: Option<&TokenSigner>) -> anyhow::Result<TokenVerifier> {
        let file = self.file("token-public-key");
        if let Some(signer) = signer {
            // The signer's own verifier, so that auth's `verify` and the gateway share one table of checked tokens. A
            // public key given as well must be the signer's; one is written beside a signing key read from its file,
            // for the processes that verify only (and never beside one from the environment: nothing is written
            // then).
            let given = std::env::var_os(TOKEN_PUBLIC_KEY_VARIABLE).is_some() || file.exists();
            if given || std::env::var_os(TOKEN_SIGNING_KEY_VARIABLE).is_none() {
                let (value, source) = self.value(Some(TOKEN_PUBLIC_KEY_VARIABLE), "token-public-key", || {
                    Ok(hex::encode(signer.public_key()))
                })?;
                if key_bytes(&value, &source, "token public key")? != signer.public_key() {
                    bail!("the token public key in {source} does not belong to the token signing key");
                }
            }
            return Ok(signer.verifier().clone());
        }
        let (value, source) = self.value(Some(TOKEN_PUBLIC_KEY_VARIABLE), "token-public-key", || {
            Ok(hex::encode(self.signing_key()?.public_key()))
        })?;
        let public_key = key_bytes(&value, &source, "token public key")?;
        TokenVerifier::from_public_key(&public_key).with_context(|| format!("the token public key in {source}"))
    }

    fn audit_chain_key(&self) -> anyhow::Result<[u8; 32]> {
        let (value, source) = self
            .value(Some(AUDIT_CHAIN_KEY_VARIABLE), "audit-chain-key", || Ok(hex::encode(rand::random::<[u8; 32]>())))?;
        key_bytes(&value, &source, "audit chain key")
    }

    fn credential(&self, caller: Caller) -> anyhow::Result<ServiceCredential> {
        let variable = caller.credential_variable();
        let (value, source) = self
            .value(Some(&variable), &format!("credential-{caller}"), || Ok(hex::encode(rand::random::<[u8; 32]>())))?;
        ServiceCredential::new(&value).with_context(|| format!("the service credential in {source}"))
    }

    fn verifiers(&self, accepted: &BTreeSet<Caller>) -> anyhow::Result<CallerVerifiers> {
        let mut verifiers = CallerVerifiers::default();
        if accepted.is_empty() {
            return Ok(verifiers);
        }
        if let Some(list) = std::env::var_os(CALLER_VERIFIERS_VARIABLE) {
            let list = list.into_string().map_err(|_| anyhow::anyhow!("{CALLER_VERIFIERS_VARIABLE} is not UTF-8"))?;
            let source = Source::Environment(CALLER_VERIFIERS_VARIABLE.to_owned());
            for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
                let (name, value) =
                    entry.split_once('=').with_context(|| format!("{source} holds {entry:?}; expected NAME=HEX"))?;
                let caller: Caller = name.trim().parse().map_err(|error| anyhow::anyhow!("{source}: {error}"))?;
                let verifier = key_bytes(value.trim(), &source, &format!("verifier of {caller}"))?;
                if accepted.contains(&caller) {
                    verifiers.accept(caller, verifier);
                }
            }
            return Ok(verifiers);
        }
        for caller in accepted {
            let (value, source) = self.value(None, &format!("verifier-{caller}"), || {
                // The verifier of a caller whose credential does not exist yet: create the credential, for the caller
                // to find when it starts.
                let (credential, source) =
                    self.value(None, &format!("credential-{caller}"), || Ok(hex::encode(rand::random::<[u8; 32]>())))?;
                let credential = ServiceCredential::new(&credential)
                    .with_context(|| format!("the service credential in {source}"))?;
                Ok(hex::encode(credential.verifier()))
            })?;
            verifiers.accept(*caller, key_bytes(&value, &source, &format!("verifier of {caller}"))?);
        }
        Ok(verifiers)
    }
}

/// Decodes a hex value of exactly 32 bytes.
fn key_bytes(value: &str, source: &Source, what: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = hex::decode(value).with_context(|| format!("the {what} in {source} is not hexadecimal"))?;
    if bytes.len() < MIN_SECRET_BYTES {
        bail!(
            "the {what} in {source} is shorter than {MIN_SECRET_BYTES} bytes ({} bytes); refusing to start with a weak \
             secret",
            bytes.len()
        );
    }
    bytes
        .try_into()
        .map_err(|bytes: Vec<u8>| anyhow::anyhow!("the {what} in {source} is {} bytes, not 32", bytes.len()))
}

/// Creates `dir` (and its parents) with mode 0700 where it does not exist yet. An existing directory open to others is
/// reported at `warn`, not changed: it is the operator's.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir).with_context(|| format!("reading {}", dir.display()))?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), mode = format!("{:o}", mode & 0o777), "the directory is open to other users; 0700 is advised");
        }
    }
    Ok(())
}

/// Writes `contents` to `file` unless it exists, atomically: a temporary file in the same directory, written in full,
/// synced, then renamed into place without replacing an existing file. Returns what `file` holds afterwards: these
/// contents, or those of a process that created it first.
fn create_exclusively(file: &Path, contents: &str) -> anyhow::Result<String> {
    let dir = file.parent().context("a secret file needs a parent directory")?;
    let name = file.file_name().and_then(|name| name.to_str()).context("a secret file needs a name")?;
    let temporary = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), hex::encode(rand::random::<[u8; 6]>())));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut handle = options.open(&temporary)?;
        handle.write_all(contents.as_bytes())?;
        handle.sync_all()
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("writing {}", temporary.display()));
    }
    let placed = rename_without_replacing(&temporary, file);
    let _ = std::fs::remove_file(&temporary);
    match placed {
        Ok(()) => {
            // The rename is durable only once the directory is synced.
            if let Ok(handle) = std::fs::File::open(dir) {
                let _ = handle.sync_all();
            }
            Ok(contents.to_owned())
        }
        // Another process placed its value first; use that one, so that both agree.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))
        }
        Err(error) => Err(error).with_context(|| format!("placing {}", file.display())),
    }
}

/// Renames `from` to `to`, failing with `AlreadyExists` if `to` exists. Uses `renameat2(RENAME_NOREPLACE)`, and a hard
/// link (which never replaces either) where the file system does not support it.
fn rename_without_replacing(from: &Path, to: &Path) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(error) if error == rustix::io::Errno::INVAL || error == rustix::io::Errno::NOSYS => {}
            Err(error) => return Err(error.into()),
        }
    }
    std::fs::hard_link(from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_created_once_and_reused_and_each_process_holds_only_its_share() {
        let directory = tempfile::tempdir().unwrap();
        let points_caller = Caller::Service(ModuleName::Points);
        let points = SecretsWanted { signs_tokens: false, calls_as: [points_caller].into(), hosts_audit: false };
        let first = Secrets::load(directory.path(), &points).unwrap();
        let accepted = Secrets::load_verifiers(directory.path(), &[Caller::Gateway].into()).unwrap();
        let second = Secrets::load(directory.path(), &points).unwrap();
        assert!(first.token_signer.is_none(), "only auth's process signs");
        assert!(first.credential(Caller::Gateway).is_err(), "points holds no other caller's credential");
        let (first_credential, second_credential) =
            (first.credential(points_caller).unwrap(), second.credential(points_caller).unwrap());
        assert_eq!(first_credential.expose(), second_credential.expose());
        assert_eq!(first_credential.expose().len(), 64);
        assert_eq!(first.token_verifier.public_key(), second.token_verifier.public_key());
        // The gateway's credential matches the verifier points accepts, and points' own does not.
        let gateway = Secrets::load(
            directory.path(),
            &SecretsWanted { signs_tokens: true, calls_as: [Caller::Gateway].into(), hosts_audit: true },
        )
        .unwrap();
        let gateway_credential = gateway.credential(Caller::Gateway).unwrap();
        assert_eq!(accepted.identify(Some(gateway_credential.expose().as_bytes())), Some(Caller::Gateway));
        assert_eq!(accepted.identify(Some(first_credential.expose().as_bytes())), None);
        assert_eq!(gateway.token_signer.unwrap().public_key(), first.token_verifier.public_key());
    }

    #[test]
    fn credential_comparison_needs_equal_bytes() {
        assert!(constant_time_equal(b"secret", b"secret"));
        assert!(!constant_time_equal(b"secret", b"secreT"));
        assert!(!constant_time_equal(b"secret", b"secret!"));
        assert!(!constant_time_equal(b"", b"secret"));
    }

    #[test]
    fn an_empty_or_missing_credential_identifies_no_one() {
        let credential = ServiceCredential::new(&"c".repeat(32)).unwrap();
        let verifiers = CallerVerifiers::of(&[(Caller::Gateway, &credential)]);
        assert_eq!(verifiers.identify(None), None);
        assert_eq!(verifiers.identify(Some(b"")), None);
        assert_eq!(verifiers.identify(Some("c".repeat(31).as_bytes())), None);
        assert_eq!(verifiers.identify(Some("c".repeat(32).as_bytes())), Some(Caller::Gateway));
        assert!(ServiceCredential::new("short").is_err());
        assert!(ServiceCredential::new("").is_err());
    }

    #[test]
    fn a_short_secret_file_is_refused_with_its_path() {
        let directory = tempfile::tempdir().unwrap();
        let dir = secrets_dir(directory.path());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token-signing-key"), "").unwrap();
        let error = Secrets::load_for_all_modules(directory.path()).unwrap_err();
        let message = format!("{error:#}");
        assert!(message.contains("token-signing-key") && message.contains("shorter than 32 bytes"), "{message}");
        std::fs::write(dir.join("token-signing-key"), "abcd").unwrap();
        let message = format!("{:#}", Secrets::load_for_all_modules(directory.path()).unwrap_err());
        assert!(message.contains("shorter than 32 bytes (2 bytes)"), "{message}");
    }

    #[test]
    fn concurrent_creators_all_end_up_with_the_same_value() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("shared");
        let values: Vec<String> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|index| {
                    let file = &file;
                    scope.spawn(move || create_exclusively(file, &format!("value-{index}")).unwrap())
                })
                .collect();
            handles.into_iter().map(|handle| handle.join().unwrap()).collect()
        });
        let on_disk = std::fs::read_to_string(&file).unwrap();
        assert!(values.iter().all(|value| *value == on_disk), "{values:?} vs {on_disk}");
        let leftovers: Vec<_> =
            std::fs::read_dir(directory.path()).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind: {leftovers:?}");
    }

    #[cfg(unix)]
    #[test]
    fn the_secrets_directory_is_private_and_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let data_dir = directory.path().join("data");
        Secrets::provision_all(&data_dir).unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&secrets_dir(&data_dir)), 0o700);
        assert_eq!(mode(&secrets_dir(&data_dir).join("token-signing-key")), 0o600);
        assert_eq!(mode(&secrets_dir(&data_dir).join("credential-points")), 0o600);
    }
}
