//! `key`: the key of a request, so that any language can check which file answers it.

use std::io::Read;
use std::path::PathBuf;

use recording_core::key::{KeySettings, key_with};
use recording_core::{ApiRequest, Method};
use serde::Deserialize;
use serde_json::Value;

/// The arguments of `key`.
#[derive(clap::Args)]
pub(crate) struct Key {
    /// A JSON file `{"method": "POST", "endpoint": "/v1/chat/completions", "body":
    /// {...}, "scope": "...", "provider": "openai"}` (method defaults to POST; body to
    /// null; scope to none; provider to the endpoint's: /api/* is Ollama); `-` reads it
    /// from standard input.
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
    #[serde(default)]
    provider: Option<String>,
}

fn post() -> Method {
    Method::Post
}

pub(crate) fn key(args: Key) -> Result<u8, String> {
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
    // As a recorder keys it: the default redacted fields and the provider's volatile
    // request fields out.
    let provider = registry::PROVIDERS
        .for_recording(file.provider.as_deref(), &request.endpoint)
        .map_err(|why| format!("{}: {why}", args.request.display()))?;
    // And as the suite's settings in the environment key it (patterns, equivalence).
    let settings = KeySettings::from_env().map_err(|err| err.to_string())?;
    println!(
        "{}",
        key_with(&request, file.scope.as_deref(), provider.rules(), &settings)
    );
    Ok(0)
}
