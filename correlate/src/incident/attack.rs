//! MITRE ATT&CK tactics and techniques read from Sigma rule tags: `attack.t1110` and
//! `attack.t1110.004` name techniques (`T1110`, `T1110.004`); `attack.credential_access` (or
//! the hyphenated `attack.credential-access`) names a tactic, reported as `credential_access`.
//! Other tags (groups `attack.g0016`, software `attack.s0002`, `cve.*`) are ignored.

/// ATT&CK tactics in kill-chain order (Enterprise, then ICS-only and newer ones), in the form
/// weft reports them.
pub const TACTICS: &[&str] = &[
    "reconnaissance",
    "resource_development",
    "initial_access",
    "execution",
    "persistence",
    "privilege_escalation",
    "defense_evasion",
    "stealth",
    "defense_impairment",
    "credential_access",
    "discovery",
    "lateral_movement",
    "collection",
    "command_and_control",
    "exfiltration",
    "impact",
    "evasion",
    "inhibit_response_function",
    "impair_process_control",
];

/// The tactic a tag names, if it is a known ATT&CK tactic.
pub fn tactic(tag: &str) -> Option<&'static str> {
    let name = strip_attack(tag)?.replace('-', "_");
    TACTICS.iter().copied().find(|tactic| *tactic == name)
}

/// The technique a tag names (`T1110`, `T1110.004`), if it is one.
pub fn technique(tag: &str) -> Option<String> {
    let rest = strip_attack(tag)?;
    let id = rest.strip_prefix(['t', 'T'])?;
    let (main, sub) = match id.split_once('.') {
        Some((main, sub)) => (main, Some(sub)),
        None => (id, None),
    };
    let all_digits = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|byte| byte.is_ascii_digit())
    };
    if !all_digits(main, 4) || sub.is_some_and(|sub| !all_digits(sub, 3)) {
        return None;
    }
    Some(match sub {
        Some(sub) => format!("T{main}.{sub}"),
        None => format!("T{main}"),
    })
}

fn strip_attack(tag: &str) -> Option<&str> {
    let tag = tag.trim();
    let (namespace, rest) = tag.split_once('.')?;
    namespace.eq_ignore_ascii_case("attack").then_some(rest)
}

/// Adds the tactics of `tags` to `tactics`, keeping kill-chain order without repeats.
pub fn merge_tactics<'a>(tactics: &mut Vec<String>, tags: impl IntoIterator<Item = &'a String>) {
    for found in tags
        .into_iter()
        .filter_map(|tag| tactic(&tag.to_ascii_lowercase()))
    {
        if !tactics.iter().any(|known| known == found) {
            tactics.push(found.to_string());
        }
    }
    tactics.sort_by_key(|name| TACTICS.iter().position(|tactic| tactic == name));
}

/// Adds the techniques of `tags` to `techniques`, sorted without repeats.
pub fn merge_techniques<'a>(
    techniques: &mut Vec<String>,
    tags: impl IntoIterator<Item = &'a String>,
) {
    techniques.extend(tags.into_iter().filter_map(|tag| technique(tag)));
    techniques.sort();
    techniques.dedup();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_techniques_and_sub_techniques() {
        assert_eq!(technique("attack.t1110").as_deref(), Some("T1110"));
        assert_eq!(technique("attack.t1110.004").as_deref(), Some("T1110.004"));
        assert_eq!(technique("ATTACK.T1078").as_deref(), Some("T1078"));
        for tag in [
            "attack.t111",
            "attack.t1110.04",
            "attack.g0016",
            "cve.2021.44228",
            "t1110",
        ] {
            assert_eq!(technique(tag), None, "{tag}");
        }
    }

    #[test]
    fn reads_tactics_in_both_spellings() {
        assert_eq!(
            tactic("attack.credential_access"),
            Some("credential_access")
        );
        assert_eq!(
            tactic("attack.credential-access"),
            Some("credential_access")
        );
        assert_eq!(tactic("attack.t1110"), None);
        assert_eq!(tactic("attack.not_a_tactic"), None);
    }

    #[test]
    fn merges_in_kill_chain_order() {
        let mut tactics = vec!["impact".to_string()];
        let tags = vec![
            "attack.Initial_Access".to_string(),
            "attack.impact".to_string(),
            "attack.t1190".to_string(),
        ];
        merge_tactics(&mut tactics, &tags);
        assert_eq!(tactics, ["initial_access", "impact"]);
        let mut techniques = vec!["T1486".to_string()];
        merge_techniques(&mut techniques, &tags);
        assert_eq!(techniques, ["T1190", "T1486"]);
    }
}
