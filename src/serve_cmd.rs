//! `weft serve`: the analyst API over the data directory.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use weft_query::ServeConfig;

use crate::config::WeftConfig;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Data directory [default: ./weft-data, or data_dir from the configuration].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Address to listen on. A non-loopback address needs TLS or --insecure-no-tls.
    #[arg(long, default_value = weft_query::serve::DEFAULT_LISTEN)]
    listen: SocketAddr,
    /// PEM certificate chain; with --tls-key, the API is served over TLS (rustls).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback address (only behind a proxy that terminates TLS).
    #[arg(long)]
    insecure_no_tls: bool,
}

pub fn run(args: ServeArgs, config: WeftConfig) -> anyhow::Result<ExitCode> {
    let data_dir = config.data_dir(args.data_dir);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    // The rule catalogue lists what `weft run` over this directory detects with.
    let mut detect = config.detect.clone();
    crate::rule_pack::apply_default(&mut detect, &data_dir)?;
    let listen = args.listen;
    weft_query::serve::serve_blocking(ServeConfig {
        data_dir,
        listen,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        insecure_no_tls: args.insecure_no_tls,
        api: crate::run_cmd::api_config(&detect, &config.api)?,
    })
    .with_context(|| format!("cannot serve the API on {listen}"))?;
    Ok(ExitCode::SUCCESS)
}
