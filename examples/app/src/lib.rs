//! A small app on async-openai and ollama-rs, written as apps are: it takes its clients
//! from the caller and never knows whether they talk to a model server or to
//! recordings. The tests in `tests/` replay its calls through Inference Recorder.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::chat::{
    ChatCompletionRequestSystemMessageArgs, ChatCompletionRequestUserMessageArgs,
    CreateChatCompletionRequest, CreateChatCompletionRequestArgs,
};
use futures::StreamExt;
use ollama_rs::Ollama;
use ollama_rs::error::OllamaError;
use ollama_rs::generation::completion::request::GenerationRequest;
use ollama_rs::models::ModelOptions;

/// The model the app asks for: SmolLM2-135M-Instruct, served by llama.cpp's
/// `llama-server --alias SmolLM2-135M-Instruct`.
pub const MODEL: &str = "SmolLM2-135M-Instruct";

fn question(text: &str) -> Result<CreateChatCompletionRequest, OpenAIError> {
    CreateChatCompletionRequestArgs::default()
        .model(MODEL)
        .messages(vec![
            ChatCompletionRequestSystemMessageArgs::default()
                .content("You are a terse assistant.")
                .build()?
                .into(),
            ChatCompletionRequestUserMessageArgs::default()
                .content(text)
                .build()?
                .into(),
        ])
        .max_completion_tokens(24u32)
        .temperature(0.0)
        .seed(42)
        .build()
}

/// Asks `text` and returns the answer.
pub async fn ask(client: &Client<OpenAIConfig>, text: &str) -> Result<String, OpenAIError> {
    let response = client.chat().create(question(text)?).await?;
    Ok(response
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .unwrap_or_default())
}

/// Asks `text` and assembles the streamed answer; also returns how many chunks came.
/// `create_stream` asks for the stream itself: the request says nothing of it.
pub async fn ask_streamed(
    client: &Client<OpenAIConfig>,
    text: &str,
) -> Result<(String, usize), OpenAIError> {
    let mut stream = client.chat().create_stream(question(text)?).await?;
    let (mut answer, mut chunks) = (String::new(), 0);
    while let Some(chunk) = stream.next().await {
        chunks += 1;
        for choice in chunk?.choices {
            answer.push_str(choice.delta.content.as_deref().unwrap_or_default());
        }
    }
    Ok((answer, chunks))
}

/// Llama Guard's verdict on one user message: `true` when it answers "safe".
pub async fn is_safe(ollama: &Ollama, message: &str) -> Result<bool, OllamaError> {
    let prompt = format!(
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n\
Task: Check if there is unsafe content in 'User' messages in conversations according our safety policy with the below categories.\n\n\
<BEGIN UNSAFE CONTENT CATEGORIES>\nS1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS5: Defamation.\n\
S6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\n\
S13: Elections.\nS14: Code Interpreter Abuse.\n<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\nUser: {message}\n\n<END CONVERSATION>\n\n\
Provide your safety assessment for ONLY THE LAST User message in the above conversation:\n \
- First line must read 'safe' or 'unsafe'.\n \
- If unsafe, a second line must include a comma-separated list of violated categories.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    let request = GenerationRequest::new("llama-guard3:1b".into(), prompt)
        .raw(true)
        .options(ModelOptions::default().temperature(0.0));
    let verdict = ollama.generate(request).await?.response;
    Ok(verdict.trim().starts_with("safe"))
}

/// A sentence with `word` in it, streamed by Ollama and assembled.
pub async fn sentence_with(ollama: &Ollama, word: &str) -> Result<String, OllamaError> {
    let prompt = format!(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|>\
<|start_header_id|>user<|end_header_id|>\n\nGive me a sentence that contains the word: {word}<|eot_id|>\
<|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    let request = GenerationRequest::new("llama3.2:3b-instruct-fp16".into(), prompt)
        .raw(true)
        .options(ModelOptions::default().temperature(0.0001));
    let mut stream = ollama.generate_stream(request).await?;
    let mut sentence = String::new();
    while let Some(responses) = stream.next().await {
        for response in responses? {
            sentence.push_str(&response.response);
        }
    }
    Ok(sentence)
}
