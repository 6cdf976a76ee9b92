"""Selecting one sample per problem, and the metrics of a selection.

Ties between equal top scores are broken uniformly at random with a seeded generator: the
reference sent every tie to the lowest index, which silently turns a weak scorer into
"first sample" and flatters it when samples are ordered. Padding slots are never selected.

Labels (``answer_correct``) are read here only to score the selection. A sample whose label
is unknown counts as not correct (it could not be verified); problems with no known label
at all are left out of every metric and of ``n_problems``.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def select(scores: np.ndarray, valid: np.ndarray, seed: int = 0) -> np.ndarray:
    """Index of the chosen slot per problem: highest score, ties broken at random (seeded).

    NaN scores rank below every number; a problem with only NaN scores gets a random valid
    slot. Returns -1 for a problem without samples.
    """
    rng = np.random.default_rng(seed)
    keys = rng.random(scores.shape)
    s = np.where(valid & ~np.isnan(scores), scores, -np.inf)
    tied = valid & (s == s.max(axis=1, keepdims=True))
    choice = np.argmax(np.where(tied, keys, -1.0), axis=1)
    return np.where(valid.any(axis=1), choice, -1)


def _evaluable(labels: np.ndarray, valid: np.ndarray) -> np.ndarray:
    return (valid & ~np.isnan(labels)).any(axis=1)


def selection_metrics(chosen: np.ndarray, labels: np.ndarray, valid: np.ndarray,
                      problems: np.ndarray | None = None) -> dict[str, Any]:
    """Select@1, pass@k, gap, sample accuracy and problem count over ``problems`` (a mask)."""
    keep = _evaluable(labels, valid)
    if problems is not None:
        keep &= problems
    n = int(keep.sum())
    if n == 0:
        return {"select_at_1": None, "pass_at_k": None, "gap": None, "sample_accuracy": None, "n_problems": 0}
    rows = np.flatnonzero(keep)
    picked = labels[rows, np.maximum(chosen[rows], 0)]
    picked = np.where(chosen[rows] >= 0, picked, 0.0)
    correct = np.nan_to_num(labels[rows], nan=0.0) * valid[rows]
    select_at_1 = float(np.nan_to_num(picked, nan=0.0).mean())
    pass_at_k = float((correct.max(axis=1) > 0).mean())
    known = valid[rows] & ~np.isnan(labels[rows])
    sample_accuracy = float(labels[rows][known].mean()) if known.any() else None
    return {"select_at_1": select_at_1, "pass_at_k": pass_at_k, "gap": pass_at_k - select_at_1,
            "sample_accuracy": sample_accuracy, "n_problems": n}


def difficulty_groups(difficulty: np.ndarray | None, labels: np.ndarray,
                      valid: np.ndarray) -> tuple[str, dict[str, np.ndarray]]:
    """Problem masks per difficulty: the dataset's own column when present, else by pass rate.

    The pass-rate fallback reads labels, but only to group problems for reporting; no
    method sees it.
    """
    if difficulty is not None:
        values = [v for v in dict.fromkeys(difficulty.tolist()) if v is not None]
        return "column", {str(v): difficulty == v for v in sorted(values, key=_natural)}
    with np.errstate(invalid="ignore"):
        rate = np.nansum(np.where(valid, labels, np.nan), axis=1) / np.maximum(
            (valid & ~np.isnan(labels)).sum(axis=1), 1)
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0001]
    groups = {}
    for lo, hi in zip(edges[:-1], edges[1:]):
        groups[f"pass_rate {lo:.1f}-{min(hi, 1.0):.1f}"] = (rate >= lo) & (rate < hi)
    return "pass_rate", groups


def _natural(text: str):
    import re

    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text)]
