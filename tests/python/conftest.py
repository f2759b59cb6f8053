"""What the cross-language suites share: `inference-recorder serve` over
tests/recordings/, started once per session, with its OpenAI, embeddings and Anthropic
base URLs read from the first line it prints.

The server runs in the mode of TEST_INFERENCE_MODE (default replay). To record what is
missing, against llama.cpp:

    scripts/with-llama-servers.sh env TEST_INFERENCE_MODE=record-if-missing \
        python3 -m pytest tests/python

(`LLAMA_CHAT_URL` and `LLAMA_EMBEDDINGS_URL` then name the upstreams; llama-server's
root also serves Anthropic's `/v1/messages`.)
"""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "tests" / "recordings"


def binary() -> str:
    return os.environ.get(
        "INFERENCE_RECORDER_BIN", str(ROOT / "target" / "debug" / "inference-recorder")
    )


def whole_run(config) -> bool:
    """Whether pytest runs every test here: no `-k`, `-m`, node id or deselection.
    Only then does `serve --track` count this suite as a run for
    `inference-recorder unused`."""
    option = config.option
    selected = [arg for arg in config.args if "::" in arg]
    # `lf` belongs to the cache plugin, absent under `-p no:cacheprovider`.
    narrowed = getattr(option, "deselect", None) or getattr(option, "lf", False)
    return not (option.keyword or option.markexpr or selected or narrowed)


def serve(upstream, track):
    """Starts `inference-recorder serve`; returns the process and the base URLs of the
    first line it prints (`openai=...`, `anthropic=...`). An upstream is an OpenAI base
    URL (with its /v1); its root is the Anthropic upstream too, as llama-server serves
    both APIs."""
    args = [binary(), "serve", "--dir", str(RECORDINGS)] + (["--track"] if track else [])
    if upstream:
        root = upstream.rstrip("/").removesuffix("/v1")
        args += ["--openai-upstream", upstream, "--anthropic-upstream", root]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
    assert "openai" in fields and "anthropic" in fields, f"unexpected first line: {line!r}"
    return process, fields


@pytest.fixture(scope="session")
def urls(request):
    """The base URLs for chat, for embeddings and for Anthropic's Messages API: one
    server when replaying, one per llama.cpp upstream when recording (llama.cpp serves
    embeddings separately)."""
    chat, embed = os.environ.get("LLAMA_CHAT_URL"), os.environ.get("LLAMA_EMBEDDINGS_URL")
    recording = os.environ.get("TEST_INFERENCE_MODE", "replay") != "replay"
    processes = []
    try:
        track = whole_run(request.config)
        process, fields = serve(chat if recording else None, track)
        processes.append(process)
        embed_url = fields["openai"]
        if recording and embed:
            process, embed_fields = serve(embed, track)
            processes.append(process)
            embed_url = embed_fields["openai"]
        yield fields["openai"], embed_url, fields["anthropic"]
    finally:
        logs = []
        for process in processes:
            process.terminate()
            assert process.wait(timeout=30) == 0, "serve stops cleanly on SIGTERM"
            logs.append(process.stderr.read())
        # One line per request: method, path, the key's first 12 digits, the outcome.
        log = "".join(logs)
        outcomes = (" hit",) if not recording else (" hit", " recorded")
        lines = [line for line in log.splitlines() if "POST /v1/" in line]
        assert lines, log
        assert any(line.rstrip().endswith(outcomes) for line in lines), log
        if not recording:
            assert any(line.rstrip().endswith(" miss") for line in lines), log
