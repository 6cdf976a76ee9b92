"""LM judge contract without a model: strict verdict parsing, P(True), V independent requests."""
from __future__ import annotations

import math

import pytest

from generation.backends.base import Completion
from verifiers.judges import JudgeSettings, LMJudge, judge_messages, parse_verdict, prob_true, read_completion

# (judge output, expected value) grouped by phenomenon; None means "no verdict" (null + reason).
VERDICTS = [
    # plain words, any case, surrounding blank lines
    ("True", 1.0), ("False", 0.0), ("true", 1.0), ("FALSE", 0.0), ("\n  True  \n\n", 1.0),
    # punctuation and markdown around the word
    ("True.", 1.0), ("False!", 0.0), ("**True**", 1.0), ("`False`", 0.0), ("*True*.", 1.0),
    ("> **False**", 0.0), ("### True", 1.0), ("__False__", 0.0), ("(True)", 1.0),
    # a label in front, or boxed
    ("Verdict: True", 1.0), ("**Final verdict:** False", 0.0), ("Answer: true", 1.0), ("\\boxed{True}", 1.0),
    # critique mode: reasoning first, verdict on the last line
    ("The algebra in step 2 is wrong, so 7 is incorrect.\nFalse", 0.0),
    ("Step 1 is fine.\nStep 2 is fine.\n\n**True**", 1.0),
    ("The answer is false at first glance but...\nTrue", 1.0),
    # not a verdict: never True
    ("untrue", None), ("Untrue.", None), ("Yes", None), ("Yes, the answer is correct.", None),
    ("No", None), ("True or False", None), ("It is True", None), ("Correct", None),
    ("True\nActually, wait, the answer is wrong.", None), ("", None), ("   \n\n", None), ("False positive", None),
    ("Truee", None), ("TrueFalse", None),
]


@pytest.mark.parametrize("text,expected", VERDICTS)
def test_parse_verdict_table(text, expected):
    value, reason = parse_verdict(text)
    assert value == expected
    assert (reason is None) == (expected is not None)


def test_parse_verdict_none_output():
    assert parse_verdict(None) == (None, "no judge output")


def test_reason_names_the_line():
    value, reason = parse_verdict("Reasoning...\nYes, it is right")
    assert value is None and "Yes, it is right" in reason


def _lp(p: float) -> float:
    return math.log(p)


def test_prob_true_softmax_at_verdict_token():
    steps = [{"Step": _lp(0.9), "The": _lp(0.1)},
             {"True": _lp(0.6), "False": _lp(0.3), "Maybe": _lp(0.1)},
             {"<|im_end|>": _lp(0.99)}]
    assert prob_true(steps, 1.0) == pytest.approx(0.6 / 0.9)


def test_prob_true_pools_token_variants_and_handles_one_side():
    steps = [{" True": _lp(0.5), "True": _lp(0.2), " False": _lp(0.1), "FALSE": _lp(0.1)}]
    assert prob_true(steps, 1.0) == pytest.approx(0.7 / 0.9)
    assert prob_true([{"False": _lp(0.8), "No": _lp(0.2)}], 0.0) == 0.0
    assert prob_true([{"True": _lp(0.8), "No": _lp(0.2)}], 1.0) == 1.0


def test_prob_true_uses_last_verdict_position():
    # critique mentions "true" early; the verdict line at the end decides
    steps = [{"true": _lp(0.9), "false": _lp(0.1)}, {"\n": _lp(0.99)},
             {"False": _lp(0.7), "True": _lp(0.2)}]
    assert prob_true(steps, 0.0) == pytest.approx(0.2 / 0.9)


def test_prob_true_unreadable_is_none():
    assert prob_true(None, 1.0) is None
    assert prob_true([{"hello": -0.1}], 1.0) is None
    assert prob_true([{"True": -0.1}], None) is None  # no parsed verdict -> no value at all


def test_read_completion_prefers_logprobs_and_keeps_nulls():
    ok = Completion(text="True", top_logprobs=[{"True": _lp(0.75), "False": _lp(0.25)}])
    assert read_completion(ok) == (pytest.approx(0.75), None)
    assert read_completion(Completion(text="False")) == (0.0, None)
    value, reason = read_completion(Completion(text="untrue", top_logprobs=[{"untrue": -0.1}]))
    assert value is None and "untrue" in reason
    value, reason = read_completion(Completion(text=None, error="HTTP 500"))
    assert value is None and "HTTP 500" in reason


def test_messages_end_in_a_user_turn_so_the_generation_prompt_is_added():
    msgs = judge_messages("What is 2+2?", "It is 4.", critique=False)
    assert msgs[-1]["role"] == "user" and "What is 2+2?" in msgs[-1]["content"] and "It is 4." in msgs[-1]["content"]
    assert "True" in msgs[-1]["content"] and "False" in msgs[-1]["content"]
    assert "critique" in judge_messages("p", "r", critique=True)[-1]["content"]


class RecordingClient:
    """Answers each request from a script and records what was asked."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.requests = []

    def generate(self, requests):
        self.requests.extend(requests)
        return [[Completion(text=self.answers.pop(0))] for _ in requests]


def test_verdicts_per_sample_sends_v_independent_requests():
    client = RecordingClient(["True", "False", "untrue", "True", "Yes", "False"])
    judge = LMJudge(client, JudgeSettings(verdicts_per_sample=3, seed=10))
    out = judge.judge(["p1", "p2"], ["r1", "r2"])
    assert len(client.requests) == 6
    assert all(r.n == 1 for r in client.requests)
    assert [r.params.seed for r in client.requests] == [10, 11, 12, 10, 11, 12]
    assert all(r.params.temperature > 0 for r in client.requests)  # several verdicts must be able to differ
    assert out[0].verdicts == [1.0, 0.0, None] and out[1].verdicts == [1.0, None, 0.0]
    assert out[0].error.startswith("verdict 2:") and "untrue" in out[0].error


def test_single_verdict_defaults_are_greedy_and_short():
    s = JudgeSettings()
    assert s.resolved_temperature() == 0.0 and s.resolved_max_tokens() == 16
    assert JudgeSettings(critique=True).resolved_max_tokens() == 512
    assert JudgeSettings(temperature=0.3, verdicts_per_sample=4).resolved_temperature() == 0.3
