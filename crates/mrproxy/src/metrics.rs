//! The `metrics ADDR:PORT` listener: the Prometheus text of `mrproxy status --prometheus` over
//! HTTP/1.x (`GET /metrics`), for a Prometheus server to scrape.
//!
//! The same rules as the status socket (crate::control): scrapers are served by tasks of their
//! own with bounded request size and time, at most [`MAX_CLIENTS`] at once, and the loop only
//! builds the answer. Only `GET` (and `HEAD`) of `/metrics` or `/` is served; nothing else of
//! HTTP is needed by a scraper, so nothing else is read.

use crate::control::Request;
use crate::status::prometheus::CONTENT_TYPE;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tracing::debug;

/// Scrapers served at once; more wait in the listen backlog.
pub const MAX_CLIENTS: usize = 4;
/// The request head (request line and headers) must fit in this many bytes.
pub const MAX_HEAD: usize = 8192;
const READ_TIMEOUT: Duration = Duration::from_secs(2);
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Metrics {
    requests: mpsc::Receiver<Request>,
    acceptor: JoinHandle<()>,
    /// Where it listens (the port the kernel chose for port 0).
    pub address: SocketAddr,
}

impl Metrics {
    /// Binds the listener (at start, while the daemon may still bind a port below 1024).
    pub async fn bind(address: SocketAddr) -> Result<Metrics, String> {
        let listener = TcpListener::bind(address).await.map_err(|e| {
            format!(
                "cannot listen for metrics on {address}: {e}; free the port or change the \
                 'metrics' line"
            )
        })?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (sender, requests) = mpsc::channel(MAX_CLIENTS);
        let acceptor = tokio::spawn(accept(listener, sender));
        Ok(Metrics {
            requests,
            acceptor,
            address,
        })
    }

    /// The next scrape, as a `metrics` request for the loop. Cancel-safe.
    pub async fn next_request(&mut self) -> std::io::Result<Request> {
        self.requests
            .recv()
            .await
            .ok_or_else(|| std::io::Error::other("the metrics listener stopped"))
    }
}

impl Drop for Metrics {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept(listener: TcpListener, requests: mpsc::Sender<Request>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve(stream, requests.clone(), slot));
            }
            Err(e) => {
                tracing::warn!("metrics listener: {e}");
                tokio::time::sleep(READ_TIMEOUT).await;
            }
        }
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    Metrics { head_only: bool },
    NotFound,
    BadMethod,
    Malformed,
}

fn parse_head(head: &[u8]) -> Asked {
    let Some(line) = head.split(|b| *b == b'\n').next() else {
        return Asked::Malformed;
    };
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Asked::Malformed;
    };
    if !version.starts_with("HTTP/1.") {
        return Asked::Malformed;
    }
    let path = target.split('?').next().unwrap_or("");
    match (method, path) {
        ("GET" | "HEAD", "/metrics" | "/") => Asked::Metrics {
            head_only: method == "HEAD",
        },
        ("GET" | "HEAD", _) => Asked::NotFound,
        _ => Asked::BadMethod,
    }
}

/// The request head, up to the blank line, at most [`MAX_HEAD`] bytes; `None` when it does not
/// come complete in time.
async fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    let read = async {
        let mut chunk = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 || head.len() + n > MAX_HEAD {
                return None;
            }
            head.extend_from_slice(&chunk[..n]);
        }
        Some(())
    };
    tokio::time::timeout(READ_TIMEOUT, read).await.ok()??;
    Some(head)
}

async fn serve(
    mut stream: TcpStream,
    requests: mpsc::Sender<Request>,
    _slot: OwnedSemaphorePermit,
) {
    let asked = match read_head(&mut stream).await {
        Some(head) => parse_head(&head),
        None => Asked::Malformed,
    };
    let (status, body, head_only) = match asked {
        Asked::Metrics { head_only } => {
            let (request, answered) = Request::new("metrics");
            if requests.send(request).await.is_err() {
                return;
            }
            match answered.await {
                Ok(body) => ("200 OK", body, head_only),
                Err(_) => return,
            }
        }
        Asked::NotFound => (
            "404 Not Found",
            "metrics are at /metrics\n".to_owned(),
            false,
        ),
        Asked::BadMethod => ("405 Method Not Allowed", "only GET\n".to_owned(), false),
        Asked::Malformed => ("400 Bad Request", "bad request\n".to_owned(), false),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let write = async {
        stream.write_all(head.as_bytes()).await?;
        if !head_only {
            stream.write_all(body.as_bytes()).await?;
        }
        stream.shutdown().await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!("metrics client: {e}"),
        Err(_) => debug!("metrics client did not read its answer in time; dropped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_of_the_metrics_path_is_served() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Asked::Metrics { head_only: false }
        );
        assert_eq!(
            parse_head(b"HEAD / HTTP/1.0\r\n\r\n"),
            Asked::Metrics { head_only: true }
        );
        assert_eq!(
            parse_head(b"GET /metrics?x=1 HTTP/1.1\r\n\r\n"),
            Asked::Metrics { head_only: false }
        );
        assert_eq!(parse_head(b"GET /other HTTP/1.1\r\n\r\n"), Asked::NotFound);
        assert_eq!(
            parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Asked::BadMethod
        );
        assert_eq!(parse_head(b"GET /metrics\r\n\r\n"), Asked::Malformed);
        assert_eq!(parse_head(b"\xff\xfe\r\n\r\n"), Asked::Malformed);
    }

    async fn exchange(address: SocketAddr, request: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer
    }

    #[test]
    fn a_scrape_gets_what_the_loop_answers_and_junk_gets_400() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut metrics = Metrics::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
            let address = metrics.address;
            let loop_side = async {
                let request = metrics.next_request().await.unwrap();
                assert_eq!(request.line, "metrics");
                request.answer("mrproxy_uptime_seconds 5\n".to_owned());
            };
            let (answer, ()) = tokio::join!(
                exchange(address, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
                loop_side
            );
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
            assert!(
                answer.contains("Content-Type: text/plain; version=0.0.4"),
                "{answer}"
            );
            assert!(answer.contains("Content-Length: 25\r\n"), "{answer}");
            assert!(
                answer.ends_with("\r\n\r\nmrproxy_uptime_seconds 5\n"),
                "{answer}"
            );
            let junk = exchange(address, b"\x16\x03\x01 TLS hello\r\n\r\n").await;
            assert!(junk.starts_with("HTTP/1.1 400 "), "{junk}");
            let post = exchange(address, b"POST /metrics HTTP/1.1\r\n\r\n").await;
            assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
            // A head longer than the bound is refused without waiting for its end.
            let mut long = b"GET /metrics HTTP/1.1\r\nX: ".to_vec();
            long.extend(std::iter::repeat_n(b'a', MAX_HEAD));
            let long = exchange(address, &long).await;
            assert!(long.starts_with("HTTP/1.1 400 "), "{long}");
        });
    }
}
