//! weft's web UI: the pages analysts use, served by the query API from assets compiled into the
//! binary so that nothing is fetched from outside at run time.

/// The entry page of the UI.
pub const INDEX_HTML: &str = include_str!("../assets/index.html");
