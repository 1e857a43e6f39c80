//! Who is calling and what they may do: API tokens stored hashed, and roles.

pub mod role;
pub mod token;

pub use role::{Access, Role, UnknownRole};
pub use token::{
    NewToken, Principal, TokenError, TokenInfo, TokenVerifier, create_token, list_tokens,
    revoke_token,
};
