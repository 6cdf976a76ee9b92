"""Backends: provider inference and payload quirks offline, then the real llama.cpp server."""
from __future__ import annotations

from pathlib import Path

import pytest

from generation.backends import infer_provider, open_backend, resolve_provider
from generation.backends.anthropic_api import AnthropicBackend
from generation.backends.base import SamplingParams
from generation.backends.http_errors import parse_retry_after
from generation.backends.openai_api import OpenAIBackend, TogetherBackend
from generation.backends.pricing import cost_usd
from generation.client import Request, open_client
from toolkit.errors import InputError

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2 + 3?"}]


@pytest.mark.parametrize("model, provider", [
    ("smollm2", "smollm2"), ("gpt-4o-mini", "openai"), ("gpt-4o", "openai"), ("o3-mini-2025-01-31", "openai"),
    ("o1-2024-12-17", "openai"), ("gpt-5", "openai"), ("claude-3-5-sonnet-latest", "anthropic"),
    ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "together"), ("deepseek-ai/DeepSeek-R1", "together"),
    ("meta-llama/Llama-3.1-8B-Instruct", "vllm"),
])
def test_provider_is_inferred_from_the_model_name(model, provider):
    assert infer_provider(model) == provider


def test_base_url_means_openai_compatible_and_unknowns_ask_for_provider():
    assert infer_provider("anything", "http://127.0.0.1:8000/v1") == "openai_compatible"
    with pytest.raises(InputError, match="--provider"):
        infer_provider("mystery model")
    with pytest.raises(InputError, match="Did you mean openai"):
        resolve_provider("x", "opneai", None)


def test_missing_api_keys_fail_up_front(monkeypatch):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "TOGETHER_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    for model, var in (("gpt-4o", "OPENAI_API_KEY"), ("claude-3-5-haiku-latest", "ANTHROPIC_API_KEY"),
                       ("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "TOGETHER_API_KEY")):
        with pytest.raises(InputError, match=var):
            open_backend(model)


def test_openai_reasoning_models_use_max_completion_tokens_without_sampling_knobs():
    params = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=100, seed=5, top_logprobs=2)
    payload = OpenAIBackend("o3-mini-2025-01-31", api_key="k").build_payload(MESSAGES, params, 4)
    assert payload["max_completion_tokens"] == 100 and payload["n"] == 4 and payload["seed"] == 5
    for key in ("max_tokens", "temperature", "top_p", "logprobs", "top_logprobs"):
        assert key not in payload
    assert payload["messages"][0]["role"] == "system"  # o3 accepts a system message

    folded = OpenAIBackend("o1-mini", api_key="k").build_payload(MESSAGES, params, 1)["messages"]
    assert [m["role"] for m in folded] == ["user"] and folded[0]["content"].startswith("Be brief.")

    chat = OpenAIBackend("gpt-4o", api_key="k").build_payload(MESSAGES, params, 1)
    assert chat["temperature"] == 0.7 and chat["top_p"] == 0.9 and chat["max_completion_tokens"] == 100
    assert "n" not in chat and chat["top_logprobs"] == 2
    together = TogetherBackend("meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", api_key="k")
    assert together.build_payload(MESSAGES, params, 3)["max_tokens"] == 100
    assert together.endpoint() == "https://api.together.xyz/v1/chat/completions"


def test_anthropic_payload_and_reply():
    backend = AnthropicBackend("claude-3-5-sonnet-latest", api_key="k")
    assert backend.supports_n is False and backend.headers()["anthropic-version"]
    payload = backend.build_payload(MESSAGES, SamplingParams(temperature=0.5, max_tokens=64), 1)
    assert payload["system"] == "Be brief." and payload["max_tokens"] == 64 and payload["temperature"] == 0.5
    assert payload["messages"] == [{"role": "user", "content": "What is 2 + 3?"}]
    assert "n" not in payload and "top_p" not in payload and "seed" not in payload
    nucleus = backend.build_payload(MESSAGES, SamplingParams(temperature=1.0, top_p=0.9), 1)
    assert nucleus["top_p"] == 0.9 and "temperature" not in nucleus  # newer models refuse both
    assert "top_p" not in backend.build_payload(MESSAGES, SamplingParams(temperature=0.7, top_p=0.9), 1)
    with pytest.raises(ValueError):
        backend.build_payload(MESSAGES, SamplingParams(), 2)
    reply = {"content": [{"type": "text", "text": "The answer is: 5"}], "stop_reason": "end_turn",
             "usage": {"input_tokens": 12, "output_tokens": 6}}
    (completion,) = backend.parse_reply(reply, 1)
    assert completion.text == "The answer is: 5" and completion.prompt_tokens == 12 and completion.completion_tokens == 6


def test_retry_after_forms_and_prices():
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({}) is None
    assert cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_usd("smollm2", 10, 10) is None


# -- the real llama.cpp server with SmolLM2 ---------------------------------------------------------
def test_text_and_usage_from_the_llama_cpp_server(smollm2_server):
    with open_client("smollm2", base_url=smollm2_server.base_url, concurrency=2) as client:
        (completions,) = client.generate([Request(MESSAGES, SamplingParams(temperature=0.0, max_tokens=16))])
    (completion,) = completions
    assert completion.ok and completion.text.strip() and completion.error is None
    assert completion.prompt_tokens > 0 and 0 < completion.completion_tokens <= 16
    assert client.usage["requests"] == 1 and client.usage["failures"] == 0 and "cost_usd" not in client.usage


def test_logprobs(smollm2_server):
    params = SamplingParams(temperature=0.0, max_tokens=8, top_logprobs=3)
    with open_client("smollm2", base_url=smollm2_server.base_url) as client:
        ((completion,),) = client.generate([Request(MESSAGES, params)])
    assert completion.top_logprobs and 1 <= len(completion.top_logprobs) <= 8
    step = completion.top_logprobs[0]
    assert 1 <= len(step) <= 3 and all(v <= 0.0 for v in step.values())


def test_seeds_repeat_and_n_falls_back_to_seeded_singles(smollm2_server):
    hot = SamplingParams(temperature=1.0, max_tokens=16)
    with open_client("smollm2", base_url=smollm2_server.base_url, concurrency=1) as client:
        assert client.backend.supports_n is None  # not assumed: learned from the first n>1 reply
        singles = client.generate([Request(MESSAGES, SamplingParams(**{**hot.__dict__, "seed": 100 + j}))
                                   for j in range(3)])
        (batched,) = client.generate([Request(MESSAGES, SamplingParams(**{**hot.__dict__, "seed": 100}), n=3)])
        assert client.backend.supports_n is False  # llama.cpp ignores n
        again = client.generate([Request(MESSAGES, SamplingParams(**{**hot.__dict__, "seed": 100}))])
    assert [c.text for c in batched] == [s[0].text for s in singles]
    assert again[0][0].text == singles[0][0].text
    assert len({s[0].text for s in singles}) >= 2  # different seeds, different samples


def test_unreachable_server_is_one_clear_error():
    with pytest.raises(InputError, match="cannot reach the server"):
        with open_client("smollm2", base_url="http://127.0.0.1:9/v1"):
            pass


def test_embedded_default_serves_and_stops_its_own_server(tmp_path):
    """`--model smollm2` with no --base_url: the toolkit starts llama.cpp itself and stops it after."""
    from generation.config import GenerationConfig
    from generation.generate import generate_samples
    from toolkit.smollm2 import LlamaServer

    started: list[LlamaServer] = []
    original = LlamaServer.start

    def spy(self):
        started.append(self)
        return original(self)

    LlamaServer.start = spy
    try:
        report = generate_samples(GenerationConfig(
            model="smollm2", dataset=str(Path(__file__).resolve().parent.parent / "datasets" / "toy_math.jsonl"), output_path=str(tmp_path / "toy.hf"), max_rows=2,
            samples_per_instruction=2, max_new_tokens=12, temperature=0.7))
    finally:
        LlamaServer.start = original
    ds = report.dataset
    assert ds.column_names == ["problem", "id", "instruction", "answer", "samples"]
    assert ds["answer"] == ["5", "8"] and all(t for row in ds["samples"] for t in row)
    assert len(started) == 1 and started[0].proc is None  # stopped when the client closed
