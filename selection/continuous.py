"""A label model on continuous verifier scores, without binarizing them.

Binarizing throws away how far a score sits from the threshold. Here each verifier's
score gets a class-conditional distribution fitted by EM, without labels:

- ``method="quantile"`` (default): scores are cut into ``n_bins`` quantile bins (edges
  fitted on the training scores) and each bin gets P(bin | correct) and P(bin | incorrect):
  a nonparametric mixture that fits any score shape (skewed, bimodal, discrete).
- ``method="gaussian"``: scores are mapped to normal scores through their training ECDF
  (probit of the rank) and modelled as one Gaussian per class.

EM starts from the posterior of the binary ``LabelModel`` on the scores cut at
``thresholds`` (or each verifier's median). Dependent verifier groups (detected on those
binary votes, or given) are merged into one joint verifier whose score is the mean of its
members' normal scores, so a block of near-copies counts once.
Missing scores are NaN and contribute nothing.
"""
from __future__ import annotations

import numpy as np
from scipy import stats

from selection.dependencies import DependencyAwareLabelModel
from selection.label_model import CategoricalEM, LabelModel, _sigmoid
from toolkit.errors import InputError

METHODS = ("quantile", "gaussian")


class ContinuousLabelModel:
    """``fit(scores, groups=None, class_balance=None, thresholds=None)`` then ``log_odds`` / ``predict_proba``.

    ``dependent_groups``: "auto" (detect on the binarized scores), None (assume
    independence) or a list of column-index lists.
    """

    def __init__(self, method: str = "quantile", n_bins: int = 10, dependent_groups="auto",
                 max_iter: int = 500, tol: float = 1e-5, smoothing: float = 0.5,
                 group_prior_strength: float = 4.0):
        if method not in METHODS:
            raise InputError(f"unknown method {method!r}; choose from {METHODS}")
        if n_bins < 2:
            raise InputError("n_bins must be at least 2")
        self.method, self.n_bins, self.dependent_groups = method, n_bins, dependent_groups
        self.em_kwargs = dict(max_iter=max_iter, tol=tol, smoothing=smoothing,
                              group_prior_strength=group_prior_strength)

    # ---- transforms fitted on the training scores ----------------------------------------
    def _normal_scores(self, scores: np.ndarray, training: bool = False) -> np.ndarray:
        """Probit of each score's rank among the training scores of its verifier; NaN stays NaN.

        ``training``: ``scores`` are the training scores themselves, so their mid-ranks come
        from one sort (rankdata) instead of two binary searches per score.
        """
        out = np.full(scores.shape, np.nan)
        for j, ref in enumerate(self._sorted):
            col = scores[:, j]
            ok = ~np.isnan(col)
            if training:
                mid = stats.rankdata(col[ok], method="average") - 0.5
            else:
                values, inverse = np.unique(col[ok], return_inverse=True)  # sorted queries: cache-friendly
                mid = (0.5 * (np.searchsorted(ref, values, side="left")
                              + np.searchsorted(ref, values, side="right")))[inverse]
            out[ok, j] = stats.norm.ppf((mid + 0.5) / (len(ref) + 1.0))  # mid-rank: ties share
        if self.dependent_groups_:
            grouped = {j for g in self.dependent_groups_ for j in g}
            singles = [j for j in range(scores.shape[1]) if j not in grouped]
            joint = []
            for g in self.dependent_groups_:  # mean of the members present; NaN when none voted
                present = ~np.isnan(out[:, g])
                total = np.where(present, out[:, g], 0.0).sum(axis=1)
                count = present.sum(axis=1)
                joint.append(np.where(count > 0, total / np.maximum(count, 1), np.nan))
            out = np.column_stack([out[:, singles]] + joint)
        return out

    def _codes(self, normal: np.ndarray) -> np.ndarray:
        codes = np.full(normal.shape, -1, dtype=np.int64)
        for j, edges in enumerate(self._edges):
            ok = ~np.isnan(normal[:, j])
            codes[ok, j] = np.searchsorted(edges, normal[ok, j], side="right")
        return codes

    # ---- fitting ---------------------------------------------------------------------------
    def fit(self, scores, groups=None, class_balance=None, thresholds=None) -> "ContinuousLabelModel":
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[0] == 0:
            raise InputError(f"scores must be a non-empty 2-D array (items x verifiers), got {scores.shape}")
        if np.isinf(scores).any():
            raise InputError("scores contain inf; use NaN for missing scores")
        seen = ~np.isnan(scores)
        if not seen.any(axis=0).all():
            raise InputError("every verifier needs at least one non-missing score")
        cut = np.nanmedian(scores, axis=0) if thresholds is None else np.asarray(thresholds, float)
        with np.errstate(invalid="ignore"):
            above, at_least = scores > cut, scores >= cut
        # A discrete verifier (yes/no, 1-10) often has its median ON a value: "> median" may then
        # be all 0. Take whichever side of the tie splits the samples more evenly.
        share = lambda v: np.nanmean(np.where(seen, v, np.nan), axis=0)  # noqa: E731
        with np.errstate(all="ignore"):
            even = np.abs(share(above) - 0.5) <= np.abs(share(at_least) - 0.5)
        votes = np.where(seen, np.where(even, above, at_least).astype(np.int64), -1)

        if self.dependent_groups == "auto":
            binary = DependencyAwareLabelModel(**self.em_kwargs).fit(votes, groups, class_balance)
            self.dependent_groups_ = binary.dependent_groups_
        else:
            binary = LabelModel(**self.em_kwargs).fit(votes, groups, class_balance)
            self.dependent_groups_ = [list(g) for g in (self.dependent_groups or [])]
        init = binary.predict_proba(votes, groups, class_balance)

        self._sorted = [np.sort(scores[seen[:, j], j]) for j in range(scores.shape[1])]
        normal = self._normal_scores(scores, training=True)
        if self.method == "quantile":
            qs = np.linspace(0, 1, self.n_bins + 1)[1:-1]
            self._edges = [np.unique(np.nanquantile(normal[:, j], qs)) for j in range(normal.shape[1])]
            self._em = CategoricalEM(**self.em_kwargs).fit(
                self._codes(normal), [len(e) + 1 for e in self._edges], init, groups, class_balance)
            self.class_balance_ = self._em.class_balance_
        else:
            self._fit_gaussian(normal, init, groups, class_balance)
        self.n_verifiers_ = scores.shape[1]
        return self

    def _fit_gaussian(self, x, post, groups, class_balance):
        """EM with one Gaussian per class and verifier; the prior logic is shared with the categorical model."""
        em = CategoricalEM(**self.em_kwargs)
        ok = ~np.isnan(x)
        xz = np.where(ok, x, 0.0)
        okf = ok.astype(np.float64)
        em.group_balance_ = {} if groups is not None else None  # tells prior_log_odds to fit per-group balances
        previous = None
        for it in range(self.em_kwargs["max_iter"]):
            params = []
            for w in (post, 1.0 - post):
                mass = np.einsum("i,ij->j", w, okf) + 1e-9
                mu = np.einsum("i,ij->j", w, xz) / mass
                var = np.einsum("i,ij->j", w, okf * (xz - mu) ** 2) / mass
                params.append((mu, np.maximum(var, 1e-3)))
            self._gauss = params
            llr = self._gaussian_llr(x)
            em.class_balance_ = float(np.clip(post.mean(), 1e-6, 1 - 1e-6))
            post = _sigmoid(em.prior_log_odds(llr, groups, class_balance) + llr)
            flat = np.concatenate([np.concatenate(p) for p in params])
            if previous is not None and np.abs(flat - previous).max() < self.em_kwargs["tol"]:
                break
            previous = flat
        self.n_iter_ = it + 1
        self._em = em
        self.class_balance_ = em.class_balance_

    def _gaussian_columns(self, x):
        """(items, columns) Gaussian log-likelihood ratio per column, NaN where missing."""
        (mu1, v1), (mu0, v0) = self._gauss
        return 0.5 * (np.log(v0 / v1) - (x - mu1) ** 2 / v1 + (x - mu0) ** 2 / v0)

    def _gaussian_llr(self, x):
        return np.nansum(self._gaussian_columns(x), axis=1)

    def codes(self, scores) -> np.ndarray | None:
        """The categorical codes the EM sees (for ``self._em.m_step``); None for the Gaussian method."""
        if self.method != "quantile":
            return None
        return self._codes(self._normal_scores(np.asarray(scores, dtype=np.float64)))

    def verifier_llr(self, scores) -> np.ndarray:
        """(items, columns): log-likelihood ratio per verifier / merged group (0 = missing)."""
        normal = self._normal_scores(np.asarray(scores, dtype=np.float64))
        if self.method == "quantile":
            return self._em.column_llr(self._codes(normal))
        return np.nan_to_num(self._gaussian_columns(normal))

    # ---- inference -------------------------------------------------------------------------
    def log_odds(self, scores, groups=None, class_balance=None) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or scores.shape[1] != self.n_verifiers_:
            raise InputError(f"scores must have {self.n_verifiers_} verifier columns, got shape {scores.shape}")
        normal = self._normal_scores(scores)
        if self.method == "quantile":
            llr = self._em.log_likelihood_ratio(self._codes(normal))
        else:
            llr = self._gaussian_llr(normal)
        return self._em.prior_log_odds(llr, groups, class_balance) + llr

    def predict_proba(self, scores, groups=None, class_balance=None) -> np.ndarray:
        return _sigmoid(self.log_odds(scores, groups, class_balance))

