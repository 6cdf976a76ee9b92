"""The LLM extractor ("GPT-mini"): reads the final answer where the rules found none.

Only samples whose rule status is no_answer/parse_error are sent. The LLM is asked to restate
the answer as "The answer is: X" (or NONE), and that reply goes back through the rule grader,
so extraction alone never decides correctness.

The same client also settles pairs the rules leave *undecided* (text answers worded differently,
answers outside the grammar): ``equivalent`` asks whether the extracted answer and the gold
say the same thing; a strict "Equivalent: yes/no" reply is the verdict, recorded with grade
status ``llm_decided``; any other reply leaves the sample undecided (null).

Calls go through the stage-1 client (retries, concurrency, failures as data), are cached in a
JSONL journal keyed by (model, prompt) so a rerun or resume pays nothing twice, and are counted.
Without a configured extractor (no API key for the default model, no --base_url), the stage
runs rules-only and says so; ``configured_extractor`` decides.
"""
from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any, Sequence

from toolkit.journal import Journal, read_journal

DEFAULT_EXTRACTOR_MODEL = "gpt-4o-mini"
PROMPT_VERSION = 1
_MAX_RESPONSE_CHARS = 6000  # the answer is at the end; the tail is what matters

SYSTEM = ("You extract final answers from solutions. You never solve the problem yourself and never "
          "judge whether the answer is right.")
TEMPLATE = (
    "Below is a problem and a response to it. What final answer does the response commit to?\n"
    "{what}\n"
    "Reply with exactly one line: \"The answer is: X\". If the response never commits to a final answer, "
    "reply exactly: \"The answer is: NONE\".\n\n"
    "### Problem\n{question}\n\n### Response\n{response}"
)
_CHOICE_WHAT = "X is the letter ({letters}) of the option the response chose."
_MATH_WHAT = "X is the final answer only, as written in the response (LaTeX is fine)."


def build_prompt(kind: str, question: str, response: str, options: Sequence[str] | None) -> str:
    if len(response) > _MAX_RESPONSE_CHARS:
        response = "[...]\n" + response[-_MAX_RESPONSE_CHARS:]
    if kind == "choice":
        letters = "ABCDEFGHIJKLMNOP"[: len(options)] if options else "A, B, C, ..."
        listed = "\n".join(f"{chr(65 + i)}. {o}" for i, o in enumerate(options or []))
        question = f"{question.strip()}\n\n{listed}".strip() if listed and listed not in question else question
        what = _CHOICE_WHAT.format(letters=", ".join(letters) if options else letters)
    else:
        what = _MATH_WHAT
    return TEMPLATE.format(what=what, question=question.strip()[:4000], response=response)


_NONE_RE = re.compile(r"(?:answer\s+is\s*:?|^)[\s*_\"']*none\b", re.I)


EQUIVALENCE_SYSTEM = ("You compare two final answers to the same problem. You never solve the problem yourself.")
EQUIVALENCE_TEMPLATE = (
    "Do these two final answers to the problem below say the same thing (the same value, set, expression or "
    "statement, possibly worded or written differently)?\n"
    "Reply with exactly one line: \"Equivalent: yes\" or \"Equivalent: no\".\n\n"
    "### Problem\n{question}\n\n### Reference answer\n{gold}\n\n### Answer to check\n{answer}"
)
_VERDICT_RE = re.compile(r"^[\s*_\"'`]*(?:equivalent\s*:\s*)?[\s*_\"'`]*(yes|no)\b", re.I)


def build_equivalence_prompt(question: str, gold: str, answer: str) -> str:
    return EQUIVALENCE_TEMPLATE.format(question=(question or "(not given)").strip()[:4000], gold=gold.strip()[:2000],
                                       answer=answer.strip()[:2000])


def parse_equivalence(text: str | None) -> bool | None:
    """'Equivalent: yes' -> True, 'Equivalent: no' -> False; anything else -> None (no verdict)."""
    if text is None:
        return None
    first = text.strip().splitlines()[0] if text.strip() else ""
    m = _VERDICT_RE.match(first)
    return None if m is None else m.group(1).lower() == "yes"


def parse_reply(text: str | None) -> str | None:
    """The reply, unless it says NONE (then None: there is no answer to re-grade)."""
    if text is None or not text.strip() or _NONE_RE.search(text.strip()):
        return None
    return text.strip()


class LLMExtractor:
    """Batch extraction through ``generation.client.open_client``; cached and counted.

    Open with ``with LLMExtractor(...) as ex:`` (starts the client); ``ex.extract(items)`` takes
    ``(kind, question, response, options)`` tuples and returns replies (or None) in order.
    """

    def __init__(self, model: str = DEFAULT_EXTRACTOR_MODEL, base_url: str | None = None,
                 cache_path: str | os.PathLike | None = None, concurrency: int | None = None,
                 max_tokens: int = 64, api_key: str | None = None, request_timeout: float = 60.0):
        self.model = model
        self.base_url = base_url
        self.cache_path = Path(cache_path) if cache_path else None
        self.concurrency = concurrency
        self.max_tokens = max_tokens
        self.api_key = api_key
        self.request_timeout = request_timeout
        self.stats = {"requested": 0, "calls": 0, "cache_hits": 0, "failures": 0, "none": 0,
                      "equivalence_asked": 0, "equivalence_decided": 0}
        self._cache: dict[str, str] = {}
        self._journal: Journal | None = None
        self._ctx = None
        self._client = None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url, "prompt_version": PROMPT_VERSION}

    def __enter__(self) -> "LLMExtractor":
        if self.cache_path is not None:
            for rec in read_journal(self.cache_path):
                if rec.get("text") is not None:
                    self._cache[rec["key"]] = rec["text"]
            self._journal = Journal(self.cache_path)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = self._client = None
        if self._journal is not None:
            self._journal.close()

    def _open_client(self):
        if self._client is None:
            from generation.client import open_client

            # The embedded server's log goes beside the cache: the run's progress folder.
            log_dir = self.cache_path.parent if self.cache_path is not None else None
            self._ctx = open_client(self.model, base_url=self.base_url, concurrency=self.concurrency,
                                    max_retries=3, request_timeout=self.request_timeout, api_key=self.api_key,
                                    log_dir=log_dir)
            self._client = self._ctx.__enter__()
        return self._client

    def _key(self, prompt: str) -> str:
        return hashlib.sha256(f"{self.model}\x00{PROMPT_VERSION}\x00{prompt}".encode()).hexdigest()[:32]

    def extract(self, items: Sequence[tuple[str, str, str, Sequence[str] | None]]) -> list[str | None]:
        prompts = [build_prompt(kind, q, r, opts) for kind, q, r, opts in items]
        with self._lock:
            self.stats["requested"] += len(items)
        keys, _ = self._complete(prompts, SYSTEM)
        replies = [parse_reply(self._cache.get(k)) for k in keys]
        with self._lock:
            self.stats["none"] += sum(1 for k, r in zip(keys, replies) if r is None and k in self._cache)
        return replies

    def equivalent(self, items: Sequence[tuple[str, str, str]]) -> list[bool | None]:
        """(question, gold answer, extracted answer) -> True/False, or None when the LLM gave no verdict.

        Asked only for pairs the rules left undecided; cached and counted like extraction.
        """
        prompts = [build_equivalence_prompt(q, g, a) for q, g, a in items]
        keys, _ = self._complete(prompts, EQUIVALENCE_SYSTEM, max_tokens=8)
        verdicts = [parse_equivalence(self._cache.get(k)) for k in keys]
        with self._lock:
            self.stats["equivalence_asked"] += len(items)
            self.stats["equivalence_decided"] += sum(v is not None for v in verdicts)
        return verdicts

    def _complete(self, prompts: list[str], system: str, max_tokens: int | None = None) -> tuple[list[str], int]:
        """Cached completions for ``prompts`` (keys into ``self._cache``); only missing ones are sent."""
        from generation.backends.base import SamplingParams
        from generation.client import Request

        keys = [self._key(system + "\x00" + p if system != SYSTEM else p) for p in prompts]
        with self._lock:
            missing = sorted({k: p for k, p in zip(keys, prompts) if k not in self._cache}.items())
            self.stats["cache_hits"] += sum(1 for k in keys if k in self._cache)
        if missing:
            params = SamplingParams(temperature=0.0, max_tokens=max_tokens or self.max_tokens, seed=0)
            requests = [Request([{"role": "system", "content": system}, {"role": "user", "content": p}], params)
                        for _, p in missing]
            results = self._open_client().generate(requests)
            with self._lock:
                for (key, _), completions in zip(missing, results):
                    self.stats["calls"] += 1
                    text = completions[0].text if completions else None
                    if text is None:
                        self.stats["failures"] += 1
                        continue  # not cached: a rerun tries again
                    self._cache[key] = text
                    if self._journal is not None:
                        self._journal.append({"key": key, "text": text})
        return keys, len(missing)


def configured_extractor(model: str | None, base_url: str | None, no_llm: bool = False) -> tuple[str | None, str]:
    """(model to use or None, one sentence saying why) for the stage's log and manifest."""
    if no_llm:
        return None, "LLM extractor off (--no_llm): rules only"
    model = model or DEFAULT_EXTRACTOR_MODEL
    if base_url:
        from toolkit.secrets import redact

        return model, f"LLM extractor {model} at {redact(base_url)} for samples the rules cannot read"
    if model.lower() == "smollm2":
        return model, "LLM extractor: the embedded SmolLM2 for samples the rules cannot read"
    try:
        from generation.backends import PROVIDERS, infer_provider

        provider = infer_provider(model)
        env_key = PROVIDERS.get(provider).env_key
    except Exception as exc:  # noqa: BLE001 - an unusable name means: no extractor, and say why
        return None, f"no LLM extractor ({exc}); rules only"
    if env_key and not os.environ.get(env_key):
        return None, f"no LLM extractor configured ({env_key} is not set and no --base_url): rules only"
    return model, f"LLM extractor {model} ({provider}) for samples the rules cannot read"
