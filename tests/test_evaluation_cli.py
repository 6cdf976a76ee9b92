"""unified_evaluation.py end to end on small datasets written here: math and multiple choice,
both ways of running the script, resume after an interrupted run, in-place refused, bad input."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "generation" / "unified_evaluation.py"

MATH_ROWS = [
    {"id": 0, "instruction": "What is 1+1?", "answer": "2",
     "samples": ["So $\\boxed{2}$.", "The answer is: 3", "I do not know", None]},
    {"id": 1, "instruction": "Half of one?", "answer": None,
     "samples": ["The answer is: 1/2", "The answer is: 0.5", "\\boxed{\\frac{1}{2}}", "The answer is: 3"]},
    {"id": 2, "instruction": "Tie", "answer": None, "samples": ["The answer is: 1", "The answer is: 2", None, "hmm"]},
    {"id": 3, "instruction": "From a solution", "answer": None, "solution": "We get $\\boxed{10}$.",
     "samples": ["Thus the answer is $10$.", "\\boxed{10{,}000}"]},
]
MC_ROWS = [
    {"id": 10, "instruction": "Capital of France?", "options": ["Paris", "London", "Berlin", "Madrid"],
     "answer": "A", "samples": ["The answer is (A).", "Answer: B", "I think so.", "The answer is Paris."]},
    {"id": 11, "instruction": "Pick", "options": ["w", "x", "y", "z"], "answer": None,
     "samples": ["The answer is (C).", "Answer: C", "The answer is: (d)", "no idea"]},
    {"id": 12, "instruction": "Pick", "options": ["w", "x", "y", "z"], "answer": None, "answer_index": 3,
     "samples": ["**D**", "The answer is A because w"]},
]


def write(path: Path, rows: list[dict]) -> Path:
    import datasets as hf

    keys = list(dict.fromkeys(k for row in rows for k in row))  # from_list keeps only the first row's keys
    hf.Dataset.from_list([{k: row.get(k) for k in keys} for row in rows]).save_to_disk(str(path))
    return path


def run(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENAI_API_KEY": "", **(env or {})}
    full_env.pop("OPENAI_API_KEY")
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=full_env)


def load(path: Path):
    import datasets as hf

    return hf.load_from_disk(str(path))


def test_help_is_instant_and_lists_flags():
    proc = run(str(SCRIPT), "--help")
    assert proc.returncode == 0
    for flag in ("--input_path", "--output_path", "--dataset_type", "--max_samples", "--max_rows", "--parallel",
                 "--extractor_model", "--base_url", "--no_llm"):
        assert flag in proc.stdout


def test_math_end_to_end_rules_only(tmp_path):
    src = write(tmp_path / "in.hf", MATH_ROWS)
    out = tmp_path / "out.hf"
    proc = run(str(SCRIPT), "--input_path", str(src), "--output_path", str(out), "--dataset_type", "math")
    assert proc.returncode == 0, proc.stderr
    assert "rules only" in proc.stderr  # no API key, no --base_url: says so
    rows = {r["id"]: r for r in load(out)}
    assert rows[0]["extracted_answers"] == ["2", "3", None, None]
    assert rows[0]["answer_correct"] == [True, False, False, None]
    assert rows[0]["grade_status"][3] == "missing_sample"
    assert rows[1]["label_source"] == "majority_vote" and rows[1]["answer_correct"] == [True, True, True, False]
    assert rows[2]["label_source"] == "none:tie" and set(rows[2]["answer_correct"]) == {None}
    assert rows[3]["label_source"] == "dataset" and rows[3]["answer_correct"] == [True, False]
    manifest = json.loads((out / "toolkit_manifest.json").read_text())
    assert manifest["stage"] == "evaluation" and manifest["extractor"]["model"] is None


def test_choice_end_to_end_from_inside_generation(tmp_path):
    src = write(tmp_path / "in.hf", MC_ROWS)
    out = tmp_path / "out.hf"
    proc = run("unified_evaluation.py", "--input_path", str(src), "--output_path", str(out),
               "--dataset_type", "gpqa", "--no_llm", "--parallel", "2", cwd=ROOT / "generation")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in load(out)}
    assert rows[10]["extracted_answers"] == ["A", "B", None, "A"]
    assert rows[10]["answer_correct"] == [True, False, False, True]
    assert rows[11]["pseudo_label"] == "C" and rows[11]["answer_correct"] == [True, True, False, False]
    assert rows[12]["label_source"] == "dataset" and rows[12]["answer_correct"] == [True, False]


def test_max_rows_and_max_samples_keep_columns_aligned(tmp_path):
    src = write(tmp_path / "in.hf", MC_ROWS)
    out = tmp_path / "out.hf"
    proc = run(str(SCRIPT), "--input_path", str(src), "--output_path", str(out), "--dataset_type", "mmlu",
               "--no_llm", "--max_rows", "2", "--max_samples", "2")
    assert proc.returncode == 0, proc.stderr
    ds = load(out)
    assert len(ds) == 2
    for row in ds:
        assert len(row["samples"]) == len(row["extracted_answers"]) == len(row["answer_correct"]) == 2


def test_in_place_refused(tmp_path):
    src = write(tmp_path / "in.hf", MC_ROWS)
    proc = run(str(SCRIPT), "--input_path", str(src), "--output_path", str(src), "--dataset_type", "gpqa")
    assert proc.returncode == 2 and "in place" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("make,args,needle", [
    (None, ["--dataset_type", "gpqa"], "does not exist"),
    ("nosamples", ["--dataset_type", "gpqa"], "no `samples` column"),
    ("ok", ["--dataset_type", "mmlu_pr"], "Did you mean mmlu_pro"),
    ("ok", ["--dataset_type", "gpqa", "--max_samples", "0"], "--max_samples must be at least 1"),
    ("ok", [], "--dataset_type"),
    ("string_samples", ["--dataset_type", "math"], "column `samples` must hold a list of strings (or nulls) per row; row 0"),
    ("int_samples", ["--dataset_type", "math"], "column `samples` must hold a list of strings"),
])
def test_bad_input_is_one_line(tmp_path, make, args, needle):
    src = tmp_path / "in.hf"
    if make == "ok":
        write(src, MC_ROWS)
    elif make == "nosamples":
        write(src, [{"id": 1, "answer": "A"}])
    elif make == "string_samples":  # a string is not a list of samples: never graded one character at a time
        write(src, [{"id": 1, "answer": "2", "samples": "The answer is 2"}])
    elif make == "int_samples":
        write(src, [{"id": 1, "answer": "2", "samples": [2, 3]}])
    proc = run(str(SCRIPT), "--input_path", str(src), "--output_path", str(tmp_path / "o.hf"), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in proc.stderr


def test_bad_gold_row_is_data_and_exit_1(tmp_path):
    rows = MC_ROWS + [{"id": 13, "instruction": "x", "options": ["w", "x", "y", "z"], "answer": "Q",
                       "answer_index": None, "samples": ["Answer: A"]}]
    src = write(tmp_path / "in.hf", rows)
    out = tmp_path / "out.hf"
    proc = run(str(SCRIPT), "--input_path", str(src), "--output_path", str(out), "--dataset_type", "gpqa", "--no_llm")
    assert proc.returncode == 1
    bad = [r for r in load(out) if r["id"] == 13][0]
    assert "neither a letter" in bad["error"] and bad["answer_correct"] == [None]
