"""Selection building blocks: config, column discovery, normalization, tie-breaking, metrics."""
from __future__ import annotations

import numpy as np
import pytest

from selection_fixtures import make_rows
from toolkit.errors import InputError


# ---- config --------------------------------------------------------------------------------

def test_config_overrides_apply_and_are_typed():
    from selection.config import load_config

    cfg = load_config("weak_supervision", ["data_cfg.train_split=0.7", "model_cfg.model_class=cluster",
                                           "model_params.weak_supervision.label_model.max_iter=50",
                                           "methods=[majority_vote,coverage]"])
    assert cfg.data_cfg.train_split == 0.7
    assert cfg.model_cfg.model_class == "cluster"
    assert cfg.model_params.weak_supervision.label_model["max_iter"] == 50
    assert list(cfg.methods) == ["majority_vote", "coverage"]


@pytest.mark.parametrize("override, needle", [
    ("data_cfg.trian_split=0.5", "data_cfg.train_split"),    # typo: suggestion
    ("bogus.key=1", "bogus.key"),
    ("data_cfg.dataset_name=MATH-500", "dataset_path"),       # reference key: explained
    ("model_params.weak_supervision.n_epochs=10", "does not use"),
    ("data_cfg.normalize_method=zscore", "minmax"),
    ("data_cfg.train_split=1.5", "train_split"),
    ("data_cfg.train_split=abc", "train_split"),
])
def test_bad_config_is_an_input_error_naming_the_key(override, needle):
    from selection.config import load_config

    with pytest.raises(InputError, match=needle.replace(".", r"\.")):
        load_config("weak_supervision", [override])


def test_every_shipped_config_loads():
    from selection.config import config_names, load_config

    names = config_names()
    assert {"weak_supervision", "all_methods", "reference_headline"} <= set(names)
    for name in names:
        load_config(name, ["data_cfg.dataset_path=x.hf"])
    assert load_config("weak_supervision").data_cfg.train_split < 1.0  # held out by default
    assert load_config("weak_supervision").model_params.weak_supervision.cb_args.class_balance == "estimate"


# ---- data loading ------------------------------------------------------------------------

def _table(rows):
    import pyarrow as pa

    return pa.Table.from_pylist(rows)


def test_verifier_columns_exclude_weaver_scores_and_step_scores():
    from selection.config import VerifierConfig
    from selection.data import load_selection_data

    data = load_selection_data(_table(make_rows(4)), VerifierConfig())
    names = data.verifier_names
    assert names == ["A", "B", "C", "P_min", "J"]
    assert "weaver" not in names and not any("step" in n for n in names)
    judges = load_selection_data(_table(make_rows(4)), VerifierConfig(verifier_type="judges"))
    assert judges.verifier_names == ["J"]
    rms = load_selection_data(_table(make_rows(4)), VerifierConfig(verifier_type="reward_models"))
    assert rms.verifier_names == ["A", "B", "C", "P_min"]
    subset = load_selection_data(_table(make_rows(4)), VerifierConfig(verifier_subset=["B", "J_verdicts"]))
    assert subset.verifier_names == ["B", "J"]
    with pytest.raises(InputError, match="Z"):
        load_selection_data(_table(make_rows(4)), VerifierConfig(verifier_subset=["Z"]))


def test_verdicts_averaged_ignoring_nulls_and_ragged_rows_padded():
    from selection.config import VerifierConfig
    from selection.data import load_selection_data

    rows = [{"samples": ["a", "b", "c"], "answer_correct": [True, None, False],
             "J_verdicts": [[1.0, None, 0.0], [None, None], [1.0, 1.0, 1.0]], "R_scores": [0.1, None, 0.3]},
            {"samples": ["d"], "answer_correct": [False], "J_verdicts": [None], "R_scores": [2.0]}]
    data = load_selection_data(_table(rows), VerifierConfig())
    assert data.verifier_names == ["J", "R"]
    j = data.scores[:, :, 0]
    np.testing.assert_allclose(j[0], [0.5, np.nan, 1.0])
    assert np.isnan(j[1]).all()
    assert data.sample_ids.tolist() == [[0, 1, 2], [0, -1, -1]]
    assert np.isnan(data.labels[0, 1]) and data.labels[0, 0] == 1.0
    assert data.problem_ids.tolist() == [0, 1]


# ---- normalization -------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["minmax", "quantile", "winsorize"])
def test_normalization_is_fitted_on_train_only(method):
    from selection.normalize import Normalizer

    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, (20, 5, 2))
    test_a = rng.normal(5, 3, (10, 5, 2))
    test_b = test_a.copy()
    test_b[5:] += 100.0  # other test problems change wildly
    norm = Normalizer(method, "all_problems").fit(train)
    out_a, out_b = norm.transform(test_a), norm.transform(test_b)
    np.testing.assert_allclose(out_a[:5], out_b[:5])  # a test problem never affects another
    refit = Normalizer(method, "all_problems").fit(np.concatenate([train, test_a]))
    assert not np.allclose(refit.transform(test_a), out_a)  # test stats would change it
    assert np.nanmin(out_a) >= 0 and np.nanmax(out_a) <= 1


def test_per_problem_normalization_and_nan_kept():
    from selection.normalize import Normalizer, fill_missing

    x = np.array([[[1.0], [3.0], [np.nan]], [[10.0], [10.0], [20.0]]])
    out = Normalizer("minmax", "per_problem").fit(x).transform(x)
    np.testing.assert_allclose(out[:, :, 0], [[0, 1, np.nan], [0, 0, 1]])
    valid = np.array([[True, True, True], [True, True, False]])
    filled = fill_missing(out, valid, 0)
    assert filled[0, 2, 0] == 0 and np.isnan(filled[1, 2, 0])  # padding stays missing
    assert fill_missing(out, valid, "mean")[0, 2, 0] == 0.5


# ---- selection and metrics -----------------------------------------------------------------

def test_ties_are_broken_at_random_with_a_seed():
    from selection.metrics import select

    scores = np.ones((400, 6))
    valid = np.ones_like(scores, dtype=bool)
    a, b, c = select(scores, valid, seed=1), select(scores, valid, seed=1), select(scores, valid, seed=2)
    assert (a == b).all() and not (a == c).all()
    assert (a == 0).mean() < 0.3 and len(np.unique(a)) == 6  # not the first index
    scores[:, 3] = 2.0
    assert (select(scores, valid, seed=1) == 3).all()  # a unique maximum always wins


def test_padding_and_nan_never_beat_real_scores():
    from selection.metrics import select

    scores = np.array([[np.nan, 0.2, 5.0], [np.nan, np.nan, np.nan]])
    valid = np.array([[True, True, False], [True, True, False]])
    chosen = select(scores, valid, seed=0)
    assert chosen[0] == 1 and chosen[1] in (0, 1)


def test_metrics_values():
    from selection.metrics import selection_metrics

    labels = np.array([[1, 0, 0], [0, 0, 0], [0, 1, np.nan]], dtype=float)
    valid = np.ones((3, 3), dtype=bool)
    m = selection_metrics(np.array([0, 0, 0]), labels, valid)
    assert m["select_at_1"] == pytest.approx(1 / 3)
    assert m["pass_at_k"] == pytest.approx(2 / 3)
    assert m["gap"] == pytest.approx(1 / 3)
    assert m["sample_accuracy"] == pytest.approx(2 / 8)
    assert m["n_problems"] == 3
