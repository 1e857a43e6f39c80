//! The analyst UI's static pages (`weft_dashboards`), public: the page holds no data, and asks
//! the API for everything with the token the analyst enters. Assets are looked up by their
//! exact name, never decoded into a file path, so `..` and its encodings find nothing (404).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The pages' Content-Security-Policy: scripts, styles and requests from this origin only.
pub const UI_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The prefix of the asset route.
const PREFIX: &str = "/ui/";

/// `GET /`: the UI's entry page.
pub async fn index() -> Response {
    serve("index.html")
}

/// `GET /ui/{*path}`: one asset by its name, as requested (not percent-decoded).
pub async fn asset(request: Request) -> Response {
    let name = request
        .uri()
        .path()
        .strip_prefix(PREFIX)
        .unwrap_or_default();
    serve(name)
}

fn serve(name: &str) -> Response {
    let Some(asset) = weft_dashboards::asset(name) else {
        return ApiError::NotFound("no such page of the UI; open / instead".to_string())
            .into_response();
    };
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // The edge layer adds the other secure headers and keeps this policy.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UI_CSP),
    );
    response
}
