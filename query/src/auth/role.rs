//! Roles, and which role a route needs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a token may do. `viewer < analyst < admin` form a ladder; `ingest` stands apart and
/// reaches only ingest routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads incidents and events.
    Viewer,
    /// A viewer who also updates incidents, runs SQL and tests rules.
    Analyst,
    /// An analyst who also manages rules, tokens and configuration.
    Admin,
    /// Only sends events to the HTTP ingest route.
    Ingest,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Admin, Role::Ingest];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }

    /// Whether a token of this role may use a route that needs `required`.
    pub fn satisfies(self, required: Role) -> bool {
        match (self, required) {
            (Role::Ingest, Role::Ingest) => true,
            (Role::Ingest, _) | (_, Role::Ingest) => false,
            (actual, required) => actual.rank() >= required.rank(),
        }
    }

    fn rank(self) -> u8 {
        match self {
            Role::Viewer => 1,
            Role::Analyst => 2,
            Role::Admin => 3,
            Role::Ingest => 0,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A role name that is not one of `viewer`, `analyst`, `admin`, `ingest`.
#[derive(Debug, thiserror::Error)]
#[error("unknown role {0:?}; expected viewer, analyst, admin or ingest")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(name: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| UnknownRole(name.to_string()))
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, without a token (health probes; they return no data).
    Public,
    /// A valid token whose role satisfies this one.
    Role(Role),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_is_ordered_and_ingest_stands_apart() {
        assert!(Role::Admin.satisfies(Role::Analyst));
        assert!(Role::Analyst.satisfies(Role::Viewer));
        assert!(!Role::Viewer.satisfies(Role::Analyst));
        assert!(!Role::Analyst.satisfies(Role::Admin));
        assert!(!Role::Ingest.satisfies(Role::Viewer));
        assert!(!Role::Admin.satisfies(Role::Ingest));
        assert!(Role::Ingest.satisfies(Role::Ingest));
    }

    #[test]
    fn role_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
