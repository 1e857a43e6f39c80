//! Which verifier a bearer value goes to: a value shaped like a JWT to the OIDC verifier
//! (when `[api.oidc]` is configured), anything else to weft's own tokens.

use super::jwt::{JwtVerifier, looks_like_jwt};
use super::token::{Principal, TokenVerifier};

/// Every way a caller can authenticate to the API.
#[derive(Debug)]
pub struct Authenticator {
    tokens: TokenVerifier,
    jwt: Option<JwtVerifier>,
}

impl Authenticator {
    pub fn new(tokens: TokenVerifier, jwt: Option<JwtVerifier>) -> Authenticator {
        Authenticator { tokens, jwt }
    }

    /// weft's own tokens.
    pub fn tokens(&self) -> &TokenVerifier {
        &self.tokens
    }

    /// The OIDC verifier, when configured.
    pub fn jwt(&self) -> Option<&JwtVerifier> {
        self.jwt.as_ref()
    }

    /// The principal `bearer` authenticates, if any. Without `[api.oidc]`, a JWT is just a
    /// token weft does not know. Why a JWT was refused is logged at debug level (it is the
    /// caller's mistake, and callers are many).
    pub async fn authenticate(&self, bearer: &str) -> Option<Principal> {
        if !looks_like_jwt(bearer) {
            return self.tokens.verify(bearer);
        }
        let jwt = self.jwt.as_ref()?;
        match jwt.verify(bearer).await {
            Ok(principal) => Some(principal),
            Err(error) => {
                tracing::debug!(%error, "refusing a bearer jwt");
                None
            }
        }
    }
}
