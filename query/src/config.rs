//! `[api]` in `weft.toml`: the API's settings that an operator writes down. Today that is
//! `[api.oidc]`, which lets bearer JWTs of an OpenID Connect provider in beside weft's own
//! tokens ([`crate::auth::jwt`]).

use serde::Deserialize;

use crate::auth::jwt::{OidcConfig, OidcConfigError, OidcSettings};

/// `[api]` as written. Unknown keys are refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiSection {
    /// OpenID Connect bearer tokens; absent: only weft's own tokens authenticate.
    pub oidc: Option<OidcConfig>,
}

impl ApiSection {
    /// Checks the section; the OIDC settings, if configured.
    pub fn build(&self) -> Result<Option<OidcSettings>, OidcConfigError> {
        self.oidc.as_ref().map(OidcConfig::build).transpose()
    }
}
