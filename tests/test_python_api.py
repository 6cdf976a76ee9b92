"""The Python API (``weaver_toolkit``): a light import, ``wt.grade``, ``wt.load`` and the Run's stages."""
from __future__ import annotations

import dataclasses
import gc
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import weaver_toolkit as wt
from selection_fixtures import make_rows
from toolkit.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "datasets" / "toy_math.jsonl"
HEAVY = ("torch", "datasets", "vllm", "sympy", "pyarrow", "transformers", "omegaconf", "verifiers.grading")


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path, monkeypatch):
    """Runs make their temporary folders here, so the tests can see what is left behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _workdirs(folder: Path) -> list[Path]:
    return sorted(folder.glob("weaver_toolkit-*"))


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


# -- import --------------------------------------------------------------------------------------
def test_import_loads_no_heavy_module():
    code = ("import sys, json; import weaver_toolkit as wt; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules])); "
            "print(json.dumps(sorted(n for n in ('grade', 'load', 'Run', 'InputError') if hasattr(wt, n))))")
    heavy, names = _python(code).splitlines()
    assert json.loads(heavy) == []
    assert json.loads(names) == ["InputError", "Run", "grade", "load"]


def test_grading_imports_no_model_library():
    code = ("import sys, json; import weaver_toolkit as wt; "
            "r = wt.grade(r'so $x = \\boxed{2\\sqrt{2}}$', '\\\\sqrt{8}'); "
            "print(json.dumps([r.correct, [m for m in ('torch', 'datasets', 'vllm', 'transformers') "
            "if m in sys.modules]]))")
    correct, heavy = json.loads(_python(code))
    assert correct is True and heavy == []


# -- wt.grade ------------------------------------------------------------------------------------
def test_grade_returns_typed_frozen_results():
    right = wt.grade(r"We simplify, so the answer is $\boxed{\frac{1}{2}}$.", "0.5")
    assert isinstance(right, wt.GradeResult)
    assert (right.correct, right.status, right.extracted) == (True, "ok", r"\frac{1}{2}")
    wrong = wt.grade(r"Adding them up, the answer is $\boxed{7}$.", "8")
    assert (wrong.correct, wrong.status, wrong.extracted) == (False, "ok", "7")
    undecided = wt.grade(r"The distance is $\boxed{5\text{ km}}$.", "5 m")  # units differ: never a guess
    assert (undecided.correct, undecided.status) == (None, "undecided") and undecided.extracted
    nothing = wt.grade("I am not sure how to do this.", "5")
    assert (nothing.correct, nothing.status, nothing.extracted) == (False, "no_answer", None)
    with pytest.raises(dataclasses.FrozenInstanceError):
        right.correct = False  # type: ignore[misc]


def test_grade_multiple_choice_and_gold_types():
    assert wt.grade("The answer is (B).", "B", task="mmlu").correct is True
    assert wt.grade("I choose C", "Paris", task="gpqa", options=["London", "Paris", "Rome", "Oslo"]).correct is False
    assert wt.grade("so the answer is $\\boxed{42}$", 42).correct is True  # a numeric gold from a dataset


def test_grade_tasks_match_stage_two():
    from generation.evaluation import DATASET_TYPES
    from weaver_toolkit.grading import TASKS

    assert set(DATASET_TYPES) <= set(TASKS)
    assert all(TASKS[t] == ("math" if t == "math" else "choice") for t in DATASET_TYPES)


@pytest.mark.parametrize("call, needle", [
    (lambda: wt.grade("x", "y", timout=3), "unknown option 'timout'. Did you mean timeout"),
    (lambda: wt.grade("x", "y", task="mathh"), "unknown task 'mathh'. Did you mean math"),
    (lambda: wt.grade("x", "y", timeout=-1), "timeout must be a positive number"),
    (lambda: wt.grade("x", "B", task="mmlu", options="ABCD"), "options must be a list"),
])
def test_grade_bad_arguments_are_one_line_input_errors(call, needle):
    with pytest.raises(InputError) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_grade_is_thread_safe():
    pairs = [
        (r"so the answer is $\boxed{\frac{1}{2}}$", "0.5"),
        (r"the answer is $\boxed{2\sqrt{2}}$", r"\sqrt{8}"),  # symbolic: a bounded worker process
        (r"the answer is $\boxed{\sqrt{2}+1}$", r"\frac{1}{\sqrt{2}-1}"),
        (r"the answer is $\boxed{x^2-1}$", "(x-1)(x+1)"),
        (r"the answer is $\boxed{x^2+1}$", "(x-1)(x+1)"),
        ("the answer is 999999", "1000000"),
        (r"$\boxed{5\text{ km}}$", "5 m"),
        ("no idea", "3"),
        (r"the answer is $\boxed{(1, 2)}$", "(1,2)"),
        (r"the answer is $\boxed{\pi}$", r"\frac{355}{113}"),
    ] * 6
    sequential = [wt.grade(r, g) for r, g in pairs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        concurrent = list(pool.map(lambda p: wt.grade(*p), pairs))
    assert concurrent == sequential
    assert [r.correct for r in sequential[:10]] == [True, True, True, True, False, False, None, False, True, False]


# -- wt.load -------------------------------------------------------------------------------------
def _graded_rows() -> list[dict]:
    return [
        {"problem": "What is 2 + 3?", "answer": "5",
         "samples": ["2 + 3 = 5, so the answer is $\\boxed{5}$.", "The answer is $\\boxed{6}$.", "I cannot say."]},
        {"problem": "What is half of 1?", "answer": "\\frac{1}{2}",
         "samples": ["The answer is $\\boxed{0.5}$", None, "so the answer is $\\boxed{\\frac{2}{4}}$"]},
    ]


def test_load_jsonl_file_and_max_rows():
    run = wt.load(TOY)
    assert isinstance(run, wt.Run) and len(run) == 20 and run.dataset.column_names == ["problem", "answer"]
    head = wt.load(str(TOY), max_rows=3)
    assert head.dataset["answer"] == ["5", "8", "8"] and len(run) == 20


def test_load_folder_and_dataset_and_rows(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(_graded_rows())
    ds.save_to_disk(str(tmp_path / "in.hf"))
    from_folder = wt.load(tmp_path / "in.hf")
    assert from_folder.dataset.to_list() == ds.to_list()
    from_dataset = wt.load(ds, max_rows=1)
    assert from_dataset.dataset["answer"] == ["5"] and len(ds) == 2
    assert wt.load(_graded_rows()).dataset.to_list() == ds.to_list()
    assert wt.load(datasets.DatasetDict({"test": ds})).dataset.to_list() == ds.to_list()


def test_load_benchmark_by_name(tmp_path, monkeypatch):
    _math_mirror(tmp_path, monkeypatch)
    run = wt.load("math", max_rows=3)
    assert len(run) == 3 and run.dataset["answer"] == ["0", "2", "4"]
    assert {"id", "instruction", "answer", "problem"} <= set(run.dataset.column_names)


@pytest.mark.parametrize("call, needle", [
    (lambda: wt.load("mathh"), "unknown dataset 'mathh'. Did you mean math"),
    (lambda: wt.load("missing/file.jsonl"), "does not exist"),
    (lambda: wt.load(TOY, max_row=3), "unknown option 'max_row'. Did you mean max_rows"),
    (lambda: wt.load(TOY, max_rows=0), "max_rows must be a positive integer"),
    (lambda: wt.load(TOY, subjects="algebra"), "subjects applies to the named benchmarks"),
    (lambda: wt.load(42), "cannot load a int"),
])
def test_load_errors(call, needle):
    with pytest.raises(InputError, match=None) as info:
        call()
    assert needle in str(info.value)


def _math_mirror(tmp_path: Path, monkeypatch) -> None:
    """MATH-500 in the hub's own schema, read through WEAVER_HUB_MIRROR (as the stage-1 tests do)."""
    root = tmp_path / "hub"
    folder = root / "HuggingFaceH4" / "MATH-500"
    folder.mkdir(parents=True)
    rows = [{"problem": f"What is {i} + {i}?", "solution": f"$\\boxed{{{2 * i}}}$", "answer": str(2 * i),
             "subject": "Prealgebra", "level": 1, "unique_id": f"test/prealgebra/{i}.json"} for i in range(5)]
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setenv("WEAVER_HUB_MIRROR", str(root))


# -- stages --------------------------------------------------------------------------------------
def test_grade_stage_returns_a_new_run(own_tempdir):
    run = wt.load(_graded_rows())
    before = run.dataset.to_list()
    graded = run.grade(no_llm=True)
    assert graded is not run and run.dataset.to_list() == before  # the old Run is untouched
    assert graded.stages == ("grade",) and graded.manifest["stage"] == "evaluation"
    ds = graded.dataset
    assert ds["answer_correct"] == [[True, False, False], [True, None, True]]
    assert ds["grade_status"][0] == ["ok", "ok", "no_answer"]
    assert ds["extracted_answers"][0][:2] == ["5", "6"]
    assert graded.report.counts["samples"] == 6
    assert len(_workdirs(own_tempdir)) == 1  # the input copy is gone; only the new Run's folder is left


def test_failed_stage_propagates_the_input_error_and_leaves_nothing(own_tempdir):
    run = wt.load(TOY)  # no samples yet
    with pytest.raises(InputError, match="has no `samples` column") as info:
        run.grade(no_llm=True)
    assert "\n" not in str(info.value)
    assert _workdirs(own_tempdir) == []


def test_multiple_choice_needs_a_dataset_type():
    run = wt.load([{"question": "Q?", "options": ["a", "b"], "answer": "A", "samples": ["The answer is A"]}])
    with pytest.raises(InputError, match="dataset_type='gpqa'"):
        run.grade(no_llm=True)
    assert run.grade(dataset_type="mmlu", no_llm=True).dataset["answer_correct"] == [[True]]


@pytest.fixture(scope="module")
def scored_rows():
    return make_rows(40, 8, seed=0, missing=0.05)


def test_select_returns_a_new_run_with_weaver_scores(scored_rows):
    run = wt.load(scored_rows)
    poison = run.dataset["weaver_scores"]
    best = run.select("weak_supervision", data_cfg__random_seed=1, shuffle_samples=False)
    assert best is not run and run.dataset["weaver_scores"] == poison  # input untouched
    ds = best.dataset
    assert len(ds) == 40 and {"weaver_scores", "weaver_split"} <= set(ds.column_names)
    assert [len(s) for s in ds["weaver_scores"]] == [len(s) for s in ds["samples"]]
    assert all(0.0 <= x <= 1.0 for row in ds["weaver_scores"] for x in row if x is not None)
    select_at_1 = best.results["methods"]["weak_supervision"]["test"]["select_at_1"]
    assert isinstance(select_at_1, float) and 0.0 <= select_at_1 <= 1.0
    assert best.results["config"]["data_cfg"]["random_seed"] == 1
    assert best.results["config"]["data_cfg"]["shuffle_samples"] is False
    assert best.stages == ("select",)


def test_select_keeps_results_where_asked(scored_rows, tmp_path):
    best = wt.load(scored_rows).select(**{"data_cfg.train_split": 1.0}, output_dir=tmp_path / "sel", plot=False)
    on_disk = json.loads((tmp_path / "sel" / "results.json").read_text())
    assert on_disk["split"]["evaluated_on_training_set"] is True and best.results["split"]["train_problems"] == 40


@pytest.mark.parametrize("overrides, needle", [
    ({"trian_split": 0.5}, "unknown option 'trian_split'. Did you mean train_split"),
    ({"seed": 1}, "'seed' is ambiguous"),
    ({"dataset_path": "x.hf"}, "'data_cfg.dataset_path' is set by the Run"),
    ({"data_cfg__train_split": 2.0}, "train_split=2.0 must be in (0, 1]"),
])
def test_select_option_errors(scored_rows, overrides, needle):
    with pytest.raises(InputError) as info:
        wt.load(scored_rows, max_rows=10).select(**overrides)
    assert needle in str(info.value)


def test_score_with_a_fake_reward_model(tmp_path, monkeypatch):
    from test_runner_helpers import make_dataset, make_seq_cls_folder

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rm = make_seq_cls_folder(tmp_path / "rm_a")
    run = wt.load(make_dataset(tmp_path / "in.hf", rows=4, samples=2))
    scored = run.score(reward_models=[rm], scorer_factory="test_runner_helpers:fake_load_scorer", progress=False)
    assert "rm_a_scores" in scored.dataset.column_names and "rm_a_scores" not in run.dataset.column_names
    first = scored.dataset["rm_a_scores"][0]
    assert first[0] == pytest.approx(len(run.dataset["samples"][0][0]) / 10)
    assert scored.manifest["stage"] == "score"


@pytest.mark.parametrize("call, needle", [
    (lambda run: run.generate(temprature=0.5), "generate(): unknown option 'temprature'. Did you mean temperature"),
    (lambda run: run.generate(k="2"), "option samples_per_instruction must be an integer"),
    (lambda run: run.generate(output_path="x.hf"), "'output_path' is set by the Run"),
    (lambda run: run.grade(no_lm=True), "grade(): unknown option 'no_lm'. Did you mean no_llm"),
    (lambda run: run.score(reward_models=["A"], batchsize=2), "score(): unknown option 'batchsize'. Did you mean "
                                                              "batch_size"),
    (lambda run: run.generate(k=0), "--samples_per_instruction must be at least 1"),
])
def test_unknown_or_bad_keywords_are_input_errors(call, needle, own_tempdir):
    run = wt.load(TOY, max_rows=2)
    with pytest.raises(InputError) as info:
        call(run)
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert _workdirs(own_tempdir) == []


# -- saving and lifetime ---------------------------------------------------------------------------
def test_save_round_trip_with_manifest(tmp_path):
    graded = wt.load(_graded_rows()).grade(no_llm=True)
    out = graded.save(tmp_path / "saved.hf")
    manifest = json.loads((out / "toolkit_manifest.json").read_text())
    assert manifest["stage"] == "python_api" and manifest["config"]["stages"] == ["grade"]
    assert [m["stage"] for m in manifest["history"]] == ["evaluation"]
    again = wt.load(out)
    assert again.dataset.to_list() == graded.dataset.to_list()
    with pytest.raises(InputError, match="input"):
        again.save(out)  # never over its own input
    graded.close()
    assert again.dataset.to_list()[0]["answer_correct"] == [True, False, False]  # the copy outlives the Run


def test_run_folder_goes_with_the_run(own_tempdir):
    graded = wt.load(_graded_rows()).grade(no_llm=True)
    (folder,) = _workdirs(own_tempdir)
    ds = graded.dataset
    del graded
    gc.collect()
    assert folder.exists() and ds["answer_correct"][0] == [True, False, False]  # the dataset keeps it alive
    del ds
    gc.collect()
    assert not folder.exists()
    closed = wt.load(_graded_rows()).grade(no_llm=True)
    closed.close()
    assert _workdirs(own_tempdir) == [] and closed.closed
    with pytest.raises(InputError, match="closed"):
        closed.dataset


# -- the embedded default model, end to end ------------------------------------------------------------
def test_load_generate_grade_with_the_embedded_model(tmp_path, monkeypatch):
    """load a benchmark -> generate (SmolLM2 via llama.cpp, started and stopped by stage 1) -> grade."""
    _math_mirror(tmp_path, monkeypatch)
    run = wt.load("math", max_rows=3)
    generated = run.generate(k=2, max_rows=2, max_new_tokens=48)
    assert generated.report.failures == []
    assert generated.manifest["config"]["model"] == "smollm2"
    assert generated.dataset["answer"] == ["0", "2"] and len(run) == 3
    assert all(len(s) == 2 and all(isinstance(t, str) and t for t in s) for s in generated.dataset["samples"])
    graded = generated.grade(no_llm=True)  # dataset_type math: the benchmark's
    assert graded.manifest["config"]["dataset_type"] == "math"
    assert graded.stages == ("generate", "grade")
    for verdicts, status in zip(graded.dataset["answer_correct"], graded.dataset["grade_status"]):
        assert len(verdicts) == 2 and all(v in (True, False, None) for v in verdicts)
        assert set(status) <= {"ok", "no_answer", "undecided", "timeout", "parse_error", "missing_sample"}
    assert "samples" not in run.dataset.column_names
