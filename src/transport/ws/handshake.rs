//! The WebSocket opening handshake (RFC 6455 §4), sans-IO: the client's HTTP/1.1 Upgrade
//! request and the check of the server's answer; the server's parse of the request and its
//! answer.
//!
//! libp2p dials `ws://<ip>:<port>/` (go-libp2p `p2p/transport/websocket`, rust-libp2p
//! `transports/websocket`); no subprotocol and no extension is negotiated, so frames carry no
//! RSV bits. Heads are bounded by [`MAX_HEAD`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The GUID the accept key is derived with (§1.3).
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Longest request or response head accepted (the headers of go's and rust-libp2p's
/// handshakes are a few hundred bytes).
pub const MAX_HEAD: usize = 8 * 1024;

/// Most header lines accepted in a head.
const MAX_HEADERS: usize = 32;

/// Why an opening handshake failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// Not HTTP/1.1.
    #[error("malformed HTTP head: {0}")]
    Http(String),
    /// The head did not end within [`MAX_HEAD`] bytes.
    #[error("HTTP head longer than {MAX_HEAD} bytes")]
    TooLong,
    /// The request is not a `GET`.
    #[error("WebSocket upgrade must be a GET, got {0}")]
    Method(String),
    /// A header the handshake needs is missing or has another value.
    #[error("header {name}: expected {expected}, got {got:?}")]
    Header {
        /// The header's name.
        name: &'static str,
        /// What §4.1 / §4.2.1 require.
        expected: &'static str,
        /// What came (`None`: absent).
        got: Option<String>,
    },
    /// The server answered with another status than 101 Switching Protocols.
    #[error("the server refused the upgrade: HTTP {0}")]
    Status(u16),
    /// `Sec-WebSocket-Accept` does not match our key (§4.1, point 4 of the client's checks).
    #[error("Sec-WebSocket-Accept does not match the key we sent")]
    Accept,
    /// The peer closed the connection during the handshake.
    #[error("connection closed during the WebSocket handshake")]
    Closed,
}

impl HandshakeError {
    /// The HTTP answer a server sends before closing (426 asks for version 13, §4.4).
    pub fn refusal(&self) -> &'static [u8] {
        match self {
            HandshakeError::Header {
                name: "Sec-WebSocket-Version",
                ..
            } => b"HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            _ => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        }
    }
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (§4.2.2, point 5.4).
pub fn accept_key(key: &str) -> String {
    let mut input = key.as_bytes().to_vec();
    input.extend_from_slice(GUID.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &input);
    BASE64.encode(digest.as_ref())
}

/// The client's side: the request, then the check of the answer.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    key: String,
}

impl ClientHandshake {
    /// A handshake with the 16-byte `nonce` (random, §4.1); returns it and the request for
    /// path `/` on `host` (`ip:port`, `[ip6]:port`).
    pub fn new(host: &str, nonce: [u8; 16]) -> (Self, Vec<u8>) {
        let key = BASE64.encode(nonce);
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        (Self { key }, request.into_bytes())
    }

    /// Checks the server's answer at the start of `input`: `Ok(None)` while the head is
    /// incomplete; `Ok(Some(n))` when it is a valid 101 of `n` bytes (what follows is frames).
    pub fn response(&self, input: &[u8]) -> Result<Option<usize>, HandshakeError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let n = match response.parse(input) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return partial(input),
            Err(e) => return Err(HandshakeError::Http(e.to_string())),
        };
        let code = response.code.unwrap_or_default();
        if code != 101 {
            return Err(HandshakeError::Status(code));
        }
        check_upgrade_headers(response.headers)?;
        let accept = header(response.headers, "Sec-WebSocket-Accept");
        if accept.map(str::trim) != Some(accept_key(&self.key).as_str()) {
            return Err(HandshakeError::Accept);
        }
        Ok(Some(n))
    }
}

/// The server's side: checks the request at the start of `input`. `Ok(None)` while the head is
/// incomplete; `Ok(Some((n, answer)))` when it is a valid upgrade request of `n` bytes, with the
/// 101 answer to send. On an error, send [`HandshakeError::refusal`] and close.
pub fn server_response(input: &[u8]) -> Result<Option<(usize, Vec<u8>)>, HandshakeError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let n = match request.parse(input) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return partial(input).map(|_| None),
        Err(e) => return Err(HandshakeError::Http(e.to_string())),
    };
    let method = request.method.unwrap_or_default();
    if method != "GET" {
        return Err(HandshakeError::Method(method.to_owned()));
    }
    // Any path: go-libp2p's listener upgrades whatever path it is asked for.
    check_upgrade_headers(request.headers)?;
    let version = header(request.headers, "Sec-WebSocket-Version").map(str::trim);
    if version != Some("13") {
        return Err(HandshakeError::Header {
            name: "Sec-WebSocket-Version",
            expected: "13",
            got: version.map(str::to_owned),
        });
    }
    let key = header(request.headers, "Sec-WebSocket-Key").map(str::trim);
    let valid_key = key.and_then(|k| BASE64.decode(k).ok()).map(|k| k.len()) == Some(16);
    let Some(key) = key.filter(|_| valid_key) else {
        return Err(HandshakeError::Header {
            name: "Sec-WebSocket-Key",
            expected: "16 bytes in base64",
            got: key.map(str::to_owned),
        });
    };
    let answer = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        accept_key(key)
    );
    Ok(Some((n, answer.into_bytes())))
}

/// An incomplete head: wait for more unless it is already too long.
fn partial(input: &[u8]) -> Result<Option<usize>, HandshakeError> {
    if input.len() >= MAX_HEAD {
        return Err(HandshakeError::TooLong);
    }
    Ok(None)
}

/// `Upgrade: websocket` and `Connection: Upgrade` (a token in a list), both ways (§4.1, §4.2.1).
fn check_upgrade_headers(headers: &[httparse::Header<'_>]) -> Result<(), HandshakeError> {
    let upgrade = header(headers, "Upgrade");
    if !upgrade.is_some_and(|v| v.trim().eq_ignore_ascii_case("websocket")) {
        return Err(HandshakeError::Header {
            name: "Upgrade",
            expected: "websocket",
            got: upgrade.map(str::to_owned),
        });
    }
    let connection = header(headers, "Connection");
    let has_token = connection.is_some_and(|v| {
        v.split(',')
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
    });
    if !has_token {
        return Err(HandshakeError::Header {
            name: "Connection",
            expected: "a list with Upgrade",
            got: connection.map(str::to_owned),
        });
    }
    Ok(())
}

/// The value of the header `name` (case-insensitive), if present and text.
fn header<'h>(headers: &'h [httparse::Header<'_>], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .and_then(|h| std::str::from_utf8(h.value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_of_rfc_6455_section_1_3() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn client_and_server_agree() {
        let (client, request) = ClientHandshake::new("127.0.0.1:4002", *b"the sample nonce");
        assert!(
            String::from_utf8_lossy(&request)
                .contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
        );
        assert_eq!(server_response(&request[..request.len() - 1]), Ok(None));
        let (n, answer) = server_response(&request).unwrap().unwrap();
        assert_eq!(n, request.len());
        let mut wire = answer.clone();
        wire.extend_from_slice(b"\x82\x00");
        assert_eq!(client.response(&wire[..10]), Ok(None));
        assert_eq!(client.response(&wire), Ok(Some(answer.len())));
    }

    #[test]
    fn bad_requests_are_refused() {
        let ok = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
                  Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert!(server_response(ok.as_bytes()).unwrap().is_some());
        let cases = [
            (ok.replace("GET", "POST"), "must be a GET"),
            (ok.replace("websocket", "h2c"), "Upgrade"),
            (ok.replace("keep-alive, Upgrade", "close"), "Connection"),
            (
                ok.replace("Version: 13", "Version: 8"),
                "Sec-WebSocket-Version",
            ),
            (
                ok.replace("dGhlIHNhbXBsZSBub25jZQ==", "short"),
                "Sec-WebSocket-Key",
            ),
            ("HELLO\r\n\r\n".to_string(), "malformed"),
        ];
        for (request, what) in cases {
            let error = server_response(request.as_bytes()).unwrap_err();
            assert!(error.to_string().contains(what), "{error} for {request:?}");
        }
        let version = server_response(ok.replace("Version: 13", "Version: 8").as_bytes());
        assert!(version.unwrap_err().refusal().starts_with(b"HTTP/1.1 426"));
        let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert_eq!(
            server_response(endless.as_bytes()),
            Err(HandshakeError::TooLong)
        );
    }

    #[test]
    fn bad_answers_are_refused() {
        let (client, _) = ClientHandshake::new("h", [7; 16]);
        let refused = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(client.response(refused), Err(HandshakeError::Status(404)));
        let wrong = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                      Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        assert_eq!(client.response(wrong), Err(HandshakeError::Accept));
    }
}
