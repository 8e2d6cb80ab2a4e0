//! The in-process implementation of [`UsersApi`] over the module's own `users_profiles` table.

use std::sync::Arc;

use async_trait::async_trait;
use rewards_platform::{Database, Role, StorageError, now_unix_seconds};
use rusqlite::OptionalExtension;

use crate::api::{CreateProfileRequest, Profile, UsersApi, UsersError, validate_display_name};

const MIGRATION: &str = include_str!("../migrations/0001_init.sql");

/// The users module running in this process, on its own tables of `database`.
pub struct LocalUsers {
    database: Arc<Database>,
}

impl LocalUsers {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database file or one of
    /// the tables cannot be read.
    pub fn check_storage(&self) -> Result<(), StorageError> {
        self.database.with_connection(|connection| {
            connection.query_row("SELECT EXISTS (SELECT 1 FROM users_profiles)", [], |_| Ok(()))
        })
    }

    /// Runs the module's migrations and returns the implementation.
    pub fn open(database: Arc<Database>) -> Result<LocalUsers, StorageError> {
        database.migrate(MIGRATION)?;
        Ok(LocalUsers { database })
    }

    fn read_profile(&self, user_id: i64) -> Result<Option<Profile>, UsersError> {
        let row = self.database.with_connection(|connection| {
            connection
                .query_row(
                    "SELECT user_id, display_name, role, created_at FROM users_profiles WHERE user_id = ?1",
                    [user_id],
                    |row| {
                        Ok((
                            row.get::<_, i64>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                            row.get::<_, i64>(3)?,
                        ))
                    },
                )
                .optional()
        })?;
        row.map(|(user_id, display_name, role, member_since)| {
            let role =
                Role::parse(&role).ok_or_else(|| UsersError::Internal(format!("stored role {role} is unknown")))?;
            Ok(Profile { user_id, display_name, role, member_since })
        })
        .transpose()
    }
}

#[async_trait]
impl UsersApi for LocalUsers {
    async fn create_profile(&self, request: CreateProfileRequest) -> Result<Profile, UsersError> {
        let display_name = validate_display_name(&request.display_name)?;
        if request.user_id <= 0 {
            return Err(UsersError::InvalidInput("user id must be positive".to_owned()));
        }
        self.database.with_connection(|connection| {
            connection.execute(
                "INSERT INTO users_profiles (user_id, display_name, role, created_at) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (user_id) DO NOTHING",
                rusqlite::params![request.user_id, display_name, request.role.as_str(), now_unix_seconds()],
            )
        })?;
        let stored = self.read_profile(request.user_id)?.ok_or(UsersError::NotFound)?;
        if stored.display_name != display_name || stored.role != request.role {
            return Err(UsersError::Conflict);
        }
        Ok(stored)
    }

    async fn get_profile(&self, user_id: i64) -> Result<Profile, UsersError> {
        self.read_profile(user_id)?.ok_or(UsersError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profiles_are_created_once_and_read_back() {
        let directory = tempfile::tempdir().unwrap();
        let users = LocalUsers::open(Database::open(&directory.path().join("users.db")).unwrap()).unwrap();
        let request = CreateProfileRequest { user_id: 5, display_name: "  Ana  ".to_owned(), role: Role::Member };
        let created = users.create_profile(request.clone()).await.unwrap();
        assert_eq!(created.display_name, "Ana");
        assert_eq!(users.create_profile(request).await.unwrap(), created);
        assert_eq!(users.get_profile(5).await.unwrap(), created);
        assert_eq!(users.get_profile(6).await, Err(UsersError::NotFound));
        let conflicting = CreateProfileRequest { user_id: 5, display_name: "Bea".to_owned(), role: Role::Member };
        assert_eq!(users.create_profile(conflicting).await, Err(UsersError::Conflict));
        assert!(validate_display_name("   ").is_err());
        for hostile in ["Ana\u{202e}nimda", "\u{2067}Ana", "A\u{200b}na", "Ana\u{feff}"] {
            assert!(validate_display_name(hostile).is_err(), "{hostile:?}");
        }
        assert_eq!(validate_display_name(" José Ñandú ").unwrap(), "José Ñandú");
    }
}
