//! The dashboards an API serves: the ones weft ships, compiled in from
//! `dashboards/definitions/`, and the ones users put in `<data_dir>/dashboards/` as
//! `<id>.json` files. A user's file with the id of a shipped dashboard replaces it. Files that
//! cannot be read or say something invalid are listed as refused, with the reason, and the
//! others load.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::definition::{Dashboard, MAX_DEFINITION_BYTES};

/// The dashboards weft ships: `(id, definition)`. A new one is a file in
/// `dashboards/definitions/` and one line here.
pub const BUILTIN: &[(&str, &str)] = &[("overview", include_str!("../definitions/overview.json"))];

/// The directory of a data directory that holds users' dashboards.
pub fn user_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboards")
}

/// Where a dashboard comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DashboardSource {
    /// Shipped with weft.
    Builtin,
    /// A user's file (the path).
    File(PathBuf),
}

/// A file that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub path: PathBuf,
    pub reason: String,
}

/// Every dashboard that loaded, ordered by title, and every file that did not.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    pub dashboards: Vec<(Dashboard, DashboardSource)>,
    pub refused: Vec<Refused>,
}

impl Catalogue {
    /// The dashboard whose id is `id`.
    pub fn find(&self, id: &str) -> Option<&(Dashboard, DashboardSource)> {
        self.dashboards
            .iter()
            .find(|(dashboard, _)| dashboard.id == id)
    }
}

/// The shipped dashboards and those in `dir` (none when it does not exist).
pub fn load_catalogue(dir: &Path) -> Catalogue {
    let mut catalogue = Catalogue::default();
    for (id, text) in BUILTIN {
        match Dashboard::parse(id, text.as_bytes()) {
            Ok(dashboard) => catalogue
                .dashboards
                .push((dashboard, DashboardSource::Builtin)),
            // A test keeps the shipped definitions valid; should one break, the others load.
            Err(error) => catalogue.refused.push(Refused {
                path: PathBuf::from(format!("(built in) {id}.json")),
                reason: error.to_string(),
            }),
        }
    }
    let mut paths = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|extension| extension == "json")
            })
            .collect::<Vec<_>>(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            catalogue.refused.push(Refused {
                path: dir.to_path_buf(),
                reason: format!("reading the directory: {error}"),
            });
            Vec::new()
        }
    };
    paths.sort();
    for path in paths {
        match load_file(&path) {
            Ok(dashboard) => {
                catalogue
                    .dashboards
                    .retain(|(existing, _)| existing.id != dashboard.id);
                catalogue
                    .dashboards
                    .push((dashboard, DashboardSource::File(path)));
            }
            Err(reason) => catalogue.refused.push(Refused { path, reason }),
        }
    }
    catalogue.dashboards.sort_by(|(a, _), (b, _)| {
        (a.id != "overview", &a.title, &a.id).cmp(&(b.id != "overview", &b.title, &b.id))
    });
    catalogue
}

fn load_file(path: &Path) -> Result<Dashboard, String> {
    let id = path
        .file_stem()
        .and_then(|stem| stem.to_str())
        .ok_or_else(|| "the file name is not UTF-8".to_string())?;
    let metadata = std::fs::metadata(path).map_err(|error| format!("reading it: {error}"))?;
    if !metadata.is_file() {
        return Err("not a regular file".to_string());
    }
    if metadata.len() > MAX_DEFINITION_BYTES as u64 {
        return Err(format!(
            "the file is larger than {MAX_DEFINITION_BYTES} bytes"
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| format!("reading it: {error}"))?;
    Dashboard::parse(id, &bytes).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_dashboards_are_valid() {
        let catalogue = load_catalogue(Path::new("/nonexistent/weft/dashboards"));
        assert!(catalogue.refused.is_empty(), "{:?}", catalogue.refused);
        assert_eq!(catalogue.dashboards.len(), BUILTIN.len());
        let (overview, source) = catalogue.find("overview").expect("overview ships");
        assert_eq!(source, &DashboardSource::Builtin);
        assert!(overview.panels.len() >= 6);
    }

    #[test]
    fn users_add_and_replace_dashboards_and_see_why_a_file_is_refused() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let mine = r#"{"title": "Gateway", "panels": [{"id": "codes", "title": "Status codes",
            "query": {"sql": "SELECT http_status, count(*) AS n FROM events GROUP BY 1"},
            "visualization": {"type": "bar", "x": "http_status", "y": "n"}}]}"#;
        std::fs::write(dir.path().join("gateway.json"), mine)?;
        std::fs::write(
            dir.path().join("overview.json"),
            mine.replace("Gateway", "My overview"),
        )?;
        std::fs::write(dir.path().join("broken.json"), "{\"title\": ")?;
        std::fs::write(dir.path().join("Bad Name.json"), mine)?;
        std::fs::write(dir.path().join("notes.txt"), "not a dashboard")?;
        std::fs::create_dir(dir.path().join("folder.json"))?;

        let catalogue = load_catalogue(dir.path());
        let ids: Vec<&str> = catalogue
            .dashboards
            .iter()
            .map(|(dashboard, _)| dashboard.id.as_str())
            .collect();
        assert_eq!(ids, ["overview", "gateway"]);
        let (overview, source) = catalogue.find("overview").expect("overview loads");
        assert_eq!(overview.title, "My overview");
        assert_eq!(
            source,
            &DashboardSource::File(dir.path().join("overview.json"))
        );

        let refused: Vec<(String, &str)> = catalogue
            .refused
            .iter()
            .map(|refused| {
                let name = refused
                    .path
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string();
                (name, refused.reason.as_str())
            })
            .collect();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert!(refused[0].0 == "Bad Name.json" && refused[0].1.contains("invalid dashboard id"));
        assert!(refused[1].0 == "broken.json" && refused[1].1.contains("invalid JSON"));
        assert!(refused[2].0 == "folder.json" && refused[2].1.contains("not a regular file"));
        Ok(())
    }
}
