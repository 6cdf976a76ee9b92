"""LabelModel recovers verifier rates and class balance from simulated votes, without labels.

Tolerances: TPR/TNR within 0.03 (about 5 standard errors at 10,000 items), global class
balance within 0.02; selection agrees with the Bayes-optimal rule on >= 90% of problems
and its Select@1 is within 0.02 of the Bayes oracle's.
"""
import numpy as np
import pytest

from selection.label_model import LabelModel
from selection.simulate import bayes_oracle_scores, select_at_1, simulate
from toolkit.errors import InputError

RATE_TOL = 0.03


def _flat(sim):
    votes = sim.votes()
    P, S, m = votes.shape
    return votes.reshape(-1, m), np.repeat(np.arange(P), S), (P, S)


@pytest.fixture(scope="module")
def sim():
    return simulate(200, 50, 10, seed=7, accuracy_range=(0.6, 0.85))


def test_recovers_rates_and_balance(sim):
    votes, _, _ = _flat(sim)
    lm = LabelModel().fit(votes)
    assert np.abs(lm.tpr_ - sim.truth.tpr).max() < RATE_TOL
    assert np.abs(lm.tnr_ - sim.truth.tnr).max() < RATE_TOL
    assert abs(lm.class_balance_ - sim.labels.mean()) < 0.02


def test_per_group_balance_tracks_problem_difficulty(sim):
    votes, groups, _ = _flat(sim)
    lm = LabelModel().fit(votes, groups=groups)
    est = np.array([lm.group_balance_[g] for g in range(sim.labels.shape[0])])
    assert np.corrcoef(est, sim.labels.mean(axis=1))[0, 1] > 0.95
    assert np.abs(lm.tpr_ - sim.truth.tpr).max() < RATE_TOL


def test_selection_matches_bayes_rule():
    sim = simulate(200, 50, 10, seed=11, accuracy_range=(0.55, 0.75), level_balance=(0.4, 0.25, 0.15, 0.08, 0.04))
    votes, groups, shape = _flat(sim)
    ours = LabelModel().fit(votes, groups=groups).log_odds(votes, groups=groups).reshape(shape)
    oracle = bayes_oracle_scores(sim, from_votes=True)
    rng = np.random.default_rng(0)
    jitter = rng.random(shape) * 1e-9  # same tie-break for both rules
    agree = np.mean(np.argmax(ours + jitter, 1) == np.argmax(oracle + jitter, 1))
    assert agree >= 0.90
    assert abs(select_at_1(ours, sim.labels) - select_at_1(oracle, sim.labels)) <= 0.02


def test_missing_votes():
    sim = simulate(200, 50, 10, seed=5, missing_rate=0.3, accuracy_range=(0.6, 0.85))
    votes, _, _ = _flat(sim)
    assert (votes == -1).mean() > 0.25
    lm = LabelModel().fit(votes)
    assert np.abs(lm.tpr_ - sim.truth.tpr).max() < 0.04
    assert np.abs(lm.tnr_ - sim.truth.tnr).max() < 0.04
    # An item with no votes at all gets the prior.
    empty = np.full((1, votes.shape[1]), -1)
    assert lm.predict_proba(empty)[0] == pytest.approx(lm.class_balance_, abs=1e-6)


def test_given_class_balance_is_used(sim):
    votes, _, _ = _flat(sim)
    lm = LabelModel().fit(votes, class_balance=0.3)
    assert lm.class_balance_ == pytest.approx(0.3)
    per_item = np.full(votes.shape[0], 0.4)
    assert LabelModel().fit(votes, class_balance=per_item).class_balance_ == pytest.approx(0.4)


def test_unseen_groups_at_predict_time(sim):
    votes, groups, shape = _flat(sim)
    half = shape[0] // 2 * shape[1]
    lm = LabelModel().fit(votes[:half], groups=groups[:half])
    proba = lm.predict_proba(votes[half:], groups=groups[half:] + 10_000)
    assert proba.shape == (votes.shape[0] - half,)
    assert np.all((proba >= 0) & (proba <= 1))


def test_deterministic(sim):
    votes, groups, _ = _flat(sim)
    a = LabelModel().fit(votes, groups=groups)
    b = LabelModel().fit(votes, groups=groups)
    np.testing.assert_array_equal(a.tpr_, b.tpr_)
    np.testing.assert_array_equal(a.log_odds(votes), b.log_odds(votes))


def test_float_votes_with_nan_are_missing():
    votes = np.array([[1.0, np.nan, 0.0], [0.0, 1.0, np.nan], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    lm = LabelModel().fit(votes)
    assert lm.predict_proba(votes).shape == (4,)


@pytest.mark.parametrize("bad", [np.array([1, 0, 1]), np.array([[1, 2], [0, 1]]), np.array([[0.5, 1.0]])])
def test_bad_votes_raise(bad):
    with pytest.raises(InputError):
        LabelModel().fit(bad)


def test_bad_class_balance_raises(sim):
    votes, _, _ = _flat(sim)
    with pytest.raises(InputError):
        LabelModel().fit(votes, class_balance=1.5)
