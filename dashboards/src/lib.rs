//! weft's web UI and the dashboards it renders.
//!
//! - [`assets`]: the UI's scripts, styles and pages, compiled into the binary.
//! - [`definition`]: a dashboard as a JSON file: panels, each a query and a visualization.
//! - [`catalogue`]: the dashboards weft ships (`dashboards/definitions/`) and the ones users
//!   add to `<data_dir>/dashboards/`.
//!
//! Running a panel's query is the query API's work (`weft-query`); this crate only defines
//! and validates what a dashboard says.

pub mod assets;
pub mod catalogue;
pub mod definition;

pub use assets::{ASSETS, Asset, INDEX_HTML, asset};
pub use catalogue::{Catalogue, DashboardSource, Refused, load_catalogue};
pub use definition::{Dashboard, DefinitionError, IncidentGroup, Panel, PanelQuery, Visualization};
