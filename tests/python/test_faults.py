"""Failure handling tested on real recorded answers: `inference-recorder serve` injects
the fault a request's `X-Recording-Fault` header names, and the official SDKs handle it
as they would a real server's: a 429 (or Anthropic's 529) on the first call is retried
into the recorded answer, and a stream cut after its first chunks ends early.

The requests are those of test_openai_replay.py and test_anthropic_replay.py, so they
replay the same recordings. Each rule that counts calls (`call=1`) is used by one test
only: the server counts a request's calls across the session.
"""

import anthropic
import openai
import pytest

MODEL = "SmolLM2-135M-Instruct"
HELLO = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Say hello."},
]
COUNT = [HELLO[0], {"role": "user", "content": "Count to three."}]
GREEDY = {"max_completion_tokens": 24, "seed": 42, "temperature": 0.0}


def fault(rule):
    return {"X-Recording-Fault": rule}


def test_the_openai_sdk_retries_a_429_into_the_recorded_answer(urls):
    client = openai.OpenAI(base_url=urls[0], api_key="sk-unused", max_retries=2)
    raw = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=HELLO, **GREEDY,
        extra_headers=fault("status=429;retry-after=0;call=1"),
    )
    completion = raw.parse()
    assert raw.retries_taken == 1, "the first call got the 429"
    assert completion.id.startswith("rec-") and completion.choices[0].message.content


def test_without_retries_the_openai_sdk_raises_the_rate_limit(urls):
    client = openai.OpenAI(base_url=urls[0], api_key="sk-unused", max_retries=0)
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(
            model=MODEL, messages=HELLO, **GREEDY, extra_headers=fault("status=429"),
        )
    assert raised.value.status_code == 429
    assert raised.value.response.headers["retry-after"] == "1"
    assert raised.value.body["code"] == "rate_limit_exceeded"


def test_an_openai_stream_cut_after_two_chunks_ends_there(urls):
    client = openai.OpenAI(base_url=urls[0], api_key="sk-unused", max_retries=0)
    whole = list(client.chat.completions.create(model=MODEL, messages=COUNT, stream=True, **GREEDY))
    cut = list(client.chat.completions.create(
        model=MODEL, messages=COUNT, stream=True, **GREEDY, extra_headers=fault("cut=2"),
    ))
    # As against a server that closes the stream without `data: [DONE]`: the SDK ends.
    assert [chunk.model_dump() for chunk in cut] == [chunk.model_dump() for chunk in whole[:2]]
    assert whole[-1].choices == [] or whole[-1].choices[0].finish_reason
    assert all(not chunk.choices or chunk.choices[0].finish_reason is None for chunk in cut)


def test_an_openai_stream_error_event_raises(urls):
    client = openai.OpenAI(base_url=urls[0], api_key="sk-unused", max_retries=0)
    stream = client.chat.completions.create(
        model=MODEL, messages=COUNT, stream=True, **GREEDY, extra_headers=fault("error=2"),
    )
    with pytest.raises(openai.APIError) as raised:
        list(stream)
    assert "The server had an error" in str(raised.value)


ANTHROPIC = {"model": MODEL, "max_tokens": 24, "system": "You are a terse assistant.",
             "extra_body": {"temperature": 0.0}}


def test_the_anthropic_sdk_retries_a_529_into_the_recorded_answer(urls):
    client = anthropic.Anthropic(base_url=urls[2], api_key="sk-ant-unused", max_retries=2)
    raw = client.messages.with_raw_response.create(
        messages=[{"role": "user", "content": "Say hello."}], **ANTHROPIC,
        extra_headers=fault("status=529;retry-after=0;call=1"),
    )
    message = raw.parse()
    assert raw.retries_taken == 1, "the first call was overloaded"
    assert message.id.startswith("msg_rec-") and message.content[0].text


def test_without_retries_the_anthropic_sdk_raises_overloaded(urls):
    client = anthropic.Anthropic(base_url=urls[2], api_key="sk-ant-unused", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as raised:
        client.messages.create(
            messages=[{"role": "user", "content": "Say hello."}], **ANTHROPIC,
            extra_headers=fault("status=529"),
        )
    assert raised.value.status_code == 529
    assert raised.value.body["error"]["type"] == "overloaded_error"


def test_an_anthropic_stream_cut_before_message_stop_ends_early(urls):
    client = anthropic.Anthropic(base_url=urls[2], api_key="sk-ant-unused", max_retries=0)
    with client.messages.stream(
        messages=[{"role": "user", "content": "Count to three."}], **ANTHROPIC,
        extra_headers=fault("cut=3"),
    ) as stream:
        kinds = [event.type for event in stream]
    assert kinds[0] == "message_start" and "message_stop" not in kinds, kinds
    assert len(kinds) <= 4, kinds


def test_an_anthropic_stream_error_event_raises(urls):
    client = anthropic.Anthropic(base_url=urls[2], api_key="sk-ant-unused", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as raised:
        with client.messages.stream(
            messages=[{"role": "user", "content": "Count to three."}], **ANTHROPIC,
            extra_headers=fault("error=2"),
        ) as stream:
            list(stream)
    assert "overloaded_error" in str(raised.value) or "Overloaded" in str(raised.value)
