"""Tiny stage-3 datasets for the selection tests, written with save_to_disk into tmp folders."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def make_rows(n_problems: int = 40, n_samples: int = 8, seed: int = 0, missing: float = 0.0,
              ragged: bool = False) -> list[dict]:
    """Rows with two informative RMs, one noisy RM, a PRM, a judge, and two poison columns.

    ``weaver_scores`` and ``P_step_scores`` equal the labels: a selector that reads them
    would be perfect, which the tests use to prove they are never read as verifiers.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_problems):
        n = n_samples - (i % 3 if ragged else 0)
        p = rng.uniform(0.15, 0.85)
        y = rng.random(n) < p
        answers = ["42" if c else str(rng.integers(0, 3)) for c in y]

        def rm(quality: float) -> list:
            vals = (np.where(y, quality, -quality) + rng.normal(0, 1, n)).round(6).tolist()
            return [None if rng.random() < missing else v for v in vals]

        verdicts = []
        for c in y:
            votes = [float(c if rng.random() < 0.75 else not c) for _ in range(3)]
            verdicts.append([None if rng.random() < missing else v for v in votes])
        rows.append({
            "id": 1000 + i,
            "instruction": f"problem {i}",
            "samples": [f"sample {j} of problem {i}" for j in range(n)],
            "extracted_answers": answers,
            "answer_correct": [bool(c) for c in y],
            "answer": "42",
            "level": f"Level {1 + i % 3}",
            "A_scores": rm(1.5),
            "B_scores": rm(1.0),
            "C_scores": rm(0.2),
            "P_min_scores": rm(0.8),
            "P_step_scores": [[float(c)] * 3 for c in y],
            "J_verdicts": verdicts,
            "weaver_scores": [float(c) for c in y],
        })
    return rows


def save_rows(rows: list[dict], path: Path) -> str:
    import datasets

    datasets.Dataset.from_list(rows).save_to_disk(str(path))
    return str(path)
