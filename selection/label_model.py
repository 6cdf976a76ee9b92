"""Label models: turn many weak verifier votes into P(sample is correct) without labels.

The model is Dawid-Skene: a hidden binary label y per item (1 = correct) and, per
verifier, a class-conditional distribution of its vote. Votes of different verifiers are
assumed independent given y (``selection.dependencies`` repairs groups that are not).
Parameters are fitted by EM from a majority-vote start, which is the maximum-likelihood
estimate the MeTaL/Snorkel matrix-completion estimators approximate by moments; on data
with tens of thousands of items it is both more accurate and faster (a handful of sparse
matrix products per iteration).

The engine (``CategoricalEM``) handles verifiers with any number of vote values, so the
same code fits binary votes (``LabelModel``), quantile-binned continuous scores
(``selection.continuous``) and merged groups of dependent verifiers. Missing votes are
coded -1 and simply contribute nothing to an item's likelihood (missing at random).

The class balance p = P(y = 1) is estimated from the data unless given. With ``groups``
(for example the problem each sample answers) every group gets its own balance, shrunk
toward the global one, because easy and hard problems differ far more in their share of
correct samples than the verifiers differ across them.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse

from toolkit.errors import InputError

_EPS = 1e-6


def _as_group_index(groups, n_items: int) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Map arbitrary group labels to 0..G-1; returns (unique labels, index per item)."""
    if groups is None:
        return None, None
    groups = np.asarray(groups)
    if groups.shape != (n_items,):
        raise InputError(f"groups must have one entry per item ({n_items}), got shape {groups.shape}")
    labels, index = np.unique(groups, return_inverse=True)
    return labels, index.astype(np.int64)


def _prior_per_item(class_balance, n_items: int) -> np.ndarray | None:
    """A fixed class balance given by the user: a float or one value per item."""
    if class_balance is None:
        return None
    prior = np.broadcast_to(np.asarray(class_balance, dtype=np.float64), (n_items,)).copy()
    if not np.all((prior > 0) & (prior < 1)):
        raise InputError("class_balance must lie strictly between 0 and 1 (a float or one value per item)")
    return prior


def _logit(p):
    p = np.clip(p, _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


class CategoricalEM:
    """Dawid-Skene EM over integer-coded votes: codes[i, j] in 0..n_values[j]-1, or -1 if missing.

    After ``fit``: ``theta1_[j]`` / ``theta0_[j]`` are P(value | y=1) / P(value | y=0) of
    verifier j (arrays of length n_values[j]); ``class_balance_`` is the global P(y=1);
    ``group_balance_`` maps group label -> P(y=1) when fitted with groups.
    """

    def __init__(self, max_iter: int = 500, tol: float = 1e-5, smoothing: float = 0.5,
                 group_prior_strength: float = 4.0):
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing  # Dirichlet pseudo-count per value; keeps log-probs finite
        self.group_prior_strength = group_prior_strength  # pseudo-items pulling a group toward p

    # ---- encoding -----------------------------------------------------------------------
    def _one_hot(self, codes: np.ndarray) -> sparse.csr_matrix:
        n, m = codes.shape
        if m != len(self.n_values_):
            raise InputError(f"expected {len(self.n_values_)} verifier columns, got {m}")
        if np.any(codes >= self.n_values_[None, :]) or np.any(codes < -1):
            raise InputError("vote codes out of range for the fitted verifiers")
        present = codes >= 0
        rows = np.broadcast_to(np.arange(n)[:, None], codes.shape)[present]
        cols = (codes + self.offsets_[None, :-1])[present]
        data = np.ones(rows.shape[0])
        return sparse.csr_matrix((data, (rows, cols)), shape=(n, self.offsets_[-1]))

    def _normalise(self, counts: np.ndarray) -> np.ndarray:
        counts = counts + self.smoothing
        totals = np.add.reduceat(counts, self.offsets_[:-1])
        return counts / np.repeat(totals, self.n_values_)

    # ---- EM -----------------------------------------------------------------------------
    def fit(self, codes: np.ndarray, n_values, init_posterior: np.ndarray,
            groups=None, class_balance=None) -> "CategoricalEM":
        codes = np.asarray(codes, dtype=np.int64)
        n = codes.shape[0]
        self.n_values_ = np.asarray(n_values, dtype=np.int64)
        self.offsets_ = np.concatenate([[0], np.cumsum(self.n_values_)])
        X = self._one_hot(codes)
        XT = X.T.tocsr()
        fixed_prior = _prior_per_item(class_balance, n)
        self.group_labels_, gidx = _as_group_index(groups, n)

        post = np.clip(np.asarray(init_posterior, dtype=np.float64), _EPS, 1 - _EPS)
        if post.shape != (n,):
            raise InputError(f"init_posterior needs one value per item ({n})")

        value_totals = XT @ np.ones(n)  # how often each value occurs; class-0 counts = totals - class-1

        def em_map(post, with_likelihood=True):
            """One EM step on the posterior: M-step from soft labels, then E-step."""
            counts1 = XT @ post
            log1 = np.log(self._normalise(counts1))
            log0 = np.log(self._normalise(value_totals - counts1))
            prior = fixed_prior if fixed_prior is not None else self._estimate_prior(post, gidx)
            evidence = X @ (log1 - log0)
            new_post = _sigmoid(_logit(prior) + evidence)
            if not with_likelihood:
                return new_post, None, (log1, log0)
            b = np.log1p(-prior) + X @ log0
            return new_post, float(np.logaddexp(np.log(prior) + evidence + b - np.log1p(-prior), b).sum()), (log1, log0)

        # SQUAREM (Varadhan & Roland 2008) on the posterior vector: two EM steps give a
        # direction and a step length; the extrapolated point is kept only if the likelihood
        # did not drop. Weak verifiers otherwise need hundreds of plain EM steps.
        self.n_iter_ = 0
        params = None
        while self.n_iter_ < self.max_iter:
            post1, _, params1 = em_map(post, with_likelihood=False)
            post2, ll2, params2 = em_map(post1)
            self.n_iter_ += 2
            delta = max(np.abs(np.exp(params2[0]) - np.exp(params1[0])).max(),
                        np.abs(np.exp(params2[1]) - np.exp(params1[1])).max())
            if delta < self.tol:
                post, params = post2, params2
                break
            r, v = post1 - post, post2 - 2 * post1 + post
            alpha = min(-np.sqrt(np.einsum("i,i", r, r) / max(np.einsum("i,i", v, v), 1e-300)), -1.0)
            jump = np.clip(post - 2 * alpha * r + alpha ** 2 * v, _EPS, 1 - _EPS)
            post3, ll3, params3 = em_map(jump)
            self.n_iter_ += 1
            post, params = (post3, params3) if ll3 >= ll2 else (post2, params2)
        if params is None:
            post, _, params = em_map(post)
        self.log_theta1_, self.log_theta0_ = params
        if fixed_prior is None and self.orientation(value_totals) < 0:
            # EM found the mirror image (the classes swapped): with few verifiers both are fixed
            # points. Codes are ordered (higher = says "more correct"), and verifiers are taken to
            # be better than chance on the whole, so the labels are swapped back.
            self.log_theta1_, self.log_theta0_ = self.log_theta0_, self.log_theta1_
            post = 1.0 - post
            self.flipped_ = True
        self.class_balance_ = float(np.clip(post.mean(), _EPS, 1 - _EPS)) if fixed_prior is None \
            else float(fixed_prior.mean())
        if gidx is not None and fixed_prior is None:
            per_group = (np.bincount(gidx, weights=post) + self.group_prior_strength * self.class_balance_) \
                / (np.bincount(gidx) + self.group_prior_strength)
            self.group_balance_ = dict(zip(self.group_labels_.tolist(), per_group.tolist()))
        else:
            self.group_balance_ = None
        return self

    def _estimate_prior(self, post: np.ndarray, gidx: np.ndarray | None) -> np.ndarray | float:
        p = float(np.clip(post.mean(), _EPS, 1 - _EPS))
        if gidx is None:
            return p
        s = self.group_prior_strength
        per_group = (np.bincount(gidx, weights=post) + s * p) / (np.bincount(gidx) + s)
        return per_group[gidx]

    # ---- inference ----------------------------------------------------------------------
    def log_likelihood_ratio(self, codes: np.ndarray) -> np.ndarray:
        """sum_j log P(vote_j | y=1) - log P(vote_j | y=0): the evidence, without the prior."""
        return self._one_hot(np.asarray(codes, dtype=np.int64)) @ (self.log_theta1_ - self.log_theta0_)

    def orientation(self, value_totals: np.ndarray | None = None) -> float:
        """Sum over columns of the covariance between a value's rank and its log-likelihood ratio
        (values weighted by how often they occur): > 0 when higher values mean "more correct"."""
        diff = self.log_theta1_ - self.log_theta0_
        total = 0.0
        for j in range(len(self.n_values_)):
            sl = slice(self.offsets_[j], self.offsets_[j + 1])
            w = np.ones(self.n_values_[j]) if value_totals is None else value_totals[sl] + 1e-9
            v = np.arange(self.n_values_[j], dtype=np.float64)
            vc = v - np.average(v, weights=w)
            d = diff[sl] - np.average(diff[sl], weights=w)
            total += float(np.average(vc * d, weights=w))
        return total

    def m_step(self, codes: np.ndarray, weights: np.ndarray) -> None:
        """Refit every column's value distributions from soft labels ``weights`` = P(y=1) per item."""
        X = self._one_hot(np.asarray(codes, dtype=np.int64))
        totals = np.asarray(X.sum(axis=0)).ravel()
        counts1 = X.T @ np.asarray(weights, dtype=np.float64)
        self.log_theta1_ = np.log(self._normalise(counts1))
        self.log_theta0_ = np.log(self._normalise(totals - counts1))

    def column_llr(self, codes: np.ndarray) -> np.ndarray:
        """(items, columns): log P(value | y=1) - log P(value | y=0) per column, 0 where missing."""
        codes = np.asarray(codes, dtype=np.int64)
        diff = self.log_theta1_ - self.log_theta0_
        present = codes >= 0
        out = np.zeros(codes.shape)
        out[present] = diff[(codes + self.offsets_[None, :-1])[present]]
        return out

    def prior_log_odds(self, llr: np.ndarray, groups=None, class_balance=None) -> np.ndarray:
        """logit P(y=1) per item: given, per group (re-estimated for new groups), or global."""
        n = llr.shape[0]
        fixed = _prior_per_item(class_balance, n)
        if fixed is not None:
            return _logit(fixed)
        if groups is None or self.group_balance_ is None:
            return np.full(n, _logit(self.class_balance_))
        # Per-group balance for (possibly unseen) groups: EM over the balance only, verifier
        # parameters fixed; shrunk toward the fitted global balance like during fitting.
        _, gidx = _as_group_index(groups, n)
        p, s = self.class_balance_, self.group_prior_strength
        prior = np.full(n, p)
        counts = np.bincount(gidx)
        for _ in range(50):
            post = _sigmoid(_logit(prior) + llr)
            new = ((np.bincount(gidx, weights=post) + s * p) / (counts + s))[gidx]
            if np.abs(new - prior).max() < 1e-6:
                prior = new
                break
            prior = new
        return _logit(prior)


class LabelModel:
    """Binary-vote label model. Votes: 1 (verifier says correct), 0 (says incorrect), -1 (abstain/missing).

    ``fit(votes, groups=None, class_balance=None)`` learns, per verifier, ``tpr_`` =
    P(vote 1 | correct) and ``tnr_`` = P(vote 0 | incorrect) among non-abstaining votes, and
    ``class_balance_`` = P(correct) (estimated unless given: a float or one value per item).
    With ``groups`` (one label per item, e.g. problem id) the balance is per group.

    ``predict_proba`` returns P(correct | votes). Rank with ``log_odds`` instead: the
    probability rounds to exactly 1.0 once the evidence is strong, which creates false ties.
    """

    def __init__(self, max_iter: int = 500, tol: float = 1e-5, smoothing: float = 0.5,
                 group_prior_strength: float = 4.0, init: str = "majority"):
        if init not in ("majority",):
            raise InputError(f"unknown init {init!r}; expected 'majority'")
        self.init = init
        self._em = CategoricalEM(max_iter=max_iter, tol=tol, smoothing=smoothing,
                                 group_prior_strength=group_prior_strength)

    @staticmethod
    def _check_votes(votes) -> np.ndarray:
        votes = np.asarray(votes)
        if votes.ndim != 2:
            raise InputError(f"votes must be a 2-D array (items x verifiers), got shape {votes.shape}")
        if votes.dtype.kind == "f":
            if np.isnan(votes).any():
                votes = np.where(np.isnan(votes), -1, votes)
            if not np.all(np.isin(votes, (-1.0, 0.0, 1.0))):
                raise InputError("votes must be 1, 0 or -1 (abstain/missing)")
        votes = votes.astype(np.int64)
        if not np.all(np.isin(votes, (-1, 0, 1))):
            raise InputError("votes must be 1, 0 or -1 (abstain/missing)")
        return votes

    @staticmethod
    def majority_posterior(votes: np.ndarray) -> np.ndarray:
        """Smoothed share of positive votes per item: the EM start and a label-free baseline."""
        pos = (votes == 1).sum(axis=1)
        seen = (votes >= 0).sum(axis=1)
        return (pos + 0.5) / (seen + 1.0)

    def fit(self, votes, groups=None, class_balance=None) -> "LabelModel":
        votes = self._check_votes(votes)
        if votes.shape[0] == 0:
            raise InputError("cannot fit a label model on zero items")
        self.n_verifiers_ = votes.shape[1]
        self._em.fit(votes, np.full(votes.shape[1], 2), self.majority_posterior(votes),
                     groups=groups, class_balance=class_balance)
        theta1 = np.exp(self._em.log_theta1_).reshape(-1, 2)
        theta0 = np.exp(self._em.log_theta0_).reshape(-1, 2)
        self.tpr_ = theta1[:, 1]
        self.tnr_ = theta0[:, 0]
        self.class_balance_ = self._em.class_balance_
        self.group_balance_ = self._em.group_balance_
        self.n_iter_ = self._em.n_iter_
        self.coverage_ = (votes >= 0).mean(axis=0)  # share of items each verifier voted on
        return self

    def verifier_llr(self, votes) -> np.ndarray:
        """(items, verifiers): each verifier's own log-likelihood ratio (0 where it abstained)."""
        return self._em.column_llr(self._check_votes(votes))

    def codes(self, votes) -> np.ndarray:
        """The categorical codes the EM sees (for ``self._em.m_step``)."""
        return self._check_votes(votes)

    @property
    def weights_(self) -> np.ndarray:
        """Log-odds added by a positive vote minus that of a negative vote, per verifier."""
        return np.log(self.tpr_ / (1 - self.tnr_)) - np.log((1 - self.tpr_) / self.tnr_)

    def log_odds(self, votes, groups=None, class_balance=None) -> np.ndarray:
        """logit P(correct | votes); with groups the per-group balance is re-estimated label-free."""
        votes = self._check_votes(votes)
        llr = self._em.log_likelihood_ratio(votes)
        return self._em.prior_log_odds(llr, groups, class_balance) + llr

    def predict_proba(self, votes, groups=None, class_balance=None) -> np.ndarray:
        return _sigmoid(self.log_odds(votes, groups, class_balance))
