"""Answer extraction: precedence, commitment, and gold solutions."""
import pytest

from verifiers.grading import extract_math_answer, gold_answer, grade

EXTRACTION = [
    ("so it is \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}"),
    ("nested \\boxed{\\frac{a^{2}}{b_{1}}} ok", "\\frac{a^{2}}{b_{1}}"),
    ("first \\boxed{1} then \\boxed{2}", "2"),  # several boxes: the last
    ("\\boxed{1}, \\boxed{2}", "1, 2"),  # side by side: one multi-part answer
    ("\\fbox{7}", "7"),
    ("The answer is: 42", "42"),
    ("Final Answer: The final answer is $5$. I hope it is correct.", "5"),
    ("**Answer:** 3.5", "3.5"),
    ("Final Answer: The volume of $ABCDEFGH$ is 120.", "120"),
    ("Reasoning...\nA: 26", "26"),
    ("Reasoning...\n#### 72", "72"),
    ("We conclude that the value is $x=3$.", "x=3"),
    ("Therefore $x \\geq 5$ is the solution.", "x \\geq 5"),
    ("= \\boxed{255} So the total. Final Answer: The final answer is $10,455$.", "10,455"),
]
NO_ANSWER = [
    "First 5 then 6 then 7 and I am not sure",
    "\\boxed{}",
    "\\boxed{1",  # unbalanced
    "",
    "   ",
    "Let me think about this problem step by step.",
]


@pytest.mark.parametrize("text,expected", EXTRACTION)
def test_extraction(text, expected):
    assert extract_math_answer(text).rstrip(".") == expected


@pytest.mark.parametrize("text", NO_ANSWER)
def test_no_commitment_gives_none(text):
    assert extract_math_answer(text) is None
    res = grade(text, "5")
    assert res.status == "no_answer" and res.correct is False


def test_gold_solution_uses_its_last_box():
    solution = "We compute $2+2=4$, and so the answer is $\\boxed{4}$.\nDone."
    assert gold_answer(solution) == "4"
    assert gold_answer("Janet sells 9 eggs.\nShe makes $18.\n#### 18") == "18"
    assert gold_answer("\\frac{1}{2}") == "\\frac{1}{2}"
    assert grade("The answer is $\\boxed{0.5}$", solution.replace("4", "1/2")).correct is True


def test_grade_result_fields():
    res = grade("so \\boxed{\\dfrac{1}{2}}", "0.5")
    assert (res.correct, res.extracted, res.status, res.gold) == (True, "\\dfrac{1}{2}", "ok", "0.5")
    wrong = grade("so \\boxed{3}", "4")
    assert wrong.correct is False and wrong.status == "ok"


def test_bare_short_answer_is_graded():
    assert grade("85.71", "\\frac{600}{7}").correct is False  # a rounded decimal is not the exact value
    assert grade("0.6", "\\frac{3}{5}").correct is True
    assert grade("so hmm maybe six", "6").status == "no_answer"
