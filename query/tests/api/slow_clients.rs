//! Slow clients against the real server (`serve::start`): a connection that sends nothing, one
//! that trickles its headers, and one that trickles its body are all cut off after the
//! client timeout, while other clients are answered meanwhile; the slow body is answered 408
//! and audited.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weft_query::api::ApiConfig;
use weft_query::auth::{Role, create_token};
use weft_query::serve::{ServeConfig, Server, start};

const TIMEOUT: Duration = Duration::from_secs(1);
/// How long the server may take past its timeout to let a slow client go.
const SLACK: Duration = Duration::from_secs(4);

async fn server(dir: &std::path::Path) -> anyhow::Result<Server> {
    Ok(start(ServeConfig {
        data_dir: dir.to_path_buf(),
        listen: ([127, 0, 0, 1], 0).into(),
        tls_cert: None,
        tls_key: None,
        insecure_no_tls: false,
        api: ApiConfig {
            client_timeout: TIMEOUT,
            ..ApiConfig::default()
        },
    })
    .await?)
}

/// Reads until the server closes the connection (or resets it); what it sent before.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// A quick request by a well-behaved client: its status line.
async fn health(address: SocketAddr) -> anyhow::Result<String> {
    let mut stream = TcpStream::connect(address).await?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let answer = tokio::time::timeout(Duration::from_secs(5), until_closed(&mut stream)).await?;
    Ok(answer.lines().next().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_client_timeout() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = server(dir.path()).await?;
    let started = Instant::now();
    let mut silent = TcpStream::connect(server.local_addr()).await?;
    assert_eq!(health(server.local_addr()).await?, "HTTP/1.1 200 OK");
    let answer = tokio::time::timeout(TIMEOUT + SLACK, until_closed(&mut silent)).await?;
    assert!(started.elapsed() >= TIMEOUT, "closed before its time");
    assert!(!answer.contains("200 OK"), "{answer}");
    server.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_trickled_byte_by_byte_are_cut_off() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = server(dir.path()).await?;
    let mut slow = TcpStream::connect(server.local_addr()).await?;
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await?;
    // One header byte every 100 ms, forever: a slowloris client.
    let mut cut_off = false;
    while started.elapsed() < TIMEOUT + SLACK {
        if slow.write_all(b"X").await.is_err() {
            cut_off = true;
            break;
        }
        let mut probe = [0u8; 1024];
        match tokio::time::timeout(Duration::from_millis(100), slow.read(&mut probe)).await {
            Ok(Ok(0) | Err(_)) => {
                cut_off = true;
                break;
            }
            Ok(Ok(_)) => {
                // hyper may answer 408 before closing.
                cut_off = true;
                break;
            }
            Err(_) => {}
        }
        assert_eq!(
            health(server.local_addr()).await?,
            "HTTP/1.1 200 OK",
            "others are answered meanwhile"
        );
    }
    assert!(cut_off, "a client trickling headers was never cut off");
    assert!(started.elapsed() >= TIMEOUT, "cut off before its time");
    server.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_trickled_slowly_gets_408_and_is_audited() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let token = create_token(dir.path(), "slow-analyst", Role::Analyst)?;
    let server = server(dir.path()).await?;
    let mut slow = TcpStream::connect(server.local_addr()).await?;
    let body = r#"{"query":"SELECT count(*) FROM events"}"#;
    let started = Instant::now();
    slow.write_all(
        format!(
            "POST /api/v1/sql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            token.secret,
            body.len(),
            &body[..5]
        )
        .as_bytes(),
    )
    .await?;
    let answer = tokio::time::timeout(TIMEOUT + SLACK, until_closed(&mut slow)).await?;
    assert!(started.elapsed() >= TIMEOUT, "answered before its time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"type\":\"request_timeout\""), "{answer}");
    assert!(answer.contains("did not arrive within 1 s"), "{answer}");

    // The whole body sent at once is answered as usual.
    let mut quick = TcpStream::connect(server.local_addr()).await?;
    quick
        .write_all(
            format!(
                "POST /api/v1/sql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                token.secret,
                body.len(),
            )
            .as_bytes(),
        )
        .await?;
    let answer = tokio::time::timeout(Duration::from_secs(10), until_closed(&mut quick)).await?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    server.state().audit().flush()?;
    let audit = weft_query::sql::SqlEngine::new(dir.path(), Default::default())?
        .query_rows(
            "SELECT http_status, outcome FROM events WHERE service = 'weft' AND url = '/api/v1/sql' ORDER BY time",
        )
        .await
        .map_err(|error| anyhow::anyhow!("{error}"))?;
    assert_eq!(
        serde_json::to_value(&audit.rows)?,
        serde_json::json!([[408, "failure"], [200, "success"]])
    );
    server.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}
