"""Stage-3 CLI end to end on CPU: a tiny random-weight seq-cls RM folder + the embedded SmolLM2 judge.

Also: a broken model folder gives nulls plus reasons while the rest finishes, a second run
skips finished columns, and the local export loads with ``load_dataset(dir)["data"]``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "generation" / "unified_RMs_and_LM_Judges.py"


def _cli(args, cwd):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    import datasets

    from verifiers.scorers.testing import build_seq_cls

    tmp = tmp_path_factory.mktemp("stage3")
    rm = build_seq_cls(tmp / "tiny_rm")
    broken = tmp / "broken_rm"
    broken.mkdir()
    (broken / "config.json").write_text(json.dumps(json.loads((rm / "config.json").read_text())))  # no weights
    data = tmp / "in.hf"
    datasets.Dataset.from_dict({
        "instruction": ["What is 2 + 2?", "What is 3 * 3?", "Name a prime.", "unused row"],
        "samples": [["2 + 2 = 4. The answer is: 4", "The answer is: 5"], ["3 * 3 = 9. The answer is: 9", None],
                    ["The answer is: 7", "The answer is: 8"], ["x", "y"]],
        "answer": ["4", "9", "7", "0"]}).save_to_disk(str(data))
    out = tmp / "out.hf"
    # run from inside generation/, as Weaver's README does
    result = _cli(["--dataset_path", data, "--output_path", out, "--reward_models", f"{rm},{broken}",
                   "--lm_judges", "smollm2", "--verdicts_per_sample", "2", "--max_new_tokens", "4",
                   "--batch_size", "2", "--max_rows", "3"], cwd=ROOT / "generation")
    return tmp, result, out


def test_cli_writes_rm_and_judge_columns(scored):
    import datasets

    tmp, result, out = scored
    assert result.returncode == 1, result.stderr[-3000:]  # broken_rm failed: non-zero while a failure remains
    assert "Traceback" not in result.stderr
    ds = datasets.load_from_disk(str(out))
    assert len(ds) == 3
    scores = ds["tiny_rm_scores"]
    assert [len(r) for r in scores] == [2, 2, 2]
    assert all(isinstance(v, float) for i, row in enumerate(scores) for j, v in enumerate(row) if (i, j) != (1, 1))
    assert scores[1][1] is None  # the sample itself is null: nothing to score, never 0.0
    verdicts = ds["smollm2_verdicts"]
    assert all(len(sample) == 2 for row in verdicts for sample in row if sample is not None)
    assert verdicts[1][1] is None
    for row in verdicts:
        for sample in row:
            for v in sample or []:
                assert v is None or 0.0 <= v <= 1.0
    assert "smollm2:" in result.stdout and "tiny_rm:" in result.stdout


def test_broken_model_is_nulls_with_reason_and_the_rest_finishes(scored):
    import datasets

    tmp, result, out = scored
    ds = datasets.load_from_disk(str(out))
    assert all(v is None for row in ds["broken_rm_scores"] for v in row)
    reasons = [e for row in ds["verifier_errors"] for e in row if e["verifier"] == "broken_rm"]
    assert reasons and all(e["error"] for e in reasons)
    manifest = json.loads((out / "toolkit_manifest.json").read_text())
    assert manifest["failures"]["tiny_rm"]["failed_samples"] == 1
    assert manifest["failures"]["broken_rm"]["failed_samples"] == 6
    assert manifest["plan"]["placements"] and manifest["verifiers"]["smollm2"]["target"]["model"] == "smollm2"


def test_second_run_skips_finished_columns(scored):
    tmp, _, out = scored
    rm = tmp / "tiny_rm"
    result = _cli(["--dataset_path", out, "--output_path", tmp / "again.hf", "--reward_models", rm,
                   "--lm_judges", "smollm2"], cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp / "again.hf" / "toolkit_manifest.json").read_text())
    assert sorted(manifest["skipped_existing"]) == ["smollm2", "tiny_rm"]
    assert manifest["history"][-1]["stage"] == "score"


def test_local_export_loads_with_data_split(scored, tmp_path):
    import datasets

    from toolkit.dataset_io import read_manifest
    from verifiers.publish import export_local

    _, _, out = scored
    ds = datasets.load_from_disk(str(out))
    folder = export_local(ds, tmp_path / "export", read_manifest(out), title="org/stage3-test")
    loaded = datasets.load_dataset(str(folder), cache_dir=str(tmp_path / "cache"))  # no stale shared cache
    assert list(loaded) == ["data"]
    data = loaded["data"]
    assert data.column_names == ds.column_names and len(data) == len(ds)
    assert list(data["tiny_rm_scores"]) == list(ds["tiny_rm_scores"])
    assert list(data["verifier_errors"]) == list(ds["verifier_errors"])
    card = (folder / "README.md").read_text()
    assert "split: data" in card and "tiny_rm" in card and "smollm2" in card
