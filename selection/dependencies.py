"""Find and repair groups of verifiers whose votes are correlated beyond the shared label.

A label model that assumes conditional independence counts a block of near-copies (the
same base model fine-tuned twice, several judges sharing a prompt) as many independent
witnesses and lets it outvote everyone else. Without labels we can still see such a
block: given the hidden label, independent verifiers are uncorrelated, so we measure the
vote correlation of every pair within each class, weighting items by the model's
posterior, and join pairs above a threshold into groups (connected components).

The posterior of a model that over-counts a block partly "explains" the block's
agreement away, which hides it. So detection is iterated: repair the groups found, refit,
recompute the posterior and detect again on the original votes, until the groups stop
changing. Repair is either ``"drop"`` (keep the most informative member of each group)
or ``"merge"`` (replace the group by one joint verifier whose value is how many of its
members voted "correct", with its own class-conditional distribution: the exact
summary of an exchangeable block, and 2k+2 parameters instead of 2^k).
"""
from __future__ import annotations

import numpy as np
from scipy.sparse import csgraph, csr_matrix

from selection.label_model import CategoricalEM, LabelModel, _sigmoid
from toolkit.errors import InputError

HANDLINGS = ("merge", "drop")


def _gram(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a.T @ b on one BLAS thread: threaded OpenBLAS on a loaded small machine is up to 1000x slower."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no BLAS control: the BLAS-free product is still fast enough
        return np.einsum("ij,ik->jk", a, b, optimize=False)
    with threadpool_limits(limits=1, user_api="blas"):
        return a.T @ b


def conditional_correlation(votes: np.ndarray, posterior: np.ndarray) -> np.ndarray:
    """Pairwise vote correlation within each class (posterior-weighted), averaged over classes.

    Only items where both verifiers voted count for a pair. Diagonal is 0.
    """
    seen = (votes >= 0).astype(np.float64)
    pos = (votes == 1).astype(np.float64)
    total, weight_sum = 0.0, 0.0
    for w in (posterior, 1.0 - posterior):
        both = _gram(seen * w[:, None], seen)                     # mass where j and k both voted
        pos_j = _gram(pos * w[:, None], seen)                     # j voted 1, k voted
        pos_jk = _gram(pos * w[:, None], pos)
        both = np.maximum(both, 1e-12)
        mean_j, mean_k = pos_j / both, pos_j.T / both
        cov = pos_jk / both - mean_j * mean_k
        var = np.maximum(mean_j * (1 - mean_j) * mean_k * (1 - mean_k), 1e-12)
        total = total + w.sum() * cov / np.sqrt(var)
        weight_sum += w.sum()
    corr = total / max(weight_sum, 1e-12)
    np.fill_diagonal(corr, 0.0)
    return corr


def find_groups(corr: np.ndarray, threshold: float, relative: float = 0.5,
                max_fraction: float = 0.5) -> list[list[int]]:
    """Groups = connected components of 'correlation above the cut'; singletons left out.

    The cut is at least ``threshold`` and at least ``relative`` times the strongest pair,
    so that while a block still biases the posterior (and inflates everyone's residual
    correlation a little) only its clearest pairs are joined; it is raised further until no
    group holds more than ``max_fraction`` of the verifiers (a majority block is
    indistinguishable from the label itself).
    """
    m = corr.shape[0]
    cut = max(threshold, relative * float(corr.max(initial=0.0)))
    while True:
        _, comp = csgraph.connected_components(csr_matrix(corr > cut), directed=False)
        groups = [np.flatnonzero(comp == c).tolist() for c in np.unique(comp)]
        groups = sorted(g for g in groups if len(g) > 1)
        if all(len(g) <= max_fraction * m for g in groups):
            return groups
        cut *= 1.25


def factor_residual_groups(votes: np.ndarray, threshold: float = 0.15, max_fraction: float = 0.5,
                           max_iter: int = 50) -> list[list[int]]:
    """Dependent groups seen WITHOUT any posterior: pairs far above a one-factor model.

    Given the label, independent verifiers are uncorrelated, so their marginal correlations
    are products of loadings on the one hidden label: corr(j, k) = l_j l_k. The loadings are
    fitted to the off-diagonal correlations by alternating least squares, leaving out pairs
    with large positive residuals (refitted until that set is stable, so a block cannot pull
    the fit toward itself), and pairs whose residual exceeds ``threshold`` and 4 robust
    standard deviations are joined into groups. This catches a block large enough to
    capture the label model's posterior, which the posterior-conditioned test then misses.
    """
    x = np.where(votes >= 0, votes, np.nan).astype(np.float64)
    seen = ~np.isnan(x)
    with np.errstate(all="ignore"):
        mu, sd = np.nanmean(x, axis=0), np.nanstd(x, axis=0)
    usable = seen.any(axis=0) & (np.nan_to_num(sd) > 0)
    z = np.where(seen & usable, (x - np.nan_to_num(mu)) / np.where(usable, sd, 1.0), 0.0)
    both = _gram(seen.astype(np.float64), seen.astype(np.float64))
    corr = _gram(z, z) / np.maximum(both, 1.0)
    m = corr.shape[0]
    off = ~np.eye(m, dtype=bool) & usable[:, None] & usable[None, :] & (both > 0)
    if m < 3 or not off.any():
        return []
    # Start from each verifier's MEDIAN correlation with the others: a block smaller than half
    # of the verifiers cannot move a median, so its pairs stand out from the first residuals.
    med = np.array([np.median(corr[j, off[j]]) if off[j].any() else 0.0 for j in range(m)])
    lam = np.sqrt(np.maximum(med, 1e-4))
    keep = off.copy()
    cut = threshold
    for it in range(max_iter):
        resid = np.where(off, corr - np.outer(lam, lam), 0.0)
        spread = 1.4826 * np.median(np.abs(resid[keep])) if keep.any() else 0.0
        cut = max(threshold, 4.0 * spread)
        new_keep = off & (resid <= cut)
        if it > 0 and np.array_equal(new_keep, keep):
            break
        keep = new_keep
        for _inner in range(20):  # loadings by alternating least squares on the kept pairs
            num = np.where(keep, corr, 0.0) @ lam
            den = np.where(keep, 1.0, 0.0) @ (lam * lam)
            lam = np.where(den > 0, num / np.maximum(den, 1e-12), 0.0)
    return find_groups(np.where(off, resid, 0.0), cut, relative=0.0, max_fraction=max_fraction)


def _union_groups(m: int, *lists: list[list[int]]) -> list[list[int]]:
    """Connected components of the union of several groupings (singletons left out)."""
    adj = np.zeros((m, m), dtype=bool)
    for groups in lists:
        for g in groups:
            adj[np.ix_(g, g)] = True
    _, comp = csgraph.connected_components(csr_matrix(adj), directed=False)
    out = [np.flatnonzero(comp == c).tolist() for c in np.unique(comp)]
    return sorted(g for g in out if len(g) > 1)


def _count_codes(votes: np.ndarray, group: list[int]) -> np.ndarray:
    """A group's joint vote: number of members voting 1 (rescaled when some abstain), -1 if none voted."""
    sub = votes[:, group]
    seen = (sub >= 0).sum(axis=1)
    pos = (sub == 1).sum(axis=1)
    k = len(group)
    codes = np.rint(np.where(seen > 0, pos * k / np.maximum(seen, 1), 0)).astype(np.int64)
    return np.where(seen > 0, codes, -1)


class DependencyAwareLabelModel:
    """``LabelModel`` plus label-free detection and repair of dependent verifier groups.

    Same API: ``fit(votes, groups=None, class_balance=None)``, ``log_odds``,
    ``predict_proba``; per original verifier ``tpr_``/``tnr_`` (re-estimated from the
    final posterior), plus ``dependent_groups_`` (lists of column indices),
    ``kept_`` (columns used, for "drop") and ``correlation_`` (last conditional correlation matrix).
    """

    def __init__(self, handling: str = "merge", threshold: float = 0.05, max_rounds: int = 6,
                 residual_test: bool = True, **label_model_kwargs):
        if handling not in HANDLINGS:
            raise InputError(f"unknown dependency handling {handling!r}; choose from {HANDLINGS}")
        self.handling = handling
        self.threshold = threshold
        self.max_rounds = max_rounds
        self.residual_test = residual_test
        self.label_model_kwargs = label_model_kwargs

    def _columns(self, votes: np.ndarray, dep_groups: list[list[int]]):
        """Codes and value counts of the repaired verifier set (singletons first, then groups)."""
        grouped = {j for g in dep_groups for j in g}
        singles = [j for j in range(votes.shape[1]) if j not in grouped]
        if self.handling == "drop":
            keep = sorted(singles + [self._best_member(g) for g in dep_groups])
            return votes[:, keep], np.full(len(keep), 2), keep
        cols = [votes[:, singles]] + [_count_codes(votes, g)[:, None] for g in dep_groups]
        n_values = [2] * len(singles) + [len(g) + 1 for g in dep_groups]
        return np.hstack(cols), np.asarray(n_values), singles

    def _best_member(self, group: list[int]) -> int:
        return max(group, key=lambda j: abs(self._weights[j]))

    def fit(self, votes, groups=None, class_balance=None) -> "DependencyAwareLabelModel":
        votes = LabelModel._check_votes(votes)
        base = LabelModel(**self.label_model_kwargs).fit(votes, groups, class_balance)
        self._weights = base.weights_
        post = base.predict_proba(votes, groups, class_balance)
        dep_groups: list[list[int]] = []
        self.n_rounds_ = 0
        self._em = base._em
        self.residual_groups_ = factor_residual_groups(votes) if self.residual_test else []
        if self.residual_groups_:  # start from a posterior the block could not capture
            dep_groups = self.residual_groups_
            codes, n_values, self.kept_ = self._columns(votes, dep_groups)
            em = CategoricalEM(**{k: v for k, v in self.label_model_kwargs.items() if k != "init"})
            self._em = em.fit(codes, n_values, LabelModel.majority_posterior(codes.clip(-1, 1)),
                              groups, class_balance)
            llr = em.log_likelihood_ratio(codes)
            post = _sigmoid(em.prior_log_odds(llr, groups, class_balance) + llr)
        for _ in range(self.max_rounds):
            self.correlation_ = conditional_correlation(votes, post)
            found = _union_groups(votes.shape[1], find_groups(self.correlation_, self.threshold),
                                  self.residual_groups_)
            self.n_rounds_ += 1
            if found == dep_groups:
                break
            dep_groups = found
            codes, n_values, self.kept_ = self._columns(votes, dep_groups)
            em = CategoricalEM(**{k: v for k, v in self.label_model_kwargs.items() if k != "init"})
            self._em = em.fit(codes, n_values, post, groups, class_balance)  # warm start
            llr = em.log_likelihood_ratio(codes)
            post = _sigmoid(em.prior_log_odds(llr, groups, class_balance) + llr)
        self.dependent_groups_ = dep_groups
        if not dep_groups:
            self.kept_ = list(range(votes.shape[1]))
        self.class_balance_ = self._em.class_balance_
        self.group_balance_ = self._em.group_balance_
        # Per-verifier rates from the final posterior (one M-step over the original columns).
        seen, pos = votes >= 0, votes == 1
        col = lambda w, mask: np.einsum("i,ij->j", w, mask.astype(np.float64), optimize=False)
        self.tpr_ = (col(post, pos) + 0.5) / (col(post, seen) + 1.0)
        self.tnr_ = (col(1 - post, seen & ~pos) + 0.5) / (col(1 - post, seen) + 1.0)
        return self

    def codes(self, votes) -> np.ndarray:
        """The categorical codes the EM sees (for ``self._em.m_step``)."""
        return self._columns(LabelModel._check_votes(votes), self.dependent_groups_)[0]

    def verifier_llr(self, votes) -> np.ndarray:
        """(items, columns): log-likelihood ratio per kept verifier / merged group (0 = abstained)."""
        return self._em.column_llr(self._columns(LabelModel._check_votes(votes), self.dependent_groups_)[0])

    def log_odds(self, votes, groups=None, class_balance=None) -> np.ndarray:
        votes = LabelModel._check_votes(votes)
        codes, _, _ = self._columns(votes, self.dependent_groups_)
        llr = self._em.log_likelihood_ratio(codes)
        return self._em.prior_log_odds(llr, groups, class_balance) + llr

    def predict_proba(self, votes, groups=None, class_balance=None) -> np.ndarray:
        return _sigmoid(self.log_odds(votes, groups, class_balance))
