"""A stage-3 dataset as dense arrays: problems x sample slots x verifiers.

Rows hold different numbers of samples, so arrays are padded; ``sample_ids`` says which
sample of the row each slot holds (-1 = padding). Every reordering (shuffling, sub-sampling,
train/test splits) moves slots together with their ``sample_ids`` and ``problem_ids``, so a
score computed for a slot is written back to exactly that (row id, sample position):
the reference wrote scores to the wrong samples after shuffling.

Verifier columns are ``*_scores`` (one float per sample; PRM ``*_min/_max/_avg_scores``
included) and ``*_verdicts`` (a list of verdicts per sample, averaged, nulls ignored).
``weaver_scores`` (an earlier selection's output) and ``*_step_scores`` are never verifiers.
Nulls stay NaN here; ``selection.normalize`` decides what a missing value becomes.
``answer_correct`` becomes ``labels``, which only metrics and supervised methods read.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from toolkit.errors import InputError

SCORE_SUFFIX = "_scores"
VERDICT_SUFFIX = "_verdicts"
NOT_VERIFIERS = ("weaver_scores",)
PRM_AGGREGATES = ("_min", "_max", "_avg")
DIFFICULTY_COLUMNS = ("level", "difficulty")


@dataclass(frozen=True)
class VerifierColumn:
    name: str           # column name without suffix: "GRM", "QwenPRM_min", "GPT-4o-mini"
    column: str         # dataset column
    kind: str           # "reward_model" or "judge"
    size_b: float | None  # parameters in billions, from the verifier catalog; None when unknown


@dataclass
class SelectionData:
    problem_ids: np.ndarray   # (P,) stable row id: the `id` column, else the row position
    row_positions: np.ndarray  # (P,) row position in the loaded dataset (for writing back)
    sample_ids: np.ndarray    # (P, S) sample position inside the row; -1 = padding slot
    scores: np.ndarray        # (P, S, V) float, NaN = missing
    labels: np.ndarray        # (P, S) 1.0 / 0.0, NaN = unknown or padding. Metrics & supervised only.
    answer_codes: np.ndarray  # (P, S) int: equal codes = equal extracted answers; -1 = no answer
    verifiers: list[VerifierColumn]
    difficulty: np.ndarray | None = None  # (P,) object
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> np.ndarray:
        return self.sample_ids >= 0

    @property
    def n_problems(self) -> int:
        return len(self.problem_ids)

    @property
    def verifier_names(self) -> list[str]:
        return [v.name for v in self.verifiers]

    def take_problems(self, idx: np.ndarray) -> "SelectionData":
        idx = np.asarray(idx, dtype=np.int64)
        return replace(self, problem_ids=self.problem_ids[idx], row_positions=self.row_positions[idx],
                       sample_ids=self.sample_ids[idx], scores=self.scores[idx], labels=self.labels[idx],
                       answer_codes=self.answer_codes[idx],
                       difficulty=None if self.difficulty is None else self.difficulty[idx])

    def take_slots(self, slots: np.ndarray) -> "SelectionData":
        """Per-problem reorder/sub-select: ``slots`` (P, k) indexes this object's slot axis."""
        rows = np.arange(self.n_problems)[:, None]
        return replace(self, sample_ids=self.sample_ids[rows, slots], scores=self.scores[rows, slots],
                       labels=self.labels[rows, slots], answer_codes=self.answer_codes[rows, slots])

    def take_verifiers(self, keep: list[int]) -> "SelectionData":
        return replace(self, scores=self.scores[:, :, keep], verifiers=[self.verifiers[i] for i in keep])


# ---- column discovery ---------------------------------------------------------------------

def _base_name(name: str) -> str:
    for suffix in PRM_AGGREGATES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _catalog_size(name: str) -> float | None:
    try:  # the catalog is optional: a dataset scored elsewhere still selects
        from verifiers.catalog import VERIFIERS
    except Exception:  # noqa: BLE001
        return None
    base = _base_name(name)
    if base in VERIFIERS:
        return float(VERIFIERS.get(base).params_b)
    return None


def discover_verifier_columns(schema) -> tuple[list[VerifierColumn], list[str]]:
    """Verifier columns of an Arrow schema, plus notes on columns skipped and why."""
    import pyarrow as pa

    found, notes = [], []
    for fld in schema:
        col = fld.name
        if col in NOT_VERIFIERS or col.endswith("_step_scores"):
            continue
        if col.endswith(SCORE_SUFFIX):
            name, kind = col[: -len(SCORE_SUFFIX)], "reward_model"
        elif col.endswith(VERDICT_SUFFIX):
            name, kind = col[: -len(VERDICT_SUFFIX)], "judge"
        else:
            continue
        t = fld.type
        if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
            notes.append(f"column {col} skipped: not a list per row ({t})")
            continue
        inner = t.value_type
        nested = pa.types.is_list(inner) or pa.types.is_large_list(inner)
        if kind == "reward_model" and nested:
            notes.append(f"column {col} skipped: holds a list per sample (step scores?)")
            continue
        leaf = inner.value_type if nested else inner
        if not (pa.types.is_floating(leaf) or pa.types.is_integer(leaf) or pa.types.is_boolean(leaf)
                or pa.types.is_null(leaf)):
            notes.append(f"column {col} skipped: values are {leaf}, not numbers")
            continue
        found.append(VerifierColumn(name=name, column=col, kind=kind, size_b=_catalog_size(name)))
    return found, notes


def size_matches(size_b: float, size) -> bool:
    """The reference's size classes: small <= 8B < medium < 32B <= large; a number is a maximum."""
    if size == "small":
        return size_b <= 8.0
    if size == "medium":
        return 8.0 < size_b < 32.0
    if size == "large":
        return size_b >= 32.0
    return size_b <= float(size)


def select_verifiers(columns: list[VerifierColumn], verifier_cfg) -> tuple[list[VerifierColumn], list[str]]:
    """Apply verifier_type, verifier_size and verifier_subset; notes say what was left out."""
    notes = []
    if verifier_cfg.verifier_subset:
        by_name = {c.name: c for c in columns} | {c.column: c for c in columns}
        missing = [n for n in verifier_cfg.verifier_subset if n not in by_name]
        if missing:
            raise InputError(f"verifier_cfg.verifier_subset names {', '.join(missing)}, not in the dataset; "
                             f"its verifiers: {', '.join(c.name for c in columns) or 'none'}")
        chosen = list(dict.fromkeys(by_name[n] for n in verifier_cfg.verifier_subset))
    else:
        chosen = list(columns)
    vtype = verifier_cfg.verifier_type
    if vtype != "all":
        want = "judge" if vtype == "judges" else "reward_model"
        chosen = [c for c in chosen if c.kind == want]
    size = verifier_cfg.verifier_size
    if size != "all":
        unknown = [c.name for c in chosen if c.size_b is None]
        if unknown:
            notes.append(f"verifier_size={size} left out verifiers of unknown size: {', '.join(unknown)}")
        chosen = [c for c in chosen if c.size_b is not None and size_matches(c.size_b, size)]
    if not chosen:
        raise InputError(f"no verifier columns left after verifier_cfg ({vtype}, size {size}); "
                         f"the dataset has: {', '.join(c.name for c in columns) or 'no *_scores/*_verdicts columns'}")
    return chosen, notes


# ---- Arrow list columns -> padded arrays ---------------------------------------------------

def _lengths(arr) -> np.ndarray:
    import pyarrow.compute as pc

    return pc.fill_null(pc.list_value_length(arr), 0).to_numpy().astype(np.int64)


def _float_values(arr) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(arr.type):
        return np.full(len(arr), np.nan)
    return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)


def _flat(arr):
    """Values of a list array, in row order, with null rows contributing nothing."""
    return arr.flatten()


def per_sample_values(column, n_slots: int, sample_counts: np.ndarray, name: str,
                      notes: list[str]) -> np.ndarray:
    """(P, n_slots) floats from a list column; list-of-lists (verdicts) are averaged per sample."""
    import pyarrow as pa

    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    lengths = _lengths(arr)
    inner = _flat(arr)
    if pa.types.is_list(inner.type) or pa.types.is_large_list(inner.type):
        inner_len = _lengths(inner)
        leaf = _float_values(_flat(inner))
        owner = np.repeat(np.arange(len(inner)), inner_len)
        ok = ~np.isnan(leaf)
        sums = np.bincount(owner[ok], weights=leaf[ok], minlength=len(inner))
        counts = np.bincount(owner[ok], minlength=len(inner))
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    else:
        values = _float_values(inner)
    mismatch = int(np.sum(lengths != sample_counts))
    if mismatch:
        notes.append(f"{name}: {mismatch} rows have a different number of values than samples; "
                     "extra values ignored, missing ones treated as missing")
    out = np.full((len(lengths), n_slots), np.nan)
    rows = np.repeat(np.arange(len(lengths)), lengths)
    starts = np.cumsum(lengths) - lengths
    pos = np.arange(len(values)) - np.repeat(starts, lengths)
    keep = (pos < n_slots) & (pos < sample_counts[rows])
    out[rows[keep], pos[keep]] = values[keep]
    return out


def _answer_codes(table, n_slots: int) -> np.ndarray:
    """Per problem, equal extracted answers get equal codes; None/empty is -1."""
    col = "extracted_answers" if "extracted_answers" in table.column_names else (
        "samples" if "samples" in table.column_names else None)
    codes = np.full((table.num_rows, n_slots), -1, dtype=np.int64)
    if col is None:
        return codes
    for i, answers in enumerate(table.column(col).to_pylist()):
        seen: dict[str, int] = {}
        for j, a in enumerate((answers or [])[:n_slots]):
            if a is None or not str(a).strip():
                continue
            codes[i, j] = seen.setdefault(str(a).strip(), len(seen))
    return codes


def load_selection_data(dataset, verifier_cfg, difficulty_column: str | None = None) -> SelectionData:
    """Build ``SelectionData`` from a loaded HF Dataset (or an Arrow table)."""
    table = dataset if hasattr(dataset, "schema") and hasattr(dataset, "column_names") and \
        not hasattr(dataset, "with_format") else dataset.with_format("arrow")[:]
    if table.num_rows == 0:
        raise InputError("the dataset has no rows")
    count_col = next((c for c in ("samples", "answer_correct", "extracted_answers")
                      if c in table.column_names), None)
    if count_col is None:
        raise InputError("the dataset has none of samples / answer_correct / extracted_answers: "
                         "cannot tell how many samples each row has")
    columns, notes = discover_verifier_columns(table.schema)
    if not columns:
        raise InputError(f"no verifier columns (*_scores / *_verdicts) in the dataset; columns: "
                         f"{', '.join(table.column_names)}")
    chosen, more = select_verifiers(columns, verifier_cfg)
    notes += more
    counts = _lengths(table.column(count_col).combine_chunks())
    n_slots = int(counts.max()) if len(counts) else 0
    if n_slots == 0:
        raise InputError("no row has any samples")
    sample_ids = np.where(np.arange(n_slots)[None, :] < counts[:, None], np.arange(n_slots)[None, :], -1)
    scores = np.stack([per_sample_values(table.column(c.column), n_slots, counts, c.column, notes)
                       for c in chosen], axis=-1)
    infinite = np.isinf(scores)
    if infinite.any():  # not a score a verifier can mean; kept, it would flatten the verifier's scale
        for j in np.flatnonzero(infinite.any(axis=(0, 1))):
            notes.append(f"{chosen[j].column}: {int(infinite[..., j].sum())} infinite values treated as missing")
        scores = np.where(infinite, np.nan, scores)
    if "answer_correct" in table.column_names:
        labels = per_sample_values(table.column("answer_correct"), n_slots, counts, "answer_correct", notes)
    else:
        labels = np.full((table.num_rows, n_slots), np.nan)
        notes.append("no answer_correct column: metrics are unavailable and supervised methods refuse to run")
    if "id" in table.column_names and table.column("id").null_count == 0:
        ids = np.asarray(table.column("id").to_pylist())
        problem_ids = ids if len(set(ids.tolist())) == len(ids) else np.arange(table.num_rows)
    else:
        problem_ids = np.arange(table.num_rows)
    diff_col = difficulty_column or next((c for c in DIFFICULTY_COLUMNS if c in table.column_names), None)
    if difficulty_column and difficulty_column not in table.column_names:
        raise InputError(f"data_cfg.difficulty_column={difficulty_column!r} is not a dataset column")
    difficulty = None
    if diff_col:
        difficulty = np.array([None if v is None else str(v) for v in table.column(diff_col).to_pylist()],
                              dtype=object)
    return SelectionData(problem_ids=problem_ids, row_positions=np.arange(table.num_rows),
                         sample_ids=sample_ids, scores=scores, labels=labels,
                         answer_codes=_answer_codes(table, n_slots), verifiers=chosen,
                         difficulty=difficulty, notes=notes)
