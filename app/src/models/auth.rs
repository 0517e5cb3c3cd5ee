//! Who is signed in: users and their roles.

use serde::{Deserialize, Serialize};

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and manages everything.
    Admin,
    /// Sees only their own team.
    Targetologist,
}

impl Role {
    /// Where a user lands after signing in or opening `/`.
    pub fn start_page(self) -> &'static str {
        match self {
            Self::Admin => "/target",
            Self::Targetologist => "/traffic/cabinet",
        }
    }

    /// The value stored in `app_user.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Targetologist => "targetologist",
        }
    }

    /// Parses the stored value.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "targetologist" => Some(Self::Targetologist),
            _ => None,
        }
    }
}

/// The user behind the current request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub user_id: i64,
    pub login: String,
    pub role: Role,
    pub team_id: Option<i64>,
}
