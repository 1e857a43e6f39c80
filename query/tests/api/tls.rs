//! The server end to end over TLS with a generated certificate, and the refusal to serve
//! plain HTTP on a network address.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use weft_query::api::ApiConfig;
use weft_query::auth::{Role, create_token};
use weft_query::serve::{ServeConfig, ServeError, start};

fn config(data_dir: &std::path::Path, listen: SocketAddr) -> ServeConfig {
    ServeConfig {
        data_dir: data_dir.to_path_buf(),
        listen,
        tls_cert: None,
        tls_key: None,
        insecure_no_tls: false,
        api: ApiConfig::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tls_with_hsts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = create_token(dir.path(), "tls-analyst", Role::Analyst)?;
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, certified.cert.pem())?;
    std::fs::write(&key_path, certified.signing_key.serialize_pem())?;

    let server = start(ServeConfig {
        tls_cert: Some(cert_path),
        tls_key: Some(key_path),
        ..config(dir.path(), ([127, 0, 0, 1], 0).into())
    })
    .await?;
    let address = server.local_addr();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(certified.cert.der().clone())?;
    let client_config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_config));
    let stream = tokio::net::TcpStream::connect(address).await?;
    let name = rustls_pki_types::ServerName::try_from("localhost")?;
    let mut tls = connector.connect(name, stream).await?;
    let request = format!(
        "GET /api/v1/whoami HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        token.secret
    );
    tls.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), tls.read_to_string(&mut answer)).await??;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age="),
        "{answer}"
    );
    assert!(answer.contains("\"name\":\"tls-analyst\""), "{answer}");

    // Plain HTTP to the TLS port gets no answer with data.
    let mut plain = tokio::net::TcpStream::connect(address).await?;
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await?;
    let mut reply = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut reply)).await;
    assert!(!String::from_utf8_lossy(&reply).contains("\"status\""));

    server.shutdown(Duration::from_secs(5)).await?;
    Ok(())
}

#[tokio::test]
async fn plain_http_on_a_network_address_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let refused = start(config(dir.path(), ([0, 0, 0, 0], 0).into())).await;
    assert!(matches!(refused, Err(ServeError::PlainTextOnNetwork(_))));
    let half = start(ServeConfig {
        tls_cert: Some(dir.path().join("cert.pem")),
        ..config(dir.path(), ([127, 0, 0, 1], 0).into())
    })
    .await;
    assert!(matches!(half, Err(ServeError::HalfTls)));
    let missing = start(ServeConfig {
        tls_cert: Some(dir.path().join("cert.pem")),
        tls_key: Some(dir.path().join("key.pem")),
        ..config(dir.path(), ([127, 0, 0, 1], 0).into())
    })
    .await;
    assert!(matches!(missing, Err(ServeError::TlsFile { .. })));
    // Plain HTTP on loopback is fine, and so is a network address when explicitly allowed.
    let local = start(config(dir.path(), ([127, 0, 0, 1], 0).into())).await?;
    local.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}
