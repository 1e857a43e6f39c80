//! The UI's files, compiled in: the pages analysts use are served by the query API (`GET /`
//! and `GET /ui/...`) from these bytes, so that nothing is fetched from outside at run time.
//!
//! The assets in `assets/` are built from the sources in `ui/` by `npm --prefix dashboards/ui
//! run build` (esbuild) and checked in, so that `cargo build` needs no Node.js. The page holds
//! no data: it asks the API for everything with the token the analyst enters.
//!
//! Invariant: [`asset`] answers only the exact names of [`ASSETS`]; a name is never turned into
//! a file path, so no request can reach anything but these bytes.

/// One file of the UI, compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asset {
    /// The name under `/ui/` (`app.js`).
    pub path: &'static str,
    /// The `Content-Type` to serve it with.
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! asset {
    ($path:literal, $content_type:literal) => {
        Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../assets/", $path)),
        }
    };
}

/// Every asset of the UI. A new asset is one line here (and an output of `ui/build.mjs`).
pub const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The entry page of the UI.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");

/// The asset named `path` (relative to `/ui/`, not decoded), if the UI has one.
pub fn asset(path: &str) -> Option<Asset> {
    ASSETS.iter().find(|asset| asset.path == path).copied()
}

#[cfg(test)]
mod tests {
    use super::{ASSETS, INDEX_HTML, asset};

    #[test]
    fn finds_every_listed_asset_and_nothing_else() {
        for listed in ASSETS {
            assert_eq!(asset(listed.path), Some(*listed));
            assert!(!listed.bytes.is_empty(), "{} is empty", listed.path);
        }
        for name in [
            "",
            "/",
            "../index.html",
            "%2e%2e/app.js",
            "./app.js",
            "APP.JS",
            "app.js/",
        ] {
            assert_eq!(asset(name), None, "{name:?}");
        }
    }

    #[test]
    fn the_index_loads_only_local_assets_and_no_inline_script() {
        assert!(INDEX_HTML.contains(r#"<script type="module" src="/ui/app.js"></script>"#));
        assert!(INDEX_HTML.contains(r#"href="/ui/app.css""#));
        assert!(!INDEX_HTML.contains("http:") && !INDEX_HTML.contains("https:"));
        assert!(!INDEX_HTML.contains("//"), "no protocol-relative URLs");
        assert!(
            !INDEX_HTML.contains("style="),
            "no inline styles under the CSP"
        );
        let inline_scripts = INDEX_HTML.matches("<script").count();
        let external_scripts = INDEX_HTML.matches("<script type=\"module\" src=").count();
        assert_eq!(
            inline_scripts, external_scripts,
            "no inline scripts under the CSP"
        );
    }

    #[test]
    fn the_stylesheet_and_script_fetch_nothing_remote() {
        let css = std::str::from_utf8(asset("app.css").map_or(&[][..], |a| a.bytes));
        assert!(css.is_ok_and(|css| !css.contains("url(http") && !css.contains("@import")));
        let js = std::str::from_utf8(asset("app.js").map_or(&[][..], |a| a.bytes));
        assert!(js.is_ok_and(|js| !js.contains("fetch(\"http") && !js.contains("import(\"http")));
    }
}
