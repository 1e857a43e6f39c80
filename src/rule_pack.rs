//! weft's rule pack, built into the binary (see `build.rs`), written out for the detection
//! service: `weft run` and `weft serve` load it when no rules are configured, `weft demo`
//! always.

use std::path::{Path, PathBuf};

use anyhow::Context;
use weft_correlate::config::DetectConfig;

include!(concat!(env!("OUT_DIR"), "/rule_pack.rs"));

/// Where `weft run` and `weft serve` keep their copy of the pack, under the data directory.
pub const DIR: &str = "builtin-rules";

/// The pack written to disk: the rule directory and its field mapping.
#[derive(Debug)]
pub struct WrittenPack {
    pub rules: PathBuf,
    pub mapping: PathBuf,
    pub files: usize,
}

/// Makes `dir` hold exactly the built-in pack: files that differ are replaced (written aside
/// and renamed, so a detector reading the directory never sees half a file), files the pack
/// no longer has are removed, unchanged files are left alone.
pub fn write(dir: &Path) -> anyhow::Result<WrittenPack> {
    let rules = dir.to_path_buf();
    for (relative, text) in RULE_PACK {
        let path = rules.join(relative);
        if std::fs::read(&path).is_ok_and(|current| current == text.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let aside = path.with_extension("tmp");
        std::fs::write(&aside, text)
            .with_context(|| format!("cannot write {}", aside.display()))?;
        std::fs::rename(&aside, &path)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    remove_stale(&rules, &rules)?;
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

/// Removes the files under `dir` that are not in the pack.
fn remove_stale(root: &Path, dir: &Path) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if path.is_dir() {
            remove_stale(root, &path)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        let known = RULE_PACK
            .iter()
            .any(|(name, _)| Path::new(name) == relative);
        if !known {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(())
}

/// `detect` with the built-in pack as its rules when it names none and `builtin_pack` is on:
/// the pack is written to `<data_dir>/builtin-rules/` (replacing an older copy) and its field
/// mapping goes first. Returns whether the pack is used.
pub fn apply_default(detect: &mut DetectConfig, data_dir: &Path) -> anyhow::Result<bool> {
    if !detect.rules.is_empty() || !detect.builtin_pack {
        return Ok(false);
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let pack = write(&data_dir.join(DIR))?;
    detect.rules = vec![pack.rules];
    detect.mapping.insert(0, pack.mapping);
    Ok(true)
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

    #[test]
    fn writing_again_replaces_changed_and_removes_stale_files() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let pack = write(dir.path())?;
        assert_eq!(pack.files, RULE_PACK.len());
        let (first, text) = RULE_PACK[0];
        std::fs::write(dir.path().join(first), "edited")?;
        std::fs::write(dir.path().join("stale.yml"), "title: gone")?;
        write(dir.path())?;
        assert_eq!(std::fs::read_to_string(dir.path().join(first))?, text);
        assert!(!dir.path().join("stale.yml").exists());
        Ok(())
    }

    #[test]
    fn the_pack_is_the_default_only_without_rules() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let mut detect = DetectConfig::default();
        assert!(apply_default(&mut detect, dir.path())?);
        assert_eq!(detect.rules, vec![dir.path().join(DIR)]);
        assert_eq!(
            detect.mapping,
            vec![dir.path().join(DIR).join("mapping.toml")]
        );

        let mut own = DetectConfig {
            rules: vec![PathBuf::from("my-rules")],
            ..DetectConfig::default()
        };
        assert!(!apply_default(&mut own, dir.path())?);
        assert_eq!(own.rules, vec![PathBuf::from("my-rules")]);

        let mut off = DetectConfig {
            builtin_pack: false,
            ..DetectConfig::default()
        };
        assert!(!apply_default(&mut off, dir.path())?);
        assert!(off.rules.is_empty());
        Ok(())
    }
}
