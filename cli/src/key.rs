//! `key`: the key of a request, so that any language can check which file answers it.

use std::io::Read;
use std::path::PathBuf;

use recording_core::redact::{Secrets, default_fields, redact_request};
use recording_core::{ApiRequest, Method, request_hash};
use serde::Deserialize;
use serde_json::Value;

/// The arguments of `key`.
#[derive(clap::Args)]
pub struct Key {
    /// A JSON file `{"method": "POST", "endpoint": "/v1/chat/completions", "body":
    /// {...}, "scope": "..."}` (method defaults to POST; body to null; scope to none);
    /// `-` reads it from standard input.
    request: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    #[serde(default = "post")]
    method: Method,
    endpoint: String,
    #[serde(default)]
    body: Value,
    #[serde(default)]
    scope: Option<String>,
}

fn post() -> Method {
    Method::Post
}

pub fn key(args: Key) -> Result<u8, String> {
    let text = if args.request.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|err| format!("standard input: {err}"))?;
        text
    } else {
        std::fs::read_to_string(&args.request)
            .map_err(|err| format!("{}: {err}", args.request.display()))?
    };
    let file: RequestFile = serde_json::from_str(&text).map_err(|err| {
        format!(
            "{}: not a request ({err}); expected {{\"method\", \"endpoint\", \"body\", \"scope\"}}",
            args.request.display()
        )
    })?;
    if !file.endpoint.starts_with('/') {
        return Err(format!(
            "{}: endpoint {:?} must be a path such as /v1/chat/completions",
            args.request.display(),
            file.endpoint
        ));
    }
    let request = ApiRequest {
        method: file.method,
        endpoint: file.endpoint,
        body: file.body,
    };
    // As a recorder keys it: the default redacted fields out first.
    let redacted = redact_request(&request, &default_fields(), &Secrets::default());
    println!(
        "{}",
        request_hash(redacted.as_ref().unwrap_or(&request), file.scope.as_deref())
    );
    Ok(0)
}
