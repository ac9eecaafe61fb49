//! The status socket: a Unix stream socket speaking newline-delimited JSON (the smcroutectl
//! approach). A client writes one request line and reads one JSON document back: `status` (the
//! status document, docs/status.md), `engine` (the engine's internal snapshot, for developers)
//! or `reload` (a [`ReloadAnswer`]). `mrproxy status` and `mrproxy reload` are the clients.
//!
//! Local clients may misbehave, and none of them may hold up the daemon's loop: each client is
//! served by a task of its own that reads a request line of bounded size within a timeout, hands
//! it to the loop, and writes the loop's answer within another timeout. The loop only builds the
//! answer. At most [`MAX_CLIENTS`] are served at once; further ones wait in the listen backlog.

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::debug;

/// Clients served at once (reading the request, waiting for the answer or writing it).
pub const MAX_CLIENTS: usize = 8;
/// A request line longer than this (newline included) gets an error answer.
pub const MAX_REQUEST: usize = 1024;
/// A client that never sends its request line must not hold a slot forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
/// A client that does not read its answer is dropped after this long.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// The socket file's mode: owner and group may connect (connecting needs write permission).
pub const SOCKET_MODE: u32 = 0o660;
/// The umask the socket is bound under, so that it never has more than [`SOCKET_MODE`].
const SOCKET_UMASK: u32 = 0o777 & !SOCKET_MODE;

/// One client's request line, and where the loop puts the answer.
pub struct Request {
    pub line: String,
    answer: oneshot::Sender<String>,
}

impl Request {
    /// A request of another front end (the metrics listener) and where its answer arrives.
    pub fn new(line: &str) -> (Request, oneshot::Receiver<String>) {
        let (answer, answered) = oneshot::channel();
        (
            Request {
                line: line.to_owned(),
                answer,
            },
            answered,
        )
    }

    /// Hands the answer to the client's task, which writes it; never waits.
    pub fn answer(self, body: String) {
        // The client's task ended (it timed out or the client went away): nobody to tell.
        let _ = self.answer.send(body);
    }
}

/// A bound status socket; the file is removed on drop.
///
/// Requests arrive over a channel, so [`ControlSocket::next_request`] is cancel-safe: the
/// daemon's loop polls it in a `select!` next to packets and timers.
pub struct ControlSocket {
    requests: mpsc::Receiver<Request>,
    acceptor: JoinHandle<()>,
    /// The file to remove on drop; `None` when it is out of reach (outside a chroot).
    path: Option<PathBuf>,
}

/// Refuses a `path` that exists and is not a socket: mrproxy never removes such a file (a
/// mistyped `--control` could name the configuration file). Checked at start, before going to
/// the background, and again right before binding.
pub fn check_path(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_socket() => Err(format!(
            "{} exists and is not a socket; mrproxy leaves it alone: move it away or give \
             --control another path",
            path.display()
        )),
        _ => Ok(()),
    }
}

/// The gid of `--control-group NAME`, or one line saying why there is none.
pub fn lookup_group(name: &str) -> Result<u32, String> {
    match mrproxy_linux::lookup_group(name) {
        Ok(Some(gid)) => Ok(gid),
        Ok(None) => Err(format!(
            "--control-group {name}: no such group (getent group {name} finds nothing); create \
             it (groupadd --system {name}) or name another"
        )),
        Err(e) => Err(format!(
            "--control-group {name}: cannot read the group database: {e}; fix NSS \
             (/etc/nsswitch.conf) or leave --control-group out"
        )),
    }
}

impl ControlSocket {
    /// Bind `path` with mode 0660, owned by `group` when given. A stale socket file left by a
    /// killed daemon is replaced; a live one (another mrproxy answers on it) and a file that is
    /// not a socket are errors that say so.
    pub async fn bind(path: &Path, group: Option<u32>) -> Result<ControlSocket, String> {
        check_path(path)?;
        if std::fs::symlink_metadata(path).is_ok() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(format!(
                    "another mrproxy answers on {}; stop it or give this one --control PATH",
                    path.display()
                ));
            }
            let _ = std::fs::remove_file(path);
        }
        // The default path is in a directory of its own (/run/mrproxy), which a service manager
        // usually creates; without one the daemon does, readable by all (the socket's own mode
        // decides who may connect).
        if let Some(dir) = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            std::fs::DirBuilder::new()
                .recursive(true)
                .create(dir)
                // Explicitly, whatever the umask (the daemon's 027 would shut out the
                // --control-group, which is not the directory's group).
                .and_then(|()| {
                    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
                })
                .map_err(|e| {
                    format!(
                        "cannot create {} for the status socket: {e}; create it or give \
                         --control another path",
                        dir.display()
                    )
                })?;
        }
        let listener = mrproxy_linux::with_umask(SOCKET_UMASK, || UnixListener::bind(path))
            .map_err(|e| format!("cannot create the status socket {}: {e}", path.display()))?;
        if let Err(e) = restrict(path, group) {
            let _ = std::fs::remove_file(path);
            return Err(format!(
                "cannot set the owner or mode of the status socket {}: {e}",
                path.display()
            ));
        }
        let (sender, requests) = mpsc::channel(MAX_CLIENTS);
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

    /// The next client's request. Cancel-safe. An error means the socket stopped accepting.
    pub async fn next_request(&mut self) -> std::io::Result<Request> {
        self.requests
            .recv()
            .await
            .ok_or_else(|| std::io::Error::other("the status socket stopped accepting"))
    }
}

/// Mode 0660 (whatever the umask was) and, when asked, the group that may connect.
fn restrict(path: &Path, group: Option<u32>) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid))?;
    }
    Ok(())
}

/// Accepts clients while a slot is free and serves each one in its own task.
async fn accept_clients(listener: UnixListener, requests: mpsc::Sender<Request>) {
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        // While every slot is taken, new clients wait in the kernel's listen backlog.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_client(stream, requests.clone(), slot));
            }
            Err(e) => {
                // Out of file descriptors and the like: try again later rather than spin.
                tracing::warn!("status socket: {e}");
                tokio::time::sleep(REQUEST_TIMEOUT).await;
            }
        }
    }
}

/// One client, holding one slot until it is done: request line, the loop's answer, reply.
async fn serve_client(
    stream: UnixStream,
    requests: mpsc::Sender<Request>,
    _slot: OwnedSemaphorePermit,
) {
    let mut reader = BufReader::new(stream);
    let line = match read_request(&mut reader, REQUEST_TIMEOUT).await {
        Ok(line) => line,
        Err(RequestError::TooLong) => {
            let body = format!("{{\"error\":\"request line longer than {MAX_REQUEST} bytes\"}}");
            write_reply(reader.into_inner(), &body, WRITE_TIMEOUT).await;
            return;
        }
        Err(RequestError::Io(e)) => {
            debug!("status client: {e}");
            return;
        }
    };
    let (answer, answered) = oneshot::channel();
    if requests.send(Request { line, answer }).await.is_err() {
        return;
    }
    // No answer: the loop stopped.
    if let Ok(body) = answered.await {
        write_reply(reader.into_inner(), &body, WRITE_TIMEOUT).await;
    }
}

#[derive(Debug)]
enum RequestError {
    TooLong,
    Io(std::io::Error),
}

/// One request line of at most [`MAX_REQUEST`] bytes, trimmed. A client that sends none
/// within `limit`, or closes without a newline, gets what it sent (an empty request means
/// `status`, as before there were others).
async fn read_request<R>(reader: &mut R, limit: Duration) -> Result<String, RequestError>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let mut line = Vec::new();
    let mut bounded = reader.take(MAX_REQUEST as u64);
    match tokio::time::timeout(limit, bounded.read_until(b'\n', &mut line)).await {
        Ok(Err(e)) => return Err(RequestError::Io(e)),
        Ok(Ok(_)) if line.len() >= MAX_REQUEST && line.last() != Some(&b'\n') => {
            return Err(RequestError::TooLong);
        }
        Ok(Ok(_)) | Err(_) => {}
    }
    Ok(String::from_utf8_lossy(&line).trim().to_owned())
}

/// Sends the answer and closes, giving up after `limit`: a client that does not read is
/// dropped. A client that went away is not an error worth more than a debug line.
async fn write_reply(mut stream: UnixStream, body: &str, limit: Duration) {
    let write = async {
        stream.write_all(body.as_bytes()).await?;
        stream.write_all(b"\n").await?;
        stream.shutdown().await
    };
    match tokio::time::timeout(limit, write).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!("status client: {e}"),
        Err(_) => debug!(
            "status client did not read its answer within {} s; dropped",
            limit.as_secs()
        ),
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

/// The answer to `reload`: `{"ok":true}`, or `{"ok":false,"error":"FILE:LINE:COLUMN: …"}`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ReloadAnswer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `mrproxy status` and `mrproxy reload` client: one request line, one answer.
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mrproxy-control-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_request_line_is_read_and_trimmed() {
        runtime().block_on(async {
            let (mut client, server) = UnixStream::pair().unwrap();
            client.write_all(b"status\n").await.unwrap();
            let mut reader = BufReader::new(server);
            let line = read_request(&mut reader, Duration::from_secs(1))
                .await
                .unwrap();
            assert_eq!(line, "status");
        });
    }

    #[test]
    fn an_over_long_request_line_is_refused_after_the_limit() {
        runtime().block_on(async {
            let (mut client, server) = UnixStream::pair().unwrap();
            let long = vec![b'x'; 100_000];
            let writer = tokio::spawn(async move {
                let _ = client.write_all(&long).await;
                client
            });
            let mut reader = BufReader::new(server);
            let r = read_request(&mut reader, Duration::from_secs(1)).await;
            assert!(matches!(r, Err(RequestError::TooLong)), "{r:?}");
            writer.abort();
            // Exactly at the limit with the newline is still a request.
            let (mut client, server) = UnixStream::pair().unwrap();
            let mut line = vec![b'x'; MAX_REQUEST - 1];
            line.push(b'\n');
            client.write_all(&line).await.unwrap();
            let mut reader = BufReader::new(server);
            let r = read_request(&mut reader, Duration::from_secs(1))
                .await
                .unwrap();
            assert_eq!(r.len(), MAX_REQUEST - 1);
        });
    }

    #[test]
    fn a_silent_client_gets_an_empty_request_after_the_timeout() {
        runtime().block_on(async {
            let (_client, server) = UnixStream::pair().unwrap();
            let mut reader = BufReader::new(server);
            let r = read_request(&mut reader, Duration::from_millis(50))
                .await
                .unwrap();
            assert_eq!(r, "");
        });
    }

    #[test]
    fn a_client_that_never_reads_is_dropped_after_the_write_timeout() {
        runtime().block_on(async {
            let (client, server) = UnixStream::pair().unwrap();
            // Far more than any socket buffer.
            let body = "x".repeat(16 << 20);
            let started = std::time::Instant::now();
            write_reply(server, &body, Duration::from_millis(200)).await;
            let took = started.elapsed();
            assert!(took < Duration::from_secs(2), "write_reply took {took:?}");
            drop(client);
        });
    }

    #[test]
    fn the_socket_is_mode_0660_with_the_group_and_is_removed_on_drop() {
        let dir = temp_dir("mode");
        let path = dir.join("s.sock");
        let gid = own_gid();
        runtime().block_on(async {
            let socket = ControlSocket::bind(&path, Some(gid)).await.unwrap();
            let m = std::fs::metadata(&path).unwrap();
            assert_eq!((m.mode() & 0o7777, m.gid()), (0o660, gid));
            drop(socket);
            assert!(std::fs::symlink_metadata(&path).is_err());
        });
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The group new files of this process get: one it may always give its own files.
    fn own_gid() -> u32 {
        let probe = std::env::temp_dir().join(format!("mrproxy-gid-{}", std::process::id()));
        std::fs::write(&probe, b"").unwrap();
        let gid = std::fs::metadata(&probe).unwrap().gid();
        let _ = std::fs::remove_file(&probe);
        gid
    }

    #[test]
    fn a_missing_directory_is_created_for_the_socket() {
        let dir = temp_dir("mkdir").join("run/mrproxy");
        let path = dir.join("mrproxy.sock");
        runtime().block_on(async {
            let socket = ControlSocket::bind(&path, None).await.unwrap();
            let mode = std::fs::metadata(&dir).unwrap().mode() & 0o777;
            assert_eq!(mode, 0o755);
            assert!(
                std::fs::symlink_metadata(&path)
                    .unwrap()
                    .file_type()
                    .is_socket()
            );
            drop(socket);
        });
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_refused_and_kept() {
        let dir = temp_dir("notsock");
        let path = dir.join("mrproxy.conf");
        std::fs::write(&path, b"phyint eth0 upstream\n").unwrap();
        let e = check_path(&path).unwrap_err();
        assert!(
            e.starts_with(&format!("{} exists and is not a socket", path.display()))
                && !e.contains('\n'),
            "{e}"
        );
        let bound = runtime().block_on(ControlSocket::bind(&path, None));
        assert_eq!(bound.err(), Some(e));
        assert_eq!(std::fs::read(&path).unwrap(), b"phyint eth0 upstream\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_stale_socket_is_replaced_and_a_live_one_refused() {
        let dir = temp_dir("stale");
        let path = dir.join("s.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(std::fs::symlink_metadata(&path).is_ok(), "stale file left");
        runtime().block_on(async {
            let live = ControlSocket::bind(&path, None).await.unwrap();
            let second = ControlSocket::bind(&path, None).await;
            assert!(
                second
                    .as_ref()
                    .err()
                    .is_some_and(|e| e.starts_with("another mrproxy answers")),
                "{:?}",
                second.err()
            );
            drop(live);
        });
        let _ = std::fs::remove_dir_all(&dir);
    }
}
