"""The typed result every grader returns."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "no_answer", "parse_error", "timeout"]


@dataclass(frozen=True)
class GradeResult:
    """``correct`` is None when the grader could not decide (status says why)."""

    correct: bool | None
    extracted: str | None
    status: Status
    gold: str | None = None
    detail: str = ""
