"""Datasets (hub schemas via WEAVER_HUB_MIRROR, local files), dry runs and bad input (one line, exit 2)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generation.config import GenerationConfig
from generation.generate import generate_samples, load_rows

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / "generation" / "generate_reasoning_samples.py"
TOY = ROOT / "datasets" / "toy_math.jsonl"


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture()
def hub_mirror(tmp_path, monkeypatch) -> Path:
    """Fixture files in each hub dataset's own schema (column names and types as published)."""
    root = tmp_path / "hub"
    write_jsonl(root / "HuggingFaceH4/MATH-500/test.jsonl", [
        {"problem": f"What is {i} + {i}?", "solution": f"We add: $\\boxed{{{2 * i}}}$", "answer": str(2 * i),
         "subject": "Algebra" if i % 2 else "Prealgebra", "level": 1 + i % 5, "unique_id": f"test/algebra/{i}.json"}
        for i in range(5)])
    for config, n in (("gpqa_main", 6), ("gpqa_diamond", 3)):
        write_jsonl(root / f"Idavidrein/gpqa/{config}/train.jsonl", [
            {"Question": f"Which particle is #{i}?", "Correct Answer": f"right {i}", "Incorrect Answer 1": "w1",
             "Incorrect Answer 2": "w2", "Incorrect Answer 3": "w3", "Record ID": f"rec{i}",
             "High-level domain": "Physics", "Subdomain": "Particle physics"} for i in range(n)])
    mmlu = [{"question": f"Q{i}?", "subject": s, "choices": ["a", "b", "c", "d"], "answer": i % 4}
            for i, s in enumerate(["college_physics", "college_physics", "anatomy"])]
    write_jsonl(root / "cais/mmlu/all/test.jsonl", mmlu)
    write_jsonl(root / "cais/mmlu/college_physics/test.jsonl", mmlu[:2])
    write_jsonl(root / "TIGER-Lab/MMLU-Pro/test.jsonl", [
        {"question_id": i, "question": f"Pro {i}?", "options": [f"o{j}" for j in range(10)], "answer": "CDE"[i],
         "answer_index": 2 + i, "cot_content": "", "category": ["math", "law", "math"][i], "src": "x"}
        for i in range(3)])
    monkeypatch.setenv("WEAVER_HUB_MIRROR", str(root))
    return root


def rows_for(dataset: str, **kw):
    return load_rows(GenerationConfig(dataset=dataset, output_path="unused.hf", **kw))[0]


def test_math500_columns_and_short_answer(hub_mirror):
    rows = rows_for("math", max_rows=3)
    assert len(rows) == 3 and [r["id"] for r in rows] == [0, 1, 2]
    assert set(rows[0]) >= {"problem", "solution", "subject", "level", "unique_id", "instruction", "answer"}
    assert rows[2]["answer"] == "4" and "boxed" not in rows[2]["answer"]  # the answer, not the solution
    assert rows[2]["instruction"].endswith("Problem: What is 2 + 2?") and "The answer is: X" in rows[2]["instruction"]
    assert [r["subject"] for r in rows_for("math", subjects="Algebra")] == ["Algebra", "Algebra"]


def test_gpqa_options_are_shuffled_with_a_fixed_seed(hub_mirror):
    rows = rows_for("gpqa")
    assert rows == rows_for("gpqa")  # same lettering on every load
    assert {r["type"] for r in rows} == {"main"} and rows_for("gpqa_diamond")[0]["type"] == "diamond"
    for r in rows:
        assert set(r) >= {"original_instruction", "type", "options", "correct_answer", "subject", "answer"}
        assert r["options"]["ABCD".index(r["answer"])].startswith("right") and r["correct_answer"] == r["answer"]
        assert "\nA. " in r["instruction"] and "\nD. " in r["instruction"] and r["subject"] == "science"
    assert len({r["answer"] for r in rows}) > 1  # the correct option is not always in one place


def test_mmlu_subjects_and_mmlu_pro_letters(hub_mirror):
    rows = rows_for("mmlu")
    assert [r["answer"] for r in rows] == ["A", "B", "C"] and rows[0]["problem"] == rows[0]["instruction"]
    assert set(rows[0]) >= {"question", "problem", "choices", "subject"}
    assert [r["subject"] for r in rows_for("mmlu", subjects="college_physics")] == ["college_physics"] * 2
    pro = rows_for("mmlu_pro")
    assert [r["answer"] for r in pro] == ["C", "D", "E"] and "\nJ. o9" in pro[0]["instruction"]
    assert set(pro[0]) >= {"question", "problem", "options", "answer_index", "subject"}
    assert [r["id"] for r in rows_for("mmlu_pro", subjects="math")] == [0, 2]


def test_local_files_detect_columns(tmp_path):
    rows = rows_for(str(TOY), max_rows=4)
    assert len(rows) == 4 and rows[0]["answer"] == "5" and "What is 2 + 3?" in rows[0]["instruction"]
    custom = tmp_path / "custom.jsonl"
    write_jsonl(custom, [{"id": "x1", "q": "Name a colour.", "gold": "red", "choices": ["red", "car"]}])
    (row,) = rows_for(str(custom), question_column="q", answer_column="gold")
    assert row["id"] == 0 and row["source_id"] == "x1" and row["answer"] == "red" and "\nB. car" in row["instruction"]


def test_any_hub_id_with_named_columns(hub_mirror):
    write_jsonl(hub_mirror / "someorg/word-problems/test.jsonl", [{"text": "What is 1 + 1?", "gold": 2}])
    (row,) = rows_for("someorg/word-problems", question_column="text", answer_column="gold")
    assert row["answer"] == "2" and row["instruction"].endswith("Problem: What is 1 + 1?")
    with pytest.raises(Exception, match="has none of the columns problem, question"):
        rows_for("someorg/word-problems")


def test_dry_run_counts_calls_and_calls_nothing(tmp_path, capsys):
    out = tmp_path / "out.hf"
    report = generate_samples(GenerationConfig(model="gpt-4o-mini", dataset=str(TOY), output_path=str(out),
                                               max_rows=5, samples_per_instruction=4, max_new_tokens=100,
                                               dry_run=True))
    text = capsys.readouterr().out
    assert report.dataset is None and not out.exists() and not Path(f"{out}.progress").exists()
    assert "5 rows x 4 samples = 20 calls" in text and "up to 2000 completion" in text
    assert "estimated cost" in text


def run_main(args: list[str], capsys) -> tuple[int, str]:
    from generation.generate_reasoning_samples import main
    from toolkit.errors import run_cli

    with pytest.raises(SystemExit) as exc:
        run_cli(main, args)
    return exc.value.code, capsys.readouterr().err.strip()


@pytest.mark.parametrize("args, message", [
    (["--dataset", "mth"], "Did you mean math?"),
    (["--dataset", "datasets/nope.jsonl"], "does not exist"),
    (["--dataset", str(TOY), "--question_column", "nope"], "has no column 'nope'"),
    (["--dataset", str(TOY), "--samples_per_instruction", "-1"], "--samples_per_instruction must be at least 1"),
    (["--dataset", str(TOY), "--temperature", "warm"], "invalid float value: 'warm'"),
    (["--dataset", str(TOY), "--top_p", "1.5"], "--top_p"),
    (["--dataset", str(TOY), "--provider", "opneai"], "unknown provider 'opneai'. Did you mean openai"),
    (["--dataset", str(TOY), "--model", "gpt-4o"], "OPENAI_API_KEY"),
    (["--dataset", str(TOY), "--base_url", "http://127.0.0.1:9/v1"], "cannot reach the server"),
    (["--dataset", str(TOY), "--subjects", "x"], "--subjects applies"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(ROOT)
    code, err = run_main(["--output_path", str(tmp_path / "o.hf"), "--max_rows", "2", *args], capsys)
    assert code == 2 and message in err and err.startswith("error: ") and "\n" not in err


def test_cli_runs_from_inside_generation_and_help_is_plain():
    out = subprocess.run([sys.executable, "generate_reasoning_samples.py", "--help"], cwd=ROOT / "generation",
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--samples_per_instruction" in out.stdout and "--base_url" in out.stdout
    bad = subprocess.run([sys.executable, str(CLI), "--dataset", "gpqa_dimond", "--output_path", "x.hf"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "gpqa_diamond" in bad.stderr
