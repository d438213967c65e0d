//! A one-route HTTP server for tests and benchmarks: answers `GET <path>` with a
//! fixed JSON document (for example an issuer's JWK Set at
//! `/.well-known/jwks.json`, as the token issuer serves it) and counts the hits.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The running server; it stops when the test's runtime ends.
pub struct JsonStub {
    port: u16,
    hits: Arc<AtomicU32>,
}

impl JsonStub {
    /// Serves `document` at `path` on a free port of 127.0.0.1; any other
    /// request gets 404.
    pub async fn start(path: &str, document: &Value) -> JsonStub {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port");
        let port = listener.local_addr().expect("bound").port();
        let hits = Arc::new(AtomicU32::new(0));
        let request_line = format!("GET {path} ");
        let body = Arc::new(document.to_string().into_bytes());
        let counter = hits.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    continue;
                };
                let (request_line, body, counter) =
                    (request_line.clone(), body.clone(), counter.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let mut read = 0;
                    while !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer[read..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => read += n,
                        }
                        if read == buffer.len() {
                            return;
                        }
                    }
                    let found = buffer[..read].starts_with(request_line.as_bytes());
                    let (status, body): (&str, &[u8]) = if found {
                        counter.fetch_add(1, Ordering::SeqCst);
                        ("200 OK", &body)
                    } else {
                        ("404 Not Found", b"{}")
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = socket.write_all(head.as_bytes()).await;
                    let _ = socket.write_all(body).await;
                });
            }
        });
        JsonStub { port, hits }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many times the document was served.
    pub fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }
}
