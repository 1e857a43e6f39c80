//! Plain HTTP/1.1 for end-to-end tests of a running weft (the API has no client here on
//! purpose: the tests speak the protocol a curl user would).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// A loopback port that was free a moment ago.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// One request, with a bearer token and a JSON body if given; the status code and the body.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (u16, String) {
    let mut stream = TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let content = body
        .map(|body| {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            )
        })
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}{content}Connection: close\r\n\r\n{}",
        body.unwrap_or_default()
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// `GET path`.
pub fn get(address: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    request(address, "GET", path, token, None)
}

/// `GET path`, or `None` while nothing answers on `address` (a server still starting).
pub fn try_get(address: SocketAddr, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    TcpStream::connect(address).ok()?;
    Some(get(address, path, token))
}
