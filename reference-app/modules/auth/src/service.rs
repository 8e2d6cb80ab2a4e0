//! The in-process implementation of [`AuthApi`] over the module's own `auth_accounts` table.

use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;
use rewards_platform::{Database, Role, StorageError, TokenClaims, TokenError, TokenKey, now_unix_seconds};
use rusqlite::OptionalExtension;

use crate::api::{AuthApi, AuthError, LoginRequest, RegisterRequest};
use crate::domain::{Email, Password};

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

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
    /// The key that signs tokens. Every service that re-verifies tokens holds the same key.
    pub token_key: TokenKey,
    /// How long a token stays valid after login.
    pub token_lifetime_seconds: i64,
    /// The argon2 cost.
    pub password_hashing: PasswordHashing,
}

/// The auth module running in this process, on its own tables of `database`.
pub struct LocalAuth {
    database: Arc<Database>,
    settings: AuthSettings,
    hasher: Argon2<'static>,
}

impl LocalAuth {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row("SELECT EXISTS (SELECT 1 FROM auth_accounts)", [], |_| Ok(()))
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(database: Arc<Database>, settings: AuthSettings) -> Result<LocalAuth, StorageError> {
        database.migrate(MIGRATION)?;
        let params = Params::new(settings.password_hashing.memory_kib, settings.password_hashing.iterations, 1, None)
            .map_err(|error| StorageError(format!("invalid argon2 parameters: {error}")))?;
        Ok(LocalAuth { database, settings, hasher: Argon2::new(Algorithm::Argon2id, Version::V0x13, params) })
    }

    fn hash_password(&self, password: &Password) -> Result<String, AuthError> {
        let salt_bytes: [u8; 16] = rand::random();
        let salt = SaltString::encode_b64(&salt_bytes)
            .map_err(|error| AuthError::Internal(format!("salt encoding failed: {error}")))?;
        self.hasher
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| AuthError::Internal(format!("password hashing failed: {error}")))
    }
}

#[async_trait]
impl AuthApi for LocalAuth {
    async fn register(&self, request: RegisterRequest) -> Result<i64, AuthError> {
        let email = Email::parse(&request.email)?;
        let password = Password::parse(&request.password)?;
        let password_hash = self.hash_password(&password)?;
        let inserted = self.database.with_connection(|connection| {
            connection.execute(
                "INSERT INTO auth_accounts (email, password_hash, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![email.as_str(), password_hash, request.role.as_str(), now_unix_seconds()],
            )?;
            Ok(connection.last_insert_rowid())
        });
        match inserted {
            Ok(user_id) => Ok(user_id),
            // Checking for the email first would race with a concurrent registration; the unique index decides.
            Err(error) if error.0.contains("UNIQUE constraint failed") => Err(AuthError::EmailTaken),
            Err(error) => Err(error.into()),
        }
    }

    async fn login(&self, request: LoginRequest) -> Result<String, AuthError> {
        let Ok(email) = Email::parse(&request.email) else {
            return Err(AuthError::InvalidCredentials);
        };
        let account = self.database.with_connection(|connection| {
            connection
                .query_row(
                    "SELECT user_id, password_hash, role FROM auth_accounts WHERE email = ?1",
                    [email.as_str()],
                    |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?)),
                )
                .optional()
        })?;
        let Some((user_id, stored_hash, role)) = account else {
            return Err(AuthError::InvalidCredentials);
        };
        let parsed_hash = PasswordHash::new(&stored_hash)
            .map_err(|error| AuthError::Internal(format!("stored hash is unreadable: {error}")))?;
        if self.hasher.verify_password(request.password.as_bytes(), &parsed_hash).is_err() {
            return Err(AuthError::InvalidCredentials);
        }
        let role = Role::parse(&role).ok_or_else(|| AuthError::Internal(format!("stored role {role} is unknown")))?;
        let claims = TokenClaims {
            user_id,
            role,
            expires_at: now_unix_seconds().saturating_add(self.settings.token_lifetime_seconds),
        };
        Ok(self.settings.token_key.sign(&claims))
    }

    async fn verify(&self, token: String) -> Result<TokenClaims, AuthError> {
        self.settings.token_key.verify(&token, now_unix_seconds()).map_err(|error| match error {
            TokenError::Invalid => AuthError::InvalidToken,
            TokenError::Expired => AuthError::TokenExpired,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local_auth(directory: &tempfile::TempDir) -> LocalAuth {
        let database = Database::open(&directory.path().join("auth.db")).unwrap();
        LocalAuth::open(
            database,
            AuthSettings {
                token_key: TokenKey::new(vec![7; 32]),
                token_lifetime_seconds: 60,
                password_hashing: PasswordHashing::fast(),
            },
        )
        .unwrap()
    }

    fn registration(email: &str) -> RegisterRequest {
        RegisterRequest { email: email.to_owned(), password: "correct horse".to_owned(), role: Role::Member }
    }

    #[tokio::test]
    async fn register_login_and_verify_round_trip() {
        let directory = tempfile::tempdir().unwrap();
        let auth = local_auth(&directory);
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
        let directory = tempfile::tempdir().unwrap();
        let auth = local_auth(&directory);
        auth.register(registration("ana@example.com")).await.unwrap();
        assert_eq!(auth.register(registration("Ana@Example.com")).await, Err(AuthError::EmailTaken));
        let wrong = auth
            .login(LoginRequest { email: "ana@example.com".to_owned(), password: "wrong password".to_owned() })
            .await;
        assert_eq!(wrong, Err(AuthError::InvalidCredentials));
        assert_eq!(auth.verify("garbage".to_owned()).await, Err(AuthError::InvalidToken));
    }
}
