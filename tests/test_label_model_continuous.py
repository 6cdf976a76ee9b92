"""The continuous-score label model: uses the score margin that binarizing discards."""
import numpy as np
import pytest

from selection.continuous import ContinuousLabelModel
from selection.label_model import LabelModel
from selection.simulate import bayes_oracle_scores, select_at_1, simulate
from toolkit.errors import InputError

HARD = (0.4, 0.25, 0.15, 0.08, 0.04)


@pytest.fixture(scope="module")
def weak():
    return simulate(200, 50, 12, seed=9, accuracy_range=(0.55, 0.7), level_balance=HARD,
                    score_dist="sigmoid", missing_rate=0.1)


def _s1(model_scores, sim):
    return select_at_1(model_scores.reshape(sim.labels.shape), sim.labels)


@pytest.mark.parametrize("method", ["quantile", "gaussian"])
def test_continuous_beats_binary_and_nears_oracle(weak, method):
    m = weak.scores.shape[-1]
    scores = weak.scores.reshape(-1, m)
    votes = weak.votes().reshape(-1, m)
    binary = _s1(LabelModel().fit(votes).log_odds(votes), weak)
    cont = _s1(ContinuousLabelModel(method=method).fit(scores).log_odds(scores), weak)
    oracle = select_at_1(bayes_oracle_scores(weak, from_votes=False), weak.labels)
    assert cont >= binary
    assert cont >= oracle - 0.04
    assert cont == _s1(ContinuousLabelModel(method=method).fit(scores).log_odds(scores), weak)  # deterministic


def test_held_out_scores_and_groups(weak):
    m = weak.scores.shape[-1]
    P, S = weak.labels.shape
    scores = weak.scores.reshape(-1, m)
    groups = np.repeat(np.arange(P), S)
    half = P // 2 * S
    model = ContinuousLabelModel().fit(scores[:half], groups=groups[:half])
    proba = model.predict_proba(scores[half:], groups=groups[half:])
    assert proba.shape == (scores.shape[0] - half,) and np.all((proba >= 0) & (proba <= 1))
    assert abs(model.class_balance_ - weak.labels[: P // 2].mean()) < 0.03


def test_merges_correlated_group():
    sim = simulate(150, 60, 16, seed=3, accuracy_range=(0.55, 0.75), group_size=6, level_balance=HARD)
    scores = sim.scores.reshape(-1, 16)
    model = ContinuousLabelModel().fit(scores, thresholds=sim.truth.thresholds)
    assert model.dependent_groups_ == [sim.truth.correlated_group]


def test_bad_input():
    with pytest.raises(InputError):
        ContinuousLabelModel(method="kde")
    with pytest.raises(InputError):
        ContinuousLabelModel().fit(np.array([[np.nan, 1.0], [np.nan, 0.0]]))


def test_training_ranks_match_the_lookup_used_for_new_scores():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(500, 3)), 1)  # rounding makes ties
    x[rng.random(x.shape) < 0.1] = np.nan
    model = ContinuousLabelModel(dependent_groups=None).fit(x)
    fast = model._normal_scores(x, training=True)
    np.testing.assert_array_equal(fast, model._normal_scores(x))
