"""The simulator: column format, planted parameters, and the Bayes oracle."""
import numpy as np
import pytest
from scipy import special

from selection.simulate import SCORE_DISTS, bayes_oracle_scores, select_at_1, simulate
from toolkit.errors import InputError


@pytest.mark.parametrize("dist", SCORE_DISTS)
def test_votes_have_planted_rates(dist):
    sim = simulate(200, 50, 6, seed=1, score_dist=dist, group_size=3)
    votes, y = sim.votes(), sim.labels[..., None]
    tpr = ((votes == 1) & y).sum((0, 1)) / y.sum()
    tnr = ((votes == 0) & ~y).sum((0, 1)) / (~y).sum()
    assert np.abs(tpr - sim.truth.tpr).max() < 0.03
    assert np.abs(tnr - sim.truth.tnr).max() < 0.03
    # The latent inverse recovers z, so the correlated group has the planted correlation given y.
    z = sim.truth.latent(sim.scores) - np.where(y, sim.truth.m1, sim.truth.m0)
    g = sim.truth.correlated_group
    assert np.corrcoef(z[..., g[0]].ravel(), z[..., g[1]].ravel())[0, 1] == pytest.approx(0.8, abs=0.03)


def test_balance_follows_difficulty():
    sim = simulate(400, 20, 4, seed=2)
    share = sim.labels.mean(axis=1)
    means = [share[sim.truth.level == lv].mean() for lv in range(1, 6)]
    assert all(a > b for a, b in zip(means, means[1:]))


def test_rows_in_project_format():
    sim = simulate(5, 7, 3, seed=0, missing_rate=0.2)
    rows = sim.rows()
    assert len(rows) == 5
    row = rows[0]
    for col in ("id", "instruction", "samples", "extracted_answers", "answer_correct", "answer", "level",
                "difficulty", "V0_scores", "V2_scores"):
        assert col in row
    assert len(row["samples"]) == len(row["V1_scores"]) == 7
    assert row["answer_correct"] == sim.labels[0].tolist()
    assert all((a == row["answer"]) == ok for a, ok in zip(row["extracted_answers"], row["answer_correct"]))
    flat = [x for r in rows for x in r["V0_scores"]]
    assert None in flat  # missing scores are null, not 0.0


def test_seeded():
    a, b = simulate(10, 5, 3, seed=4), simulate(10, 5, 3, seed=4)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, simulate(10, 5, 3, seed=5).scores)


def test_oracle_from_votes_closed_form_without_group():
    sim = simulate(20, 10, 4, seed=3)
    t, v = sim.truth, sim.votes()
    expected = np.where(v == 1, np.log(t.tpr / (1 - t.tnr)), np.log((1 - t.tpr) / t.tnr)).sum(-1)
    expected += special.logit(t.problem_balance)[:, None]
    np.testing.assert_allclose(bayes_oracle_scores(sim), expected, rtol=1e-6, atol=1e-6)


def test_oracle_group_integral_matches_independent_limit():
    # With correlation ~0 the Gauss-Hermite group term must equal the independent formula.
    sim = simulate(20, 10, 4, seed=3, group_size=4, correlation=1e-9)
    t, v = sim.truth, sim.votes()
    expected = np.where(v == 1, np.log(t.tpr / (1 - t.tnr)), np.log((1 - t.tpr) / t.tnr)).sum(-1)
    np.testing.assert_allclose(bayes_oracle_scores(sim, use_prior=False), expected, atol=1e-5)


def test_continuous_oracle_is_best():
    sim = simulate(300, 30, 8, seed=6, accuracy_range=(0.55, 0.7), group_size=4,
                   level_balance=(0.4, 0.25, 0.15, 0.08, 0.04))
    cont = select_at_1(bayes_oracle_scores(sim, from_votes=False), sim.labels)
    votes = select_at_1(bayes_oracle_scores(sim), sim.labels)
    mean_vote = select_at_1((sim.votes() == 1).sum(-1).astype(float), sim.labels)
    assert cont >= votes >= mean_vote


def test_select_at_1_breaks_ties_at_random():
    labels = np.zeros((2000, 4), bool)
    labels[:, -1] = True
    s1 = select_at_1(np.zeros((2000, 4)), labels, seed=0)
    assert 0.2 < s1 < 0.3  # not "always the first" (0.0) nor "always the last" (1.0)
    assert s1 == select_at_1(np.zeros((2000, 4)), labels, seed=0)


def test_bad_arguments():
    with pytest.raises(InputError):
        simulate(2, 2, 2, score_dist="cauchy")
    with pytest.raises(InputError):
        simulate(2, 2, 2, group_size=3)
