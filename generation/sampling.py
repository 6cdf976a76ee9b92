"""Stage 1's per-row work as an Arrow batch transform: ``SampleGenerator``.

Input: a ``pyarrow.Table`` with one row per sample still to make (``id``, ``instruction``,
``sample_index``). Output: a table with ``SAMPLE_SCHEMA``, one row per input row, where a
sample that failed has ``text`` null and ``error`` set; a bad row never raises. The local
runner (generation/generate.py) drives it with a journal and a progress bar; a Ray runner
can drive the same class with ``map_batches``.

Seeds are derived per sample: ``sample_seed(seed, id, i) = base(seed, id) + i``. Being linear
in ``i``, one request for samples i..i+m-1 with seed ``sample_seed(seed, id, i)`` (which
the Client fans out as seed + j when the server lacks ``n``) gives each sample the same seed
whether it was made in one run or after a resume.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterator

from generation.backends.base import Completion, Message, SamplingParams

SAMPLE_FIELDS = (("id", "int64"), ("sample_index", "int32"), ("text", "string"), ("error", "string"),
                 ("finish_reason", "string"), ("prompt_tokens", "int64"), ("completion_tokens", "int64"))


def sample_schema():
    import pyarrow as pa

    return pa.schema([(name, getattr(pa, kind)()) for name, kind in SAMPLE_FIELDS])


def sample_seed(seed: int, row_id: int, sample_index: int) -> int:
    digest = hashlib.sha256(f"{seed}:{row_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (1 << 30) + sample_index  # stays below 2**31


def build_messages(instruction: str, system_prompt: str | None = None) -> list[Message]:
    messages: list[Message] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": instruction})
    return messages


def sample_record(row_id: int, sample_index: int, completion: Completion) -> dict[str, Any]:
    return {"id": int(row_id), "sample_index": int(sample_index), "text": completion.text,
            "error": None if completion.ok else (completion.error or "unknown error"),
            "finish_reason": completion.finish_reason, "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens}


class SampleGenerator:
    """Make the samples a table asks for. Give it an open Client, or client options to open one."""

    def __init__(self, params: SamplingParams, client: Any = None, seed: int = 0,
                 system_prompt: str | None = None, client_options: dict[str, Any] | None = None):
        self.params = params
        self.seed = seed
        self.system_prompt = system_prompt
        self.client = client
        self._client_options = client_options
        self._client_cm = None

    def _ensure_client(self):
        if self.client is None:
            from generation.client import open_client

            self._client_cm = open_client(**(self._client_options or {}))
            self.client = self._client_cm.__enter__()
        return self.client

    def close(self) -> None:
        if self._client_cm is not None:
            self._client_cm.__exit__(None, None, None)
            self._client_cm = self.client = None

    def plan(self, table) -> list[tuple[Any, int, int]]:
        """One request per row and run of consecutive missing sample indexes: (Request, id, first index)."""
        from generation.client import Request

        by_row: dict[int, tuple[str, list[int]]] = {}
        for row_id, instruction, index in zip(table.column("id").to_pylist(), table.column("instruction").to_pylist(),
                                              table.column("sample_index").to_pylist()):
            by_row.setdefault(row_id, (instruction, []))[1].append(index)
        planned = []
        for row_id, (instruction, indexes) in by_row.items():
            messages = build_messages(instruction, self.system_prompt)
            for start, count in _runs(sorted(set(indexes))):
                params = SamplingParams(**{**self.params.__dict__, "seed": sample_seed(self.seed, row_id, start)})
                planned.append((Request(messages, params, count), row_id, start))
        return planned

    def stream(self, table) -> Iterator[dict[str, Any]]:
        """Yield one sample record as each sample arrives (what the journal persists)."""
        planned = self.plan(table)
        client = self._ensure_client()
        for request_index, j, completion in client.stream(request for request, _, _ in planned):
            _, row_id, start = planned[request_index]
            yield sample_record(row_id, start + j, completion)

    def __call__(self, table):
        import pyarrow as pa

        records = list(self.stream(table))
        return pa.Table.from_pylist(records, schema=sample_schema())


def _runs(indexes: list[int]) -> Iterator[tuple[int, int]]:
    start = prev = None
    for i in indexes:
        if start is None:
            start = prev = i
        elif i == prev + 1:
            prev = i
        else:
            yield start, prev - start + 1
            start = prev = i
    if start is not None:
        yield start, prev - start + 1
