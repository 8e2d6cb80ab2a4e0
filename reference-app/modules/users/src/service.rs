//! The in-process implementation of [`UsersApi`] over the module's own profiles table (`users_profiles` on SQLite,
//! `users.profiles` on PostgreSQL).

use async_trait::async_trait;
use rewards_platform::{ModuleStore, Role, Sql, StorageError, now_unix_seconds, params};

use crate::api::{CreateProfileRequest, Profile, UsersApi, UsersError, validate_display_name};

const MIGRATION: Sql = Sql {
    sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
    postgres: include_str!("../migrations/postgres/0001_init.sql"),
};

const CHECK_TABLES: Sql = Sql {
    sqlite: "SELECT EXISTS (SELECT 1 FROM users_profiles)",
    postgres: "SELECT EXISTS (SELECT 1 FROM users.profiles)",
};

const READ_PROFILE: Sql = Sql {
    sqlite: "SELECT user_id, display_name, role, created_at FROM users_profiles WHERE user_id = ?1",
    postgres: "SELECT user_id, display_name, role, created_at FROM users.profiles WHERE user_id = $1",
};

const CREATE_PROFILE: Sql = Sql {
    sqlite: "INSERT INTO users_profiles (user_id, display_name, role, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (user_id) DO NOTHING",
    postgres: "INSERT INTO users.profiles (user_id, display_name, role, created_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (user_id) DO NOTHING",
};

/// The users module running in this process, on its own tables.
pub struct LocalUsers {
    store: ModuleStore,
}

impl LocalUsers {
    /// A cheap query on each of the module's tables, for health checks: it fails when the database or one of the
    /// tables cannot be read.
    pub async fn check_storage(&self) -> Result<(), StorageError> {
        self.store.query_one(&CHECK_TABLES, &[]).await.map(drop)
    }

    /// Runs the module's migrations and returns the implementation.
    pub async fn open(store: ModuleStore) -> Result<LocalUsers, StorageError> {
        store.migrate(&MIGRATION).await?;
        Ok(LocalUsers { store })
    }

    async fn read_profile(&self, user_id: i64) -> Result<Option<Profile>, UsersError> {
        let Some(row) = self.store.query_opt(&READ_PROFILE, params![user_id]).await? else {
            return Ok(None);
        };
        let role: String = row.get(2)?;
        let role = Role::parse(&role).ok_or_else(|| UsersError::Internal(format!("stored role {role} is unknown")))?;
        Ok(Some(Profile { user_id: row.get(0)?, display_name: row.get(1)?, role, member_since: row.get(3)? }))
    }
}

#[async_trait]
impl UsersApi for LocalUsers {
    async fn create_profile(&self, request: CreateProfileRequest) -> Result<Profile, UsersError> {
        let display_name = validate_display_name(&request.display_name)?;
        if request.user_id <= 0 {
            return Err(UsersError::InvalidInput("user id must be positive".to_owned()));
        }
        self.store
            .execute(
                &CREATE_PROFILE,
                params![request.user_id, display_name.as_str(), request.role.as_str(), now_unix_seconds()],
            )
            .await?;
        let stored = self.read_profile(request.user_id).await?.ok_or(UsersError::NotFound)?;
        if stored.display_name != display_name || stored.role != request.role {
            return Err(UsersError::Conflict);
        }
        Ok(stored)
    }

    async fn get_profile(&self, user_id: i64) -> Result<Profile, UsersError> {
        self.read_profile(user_id).await?.ok_or(UsersError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn profiles_are_created_once_and_read_back() {
        for database in rewards_platform::testing::TestDatabases::open("profiles_are_created_once").await.all {
            profiles_are_created_once_and_read_back_on(database.module_store("users").unwrap()).await;
        }
    }

    async fn profiles_are_created_once_and_read_back_on(store: ModuleStore) {
        let users = LocalUsers::open(store).await.unwrap();
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
