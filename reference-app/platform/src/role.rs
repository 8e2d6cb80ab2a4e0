//! The two kinds of account, shared by auth (which signs them into tokens) and users (which stores them in profiles).

use serde::{Deserialize, Serialize};

/// The role of an account, as chosen at registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A person who collects and redeems points.
    Member,
    /// A person who owns businesses, creates offers and emits points.
    Business,
}

impl Role {
    /// The stable lowercase name used in JSON, in tokens and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Business => "business",
        }
    }

    /// Parses the stable name back; anything else is `None`.
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "member" => Some(Role::Member),
            "business" => Some(Role::Business),
            _ => None,
        }
    }
}
