"""Stage-2 pieces: majority-vote pseudo-labels, gold resolution, the Arrow transform's schema."""
from __future__ import annotations

import pyarrow as pa
import pytest

from verifiers.grading.labels import majority_vote
from verifiers.grading.transform import GradeTransform, choice_gold, options_from_prompt, output_schema


@pytest.mark.parametrize("answers,label,source", [
    (["B", "B", "C"], "B", "majority_vote"),
    (["B", "C"], None, "none:tie"),
    (["B", "C", None, None], None, "none:tie"),
    ([None, None], None, "none:no_answers"),
    ([], None, "none:no_answers"),
    (["A"], "A", "majority_vote"),
    (["A", None, None, None], "A", "majority_vote"),
])
def test_majority_vote_letters(answers, label, source):
    vote = majority_vote(answers)
    assert (vote.label, vote.source) == (label, source)


def test_majority_vote_groups_equivalent_answers():
    same = {frozenset({"1/2", "0.5"}), frozenset({"0.5", "1/2"})}
    eq = lambda a, b: a == b or frozenset({a, b}) in same  # noqa: E731
    vote = majority_vote(["1/2", "0.5", "3", "3"[:0] or None, "7"], eq)
    assert vote.label == "1/2" and vote.votes == 2
    assert vote.agrees == [True, True, False, None, False]


def test_majority_vote_undecidable_never_merges():
    vote = majority_vote(["x", "y", "y"], lambda a, b: None if a != b else True)
    assert vote.label == "y" and vote.agrees == [False, True, True]


@pytest.mark.parametrize("row,expected", [
    ({"answer": "B"}, "B"),
    ({"answer": "(c)"}, "C"),
    ({"answer": 3}, "D"),
    ({"answer": None, "answer_index": 1}, "B"),
    ({"answer": "", "correct_answer": "A"}, "A"),
    ({"answer": "London"}, "B"),
    ({}, None),
])
def test_choice_gold(row, expected):
    assert choice_gold(row, ["Paris", "London", "Berlin", "Madrid"], 4) == expected


@pytest.mark.parametrize("row", [{"answer": "Z"}, {"answer": 7}, {"answer": "Rome"}])
def test_choice_gold_that_names_no_option_is_an_error(row):
    with pytest.raises(ValueError):
        choice_gold(row, ["Paris", "London", "Berlin", "Madrid"], 4)


def test_options_from_prompt():
    prompt = "Question: capital?\n\nA. Paris\nB. London\nC. Berlin\n"
    assert options_from_prompt(prompt) == ["Paris", "London", "Berlin"]
    assert options_from_prompt("no options here") is None


def _mc_table(rows):
    return pa.Table.from_pylist(rows)


def test_transform_fixed_schema_and_bad_row_is_data():
    table = _mc_table([
        {"id": 1, "samples": ["The answer is (B).", None, "Answer: A"], "answer": "B",
         "options": ["p", "q", "r", "s"]},
        {"id": 2, "samples": ["The answer is (B)."], "answer": "Rome", "options": ["p", "q", "r", "s"]},
    ])
    out = GradeTransform("choice", "gpqa")(table)
    assert out.schema == output_schema()
    first, bad = out.to_pylist()
    assert first["answer_correct"] == [True, None, False]
    assert first["grade_status"] == ["ok", "missing_sample", "ok"]
    assert first["label_source"] == "dataset" and first["error"] is None
    assert bad["error"] and bad["answer_correct"] == [None] and bad["label_source"] is None


def test_transform_pseudo_labels_and_max_samples():
    table = _mc_table([
        {"id": 5, "samples": ["Answer: C", "The answer is (c)", "Answer: A", "nothing", "Answer: A"],
         "answer": None, "options": ["p", "q", "r", "s"]},
        {"id": 6, "samples": ["Answer: C", "Answer: A"], "answer": None, "options": ["p", "q", "r", "s"]},
        {"id": 7, "samples": ["hm", None], "answer": None, "options": ["p", "q", "r", "s"]},
    ])
    voted, tie, empty = GradeTransform("choice", "mmlu", max_samples=4)(table).to_pylist()
    assert voted["pseudo_label"] == "C" and voted["label_source"] == "majority_vote"
    assert voted["answer_correct"] == [True, True, False, False]  # the 5th sample is beyond max_samples
    assert tie["label_source"] == "none:tie" and tie["answer_correct"] == [None, None]
    assert empty["label_source"] == "none:no_answers" and empty["pseudo_label"] is None


def test_transform_choice_without_options_uses_dataset_type_range():
    table = _mc_table([{"id": 1, "samples": ["The answer is (H).", "The answer is (K)."], "answer": "H"}])
    out = GradeTransform("choice", "mmlu_pro")(table).to_pylist()[0]
    assert out["extracted_answers"] == ["H", None]
    assert out["answer_correct"] == [True, False]


def test_transform_is_picklable_for_workers():
    import pickle

    t = GradeTransform("choice", "gpqa", max_samples=2)
    assert pickle.loads(pickle.dumps(t)).max_samples == 2
