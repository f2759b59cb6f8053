//! The recording server against what a web page, a stray network peer or a careless
//! client can send it (issue 25): each request is written by hand on a socket, so the
//! test says exactly which `Host`, `Origin` and `Content-Type` arrive.

use std::net::SocketAddr;

use recording_server::{RecordingServer, RunningServer, TOKEN_HEADER};
use tests::faulty_server::{Behaviour, FaultyServer, recordings_snapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An answer read off the socket.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// Sends `head` (request line and headers, without the blank line) and `body`, with
/// `Connection: close` and the body's length, and reads the whole answer.
async fn send(addr: SocketAddr, head: &str, body: &str) -> Answer {
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    let request = format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket
        .write_all(request.as_bytes())
        .await
        .expect("request sent");
    let mut bytes = Vec::new();
    socket.read_to_end(&mut bytes).await.expect("answer read");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    Answer {
        status,
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

const CHAT: &str = r#"{"model": "m", "messages": [{"role": "user", "content": "hi"}]}"#;

/// A server in record mode whose upstream answers every request, and the upstream.
async fn recording_server(
    dir: &std::path::Path,
    with: impl FnOnce(RecordingServer) -> RecordingServer,
) -> (RunningServer, FaultyServer) {
    let upstream = FaultyServer::start(Behaviour::Json(
        r#"{"id": "c1", "object": "chat.completion", "created": 1, "model": "m", "choices": []}"#
            .to_owned(),
    ))
    .await;
    let server = with(
        upstream
            .recording_front(dir)
            .openai_api_key("sk-upstream-key-000"),
    )
    .start()
    .await
    .expect("starts");
    (server, upstream)
}

#[tokio::test]
async fn a_cross_site_page_cannot_record_or_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, upstream) = recording_server(dir.path(), |server| server).await;
    let addr = server.addr();
    let port = addr.port();

    // A "simple" cross-site POST: text/plain, which a page sends without a preflight.
    let answer = send(
        addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: https://evil.example\r\nContent-Type: text/plain"
        ),
        CHAT,
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("https://evil.example"),
        "{}",
        answer.body
    );

    // The same without an Origin (a page's form can leave it out in old browsers) is
    // still not JSON by its content type.
    let answer = send(
        addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain"
        ),
        CHAT,
    )
    .await;
    assert_eq!(answer.status, 415, "{}", answer.body);
    assert!(answer.body.contains("application/json"), "{}", answer.body);

    // DNS rebinding: the page's own name, pointed at 127.0.0.1.
    let answer = send(
        addr,
        &format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: rebound.evil.example:{port}\r\nContent-Type: application/json"
        ),
        CHAT,
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(
        answer.body.contains("rebound.evil.example"),
        "{}",
        answer.body
    );
    assert_eq!(
        answer.body.matches("127.0.0.1").count(),
        1,
        "each allowed name once: {}",
        answer.body
    );
    let answer = send(
        addr,
        &format!("GET /v1/models HTTP/1.1\r\nHost: rebound.evil.example:{port}"),
        "",
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);

    assert!(
        upstream.requests().is_empty(),
        "the upstream's key was never spent"
    );
    assert!(
        recordings_snapshot(dir.path()).is_empty(),
        "nothing written"
    );

    // What an SDK sends passes: loopback names, no Origin or a local one, JSON.
    for (host, origin) in [
        (format!("127.0.0.1:{port}"), None),
        (
            format!("localhost:{port}"),
            Some(format!("http://localhost:{port}")),
        ),
    ] {
        let origin = origin.map_or(String::new(), |origin| format!("\r\nOrigin: {origin}"));
        let answer = send(
            addr,
            &format!(
                "POST /v1/chat/completions HTTP/1.1\r\nHost: {host}{origin}\r\nContent-Type: application/json; charset=utf-8"
            ),
            CHAT,
        )
        .await;
        assert_eq!(answer.status, 200, "{host}: {}", answer.body);
    }
    assert_eq!(upstream.requests().len(), 2);
}

#[tokio::test]
async fn allowed_hosts_and_a_token_are_what_a_shared_setup_uses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, upstream) = recording_server(dir.path(), |server| {
        server.allow_host("recorder").token("tok-shared-123")
    })
    .await;
    let addr = server.addr();
    let post = |auth: &'static str| {
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: recorder:8899\r\nContent-Type: application/json{auth}"
        )
    };

    let answer = send(addr, &post(""), CHAT).await;
    assert_eq!(answer.status, 401, "{}", answer.body);
    assert!(answer.body.contains("token"), "{}", answer.body);
    let answer = send(addr, &post("\r\nAuthorization: Bearer tok-wrong-999"), CHAT).await;
    assert_eq!(answer.status, 401);
    assert!(
        !answer.body.contains("tok-"),
        "no token in an error: {}",
        answer.body
    );
    assert!(upstream.requests().is_empty());

    for auth in [
        "\r\nAuthorization: Bearer tok-shared-123",
        "\r\nx-api-key: tok-shared-123",
    ] {
        let answer = send(addr, &post(auth), CHAT).await;
        assert_eq!(answer.status, 200, "{auth}: {}", answer.body);
    }
    let header = format!("\r\n{TOKEN_HEADER}: tok-shared-123");
    let answer = send(addr, &format!("{}{header}", post("")), CHAT).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    // The token is not the upstream's key, and never goes upstream.
    for request in upstream.requests() {
        let request = String::from_utf8_lossy(&request);
        assert!(!request.contains("tok-shared-123"), "{request}");
        assert!(request.contains("Bearer sk-upstream-key-000"), "{request}");
    }
    assert!(!format!("{server:?}").contains("tok-shared-123"));
}

#[tokio::test]
async fn an_address_other_machines_reach_needs_an_explicit_opt_in() {
    let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
    let err = RecordingServer::new()
        .bind(unspecified)
        .start()
        .await
        .expect_err("refused without allow_remote");
    let message = err.to_string();
    assert!(
        message.contains("0.0.0.0") && message.contains("allow_remote"),
        "{message}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let server = RecordingServer::new()
        .dir(dir.path())
        .bind(unspecified)
        .allow_remote()
        .start()
        .await
        .expect("starts with the opt-in");
    let answer = send(
        SocketAddr::from(([127, 0, 0, 1], server.addr().port())),
        &format!(
            "GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:{}",
            server.addr().port()
        ),
        "",
    )
    .await;
    // A replay miss: the request got past the checks.
    assert_eq!(answer.status, 404, "{}", answer.body);
    assert!(answer.body.contains("replay miss"), "{}", answer.body);
    assert!(answer.head.contains("application/json"), "{}", answer.head);
}
