//! The analyst UI's pages: public, with a CSP that admits only this origin, and nothing but the
//! compiled-in assets reachable under `/ui/`.

use axum::http::StatusCode;
use weft_query::api::ui::UI_CSP;

use crate::common::{Fixture, Reply};

fn assert_page_headers(reply: &Reply) {
    assert_eq!(reply.header("content-security-policy"), Some(UI_CSP));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
}

#[tokio::test]
async fn the_index_is_served_without_a_token_with_a_strict_policy() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let index = fixture.get("/", None).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_page_headers(&index);
    assert!(UI_CSP.contains("default-src 'self'") && UI_CSP.contains("frame-ancestors 'none'"));
    let html = String::from_utf8(index.body)?;
    assert!(html.contains("/ui/app.js"), "the page loads its script");
    let by_name = fixture.get("/ui/index.html", None).await;
    assert_eq!(by_name.status, StatusCode::OK);
    assert_eq!(String::from_utf8(by_name.body)?, html);
    Ok(())
}

#[tokio::test]
async fn assets_are_served_with_their_content_type() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    for (path, content_type) in [
        ("/ui/app.js", "text/javascript; charset=utf-8"),
        ("/ui/app.css", "text/css; charset=utf-8"),
        ("/ui/favicon.svg", "image/svg+xml"),
    ] {
        let reply = fixture.get(path, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert_page_headers(&reply);
        assert!(!reply.body.is_empty());
    }
    Ok(())
}

#[tokio::test]
async fn unknown_assets_and_path_traversal_are_not_found() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    for path in [
        "/ui/nothing.js",
        "/ui/",
        "/ui/app.js/",
        "/ui/../Cargo.toml",
        "/ui/../../etc/passwd",
        "/ui/%2e%2e/Cargo.toml",
        "/ui/%2E%2E%2FCargo.toml",
        "/ui/..%2f..%2fetc%2fpasswd",
        "/ui/..%5c..%5cCargo.toml",
        "/ui/./app.js",
        "/ui/%61pp.js",
        "/ui//etc/passwd",
        "/index.html",
        "/app.js",
    ] {
        let reply = fixture.get(path, None).await;
        reply.assert_problem(StatusCode::NOT_FOUND);
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    }
    Ok(())
}

#[tokio::test]
async fn the_ui_routes_take_no_other_methods() -> anyhow::Result<()> {
    let fixture = Fixture::new()?;
    let posted = fixture.send("POST", "/ui/app.js", None, None, None).await;
    posted.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    let deleted = fixture.send("DELETE", "/", None, None, None).await;
    deleted.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    Ok(())
}
