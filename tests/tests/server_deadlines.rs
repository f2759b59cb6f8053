//! The recording server against clients that are slow, stuck or gone (issue 25): a
//! deadline for each request's head and body, a refusal of an oversize body before it
//! is sent, a shutdown that ends within its bound, and an answer that is recorded even
//! when its client left before it started.
//!
//! Waits here are bounds on failure (`within`), never the way a test synchronises.

use std::net::SocketAddr;
use std::time::Duration;

use recording_core::Mode;
use recording_server::RecordingServer;
use tests::faulty_server::recordings_snapshot;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// Fails the test when `future` takes longer than `limit`: what would otherwise hang.
async fn within<T>(limit: Duration, what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what} took over {limit:?}"))
}

/// What the server sends on `socket` until it closes it.
async fn read_all(socket: &mut TcpStream) -> String {
    let mut bytes = Vec::new();
    // A reset after the answer still leaves what came before it.
    let _ = socket.read_to_end(&mut bytes).await;
    String::from_utf8_lossy(&bytes).into_owned()
}

async fn replay_server(
    dir: &std::path::Path,
    with: impl FnOnce(RecordingServer) -> RecordingServer,
) -> recording_server::RunningServer {
    with(RecordingServer::new().mode(Mode::Replay).dir(dir))
        .start()
        .await
        .expect("starts")
}

#[tokio::test]
async fn a_body_announced_too_large_is_refused_before_it_is_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = replay_server(dir.path(), |server| server.max_body(4096)).await;
    let mut socket = TcpStream::connect(server.addr()).await.expect("connects");
    socket
        .write_all(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 52428800\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .expect("head sent");
    // Not a byte of the body is sent: the answer must come from the head alone.
    let answer = within(
        Duration::from_secs(10),
        "the refusal",
        read_all(&mut socket),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(!answer.contains("100 Continue"), "{answer}");
    assert!(answer.contains("52428800 bytes"), "{answer}");

    // Sent without a length (chunked), it is refused once it passes the limit.
    let mut socket = TcpStream::connect(server.addr()).await.expect("connects");
    let chunk = "x".repeat(8192);
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    socket.write_all(request.as_bytes()).await.expect("sent");
    let answer = within(
        Duration::from_secs(10),
        "the refusal",
        read_all(&mut socket),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("over 4096 bytes"), "{answer}");
}

#[tokio::test]
async fn a_stuck_head_or_body_does_not_keep_its_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = replay_server(dir.path(), |server| {
        server.read_timeout(Duration::from_millis(300))
    })
    .await;

    // Half a head, then nothing (slowloris): the connection is closed.
    let mut head = TcpStream::connect(server.addr()).await.expect("connects");
    head.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0")
        .await
        .expect("sent");
    let answer = within(
        Duration::from_secs(10),
        "closing a stuck head",
        read_all(&mut head),
    )
    .await;
    assert!(!answer.contains("200 OK"), "{answer}");

    // A whole head, and 10 of the 100 bytes it announced: 408.
    let mut body = TcpStream::connect(server.addr()).await.expect("connects");
    body.write_all(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":",
    )
    .await
    .expect("sent");
    let answer = within(
        Duration::from_secs(10),
        "refusing a stuck body",
        read_all(&mut body),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("read_timeout"), "{answer}");
}

#[tokio::test]
async fn stop_ends_within_its_bound_with_idle_and_stuck_connections_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = replay_server(dir.path(), |server| {
        server
            .read_timeout(Duration::from_secs(3600))
            .shutdown_grace(Duration::from_millis(200))
    })
    .await;
    let addr: SocketAddr = server.addr();

    // An idle keep-alive connection that has had its answer...
    let mut idle = TcpStream::connect(addr).await.expect("connects");
    idle.write_all(b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("sent");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 404");
    // ...and one stuck in its head, which the (hour-long) read timeout will not end.
    let mut stuck = TcpStream::connect(addr).await.expect("connects");
    stuck
        .write_all(b"POST /v1/chat/completions HTTP/1.1\r\n")
        .await
        .expect("sent");

    within(Duration::from_secs(10), "stop", server.stop())
        .await
        .expect("stops");
    // Both are closed.
    within(
        Duration::from_secs(10),
        "closing the stuck one",
        read_all(&mut stuck),
    )
    .await;
    within(
        Duration::from_secs(10),
        "closing the idle one",
        read_all(&mut idle),
    )
    .await;
}

/// An OpenAI-compatible upstream that holds its answer until told to send it, and says
/// when the request has arrived.
async fn held_upstream() -> (String, oneshot::Receiver<()>, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let (arrived_tx, arrived) = oneshot::channel();
    let (release, released) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("a request");
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        // The whole request: the head and the body its length announces.
        loop {
            let read = socket.read(&mut buffer).await.expect("read");
            seen.extend_from_slice(&buffer[..read]);
            let text = String::from_utf8_lossy(&seen);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
            assert!(read > 0, "the request ended early");
        }
        let _ = arrived_tx.send(());
        let _ = released.await;
        let body = r#"{"id":"c1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"worth keeping"},"finish_reason":"stop"}]}"#;
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(answer.as_bytes()).await.expect("answered");
    });
    (url, arrived, release)
}

#[tokio::test]
async fn an_answer_its_client_left_before_is_still_recorded() {
    let (upstream, arrived, release) = held_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .openai_upstream(upstream)
        .start()
        .await
        .expect("starts");
    let body = r#"{"model": "m", "messages": [{"role": "user", "content": "slow"}]}"#;
    let mut client = TcpStream::connect(server.addr()).await.expect("connects");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    client.write_all(request.as_bytes()).await.expect("sent");
    within(Duration::from_secs(10), "the upstream call", arrived)
        .await
        .expect("the request reached the upstream");
    // The client times out and leaves; only then does the upstream answer.
    drop(client);
    let _ = release.send(());
    within(Duration::from_secs(10), "stop", server.stop())
        .await
        .expect("stops");

    let files = recordings_snapshot(dir.path());
    assert_eq!(files.len(), 1, "the answer was recorded");
    let text = String::from_utf8_lossy(files.values().next().expect("a file")).into_owned();
    assert!(text.contains("worth keeping"), "{text}");
}

/// The head deadline runs while a connection waits for a request, never while its
/// answer is being made: an upstream slower than the deadline is answered whole, and
/// the connection then idle for a deadline is closed.
#[tokio::test]
async fn an_answer_slower_than_the_head_deadline_is_not_cut() {
    let deadline = Duration::from_millis(200);
    let (upstream, arrived, release) = held_upstream().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .mode(Mode::RecordIfMissing)
        .dir(dir.path())
        .openai_upstream(upstream)
        .read_timeout(deadline)
        .start()
        .await
        .expect("starts");
    let body = r#"{"model": "m", "messages": [{"role": "user", "content": "slow"}]}"#;
    let mut client = TcpStream::connect(server.addr()).await.expect("connects");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    client.write_all(request.as_bytes()).await.expect("sent");
    within(Duration::from_secs(10), "the upstream call", arrived)
        .await
        .expect("the request reached the upstream");
    // What is under test is a deadline not firing: the upstream holds its answer for
    // three of them.
    tokio::time::sleep(deadline * 3).await;
    let _ = release.send(());
    // The answer comes whole; then, idle for a deadline, the connection is closed (it
    // was kept alive: the request did not ask to close it).
    let answer = within(
        Duration::from_secs(10),
        "the answer and the idle close",
        read_all(&mut client),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.ends_with("worth keeping\"},\"finish_reason\":\"stop\"}]}"),
        "{answer}"
    );
    assert!(
        !answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_key_without_an_upstream_is_an_error_not_api_openai_com() {
    let err = RecordingServer::new()
        .openai_api_key("sk-test-0000000000")
        .start()
        .await
        .expect_err("no upstream to send the key to");
    let message = err.to_string();
    assert!(message.contains("openai_upstream"), "{message}");
    assert!(!message.contains("sk-test"), "{message}");
}

#[tokio::test]
async fn an_anthropic_key_without_an_upstream_is_an_error_too() {
    let err = RecordingServer::new()
        .anthropic_api_key("sk-ant-test-0000000")
        .start()
        .await
        .expect_err("no upstream to send the key to");
    let message = err.to_string();
    assert!(message.contains("anthropic_upstream"), "{message}");
    assert!(!message.contains("sk-ant-test"), "{message}");
}
