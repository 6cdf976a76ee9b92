"""Selection as users run it: answer-aware pooling, majority vote as a prior, loud failures,
atomic results, the reliability report and the small-label calibration row."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selection_fixtures import make_rows, save_rows
from toolkit.errors import InputError


def _run(tmp_path, *overrides, dataset=None, path=None, name="weak_supervision", out="out"):
    from selection.config import load_config
    from selection.pipeline import run_selection

    args = [f"output_dir={tmp_path / out}", *overrides]
    if path:
        args.insert(0, f"data_cfg.dataset_path={path}")
    return run_selection(load_config(name, args), dataset=dataset)


def _scenario_dataset(name, seed, **size):
    import datasets

    from selection.scenarios import make_scenario

    sc = make_scenario(name, seed=seed, **size)
    return sc, datasets.Dataset.from_list(sc.rows())


# ---- answer clusters and the answer model ---------------------------------------------------------

def test_answer_clusters_pool_equal_answers_and_keep_unanswered_apart():
    from selection.answers import answer_clusters

    codes = np.array([[0, 0, 1, -1, -1], [0, 1, 1, 1, -1]])
    valid = np.array([[True] * 5, [True, True, True, True, False]])
    cl = answer_clusters(codes, valid)
    assert cl.index[0, 0] == cl.index[0, 1] != cl.index[0, 2]
    assert len({cl.index[0, 3], cl.index[0, 4]}) == 2  # no answer: a cluster each
    assert cl.index[1, 4] == -1  # padding
    assert cl.index[1, 1] == cl.index[1, 3] and cl.index[0, 0] != cl.index[1, 0]
    sizes = cl.size[cl.index[1, 1]], cl.size[cl.index[0, 3]]
    assert sizes == (3.0, 1.0)
    assert np.isclose(np.exp(cl.log_share[cl.index[1, 1]]), 3 / 4)


def test_answer_model_learns_within_answer_correlation_per_verifier():
    """Column 0 judges an answer consistently (shared per-answer term), column 1 afresh."""
    from selection.answers import AnswerModel, answer_clusters

    rng = np.random.default_rng(0)
    P, S = 300, 20
    codes = rng.integers(0, 4, (P, S))
    correct = (codes == 0).astype(float)
    shared = rng.normal(0, 1.5, (P, 4))[np.arange(P)[:, None], codes]
    llr = np.stack([1.0 * (2 * correct - 1) + shared + rng.normal(0, 1, (P, S)),
                    1.0 * (2 * correct - 1) + rng.normal(0, 1.5, (P, S))], axis=-1)
    model = AnswerModel().fit(llr, answer_clusters(codes, np.ones((P, S), bool)))
    assert model.rho_[0] > 0.4 and model.rho_[1] < 0.1
    assert model.b_ >= 0


def test_popularity_weight_is_never_negative():
    """Evidence that favours rare answers cannot turn majority vote upside down."""
    from selection.answers import AnswerModel, answer_clusters

    rng = np.random.default_rng(1)
    P, S = 100, 10
    codes = np.where(rng.random((P, S)) < 0.7, 0, rng.integers(1, 5, (P, S)))
    llr = np.where(codes == 0, -1.0, 1.0)[..., None] + rng.normal(0, 0.1, (P, S, 1))
    model = AnswerModel().fit(llr, answer_clusters(codes, np.ones((P, S), bool)))
    assert model.b_ >= 0.0


def test_two_weak_binary_judges_are_not_read_upside_down():
    """With two verifiers EM has a mirror-image fixed point; votes of 1 must raise P(correct)."""
    from selection.label_model import LabelModel

    rng = np.random.default_rng(2)
    y = rng.random(20000) < 0.3
    votes = np.stack([np.where(y, rng.random(20000) < 0.65, rng.random(20000) < 0.45) for _ in range(2)],
                     axis=1).astype(int)
    model = LabelModel().fit(votes)
    assert np.all(model.tpr_ > 1 - model.tnr_)


def test_block_that_captures_the_posterior_is_still_found():
    """A tight block of 40% of the verifiers outvotes the rest; the one-factor residual test sees it."""
    from selection.dependencies import DependencyAwareLabelModel, factor_residual_groups

    rng = np.random.default_rng(3)
    n, m = 20000, 20
    y = rng.random(n) < 0.4
    block = list(range(8))
    common = rng.standard_normal(n)
    z = np.where(y[:, None], 0.4, -0.4) + rng.standard_normal((n, m))
    z[:, block] = np.where(y[:, None], 0.4, -0.4) + np.sqrt(0.8) * common[:, None] + \
        np.sqrt(0.2) * rng.standard_normal((n, len(block)))
    votes = (z > 0).astype(int)
    assert factor_residual_groups(votes) == [block]
    assert DependencyAwareLabelModel().fit(votes).dependent_groups_ == [block]


# ---- the default on scenarios ----------------------------------------------------------------------

SMALL = dict(n_problems=200, n_samples=30, n_verifiers=12)


@pytest.mark.parametrize("name", ["answer_clusters", "correlated_blocks", "adversarial", "unbounded_scales",
                                  "abstentions"])
def test_default_beats_majority_and_mean_of_scores(name, tmp_path):
    sc, ds = _scenario_dataset(name, 11, **SMALL)
    res = _run(tmp_path, "plot=false", "k_curve=false", dataset=ds)
    m = {k: v["test"]["select_at_1"] for k, v in res["methods"].items()}
    assert m["weak_supervision"] >= max(m["majority_vote"], m["naive_ensemble"]) - 0.02, m


def test_answer_pooling_helps_when_answers_cluster(tmp_path):
    gains = []
    for seed in (5, 6):
        sc, ds = _scenario_dataset("answer_clusters", seed, **SMALL)
        on = _run(tmp_path, "plot=false", "k_curve=false", "methods=[weak_supervision]", dataset=ds)
        off = _run(tmp_path, "plot=false", "k_curve=false", "methods=[weak_supervision]",
                   "model_params.weak_supervision.answer_pooling=false", dataset=ds)
        gains.append(on["methods"]["weak_supervision"]["test"]["select_at_1"]
                     - off["methods"]["weak_supervision"]["test"]["select_at_1"])
        assert isinstance(on["methods"]["weak_supervision"]["info"]["answer_pooling"], dict)
        assert off["methods"]["weak_supervision"]["info"].get("answer_pooling") is None
    assert np.mean(gains) > 0.02


def test_majority_vote_is_not_an_independent_verifier_by_default(tmp_path):
    from selection.config import load_config

    assert load_config("weak_supervision", []).data_cfg.mv_as_verifier is False
    _, ds = _scenario_dataset("independent", 1, **SMALL)
    res = _run(tmp_path, "plot=false", "k_curve=false", "methods=[weak_supervision]", dataset=ds)
    assert "majority_vote_agreement" not in res["dataset"]["prepared_verifiers"]


def test_without_answers_selection_stays_sample_level(tmp_path):
    rows = make_rows(30, 8, seed=4)
    for r in rows:
        r.pop("extracted_answers")
        r["samples"] = [f"distinct text {i} {j}" for j in range(len(r["samples"])) for i in [r["id"]]]
    path = save_rows(rows, tmp_path / "noanswers.hf")
    res = _run(tmp_path, "plot=false", "methods=[weak_supervision]", path=path)
    assert "answer_pooling" not in res["methods"]["weak_supervision"]["info"]
    assert res["methods"]["weak_supervision"]["test"]["select_at_1"] is not None


# ---- failures are loud, outputs are whole ----------------------------------------------------------

def _with_bad_columns(n=30, seed=0):
    rows = make_rows(n, 8, seed=seed)
    for r in rows:
        r["Dead_scores"] = [None] * len(r["samples"])
        r["Flat_scores"] = [3.0] * len(r["samples"])
    return rows


def test_all_null_and_constant_verifiers_are_named_not_fatal(tmp_path, capsys):
    path = save_rows(_with_bad_columns(), tmp_path / "bad.hf")
    for mv in ("true", "false"):
        res = _run(tmp_path, f"data_cfg.mv_as_verifier={mv}", "plot=false", path=path, out=f"o{mv}")
        dropped = res["dataset"]["dropped_verifiers"]
        assert set(dropped) == {"Dead", "Flat"}
        assert any("Dead" in w and "missing" in w for w in res["warnings"])
        assert any("Flat" in w and "same score" in w for w in res["warnings"])
        assert "Dead" not in res["dataset"]["prepared_verifiers"]
        status = {v["name"]: v["status"] for v in res["reliability"]["verifiers"]}
        assert status["Dead"].startswith("dropped") and status["A"] == "used"
    from selection.pipeline import format_table

    assert "WARNING: verifier Dead left out" in format_table(res)


def test_problem_level_verifier_is_left_out(tmp_path):
    """Constant within each problem but tracking its difficulty: it cannot choose a sample."""
    rows = make_rows(40, 8, seed=6)
    for r in rows:
        share = float(np.mean(r["answer_correct"]))
        r["Easy_scores"] = [share] * len(r["samples"])
    path = save_rows(rows, tmp_path / "easy.hf")
    res = _run(tmp_path, "plot=false", path=path)
    assert "cannot tell a problem's samples apart" in res["dataset"]["dropped_verifiers"]["Easy"]
    assert "Easy" not in res["dataset"]["prepared_verifiers"]


def test_only_unusable_verifiers_is_a_one_line_error(tmp_path):
    path = save_rows(_with_bad_columns(), tmp_path / "bad.hf")
    with pytest.raises(InputError, match="no usable verifier.*Dead.*Flat") as err:
        _run(tmp_path, "verifier_cfg.verifier_subset=[Dead,Flat]", path=path)
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def bad_dataset(tmp_path_factory):
    return save_rows(_with_bad_columns(24, seed=5), tmp_path_factory.mktemp("subsets") / "bad.hf")


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subset=st.sets(st.sampled_from(["A", "B", "C", "P_min", "J", "Dead", "Flat"]), min_size=1),
       mv=st.booleans(), evidence=st.sampled_from(["continuous", "binary"]))
def test_any_verifier_subset_runs_or_says_why(bad_dataset, tmp_path, subset, mv, evidence):
    args = [f"verifier_cfg.verifier_subset=[{','.join(sorted(subset))}]", f"data_cfg.mv_as_verifier={mv}",
            f"model_params.weak_supervision.evidence={evidence}", "plot=false", "k_curve=false"]
    if subset <= {"Dead", "Flat"}:
        with pytest.raises(InputError):
            _run(tmp_path, *args, path=bad_dataset)
        return
    res = _run(tmp_path, *args, path=bad_dataset)
    assert 0 <= res["methods"]["weak_supervision"]["test"]["select_at_1"] <= 1


def test_results_json_is_replaced_whole(tmp_path):
    from selection.pipeline import write_json_atomic

    target = tmp_path / "results.json"
    write_json_atomic(target, {"ok": 1})

    class Unwritable:  # fails half-way through serialization, like a full disk
        def __str__(self):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_json_atomic(target, {"ok": 2, "bad": Unwritable()})
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_reliability_report_is_written(tmp_path):
    path = save_rows(make_rows(30, 8, seed=2), tmp_path / "in.hf")
    res = _run(tmp_path, "plot=false", path=path)
    md = (tmp_path / "out" / "reliability.md").read_text()
    assert (tmp_path / "out" / "reliability.png").stat().st_size > 0
    for name in ("A", "B", "C", "P_min", "J"):
        assert f"| {name} |" in md
    rows = {v["name"]: v for v in res["reliability"]["verifiers"]}
    assert rows["A"]["est_auc"] > rows["C"]["est_auc"]  # the informative RM looks better than the noisy one
    assert rows["A"]["true_auc"] is not None
    assert json.loads((tmp_path / "out" / "results.json").read_text())["reliability"]["method"] == "weak_supervision"


def test_calibration_row_uses_few_labels_and_says_so(tmp_path):
    path = save_rows(make_rows(40, 8, seed=3), tmp_path / "in.hf")
    plain = _run(tmp_path, "plot=false", "methods=[weak_supervision]", path=path, out="a")
    assert "weak_supervision_calibrated" not in plain["methods"]
    res = _run(tmp_path, "plot=false", "methods=[weak_supervision]", "data_cfg.calibration_problems=5",
               path=path, out="b")
    row = res["methods"]["weak_supervision_calibrated"]
    assert row["labels_used"] and "5 calibration problems" in row["label_use"]
    assert res["methods"]["weak_supervision"]["labels_used"] is False
    assert res["primary_method"] == "weak_supervision"
    assert "weak_supervision_calibrated" in res["labels_used"]


def test_calibration_count_is_validated(tmp_path):
    from selection.config import load_config

    with pytest.raises(InputError, match="calibration_problems"):
        load_config("weak_supervision", ["data_cfg.calibration_problems=-2"])


def test_split_ids_are_reported(tmp_path):
    path = save_rows(make_rows(20, 6, seed=1), tmp_path / "in.hf")
    res = _run(tmp_path, "plot=false", path=path)
    train, test = res["split"]["train_ids"], res["split"]["test_ids"]
    assert len(train) == res["split"]["train_problems"] and not set(train) & set(test)
    assert sorted(train + test) == list(range(1000, 1020))


def test_bench_reads_the_default_config():
    """bench/selection.py must measure what users run: the weak_supervision config file."""
    text = (Path(__file__).resolve().parent.parent / "bench" / "selection.py").read_text()
    assert 'load_config("weak_supervision"' in text and "run_selection(cfg, dataset=dataset)" in text


def test_infinite_scores_are_missing_and_named(tmp_path):
    rows = make_rows(30, 8, seed=8)
    rows[0]["A_scores"][0] = float("inf")
    rows[1]["A_scores"][1] = float("-inf")
    path = save_rows(rows, tmp_path / "inf.hf")
    res = _run(tmp_path, "plot=false", path=path)
    assert "A" in res["dataset"]["prepared_verifiers"]
    assert any("A_scores: 2 infinite values treated as missing" in w for w in res["warnings"])
