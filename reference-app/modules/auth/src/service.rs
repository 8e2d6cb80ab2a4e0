//! The in-process implementation of [`AuthApi`] over the module's own accounts table (`auth_accounts` on SQLite,
//! `auth.accounts` on PostgreSQL).

use std::sync::Arc;
use std::time::Instant;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use rewards_platform::{
    ModuleStore, Role, Sql, StorageError, StorageErrorKind, TokenClaims, TokenError, TokenSigner, now_unix_seconds,
    params,
};

use crate::api::{AuthApi, AuthError, LoginRequest, RegisterRequest};
use crate::backoff::FailedLogins;
use crate::domain::{Email, Password};
use crate::hashing::{HashingPool, HashingStats};

const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM auth_accounts)",
    postgres: "SELECT EXISTS (SELECT 1 FROM auth.accounts)",
};

const REGISTER: Sql = Sql {
    sqlite: "INSERT INTO auth_accounts (email, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4) \
             RETURNING user_id",
    postgres: "INSERT INTO auth.accounts (email, password_hash, role, created_at) VALUES ($1, $2, $3, $4) \
               RETURNING user_id",
};

const ACCOUNT_BY_EMAIL: Sql = Sql {
    sqlite: "SELECT user_id, password_hash, role FROM auth_accounts WHERE email = ?1",
    postgres: "SELECT user_id, password_hash, role FROM auth.accounts WHERE email = $1",
};

/// How expensive password hashing is. Production uses [`PasswordHashing::standard`]; tests may use
/// [`PasswordHashing::fast`] so that registering a hundred users takes milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHashing {
    /// Argon2 memory cost in KiB.
    pub memory_kib: u32,
    /// Argon2 time cost (passes over memory).
    pub iterations: u32,
}

impl PasswordHashing {
    /// OWASP's recommended argon2id setting: 19 MiB of memory, two passes.
    pub fn standard() -> PasswordHashing {
        PasswordHashing { memory_kib: 19 * 1024, iterations: 2 }
    }

    /// A deliberately weak setting for tests and load-test seeding only.
    pub fn fast() -> PasswordHashing {
        PasswordHashing { memory_kib: 64, iterations: 1 }
    }
}

/// What the auth module needs from its configuration.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// The private key that signs tokens. Only auth holds it; every other process verifies with the public key.
    pub token_signer: TokenSigner,
    /// How long a token stays valid after login.
    pub token_lifetime_seconds: i64,
    /// The argon2 cost.
    pub password_hashing: PasswordHashing,
    /// How many threads hash passwords (at least one).
    pub hashing_threads: usize,
    /// How many hashes may wait for a thread before more are refused as busy.
    pub hashing_queue: usize,
}

/// The auth module running in this process, on its own tables.
pub struct LocalAuth {
    store: ModuleStore,
    settings: AuthSettings,
    hasher: Arc<Argon2<'static>>,
    pool: HashingPool,
    /// A hash of no one's password, made with the current cost: a login for an unknown e-mail is checked against it,
    /// so that it costs what a login for a known one costs and its answer time tells nothing.
    decoy_hash: String,
    failed_logins: FailedLogins,
}

impl LocalAuth {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation.
    pub async fn open(store: ModuleStore, settings: AuthSettings) -> Result<LocalAuth, StorageError> {
        let params = Params::new(settings.password_hashing.memory_kib, settings.password_hashing.iterations, 1, None)
            .map_err(|error| StorageError::other(format!("invalid argon2 parameters: {error}")))?;
        let hasher = Arc::new(Argon2::new(Algorithm::Argon2id, Version::V0x13, params));
        let decoy_password: [u8; 16] = rand::random();
        let decoy_hash = hash_password(&hasher, &decoy_password)
            .map_err(|error| StorageError::other(format!("making the decoy hash: {error}")))?;
        let pool = HashingPool::new(settings.hashing_threads, settings.hashing_queue)
            .map_err(|error| StorageError::other(format!("starting the password-hashing threads: {error}")))?;
        store.migrate(&MIGRATION).await?;
        Ok(LocalAuth { store, settings, hasher, pool, decoy_hash, failed_logins: FailedLogins::default() })
    }

    /// What the password-hashing threads have done, for tests and monitoring.
    pub fn hashing_stats(&self) -> &HashingStats {
        self.pool.stats()
    }

    /// Runs `job` with the hasher on a hashing thread; a full queue is answered as busy.
    async fn on_hashing_thread<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> Result<T, AuthError> {
        let hasher = Arc::clone(&self.hasher);
        self.pool.run(move || job(&hasher)).await.map_err(|_| AuthError::Busy)
    }
}

fn hash_password(hasher: &Argon2<'static>, password: &[u8]) -> Result<String, AuthError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes)
        .map_err(|error| AuthError::Internal(format!("salt encoding failed: {error}")))?;
    hasher
        .hash_password(password, &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AuthError::Internal(format!("password hashing failed: {error}")))
}

/// Whether `password` matches `stored_hash` (whose own parameters say how to check it).
fn password_matches(hasher: &Argon2<'static>, password: &[u8], stored_hash: &str) -> Result<bool, AuthError> {
    let parsed_hash = PasswordHash::new(stored_hash)
        .map_err(|error| AuthError::Internal(format!("stored hash is unreadable: {error}")))?;
    Ok(hasher.verify_password(password, &parsed_hash).is_ok())
}

#[async_trait]
impl AuthApi for LocalAuth {
    async fn register(&self, request: RegisterRequest) -> Result<i64, AuthError> {
        let email = Email::parse(&request.email)?;
        let password = Password::parse(&request.password)?;
        let password_hash = self.on_hashing_thread(move |hasher| hash_password(hasher, password.as_bytes())).await??;
        let inserted = self
            .store
            .query_one(
                &REGISTER,
                params![email.as_str(), password_hash.as_str(), request.role.as_str(), now_unix_seconds()],
            )
            .await;
        match inserted {
            Ok(row) => Ok(row.get(0)?),
            // Checking for the email first would race with a concurrent registration; the unique index decides.
            Err(error) if error.kind() == StorageErrorKind::UniqueViolation => Err(AuthError::EmailTaken),
            Err(error) => Err(error.into()),
        }
    }

    async fn login(&self, request: LoginRequest) -> Result<String, AuthError> {
        let Ok(email) = Email::parse(&request.email) else {
            return Err(AuthError::InvalidCredentials);
        };
        // No account has a password that registration would refuse, so such a one needs no hash to be refused.
        let Ok(password) = Password::parse(&request.password) else {
            return Err(AuthError::InvalidCredentials);
        };
        if let Err(wait) = self.failed_logins.check(email.as_str(), Instant::now()) {
            return Err(AuthError::TooManyFailedLogins { retry_after_seconds: wait.as_secs().max(1) });
        }
        let account = match self.store.query_opt(&ACCOUNT_BY_EMAIL, params![email.as_str()]).await? {
            Some(row) => Some((row.get::<i64>(0)?, row.get::<String>(1)?, row.get::<String>(2)?)),
            None => None,
        };
        // An unknown e-mail is checked against the decoy hash: the same work, the same wait, the same answer.
        let stored_hash = account.as_ref().map_or_else(|| self.decoy_hash.clone(), |(_, hash, _)| hash.clone());
        let matches =
            self.on_hashing_thread(move |hasher| password_matches(hasher, password.as_bytes(), &stored_hash)).await??;
        let (user_id, role) = match account {
            Some((user_id, _, role)) if matches => (user_id, role),
            _ => {
                self.failed_logins.record_failure(email.as_str(), Instant::now());
                return Err(AuthError::InvalidCredentials);
            }
        };
        self.failed_logins.record_success(email.as_str());
        let role = Role::parse(&role).ok_or_else(|| AuthError::Internal(format!("stored role {role} is unknown")))?;
        let claims = TokenClaims {
            user_id,
            role,
            expires_at: now_unix_seconds().saturating_add(self.settings.token_lifetime_seconds),
        };
        Ok(self.settings.token_signer.sign(&claims))
    }

    async fn verify(&self, token: String) -> Result<TokenClaims, AuthError> {
        self.settings.token_signer.verifier().verify(&token, now_unix_seconds()).map_err(|error| match error {
            TokenError::Invalid => AuthError::InvalidToken,
            TokenError::Expired => AuthError::TokenExpired,
        })
    }
}

#[cfg(test)]
mod tests {
    use rewards_platform::testing::TestDatabases;

    use super::*;

    async fn local_auth(database: &std::sync::Arc<rewards_platform::Database>) -> LocalAuth {
        LocalAuth::open(
            database.module_store("auth").unwrap(),
            AuthSettings {
                token_signer: TokenSigner::from_seed(&[7; 32]).unwrap(),
                token_lifetime_seconds: 60,
                password_hashing: PasswordHashing::fast(),
                hashing_threads: 1,
                hashing_queue: 8,
            },
        )
        .await
        .unwrap()
    }

    fn registration(email: &str) -> RegisterRequest {
        RegisterRequest { email: email.to_owned(), password: "correct horse".to_owned(), role: Role::Member }
    }

    #[tokio::test]
    async fn register_login_and_verify_round_trip() {
        for database in TestDatabases::open("register_login_and_verify_round_trip").await.all {
            register_login_and_verify_round_trip_on(local_auth(&database).await).await;
        }
    }

    async fn register_login_and_verify_round_trip_on(auth: LocalAuth) {
        let user_id = auth.register(registration("ana@example.com")).await.unwrap();
        let token = auth
            .login(LoginRequest { email: "ANA@example.com".to_owned(), password: "correct horse".to_owned() })
            .await
            .unwrap();
        let claims = auth.verify(token).await.unwrap();
        assert_eq!((claims.user_id, claims.role), (user_id, Role::Member));
    }

    #[tokio::test]
    async fn duplicate_email_and_wrong_password_are_refused() {
        for database in TestDatabases::open("duplicate_email_and_wrong_password_are_refused").await.all {
            duplicate_email_and_wrong_password_are_refused_on(local_auth(&database).await).await;
        }
    }

    async fn duplicate_email_and_wrong_password_are_refused_on(auth: LocalAuth) {
        auth.register(registration("ana@example.com")).await.unwrap();
        assert_eq!(auth.register(registration("Ana@Example.com")).await, Err(AuthError::EmailTaken));
        let wrong = auth
            .login(LoginRequest { email: "ana@example.com".to_owned(), password: "wrong password".to_owned() })
            .await;
        assert_eq!(wrong, Err(AuthError::InvalidCredentials));
        assert_eq!(auth.verify("garbage".to_owned()).await, Err(AuthError::InvalidToken));
    }

    fn login(email: &str, password: &str) -> LoginRequest {
        LoginRequest { email: email.to_owned(), password: password.to_owned() }
    }

    #[tokio::test]
    async fn an_unknown_email_costs_one_hash_like_a_known_one() {
        // The hashing threads and the backoff are the same whatever the database; SQLite is enough.
        let directory = tempfile::tempdir().unwrap();
        let database = rewards_platform::Database::open_sqlite(&directory.path().join("auth.db")).unwrap();
        let auth = local_auth(&database).await;
        auth.register(registration("ana@example.com")).await.unwrap();
        let completed = || auth.hashing_stats().completed.load(std::sync::atomic::Ordering::SeqCst);
        let before = completed();
        assert_eq!(auth.login(login("ana@example.com", "wrong password")).await, Err(AuthError::InvalidCredentials));
        assert_eq!(completed(), before + 1, "a wrong password for a known e-mail is one hash");
        assert_eq!(auth.login(login("nobody@example.com", "any password")).await, Err(AuthError::InvalidCredentials));
        assert_eq!(completed(), before + 2, "an unknown e-mail is one hash too, against the decoy");
        assert!(auth.login(login("ana@example.com", "correct horse")).await.is_ok());
        assert_eq!(completed(), before + 3);
    }

    #[tokio::test]
    async fn failed_logins_back_off_per_email_alike_for_known_and_unknown_ones() {
        // The hashing threads and the backoff are the same whatever the database; SQLite is enough.
        let directory = tempfile::tempdir().unwrap();
        let database = rewards_platform::Database::open_sqlite(&directory.path().join("auth.db")).unwrap();
        let auth = local_auth(&database).await;
        auth.register(registration("ana@example.com")).await.unwrap();
        for email in ["ana@example.com", "nobody@example.com"] {
            let mut answers = Vec::new();
            for _ in 0..5 {
                answers.push(auth.login(login(email, "wrong password")).await);
            }
            let expected = vec![
                Err(AuthError::InvalidCredentials),
                Err(AuthError::InvalidCredentials),
                Err(AuthError::InvalidCredentials),
                Err(AuthError::InvalidCredentials),
                Err(AuthError::TooManyFailedLogins { retry_after_seconds: 1 }),
            ];
            assert_eq!(answers, expected, "{email}");
        }
        // While backing off, even the right password is not checked.
        let completed = auth.hashing_stats().completed.load(std::sync::atomic::Ordering::SeqCst);
        assert!(matches!(
            auth.login(login("ana@example.com", "correct horse")).await,
            Err(AuthError::TooManyFailedLogins { .. })
        ));
        assert_eq!(auth.hashing_stats().completed.load(std::sync::atomic::Ordering::SeqCst), completed);
    }
}
