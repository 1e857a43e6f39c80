//! weft's rule pack, built into the binary (see `build.rs`), written out for the demo's
//! detection service.

use std::path::{Path, PathBuf};

use anyhow::Context;

include!(concat!(env!("OUT_DIR"), "/rule_pack.rs"));

/// Where the demo keeps its copy of the pack, under the data directory.
pub const DIR: &str = "demo-rules";

/// The pack written to disk: the rule directory and its field mapping.
#[derive(Debug)]
pub struct WrittenPack {
    pub rules: PathBuf,
    pub mapping: PathBuf,
    pub files: usize,
}

/// Replaces `<data_dir>/demo-rules/` with the built-in pack.
pub fn write(data_dir: &Path) -> anyhow::Result<WrittenPack> {
    let rules = data_dir.join(DIR);
    if rules.exists() {
        std::fs::remove_dir_all(&rules)
            .with_context(|| format!("cannot replace the rule pack in {}", rules.display()))?;
    }
    for (relative, text) in RULE_PACK {
        let path = rules.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mapping = rules.join("mapping.toml");
    anyhow::ensure!(
        mapping.exists(),
        "the built-in rule pack has no mapping.toml; rebuild weft from a checkout with rules/"
    );
    Ok(WrittenPack {
        rules,
        mapping,
        files: RULE_PACK.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pack_holds_the_rules_and_their_mapping() {
        assert!(RULE_PACK.iter().any(|(path, _)| *path == "mapping.toml"));
        assert!(
            RULE_PACK
                .iter()
                .any(|(path, _)| *path == "kubernetes/pod_exec_attach.yml")
        );
        assert!(RULE_PACK.iter().all(|(path, _)| !path.contains(".tests/")));
    }
}
