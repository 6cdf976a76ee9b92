"""Put every verifier's scores on a common [0, 1] scale before they are thresholded or averaged.

``all_problems``: per verifier, the statistics (min/max, quantiles, winsorizing bounds) are
fitted on the training problems only and applied unchanged to the test problems, so nothing
about the test set leaks into its own preprocessing. ``per_problem``: each problem's samples are
scaled among themselves; that uses no statistic of other problems and no label, so it is the
same on train and test.

Missing values stay NaN through scaling; ``fill_missing`` then applies ``nan_replacement``
(``mask`` keeps them missing: the label model treats them as abstentions).
"""
from __future__ import annotations

import numpy as np

from toolkit.errors import InputError


def _nanquantile(x: np.ndarray, q, axis=None) -> np.ndarray:
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(x, q, axis=axis)


def _minmax(x: np.ndarray, lo, hi, clip: bool) -> np.ndarray:
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 0.5)
    out = np.where(np.isnan(x), np.nan, out)
    return np.clip(out, 0.0, 1.0) if clip else out


def _quantile_map(x: np.ndarray, refs: np.ndarray) -> np.ndarray:
    """Empirical CDF of ``refs`` at ``x``, averaging over ties like scikit-learn's QuantileTransformer."""
    if np.isnan(refs).all():
        return np.full_like(x, np.nan)
    r = np.linspace(0.0, 1.0, len(refs))
    up = np.interp(x, refs, r)
    down = -np.interp(-x, -refs[::-1], -r[::-1])
    return np.where(np.isnan(x), np.nan, 0.5 * (up + down))


class Normalizer:
    """Fit on training scores (P, S, V), transform any split's scores into [0, 1]."""

    def __init__(self, method: str = "minmax", normalize_type: str = "all_problems", params=None):
        self.method = method
        self.normalize_type = normalize_type
        self.params = dict(params or {})

    def fit(self, scores: np.ndarray) -> "Normalizer":
        if self.normalize_type == "per_problem":
            return self
        flat = scores.reshape(-1, scores.shape[-1])
        if self.method == "minmax":
            self.low_, self.high_ = _nanquantile(flat, 0.0, axis=0), _nanquantile(flat, 1.0, axis=0)
        elif self.method == "winsorize":
            lo, hi = self.params.get("lower_quantile", 0.05), self.params.get("upper_quantile", 0.95)
            self.low_, self.high_ = _nanquantile(flat, lo, axis=0), _nanquantile(flat, hi, axis=0)
        elif self.method == "quantile":
            n = int(self.params.get("n_quantiles", 100))
            n = max(2, min(n, int(np.sum(~np.isnan(flat), axis=0).max(initial=2))))
            self.references_ = _nanquantile(flat, np.linspace(0, 1, n), axis=0).T  # (V, n)
        else:
            raise InputError(f"unknown normalize_method {self.method!r}")
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        if self.normalize_type == "per_problem":
            return self._per_problem(scores)
        if self.method in ("minmax", "winsorize"):
            clip = self.params.get("clip", True) or self.method == "winsorize"
            return _minmax(scores, self.low_, self.high_, clip)
        out = np.empty_like(scores, dtype=np.float64)
        for v in range(scores.shape[-1]):
            out[..., v] = _quantile_map(scores[..., v], self.references_[v])
        return self._output_distribution(out)

    def _per_problem(self, scores: np.ndarray) -> np.ndarray:
        if self.method == "minmax":
            lo, hi = _nanquantile(scores, 0.0, axis=1), _nanquantile(scores, 1.0, axis=1)
        elif self.method == "winsorize":
            lo = _nanquantile(scores, self.params.get("lower_quantile", 0.05), axis=1)
            hi = _nanquantile(scores, self.params.get("upper_quantile", 0.95), axis=1)
        else:  # quantile: mid-rank of each sample among its problem's samples
            return self._output_distribution(_midranks(scores))
        return _minmax(scores, lo[:, None, :], hi[:, None, :], clip=True)

    def _output_distribution(self, u: np.ndarray) -> np.ndarray:
        if self.params.get("output_distribution", "uniform") != "normal":
            return u
        from scipy import stats  # z-scores: thresholds then apply on the normal scale
        return stats.norm.ppf(np.clip(u, 1e-7, 1 - 1e-7))


def _midranks(scores: np.ndarray) -> np.ndarray:
    """Per problem and verifier, (rank - 1) / (n - 1) with ties sharing their mean rank."""
    from scipy import stats

    ranked = stats.rankdata(scores, axis=1, nan_policy="omit")
    n = np.sum(~np.isnan(scores), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 1, (ranked - 1) / np.maximum(n - 1, 1), 0.5)
    return np.where(np.isnan(scores), np.nan, out)


def fill_missing(normalized: np.ndarray, valid: np.ndarray, nan_replacement) -> np.ndarray:
    """Apply ``nan_replacement`` to missing values of real samples; padding slots stay NaN."""
    if nan_replacement == "mask":
        return normalized
    if nan_replacement == "mean":
        with np.errstate(all="ignore"):
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                problem_mean = np.nanmean(normalized, axis=1, keepdims=True)
                global_mean = np.nanmean(normalized.reshape(-1, normalized.shape[-1]), axis=0)
        fill = np.where(np.isnan(problem_mean), global_mean, problem_mean)
        fill = np.where(np.isnan(fill), 0.5, fill)
    else:
        fill = float(nan_replacement)
    filled = np.where(np.isnan(normalized), fill, normalized)
    return np.where(valid[:, :, None], filled, np.nan)
