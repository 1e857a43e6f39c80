//! `weft token` and `weft init`: API tokens. A token's secret is printed once, alone on stdout,
//! and never stored: the data directory keeps only its SHA-256.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use weft_query::Role;

use crate::config::{DEFAULT_CONFIG, DEFAULT_CONFIG_FILE, WeftConfig};

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print its secret (once) on stdout.
    Create {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// A name for the token's holder (a person or a tool), unique among live tokens.
        #[arg(long)]
        name: String,
        /// viewer, analyst, admin or ingest.
        #[arg(long)]
        role: Role,
    },
    /// List tokens (never their secrets).
    List {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by id or name; it authenticates nothing afterwards.
    Revoke {
        /// Data directory [default: ./weft-data, or data_dir from the configuration].
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// The token's id (as `weft token list` shows it) or name.
        id_or_name: String,
    },
}

/// `weft init`: prepares a data directory and creates its first admin token.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Data directory [default: ./weft-data, or data_dir from the configuration].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Name of the admin token.
    #[arg(long, default_value = "admin")]
    name: String,
}

pub fn run(args: TokenArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    match args.command {
        TokenCommand::Create {
            data_dir,
            name,
            role,
        } => {
            let data_dir = config.data_dir(data_dir);
            create_dir(&data_dir)?;
            let token = weft_query::create_token(&data_dir, &name, role)
                .context("cannot create the token")?;
            eprintln!(
                "created {} token {:?} (id {}); the secret below is shown only once",
                token.info.role.as_str(),
                token.info.name,
                token.info.id
            );
            println!("{}", token.secret);
        }
        TokenCommand::List { data_dir, json } => {
            let data_dir = config.data_dir(data_dir);
            let tokens =
                weft_query::list_tokens(&data_dir).context("cannot read the token file")?;
            for token in &tokens {
                if json {
                    println!("{}", serde_json::to_string(token)?);
                } else {
                    println!(
                        "{}  {:8}  {}  created {}{}",
                        token.id,
                        token.role.as_str(),
                        token.name,
                        token.created,
                        token
                            .revoked
                            .as_deref()
                            .map(|at| format!("  revoked {at}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        TokenCommand::Revoke {
            data_dir,
            id_or_name,
        } => {
            let data_dir = config.data_dir(data_dir);
            let token = weft_query::revoke_token(&data_dir, &id_or_name)
                .context("cannot revoke the token")?;
            eprintln!("revoked token {:?} (id {})", token.name, token.id);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Creates the first admin token; refuses when the data directory already has live tokens, so
/// running it twice never mints a second admin silently.
/// Also writes the default configuration (to `--config`, else `./weft.toml`) unless that file
/// exists.
pub fn init(
    args: InitArgs,
    config: WeftConfig,
    config_path: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir(args.data_dir);
    create_dir(&data_dir)?;
    let existing = weft_query::list_tokens(&data_dir).context("cannot read the token file")?;
    if existing.iter().any(|token| token.revoked.is_none()) {
        anyhow::bail!(
            "{} already has tokens; use `weft token create --role admin` to add another",
            data_dir.display()
        );
    }
    let config_file = config_path.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE));
    if config_file.exists() {
        eprintln!("kept the existing configuration {}", config_file.display());
    } else {
        std::fs::write(&config_file, DEFAULT_CONFIG)
            .with_context(|| format!("cannot write the configuration {}", config_file.display()))?;
        eprintln!(
            "wrote the default configuration {}; edit it, then `weft run`",
            config_file.display()
        );
    }
    let token = weft_query::create_token(&data_dir, &args.name, Role::Admin)
        .context("cannot create the admin token")?;
    eprintln!(
        "initialized {}; admin token {:?} (id {}) below, shown only once",
        data_dir.display(),
        token.info.name,
        token.info.id
    );
    println!("{}", token.secret);
    Ok(ExitCode::SUCCESS)
}

fn create_dir(data_dir: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))
}
