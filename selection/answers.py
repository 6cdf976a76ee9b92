"""Answer-aware selection: samples that share an extracted answer stand or fall together.

The sample-level label model gives every sample its verifier evidence, the log-likelihood
ratio l_i = log P(scores_i | correct) - log P(scores_i | wrong). Samples with the same
extracted answer are all correct or all wrong, so their evidence is pooled per answer
cluster c, and the answer is chosen first, then its best sample:

    logit P(c correct) = a + b * log(share_c) + n_eff(c) * mean_{i in c} l_i
    n_eff(c) = n_c / (1 + (n_c - 1) * rho)

- ``share_c`` is the cluster's share of the problem's samples. Popularity is how majority
  vote enters: as a prior over answers whose weight ``b`` is learned, not as one more
  "independent" verifier (it is a function of the other samples' answers, and as a voter
  with an estimated TPR near 1 it overrode every real verifier whenever the majority was
  wrong).
- ``rho`` is the correlation of the evidence of two samples with the same answer beyond
  their shared label (a verifier that likes a wrong answer likes every copy of it). With
  rho = 0 a cluster of n copies counts as n witnesses; with rho = 1 as one.

``a``, ``b`` and ``rho`` are fitted on the training split without labels: EM over the
hidden correctness of each cluster (the E-step is the formula above, the M-step a weighted
logistic regression of the cluster posteriors on [1, log share]), alternated with a
moment estimate of rho from the residual evidence of sample pairs inside clusters.
Samples without an answer are clusters of their own (share 1/n). Nothing here reads labels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-6
TIE_BREAK = 1e-6  # within an answer, the sample with the strongest own evidence ranks first


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


@dataclass
class Clusters:
    index: np.ndarray      # (P, S) cluster id per slot, -1 for padding
    size: np.ndarray       # (C,) samples per cluster
    log_share: np.ndarray  # (C,) log(size / samples of the problem)


def answer_clusters(answer_codes: np.ndarray, valid: np.ndarray) -> Clusters:
    """Global cluster ids: equal codes within a problem share one; no answer = a singleton."""
    P, S = answer_codes.shape
    width = S + int(answer_codes.max(initial=0)) + 1
    slot = np.broadcast_to(np.arange(S), (P, S))
    # no-answer samples get a key of their own (past every answer code) so they stay singletons
    key = np.where(answer_codes >= 0, answer_codes, int(answer_codes.max(initial=0)) + 1 + slot)
    key = key + np.arange(P)[:, None] * width
    flat = np.where(valid, key, -1).ravel()
    uniq, inverse = np.unique(flat[flat >= 0], return_inverse=True)
    index = np.full(P * S, -1, dtype=np.int64)
    index[flat >= 0] = inverse
    index = index.reshape(P, S)
    size = np.bincount(inverse, minlength=len(uniq)).astype(np.float64)
    problem = uniq // width
    n_per_problem = valid.sum(axis=1).astype(np.float64)
    return Clusters(index=index, size=size, log_share=np.log(size / n_per_problem[problem]))


def has_answers(answer_codes: np.ndarray, valid: np.ndarray, clusters: Clusters,
                min_share: float = 0.5) -> bool:
    """Pooling pays off when most samples have an answer and some answers repeat."""
    answered = valid & (answer_codes >= 0)
    if answered.sum() < min_share * max(valid.sum(), 1):
        return False
    return bool((clusters.size >= 2).any())


class AnswerModel:
    """``fit(llr, clusters)`` learns a, b and one rho per verifier column without labels.

    ``llr`` is (P, S, m): each verifier's own log-likelihood ratio for each sample (after the
    label model merged dependent verifiers into joint columns), NaN for padding. Each column
    gets its own within-answer correlation: one verifier may judge an answer consistently
    while another looks at each sample afresh.
    """

    def __init__(self, max_rounds: int = 20, tol: float = 1e-4):
        self.max_rounds, self.tol = max_rounds, tol

    @staticmethod
    def _sums(llr: np.ndarray, cl: Clusters) -> np.ndarray:
        """(C, m) per-cluster sums of each column."""
        ok = cl.index >= 0
        vals = np.nan_to_num(llr[ok])
        out = np.zeros((len(cl.size), vals.shape[1]))
        np.add.at(out, cl.index[ok], vals)
        return out

    def pooled(self, llr: np.ndarray, cl: Clusters, sums: np.ndarray | None = None) -> np.ndarray:
        """(C,) pooled evidence: per column n_eff * cluster mean, summed over columns."""
        sums = self._sums(llr, cl) if sums is None else sums
        n = cl.size[:, None]
        return (sums / (1.0 + (n - 1.0) * self.rho_[None, :])).sum(axis=1)

    def _fit_prior(self, evidence: np.ndarray, x: np.ndarray, a: float, b: float) -> tuple[float, float]:
        """EM for the prior's (a, b) with the evidence fixed; a few Newton steps per M-step."""
        design = np.column_stack([np.ones_like(x), x])
        theta = np.array([a, b])
        for _ in range(200):
            q = _sigmoid(design @ theta + evidence)
            old = theta.copy()
            for _ in range(5):
                p = _sigmoid(design @ theta)
                grad = design.T @ (q - p) - 1e-3 * theta  # a whisper of ridge keeps it finite
                hess = (design * (p * (1 - p))[:, None]).T @ design + 1e-3 * np.eye(2)
                theta = theta + np.linalg.solve(hess, grad)
                theta[1] = max(theta[1], 0.0)  # a popular answer is never LESS likely to be right
            if np.abs(theta - old).max() < self.tol:
                break
        return float(theta[0]), float(theta[1])

    @staticmethod
    def _rho(llr: np.ndarray, cl: Clusters, q: np.ndarray) -> np.ndarray:
        """Per column: correlation of residual evidence of two samples of one answer (moments).

        Per class (clusters weighted by their posterior of being in it): covariance of the
        residuals l_i - mean(l | class) over pairs of samples in one cluster, over their variance.
        """
        ok = cl.index >= 0
        idx, vals = cl.index[ok], np.nan_to_num(llr[ok])
        pairs = cl.size * (cl.size - 1)
        num, den = np.zeros(vals.shape[1]), np.zeros(vals.shape[1])
        for weight in (q, 1.0 - q):
            w = weight[idx][:, None]
            mu = (w * vals).sum(0) / max(w.sum(), _EPS)
            r = vals - mu
            var = (w * r * r).sum(0) / max(w.sum(), _EPS)
            mass = np.sum(weight * pairs)
            if mass <= _EPS:
                continue
            s = np.zeros((len(cl.size), vals.shape[1]))
            np.add.at(s, idx, r)
            ss = np.zeros_like(s)
            np.add.at(ss, idx, r * r)
            cov = (weight[:, None] * (s * s - ss)).sum(0)
            good = var > _EPS
            num[good] += cov[good] / var[good]
            den[good] += mass
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.where(den > 0, num / np.maximum(den, _EPS), 0.0)
        return np.clip(rho, 0.0, 0.99)

    def fit(self, llr: np.ndarray, cl: Clusters, start: tuple[float, float] = (0.0, 1.0)) -> "AnswerModel":
        m = llr.shape[-1]
        sums = self._sums(llr, cl)
        self.rho_ = np.zeros(m)
        a, b = start
        for self.n_rounds_ in range(1, self.max_rounds + 1):
            evidence = self.pooled(llr, cl, sums=sums)
            a, b = self._fit_prior(evidence, cl.log_share, a, b)
            q = _sigmoid(a + b * cl.log_share + evidence)
            rho = self._rho(llr, cl, q)
            done = np.abs(rho - self.rho_).max(initial=0.0) < self.tol
            self.rho_ = rho
            if done:
                break
        self.a_, self.b_ = a, b
        return self

    def fit_joint(self, model, codes: np.ndarray, cl: Clusters, max_iter: int = 100) -> "AnswerModel":
        """With fewer than three verifier columns the sample-level label model is not identified
        (a latent class needs three conditionally independent views); the answers are the missing
        view. EM then also refits the verifiers' value distributions, each sample weighted by its
        answer's posterior (``model._em.m_step``). Starts from the two-stage fit.
        """
        ok = cl.index >= 0
        idx = cl.index[ok]
        llr = np.full(cl.index.shape + (codes.shape[1],), np.nan)
        llr[ok] = model._em.column_llr(codes)
        self.fit(llr, cl)
        q_old = None
        for self.n_iter_ in range(1, max_iter + 1):
            q = _sigmoid(self.cluster_log_odds(llr, cl))
            model._em.m_step(codes, q[idx])
            llr[ok] = model._em.column_llr(codes)
            self.fit(llr, cl, start=(self.a_, self.b_))
            if q_old is not None and np.abs(q - q_old).max() < 1e-4:
                break
            q_old = q
        self.joint_ = True
        return self

    def cluster_log_odds(self, llr: np.ndarray, cl: Clusters) -> np.ndarray:
        return self.a_ + self.b_ * cl.log_share + self.pooled(llr, cl)

    def sample_scores(self, llr: np.ndarray, cl: Clusters) -> np.ndarray:
        """(P, S): the log-odds of the sample's answer, ties inside an answer broken by own evidence."""
        logits = self.cluster_log_odds(llr, cl)
        ok = cl.index >= 0
        out = np.full(cl.index.shape, np.nan)
        out[ok] = logits[cl.index[ok]] + TIE_BREAK * np.nan_to_num(llr[ok]).sum(axis=-1)
        return out

    def describe(self, names: list[str] | None = None) -> dict:
        rho = np.round(self.rho_, 4).tolist()
        return {"share_weight": round(self.b_, 4), "intercept": round(self.a_, 4),
                "verifiers_refit_on_answers": bool(getattr(self, "joint_", False)),
                "within_answer_correlation": dict(zip(names, rho)) if names and len(names) == len(rho) else rho,
                "rounds": self.n_rounds_}
