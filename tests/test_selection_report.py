"""Verifier reliability report: posterior-weighted rates and AUC, conditional correlation, files."""
from __future__ import annotations

import json

import numpy as np
import pytest

from selection.report import verifier_reliability, weighted_auc, write_reliability_report

NAMES = ["good_a", "good_b", "good_c", "contrarian", "silent", "constant"]


def _brute_auc(s, pos, neg):
    """O(n^2) reference: sum_{i,k} pos_i neg_k ([s_i > s_k] + [s_i == s_k] / 2) / (sum pos sum neg)."""
    gt = (s[:, None] > s[None, :]) + 0.5 * (s[:, None] == s[None, :])
    return float((pos[:, None] * neg[None, :] * gt).sum() / (pos.sum() * neg.sum()))


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    n = 3000
    y = (rng.random(n) < 0.4).astype(float)
    shared = rng.normal(0, 0.15, n)  # noise shared by good_a and good_b: a planted dependency
    noisy = lambda z: np.clip(z, 0.0, 1.0)  # noqa: E731
    scores = np.column_stack([
        noisy(0.3 + 0.4 * y + shared + rng.normal(0, 0.05, n)),
        noisy(0.3 + 0.4 * y + shared + rng.normal(0, 0.05, n)),
        noisy(0.3 + 0.4 * y + rng.normal(0, 0.15, n)),
        noisy(0.6 - 0.25 * y + rng.normal(0, 0.2, n)),  # worse than chance
        np.full(n, np.nan),
        np.full(n, 0.5),
    ])
    scores[rng.random(n) < 0.2, 2] = np.nan  # good_c abstains on ~20%
    posterior = 0.9 * y + 0.1 * (1 - y)
    labels = y.copy()
    labels[:50] = np.nan  # a few unlabeled items
    status = {"silent": "dropped: all scores missing"}
    report = verifier_reliability(scores, posterior, NAMES, labels=labels, status=status,
                                  weights={"good_a": 1.25, "good_b": 0.8})
    return scores, posterior, labels, report


def _by_name(report):
    return {r["name"]: r for r in report["verifiers"]}


def test_weighted_auc_matches_brute_force_with_ties_and_weights():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = int(rng.integers(2, 40))
        s = np.round(rng.random(n), 1)  # coarse grid: many ties
        p = rng.random(n)
        assert weighted_auc(s, p, 1 - p) == pytest.approx(_brute_auc(s, p, 1 - p), abs=1e-12)
        y = (rng.random(n) < 0.5).astype(float)
        if 0 < y.sum() < n:
            assert weighted_auc(s, y, 1 - y) == pytest.approx(_brute_auc(s, y, 1 - y), abs=1e-12)
    assert weighted_auc(np.array([0.2, 0.4]), np.ones(2), np.zeros(2)) is None


def test_est_auc_in_report_matches_brute_force():
    rng = np.random.default_rng(2)
    s = np.round(rng.random((25, 1)), 1)
    s[[3, 7]] = np.nan
    p = rng.random(25)
    row = verifier_reliability(s, p, ["v"])["verifiers"][0]
    keep = ~np.isnan(s[:, 0])
    assert row["est_auc"] == pytest.approx(_brute_auc(s[keep, 0], p[keep], 1 - p[keep]), abs=1e-4)
    thr = s[keep, 0] >= 0.5
    assert row["est_tpr"] == pytest.approx((p[keep] * thr).sum() / p[keep].sum(), abs=1e-4)
    assert row["est_tnr"] == pytest.approx(((1 - p[keep]) * ~thr).sum() / (1 - p[keep]).sum(), abs=1e-4)
    assert row["coverage"] == pytest.approx(23 / 25, abs=1e-4)


def test_per_verifier_estimates_track_truth(synthetic):
    scores, posterior, labels, report = synthetic
    rows = _by_name(report)
    assert [r["name"] for r in report["verifiers"]] == NAMES
    for name in ("good_a", "good_b", "good_c"):
        r = rows[name]
        assert r["status"] == "used"
        assert r["est_auc"] > 0.8 and r["true_auc"] > 0.9
        for key in ("tpr", "tnr", "auc"):
            assert abs(r[f"est_{key}"] - r[f"true_{key}"]) < 0.15
    assert rows["good_c"]["coverage"] == pytest.approx(np.mean(~np.isnan(scores[:, 2])), abs=1e-4)
    assert rows["good_a"]["coverage"] == 1.0
    assert rows["good_a"]["weight"] == 1.25 and rows["good_c"]["weight"] is None
    bad = rows["contrarian"]
    assert bad["est_auc"] < 0.5 and bad["true_auc"] < 0.5
    silent = rows["silent"]
    assert silent["status"] == "dropped: all scores missing"
    assert silent["coverage"] == 0.0
    for key in ("vote_rate", "est_tpr", "est_tnr", "est_auc", "true_tpr", "true_tnr", "true_auc"):
        assert silent[key] is None
    const = rows["constant"]
    assert const["vote_rate"] == 1.0 and const["est_tpr"] == 1.0 and const["est_tnr"] == 0.0
    assert const["est_auc"] == 0.5 and const["true_auc"] == 0.5
    assert report["n_items"] == len(posterior)
    assert report["class_balance_estimated"] == pytest.approx(posterior.mean(), abs=1e-4)
    assert report["class_balance_true"] == pytest.approx(np.nanmean(labels), abs=1e-4)


def test_conditional_correlation(synthetic):
    *_, report = synthetic
    assert report["correlation"]["names"] == NAMES
    m = report["correlation"]["matrix"]
    v = len(NAMES)
    assert len(m) == v and all(len(row) == v for row in m)
    for i in range(v):
        assert m[i][i] == 1.0
        for k in range(v):
            assert m[i][k] == m[k][i]
    a, b, c, silent, const = 0, 1, 2, 4, 5
    # the soft 0.9/0.1 posterior leaks some class signal into every pair, but the planted pair stands out
    assert m[a][b] > 0.7 and m[a][b] > m[a][c] + 0.3
    for k in range(v):
        if k not in (silent, const):
            assert m[silent][k] is None and m[const][k] is None


def test_correlation_with_hard_posterior_is_conditional(synthetic):
    scores, posterior, *_ = synthetic
    y = (posterior > 0.5).astype(float)
    m = verifier_reliability(scores, y, NAMES)["correlation"]["matrix"]
    assert m[0][1] > 0.7 and abs(m[0][2]) < 0.1  # class signal removed: independent pair ~ 0


def test_correlation_matches_direct_weighted_pearson():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.random((n, 2))
    x[:, 1] = 0.5 * x[:, 0] + 0.5 * rng.random(n)
    x[rng.random(n) < 0.1, 0] = np.nan
    x[rng.random(n) < 0.1, 1] = np.nan
    p = rng.random(n)
    both = ~np.isnan(x).any(1)

    def pearson(w):
        u, z, w = x[both, 0], x[both, 1], w[both]
        mu, mz = np.average(u, weights=w), np.average(z, weights=w)
        cov = np.average((u - mu) * (z - mz), weights=w)
        return cov / np.sqrt(np.average((u - mu) ** 2, weights=w) * np.average((z - mz) ** 2, weights=w)), w.sum()

    (c1, w1), (c0, w0) = pearson(p), pearson(1 - p)
    got = verifier_reliability(x, p, ["u", "z"])["correlation"]["matrix"][0][1]
    assert got == pytest.approx((c1 * w1 + c0 * w0) / (w1 + w0), abs=1e-4)


def test_without_labels_true_values_are_none():
    rng = np.random.default_rng(4)
    s = rng.random((50, 3))
    report = verifier_reliability(s, rng.random(50), ["a", "b", "c"])
    assert report["class_balance_true"] is None
    for r in report["verifiers"]:
        assert r["true_tpr"] is None and r["true_tnr"] is None and r["true_auc"] is None
        assert r["est_auc"] is not None and r["weight"] is None and r["status"] == "used"
    json.dumps(report, allow_nan=False)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError):
        verifier_reliability(np.zeros((3, 2)), np.zeros(3), ["only_one"])


def test_large_input_runs_vectorized():
    """100k items x 40 verifiers with nulls (speed is measured in bench/, not asserted here)."""
    rng = np.random.default_rng(5)
    s = rng.random((100_000, 40))
    s[rng.random(s.shape) < 0.1] = np.nan
    report = verifier_reliability(s, rng.random(100_000), [f"v{j}" for j in range(40)],
                                  labels=(rng.random(100_000) < 0.5).astype(float))
    assert len(report["correlation"]["matrix"]) == 40
    assert all(v["coverage"] is not None for v in report["verifiers"])


def test_report_files_and_json(synthetic, tmp_path):
    *_, report = synthetic
    json.dumps(report, allow_nan=False)
    out = tmp_path / "report"
    paths = write_reliability_report(report, out, groups=[["good_a", "good_b"], ["good_c"]])
    assert [p.name for p in paths] == ["reliability.md", "reliability.png"]
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == ["reliability.md", "reliability.png"]  # no temp files
    md = paths[0].read_text()
    for name in NAMES:
        assert name in md
    assert "dropped: all scores missing" in md
    assert "true AUC" in md and "est. AUC" in md and "answer_correct" in md
    assert "Dependency groups" in md and "{good_a, good_b}" in md
    no_labels = dict(report, verifiers=[dict(r, true_tpr=None, true_tnr=None, true_auc=None)
                                        for r in report["verifiers"]], class_balance_true=None)
    md2 = write_reliability_report(no_labels, tmp_path / "nolabels")[0].read_text()
    assert "true AUC" not in md2 and "Dependency groups" not in md2


def test_heatmap_handles_forty_verifiers(tmp_path):
    rng = np.random.default_rng(6)
    s = rng.random((500, 40))
    s[:, 7] = np.nan
    report = verifier_reliability(s, rng.random(500), [f"verifier_{j:02d}" for j in range(40)])
    paths = write_reliability_report(report, tmp_path)
    assert paths[1].stat().st_size > 1000
