"""A family of simulated selection scenarios, each with its exact Bayes oracle.

Every generator draws its parameters at random from the ``rng`` (ranges, never fixed
values) and records them in ``Scenario.params``. Shared structure:

Difficulty. Problem i has a ``level`` 1..5 (revealed in the rows); its share of correct
samples is p_i ~ Beta(mu_L k, (1 - mu_L) k) around random per-level means mu_1 > .. > mu_5,
and labels are iid Bernoulli(p_i), so hard levels hold problems where the correct samples
are a small minority (or absent).

Answers. All correct samples of a problem share one answer code. A wrong sample gives no
answer (code -1) with probability r; otherwise it picks the problem's ONE popular wrong
answer with probability pi_i ~ Beta(a_pi, b_pi), else it joins a Chinese restaurant
process (concentration theta) over further distinct wrong answers. Codes are numbered by
first appearance, so they reveal the partition of the samples and nothing else.

Scores. Verifier j sees a latent z = m_y[j] + e with e ~ N(0, 1), so TPR = Phi(m1) and
TNR = Phi(-m0) at z = 0. Quality is drawn as a budget: separations d_j = m1 - m0 are random
weights (U(0.2, 1)) scaled so that sqrt(sum_j d_j^2) ~ U(D range of the scenario), and a
random leniency (m1 + m0) / 2 ~ U(-0.3, 0.3) tilts TPR against TNR. (Per-verifier
TPR/TNR of 0.55-0.8 with 30 independent continuous verifiers pin every method to pass@k; the
budget keeps Select@1 informative whatever the number of verifiers.) Each verifier
publishes an invertible transform of z: ``gaussian`` (loc + scale z), ``sigmoid``
(expit(scale z)), ``beta`` (Gaussian copula, as in selection.simulate), ``affine`` / ``sinh``
/ ``exp`` (unbounded, scale 0.1-100, offset -50..50), or a discrete verdict: ``binary``
(1{z > 0}) or ``likert`` (1..10 by 9 random cut points). ``constant`` verifiers publish one
value for > 95% of samples, independent of y.
Scores go missing (NaN) completely at random at a per-verifier rate.

Oracle. Samples sharing an answer share a label, so the exact posterior works per answer:
P(answer a is correct | everything) is proportional to the prior of that hypothesis given
the answer partition and the level (Beta-binomial labels x no-answer rate x the
popular-answer/CRP partition probability, integrated exactly over p_i and pi_i) times the
likelihood ratio of a's scores under "all correct" vs "all wrong"; the hypothesis "no
answer is correct" is part of the normalisation. ``oracle`` is the posterior log-odds of
the sample's answer (+ 1e-6 x the sample's own log-likelihood ratio to break ties; samples
without an answer get -1e7). ``sample_oracle`` ignores answers: logit(p_i) plus the sample's
exact log-likelihood ratio. Likelihood ratios are exact: continuous verifiers on the latent
z (the transforms are invertible), discrete ones by their bin probabilities, correlated
blocks by the equicorrelated Gaussian discriminant, missing scores contribute nothing.

Scenarios (``SCENARIOS``); D = total separation; difficulty by default: level means from
U(0.65, 0.9) (level 1) down to U(0.05, 0.15) (level 5), concentration U(2, 6); answers: no-answer
rate U(0, 0.05), CRP theta U(0.5, 3), popular share mean U(0.3, 0.7), concentration U(2, 6):
  independent        conditionally independent verifiers, D ~ U(1.2, 2.5), mixed
                     gaussian/sigmoid/beta scales.
  difficulty         weak verifiers (D ~ U(0.8, 1.6)); level means from U(0.9, 0.97) down to
                     U(0.015, 0.04), concentration U(5, 20): the balance follows the level.
  answer_clusters    z = m_y + b_{a,j} + e: verifier j's opinion b_{a,j} ~ N(0, tau_j^2)
                     is shared by all samples with answer a (tau_j ~ U(0.3, 1.5)), D ~ U(1.5, 3);
                     a strong popular wrong answer (share mean U(0.5, 0.8), theta U(0.3, 1.5)).
                     The cluster's z are equicorrelated Gaussian, so its likelihood ratio is
                     sum_j [(m1-m0) sum z - n (m1^2-m0^2)/2] / (1 + n tau_j^2). (The recorded
                     tpr/tnr are Phi(m1), Phi(-m0); marginally z has variance 1 + tau^2.)
  correlated_blocks  one or two blocks (sizes 3-10) sharing a common factor given y
                     (rho ~ U(0.5, 0.9)) plus independent verifiers, D ~ U(1.2, 2.5).
  adversarial        normal verifiers (D ~ U(1.2, 2.5)) plus a yes-man (TPR 0.98-0.999, TNR
                     0.02-0.1, sigmoid scores near the top), a worse-than-chance one (TPR, TNR ~
                     U(0.2, 0.4)) and a near-constant one (no information), at random positions
                     (at least 4 verifiers).
  few_verifiers      3 verifiers of similar quality (weights U(0.6, 1), leniency U(-0.2, 0.2)),
                     D ~ U(1.5, 3) (TPR/TNR mostly 0.6-0.85).
  unbounded_scales   3-8 verifiers, affine/sinh/exp transforms of z with scales 0.1-100 and
                     offsets -50..50, D ~ U(1.2, 2.5); one verifier misses U(25, 35)% of scores.
  abstentions        every verifier abstains on U(10, 60)% of samples; ~1/3 binary judges,
                     ~1/6 likert 1-10 judges, the rest continuous; D ~ U(1.5, 3).
  judge_verdicts     only discrete LM-judge outputs: binary verdicts plus 2-4 likert judges,
                     D ~ U(1.5, 3).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import sparse, special, stats

from selection.simulate import _beta_table, _group_llr_latent

CONTINUOUS = ("gaussian", "sigmoid", "beta")
UNBOUNDED = ("affine", "sinh", "exp")
NO_ANSWER_SCORE = -1e7


@dataclass
class Scenario:
    name: str
    scores: np.ndarray          # (P, S, V) float, NaN = missing
    labels: np.ndarray          # (P, S) bool
    answer_codes: np.ndarray    # (P, S) int64, -1 = no answer
    oracle: np.ndarray          # (P, S) exact posterior log-odds (answer-level), higher = better
    oracle_kind: str
    sample_oracle: np.ndarray | None
    params: dict
    verifier_names: list[str]
    level: np.ndarray | None = None     # (P,) difficulty 1..5
    balance: np.ndarray | None = None   # (P,) true share of correct samples

    def rows(self) -> list[dict]:
        """The dataset in the project's column format (one dict per problem)."""
        P, S, V = self.scores.shape
        rows = []
        for i in range(P):
            gold, codes = str(1000 + i), self.answer_codes[i]
            correct = set(codes[self.labels[i]].tolist())
            answers = [None if c < 0 else gold if c in correct else str(10**6 + 1000 * i + int(c)) for c in codes]
            level = int(self.level[i]) if self.level is not None else 3
            row = {
                "id": i,
                "instruction": f"Simulated problem {i}. End with 'The answer is: X'.",
                "samples": [f"Reasoning for sample {k}. "
                            + ("I could not finish." if a is None else f"The answer is: {a}")
                            for k, a in enumerate(answers)],
                "extracted_answers": answers,
                "answer_correct": [bool(x) for x in self.labels[i]],
                "answer": gold,
                "level": level,
                "difficulty": f"Level {level}",
            }
            for j, name in enumerate(self.verifier_names):
                row[f"{name}_scores"] = [None if np.isnan(x) else float(x) for x in self.scores[i, :, j]]
            rows.append(row)
        return rows


def _r(x):
    """json-friendly rounding of floats / arrays."""
    return np.round(np.asarray(x, float), 4).tolist()


# ---------------------------------------------------------------- difficulty and answers
def _difficulty(rng, P, S, easy=(0.65, 0.9), hard=(0.05, 0.15), conc=(2.0, 6.0)):
    lo, hi = rng.uniform(*hard), rng.uniform(*easy)
    means = np.concatenate([[hi], np.sort(rng.uniform(lo, hi, 3))[::-1], [lo]])
    k = rng.uniform(*conc)
    level = rng.integers(1, 6, P)
    alpha, beta = means[level - 1] * k, (1 - means[level - 1]) * k
    balance = rng.beta(alpha, beta)
    labels = rng.random((P, S)) < balance[:, None]
    return {"level_means": _r(means), "concentration": round(k, 4)}, level, alpha, beta, balance, labels


def _answers(rng, labels, no_answer=(0.0, 0.05), theta=(0.5, 3.0), pop_mean=(0.3, 0.7), pop_conc=(2.0, 6.0)):
    """Answer codes from the popular-answer + CRP model described in the module docstring."""
    P, S = labels.shape
    r, th = rng.uniform(*no_answer), rng.uniform(*theta)
    mean, conc = rng.uniform(*pop_mean), rng.uniform(*pop_conc)
    a_pi, b_pi = mean * conc, (1 - mean) * conc
    pi = rng.beta(a_pi, b_pi, P)
    u = rng.random((4, P, S))
    codes = np.full((P, S), -1, np.int64)
    for i in range(P):
        raw = np.full(S, -1)
        raw[labels[i]] = 0
        crp: list[int] = []          # table of each CRP customer so far
        n_tables = 0
        for s in np.flatnonzero(~labels[i] & (u[0, i] >= r)):
            if u[1, i, s] < pi[i]:
                raw[s] = 1
                continue
            m = len(crp)
            if u[2, i, s] * (m + th) < m:
                t = crp[int(u[3, i, s] * m)]
            else:
                t, n_tables = n_tables, n_tables + 1
            crp.append(t)
            raw[s] = 2 + t
        first: dict[int, int] = {}   # renumber by first appearance: the codes reveal only the partition
        codes[i] = [first.setdefault(v, len(first)) if v >= 0 else -1 for v in raw.tolist()]
    return {"no_answer_rate": r, "crp_theta": th, "popular_a": a_pi, "popular_b": b_pi}, codes


def _answer_log_prior(counts, n_noans, S, alpha, beta, ans):
    """log P(partition, hypothesis) up to a per-problem constant: (P, K+1), column K = 'none correct'.

    counts (P, K): sizes of the answered clusters (0 = padding); alpha, beta (P,): the level's
    Beta prior of the balance; ans: the answer-model parameters from ``_answers``.
    """
    r, th, a_pi, b_pi = ans["no_answer_rate"], ans["crp_theta"], ans["popular_a"], ans["popular_b"]
    P, K = counts.shape
    valid = counts > 0
    n = np.concatenate([counts, np.zeros((P, 1))], 1).astype(float)   # correct count under h
    hv = np.concatenate([valid, np.ones((P, 1), bool)], 1)
    lg = special.gammaln(np.maximum(n, 1))
    m_h = counts.sum(1, keepdims=True) - n                               # wrong answered under h
    J_h = valid.sum(1, keepdims=True) - (np.arange(K + 1) < K)           # wrong clusters under h
    G_h = lg[:, :K].sum(1, keepdims=True) - np.where(np.arange(K + 1) < K, lg, 0.0)
    # popular wrong answer c: one of the other clusters (c < K, c != h), or unused (c == K)
    c = np.arange(K + 1)[None, None, :]
    h = np.arange(K + 1)[None, :, None]
    pop = c < K
    ok = np.where(pop, hv[:, None, :] & (c != h), True)
    nc, mh = np.where(pop, n[:, None, :], 0.0), m_h[:, :, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        term = (special.betaln(a_pi + nc, b_pi + mh - nc) - special.betaln(a_pi, b_pi)
                + (J_h[:, :, None] - pop) * np.log(th) + special.gammaln(th) - special.gammaln(th + mh - nc)
                + G_h[:, :, None] - np.where(pop, lg[:, None, :], 0.0))
        logq = special.logsumexp(np.where(ok, term, -np.inf), axis=2)
    a, b = alpha[:, None], beta[:, None]
    out = (special.betaln(a + n, b + S - n) - special.betaln(a, b)
           + (S - n - n_noans[:, None]) * np.log1p(-r) + logq)
    return np.where(hv, out, -np.inf)


# ---------------------------------------------------------------- verifiers
def _rates(rng, n, total, bias=0.3, w_lo=0.2):
    """m1, m0 of n verifiers whose separations d_j = m1 - m0 share a random total sqrt(sum d^2) ~ U(total)."""
    w = rng.uniform(w_lo, 1.0, n)
    d = rng.uniform(*total) * w / np.sqrt((w ** 2).sum())
    beta = rng.uniform(-bias, bias, n)   # leniency: > 0 says "correct" more often
    return beta + d / 2, beta - d / 2


def _verifiers(kinds, m1, m0, missing=None, roles=None, blocks=()):
    n = len(kinds)
    return {"kind": list(kinds), "m1": np.asarray(m1, float), "m0": np.asarray(m0, float),
            "missing": np.zeros(n) if missing is None else np.asarray(missing, float),
            "role": roles or ["normal"] * n, "blocks": list(blocks)}


def _transform_params(rng, kind):
    if kind == "gaussian":
        return {"loc": rng.uniform(-3, 3), "scale": rng.uniform(0.5, 3)}
    if kind == "sigmoid":
        return {"scale": rng.uniform(0.5, 2)}
    if kind == "beta":
        return {"a": rng.uniform(1, 5), "b": rng.uniform(1, 5)}
    if kind in UNBOUNDED:
        return {"offset": rng.uniform(-50, 50), "scale": float(np.exp(rng.uniform(np.log(0.1), np.log(100)))),
                "c": rng.uniform(0.5, 1.5)}
    if kind == "likert":
        return {"cuts": np.sort(rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 1.5), 9))}
    if kind == "constant":
        return {"value": rng.uniform(0, 1), "share": rng.uniform(0.95, 0.99)}
    return {}


def _transform(kind, tp, z, rng):
    if kind == "gaussian":
        return tp["loc"] + tp["scale"] * z
    if kind == "sigmoid":
        return special.expit(tp["scale"] * z)
    if kind == "beta":
        zs, xs = _beta_table(tp["a"], tp["b"])
        return np.interp(z, zs, xs)
    if kind == "affine":
        return tp["offset"] + tp["scale"] * tp["c"] * z
    if kind == "sinh":
        return tp["offset"] + tp["scale"] * np.sinh(tp["c"] * z)
    if kind == "exp":
        return tp["offset"] + tp["scale"] * np.exp(tp["c"] * z)
    if kind == "binary":
        return (z > 0).astype(float)
    if kind == "likert":
        return 1.0 + np.searchsorted(tp["cuts"], z)
    if kind == "constant":   # independent of z and of the label: carries no information
        other = tp["value"] + rng.uniform(-1, 1, z.shape)
        return np.where(rng.random(z.shape) < tp["share"], tp["value"], other)
    raise ValueError(kind)


def _bin_llr(kind, tp, z, m1, m0):
    cuts = np.array([0.0]) if kind == "binary" else tp["cuts"]
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    def logp(m):   # log P(bin | y), with the upper tail from the survival function for precision
        lo, hi = edges[:-1] - m, edges[1:] - m
        return np.log(np.where(lo > 0, stats.norm.sf(lo) - stats.norm.sf(hi), stats.norm.cdf(hi) - stats.norm.cdf(lo)))

    return (logp(m1) - logp(m0))[np.searchsorted(cuts, z)]


# ---------------------------------------------------------------- the builder
def _build(rng, name, P, S, ver, diff=None, ans=None, tau=None, kind="answer-level pooled, exact"):
    """Draw difficulty, answers and scores for the verifier table ``ver``; compute both oracles."""
    dparams, level, alpha, beta, balance, labels = _difficulty(rng, P, S, **(diff or {}))
    aparams, codes = _answers(rng, labels, **(ans or {}))
    kinds, m1, m0 = ver["kind"], ver["m1"], ver["m0"]
    V, K = len(kinds), int(codes.max()) + 1
    noise = rng.standard_normal((P, S, V))
    blocks = []
    for idx, rho in ver["blocks"]:
        common = rng.standard_normal((P, S, 1))
        noise[..., idx] = np.sqrt(rho) * common + np.sqrt(1 - rho) * noise[..., idx]
        blocks.append({"verifiers": [int(j) for j in idx], "rho": round(float(rho), 4)})
    if tau is not None:   # each verifier's shared opinion of each answer; no-answer samples: their own
        b = rng.standard_normal((P, max(K, 1), V))
        own = rng.standard_normal((P, S, V))
        pick = np.take_along_axis(b, np.maximum(codes, 0)[..., None], axis=1)
        noise += tau * np.where(codes[..., None] >= 0, pick, own)
    z = np.where(labels[..., None], m1, m0) + noise
    missing = rng.random((P, S, V)) < ver["missing"]
    tps = [_transform_params(rng, k) for k in kinds]
    scores = np.stack([_transform(k, tp, z[..., j], rng) for j, (k, tp) in enumerate(zip(kinds, tps))], -1)
    scores[missing] = np.nan

    # sample-level log-likelihood ratios (missing scores contribute nothing)
    zo = np.where(missing, np.nan, z)
    scale = 1.0 if tau is None else 1.0 + tau ** 2       # marginal variance with the answer effect
    in_block = np.zeros(V, bool)
    for idx, _ in ver["blocks"]:
        in_block[idx] = True
    llr = np.zeros((P, S, V))
    for j, k in enumerate(kinds):
        if k in ("binary", "likert"):
            llr[..., j] = _bin_llr(k, tps[j], z[..., j], m1[j], m0[j])
        elif k != "constant" and not in_block[j]:
            s = scale if np.isscalar(scale) else scale[j]
            llr[..., j] = ((m1[j] - m0[j]) * z[..., j] - 0.5 * (m1[j] ** 2 - m0[j] ** 2)) / s
    llr[missing] = 0.0
    sample_llr = llr.sum(-1)
    for idx, rho in ver["blocks"]:
        sample_llr += _group_llr_latent(zo[..., idx], m1[idx], m0[idx], rho)

    # answer-level: cluster likelihood ratios, prior over which answer is correct, posterior log-odds
    rows = (np.arange(P)[:, None] * max(K, 1) + codes)[codes >= 0]
    onehot = sparse.csr_matrix((np.ones(rows.size), (rows, np.flatnonzero(codes.ravel() >= 0))),
                               shape=(P * max(K, 1), P * S))
    counts = np.asarray(onehot.sum(1)).reshape(P, max(K, 1))
    if tau is None:
        L = (onehot @ sample_llr.reshape(-1)).reshape(P, -1)
    else:   # equicorrelated cluster: [(m1-m0) sum z - n (m1^2-m0^2)/2] / (1 + n tau^2)
        Z = (onehot @ z.reshape(P * S, V)).reshape(P, -1, V)
        n = counts[..., None]
        L = (((m1 - m0) * Z - 0.5 * n * (m1 ** 2 - m0 ** 2)) / (1 + n * tau ** 2)).sum(-1)
    lp = _answer_log_prior(counts, (codes < 0).sum(1), S, alpha, beta, aparams)
    lp = lp + np.concatenate([L, np.zeros((P, 1))], 1)
    others = np.where(np.eye(lp.shape[1], dtype=bool), -np.inf, lp[:, None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        logodds = lp - special.logsumexp(others, axis=2)
    ans_score = np.take_along_axis(logodds, np.maximum(codes, 0), axis=1)
    oracle = np.where(codes >= 0, ans_score, NO_ANSWER_SCORE) + 1e-6 * sample_llr
    sample_oracle = special.logit(np.clip(balance, 1e-9, 1 - 1e-9))[:, None] + sample_llr

    names = [f"V{j}" for j in range(V)]
    vparams = []
    for j in range(V):
        d = {"name": names[j], "kind": kinds[j], "role": ver["role"][j],
             "tpr": round(float(stats.norm.cdf(m1[j])), 4), "tnr": round(float(stats.norm.cdf(-m0[j])), 4),
             "d": round(float(m1[j] - m0[j]), 4), "missing": round(float(ver["missing"][j]), 4)}
        if tau is not None:
            d["tau"] = round(float(tau[j]), 4)
        d.update({k: _r(v) if isinstance(v, np.ndarray) else round(float(v), 4) for k, v in tps[j].items()})
        vparams.append(d)
    params = {"difficulty": dparams, "answers": {k: round(float(v), 4) for k, v in aparams.items()},
              "verifiers": vparams, "blocks": blocks}
    return Scenario(name, scores, labels, codes, oracle, kind, sample_oracle, params, names, level, balance)


# ---------------------------------------------------------------- the scenarios
def _kinds(rng, n, choices=CONTINUOUS):
    return [str(k) for k in rng.choice(choices, n)]


def independent(rng, n_problems=500, n_samples=100, n_verifiers=30):
    ver = _verifiers(_kinds(rng, n_verifiers), *_rates(rng, n_verifiers, (1.2, 2.5)))
    return _build(rng, "independent", n_problems, n_samples, ver)


def difficulty(rng, n_problems=500, n_samples=100, n_verifiers=30):
    ver = _verifiers(_kinds(rng, n_verifiers), *_rates(rng, n_verifiers, (0.8, 1.6)))
    diff = {"easy": (0.9, 0.97), "hard": (0.015, 0.04), "conc": (5.0, 20.0)}
    return _build(rng, "difficulty", n_problems, n_samples, ver, diff=diff)


def answer_clusters(rng, n_problems=500, n_samples=100, n_verifiers=30):
    ver = _verifiers(_kinds(rng, n_verifiers), *_rates(rng, n_verifiers, (1.5, 3.0)))
    tau = rng.uniform(0.3, 1.5, n_verifiers)
    ans = {"theta": (0.3, 1.5), "pop_mean": (0.5, 0.8), "pop_conc": (3.0, 8.0)}
    return _build(rng, "answer_clusters", n_problems, n_samples, ver, ans=ans, tau=tau,
                  kind="answer-level pooled, exact, within-answer correlated scores")


def correlated_blocks(rng, n_problems=500, n_samples=100, n_verifiers=30):
    order, blocks, start = rng.permutation(n_verifiers), [], 0
    for _ in range(int(rng.integers(1, 3))):
        size = min(int(rng.integers(3, 11)), n_verifiers - start - 1)
        if size >= 2:
            blocks.append((np.sort(order[start:start + size]), rng.uniform(0.5, 0.9)))
            start += size
    roles = ["normal"] * n_verifiers
    for b, (idx, _) in enumerate(blocks):
        for j in idx:
            roles[j] = f"block{b}"
    ver = _verifiers(_kinds(rng, n_verifiers), *_rates(rng, n_verifiers, (1.2, 2.5)), roles=roles, blocks=blocks)
    return _build(rng, "correlated_blocks", n_problems, n_samples, ver)


def adversarial(rng, n_problems=500, n_samples=100, n_verifiers=30):
    V = max(n_verifiers, 4)
    kinds = _kinds(rng, V)
    m1, m0 = _rates(rng, V, (1.2, 2.5))
    yes, anti, const = (int(j) for j in rng.choice(V, 3, replace=False))
    roles = ["normal"] * V
    roles[yes], roles[anti], roles[const] = "yes-man", "worse-than-chance", "near-constant"
    kinds[yes], kinds[const] = "sigmoid", "constant"
    m1[yes], m0[yes] = stats.norm.ppf(rng.uniform(0.98, 0.999)), -stats.norm.ppf(rng.uniform(0.02, 0.1))
    m1[anti], m0[anti] = stats.norm.ppf(rng.uniform(0.2, 0.4)), -stats.norm.ppf(rng.uniform(0.2, 0.4))
    m1[const] = m0[const] = 0.0
    return _build(rng, "adversarial", n_problems, n_samples, _verifiers(kinds, m1, m0, roles=roles))


def few_verifiers(rng, n_problems=500, n_samples=100, n_verifiers=30):
    ver = _verifiers(_kinds(rng, 3), *_rates(rng, 3, (1.5, 3.0), bias=0.2, w_lo=0.6))
    return _build(rng, "few_verifiers", n_problems, n_samples, ver)


def unbounded_scales(rng, n_problems=500, n_samples=100, n_verifiers=30):
    V = int(rng.integers(3, 9))
    missing = np.zeros(V)
    missing[rng.integers(V)] = rng.uniform(0.25, 0.35)
    ver = _verifiers(_kinds(rng, V, UNBOUNDED), *_rates(rng, V, (1.2, 2.5)), missing=missing)
    return _build(rng, "unbounded_scales", n_problems, n_samples, ver)


def abstentions(rng, n_problems=500, n_samples=100, n_verifiers=30):
    kinds = [str(k) for k in rng.choice(CONTINUOUS + ("binary", "likert"), n_verifiers,
                                        p=[1 / 6, 1 / 6, 1 / 6, 1 / 3, 1 / 6])]
    ver = _verifiers(kinds, *_rates(rng, n_verifiers, (1.5, 3.0)), missing=rng.uniform(0.1, 0.6, n_verifiers))
    return _build(rng, "abstentions", n_problems, n_samples, ver)


def judge_verdicts(rng, n_problems=500, n_samples=100, n_verifiers=30):
    kinds = ["binary"] * n_verifiers
    for j in rng.choice(n_verifiers, min(n_verifiers, int(rng.integers(2, 5))), replace=False):
        kinds[j] = "likert"
    ver = _verifiers(kinds, *_rates(rng, n_verifiers, (1.5, 3.0)))
    return _build(rng, "judge_verdicts", n_problems, n_samples, ver)


SCENARIOS: dict[str, Callable[..., Scenario]] = {
    f.__name__: f for f in (independent, difficulty, answer_clusters, correlated_blocks, adversarial,
                            few_verifiers, unbounded_scales, abstentions, judge_verdicts)
}


def make_scenario(name: str, seed: int, n_problems: int = 500, n_samples: int = 100,
                  n_verifiers: int = 30) -> Scenario:
    """Draw scenario ``name`` deterministically from ``seed`` (streams differ across names)."""
    if name not in SCENARIOS:
        raise KeyError(f"unknown scenario {name!r}; choose from {sorted(SCENARIOS)}")
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    return SCENARIOS[name](rng, n_problems=n_problems, n_samples=n_samples, n_verifiers=n_verifiers)
