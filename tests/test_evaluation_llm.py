"""The LLM extractor: asked only about samples the rules cannot read, its reply re-graded by the
rules, calls cached and counted. Plumbing runs against the embedded SmolLM2 server (weak model:
we check the wiring, not its reading)."""
from __future__ import annotations

import pyarrow as pa

from generation.evaluation import EvaluationConfig, evaluate
from verifiers.grading.llm_extract import LLMExtractor, build_prompt, configured_extractor, parse_reply
from verifiers.grading.transform import GradeTransform

OPTIONS = ["Paris", "London", "Berlin", "Madrid"]
MC_ROWS = [
    {"id": 1, "instruction": "Capital of France?", "options": OPTIONS, "answer": "A",
     "samples": ["The answer is (A).", "Well, it's the city of lights, of course.", "Answer: C"]},
    {"id": 2, "instruction": "Capital of Spain?", "options": OPTIONS, "answer": None,
     "samples": ["The answer is (D).", "Answer: D", "I'd go with the Spanish one."]},
]


class FakeExtractor:
    """Records what it is asked; answers like an LLM would, in free text."""

    def __init__(self, reply):
        self.reply = reply
        self.asked = []

    def extract(self, items):
        self.asked.extend(items)
        return [self.reply for _ in items]


def test_only_unreadable_samples_are_sent_and_replies_are_regraded():
    fake = FakeExtractor("The answer is: (a)")
    out = GradeTransform("choice", "gpqa", extractor=fake)(pa.Table.from_pylist(MC_ROWS)).to_pylist()
    assert [item[2] for item in fake.asked] == [MC_ROWS[0]["samples"][1], MC_ROWS[1]["samples"][2]]
    first, second = out
    assert first["extracted_answers"] == ["A", "A", "C"] and first["answer_correct"] == [True, True, False]
    assert first["extracted_by"] == ["rules", "llm", "rules"]
    assert second["pseudo_label"] == "D" and second["answer_correct"] == [True, True, False]


def test_llm_none_or_garbage_keeps_the_rule_verdict():
    for reply in ("The answer is: NONE", "The answer is: (Q)", None):
        out = GradeTransform("choice", "gpqa", extractor=FakeExtractor(reply))(
            pa.Table.from_pylist(MC_ROWS[:1])).to_pylist()[0]
        assert out["extracted_answers"][1] is None and out["grade_status"][1] == "no_answer"
        assert out["answer_correct"][1] is False and out["extracted_by"][1] is None


def test_math_reply_goes_through_the_math_rules():
    rows = [{"id": 1, "instruction": "1/2?", "answer": "\\frac{1}{2}", "samples": ["it is one half, I believe"]}]
    out = GradeTransform("math", extractor=FakeExtractor("The answer is: 0.5"))(pa.Table.from_pylist(rows))
    row = out.to_pylist()[0]
    assert row["extracted_answers"] == ["0.5"] and row["answer_correct"] == [True]
    assert row["extracted_by"] == ["llm"]


def test_prompt_and_reply_parsing():
    prompt = build_prompt("choice", "Capital?", "x" * 10000, OPTIONS)
    assert "A. Paris" in prompt and "[...]" in prompt and len(prompt) < 8000
    assert parse_reply("The answer is: NONE") is None and parse_reply("") is None
    assert parse_reply("The answer is: B") == "The answer is: B"


def test_rules_only_without_configuration(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model, note = configured_extractor("gpt-4o-mini", None)
    assert model is None and "rules only" in note
    assert configured_extractor("gpt-4o-mini", "http://127.0.0.1:1/v1")[0] == "gpt-4o-mini"
    assert configured_extractor("gpt-4o-mini", None, no_llm=True)[0] is None


def _check_cached_and_counted(server, cache, method: str, items, check_first) -> None:
    """Two calls: each asked once, then from the cache; after a restart, from the journal on disk."""
    with LLMExtractor("smollm2", base_url=server.base_url, cache_path=cache) as ex:
        first = getattr(ex, method)(items)
        check_first(ex, first)
        assert getattr(ex, method)(items) == first and ex.stats["calls"] == 2 and ex.stats["cache_hits"] == 2
    with LLMExtractor("smollm2", base_url=server.base_url, cache_path=cache) as ex:
        assert getattr(ex, method)(items) == first and ex.stats["calls"] == 0  # the cache survives a restart


def test_smollm2_extractor_cached_and_counted(smollm2_server, tmp_path):
    items = [("choice", "Capital of France?", "Well, it's the city of lights.", OPTIONS),
             ("math", "What is 2+2?", "two plus two makes four", None)]

    def check_first(ex, first):
        assert ex.stats["calls"] == 2 and ex.stats["cache_hits"] == 0

    _check_cached_and_counted(smollm2_server, tmp_path / "cache.jsonl", "extract", items, check_first)


def test_stage_with_smollm2_extractor(smollm2_server, tmp_path):
    import datasets as hf

    src = tmp_path / "in.hf"
    hf.Dataset.from_list(MC_ROWS).save_to_disk(str(src))
    config = EvaluationConfig(input_path=str(src), output_path=str(tmp_path / "out.hf"), dataset_type="gpqa",
                              extractor_model="smollm2", base_url=smollm2_server.base_url)
    report = evaluate(config)
    assert report.llm_stats["requested"] == 2 and report.llm_stats["calls"] == 2
    rows = {r["id"]: r for r in report.dataset}
    # Rule-read samples are untouched; the others are either re-graded LLM reads or still no_answer.
    assert rows[1]["extracted_by"][0] == "rules" and rows[1]["answer_correct"][0] is True
    assert rows[1]["extracted_by"][2] == "rules" and rows[1]["answer_correct"][2] is False
    for row, j in ((rows[1], 1), (rows[2], 2)):
        if row["extracted_by"][j] == "llm":
            assert row["extracted_answers"][j] in list("ABCD")
        else:
            assert row["extracted_answers"][j] is None
    assert (tmp_path / "out.hf.progress" / "llm_cache.jsonl").exists()


# -- the LLM equivalence check: only for pairs the rules leave undecided -------------------------
TEXT_ROWS = [
    {"id": 7, "instruction": "Which shape has every point at the same distance from its centre?",
     "answer": "\\text{a circle whose radius is fixed}",
     "samples": ["The answer is $\\boxed{\\text{the circle of fixed radius}}$.",  # wording differs: undecided
                 "The answer is $\\boxed{\\text{a circle whose radius is fixed}}$.",  # same text: rules say yes
                 "So the answer is $\\boxed{7}$."]},  # rules say no
]


class FakeJudge(FakeExtractor):
    def __init__(self, verdict):
        super().__init__(None)
        self.verdict = verdict
        self.pairs = []

    def equivalent(self, items):
        self.pairs.extend(items)
        return [self.verdict for _ in items]


def test_rules_leave_worded_text_undecided_and_only_those_reach_the_llm():
    rules_only = GradeTransform("math")(pa.Table.from_pylist(TEXT_ROWS)).to_pylist()[0]
    assert rules_only["grade_status"] == ["undecided", "ok", "ok"]
    assert rules_only["answer_correct"] == [None, True, False]
    judge = FakeJudge(True)
    row = GradeTransform("math", extractor=judge)(pa.Table.from_pylist(TEXT_ROWS)).to_pylist()[0]
    assert judge.pairs == [(TEXT_ROWS[0]["instruction"], "\\text{a circle whose radius is fixed}",
                            "\\text{the circle of fixed radius}")]
    assert row["answer_correct"] == [True, True, False]
    assert row["grade_status"] == ["llm_decided", "ok", "ok"] and row["extracted_by"][0] == "rules"


def test_no_llm_verdict_leaves_the_pair_undecided():
    row = GradeTransform("math", extractor=FakeJudge(None))(pa.Table.from_pylist(TEXT_ROWS)).to_pylist()[0]
    assert row["answer_correct"][0] is None and row["grade_status"][0] == "undecided"


def test_equivalence_reply_parsing_is_strict():
    from verifiers.grading.llm_extract import build_equivalence_prompt, parse_equivalence

    assert parse_equivalence("Equivalent: yes") is True and parse_equivalence("**Equivalent: No**") is False
    assert parse_equivalence("yes") is True and parse_equivalence("Equivalent: maybe") is None
    assert parse_equivalence("I think they are equal") is None and parse_equivalence(None) is None
    prompt = build_equivalence_prompt("Q?", "odd", "the function is odd")
    assert "### Reference answer\nodd" in prompt and "### Answer to check\nthe function is odd" in prompt


def test_smollm2_equivalence_check_cached_and_counted(smollm2_server, tmp_path):
    items = [("Parity of f?", "\\text{odd}", "\\text{the function is odd}"),
             ("Who wins?", "\\text{Petya wins}", "\\text{Vasya}")]

    def check_first(ex, first):
        assert all(v in (True, False, None) for v in first)
        assert ex.stats["calls"] == 2 and ex.stats["equivalence_asked"] == 2

    _check_cached_and_counted(smollm2_server, tmp_path / "cache.jsonl", "equivalent", items, check_first)


def test_stage_sends_undecided_pairs_to_smollm2(smollm2_server, tmp_path):
    import datasets as hf

    src = tmp_path / "in.hf"
    hf.Dataset.from_list(TEXT_ROWS).save_to_disk(str(src))
    config = EvaluationConfig(input_path=str(src), output_path=str(tmp_path / "out.hf"), dataset_type="math",
                              extractor_model="smollm2", base_url=smollm2_server.base_url)
    report = evaluate(config)
    assert report.llm_stats["equivalence_asked"] == 1
    row = report.dataset[0]
    assert row["grade_status"][1:] == ["ok", "ok"] and row["answer_correct"][1:] == [True, False]
    if row["grade_status"][0] == "llm_decided":  # a weak model may not answer in the strict format
        assert row["answer_correct"][0] in (True, False)
    else:
        assert row["grade_status"][0] == "undecided" and row["answer_correct"][0] is None


def test_string_samples_are_a_row_error_not_graded_by_character():
    row = GradeTransform("math")(pa.Table.from_pylist([{"id": 3, "answer": "2", "samples": "22"}])).to_pylist()[0]
    assert row["answer_correct"] == [] and "must hold a list of strings" in row["error"]
