"""Stage 2 resumes after an interruption: finished rows come from the journal, only the rest is graded."""
from __future__ import annotations

import pytest

from generation.evaluation import EvaluationConfig, evaluate
from toolkit.errors import InputError
from verifiers.grading import transform as transform_module

ROWS = [{"id": i, "instruction": f"q{i}", "options": ["w", "x", "y", "z"], "answer": "ABCD"[i % 4],
         "samples": [f"The answer is ({'ABCD'[i % 4]}).", "Answer: B", "hmm"]} for i in range(6)]


@pytest.fixture
def src(tmp_path):
    import datasets as hf

    path = tmp_path / "in.hf"
    hf.Dataset.from_list(ROWS).save_to_disk(str(path))
    return path


def _config(src, out, **kw):
    return EvaluationConfig(input_path=str(src), output_path=str(out), dataset_type="mmlu", no_llm=True,
                            chunk_rows=1, **kw)


def test_interrupted_run_resumes_without_regrading(src, tmp_path, monkeypatch):
    out = tmp_path / "out.hf"
    real = transform_module.GradeTransform.rule_pass
    seen: list[int] = []

    def flaky(self, table):
        ids = table.column("id").to_pylist()
        if ids[0] == 3:
            raise KeyboardInterrupt
        seen.extend(ids)
        return real(self, table)

    monkeypatch.setattr(transform_module.GradeTransform, "rule_pass", flaky)
    with pytest.raises(KeyboardInterrupt):
        evaluate(_config(src, out))
    assert not out.exists()  # nothing half-written at the output path
    journal = (tmp_path / "out.hf.progress" / "graded.jsonl").read_text().splitlines()
    assert 1 <= len(journal) <= 3

    first_seen = list(seen)
    seen.clear()
    monkeypatch.setattr(transform_module.GradeTransform, "rule_pass", lambda self, t: (seen.extend(
        t.column("id").to_pylist()), real(self, t))[1])
    report = evaluate(_config(src, out))
    assert report.resumed == len(journal)
    assert sorted(seen) == [i for i in range(6) if i not in first_seen[: len(journal)]]
    rows = {r["id"]: r for r in report.dataset}
    assert len(rows) == 6 and all(r["answer_correct"][0] is True for r in rows.values())

    fresh = evaluate(_config(src, tmp_path / "fresh.hf")).dataset
    assert fresh["answer_correct"] == report.dataset["answer_correct"]


def test_rerun_with_other_settings_is_refused(src, tmp_path):
    out = tmp_path / "out.hf"
    evaluate(_config(src, out))
    with pytest.raises(InputError, match="other settings"):
        evaluate(_config(src, out, max_samples=1))


def test_in_place_refused_by_library(src):
    with pytest.raises(InputError, match="in place"):
        evaluate(_config(src, src))
