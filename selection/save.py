"""Write the selection scores back as a ``weaver_scores`` column of a NEW dataset.

Scores are placed by (row position, sample position) carried through every shuffle and
split, never by slot order, so each score lands on the sample it was computed for. Every
row gets scores, whether it was in the training or the test split (``weaver_split`` says
which); the model is the one fitted on the training split. The input is never modified:
``save_dataset_atomic`` refuses to write over it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from selection.config import to_dict
from selection.data import SelectionData
from toolkit.dataset_io import build_manifest, save_dataset_atomic


def scores_per_row(data: SelectionData, scores: np.ndarray, n_rows: int,
                   row_lengths: np.ndarray) -> list[list[float | None]]:
    """Scatter (P, S) slot scores into one list per dataset row, aligned by sample position."""
    out = np.full((n_rows, int(row_lengths.max(initial=0))), np.nan)
    valid = data.valid
    rows = np.broadcast_to(data.row_positions[:, None], valid.shape)[valid]
    out[rows, data.sample_ids[valid]] = scores[valid]
    return [[None if np.isnan(x) else float(x) for x in out[r, : row_lengths[r]]] for r in range(n_rows)]


def save_weaver_scores(dataset, data: SelectionData, method, pre, path: str, cfg,
                       train_idx: np.ndarray, test_idx: np.ndarray, same: bool) -> Path:
    prepared = pre.transform(data)  # every problem, every sample
    scores = method.probability(method.score(prepared))
    lengths = np.zeros(len(dataset), dtype=np.int64)
    lengths[data.row_positions] = data.valid.sum(axis=1)
    column = scores_per_row(data, scores, len(dataset), lengths)
    split = np.full(len(dataset), "unused", dtype=object)
    split[data.row_positions[test_idx]] = "train" if same else "test"
    split[data.row_positions[train_idx]] = "train"
    out = dataset
    for name in ("weaver_scores", "weaver_split"):
        if name in out.column_names:
            out = out.remove_columns(name)
    out = out.add_column("weaver_scores", column).add_column("weaver_split", split.tolist())
    manifest = build_manifest("selection", to_dict(cfg), method=method.name,
                              labels_used=method.label_use(),
                              rows=len(out), train_rows=int(len(train_idx)),
                              test_rows=0 if same else int(len(test_idx)))
    from toolkit.run_store import output_lock, recover

    with output_lock(path, flag="data_cfg.weaver_scores_path"):
        recover(path)
        return save_dataset_atomic(out, path, manifest, input_path=cfg.data_cfg.dataset_path)
