//! The status socket: a Unix stream socket speaking newline-delimited JSON (the smcroutectl
//! approach). A client writes one request line (`status`) and reads one JSON document back.
//! `mrproxy status` is the client.

use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// A bound status socket; the file is removed on drop.
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
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
        Ok(ControlSocket { listener, path: path.to_owned() })
    }

    /// Wait for the next client and read its request line.
    pub async fn next_request(&self) -> std::io::Result<(UnixStream, String)> {
        let (stream, _) = self.listener.accept().await?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        // A client that never sends a line must not stall the daemon: bound the wait.
        match tokio::time::timeout(std::time::Duration::from_secs(1), reader.read_line(&mut line)).await {
            Ok(Ok(_)) => Ok((reader.into_inner(), line.trim().to_owned())),
            Ok(Err(e)) => Err(e),
            Err(_) => Ok((reader.into_inner(), String::new())),
        }
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
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
        format!("cannot reach mrproxy at {}: {e} (is it running? use --control PATH)", path.display())
    })?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(answer)
}
