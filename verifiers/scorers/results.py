"""What scorers produce and pass around: ScoreResult, encoded inputs, padded batches, small readers.

Kept apart from ``base.py`` so the result type can be imported without the scorer machinery.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ScoreResult:
    """One response's score. ``score is None`` exactly when ``error`` says why."""

    score: float | None = None
    step_scores: list[float] | None = None
    aspects: dict[str, float] | None = None
    error: str | None = None
    truncated: bool = False

    @classmethod
    def failed(cls, reason: str) -> "ScoreResult":
        return cls(error=reason)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def min_score(self) -> float | None:
        return min(self.step_scores) if self.step_scores else None

    @property
    def max_score(self) -> float | None:
        return max(self.step_scores) if self.step_scores else None

    @property
    def avg_score(self) -> float | None:
        return sum(self.step_scores) / len(self.step_scores) if self.step_scores else None


class ScorerLoadError(RuntimeError):
    """The model or tokenizer could not be loaded (the reason is in the message)."""


@dataclass
class Encoded:
    """Token ids of one input, plus family-specific positions (relative to the unpadded ids)."""

    ids: list[int]
    truncated: bool = False
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Batch:
    """A padded batch; ``starts[i]`` is where row i's real tokens begin (0 with right padding)."""

    input_ids: Any
    attention_mask: Any
    position_ids: Any | None
    starts: list[int]
    lengths: list[int]
    pad_id: int

    @property
    def last_index(self):
        """Index of each row's last real token, from the mask lengths (pad ids never consulted)."""
        import torch

        return torch.tensor([s + n - 1 for s, n in zip(self.starts, self.lengths)],
                            device=self.input_ids.device)

    def model_inputs(self) -> dict[str, Any]:
        inputs = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.position_ids is not None:
            inputs["position_ids"] = self.position_ids
        return inputs


STEP_BREAK = re.compile(r"\n[ \t]*\n")


def split_steps(response: str) -> list[str]:
    """Reasoning steps of a response: paragraphs separated by blank lines, stripped, empties dropped.

    Blank lines are how chat models (and the PRM training data: PRM800K, Math-Shepherd as
    formatted by Qwen and PRIME) separate steps; a single newline stays inside a step.
    """
    return [part.strip() for part in STEP_BREAK.split(response.strip()) if part.strip()]


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))


def first_tensor(output, *names: str):
    """The first of ``names`` present on a model output (or its [0] element)."""
    for name in names:
        value = getattr(output, name, None)
        if value is None and isinstance(output, dict):
            value = output.get(name)
        if value is not None:
            return value
    return output[0]


def per_row(values, batch: Batch):
    """One number per row from a head output: [B], [B, k] (first column) or [B, T, k] (at last token)."""
    import torch

    values = values.float()
    if values.dim() == 3:
        rows = torch.arange(values.shape[0], device=values.device)
        return values[rows, batch.last_index.to(values.device), 0]
    if values.dim() == 2:
        return values[:, 0]
    return values.reshape(-1)
