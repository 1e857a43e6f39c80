//! Who is calling and what they may do: API tokens stored hashed, OpenID Connect bearer
//! tokens (JWTs) from the operator's identity provider, and roles.

pub mod bearer;
pub mod jwt;
pub mod role;
pub mod token;

pub use bearer::Authenticator;
pub use jwt::{JwtError, JwtVerifier, OidcConfig, OidcConfigError, OidcSettings};
pub use role::{Access, Role, UnknownRole};
pub use token::{
    NewToken, Principal, TokenError, TokenInfo, TokenVerifier, create_token, list_tokens,
    revoke_token,
};
