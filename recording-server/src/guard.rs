//! Who may use the server: the checks every request passes before it reaches an
//! engine.
//!
//! The server holds an upstream key and writes files, so a web page the developer
//! happens to visit must not be able to drive it. A browser can send a "simple"
//! cross-site POST (`text/plain`, no preflight) to any loopback port, and with DNS
//! rebinding a page on a name it controls can even read the answer. So a request must
//! name the server by a host it was told to answer to (`Host`), must not come from a
//! foreign page (`Origin`), and must say its body is JSON (`Content-Type`), which no
//! simple cross-site request can; with a token set, it must carry the token as well.

use axum::http::{HeaderMap, StatusCode, header};

/// The header a client can send the server's token in, besides `Authorization: Bearer`
/// (what an OpenAI SDK sends its API key as) and `x-api-key`.
pub const TOKEN_HEADER: &str = "x-recording-token";

/// The host names a loopback server answers to whatever it is told.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// What a request must satisfy.
#[derive(Clone, Default)]
pub(crate) struct Guard {
    /// The host names (lower case, without a port) `Host` and `Origin` may name
    /// besides the loopback ones (the bound address when it is not loopback, and those
    /// the user allowed); `*` allows any.
    pub(crate) hosts: Vec<String>,
    /// The token a request must carry, when one is set.
    pub(crate) token: Option<String>,
}

// By hand: the token is a secret, and a server's `Debug` may reach a log.
impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("hosts", &self.hosts)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

/// Why a request was refused: its status and a message that names the header.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl Guard {
    /// Whether the request may be answered at all, from its headers alone: checked
    /// before its body is read.
    pub(crate) fn admits(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let forbidden = |message: String| Refusal {
            status: StatusCode::FORBIDDEN,
            message,
        };
        if let Some(host) = headers.get(header::HOST) {
            let host = host.to_str().unwrap_or_default();
            if !self.allows(host_name(host)) {
                return Err(forbidden(format!(
                    "the recording server answers to localhost, 127.0.0.1 and [::1]{}, not to Host {host:?} (a page on another name, DNS rebinding?); allow a name with --allow-host NAME (RecordingServer::allow_host)",
                    self.also()
                )));
            }
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            let host = origin
                .split_once("://")
                .map(|(_, rest)| host_name(rest))
                .unwrap_or_default();
            if !self.allows(host) {
                return Err(forbidden(format!(
                    "the recording server does not answer pages from Origin {origin:?}: a web page could spend the upstream's key and write recordings; allow its host with --allow-host NAME (RecordingServer::allow_host)"
                )));
            }
        }
        if let Some(token) = &self.token
            && !carries(headers, token)
        {
            return Err(Refusal {
                status: StatusCode::UNAUTHORIZED,
                message: format!(
                    "the recording server wants its token (serve --token): send it as Authorization: Bearer TOKEN (an OpenAI SDK's api_key), x-api-key or {TOKEN_HEADER}"
                ),
            });
        }
        Ok(())
    }

    /// Whether a body (`has_body`: not blank) was sent as JSON, which a cross-site
    /// "simple" request cannot do.
    pub(crate) fn json_body(headers: &HeaderMap, has_body: bool) -> Result<(), Refusal> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        if !has_body || content_type.is_some_and(is_json) {
            return Ok(());
        }
        Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            message: format!(
                "the recording server takes JSON bodies sent as Content-Type: application/json (what the SDKs send), not {}",
                content_type.map_or("none".to_owned(), |value| format!("{value:?}"))
            ),
        })
    }

    fn allows(&self, host: &str) -> bool {
        LOOPBACK_HOSTS
            .iter()
            .any(|loopback| loopback.eq_ignore_ascii_case(host))
            || self
                .hosts
                .iter()
                .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(host))
    }

    /// The configured hosts, for a message.
    fn also(&self) -> String {
        self.hosts.iter().map(|host| format!(", {host}")).collect()
    }
}

/// The host of `host[:port]` (an IPv6 address keeps its brackets).
fn host_name(authority: &str) -> &str {
    let authority = authority.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// `application/json`, or a `+json` type, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let ends_with = |suffix: &str| {
        subtype.len() >= suffix.len()
            && subtype.as_bytes()[subtype.len() - suffix.len()..]
                .eq_ignore_ascii_case(suffix.as_bytes())
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || ends_with("+json"))
}

/// Whether a request carries `token` in one of the headers clients can send it in.
fn carries(headers: &HeaderMap, token: &str) -> bool {
    let offered = [
        headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ")),
        headers
            .get("x-api-key")
            .and_then(|value| value.to_str().ok()),
        headers
            .get(TOKEN_HEADER)
            .and_then(|value| value.to_str().ok()),
    ];
    offered
        .into_iter()
        .flatten()
        .any(|offered| same_secret(offered.trim().as_bytes(), token.as_bytes()))
}

/// Compares in time that depends on the lengths only, so a client cannot find the
/// token a byte at a time.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_the_port_and_keep_ipv6_brackets() {
        assert_eq!(host_name("127.0.0.1:8899"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8899"), "[::1]");
        assert_eq!(host_name("localhost"), "localhost");
        assert_eq!(host_name("evil.example:80/path"), "evil.example");
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(is_json("APPLICATION/VND.API+JSON"));
        assert!(!is_json("application/jsonl"));
        assert!(!is_json("text/json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("multipart/form-data; boundary=x"));
    }
}
