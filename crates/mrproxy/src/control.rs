//! The status socket: a Unix stream socket speaking newline-delimited JSON (the smcroutectl
//! approach). A client writes one request line (`status`) and reads one JSON document back.
//! `mrproxy status` is the client.

use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Requests read but not yet answered; more waiting clients are held back by the kernel's
/// listen backlog.
const PENDING_REQUESTS: usize = 16;
/// A client that never sends its request line must not hold a connection forever.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// A bound status socket; the file is removed on drop.
///
/// Clients are accepted and their request lines read by background tasks, so that
/// [`ControlSocket::next_request`] is cancel-safe: the daemon's loop polls it in a `select!`
/// next to packets and timers, and dropping a half-read request there would close the
/// client's connection without an answer.
pub struct ControlSocket {
    requests: mpsc::Receiver<(UnixStream, String)>,
    acceptor: JoinHandle<()>,
    /// The file to remove on drop; `None` when it is out of reach (outside a chroot).
    path: Option<PathBuf>,
}

impl ControlSocket {
    /// Bind `path`. A stale socket file left by a killed daemon is replaced; a live one (another
    /// mrproxy answers on it) is an error that says so.
    pub async fn bind(path: &Path) -> Result<ControlSocket, String> {
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(format!(
                    "another mrproxy answers on {}; stop it or give this one --control PATH",
                    path.display()
                ));
            }
            let _ = std::fs::remove_file(path);
        }
        let listener = UnixListener::bind(path)
            .map_err(|e| format!("cannot create the status socket {}: {e}", path.display()))?;
        let (sender, requests) = mpsc::channel(PENDING_REQUESTS);
        let acceptor = tokio::spawn(accept_clients(listener, sender));
        Ok(ControlSocket {
            requests,
            acceptor,
            path: Some(path.to_owned()),
        })
    }

    /// After a chroot the socket keeps working (it is bound and listening), but its file has
    /// another name from inside the new root, or none (`None`: outside it). A file that cannot
    /// be named is not removed at exit; it stays behind and the next start replaces it as stale.
    pub fn rename_file(&mut self, path: Option<PathBuf>) {
        self.path = path;
    }

    /// The next client with its request line (empty if it sent none in time). Cancel-safe.
    pub async fn next_request(&mut self) -> std::io::Result<(UnixStream, String)> {
        self.requests
            .recv()
            .await
            .ok_or_else(|| std::io::Error::other("the status socket stopped accepting"))
    }
}

/// Accepts clients and reads each one's request line in its own task, so a slow client
/// delays neither the others nor the daemon.
async fn accept_clients(listener: UnixListener, requests: mpsc::Sender<(UnixStream, String)>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let requests = requests.clone();
                tokio::spawn(async move {
                    let mut reader = BufReader::new(stream);
                    let mut line = String::new();
                    match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
                        Ok(Err(e)) => tracing::debug!("status client: {e}"),
                        Ok(Ok(_)) | Err(_) => {
                            let _ = requests
                                .send((reader.into_inner(), line.trim().to_owned()))
                                .await;
                        }
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: try again later rather than spin.
                tracing::warn!("status socket: {e}");
                tokio::time::sleep(REQUEST_TIMEOUT).await;
            }
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.acceptor.abort();
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Send the answer and close; a client that went away is not an error worth reporting.
pub async fn reply(mut stream: UnixStream, body: &str) {
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.write_all(b"\n").await;
    let _ = stream.shutdown().await;
}

/// The `mrproxy status` client.
pub fn client(path: &Path, request: &str) -> Result<String, String> {
    use std::io::{Read, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(|e| {
        format!(
            "cannot reach mrproxy at {}: {e} (is it running? use --control PATH)",
            path.display()
        )
    })?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(answer)
}
