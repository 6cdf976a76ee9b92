"""Simulated selection scenarios: structure, determinism, the column format and the exact oracles."""
import itertools
import json
import warnings

import numpy as np
import pytest
from scipy import special, stats

from selection.scenarios import SCENARIOS, Scenario, _answer_log_prior, make_scenario
from selection.simulate import select_at_1

NAMES = sorted(SCENARIOS)
REQUIRED = {"independent", "difficulty", "answer_clusters", "correlated_blocks", "adversarial",
            "few_verifiers", "unbounded_scales", "abstentions"}
SMALL = dict(n_problems=60, n_samples=16, n_verifiers=8)


def mean_rank(scores):
    """Mean over verifiers of the within-problem rank in [0, 1] (missing scores skipped)."""
    r = stats.rankdata(scores, axis=1, nan_policy="omit")
    n = (~np.isnan(scores)).sum(1, keepdims=True)
    r = (r - 1) / np.maximum(n - 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # samples no verifier scored
        return np.nan_to_num(np.nanmean(r, -1), nan=0.5)


def majority(codes):
    out = np.zeros(codes.shape)
    for i, c in enumerate(codes):
        if (c >= 0).any():
            out[i] = np.where(c >= 0, np.bincount(c[c >= 0])[np.maximum(c, 0)], 0)
    return out


@pytest.fixture(scope="module")
def small():
    return {name: make_scenario(name, 3, **SMALL) for name in NAMES}


def test_registry():
    assert REQUIRED <= set(SCENARIOS) and len(SCENARIOS) >= 8
    with pytest.raises(KeyError):
        make_scenario("nope", 0)


@pytest.mark.parametrize("name", NAMES)
def test_shapes_missing_and_codes(small, name):
    sc = small[name]
    assert isinstance(sc, Scenario) and sc.name == name
    P, S, V = sc.scores.shape
    assert (P, S) == (60, 16) and V == len(sc.verifier_names) == len(sc.params["verifiers"])
    assert sc.labels.shape == sc.answer_codes.shape == sc.oracle.shape == sc.sample_oracle.shape == (P, S)
    assert sc.labels.dtype == bool and sc.answer_codes.dtype == np.int64
    assert np.isfinite(sc.oracle).all() and np.isfinite(sc.sample_oracle).all()
    assert sc.oracle_kind
    # NaN only in the verifiers given a missing rate; everything else finite
    rates = np.array([v["missing"] for v in sc.params["verifiers"]])
    nan = np.isnan(sc.scores)
    assert not nan[..., rates == 0].any()
    assert np.isfinite(sc.scores[~nan]).all()
    for j in np.flatnonzero(rates > 0):
        assert abs(nan[..., j].mean() - rates[j]) < 0.06
    # one code for all correct samples; wrong samples never carry it; codes numbered by first appearance
    for y, c in zip(sc.labels, sc.answer_codes):
        if y.any():
            assert len(set(c[y].tolist())) == 1 and c[y][0] >= 0
            assert not (c[~y] == c[y][0]).any()
        seen = [x for x in dict.fromkeys(c.tolist()) if x >= 0]
        assert seen == list(range(len(seen)))
    # answer-less samples rank below every sample with an answer
    no_answer = sc.answer_codes < 0
    if no_answer.any() and (~no_answer).any():
        assert sc.oracle[no_answer].max() < sc.oracle[~no_answer].min()


@pytest.mark.parametrize("name", NAMES)
def test_seeded_and_params(name):
    a, b = make_scenario(name, 5, **SMALL), make_scenario(name, 5, **SMALL)
    for field in ("scores", "labels", "answer_codes", "oracle", "sample_oracle"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert json.dumps(a.params, sort_keys=True) == json.dumps(b.params, sort_keys=True)
    assert json.dumps(a.params) != json.dumps(make_scenario(name, 6, **SMALL).params)


@pytest.mark.parametrize("name", NAMES)
def test_rows_round_trip(small, name):
    sc = small[name]
    rows = sc.rows()
    assert len(rows) == sc.scores.shape[0]
    keys = {"id", "instruction", "samples", "extracted_answers", "answer_correct", "answer", "level", "difficulty"}
    for i, row in enumerate(rows):
        assert keys | {f"{n}_scores" for n in sc.verifier_names} == set(row)
        assert row["answer_correct"] == sc.labels[i].tolist()
        assert 1 <= row["level"] <= 5 and len(row["samples"]) == sc.scores.shape[1]
        ans = row["extracted_answers"]
        assert [a is None for a in ans] == (sc.answer_codes[i] < 0).tolist()
        assert [a == row["answer"] for a in ans] == row["answer_correct"]
        for x, y in itertools.combinations(range(len(ans)), 2):   # same string <=> same code
            assert (ans[x] is not None and ans[x] == ans[y]) == (sc.answer_codes[i, x] == sc.answer_codes[i, y] >= 0)
        for j, n in enumerate(sc.verifier_names):
            back = np.array([np.nan if v is None else v for v in row[f"{n}_scores"]], float)
            np.testing.assert_array_equal(back, sc.scores[i, :, j])
    json.dumps(rows[0])


@pytest.mark.parametrize("name", NAMES)
def test_no_verifier_leaks_labels(name):
    sc = make_scenario(name, 1, 100, 20, 8)
    y = sc.labels.ravel()
    for j in range(sc.scores.shape[-1]):
        s = sc.scores[..., j].ravel()
        ok = ~np.isnan(s)
        r = stats.rankdata(s[ok])
        n1, n0 = y[ok].sum(), (~y[ok]).sum()
        auc = (r[y[ok]].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
        assert 0.01 < auc < 0.99


@pytest.mark.parametrize("name", NAMES)
def test_oracle_beats_baselines(name):
    res = []
    for seed in range(3):
        sc = make_scenario(name, 100 + seed, 200, 20, 8)
        y = sc.labels
        res.append([select_at_1(sc.oracle, y), select_at_1(sc.sample_oracle, y), y[:, 0].mean(),
                    select_at_1(mean_rank(sc.scores), y), select_at_1(majority(sc.answer_codes), y)])
    oracle, sample, first, rank, vote = np.mean(res, 0)
    assert oracle >= max(sample, first, rank, vote) - 0.02
    assert sample >= max(first, rank) - 0.02


@pytest.mark.parametrize("name", NAMES)
def test_oracle_is_calibrated(name):
    """The posterior of the chosen answer matches its accuracy; P(some answer is correct) matches pass@k."""
    pred, acc, p_any, solved = [], [], [], []
    for seed in range(2):
        sc = make_scenario(name, 200 + seed, 600, 16, 8)
        top = sc.oracle.argmax(1)
        pred.append(special.expit(sc.oracle[np.arange(600), top]))
        acc.append(sc.labels[np.arange(600), top])
        for o, c in zip(sc.oracle, sc.answer_codes):   # sum of the answers' posteriors
            p = special.expit(o[np.unique(c[c >= 0], return_index=True)[1]] if (c >= 0).any() else o[:0])
            p_any.append(p.sum())
        solved.append(sc.labels.any(1))
    assert abs(np.mean(np.concatenate(pred)) - np.mean(np.concatenate(acc))) < 0.035
    assert abs(np.mean(p_any) - np.mean(np.concatenate(solved))) < 0.03


def _configs(S):
    """Every labelled configuration of S samples: each is correct 'C', answerless 'X' or in a wrong block."""
    for assign in itertools.product(range(S + 2), repeat=S):   # 0 = C, 1 = X, 2.. = wrong block ids
        blocks = [b for b in dict.fromkeys(assign) if b >= 2]
        if blocks != list(range(2, 2 + len(blocks))):   # canonical block numbering only
            continue
        yield assign


@pytest.mark.parametrize("alpha,beta,r,theta,a_pi,b_pi",
                         [(0.7, 1.3, 0.1, 0.8, 2.0, 1.5), (3.0, 0.5, 0.3, 2.5, 0.6, 3.0)])
def test_answer_prior_is_a_distribution(alpha, beta, r, theta, a_pi, b_pi):
    S = 4
    ans = {"no_answer_rate": r, "crp_theta": theta, "popular_a": a_pi, "popular_b": b_pi}
    total = 0.0
    for assign in _configs(S):
        a = np.array(assign)
        counts = [int((a == 0).sum())] + [int((a == b).sum()) for b in range(2, a.max() + 1)]
        has_correct = counts[0] > 0
        counts = counts if has_correct else counts[1:]
        padded = np.zeros((1, S + 1))
        padded[0, :len(counts)] = counts
        n_x = int((a == 1).sum())
        lp = _answer_log_prior(padded, np.array([n_x]), S, np.array([alpha]), np.array([beta]), ans)
        h = 0 if has_correct else S + 1
        total += np.exp(lp[0, h] + n_x * np.log(r))
    assert total == pytest.approx(1.0, abs=1e-9)


def test_scenario_specifics():
    sc = make_scenario("difficulty", 0, 300, 20, 8)
    assert sc.balance.min() < 0.1 and sc.balance.max() > 0.9
    sc = make_scenario("few_verifiers", 0, **SMALL)
    assert sc.scores.shape[-1] == 3
    sc = make_scenario("unbounded_scales", 0, **SMALL)
    rates = [v["missing"] for v in sc.params["verifiers"]]
    assert 3 <= len(rates) <= 8 and sum(r > 0 for r in rates) == 1 and 0.25 <= max(rates) <= 0.35
    sc = make_scenario("adversarial", 0, **SMALL)
    roles = {v["role"]: j for j, v in enumerate(sc.params["verifiers"])}
    assert {"yes-man", "worse-than-chance", "near-constant"} <= set(roles)
    const = sc.scores[..., roles["near-constant"]]
    assert (const == np.median(const)).mean() > 0.93
    assert np.median(sc.scores[..., roles["yes-man"]]) > 0.6
    sc = make_scenario("judge_verdicts", 0, **SMALL)
    kinds = [v["kind"] for v in sc.params["verifiers"]]
    assert set(kinds) == {"binary", "likert"}
    for j, k in enumerate(kinds):
        assert set(np.unique(sc.scores[..., j])) <= ({0.0, 1.0} if k == "binary" else set(range(1, 11)))
    sc = make_scenario("answer_clusters", 0, 200, 30, 8)
    # some hard problems have a wrong answer at least as popular as the correct one
    beaten = [np.bincount(c[~y & (c >= 0)], minlength=1).max() >= y.sum()
              for y, c in zip(sc.labels, sc.answer_codes) if y.any()]
    assert 0.1 < np.mean(beaten) < 0.9
    # scores agree within an answer: two wrong samples with the same answer have correlated ranks
    ranks = stats.rankdata(sc.scores, axis=1)
    pairs = []
    for y, c, r in zip(sc.labels, sc.answer_codes, ranks):
        wrong = np.flatnonzero(~y & (c >= 0))
        same = [k for k in wrong if (c[wrong] == c[k]).sum() >= 2]
        if same:
            a = same[0]
            pairs.append((r[a], r[[k for k in same if c[k] == c[a] and k != a][0]]))
    a, b = np.array(pairs).transpose(1, 0, 2)
    assert np.mean([np.corrcoef(a[:, j], b[:, j])[0, 1] for j in range(a.shape[1])]) > 0.15

def test_default_size_generates():
    for name in NAMES:
        sc = make_scenario(name, 0)
        assert sc.scores.shape[:2] == (500, 100)
