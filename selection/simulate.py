"""Simulated selection datasets with known verifier quality, and the Bayes-optimal scores.

Each sample has a hidden label y (correct or not). Verifier j sees a latent
z = m_y[j] + e, e ~ N(0, 1), and votes "correct" when z > 0, so by construction
P(vote 1 | y=1) = Phi(m_1) = TPR and P(vote 0 | y=0) = Phi(-m_0) = TNR. Its published score
is a monotone transform of z (Gaussian with its own location and scale, a sigmoid, or a
Beta via the Gaussian copula), and the score threshold equivalent to z = 0 is returned
with the truth. A planted group of verifiers shares a common factor:
e_j = sqrt(rho) c + sqrt(1 - rho) eps_j, correlation rho given y.

The class balance varies with problem difficulty (``level`` 1..5): a problem's share of
correct samples is drawn around a per-level mean. Rows use the project's column format
(``instruction``, ``samples``, ``extracted_answers``, ``answer_correct``, ``answer``,
``level``, ``difficulty``, ``V{j}_scores``), so the selection CLI reads them unchanged.

``bayes_oracle_scores`` gives the exact posterior log-odds from the true parameters,
either from the continuous scores or from the binarized votes only (the group's
dependence integrated out over the common factor), which bounds what any label model on
the same inputs can reach.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import special, stats

from toolkit.errors import InputError

LEVEL_BALANCE = (0.85, 0.7, 0.5, 0.3, 0.15)  # mean share of correct samples, level 1 (easy) .. 5
SCORE_DISTS = ("gaussian", "sigmoid", "beta")


@dataclass
class SimulationTruth:
    tpr: np.ndarray                 # (m,) P(vote 1 | correct) at ``thresholds``
    tnr: np.ndarray                 # (m,) P(vote 0 | incorrect)
    thresholds: np.ndarray          # (m,) score threshold per verifier
    problem_balance: np.ndarray     # (P,) P(correct) of each problem's samples
    level: np.ndarray               # (P,) difficulty 1..5
    labels: np.ndarray              # (P, S) bool, the hidden truth
    correlated_group: list[int]     # verifier indices sharing a common factor
    correlation: float
    score_dist: str
    loc: np.ndarray = field(repr=False, default=None)    # gaussian: score = loc + scale * z
    scale: np.ndarray = field(repr=False, default=None)

    @property
    def m1(self) -> np.ndarray:
        return stats.norm.ppf(self.tpr)

    @property
    def m0(self) -> np.ndarray:
        return -stats.norm.ppf(self.tnr)

    def latent(self, scores: np.ndarray) -> np.ndarray:
        """Invert the score transform back to z (NaN stays NaN)."""
        if self.score_dist == "gaussian":
            return (scores - self.loc) / self.scale
        if self.score_dist == "sigmoid":
            return special.logit(scores) / self.scale
        out = np.full(scores.shape, np.nan)
        for j in range(scores.shape[-1]):
            zs, xs = _beta_table(self.loc[j], self.scale[j])
            col = scores[..., j]
            out[..., j] = np.where(np.isnan(col), np.nan, np.interp(col, xs, zs))
        return out


_Z_GRID = np.linspace(-8.5, 8.5, 4001)


def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    """z -> Beta(a, b) quantile of Phi(z) on a grid: exact ppf for 1.5M scores takes seconds."""
    return _Z_GRID, stats.beta.ppf(stats.norm.cdf(_Z_GRID), a, b)


@dataclass
class Simulation:
    scores: np.ndarray      # (P, S, m) float, NaN where a score is missing
    truth: SimulationTruth

    @property
    def labels(self) -> np.ndarray:
        return self.truth.labels

    def votes(self) -> np.ndarray:
        """Binarized at the true thresholds: (P, S, m) with 1, 0 and -1 for missing."""
        with np.errstate(invalid="ignore"):
            v = (self.scores > self.truth.thresholds).astype(np.int64)
        v[np.isnan(self.scores)] = -1
        return v

    def rows(self, wrong_answers: int = 4, seed: int = 0) -> list[dict]:
        """The dataset in the project's column format (one row per problem)."""
        rng = np.random.default_rng(seed)
        P, S, m = self.scores.shape
        rows = []
        for i in range(P):
            gold = str(1000 + i)
            wrong = [str(2000 + 10 * i + k) for k in range(wrong_answers)]
            # Wrong answers concentrate on a few distractors so majority vote is a real baseline.
            probs = 0.5 ** np.arange(1, wrong_answers + 1)
            picks = rng.choice(wrong_answers, size=S, p=probs / probs.sum())
            answers = [gold if ok else wrong[k] for ok, k in zip(self.labels[i], picks)]
            row = {
                "id": i,
                "instruction": f"Simulated problem {i}. End with 'The answer is: X'.",
                "samples": [f"Reasoning for sample {k}. The answer is: {a}" for k, a in enumerate(answers)],
                "extracted_answers": answers,
                "answer_correct": [bool(x) for x in self.labels[i]],
                "answer": gold,
                "level": int(self.truth.level[i]),
                "difficulty": f"Level {int(self.truth.level[i])}",
            }
            for j in range(m):
                col = self.scores[i, :, j]
                row[f"V{j}_scores"] = [None if np.isnan(x) else float(x) for x in col]
            rows.append(row)
        return rows


def simulate(n_problems: int = 500, n_samples: int = 100, n_verifiers: int = 30, *, seed: int = 0,
             tpr=None, tnr=None, accuracy_range: tuple[float, float] = (0.6, 0.85),
             group_size: int = 0, correlation: float = 0.8, score_dist: str = "gaussian",
             missing_rate: float = 0.0, level_balance=LEVEL_BALANCE,
             balance_concentration: float = 8.0) -> Simulation:
    """Draw a dataset. TPR/TNR are given or drawn uniformly from ``accuracy_range``."""
    if score_dist not in SCORE_DISTS:
        raise InputError(f"unknown score_dist {score_dist!r}; choose from {SCORE_DISTS}")
    if not 0 <= group_size <= n_verifiers:
        raise InputError(f"group_size must be between 0 and n_verifiers ({n_verifiers})")
    if not 0 <= correlation < 1:
        raise InputError("correlation must be in [0, 1)")
    rng = np.random.default_rng(seed)
    lo, hi = accuracy_range
    tpr = np.asarray(tpr, float) if tpr is not None else rng.uniform(lo, hi, n_verifiers)
    tnr = np.asarray(tnr, float) if tnr is not None else rng.uniform(lo, hi, n_verifiers)
    if tpr.shape != (n_verifiers,) or tnr.shape != (n_verifiers,):
        raise InputError("tpr and tnr need one value per verifier")

    level = rng.integers(1, len(level_balance) + 1, n_problems)
    mean = np.asarray(level_balance)[level - 1]
    k = balance_concentration
    balance = rng.beta(mean * k, (1 - mean) * k)
    labels = rng.random((n_problems, n_samples)) < balance[:, None]

    group = sorted(rng.choice(n_verifiers, group_size, replace=False).tolist()) if group_size else []
    noise = rng.standard_normal((n_problems, n_samples, n_verifiers))
    if group:
        common = rng.standard_normal((n_problems, n_samples, 1))
        noise[:, :, group] = np.sqrt(correlation) * common + np.sqrt(1 - correlation) * noise[:, :, group]
    m1, m0 = stats.norm.ppf(tpr), -stats.norm.ppf(tnr)
    z = np.where(labels[:, :, None], m1, m0) + noise

    truth = SimulationTruth(tpr=tpr, tnr=tnr, thresholds=np.zeros(n_verifiers), problem_balance=balance,
                            level=level, labels=labels, correlated_group=group,
                            correlation=correlation if group else 0.0, score_dist=score_dist)
    if score_dist == "gaussian":  # raw reward-model-like scores, each on its own scale
        truth.loc, truth.scale = rng.uniform(-3, 3, n_verifiers), rng.uniform(0.5, 3, n_verifiers)
        scores, truth.thresholds = truth.loc + truth.scale * z, truth.loc.copy()
    elif score_dist == "sigmoid":  # probabilities, threshold 0.5
        truth.scale = rng.uniform(0.5, 2.0, n_verifiers)
        scores, truth.thresholds = special.expit(truth.scale * z), np.full(n_verifiers, 0.5)
    else:  # skewed scores in (0, 1) through the Gaussian copula
        truth.loc, truth.scale = rng.uniform(1, 5, n_verifiers), rng.uniform(1, 5, n_verifiers)
        scores = np.empty_like(z)
        for j in range(n_verifiers):
            zs, xs = _beta_table(truth.loc[j], truth.scale[j])
            scores[..., j] = np.interp(z[..., j], zs, xs)
        truth.thresholds = stats.beta.ppf(0.5, truth.loc, truth.scale)
    if missing_rate > 0:
        scores = np.where(rng.random(scores.shape) < missing_rate, np.nan, scores)
    return Simulation(scores=scores, truth=truth)


def _independent_llr_votes(votes: np.ndarray, tpr: np.ndarray, tnr: np.ndarray) -> np.ndarray:
    pos = np.log(tpr) - np.log1p(-tnr)
    neg = np.log1p(-tpr) - np.log(tnr)
    return np.where(votes == 1, pos, np.where(votes == 0, neg, 0.0)).sum(axis=-1)


def _group_llr_votes(votes: np.ndarray, m1, m0, rho: float, n_nodes: int = 48) -> np.ndarray:
    """log P(group votes | y=1) - log P(. | y=0), integrating the common factor (Gauss-Hermite)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-x^2/2)
    logw = np.log(weights / weights.sum())
    out = []
    for m in (m1, m0):
        # P(vote 1 | y, c) for each node: shape (nodes, verifiers)
        arg = (m[None, :] + np.sqrt(rho) * nodes[:, None]) / np.sqrt(1 - rho)
        lp1, lp0 = stats.norm.logcdf(arg), stats.norm.logcdf(-arg)
        v = votes[..., None, :]
        ll = np.where(v == 1, lp1, np.where(v == 0, lp0, 0.0)).sum(axis=-1)  # (..., nodes)
        out.append(special.logsumexp(ll + logw, axis=-1))
    return out[0] - out[1]


def _group_llr_latent(z: np.ndarray, m1, m0, rho: float) -> np.ndarray:
    """Gaussian discriminant for the equicorrelated group on the observed members."""
    seen = ~np.isnan(z)
    k = seen.sum(axis=-1)
    zz = np.where(seen, z, 0.0)
    a, b = 1 / (1 - rho), rho / (1 - rho + k * rho)

    def quad(u, w):  # u^T Sigma^-1 w over observed entries
        us, ws = np.where(seen, u, 0.0), np.where(seen, w, 0.0)
        return a * ((us * ws).sum(-1) - b * us.sum(-1) * ws.sum(-1))

    m1b, m0b = np.broadcast_to(m1, z.shape), np.broadcast_to(m0, z.shape)
    return quad(m1b - m0b, zz) - 0.5 * (quad(m1b, m1b) - quad(m0b, m0b))


def bayes_oracle_scores(sim: Simulation, from_votes: bool = True, use_prior: bool = True) -> np.ndarray:
    """Exact posterior log-odds of each sample being correct, (P, S), from the true parameters.

    ``from_votes``: condition on the binarized votes only (the bound for binary label
    models); otherwise on the continuous scores. ``use_prior`` adds logit of the problem's
    true class balance (it does not change the ranking within a problem).
    """
    t = sim.truth
    group = np.zeros(len(t.tpr), bool)
    group[t.correlated_group] = True
    if from_votes:
        votes = sim.votes()
        llr = _independent_llr_votes(votes[..., ~group], t.tpr[~group], t.tnr[~group])
        if group.any():
            llr = llr + _group_llr_votes(votes[..., group], t.m1[group], t.m0[group], t.correlation)
    else:
        z = t.latent(sim.scores)
        m1, m0 = t.m1, t.m0
        ind = (m1 - m0) * z - 0.5 * (m1 ** 2 - m0 ** 2)
        llr = np.nansum(np.where(group, 0.0, ind), axis=-1)
        if group.any():
            llr = llr + _group_llr_latent(z[..., group], m1[group], m0[group], t.correlation)
    if use_prior:
        llr = llr + special.logit(np.clip(t.problem_balance, 1e-6, 1 - 1e-6))[:, None]
    return llr


def select_at_1(scores: np.ndarray, labels: np.ndarray, seed: int = 0) -> float:
    """Share of problems whose top-scoring sample is correct; ties broken at random (seeded)."""
    rng = np.random.default_rng(seed)
    jitter = rng.random(scores.shape)
    order = np.lexsort((jitter, scores), axis=-1)  # primary key: score; ties by random jitter
    best = order[..., -1]
    return float(np.take_along_axis(labels, best[..., None], axis=-1).mean())
