"""The official Anthropic Python SDK replays the committed recordings through
`inference-recorder serve`, by base URL alone: a message, a streamed message (the SDK's
own event parser reads the replayed `event:` lines), and a tool-use round trip whose
follow-up echoes the recorded tool-use id.

The recordings were made from llama-server's `/v1/messages` by the Rust suite
(tests/tests/replay_committed_anthropic.rs); these requests are the same JSON.
"""

import os

import anthropic
import pytest

MODEL = "SmolLM2-135M-Instruct"
SYSTEM = "You are a terse assistant."
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a city",
    "input_schema": {
        "type": "object",
        "required": ["city"],
        "properties": {"city": {"type": "string", "description": "The city"}},
    },
}
WEATHER_MESSAGES = [
    {"role": "user", "content": "What is the weather in Berlin?"},
    {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_example", "name": "get_weather",
             "input": {"city": "Berlin"}}
        ],
    },
    {"role": "user", "content": "What is the weather in Paris?"},
]
# Sent as the Rust suite sent it; this SDK version takes no `temperature` argument.
GREEDY = {"temperature": 0.0}
TOOL_SYSTEM = "You answer every question with exactly one tool call and no other text."


def client(urls):
    # max_retries=0: a miss must fail at once, not be retried.
    return anthropic.Anthropic(base_url=urls[2], api_key="sk-ant-unused", max_retries=0)


def test_message(urls):
    message = client(urls).messages.create(
        model=MODEL, max_tokens=24, system=SYSTEM, extra_body=GREEDY,
        messages=[{"role": "user", "content": "Say hello."}],
    )
    assert message.id.startswith("msg_rec-")
    assert message.content[0].type == "text" and message.content[0].text
    assert 0 < message.usage.output_tokens <= 24


def test_streamed_message(urls):
    with client(urls).messages.stream(
        model=MODEL, max_tokens=24, system=SYSTEM, extra_body=GREEDY,
        messages=[{"role": "user", "content": "Count to three."}],
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop", kinds
    assert "content_block_delta" in kinds, kinds
    assert final.id.startswith("msg_rec-")
    assert final.content[0].text
    assert final.stop_reason in ("end_turn", "max_tokens")


def test_a_tool_use_round_trip(urls):
    sdk = client(urls)
    tools = {"system": TOOL_SYSTEM, "tools": [WEATHER_TOOL], "extra_body": GREEDY}
    asked = sdk.messages.create(
        model=MODEL, max_tokens=48, messages=WEATHER_MESSAGES,
        tool_choice={"type": "tool", "name": "get_weather"}, **tools,
    )
    assert asked.stop_reason == "tool_use"
    call = next(block for block in asked.content if block.type == "tool_use")
    assert call.name == "get_weather" and call.id.startswith("toolu_rec-")
    follow_up = WEATHER_MESSAGES + [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call.id, "content": "18 C and sunny"}]},
    ]
    answer = sdk.messages.create(
        model=MODEL, max_tokens=32, messages=follow_up, tool_choice={"type": "none"}, **tools,
    )
    assert answer.content[0].type == "text" and answer.content[0].text


def test_a_changed_request_is_a_clear_miss_in_anthropics_error_shape(urls):
    if os.environ.get("TEST_INFERENCE_MODE", "replay") != "replay":
        pytest.skip("only replay misses")
    with pytest.raises(anthropic.NotFoundError) as miss:
        client(urls).messages.create(
            model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "Never recorded"}]
        )
    assert miss.value.body["type"] == "error", miss.value.body
    text = str(miss.value)
    assert "inference-recorder serve --mode record-if-missing" in text, text
    assert "--anthropic-upstream URL" in text, text
