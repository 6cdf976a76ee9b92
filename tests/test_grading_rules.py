"""Rules added for agreement with Math-Verify's cases and for speed, as tables by phenomenon."""
import pytest

from verifiers.grading import _compare, answers_equivalent, extract_math_answer, gold_answer, grade

# Solution lists written with "or"/"and", also glued ("1orW"), and named function values.
SOLUTION_LISTS = [
    ("W(n)=1 \\text{ and } W(n)=-1", "W(x)=1orW(x)=-1", True),
    ("W(n)=1 \\text{ and } W(n)=-1", "W(x)=1 or W(x)=-1", True),
    ("W(n)=1 \\text{ and } W(n)=-1", "W(x)=1 or W(x)=2", False),
    ("x=2 \\text{ or } x=3", "3, 2", True),
    ("12\\text{ and }13", "12, 13", True),
    ("12\\text{ and }13", "12, 14", False),
]
# |x| inequalities read as sets of reals.
ABS_INEQUALITIES = [
    ("1\\leq|z|\\leq \\frac{3}{2}", "z \\in \\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]", True),
    ("1\\leq|z|\\leq \\frac{3}{2}", "z \\in [-\\frac{3}{2}, -1] \\cup [1, 2]", False),
    ("|x-1|<2", "(-1,3)", True),
    ("|x-1|<2", "-1<x<3", True),
    ("|x-1|<2", "[-1,3]", False),
]
# Text answers: normalized strings, case-insensitive when they are words (not variables).
TEXT_ANSWERS = [
    ("\\text{Monday}", "monday", True),
    ("no solution", "No solution.", True),
    ("\\text{even}", "\\text{odd}", False),
    ("e", "E", False),  # Euler's number vs a variable: not a text answer
    ("xy", "XY", False),
]
# Numbers: separators, decimal commas, percent words, units inside lists.
NUMBER_FORMS = [
    ("1,22", "1.22", True),  # decimal comma (never 3 digits after it)
    ("1,22", "1.23", False),
    ("1, 5", "1.5", False),  # with a space it is a list
    ("1,5", "15", False),
    ("14{,}916", "14 {, }916", True),
    ("28\\%", "28 pct", True),
    ("35 cm, 4", "\\{35 cm,4\\}", True),
    ("\\frac{3}{4}", "0.75", True),  # simple fraction decided in-process
    ("-\\frac{3}{4}", "-3/4", True),
    ("\\frac{1}{3}", "0.3", False),
    ("\\frac{600}{7}", "85.71", False),  # rounded to 2 places: not the exact value
]
TABLES = {"solution_lists": SOLUTION_LISTS, "abs_inequalities": ABS_INEQUALITIES, "text_answers": TEXT_ANSWERS,
          "number_forms": NUMBER_FORMS}


@pytest.mark.parametrize(
    "gold,pred,expected",
    [pytest.param(g, p, e, id=f"{name}:{g}|{p}") for name, rows in TABLES.items() for g, p, e in rows],
)
def test_rule_table(gold, pred, expected):
    assert answers_equivalent(gold, pred, timeout=10) is expected


# Gold answers with several boxes: one multi-part answer when joined by a connective or symbols only.
GOLD_FORMS = [
    ("\\boxed{1} papers and \\boxed{2} bins", "1, 2"),
    ("$\\\\boxed{35 cm} ++++++ \\\\boxed{4}$", "35 cm, 4"),
    ("\\boxed{1} no no no no no \\boxed{2}", "2"),  # unrelated words between: the last box
    ("\\\\boxed{W(n) = 1 \\\\text{ and } W(n) = -1", "W(n) = 1 \\\\text{ and } W(n) = -1"),  # never closed
    ("We get $\\boxed{3}$.\nThen more work gives $\\boxed{4}$, the answer.", "4"),  # a solution: last box
]


@pytest.mark.parametrize("gold,expected", GOLD_FORMS)
def test_gold_forms(gold, expected):
    assert gold_answer(gold) == expected


def test_gold_multibox_grades_against_a_list():
    assert grade("$\\boxed{1,2}$", "\\boxed{1} papers and \\boxed{2} bins").correct is True
    assert grade("$\\boxed{1,2}$", "\\boxed{1} no no no no no \\boxed{2}").correct is False


# Committed answers written in prose or as several math spans.
EXTRACTION = [
    ("Final Answer: Jane started growing Sphere 3 hours ago. I hope it is correct. <|im_start|>user", "3"),
    ("Final Answer: The final answer is \\\"$12 $ and $13 $\\\". I hope it is correct.", "12, 13"),
    ("The answer is $2$, $3$ or $5$.", "2, 3, 5"),
    ("We get $$x \\geq 2.$$ Therefore, the minimum error increases by 100%.", "100%"),
    ("Final Answer: The final answer is $14 {, }916$. I hope it is correct. [Note: double-check]", "14 {, }916"),
]
STILL_NO_ANSWER = [
    "the number is not 10 which is 1,000.99",  # prose that never commits: no last-number fallback
    "Soucis : 2,74 $ a..",
]


@pytest.mark.parametrize("text,expected", EXTRACTION)
def test_committed_extraction(text, expected):
    assert extract_math_answer(text) == expected


@pytest.mark.parametrize("text", STILL_NO_ANSWER)
def test_uncommitted_prose_stays_none(text):
    assert extract_math_answer(text) is None


def test_prose_answer_with_two_numbers_is_not_guessed():
    assert extract_math_answer("Final Answer: Jane waited 3 hours and 5 minutes.") != "3"


def test_fast_paths_decide_in_process(monkeypatch):
    import verifiers.grading.bounded as bounded

    def no_worker(*args, **kwargs):
        raise AssertionError("worker called for a trivially decidable pair")

    monkeypatch.setattr(bounded, "compare_bounded", no_worker)
    for gold, pred, expected in [("\\frac{1}{2}", "0.5", True), ("3", "3.0", True), ("7", "8", False),
                                 ("\\text{Yes}", "yes", True), ("x+1", "x+1", True), ("1,22", "1.22", True)]:
        assert _compare(gold, pred, 5.0)[0] is expected


@pytest.mark.parametrize("huge", ["1e99999999", "-2.5E+123456789", "9" * 5000])
def test_fast_path_refuses_huge_numbers(huge):
    # Decided by the bounded worker (or refused), never by building the integer in-process.
    assert answers_equivalent(huge, "1", timeout=5) in (False, None)


def test_timeouts_are_not_cached(monkeypatch):
    import verifiers.grading.bounded as bounded

    calls = []

    def slow(gold, pred, timeout, *args):
        calls.append(gold)
        return None, "timeout", "no answer within 1s"

    monkeypatch.setattr(bounded, "compare_bounded", slow)
    for _ in range(2):
        assert _compare("y^{17}+q", "q+y^{17}", 1.0)[1] == "timeout"
    assert len(calls) == 2  # the second call tried again instead of reusing the timeout
