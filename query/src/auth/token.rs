//! API tokens: random secrets shown once, stored only as SHA-256 hashes in
//! `<data-dir>/auth/tokens.json` (mode 0600 on Unix).
//!
//! A token reads `weft_` followed by 43 URL-safe base64 characters (32 random bytes). Checking
//! a presented token hashes it and compares the hash with every stored hash in constant time,
//! so neither the comparison nor the position of a match leaks through timing. The running
//! server re-reads the file when it changes, so `weft token revoke` takes effect at once.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::role::Role;

/// Prefix of every weft API token (lets secret scanners recognise them).
pub const TOKEN_PREFIX: &str = "weft_";
/// The token file, relative to the data directory.
pub const TOKENS_FILE: &str = "auth/tokens.json";

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{action} {path}: {error}")]
    Io {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "the token file {path} is damaged ({error}); restore it from a backup or remove it and create new tokens"
    )]
    Damaged {
        path: PathBuf,
        error: serde_json::Error,
    },
    #[error("invalid token name {0:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName(String),
    #[error("a token named {0:?} already exists; revoke it first or choose another name")]
    DuplicateName(String),
    #[error("no token has the id or name {0:?}")]
    NotFound(String),
    #[error("the system random generator failed: {0}")]
    Random(String),
}

/// A stored token: everything but the secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// Public identifier (16 hex digits), safe to log and show.
    pub id: String,
    pub name: String,
    pub role: Role,
    /// SHA-256 of the whole token, hex.
    pub sha256: String,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// Revocation time, RFC 3339 UTC; a revoked token authenticates nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

/// A token's public facts, as `weft token list` shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created: String,
    pub revoked: Option<String>,
}

impl From<&TokenRecord> for TokenInfo {
    fn from(record: &TokenRecord) -> TokenInfo {
        TokenInfo {
            id: record.id.clone(),
            name: record.name.clone(),
            role: record.role,
            created: record.created.clone(),
            revoked: record.revoked.clone(),
        }
    }
}

/// A newly created token: the secret exists only here and is never stored.
#[derive(Debug)]
pub struct NewToken {
    pub info: TokenInfo,
    pub secret: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    version: u32,
    tokens: Vec<TokenRecord>,
}

fn tokens_path(data_dir: &Path) -> PathBuf {
    data_dir.join(TOKENS_FILE)
}

fn read_file(path: &Path) -> Result<TokenFile, TokenError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| TokenError::Damaged {
            path: path.to_path_buf(),
            error,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(TokenFile {
            version: 1,
            tokens: Vec::new(),
        }),
        Err(error) => Err(TokenError::Io {
            action: "reading",
            path: path.to_path_buf(),
            error,
        }),
    }
}

/// Writes the token file to a temporary name, syncs it and renames it over the old one.
fn write_file(path: &Path, file: &TokenFile) -> Result<(), TokenError> {
    let io = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |error| TokenError::Io {
            action,
            path,
            error,
        }
    };
    let directory = path.parent().unwrap_or(Path::new("."));
    create_private_dir(directory).map_err(io("creating", directory))?;
    let temp = directory.join(".tokens.json.tmp");
    let bytes = serde_json::to_vec_pretty(file).map_err(|error| TokenError::Damaged {
        path: path.to_path_buf(),
        error,
    })?;
    let mut out = private_file(&temp).map_err(io("creating", &temp))?;
    out.write_all(&bytes).map_err(io("writing", &temp))?;
    out.sync_all().map_err(io("syncing", &temp))?;
    fs::rename(&temp, path).map_err(io("renaming into", path))?;
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(directory)
}

#[cfg(not(unix))]
fn create_private_dir(directory: &Path) -> std::io::Result<()> {
    fs::create_dir_all(directory)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    fs::File::create(path)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], TokenError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|error| TokenError::Random(error.to_string()))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._-@".contains(&byte))
}

/// Creates a token named `name` with `role` in `data_dir`. The returned secret is the only
/// copy: print it once.
pub fn create_token(data_dir: &Path, name: &str, role: Role) -> Result<NewToken, TokenError> {
    if !valid_name(name) {
        return Err(TokenError::InvalidName(name.to_string()));
    }
    let path = tokens_path(data_dir);
    let mut file = read_file(&path)?;
    file.version = 1;
    if file
        .tokens
        .iter()
        .any(|token| token.name == name && token.revoked.is_none())
    {
        return Err(TokenError::DuplicateName(name.to_string()));
    }
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    );
    let record = TokenRecord {
        id: hex(&random_bytes::<8>()?),
        name: name.to_string(),
        role,
        sha256: hex(&hash(&secret)),
        created: now_rfc3339(),
        revoked: None,
    };
    let info = TokenInfo::from(&record);
    file.tokens.push(record);
    write_file(&path, &file)?;
    Ok(NewToken { info, secret })
}

/// Every token of `data_dir`, revoked ones included, oldest first.
pub fn list_tokens(data_dir: &Path) -> Result<Vec<TokenInfo>, TokenError> {
    let file = read_file(&tokens_path(data_dir))?;
    Ok(file.tokens.iter().map(TokenInfo::from).collect())
}

/// Revokes the live token whose id or name is `id_or_name`.
pub fn revoke_token(data_dir: &Path, id_or_name: &str) -> Result<TokenInfo, TokenError> {
    let path = tokens_path(data_dir);
    let mut file = read_file(&path)?;
    let Some(record) = file.tokens.iter_mut().find(|token| {
        token.revoked.is_none() && (token.id == id_or_name || token.name == id_or_name)
    }) else {
        return Err(TokenError::NotFound(id_or_name.to_string()));
    };
    record.revoked = Some(now_rfc3339());
    let info = TokenInfo::from(&*record);
    write_file(&path, &file)?;
    Ok(info)
}

/// The caller a valid token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Default)]
struct Cached {
    modified: Option<SystemTime>,
    /// (hash, principal) of every live token.
    live: Vec<([u8; 32], Principal)>,
}

/// The server's view of the token file, re-read whenever the file changes.
#[derive(Debug)]
pub struct TokenVerifier {
    path: PathBuf,
    cache: RwLock<Cached>,
}

impl TokenVerifier {
    /// Reads the tokens of `data_dir` (an absent file means no tokens: every route but the
    /// public ones is refused).
    pub fn open(data_dir: &Path) -> Result<TokenVerifier, TokenError> {
        let verifier = TokenVerifier {
            path: tokens_path(data_dir),
            cache: RwLock::new(Cached::default()),
        };
        verifier.reload()?;
        Ok(verifier)
    }

    fn modified(&self) -> Option<SystemTime> {
        fs::metadata(&self.path)
            .and_then(|metadata| metadata.modified())
            .ok()
    }

    fn reload(&self) -> Result<(), TokenError> {
        let modified = self.modified();
        let file = read_file(&self.path)?;
        let mut live = Vec::with_capacity(file.tokens.len());
        for token in file
            .tokens
            .into_iter()
            .filter(|token| token.revoked.is_none())
        {
            let Some(digest) = parse_hex32(&token.sha256) else {
                continue;
            };
            live.push((
                digest,
                Principal {
                    token_id: token.id,
                    name: token.name,
                    role: token.role,
                },
            ));
        }
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *cache = Cached { modified, live };
        Ok(())
    }

    /// The principal `secret` authenticates, if any. A token file that changed is re-read
    /// first; if it cannot be read, the last good copy keeps serving and the error is logged.
    pub fn verify(&self, secret: &str) -> Option<Principal> {
        let stale = {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            cache.modified != self.modified()
        };
        if stale && let Err(error) = self.reload() {
            tracing::error!(%error, "cannot re-read the token file; keeping the tokens loaded before");
        }
        let presented = hash(secret);
        let cache = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut found = None;
        for (digest, principal) in &cache.live {
            if bool::from(digest.ct_eq(&presented)) {
                found = Some(principal.clone());
            }
        }
        found
    }
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_token_verifies_and_only_its_hash_is_stored() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let token = create_token(dir.path(), "alice", Role::Analyst)?;
        assert!(token.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(token.secret.len(), TOKEN_PREFIX.len() + 43);
        let stored = fs::read_to_string(dir.path().join(TOKENS_FILE))?;
        assert!(!stored.contains(&token.secret));
        assert!(!stored.contains(&token.secret[TOKEN_PREFIX.len()..]));
        let verifier = TokenVerifier::open(dir.path())?;
        let principal = verifier
            .verify(&token.secret)
            .expect("the new token verifies");
        assert_eq!(principal.name, "alice");
        assert_eq!(principal.role, Role::Analyst);
        assert_eq!(verifier.verify("weft_not-a-token"), None);
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn the_token_file_is_private() -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        create_token(dir.path(), "ops", Role::Admin)?;
        let mode = fs::metadata(dir.path().join(TOKENS_FILE))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o} lets others read the hashes");
        Ok(())
    }

    #[test]
    fn revoking_takes_effect_in_a_running_verifier() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let token = create_token(dir.path(), "bob", Role::Viewer)?;
        let verifier = TokenVerifier::open(dir.path())?;
        assert!(verifier.verify(&token.secret).is_some());
        // Make sure the modification time moves even on coarse-grained file systems.
        std::thread::sleep(std::time::Duration::from_millis(20));
        let revoked = revoke_token(dir.path(), "bob")?;
        assert_eq!(revoked.id, token.info.id);
        assert!(revoked.revoked.is_some());
        assert_eq!(verifier.verify(&token.secret), None);
        let listed = list_tokens(dir.path())?;
        assert_eq!(listed.len(), 1);
        assert!(listed[0].revoked.is_some());
        assert!(matches!(
            revoke_token(dir.path(), "bob"),
            Err(TokenError::NotFound(_))
        ));
        Ok(())
    }

    #[test]
    fn names_are_validated_and_unique_among_live_tokens() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        assert!(matches!(
            create_token(dir.path(), "", Role::Viewer),
            Err(TokenError::InvalidName(_))
        ));
        assert!(matches!(
            create_token(dir.path(), "a b", Role::Viewer),
            Err(TokenError::InvalidName(_))
        ));
        create_token(dir.path(), "ci", Role::Ingest)?;
        assert!(matches!(
            create_token(dir.path(), "ci", Role::Ingest),
            Err(TokenError::DuplicateName(_))
        ));
        revoke_token(dir.path(), "ci")?;
        create_token(dir.path(), "ci", Role::Ingest)?;
        Ok(())
    }

    #[test]
    fn a_damaged_token_file_is_an_error_not_an_empty_list() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        fs::create_dir_all(dir.path().join("auth"))?;
        fs::write(dir.path().join(TOKENS_FILE), b"{not json")?;
        assert!(matches!(
            list_tokens(dir.path()),
            Err(TokenError::Damaged { .. })
        ));
        Ok(())
    }
}
