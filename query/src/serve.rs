//! Serving the API: `weft serve`. Plain HTTP only on a loopback address unless the operator
//! says `insecure_no_tls`; with a certificate and key, TLS through rustls (ring provider,
//! TLS 1.2 and 1.3, HTTP/1.1).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::api::{ApiConfig, AppState, StartError, app};

/// The address `weft serve` listens on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// How to serve the API.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// PEM certificate chain; with `tls_key`, the API is served over TLS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
    pub insecure_no_tls: bool,
    pub api: ApiConfig,
}

/// Why the API could not be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve plain HTTP on {0}, which is not a loopback address: pass --tls-cert and --tls-key, listen on 127.0.0.1, or pass --insecure-no-tls when a proxy terminates TLS"
    )]
    PlainTextOnNetwork(SocketAddr),
    #[error("--tls-cert and --tls-key go together; pass both or neither")]
    HalfTls,
    #[error("reading the TLS {what} {path}: {reason}")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("the TLS certificate and key do not make a valid configuration: {0}")]
    Tls(#[from] rustls::Error),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("listening on {listen}: {error}")]
    Listen {
        listen: SocketAddr,
        error: std::io::Error,
    },
    #[error("starting the async runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    handle: Handle<SocketAddr>,
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    state: AppState,
}

impl Server {
    /// The address the server listens on (the real port when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting connections, lets requests in flight finish (up to `grace`), and
    /// writes the audit records still queued.
    pub async fn shutdown(self, grace: Duration) -> Result<(), ServeError> {
        self.handle.graceful_shutdown(Some(grace));
        let listen = self.local_addr;
        let served = self.task.await.map_err(|error| ServeError::Listen {
            listen,
            error: std::io::Error::other(error.to_string()),
        })?;
        let state = self.state;
        let _ = tokio::task::spawn_blocking(move || state.audit().shutdown()).await;
        served.map_err(|error| ServeError::Listen { listen, error })
    }
}

/// Checks `config`, opens the data directory and starts serving in the background.
pub async fn start(config: ServeConfig) -> Result<Server, ServeError> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(tls_config(cert, key)?),
        (None, None) => None,
        _ => return Err(ServeError::HalfTls),
    };
    if tls.is_none() && !config.listen.ip().is_loopback() && !config.insecure_no_tls {
        return Err(ServeError::PlainTextOnNetwork(config.listen));
    }
    let api = ApiConfig {
        tls: tls.is_some(),
        ..config.api.clone()
    };
    let tls_on = api.tls;
    let client_timeout = api.client_timeout;
    let state = AppState::open(&config.data_dir, api)?;
    let service = app(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle: Handle<SocketAddr> = Handle::new();
    let listen = config.listen;
    let task = match tls {
        Some(tls) => {
            let server = axum_server::bind_rustls(listen, RustlsConfig::from_config(tls))
                .handle(handle.clone());
            tokio::spawn(with_client_timeout(server, client_timeout).serve(service))
        }
        None => {
            let server = axum_server::bind(listen).handle(handle.clone());
            tokio::spawn(with_client_timeout(server, client_timeout).serve(service))
        }
    };
    let Some(local_addr) = handle.listening().await else {
        let error = match task.await {
            Ok(Err(error)) => error,
            _ => std::io::Error::other("the server stopped before listening"),
        };
        return Err(ServeError::Listen { listen, error });
    };
    tracing::info!(address = %local_addr, tls = tls_on, "serving the weft api");
    Ok(Server {
        handle,
        local_addr,
        task,
        state,
    })
}

/// A client that sends nothing, or its headers too slowly, is disconnected; a slow body gets
/// 408 from the API itself ([`ApiConfig::client_timeout`]).
fn with_client_timeout<Acceptor>(
    mut server: axum_server::Server<SocketAddr, Acceptor>,
    timeout: Duration,
) -> axum_server::Server<SocketAddr, Acceptor> {
    server.http_builder().http1().header_read_timeout(timeout);
    server.first_request_timeout(timeout)
}

/// Serves until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let server = start(config).await?;
    shutdown_signal().await;
    tracing::info!("shutting down the weft api");
    server.shutdown(Duration::from_secs(10)).await
}

/// [`serve`] on a runtime of its own, for a synchronous `main`.
pub fn serve_blocking(config: ServeConfig) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weft-api")
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(serve(config))
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, ServeError> {
    let file_error = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |error: rustls_pki_types::pem::Error| ServeError::TlsFile {
            what,
            path,
            reason: error.to_string(),
        }
    };
    let certs = CertificateDer::pem_file_iter(cert)
        .map_err(file_error("certificate", cert))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(file_error("certificate", cert))?;
    if certs.is_empty() {
        return Err(ServeError::TlsFile {
            what: "certificate",
            path: cert.to_path_buf(),
            reason: "no PEM certificate in the file".to_string(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(file_error("key", key))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
