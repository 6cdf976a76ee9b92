"""Generative LM judges: ask a model whether a response's final answer is correct.

Three things the reference got wrong are fixed here:
- the judge sees chat messages ending in a user turn, so every backend adds the generation
  prompt (the reference's template lacked it and the judge continued the user's text);
- ``verdicts_per_sample = V`` sends V independent requests (seed + v), instead of parsing
  one output V times;
- verdict parsing is strict: only a last line that *is* True or False counts ("untrue",
  "Yes, it is correct" and missing lines are null with a reason, never True).

Where the backend returns ``top_logprobs``, the verdict value is P(True): the softmax over
the True/False alternatives at the verdict token, which ranks samples far better than 0/1.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

EMBEDDED_JUDGE = "smollm2"

JUDGE_SYSTEM = ("You are a careful grader. You check whether a response to a problem reaches "
                "the correct final answer.")

JUDGE_TEMPLATE = """Problem:
{problem}

Response:
{response}

Is the final answer of the response to the problem correct? {instructions}"""

DIRECT_INSTRUCTIONS = ("Reply with a single line containing only the word True if the final answer "
                       "is correct, or False if it is not.")
CRITIQUE_INSTRUCTIONS = ("First write a short critique that checks the reasoning and the final answer. "
                         "Then end your reply with a single last line containing only the word True "
                         "if the final answer is correct, or False if it is not.")

# Markdown and punctuation allowed around the verdict word ("**True**", "`False`.", "> True!").
_DECORATION = " \t*_`#>~.!:;,\"'()[]{}"
_LABEL = re.compile(r"^(?:final\s+)?(?:verdict|answer|judg(?:e)?ment)\s*[:=-]\s*", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{\s*([^{}]*?)\s*\}")


def judge_messages(problem: str, response: str, critique: bool = False) -> list[dict[str, str]]:
    """The chat sent to a judge; it ends in a user turn so backends add the generation prompt."""
    text = JUDGE_TEMPLATE.format(problem=problem, response=response,
                                 instructions=CRITIQUE_INSTRUCTIONS if critique else DIRECT_INSTRUCTIONS)
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": text}]


def parse_verdict(text: str | None) -> tuple[float | None, str | None]:
    """Strictly read the last non-empty line: True -> 1.0, False -> 0.0, else (None, reason)."""
    if text is None:
        return None, "no judge output"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip(_DECORATION + "-=")]
    if not lines:
        return None, "empty judge output"
    word = _normalise(lines[-1])
    if word == "true":
        return 1.0, None
    if word == "false":
        return 0.0, None
    shown = lines[-1] if len(lines[-1]) <= 60 else lines[-1][:57] + "..."
    return None, f"last line is not True or False: {shown!r}"


def _normalise(line: str) -> str:
    word = _BOXED.sub(r"\1", line).strip(_DECORATION)
    word = _LABEL.sub("", word).strip(_DECORATION)
    return word.lower()


def _token_side(token: str) -> str | None:
    """'true' / 'false' if a token spells (a prefix of) one verdict word, else None."""
    t = token.strip(_DECORATION + "Ġ▁").lower()
    if not t:
        return None
    if "true".startswith(t):
        return "true"
    if "false".startswith(t):
        return "false"
    return None


def prob_true(top_logprobs: Sequence[dict[str, float]] | None, verdict: float | None) -> float | None:
    """P(True) at the verdict token from per-token top alternatives, or None if unreadable.

    The verdict token is the last generated token spelling True/False (or their first pieces);
    the logprob mass of all alternatives on each side is pooled, then softmaxed over the two.
    """
    if not top_logprobs or verdict is None:
        return None
    for alternatives in reversed(top_logprobs):
        if not alternatives:
            continue
        chosen = max(alternatives.items(), key=lambda kv: kv[1])[0]
        if _token_side(chosen) is None:
            continue
        mass = {"true": [], "false": []}
        for token, logprob in alternatives.items():
            side = _token_side(token)
            if side is not None and logprob is not None and math.isfinite(logprob):
                mass[side].append(logprob)
        pooled = {side: _logsumexp(v) for side, v in mass.items()}
        if pooled["true"] is None and pooled["false"] is None:
            return None
        if pooled["false"] is None:
            return 1.0
        if pooled["true"] is None:
            return 0.0
        return 1.0 / (1.0 + math.exp(pooled["false"] - pooled["true"]))
    return None


def _logsumexp(values: list[float]) -> float | None:
    if not values:
        return None
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


@dataclass
class JudgeSettings:
    """How a judge is asked; recorded in the manifest and in each journal's config hash."""

    verdicts_per_sample: int = 1
    critique: bool = False
    temperature: float | None = None  # None: 0.0 for one verdict, 0.7 for several
    max_new_tokens: int | None = None  # None: 16 direct, 512 with critique
    seed: int = 0
    top_logprobs: int | None = 5  # ask for alternatives to read P(True); None disables

    def resolved_temperature(self) -> float:
        if self.temperature is not None:
            return self.temperature
        return 0.0 if self.verdicts_per_sample == 1 else 0.7

    def resolved_max_tokens(self) -> int:
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return 512 if self.critique else 16

    def describe(self) -> dict[str, Any]:
        return {"verdicts_per_sample": self.verdicts_per_sample, "critique": self.critique,
                "temperature": self.resolved_temperature(), "max_new_tokens": self.resolved_max_tokens(),
                "seed": self.seed, "top_logprobs": self.top_logprobs}


@dataclass
class SampleVerdicts:
    """V verdict values for one sample (P(True) or 1.0/0.0; None where unreadable) and why."""

    verdicts: list[float | None]
    errors: list[str | None] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        reasons = [f"verdict {i}: {e}" for i, e in enumerate(self.errors) if e]
        return "; ".join(reasons) if reasons else None


class LMJudge:
    """Judges (problem, response) pairs through an open ``generation.client.Client``."""

    def __init__(self, client: Any, settings: JudgeSettings | None = None):
        self.client = client
        self.settings = settings or JudgeSettings()
        if self.settings.verdicts_per_sample < 1:
            from toolkit.errors import InputError

            raise InputError("--verdicts_per_sample must be at least 1")

    def requests(self, problem: str, response: str) -> list[Any]:
        """V independent requests for one sample: same chat, seeds seed+0 .. seed+V-1."""
        from generation.backends.base import SamplingParams
        from generation.client import Request

        s = self.settings
        messages = judge_messages(problem, response, s.critique)
        return [Request(messages=messages,
                        params=SamplingParams(temperature=s.resolved_temperature(),
                                              max_tokens=s.resolved_max_tokens(), seed=s.seed + v,
                                              top_logprobs=s.top_logprobs),
                        n=1)
                for v in range(s.verdicts_per_sample)]

    def judge(self, problems: Sequence[str], responses: Sequence[str]) -> list[SampleVerdicts]:
        """One SampleVerdicts per (problem, response), in input order; never raises per sample."""
        if len(problems) != len(responses):
            raise ValueError("problems and responses differ in length")
        v = self.settings.verdicts_per_sample
        requests = [r for p, resp in zip(problems, responses) for r in self.requests(p, resp)]
        outputs = self.client.generate(requests) if requests else []
        results = []
        for i in range(len(problems)):
            verdicts, errors = [], []
            for completions in outputs[i * v:(i + 1) * v]:
                value, error = read_completion(completions[0] if completions else None)
                verdicts.append(value)
                errors.append(error)
            results.append(SampleVerdicts(verdicts, errors))
        return results


def read_completion(completion: Any) -> tuple[float | None, str | None]:
    """Verdict value of one completion: P(True) when logprobs allow, else 1.0/0.0, else None."""
    if completion is None:
        return None, "no completion returned"
    if getattr(completion, "text", None) is None:
        return None, f"judge request failed: {getattr(completion, 'error', None) or 'unknown error'}"
    value, error = parse_verdict(completion.text)
    if value is None:
        return None, error
    p = prob_true(getattr(completion, "top_logprobs", None), value)
    return (p if p is not None else value), None
