//! From a verified token's claims to a weft principal: who (the name claim, for the audit
//! trail) and which role (the role claim, directly or through the group mapping).

use serde_json::{Map, Value};

use super::JwtError;
use super::config::ClaimRules;
use crate::auth::role::Role;
use crate::auth::token::Principal;

/// What an OIDC principal's name and id start with, so the audit trail tells them from
/// weft tokens.
pub const OIDC_PREFIX: &str = "oidc:";
/// Longest claim value kept in a principal's name or id (characters).
const MAX_NAME_CHARS: usize = 256;

/// The principal a verified token's `claims` stand for.
///
/// The role claim may be a string or an array of strings; the highest role it grants wins
/// (`admin` > `analyst` > `viewer`; `ingest` only when it grants no other). A claim that is
/// missing or grants no known role refuses the token.
pub fn principal(claims: &Map<String, Value>, rules: &ClaimRules) -> Result<Principal, JwtError> {
    let role = role(claims, rules)?;
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .filter(|sub| !sub.is_empty());
    let name = claim(claims, &rules.name_claim)
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .or(subject)
        .ok_or_else(|| JwtError::MissingClaim(rules.name_claim.clone()))?;
    let id = subject.unwrap_or(name);
    Ok(Principal {
        token_id: format!("{OIDC_PREFIX}{}", bounded(id)),
        name: format!("{OIDC_PREFIX}{}", bounded(name)),
        role,
    })
}

fn role(claims: &Map<String, Value>, rules: &ClaimRules) -> Result<Role, JwtError> {
    let value = claim(claims, &rules.role_claim)
        .ok_or_else(|| JwtError::NoRole(rules.role_claim.clone()))?;
    let names: Vec<&str> = match value {
        Value::String(name) => vec![name.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let granted: Vec<Role> = names
        .into_iter()
        .filter_map(|name| {
            if rules.roles.is_empty() {
                name.parse().ok()
            } else {
                rules.roles.get(name).copied()
            }
        })
        .collect();
    [Role::Admin, Role::Analyst, Role::Viewer, Role::Ingest]
        .into_iter()
        .find(|role| granted.contains(role))
        .ok_or_else(|| JwtError::NoKnownRole(rules.role_claim.clone()))
}

/// The claim `name`: a top-level claim of that exact name (which may contain dots, like the
/// URL-named claims some providers use), else the path its dots describe through nested
/// objects (`realm_access.roles`).
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(name) {
        return Some(value);
    }
    let mut parts = name.split('.');
    let mut value = claims.get(parts.next()?)?;
    for part in parts {
        value = value.as_object()?.get(part)?;
    }
    Some(value)
}

/// `text` without control characters, cut to [`MAX_NAME_CHARS`].
fn bounded(text: &str) -> String {
    text.chars()
        .filter(|character| !character.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn rules(role_claim: &str, roles: &[(&str, Role)]) -> ClaimRules {
        ClaimRules {
            role_claim: role_claim.to_string(),
            roles: roles
                .iter()
                .map(|(group, role)| (group.to_string(), *role))
                .collect::<BTreeMap<_, _>>(),
            name_claim: "sub".to_string(),
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_string_role_claim_names_the_role() -> anyhow::Result<()> {
        let found = principal(
            &claims(json!({"sub": "u-1", "weft_role": "analyst"})),
            &rules("weft_role", &[]),
        )?;
        assert_eq!(found.role, Role::Analyst);
        assert_eq!(found.name, "oidc:u-1");
        assert_eq!(found.token_id, "oidc:u-1");
        Ok(())
    }

    #[test]
    fn an_array_role_claim_grants_its_highest_role() -> anyhow::Result<()> {
        let rules = rules("weft_role", &[]);
        let found = principal(
            &claims(json!({"sub": "u", "weft_role": ["viewer", "other", "admin", "analyst"]})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Admin);
        let found = principal(
            &claims(json!({"sub": "u", "weft_role": ["ingest", "viewer"]})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Viewer);
        let found = principal(
            &claims(json!({"sub": "u", "weft_role": ["ingest"]})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Ingest);
        Ok(())
    }

    #[test]
    fn groups_map_to_roles_and_only_mapped_groups_count() -> anyhow::Result<()> {
        let rules = rules(
            "groups",
            &[("soc-analysts", Role::Analyst), ("soc-leads", Role::Admin)],
        );
        let found = principal(
            &claims(json!({"sub": "u", "groups": ["staff", "soc-analysts"]})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Analyst);
        // With a mapping, a group that happens to be named like a weft role grants nothing.
        assert!(matches!(
            principal(&claims(json!({"sub": "u", "groups": ["admin"]})), &rules),
            Err(JwtError::NoKnownRole(_))
        ));
        Ok(())
    }

    #[test]
    fn missing_or_unknown_roles_are_refused() {
        let rules = rules("weft_role", &[]);
        assert!(matches!(
            principal(&claims(json!({"sub": "u"})), &rules),
            Err(JwtError::NoRole(_))
        ));
        assert!(matches!(
            principal(&claims(json!({"sub": "u", "weft_role": "root"})), &rules),
            Err(JwtError::NoKnownRole(_))
        ));
        assert!(matches!(
            principal(&claims(json!({"sub": "u", "weft_role": 3})), &rules),
            Err(JwtError::NoKnownRole(_))
        ));
        assert!(matches!(
            principal(&claims(json!({"sub": "u", "weft_role": []})), &rules),
            Err(JwtError::NoKnownRole(_))
        ));
    }

    #[test]
    fn dotted_claim_names_reach_nested_claims_after_exact_names() -> anyhow::Result<()> {
        let rules = rules("realm_access.roles", &[]);
        let found = principal(
            &claims(json!({"sub": "u", "realm_access": {"roles": ["viewer"]}})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Viewer);
        let rules = ClaimRules {
            role_claim: "https://weft.example.com/role".to_string(),
            ..rules
        };
        let found = principal(
            &claims(json!({"sub": "u", "https://weft.example.com/role": "admin"})),
            &rules,
        )?;
        assert_eq!(found.role, Role::Admin);
        Ok(())
    }

    #[test]
    fn the_name_claim_names_the_user_and_falls_back_to_the_subject() -> anyhow::Result<()> {
        let rules = ClaimRules {
            name_claim: "email".to_string(),
            ..rules("weft_role", &[])
        };
        let found = principal(
            &claims(json!({"sub": "u-9", "email": "ana@example.com", "weft_role": "viewer"})),
            &rules,
        )?;
        assert_eq!(found.name, "oidc:ana@example.com");
        assert_eq!(found.token_id, "oidc:u-9");
        let found = principal(
            &claims(json!({"sub": "u-9", "weft_role": "viewer"})),
            &rules,
        )?;
        assert_eq!(found.name, "oidc:u-9");
        assert!(matches!(
            principal(&claims(json!({"weft_role": "viewer"})), &rules),
            Err(JwtError::MissingClaim(_))
        ));
        let long = "x".repeat(1000);
        let found = principal(
            &claims(json!({"sub": format!("a\nb{long}"), "weft_role": "viewer"})),
            &rules,
        )?;
        assert_eq!(found.name.len(), OIDC_PREFIX.len() + MAX_NAME_CHARS);
        assert!(found.name.starts_with("oidc:abxx"));
        Ok(())
    }
}
