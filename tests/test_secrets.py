"""Secrets never reach disk or logs: ``toolkit.secrets.redact`` and the places that use it.

Also: the embedded llama.cpp server logs into the run's progress folder, or into a temporary
file that is gone when the server stops (never a stray ``/tmp/llama_server_*.log``).
"""
from __future__ import annotations

import importlib.util
import json
import tempfile
from pathlib import Path

import pytest

from toolkit.secrets import MASK, redact, redact_text, secret_env_values

OPENAI_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0" * 2
ANTHROPIC_KEY = "sk-ant-api03-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3" * 2
HF_KEY = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWx"
ENV_SECRET = "plain-looking-value-1234"  # no known shape: found only because the variable is set


@pytest.fixture
def secret_env(monkeypatch):
    for name in list(__import__("os").environ):
        if name.endswith(("_API_KEY", "_TOKEN", "_SECRET")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MY_SERVICE_TOKEN", ENV_SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    return ENV_SECRET


# ------------------------------------------------------------------ redact()
@pytest.mark.parametrize("text, expected", [
    ("http://user:key123@host:8000/v1", "http://***@host:8000/v1"),
    ("https://token@example.com/v1/chat?x=1", "https://***@example.com/v1/chat?x=1"),
    ("see http://u:p@h/v1 and https://a:b@c/d", "see http://***@h/v1 and https://***@c/d"),
    ("http://host/v1?api_key=abc123&model=m", "http://host/v1?api_key=***&model=m"),
    ("http://host/v1?model=m&token=t0k3n", "http://host/v1?model=m&token=***"),
    ("http://host/v1?key=AIzaSy123", "http://host/v1?key=***"),
    ("http://host/v1?access_token=xyz#frag", "http://host/v1?access_token=***#frag"),
    (f"Incorrect API key provided: {OPENAI_KEY}.", "Incorrect API key provided: ***."),
    (f"key {ANTHROPIC_KEY} refused", "key *** refused"),
    (f"token={HF_KEY}", "token=***"),
    (f"hub token {HF_KEY}", "hub token ***"),
    ("Authorization: Bearer abcdefgh12345678", "Authorization: Bearer ***"),
])
def test_redact_masks_credentials(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "http://127.0.0.1:8000/v1", "max_tokens=5&temperature=0.7", "task-1234567890123456789012 done",
    "sk-short", "hf_short", "user@example.com wrote", "The answer is: 42", "", "a=b; c=d",
    "https://huggingface.co/org/model?revision=main",
])
def test_redact_leaves_ordinary_text_alone(text):
    assert redact(text) == text


def test_redact_masks_values_of_secret_env_vars(secret_env, monkeypatch):
    monkeypatch.setenv("SHORT_TOKEN", "abc")  # under 8 characters: too short to mask safely
    monkeypatch.setenv("NOT_A_SECRET_NAME", "some-long-ordinary-value")
    values = secret_env_values()
    assert ENV_SECRET in values and OPENAI_KEY in values and "abc" not in values
    assert "some-long-ordinary-value" not in values
    assert redact(f"server said: bad credential {ENV_SECRET}!") == "server said: bad credential ***!"
    assert redact("abc and some-long-ordinary-value") == "abc and some-long-ordinary-value"


def test_redact_is_recursive_and_keeps_shapes(secret_env):
    value = {"base_url": "http://u:pw@h/v1", "nested": [{"note": f"uses {ENV_SECRET}"}, ("t", OPENAI_KEY)],
             "n": 3, "f": 0.5, "none": None, "flag": True, "api_key": "short", "hf_token": "x" * 10,
             "pad_token": "<pad>", "max_new_tokens": 64}
    out = redact(value)
    assert out == {"base_url": "http://***@h/v1", "nested": [{"note": "uses ***"}, ("t", MASK)],
                   "n": 3, "f": 0.5, "none": None, "flag": True, "api_key": MASK, "hf_token": MASK,
                   "pad_token": "<pad>", "max_new_tokens": 64}
    assert value["base_url"] == "http://u:pw@h/v1"  # a copy: the caller's config is untouched


def test_redact_text_never_fails_on_odd_input():
    assert redact_text("@@@://@@@ ?=&=") == "@@@://@@@ ?=&="
    assert redact(b"bytes") == b"bytes"


# ------------------------------------------------------------------ manifest and identity.json
def test_manifest_never_holds_a_secret(secret_env, tmp_path):
    import datasets

    from toolkit.dataset_io import build_manifest, save_dataset_atomic

    config = {"model": "m", "base_url": "http://alice:s3cr3t-pass@example.com/v1?api_key=qwerty123",
              "system_prompt": f"call with {ENV_SECRET}"}
    manifest = build_manifest("generation", config, extractor={"base_url": f"http://h/v1?token={HF_KEY}"},
                              backend={"note": f"key {OPENAI_KEY}"})
    out = save_dataset_atomic(datasets.Dataset.from_dict({"a": [1]}), tmp_path / "out.hf", manifest)
    text = (out / "toolkit_manifest.json").read_text()
    for secret in ("s3cr3t-pass", "alice", "qwerty123", ENV_SECRET, OPENAI_KEY, HF_KEY):
        assert secret not in text
        assert secret not in json.dumps(manifest)
    saved = json.loads(text)
    assert saved["config"]["base_url"] == "http://***@example.com/v1?api_key=***"
    assert saved["config"]["model"] == "m" and saved["stage"] == "generation"
    assert config["base_url"].startswith("http://alice:")  # the run itself still has the real URL


def test_identity_json_never_holds_a_secret_and_reruns_still_match(secret_env, tmp_path):
    from toolkit.errors import InputError
    from toolkit.progress import check_run_identity

    folder = tmp_path / "out.hf.progress"
    identity = {"model": "m", "base_url": "http://bob:hunter2hunter2@h/v1", "prompt": f"x {ENV_SECRET}",
                "temperature": 0.7}
    check_run_identity(folder, identity, "samples")
    text = (folder / "identity.json").read_text()
    assert "hunter2hunter2" not in text and "bob" not in text and ENV_SECRET not in text
    check_run_identity(folder, identity, "samples")  # the same command again: accepted
    check_run_identity(folder, {**identity, "base_url": "http://bob:another-key@h/v1"}, "samples")
    with pytest.raises(InputError, match="temperature"):
        check_run_identity(folder, {**identity, "temperature": 1.0}, "samples")
    with pytest.raises(InputError) as info:
        check_run_identity(folder, {**identity, "model": "other", "base_url": "http://bob:k3y@other/v1"},
                           "samples")
    assert "k3y" not in str(info.value) and "hunter2" not in str(info.value)


# ------------------------------------------------------------------ server error bodies
class _Response:
    def __init__(self, status: int, text: str):
        self.status_code = status
        self.text = text
        self.headers: dict[str, str] = {}

    def json(self):
        return json.loads(self.text)


def test_http_error_bodies_are_redacted(secret_env):
    from generation.backends.base import PermanentError
    from generation.backends.http_errors import decode_json, raise_for_status

    body = json.dumps({"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}. Also {ENV_SECRET}"}})
    with pytest.raises(PermanentError) as info:
        raise_for_status(_Response(401, body), "http://u:pw@host/v1/chat/completions")
    message = str(info.value)
    assert OPENAI_KEY not in message and ENV_SECRET not in message and "u:pw" not in message
    assert "HTTP 401 from http://***@host/v1/chat/completions" in message
    with pytest.raises(Exception) as info:
        decode_json(_Response(200, f"<html>proxy says {HF_KEY}</html>"), "http://host/v1")
    assert HF_KEY not in str(info.value)


def test_failure_reasons_recorded_by_the_client_are_redacted(secret_env):
    from generation.client import failed

    [completion] = failed(f"PermanentError: HTTP 400 from http://h/v1?api_key=abcdef123: {OPENAI_KEY}", 1)
    assert completion.text is None
    assert "abcdef123" not in completion.error and OPENAI_KEY not in completion.error
    assert completion.error.startswith("PermanentError: HTTP 400 from http://h/v1?api_key=***")


def test_unreachable_server_message_hides_credentials_in_base_url():
    from generation.client import open_client
    from toolkit.errors import InputError

    with pytest.raises(InputError) as info:
        with open_client("m", base_url="http://carol:topsecretpw@127.0.0.1:9/v1"):
            pass
    assert "topsecretpw" not in str(info.value) and "cannot reach the server at http://***@127.0.0.1:9/v1" in str(
        info.value)


def test_extractor_note_hides_credentials():
    from verifiers.grading.llm_extract import configured_extractor

    _, note = configured_extractor("m", "http://dave:pw12345678@h/v1", no_llm=False)
    assert "pw12345678" not in note and "http://***@h/v1" in note


# ------------------------------------------------------------------ llama.cpp server logs
def test_embedded_backend_gets_the_log_folder(tmp_path):
    from generation.backends import open_backend

    backend = open_backend("smollm2", log_dir=tmp_path)
    assert backend.log_dir == tmp_path
    assert open_backend("smollm2").log_dir is None


def _stray_logs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("llama_server_*")}


needs_llama = pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python missing")


@needs_llama
def test_server_that_fails_to_start_logs_to_the_given_folder_or_leaves_nothing(tmp_path):
    from toolkit.smollm2 import LlamaServer

    bogus = tmp_path / "not_a_model.gguf"
    bogus.write_bytes(b"not a gguf file")
    before = _stray_logs()
    with pytest.raises(RuntimeError, match="exited early:") as info:
        LlamaServer(model_path=bogus, n_threads=1, startup_timeout=60).start()
    assert "log:" not in str(info.value)  # the temporary log is gone; its tail is in the message
    assert _stray_logs() == before
    folder = tmp_path / "out.hf.progress"
    with pytest.raises(RuntimeError, match="exited early; log: ") as info:
        LlamaServer(model_path=bogus, n_threads=1, startup_timeout=60, log_dir=folder).start()
    log = folder / "llama_server.log"
    assert str(log) in str(info.value) and log.stat().st_size > 0
