//! weft's policy rules: deterministic allowlists of who may talk to whom, for the two policies
//! container security guides recommend — which service may call which, and which workloads may
//! reach which destinations. An event the policy governs whose pair no line allows is an
//! alert.
//!
//! ```yaml
//! title: Service calls outside the service map
//! id: 0f3b8f0e-6a43-4c1e-9f61-2b7d3c1e5a10
//! level: high
//! tags: [attack.lateral-movement, attack.t1021]
//! policy:
//!     where:                        # the events it governs: a Sigma selection (optional)
//!         class: http_activity
//!     from: caller                  # the field naming the caller (an attrs key here)
//!     to: service                   # the field naming the callee
//!     allow:
//!         - gateway -> auth
//!         - gateway -> orders
//!         - orders -> payments
//!         - "* -> metrics"          # anyone may call metrics
//!         - payments -> 10.20.0.0/16   # an address range (CIDR), for egress policies
//! ```
//!
//! A policy compiles to a Sigma rule of logsource `product: weft, service: policy` (`where`,
//! both fields present, and none of the allowed pairs), so it matches, streams, backtests and
//! raises alerts like any other rule. `from`, `to` and the fields of `where` name schema
//! columns (`service`, `src_ip`, `dst_ip`, `user`, ...; the `weft` table of the field mapping)
//! or `attrs` keys. A side of a line is a value (with Sigma's `*` wildcards), `*` for
//! anything, or an IPv4/IPv6 range in CIDR notation (matched with `|cidr`). Events missing
//! either field are not judged.

use std::net::IpAddr;

use yaml_rust2::Yaml;
use yaml_rust2::yaml::Hash;

/// The attributes a `policy:` map may hold.
const ATTRIBUTES: [&str; 4] = ["where", "from", "to", "allow"];

/// Whether `map` is a policy document.
pub fn is_policy(map: &Hash) -> bool {
    map.contains_key(&key("policy"))
}

fn key(name: &str) -> Yaml {
    Yaml::String(name.to_string())
}

/// One side of an allowed pair.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Side {
    Any,
    Value(String),
    Range(String),
}

fn side(text: &str) -> Result<Side, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("a side of an `allow` line is empty".to_string());
    }
    if text == "*" {
        return Ok(Side::Any);
    }
    if let Some((address, bits)) = text.split_once('/')
        && let (Ok(address), Ok(bits)) = (address.parse::<IpAddr>(), bits.parse::<u8>())
    {
        let limit = if address.is_ipv4() { 32 } else { 128 };
        if bits > limit {
            return Err(format!("`{text}` has more than {limit} prefix bits"));
        }
        return Ok(Side::Range(text.to_string()));
    }
    Ok(Side::Value(text.to_string()))
}

/// Reads `from -> to`.
fn line(text: &str) -> Result<(Side, Side), String> {
    let Some((from, to)) = text.split_once("->") else {
        return Err(format!(
            "`allow` line `{text}` is not `caller -> callee` (use `*` for anyone)"
        ));
    };
    if to.contains("->") {
        return Err(format!("`allow` line `{text}` has more than one `->`"));
    }
    Ok((side(from)?, side(to)?))
}

fn field_of(body: &Hash, name: &str) -> Result<String, String> {
    match body.get(&key(name)) {
        Some(Yaml::String(field)) if !field.trim().is_empty() && !field.contains('|') => {
            Ok(field.trim().to_string())
        }
        Some(_) => Err(format!("`{name}` must name one field (no modifiers)")),
        None => Err(format!(
            "`{name}` is missing: the field that names the {}",
            if name == "from" { "caller" } else { "callee" }
        )),
    }
}

/// The condition on one field for one side of a line, or nothing for `*`.
fn condition(field: &str, side: &Side) -> Option<(Yaml, Yaml)> {
    match side {
        Side::Any => None,
        Side::Value(value) => Some((key(field), Yaml::String(value.clone()))),
        Side::Range(range) => Some((key(&format!("{field}|cidr")), Yaml::String(range.clone()))),
    }
}

/// The Sigma rule `document` (a policy) stands for: its attributes but `policy`, logsource
/// `product: weft, service: policy`, and a detection that selects the governed events whose
/// pair no line allows.
pub fn to_sigma(document: &Hash) -> Result<Yaml, String> {
    let Some(Yaml::Hash(body)) = document.get(&key("policy")) else {
        return Err("`policy` must be a map with `from`, `to` and `allow`".to_string());
    };
    if let Some(unknown) = body
        .keys()
        .find(|name| !name.as_str().is_some_and(|name| ATTRIBUTES.contains(&name)))
    {
        return Err(format!(
            "`{}` is not a policy attribute (where, from, to, allow)",
            unknown.as_str().unwrap_or("?")
        ));
    }
    if document.contains_key(&key("detection")) {
        return Err("a policy has no `detection`: it is built from `allow`".to_string());
    }
    let from = field_of(body, "from")?;
    let to = field_of(body, "to")?;
    if from == to {
        return Err("`from` and `to` name the same field".to_string());
    }
    let lines = match body.get(&key("allow")) {
        Some(Yaml::Array(lines)) if !lines.is_empty() => lines,
        _ => return Err("`allow` must be a list of `caller -> callee` lines".to_string()),
    };

    let mut detection = Hash::new();
    let mut governed = match body.get(&key("where")) {
        None => Hash::new(),
        Some(Yaml::Hash(selection)) => selection.clone(),
        Some(_) => return Err("`where` must be a map of field conditions".to_string()),
    };
    governed.insert(key(&format!("{from}|exists")), Yaml::Boolean(true));
    governed.insert(key(&format!("{to}|exists")), Yaml::Boolean(true));
    detection.insert(key("governed"), Yaml::Hash(governed));
    let mut anyone_anywhere = false;
    for (index, entry) in lines.iter().enumerate() {
        let Some(text) = entry.as_str() else {
            return Err(format!("`allow` line {} is not text", index + 1));
        };
        let (caller, callee) = line(text)?;
        let mut allowed = Hash::new();
        for (field, side) in [(&from, &caller), (&to, &callee)] {
            if let Some((name, value)) = condition(field, side) {
                allowed.insert(name, value);
            }
        }
        if allowed.is_empty() {
            anyone_anywhere = true;
        }
        // Numbered from 1 like the lines a reader counts.
        detection.insert(key(&format!("allow_{}", index + 1)), Yaml::Hash(allowed));
    }
    if anyone_anywhere {
        return Err("`* -> *` allows everything: the policy could never fire".to_string());
    }
    detection.insert(
        key("condition"),
        Yaml::String("governed and not 1 of allow_*".to_string()),
    );

    let mut rule = Hash::new();
    for (name, value) in document {
        if name.as_str() != Some("policy") {
            rule.insert(name.clone(), value.clone());
        }
    }
    // Product `weft`: its field table names the schema columns, and no route narrows it.
    if rule.contains_key(&key("logsource")) {
        return Err("a policy has no `logsource`: narrow it with `where`".to_string());
    }
    let mut logsource = Hash::new();
    logsource.insert(key("product"), key("weft"));
    logsource.insert(key("service"), key("policy"));
    rule.insert(key("logsource"), Yaml::Hash(logsource));
    rule.insert(key("detection"), Yaml::Hash(detection));
    Ok(Yaml::Hash(rule))
}

#[cfg(test)]
mod tests {
    use yaml_rust2::YamlLoader;

    use super::*;

    fn document(text: &str) -> Hash {
        let documents = YamlLoader::load_from_str(text).expect("yaml");
        match documents.into_iter().next() {
            Some(Yaml::Hash(map)) => map,
            other => panic!("not a map: {other:?}"),
        }
    }

    const POLICY: &str = "title: calls
id: p1
level: high
policy:
    where:
        class: http_activity
    from: caller
    to: service
    allow:
        - gateway -> auth
        - '* -> metrics'
        - payments -> 10.20.0.0/16
";

    #[test]
    fn a_policy_is_a_sigma_rule_over_the_pairs_it_does_not_allow() {
        let rule = to_sigma(&document(POLICY)).expect("valid policy");
        let detection = &rule["detection"];
        assert_eq!(
            detection["condition"].as_str(),
            Some("governed and not 1 of allow_*")
        );
        assert_eq!(
            detection["governed"]["class"].as_str(),
            Some("http_activity")
        );
        assert_eq!(detection["governed"]["caller|exists"].as_bool(), Some(true));
        assert_eq!(detection["allow_1"]["caller"].as_str(), Some("gateway"));
        assert_eq!(detection["allow_1"]["service"].as_str(), Some("auth"));
        assert!(detection["allow_2"]["caller"].is_badvalue());
        assert_eq!(detection["allow_2"]["service"].as_str(), Some("metrics"));
        assert_eq!(
            detection["allow_3"]["service|cidr"].as_str(),
            Some("10.20.0.0/16")
        );
        assert_eq!(rule["logsource"]["product"].as_str(), Some("weft"));
        assert!(rule["policy"].is_badvalue());
        assert_eq!(rule["id"].as_str(), Some("p1"));
    }

    #[test]
    fn broken_policies_say_what_is_wrong() {
        let cases = [
            ("    allow: []\n", "`allow` must be a list"),
            (
                "    allow:\n        - gateway auth\n",
                "is not `caller -> callee`",
            ),
            ("    allow:\n        - a -> b -> c\n", "more than one `->`"),
            ("    allow:\n        - '* -> *'\n", "allows everything"),
            ("    allow:\n        - a -> 10.0.0.0/33\n", "prefix bits"),
            ("    allow:\n        - ' -> b'\n", "is empty"),
        ];
        for (allow, expected) in cases {
            let text = format!("title: t\npolicy:\n    from: caller\n    to: service\n{allow}");
            let error = to_sigma(&document(&text)).expect_err(allow);
            assert!(error.contains(expected), "{allow}: {error}");
        }
        let missing = to_sigma(&document(
            "title: t\npolicy:\n    to: service\n    allow: [a -> b]\n",
        ))
        .expect_err("no from");
        assert!(missing.contains("`from` is missing"), "{missing}");
        let unknown = to_sigma(&document(
            "title: t\npolicy:\n    from: a\n    to: b\n    deny: [a -> b]\n    allow: [a -> b]\n",
        ))
        .expect_err("unknown attribute");
        assert!(
            unknown.contains("`deny` is not a policy attribute"),
            "{unknown}"
        );
        let same = to_sigma(&document(
            "title: t\npolicy:\n    from: a\n    to: a\n    allow: [a -> b]\n",
        ))
        .expect_err("same field");
        assert!(same.contains("same field"), "{same}");
    }
}
