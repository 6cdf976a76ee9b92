"""Exact equality and undecidability: what the grader proves, refutes, or leaves undecided.

Precision first: two exact values are equal only when proven equal; a written decimal meets an
exact value only at Math-Verify's 6 places (or a looser rounding the caller asks for); what cannot
be settled is None with status ``undecided``, never a guess either way.
"""
import pytest

from verifiers.grading import answers_equivalent, grade


@pytest.mark.parametrize("gold,pred", [
    ("10^{400}", "7"), ("10^{-500}", "0"), ("3^{100}+1", "3^{100}"), ("1", "\\frac{10^{20}+1}{10^{20}}"),
    ("\\frac{17}{25}", "\\frac{152}{225}"), ("1000000", "999999"), ("e", "2.718"), ("6\\sqrt{2}", "8.485"),
    ("\\pi", "\\frac{355}{113}"), ("\\sqrt{2}", "1.41421"), ("x+y=3^{100}", "x+y=3^{100}+1"),
    ("3^{100}n", "(3^{100}+1)n"), ("(\\frac{152}{225}, 1)", "(0.68, 1)"), ("20\\%", "2000"),
])
def test_near_misses_of_exact_values_are_rejected(gold, pred):
    assert answers_equivalent(gold, pred) is False


@pytest.mark.parametrize("gold,pred", [
    ("\\sqrt{5+2\\sqrt{6}}", "\\sqrt{2}+\\sqrt{3}"), ("\\sin(\\pi/12)", "\\frac{\\sqrt{6}-\\sqrt{2}}{4}"),
    ("\\frac{1}{3}", "0.333333"), ("(\\frac{1}{3}, 1)", "(0.333333, 1)"), ("(x+1)^2", "x^2+2x+1"),
    ("\\frac{d!}{2k(d-k)!}", "\\frac{\\binom{d}{k}(k-1)!}{2}"), ("2^{2^{64}}", "4^{2^{63}}"),
    ("9^{9^{9^{9}}}", "9^{9^{9^{9}}}"), ("20\\%", "0.2"), ("20\\%", "20"),
])
def test_exact_equalities_are_proven(gold, pred):
    assert answers_equivalent(gold, pred) is True


def test_decimal_tolerance_is_six_places_unless_asked():
    assert answers_equivalent("\\frac{600}{7}", "85.71") is False
    assert answers_equivalent("\\frac{600}{7}", "85.71", float_rounding=2) is True  # explicitly looser
    assert answers_equivalent("0.33", "0.333") is False  # two written decimals: exact


def test_undecidable_is_null_with_status():
    res = grade("\\boxed{100000!}", "5")
    assert res.correct is None and res.status == "undecided"
    res = grade("\\boxed{\\text{the circle of fixed radius}}", "\\text{a circle whose radius is fixed}")
    assert res.correct is None and res.status == "undecided"
    assert answers_equivalent("2^{2^{64}}", "5") is False  # a tower against a small value: by magnitude


def test_restated_equation_commits_to_no_value():
    assert grade("4 + 4 = X", "8").correct is False
    assert grade("The answer is 7 + 1 = y", "8").correct is False
    assert grade("The answer is $x = 8$", "8").correct is True


@pytest.mark.parametrize("gold,pred,expected", [
    ("\\{x | x < \\frac{3}{2}\\} - \\{-6\\}", "(-\\infty, -6) \\cup (-6, \\frac{3}{2})", True),  # set difference
    ("\\{x | x < \\frac{3}{2}\\} - \\{-6\\}", "(-\\infty, \\frac{3}{2})", False),
    ("b < a < d < c", "b, a, d, c", True),  # an ordering listed in the order written
    ("b < a < d < c", "a, b, d, c", False),
    ("b < a < d < c", "c, d, a, b", None),  # listed backwards: ambiguous
    ("\\text{only }x=0", "0", True),
    ("x = k\\pi", "n\\pi", True),  # an integer parameter named differently
    ("x = k\\pi", "x = 2n\\pi", False),
    ("x^2 + 1", "t^2 + 1", False),  # a variable is not a parameter unless declared
    ("5", "x + 3 = 8", False),  # an unsolved equation commits to no value
    ("2x - 1", "y + 1 = 2x", True),  # it defines the one variable the gold leaves out
    ("2x + 1", "2t + 1 \\text{ for some integer } t", True),
    ("x = k\\pi", "x = n\\pi, n \\in \\mathbb{Z}", True),
    ("k", "n", False),  # a bare name against another name
    ("\\forall x>0, 3^{x} \\geq x^{2}", "\\forall x > 0, 3^x \\ge x^2", True),  # outside the grammar, same text
    ("7, 4", "7 goats and 4 helicopters", True), ("7, 4", "4 goats and 7 helicopters", None),
    ("7, 4", "7 goats and 5 helicopters", False),
    ("500", "five hundred", True), ("1200000", "1.2 million dollars", True), ("5", "5 hundred", False),
    ("5000", "5k", False),  # k may be a variable: not read as a thousand
])
def test_families(gold, pred, expected):
    assert answers_equivalent(gold, pred) is expected


@pytest.mark.parametrize("response,gold", [
    ("We simplify. $\\boxed{5}$", "5"),
    ("x=5.\n\\[\\boxed{5}\\]", "5"),
    ("**Final Answer**\n\\[\n\\boxed{5}\n\\]", "5"),
    ("**Final Answer:** \\boxed{5}", "5"),
    ("So the answer is $\\boxed{12}$, which is the only possible value.", "12"),
    ("So the answer is $\\boxed{12}$.\n\nA common mistake is to forget $n=0$.", "12"),
    ("$\\boxed{12}$ (not counting the trivial case)", "12"),
    ("The number of real roots is $\\boxed{4}$, not 2.", "4"),
    ("The answer is $3$, since the other two candidates are not valid.", "3"),
    ("Hence $\\boxed{4}$ is the minimum; this is also a lower bound that is achieved.", "4"),
    ("The answer is \\boxed{5}!", "5"),
    ("So the answer is $\\boxed{12}$.\n\nActually, this agrees with the brute-force count.", "12"),
])
def test_correct_responses_with_trigger_words_are_still_correct(response, gold):
    """Precision rules (denials, retractions, boxes inside expressions) must not cost ordinary answers."""
    assert grade(response, gold).correct is True
