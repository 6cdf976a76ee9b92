"""Client policy with in-memory backends (no network): order, retries, fan-out seeds, failures as data."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pyarrow as pa
import pytest

from generation.backends.base import Backend, Completion, PermanentError, SamplingParams, TransientError
from generation.backends.http_errors import FatalBackendError
from generation.client import Client, Request
from generation.sampling import SampleGenerator, sample_schema, sample_seed
from toolkit.errors import InputError


class ScriptedBackend(Backend):
    """Echoes the prompt; fails as the prompt says ("transient:N" fails N times, "bad" always)."""

    name = "scripted"
    supports_n = False

    def __init__(self):
        self.calls: list[tuple[str, int | None]] = []
        self.transient_left: dict[str, int] = {}

    async def agenerate(self, messages, params, n=1):
        prompt = messages[-1]["content"]
        self.calls.append((prompt, params.seed))
        await asyncio.sleep(0.001 * (len(self.calls) % 3))  # finish out of order
        if prompt.startswith("transient:"):
            left = self.transient_left.setdefault(prompt, int(prompt.split(":")[1]))
            if left:
                self.transient_left[prompt] = left - 1
                raise TransientError("HTTP 429", retry_after=0.0)
        if prompt == "bad":
            raise PermanentError("HTTP 400: prompt too long")
        if prompt == "fatal":
            raise FatalBackendError("HTTP 401: invalid key")
        return [Completion(text=f"{prompt}|{params.seed}", prompt_tokens=3, completion_tokens=2)]


def make_client(backend, **kw):
    return Client(backend, concurrency=kw.pop("concurrency", 4), backoff_initial=0.001, **kw)


def ask(prompt, seed=None, n=1):
    return Request([{"role": "user", "content": prompt}], SamplingParams(seed=seed), n)


def test_order_is_kept_and_n_fans_out_with_consecutive_seeds():
    client = make_client(ScriptedBackend())
    try:
        out = client.generate([ask(f"p{i}", seed=10 * i, n=2) for i in range(6)])
    finally:
        client.close()
    assert [[c.text for c in row] for row in out] == [[f"p{i}|{10 * i}", f"p{i}|{10 * i + 1}"] for i in range(6)]
    assert client.usage == {"prompt_tokens": 36, "completion_tokens": 24, "requests": 12, "retries": 0,
                            "failures": 0}


def test_transient_errors_are_retried_and_permanent_ones_recorded():
    backend = ScriptedBackend()
    client = make_client(backend, max_retries=3)
    try:
        ok, bad, exhausted = client.generate([ask("transient:2"), ask("bad"), ask("transient:9")])
    finally:
        client.close()
    assert ok[0].text == "transient:2|None"
    assert bad[0].text is None and "prompt too long" in bad[0].error
    assert exhausted[0].text is None and "gave up after 4 attempts" in exhausted[0].error
    assert client.usage["failures"] == 2 and client.usage["retries"] == 2 + 3


def test_fatal_errors_stop_the_run_with_one_line():
    client = make_client(ScriptedBackend())
    try:
        with pytest.raises(InputError, match="invalid key"):
            client.generate([ask("fatal")])
    finally:
        client.close()


def test_wait_honours_retry_after_and_backs_off_with_jitter():
    client = Client(ScriptedBackend(), backoff_initial=1.0, backoff_max=8.0)

    def state(exc, attempt):
        return SimpleNamespace(outcome=SimpleNamespace(exception=lambda: exc), attempt_number=attempt)

    assert 3.0 <= client._wait(state(TransientError("429", retry_after=3.0), 1)) <= 4.0
    waits = [client._wait(state(TransientError("500"), a)) for a in (1, 2, 3, 4, 5, 6)]
    assert 0.5 <= waits[0] <= 1.0 and 4.0 <= waits[5] <= 8.0


def test_sample_generator_arrow_schema_and_error_column():
    client = make_client(ScriptedBackend())
    generator = SampleGenerator(SamplingParams(), client=client, seed=7)
    table = pa.table({"id": [0, 0, 0, 1, 2], "instruction": ["a", "a", "a", "bad", "c"],
                      "sample_index": [0, 1, 3, 0, 2]})
    try:
        out = generator(table)
    finally:
        client.close()
    assert out.schema == sample_schema()
    rows = sorted(out.to_pylist(), key=lambda r: (r["id"], r["sample_index"]))
    assert [(r["id"], r["sample_index"]) for r in rows] == [(0, 0), (0, 1), (0, 3), (1, 0), (2, 2)]
    assert rows[0]["text"] == f"a|{sample_seed(7, 0, 0)}" and rows[2]["text"] == f"a|{sample_seed(7, 0, 3)}"
    assert rows[3]["text"] is None and "prompt too long" in rows[3]["error"]
    assert rows[4]["error"] is None and rows[4]["text"] == f"c|{sample_seed(7, 2, 2)}"
    assert sample_seed(7, 0, 1) == sample_seed(7, 0, 0) + 1  # linear in the index: resume-safe
