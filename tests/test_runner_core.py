"""Stage-3 runner with fake scorers: columns, failures as data, resume, skip/--overwrite, workers."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from test_runner_helpers import (CALLS_FILE, CRASH_AFTER, FAIL_LOAD, fake_load_scorer, make_dataset,
                                 make_seq_cls_folder)
from toolkit.dataset_io import read_manifest
from toolkit.errors import InputError
from verifiers.runner import run_scoring
from verifiers.scoring_config import ScoringConfig

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv(CALLS_FILE, str(tmp_path / "calls.txt"))
    rm_a = make_seq_cls_folder(tmp_path / "rm_a")
    rm_b = make_seq_cls_folder(tmp_path / "rm_b")
    data = make_dataset(tmp_path / "in.hf", rows=10, samples=3, poison=(2, 1))
    return tmp_path, data, rm_a, rm_b


def _config(tmp, data, *rms, out="out.hf", **kw):
    kw.setdefault("chunk_rows", 3)
    return ScoringConfig(dataset_path=str(data), output_path=str(tmp / out), reward_models=",".join(map(str, rms)),
                         progress=False, **kw)


def _calls(tmp) -> int:
    f = tmp / "calls.txt"
    return len(f.read_text().splitlines()) if f.exists() else 0


def test_scores_one_column_per_verifier_and_failures_are_nulls(setup, monkeypatch):
    tmp, data, rm_a, rm_b = setup
    monkeypatch.setenv(FAIL_LOAD, "rm_b")
    ds = run_scoring(_config(tmp, data, rm_a, rm_b), scorer_factory=fake_load_scorer)
    assert len(ds) == 10
    a = ds["rm_a_scores"]
    assert all(len(row) == 3 for row in a)
    assert a[0][0] == pytest.approx(len(ds["samples"][0][0]) / 10)
    assert a[2][1] is None  # the poisoned sample: null, never 0.0
    assert sum(v is None for row in a for v in row) == 1
    assert all(v is None for row in ds["rm_b_scores"] for v in row)  # model failed to load: all null
    errors = ds["verifier_errors"]
    assert {"verifier": "rm_a", "sample": 1, "error": "poisoned sample"} in errors[2]
    assert all(any(e["verifier"] == "rm_b" and "weights missing" in e["error"] for e in row) for row in errors)
    manifest = read_manifest(tmp / "out.hf")
    assert manifest["stage"] == "score"
    assert manifest["failures"]["rm_a"]["failed_samples"] == 1
    assert "weights missing" in manifest["failures"]["rm_b"]["model_error"]
    assert set(manifest["verifiers"]) == {"rm_a", "rm_b"} and manifest["plan"]["placements"]
    # failures remain: the journals stay so that rerunning retries the failed model only
    assert (tmp / "out.hf.progress" / "rm_a.jsonl").exists()


def test_resume_after_crash_redoes_only_unfinished_chunks(setup, monkeypatch):
    tmp, data, rm_a, _ = setup
    monkeypatch.setenv(CRASH_AFTER, "2")
    with pytest.raises(KeyboardInterrupt):
        run_scoring(_config(tmp, data, rm_a), scorer_factory=fake_load_scorer)
    journal = tmp / "out.hf.progress" / "rm_a.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 6  # two chunks of three rows finished before the crash
    # the process died mid-write: a torn half line at the end, and the last full row lost with it
    journal.write_text("\n".join(lines[:5]) + "\n" + lines[5][: len(lines[5]) // 2])
    before = _calls(tmp)
    monkeypatch.delenv(CRASH_AFTER)
    ds = run_scoring(_config(tmp, data, rm_a), scorer_factory=fake_load_scorer)
    assert _calls(tmp) - before == (10 - 5) * 3  # 5 rows resumed from the journal, only the rest scored
    clean = run_scoring(_config(tmp, data, rm_a, out="clean.hf"), scorer_factory=fake_load_scorer)
    assert ds["rm_a_scores"] == clean["rm_a_scores"]


def test_journal_from_other_input_is_not_reused(setup):
    tmp, data, rm_a, _ = setup
    run_scoring(_config(tmp, data, rm_a, max_samples=2), scorer_factory=fake_load_scorer)
    first = _calls(tmp)
    assert first == 10 * 2
    with pytest.raises(InputError, match="max_samples|other settings"):  # the finished output says 2
        run_scoring(_config(tmp, data, rm_a, max_samples=3), scorer_factory=fake_load_scorer)
    ds = run_scoring(_config(tmp, data, rm_a, max_samples=3, overwrite=True), scorer_factory=fake_load_scorer)
    assert _calls(tmp) - first == 30  # a different setting: nothing reused
    assert all(len(r) == 3 for r in ds["rm_a_scores"])


def test_existing_columns_are_skipped_unless_overwrite(setup):
    tmp, data, rm_a, rm_b = setup
    run_scoring(_config(tmp, data, rm_a), scorer_factory=fake_load_scorer)
    n = _calls(tmp)
    ds = run_scoring(_config(tmp, tmp / "out.hf", rm_a, rm_b, out="out2.hf"), scorer_factory=fake_load_scorer)
    assert _calls(tmp) - n == 30  # only rm_b ran
    manifest = read_manifest(tmp / "out2.hf")
    assert manifest["skipped_existing"] == ["rm_a"]
    assert manifest["history"][0]["stage"] == "score"
    assert any(e["verifier"] == "rm_a" for e in ds["verifier_errors"][2])  # earlier errors kept
    n = _calls(tmp)
    run_scoring(_config(tmp, tmp / "out2.hf", rm_a, out="out3.hf", overwrite=True), scorer_factory=fake_load_scorer)
    assert _calls(tmp) - n == 30


def test_row_range_and_max_samples(setup):
    tmp, data, rm_a, _ = setup
    ds = run_scoring(_config(tmp, data, rm_a, start_row=2, max_rows=3, max_samples=2),
                     scorer_factory=fake_load_scorer)
    assert len(ds) == 3 and ds["instruction"][0].startswith("Problem 2:")
    scores = ds["rm_a_scores"]
    assert [len(r) for r in scores] == [3, 3, 3] and all(r[2] is None for r in scores)
    assert scores[0][1] is None and scores[1][1] is not None  # poisoned row 2 sample 1
    assert [e["sample"] for row in ds["verifier_errors"] for e in row] == [1]  # beyond max_samples: no blame
    assert read_manifest(tmp / "out.hf")["first_row"] == 2


def test_unplaceable_model_on_cpu_is_null_with_reason_and_others_finish(setup):
    tmp, data, rm_a, _ = setup
    ds = run_scoring(_config(tmp, data, rm_a, "QwenPRM", device="cpu"), scorer_factory=fake_load_scorer)
    assert all(v is not None for row in ds["rm_a_scores"][:2] for v in row)
    for col in ("QwenPRM_min_scores", "QwenPRM_max_scores", "QwenPRM_avg_scores", "QwenPRM_step_scores"):
        assert all(v is None for row in ds[col] for v in row)
    assert any("needs a GPU" in e["error"] for e in ds["verifier_errors"][0] if e["verifier"] == "QwenPRM")


def test_subprocess_workers_write_the_same_result(setup, monkeypatch):
    tmp, data, rm_a, _ = setup
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    config = _config(tmp, data, rm_a, out="iso.hf", scorer_factory="test_runner_helpers:fake_load_scorer")
    iso = run_scoring(config, isolate_workers=True)
    plain = run_scoring(_config(tmp, data, rm_a), scorer_factory=fake_load_scorer)
    assert iso["rm_a_scores"] == plain["rm_a_scores"]
    assert read_manifest(tmp / "iso.hf")["worker_stats"]["rm_a"]["scored"] == 10


def test_gpu_plan_runs_each_placement_in_its_own_worker_with_its_gpus(setup, monkeypatch):
    """Orchestration of a GPU machine, simulated: --gpus 2x80 plans CUDA placements; the fake
    scorer records the CUDA_VISIBLE_DEVICES and device each worker process was given."""
    from test_runner_helpers import PLACEMENT_LOG

    tmp, data, rm_a, rm_b = setup
    log = tmp / "placements.jsonl"
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    monkeypatch.setenv(PLACEMENT_LOG, str(log))
    config = _config(tmp, data, rm_a, rm_b, gpus="2x80", batch_size=3,
                     scorer_factory="test_runner_helpers:fake_load_scorer")
    ds = run_scoring(config)
    seen = {r["name"]: r for r in map(json.loads, log.read_text().splitlines())}
    assert set(seen) == {"rm_a", "rm_b"}
    assert {r["cuda_visible_devices"] for r in seen.values()} == {"0", "1"}  # spread over both GPUs, one wave
    assert all(r["device"] == "cuda" and r["batch_size"] == 3 for r in seen.values())
    plan = read_manifest(tmp / "out.hf")["plan"]
    assert {p["wave"] for p in plan["placements"]} == {0}
    assert all(v is not None for v in ds["rm_b_scores"][0])


def test_prm_and_judge_columns_through_the_transforms():
    import pyarrow as pa

    from generation.backends.base import Completion
    from verifiers.catalog import VERIFIERS
    from verifiers.judges import JudgeSettings, LMJudge
    from verifiers.transform import JudgeTransform, ScoreTransform

    table = pa.table({"id": [7, 8], "instruction": ["p", "q"],
                      "samples": [["a\n\nbb\n\nccc", "POISON"], [None, "dddd"]]})
    prm = ScoreTransform(VERIFIERS.get("QwenPRM"), scorer_factory=fake_load_scorer)(table).to_pylist()
    assert prm[0]["QwenPRM_step_scores"][0] == [0.01, 0.02, 0.03]
    assert prm[0]["QwenPRM_min_scores"][0] == 0.01 and prm[0]["QwenPRM_max_scores"][0] == 0.03
    assert prm[0]["QwenPRM_avg_scores"][0] == pytest.approx(0.02)
    assert prm[0]["QwenPRM_step_scores"][1] is None and prm[0]["sample_errors"][1] == "poisoned sample"
    assert prm[1]["sample_errors"][0].startswith("sample text is null")

    class Client:
        def generate(self, requests):
            return [[Completion(text="True" if "ccc" in r.messages[-1]["content"] else "Yes")]
                    for r in requests]

    judge = LMJudge(Client(), JudgeSettings(verdicts_per_sample=2))
    out = JudgeTransform("J", {}, judge=judge)(table).to_pylist()
    assert out[0]["J_verdicts"][0] == [1.0, 1.0]
    assert out[1]["J_verdicts"] == [None, [None, None]] and "Yes" in out[1]["sample_errors"][1]
    assert out[1]["error"] == "2 of 2 samples failed"


def test_transform_survives_a_scorer_that_raises_for_one_sample():
    import pyarrow as pa

    from verifiers.catalog import VERIFIERS
    from verifiers.transform import ScoreTransform

    class Fragile:
        def score(self, prompts, responses):
            if any("bad" in r for r in responses):
                raise ValueError("tokenizer exploded")
            return [type("R", (), {"score": 1.0, "step_scores": None, "aspects": None, "error": None})()
                    for _ in responses]

    table = pa.table({"id": [0], "instruction": ["p"], "samples": [["good", "bad", "fine"]]})
    out = ScoreTransform(VERIFIERS.get("GRM"), scorer_factory=lambda *a, **k: Fragile())(table).to_pylist()[0]
    assert out["GRM_scores"] == [1.0, None, 1.0]
    assert "tokenizer exploded" in out["sample_errors"][1]


def test_transform_schema_matches_every_registered_spec():
    from verifiers.catalog import VERIFIERS
    from verifiers.transform import output_schema

    for name, spec in VERIFIERS.items():
        names = output_schema(name, spec.family).names
        assert names[0] == "id" and names[-2:] == ["sample_errors", "error"]
        assert names[1:-2] == spec.output_columns(), name


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
