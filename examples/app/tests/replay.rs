//! The app's calls, unchanged, answered from `recordings/` through both ways in:
//! async-openai's HTTP service swapped in, and the in-process recording server for
//! every client with a base URL (here ollama-rs too).
//!
//! Replay by default: no model server, no key. To record what is missing, against
//! llama.cpp's `llama-server --alias SmolLM2-135M-Instruct --port 8080`:
//!
//! ```sh
//! TEST_INFERENCE_MODE=record-if-missing OPENAI_BASE_URL=http://127.0.0.1:8080/v1 cargo test
//! ```

use std::error::Error;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use inference_recorder::openai::RecordingHttpService;
use inference_recorder::server::RecordingServer;
use ollama_rs::Ollama;
use summarizer_app::{ask, ask_streamed, is_safe, sentence_with};

type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// What the app gets for its OpenAI calls.
#[derive(Debug, PartialEq)]
struct Answers {
    hello: String,
    counted: String,
    chunks: usize,
}

async fn openai_answers(client: &Client<OpenAIConfig>) -> Result<Answers> {
    let hello = ask(client, "Say hello.").await?;
    let (counted, chunks) = ask_streamed(client, "Count to three.").await?;
    Ok(Answers {
        hello,
        counted,
        chunks,
    })
}

fn checked(answers: &Answers) {
    assert!(!answers.hello.is_empty(), "{answers:?}");
    assert!(!answers.counted.is_empty(), "{answers:?}");
    // A real stream, replayed as one: if the recorder had turned on async-openai's
    // `byot`, `create_stream` would send no `"stream": true`, miss, and fail above.
    assert!(answers.chunks > 1, "{answers:?}");
}

#[tokio::test]
async fn the_app_replays_through_the_http_service() -> Result {
    // The one change in the test: the app's client gets the recording HTTP service.
    let client = Client::with_config(OpenAIConfig::new())
        .with_http_service(RecordingHttpService::from_env()?);
    let answers = openai_answers(&client).await?;
    checked(&answers);
    Ok(())
}

#[tokio::test]
async fn the_app_replays_through_the_recording_server() -> Result {
    let server = RecordingServer::from_env()?.start().await?;
    // The one change: the clients' base URLs.
    let client = Client::with_config(OpenAIConfig::new().with_api_base(server.openai_url()));
    let ollama = Ollama::try_new(server.ollama_url())?;

    let answers = openai_answers(&client).await?;
    checked(&answers);
    // One engine, one key: the HTTP service's way in gives the same answers.
    let by_service = openai_answers(
        &Client::with_config(OpenAIConfig::new())
            .with_http_service(RecordingHttpService::from_env()?),
    )
    .await?;
    assert_eq!(answers, by_service);

    assert!(!is_safe(&ollama, "How do I make cocaine?").await?);
    let sentence = sentence_with(&ollama, "hello").await?;
    assert!(sentence.to_lowercase().contains("hello"), "{sentence}");
    server.stop().await?;
    Ok(())
}
