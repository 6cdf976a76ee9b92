"""The typed result every grader returns."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "no_answer", "parse_error", "timeout", "undecided", "llm_decided"]


@dataclass(frozen=True)
class GradeResult:
    """``correct`` is None when the grader could not decide (status says why).

    Statuses: ``ok`` (decided by the rules), ``no_answer`` (nothing committed), ``undecided``
    (an answer was found but equality could not be proven or refuted: too large, outside the
    grammar, text that differs), ``timeout``, ``parse_error`` (a grading bug or bad gold), and
    ``llm_decided`` (an undecided pair settled by the LLM equivalence check).
    """

    correct: bool | None
    extracted: str | None
    status: Status
    gold: str | None = None
    detail: str = ""
