"""Rule-based answer grading: extract the committed answer, then decide equivalence.

    >>> from verifiers.grading import grade
    >>> grade(r"... so the answer is $\\boxed{\\dfrac{1}{2}}$.", "0.5").correct
    True

Importing this package is cheap (no sympy): string normalization and the numeric fast path
run here; anything symbolic runs in a bounded worker process (see ``bounded.py``). Model
text is never evaluated: it is tokenized and parsed by ``latex_parse`` over a whitelist.
"""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Iterable, Sequence

from .extract_math import extract_math_answer, gold_answer, looks_like_bare_answer
from .normalize import is_plain_number, normalize_answer
from .result import GradeResult

__all__ = ["GradeResult", "grade", "grade_batch", "extract_math_answer", "answers_equivalent", "gold_answer"]

_REL_TOL = Fraction(1, 10**6)
_LETTERS = "ABCDEFGHIJKLMNOP"


def _numbers_equal(a: str, b: str, percent: bool) -> bool:
    x, y = Fraction(a), Fraction(b)
    candidates = [(x, y)] + ([(x, y * 100), (x * 100, y)] if percent else [])
    for u, v in candidates:
        if u == v or abs(u - v) <= _REL_TOL * max(abs(u), abs(v)):
            return True
    return False


def _compare(gold: str, pred: str, timeout: float) -> tuple[bool | None, str, str]:
    """(verdict, status, detail) for two extracted answers."""
    g, p = normalize_answer(gold), normalize_answer(pred)
    if not p.text:
        return None, "no_answer", "empty answer after normalization"
    if g.text == p.text:
        return True, "ok", "identical after normalization"
    percent = g.percent or p.percent
    if is_plain_number(g.text) and is_plain_number(p.text):
        if "e" not in (g.text + p.text).lower() or max(len(g.text), len(p.text)) < 40:
            try:
                return _numbers_equal(g.text, p.text, percent), "ok", "numeric"
            except (ValueError, ZeroDivisionError, OverflowError):
                pass
    if len(g.text) > 5000 or len(p.text) > 5000:
        return False, "ok", "answer too long to compare"
    from .bounded import compare_bounded  # noqa: PLC0415 - keeps `import verifiers.grading` light

    return compare_bounded(g.text, p.text, timeout, g.percent, p.percent, g.degrees or p.degrees)


def answers_equivalent(a: str, b: str, timeout: float = 5.0) -> bool | None:
    """Are two extracted answers equivalent? None when undecidable within ``timeout``."""
    verdict, _, _ = _compare(a, b, timeout)
    return verdict


def _grade_math(prediction: str, gold: str, timeout: float) -> GradeResult:
    gold_ans = gold_answer(gold)
    extracted = extract_math_answer(prediction)
    if extracted is None and looks_like_bare_answer(prediction):
        extracted = prediction.strip()
    if extracted is None:
        return GradeResult(False, None, "no_answer", gold_ans, "no committed final answer")
    verdict, status, detail = _compare(gold_ans, extracted, timeout)
    if status == "no_answer":
        return GradeResult(False, extracted, status, gold_ans, detail)
    return GradeResult(verdict, extracted, status, gold_ans, detail)


def _gold_letter(gold: str, options: Sequence[str] | None) -> str | None:
    g = gold.strip().strip("().*: ").strip()
    if len(g) == 1 and g.upper() in _LETTERS:
        return g.upper()
    if options:
        norm = [re.sub(r"\s+", " ", o).strip().lower() for o in options]
        target = re.sub(r"\s+", " ", gold).strip().lower()
        if target in norm:
            return _LETTERS[norm.index(target)]
    return None


def _grade_choice(prediction: str, gold: str, options: Sequence[str] | None) -> GradeResult:
    from .extract_choice import extract_choice  # noqa: PLC0415 - owned by the evaluation stage

    gold_letter = _gold_letter(gold, options)
    if gold_letter is None:
        return GradeResult(None, None, "parse_error", gold, "gold is neither a letter nor an option text")
    n_options = len(options) if options else max(4, _LETTERS.index(gold_letter) + 1)
    letter = extract_choice(prediction, n_options, list(options) if options else None)
    if letter is None:
        return GradeResult(False, None, "no_answer", gold_letter, "no option letter found")
    return GradeResult(letter.strip().upper() == gold_letter, letter, "ok", gold_letter, "")


def grade(prediction: str | None, gold: str, kind: str = "math", options: Sequence[str] | None = None,
          timeout: float = 5.0) -> GradeResult:
    """Grade one response against a gold answer (or gold solution). Never raises on bad data."""
    if kind not in ("math", "choice"):
        raise ValueError(f"unknown grading kind {kind!r} (expected 'math' or 'choice')")
    if prediction is None or not str(prediction).strip():
        return GradeResult(False, None, "no_answer", gold, "empty response")
    if gold is None or not str(gold).strip():
        return GradeResult(None, None, "parse_error", gold, "missing gold answer")
    try:
        if kind == "choice":
            return _grade_choice(str(prediction), str(gold), options)
        return _grade_math(str(prediction), str(gold), timeout)
    except Exception as exc:  # noqa: BLE001 - a grading bug is recorded as data, not raised
        return GradeResult(None, None, "parse_error", gold, f"{type(exc).__name__}: {exc}"[:300])


def grade_batch(pairs: Iterable[Sequence], kind: str = "math", timeout: float = 5.0,
                max_workers: int | None = None) -> list[GradeResult]:
    """Grade (prediction, gold[, options]) pairs concurrently; results keep input order."""
    items = [tuple(p) for p in pairs]
    if not items:
        return []
    if max_workers is None:
        from .bounded import get_pool  # noqa: PLC0415

        max_workers = get_pool().size
    if max_workers <= 1 or len(items) == 1:
        return [grade(it[0], it[1], kind, it[2] if len(it) > 2 else None, timeout) for it in items]
    with ThreadPoolExecutor(max_workers=max_workers) as ex:
        return list(ex.map(lambda it: grade(it[0], it[1], kind, it[2] if len(it) > 2 else None, timeout), items))
