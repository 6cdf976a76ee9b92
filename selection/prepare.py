"""Raw verifier scores -> normalized, filled scores every method reads, fitted on train only.

``Preprocessor.fit(train)`` learns the normalization statistics from the training problems;
``transform(split)`` applies them to any split and appends majority-vote agreement as one more
verifier when ``mv_as_verifier`` is set. Nothing here reads labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from selection.data import SelectionData
from selection.normalize import Normalizer, fill_missing

MV_VERIFIER = "majority_vote_agreement"


@dataclass
class Prepared:
    data: SelectionData   # ids, labels, answers of this split
    scores: np.ndarray    # (P, S, V) normalized, NaN = missing (after nan_replacement) or padding
    names: list[str]      # verifier names, the majority-vote verifier last when enabled

    @property
    def valid(self) -> np.ndarray:
        return self.data.valid

    @property
    def labels(self) -> np.ndarray:
        return self.data.labels

    @property
    def n_problems(self) -> int:
        return self.data.n_problems


def answer_counts(answer_codes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(P, S) how many samples of the problem share this sample's answer; NaN without an answer."""
    has = valid & (answer_codes >= 0)
    P, S = answer_codes.shape
    width = max(S, int(answer_codes.max(initial=0)) + 1)  # codes are per-problem, below the slot count
    keyed = np.where(has, answer_codes + np.arange(P)[:, None] * width, P * width)
    counts = np.bincount(keyed.ravel(), minlength=P * width + 1)[keyed].astype(np.float64)
    return np.where(has, counts, np.nan)


def majority_vote_agreement(answer_codes: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Answer frequency scaled to [0, 1] within each problem (the reference's mv verifier).

    All answers equally frequent -> 1 for every answered sample; no answer -> NaN.
    """
    counts = answer_counts(answer_codes, valid)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanmin(counts, axis=1, keepdims=True)
            hi = np.nanmax(counts, axis=1, keepdims=True)
    span = hi - lo
    scaled = np.where(span > 0, (counts - lo) / np.where(span > 0, span, 1.0), 1.0)
    return np.where(np.isnan(counts), np.nan, scaled)


class Preprocessor:
    def __init__(self, cfg):
        d = cfg.data_cfg
        params = cfg.normalize_method_params[d.normalize_method]
        self.normalizer = Normalizer(d.normalize_method, d.normalize_type, dict(params))
        self.nan_replacement = d.nan_replacement
        self.mv_as_verifier = bool(d.mv_as_verifier)

    def fit(self, train: SelectionData) -> "Preprocessor":
        masked = np.where(train.valid[:, :, None], train.scores, np.nan)
        self.normalizer.fit(masked)
        return self

    def transform(self, split: SelectionData) -> Prepared:
        masked = np.where(split.valid[:, :, None], split.scores, np.nan)
        scores = self.normalizer.transform(masked)
        names = list(split.verifier_names)
        if self.mv_as_verifier:
            mv = majority_vote_agreement(split.answer_codes, split.valid)
            if not np.isnan(mv).all():
                scores = np.concatenate([scores, mv[:, :, None]], axis=-1)
                names.append(MV_VERIFIER)
        scores = fill_missing(scores, split.valid, self.nan_replacement)
        return Prepared(data=split, scores=scores, names=names)
