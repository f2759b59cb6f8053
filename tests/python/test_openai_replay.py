"""The official OpenAI Python SDK replays the committed recordings through
`inference-recorder serve`: chat, streamed chat and embeddings, with no model server.

The server runs in the mode of TEST_INFERENCE_MODE (default replay) over
tests/recordings/. To record what is missing, against llama.cpp:

    scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record-if-missing \
        python3 -m pytest tests/python

(`LLAMA_CHAT_URL` and `LLAMA_EMBEDDINGS_URL` then name the upstreams.)
"""

import os

import openai
import pytest


def client(url):
    # max_retries=0: a miss must fail at once, not be retried.
    return openai.OpenAI(base_url=url, api_key="sk-unused", max_retries=0)


MODEL = "SmolLM2-135M-Instruct"

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]


def test_chat_completion(urls):
    response = client(urls[0]).chat.completions.create(
        model=MODEL, messages=MESSAGES, max_completion_tokens=24, seed=42, temperature=0.0
    )
    assert response.id.startswith("rec-")
    assert response.created == 0
    assert response.choices[0].message.content
    assert 0 < response.usage.completion_tokens <= 24


def test_streamed_chat_completion(urls):
    messages = [MESSAGES[0], {"role": "user", "content": "Count to three."}]
    stream = client(urls[0]).chat.completions.create(
        model=MODEL,
        messages=messages,
        max_completion_tokens=24,
        seed=42,
        temperature=0.0,
        stream=True,
    )
    chunks = list(stream)
    assert len(chunks) > 1
    assert all(chunk.id.startswith("rec-") for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text


def test_embeddings(urls):
    # The SDK asks for base64 vectors unless told otherwise, and decodes them.
    response = client(urls[1]).embeddings.create(
        model=MODEL, input=["The sky is blue.", "Recordings make tests deterministic."]
    )
    assert len(response.data) == 2
    assert all(len(item.embedding) == 576 for item in response.data)


def test_a_changed_request_is_a_clear_miss(urls):
    if os.environ.get("TEST_INFERENCE_MODE", "replay") != "replay":
        pytest.skip("only replay misses")
    with pytest.raises(openai.NotFoundError) as miss:
        client(urls[0]).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "Never recorded"}]
        )
    text = str(miss.value)
    # Told what records it from here: serve's flags, not a Rust command, and no hint
    # to make the prompt volatile.
    assert "inference-recorder serve --mode record-if-missing" in text, text
    assert "--openai-upstream URL" in text, text
    assert "cargo test" not in text, text
    assert "volatile" not in text, text
