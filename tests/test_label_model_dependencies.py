"""Label-free detection of a planted group of correlated verifiers, and its repair."""
import numpy as np
import pytest

from selection.dependencies import DependencyAwareLabelModel, conditional_correlation, find_groups
from selection.label_model import LabelModel
from selection.simulate import select_at_1, simulate
from toolkit.errors import InputError

HARD = (0.4, 0.25, 0.15, 0.08, 0.04)


@pytest.fixture(scope="module")
def correlated():
    return simulate(150, 60, 16, seed=3, accuracy_range=(0.55, 0.75), group_size=6, correlation=0.8,
                    level_balance=HARD)


@pytest.mark.parametrize("handling", ["merge", "drop"])
def test_finds_planted_group(correlated, handling):
    votes = correlated.votes().reshape(-1, 16)
    model = DependencyAwareLabelModel(handling=handling).fit(votes)
    assert model.dependent_groups_ == [correlated.truth.correlated_group]
    # Rates of members of a merged group come from a posterior that partly rests on their own
    # votes, so they get a looser bound than the independent verifiers.
    inside = np.isin(np.arange(16), correlated.truth.correlated_group)
    for est, true in ((model.tpr_, correlated.truth.tpr), (model.tnr_, correlated.truth.tnr)):
        assert np.abs(est - true)[~inside].max() < 0.05
        assert np.abs(est - true)[inside].max() < 0.12
    if handling == "drop":
        assert len(model.kept_) == 16 - 6 + 1


def test_repair_beats_independence_assumption(correlated):
    votes = correlated.votes()
    P, S, m = votes.shape
    flat = votes.reshape(-1, m)
    plain = LabelModel().fit(flat).log_odds(flat).reshape(P, S)
    repaired = DependencyAwareLabelModel().fit(flat).log_odds(flat).reshape(P, S)
    assert select_at_1(repaired, correlated.labels) > select_at_1(plain, correlated.labels)


def test_no_group_in_independent_votes():
    sim = simulate(150, 60, 16, seed=4, accuracy_range=(0.55, 0.75), level_balance=HARD)
    votes = sim.votes().reshape(-1, 16)
    model = DependencyAwareLabelModel().fit(votes)
    assert model.dependent_groups_ == []
    np.testing.assert_allclose(model.log_odds(votes), LabelModel().fit(votes).log_odds(votes))


def test_conditional_correlation_with_true_labels(correlated):
    votes = correlated.votes().reshape(-1, 16)
    corr = conditional_correlation(votes, correlated.labels.reshape(-1).astype(float))
    g = correlated.truth.correlated_group
    inside = corr[np.ix_(g, g)][~np.eye(len(g), dtype=bool)]
    others = np.delete(np.delete(corr, g, 0), g, 1)
    assert inside.min() > 0.3 and np.abs(others).max() < 0.08
    assert find_groups(corr, 0.1) == [g]


def test_group_never_swallows_majority():
    corr = np.full((6, 6), 0.5)
    np.fill_diagonal(corr, 0)
    corr[:2, :2] = 0.9
    np.fill_diagonal(corr, 0)
    assert find_groups(corr, 0.05) == [[0, 1]]


def test_unknown_handling():
    with pytest.raises(InputError):
        DependencyAwareLabelModel(handling="ignore")
