//! The main job in one program: typed OpenAI and Ollama calls answered from the
//! committed recordings, with no server and no key.
//!
//! ```sh
//! cargo run -p tests --example quickstart
//! ```
//!
//! `RUST_LOG=debug` adds a line per call saying what the recorder did. With
//! `TEST_INFERENCE_MODE=live` the same calls go to real servers instead:
//! `OPENAI_BASE_URL` (and `OPENAI_API_KEY`; `OPENAI_EMBEDDINGS_BASE_URL` if embeddings
//! live on another server, as with llama.cpp) and `OLLAMA_HOST`.

use std::error::Error;

use futures::StreamExt;
use provider_ollama::{OllamaApi, OllamaClient};
use provider_openai::{OpenAIConfig, OpenAiApi, OpenAiClient};
use recording_core::{InferenceClient, Mode, Recording};
use tests::{ollama_requests, requests};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    // `RUST_LOG=debug` shows, per call, the mode, the request hash and hit/miss/recorded.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    // The one-line swap: wrap the real client. Replay is the default mode.
    let openai = Recording::from_env(OpenAiClient::from_env())?;
    let embeddings_config = match std::env::var("OPENAI_EMBEDDINGS_BASE_URL") {
        Ok(url) => OpenAIConfig::new().with_api_base(url),
        Err(_) => OpenAIConfig::new(),
    };
    let openai_embeddings = Recording::from_env(OpenAiClient::new(embeddings_config))?;
    let ollama = Recording::from_env(OllamaClient::from_env())?;
    println!(
        "mode: {}, recordings: {}\n",
        openai.current_mode(),
        openai.recordings_dir().display()
    );

    // Outside replay the calls need real servers; a section without one is skipped.
    let replaying = openai.current_mode() == Mode::Replay;
    if replaying || std::env::var_os("OPENAI_BASE_URL").is_some() {
        openai_section(&openai, &openai_embeddings).await?;
    } else {
        println!("OpenAI-compatible: skipped (set OPENAI_BASE_URL to reach a server)");
    }
    if replaying || std::env::var_os("OLLAMA_HOST").is_some() {
        ollama_section(&ollama).await?;
    } else {
        println!("\nOllama: skipped (set OLLAMA_HOST to reach a server)");
    }
    Ok(())
}

async fn openai_section(
    openai: &dyn InferenceClient,
    openai_embeddings: &dyn InferenceClient,
) -> Result<(), Box<dyn Error>> {
    println!(
        "OpenAI-compatible API (recorded from llama.cpp's llama-server running SmolLM2-135M-Instruct):"
    );
    let chat = openai.chat(requests::chat("Say hello.")).await?;
    let reply = chat.choices[0].message.content.clone().unwrap_or_default();
    println!(
        "  chat completion   {:?}  ({} tokens)",
        reply,
        usage(&chat.usage)
    );
    let mut stream = openai
        .chat_stream(requests::chat("Count to three."))
        .await?;
    let mut streamed = String::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        chunks += 1;
        for choice in chunk.choices {
            streamed.push_str(choice.delta.content.as_deref().unwrap_or_default());
        }
    }
    println!("  streamed chat     {streamed:?}  ({chunks} chunks)");
    // A tool call: the model asks for `get_weather`; the answer to it goes back.
    let asked = openai.chat(requests::tool_call()).await?;
    let calls = asked.choices[0]
        .message
        .tool_calls
        .clone()
        .unwrap_or_default();
    let call = serde_json::to_value(calls.first().ok_or("the model called no tool")?)?;
    println!(
        "  tool call         {}({})",
        call["function"]["name"].as_str().unwrap_or_default(),
        call["function"]["arguments"].as_str().unwrap_or_default()
    );
    let answered = openai
        .chat(requests::tool_result(
            &call,
            r#"{"temperature_c": 21, "sky": "sunny"}"#,
        ))
        .await?;
    println!(
        "  after the tool    {:?}",
        answered.choices[0]
            .message
            .content
            .clone()
            .unwrap_or_default()
    );
    let json = openai.chat(requests::json_answer()).await?;
    let json = json.choices[0].message.content.clone().unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_str(&json)?;
    println!("  JSON answer       {parsed}");
    let embedded = openai_embeddings.embeddings(requests::embeddings()).await?;
    println!(
        "  embeddings        {} vectors of {} floats",
        embedded.data.len(),
        embedded.data.first().map_or(0, |d| d.embedding.len())
    );

    Ok(())
}

async fn ollama_section(ollama: &dyn InferenceClient) -> Result<(), Box<dyn Error>> {
    println!("\nOllama API (the recordings hold real Ollama responses):");
    let generated = ollama.generate(ollama_requests::guard()).await?;
    println!(
        "  generate          {:?}  (model {})",
        generated.response, generated.model
    );
    let mut stream = ollama.generate_stream(ollama_requests::sentence()).await?;
    let mut streamed = String::new();
    let mut chunks = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        chunks += 1;
        streamed.push_str(&chunk.response);
    }
    println!("  streamed generate {streamed:?}  ({chunks} chunks)");
    let embedded = ollama.generate_embeddings(ollama_requests::embed()).await?;
    println!(
        "  embed             {} vector of {} floats",
        embedded.embeddings.len(),
        embedded.embeddings.first().map_or(0, Vec::len)
    );
    Ok(())
}

fn usage(usage: &Option<provider_openai::types::chat::CompletionUsage>) -> u32 {
    usage.as_ref().map_or(0, |u| u.total_tokens)
}
