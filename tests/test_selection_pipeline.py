"""End-to-end selection: results.json, label use, weaver_scores alignment, plots, the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from selection_fixtures import make_rows, save_rows
from toolkit.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
METRIC_KEYS = {"select_at_1", "pass_at_k", "gap", "sample_accuracy", "n_problems", "labels_used"}


def _run(dataset_path, tmp_path, *overrides, name="weak_supervision", out="out"):
    from selection.config import load_config
    from selection.pipeline import run_selection

    cfg = load_config(name, [f"data_cfg.dataset_path={dataset_path}", f"output_dir={tmp_path / out}",
                             *overrides])
    return run_selection(cfg)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return save_rows(make_rows(40, 8, seed=0, missing=0.05, ragged=True),
                     tmp_path_factory.mktemp("sel") / "scored.hf")


def test_results_json_structure_and_label_flags(dataset, tmp_path):
    res = _run(dataset, tmp_path, name="all_methods")
    on_disk = json.loads((tmp_path / "out" / "results.json").read_text())
    assert on_disk["methods"].keys() == res["methods"].keys()
    assert on_disk["config"]["data_cfg"]["dataset_path"] == dataset
    expected = {"weak_supervision", "weak_supervision_continuous", "first_sample", "majority_vote", "coverage",
                "naive_ensemble", "top1_verifier", "naive_bayes", "logistic_regression"}
    assert set(res["methods"]) == expected
    for name, r in res["methods"].items():
        for split in ("train", "test"):
            assert set(r[split]) == METRIC_KEYS, (name, split)
            assert r[split]["n_problems"] == res["split"][f"{split}_problems"]
    uses = {n for n, r in res["methods"].items() if r["labels_used"]}
    assert uses == {"coverage", "top1_verifier", "naive_bayes", "logistic_regression"}
    assert set(res["labels_used"]) == uses
    assert not res["split"]["evaluated_on_training_set"]
    assert res["split"]["train_problems"] + res["split"]["test_problems"] == 40
    cov = res["methods"]["coverage"]["test"]
    assert cov["select_at_1"] == cov["pass_at_k"]
    ws = res["methods"]["weak_supervision"]["test"]
    assert ws["select_at_1"] > res["methods"]["first_sample"]["test"]["select_at_1"]
    assert ws["gap"] == pytest.approx(ws["pass_at_k"] - ws["select_at_1"])
    # weaver_scores and *_step_scores equal the labels but are never verifiers
    assert res["dataset"]["prepared_verifiers"] == ["A", "B", "C", "P_min", "J"]


def test_per_difficulty_and_plots(dataset, tmp_path):
    res = _run(dataset, tmp_path)
    per = res["per_difficulty"]
    assert per["source"] == "column" and list(per["groups"]) == ["Level 1", "Level 2", "Level 3"]
    total = sum(g["weak_supervision"]["n_problems"] for g in per["groups"].values())
    assert total == res["methods"]["weak_supervision"]["test"]["n_problems"]
    assert set(per["groups"]["Level 1"]["majority_vote"]) == METRIC_KEYS
    for png in ("select_at_1.png", "select_at_1_vs_k.png"):
        f = tmp_path / "out" / png
        assert f.exists() and f.read_bytes()[:4] == b"\x89PNG"
    assert res["k_curve"]["k"][0] == 1 and res["k_curve"]["k"][-1] == 8


def test_reference_headline_is_flagged(dataset, tmp_path):
    res = _run(dataset, tmp_path, name="reference_headline")
    assert res["split"]["evaluated_on_training_set"]
    assert any("training set" in w for w in res["warnings"])
    assert res["methods"]["weak_supervision"]["labels_used"] is True
    assert "labels" in res["labels_used"]["weak_supervision"]


def test_weak_supervision_reads_no_label(tmp_path):
    rows = make_rows(30, 8, seed=3)
    rng = np.random.default_rng(7)
    scrambled = [{**r, "answer_correct": rng.permutation(r["answer_correct"]).tolist()} for r in rows]
    scrambled[0]["answer_correct"] = [not x for x in scrambled[0]["answer_correct"]]
    scores = []
    for name, data in (("a", rows), ("b", scrambled)):
        path = save_rows(data, tmp_path / f"{name}.hf")
        for model_class in ("per_problem", "cluster"):
            res = _run(path, tmp_path, "data_cfg.save_weaver_scores=true", f"model_cfg.model_class={model_class}",
                       "model_params.weak_supervision.drop_imbalanced_verifiers=adaptive",
                       "methods=[weak_supervision]", "plot=false", out=f"{name}-{model_class}")
            import datasets

            scores.append(datasets.load_from_disk(res["weaver_scores_path"])["weaver_scores"])
    assert scores[0] == scores[2] and scores[1] == scores[3]


def test_weaver_scores_align_with_samples_after_shuffling(tmp_path):
    import datasets

    rows = make_rows(20, 6, seed=1, ragged=True, missing=0.1)
    path = save_rows(rows, tmp_path / "in.hf")
    # naive_ensemble over one verifier, no mv verifier: the score IS the min-max scaled column
    res = _run(path, tmp_path, "data_cfg.save_weaver_scores=true", "model_cfg.model_type=naive_ensemble",
               "verifier_cfg.verifier_subset=[A]", "data_cfg.mv_as_verifier=false", "data_cfg.train_split=1.0",
               "methods=[naive_ensemble]", "plot=false", "k_curve=false")
    out = datasets.load_from_disk(res["weaver_scores_path"])
    flat = [v for r in rows for v in r["A_scores"] if v is not None]
    lo, hi = min(flat), max(flat)
    for row, saved in zip(rows, out):
        assert saved["id"] == row["id"] and len(saved["weaver_scores"]) == len(row["samples"])
        for raw, w in zip(row["A_scores"], saved["weaver_scores"]):
            assert (w is None) if raw is None else w == pytest.approx((raw - lo) / (hi - lo))
    assert "weaver_scores" in datasets.load_from_disk(path).column_names  # input untouched
    assert datasets.load_from_disk(path)["weaver_scores"] == [r["weaver_scores"] for r in rows]


def test_weaver_scores_cover_train_and_test_rows(tmp_path):
    import datasets

    rows = make_rows(20, 6, seed=2)
    path = save_rows(rows, tmp_path / "in.hf")
    res = _run(path, tmp_path, "data_cfg.save_weaver_scores=true", "methods=[weak_supervision]", "plot=false")
    out = datasets.load_from_disk(res["weaver_scores_path"])
    assert sorted(set(out["weaver_split"])) == ["test", "train"]
    for row in out:
        assert all(w is not None and 0.0 <= w <= 1.0 for w in row["weaver_scores"])
    # within a row, the saved score orders samples as P(correct) does: sample A_scores drive it
    with pytest.raises(InputError, match="in place"):
        _run(path, tmp_path, "data_cfg.save_weaver_scores=true", f"data_cfg.weaver_scores_path={path}",
             "methods=[majority_vote]", "plot=false")


@pytest.mark.parametrize("nan_replacement", ["mask", "0", "mean"])
def test_missing_scores_are_handled(tmp_path, nan_replacement):
    rows = make_rows(24, 6, seed=4, missing=0.3)
    rows[0]["B_scores"] = [None] * len(rows[0]["samples"])
    path = save_rows(rows, tmp_path / "in.hf")
    res = _run(path, tmp_path, f"data_cfg.nan_replacement={nan_replacement}", "plot=false",
               "methods=[weak_supervision,naive_ensemble,logistic_regression,naive_bayes]")
    for r in res["methods"].values():
        assert r["test"]["select_at_1"] is not None and 0 <= r["test"]["select_at_1"] <= 1


@pytest.mark.parametrize("overrides", [
    ["model_cfg.model_class=per_dataset", "data_cfg.normalize_method=quantile"],
    ["model_cfg.model_class=cluster", "model_cfg.cluster_cfg.cluster_type=unique_extracted_answers"],
    ["data_cfg.normalize_type=per_problem", "data_cfg.normalize_method=winsorize",
     "model_params.weak_supervision.use_deps=drop"],
    ["model_params.weak_supervision.use_deps=model", "data_cfg.train_samples=4", "data_cfg.train_queries=10"],
])
def test_option_combinations_run(dataset, tmp_path, overrides):
    res = _run(dataset, tmp_path, "plot=false", "k_curve=false", "methods=[weak_supervision,majority_vote]",
               *overrides)
    assert 0 <= res["methods"]["weak_supervision"]["test"]["select_at_1"] <= 1


def test_supervised_methods_refuse_without_labels(tmp_path):
    rows = [{k: v for k, v in r.items() if k != "answer_correct"} for r in make_rows(10, 4)]
    path = save_rows(rows, tmp_path / "nolabels.hf")
    res = _run(path, tmp_path, "methods=[weak_supervision,majority_vote]", "plot=false", "k_curve=false",
               "data_cfg.save_weaver_scores=true")
    assert res["methods"]["weak_supervision"]["test"]["select_at_1"] is None
    assert Path(res["weaver_scores_path"]).exists()
    with pytest.raises(InputError, match="labels"):
        _run(path, tmp_path, "methods=[naive_bayes]", "plot=false")


def _cli(args, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120)


def test_cli_from_repo_root_and_from_inside_selection(dataset, tmp_path):
    out = _cli(["selection/run.py", "--config-name", "weak_supervision", f"data_cfg.dataset_path={dataset}",
                f"output_dir={tmp_path / 'cli'}", "data_cfg.train_split=0.6", "plot=false"], ROOT)
    assert out.returncode == 0, out.stderr
    assert "weak_supervision" in out.stdout and "majority_vote" in out.stdout and "test S@1" in out.stdout
    res = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert res["config"]["data_cfg"]["train_split"] == 0.6
    inside = _cli(["run.py", "--help"], ROOT / "selection")
    assert inside.returncode == 0 and "data_cfg.dataset_path" in inside.stdout


def test_cli_unknown_key_is_one_line_error(dataset):
    out = _cli(["selection/run.py", f"data_cfg.dataset_path={dataset}", "data_cfg.reward_treshold=0.3"], ROOT)
    assert out.returncode == 2
    assert "data_cfg.reward_treshold" in out.stderr and "data_cfg.reward_threshold" in out.stderr
    assert "Traceback" not in out.stderr
