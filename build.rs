//! Embeds weft's rule pack (`rules/**/*.yml`, `rules/mapping.toml`, and the pack's notes and
//! licence texts, `rules/**/*.md`) into the binary, so that `weft demo` runs the built-in rules
//! from any directory and the SigmaHQ rules travel with their Detection Rule License.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            // A rule's test events (`<rule>.tests/`) are not part of the pack.
            if path
                .extension()
                .is_some_and(|extension| extension == "tests")
            {
                continue;
            }
            collect(&path, files)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml" || extension == "md")
            || path.file_name().is_some_and(|name| name == "mapping.toml")
        {
            files.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("rules");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();
    let mut code = String::from(
        "/// Every file of the rule pack: its path under `rules/` and its text.\n\
         pub const RULE_PACK: &[(&str, &str)] = &[\n",
    );
    for file in &files {
        let relative = file
            .strip_prefix(&root)?
            .to_string_lossy()
            .replace('\\', "/");
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            file.display().to_string()
        )?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("rule_pack.rs");
    std::fs::write(out, code)?;
    Ok(())
}
