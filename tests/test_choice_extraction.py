"""extract_choice: a table of the forms models write, adversarial cases, and the MMLU-Pro style."""
from __future__ import annotations

import pytest

from verifiers.grading.extract_choice import extract_choice

OPTS4 = ["Paris", "London", "Berlin", "Madrid"]

COMMITTED = [
    # (response, n_options, expected)
    ("Some reasoning.\nThe answer is (B).", 4, "B"),
    ("Some reasoning.\nThe answer is B.", 4, "B"),
    ("Some reasoning.\nThe answer is: (b)", 4, "B"),
    ("Answer: B", 4, "B"),  # the reference's regex picked "A" (from "Answer") here
    ("Reasoning...\nAnswer: C", 4, "C"),
    ("**Answer:** D", 4, "D"),
    ("**Final Answer: B**", 4, "B"),
    ("Final answer:\n\n**C) Berlin**", 4, "C"),
    ("The correct answer is option C.", 4, "C"),
    ("The correct option is d", 4, "D"),
    ("Option B is correct.", 4, "B"),
    ("So the best answer is [A].", 4, "A"),
    ("Thus the answer is A.", 4, "A"),
    ("The answer is A because the others are wrong.", 4, "A"),
    ("The answer is: A", 4, "A"),
    ("Hence $\\boxed{C}$.", 4, "C"),
    ("Hence \\boxed{\\text{D}}", 4, "D"),
    ("I think it is tricky.\nB", 4, "B"),
    ("Reasoning here.\n(C)", 4, "C"),
    ("Reasoning here.\n**D**", 4, "D"),
    ("Reasoning here.\nB)", 4, "B"),
    ("Reasoning here.\nC. Berlin", 4, "C"),
    ("The answer is Paris.", 4, "A"),
    ("The answer is: Madrid", 4, "D"),
    ("answer is c", 4, "C"),
    ("The answer is (A)... wait, that is wrong. The answer is (C).", 4, "C"),
    ("The answer is (J).", 10, "J"),
    ("The answer is: **(I)**", 10, "I"),
    ("Not sure, but I choose E.", 5, "E"),
    ("It is not listed, but we can choose the closest one, which is (I).", 10, "I"),
    ("Berlin", 4, "C"),
    ("Answer: (B) London", 4, "B"),
    ("**Answer: C. Berlin**", 4, "C"),
    ("The final answer is $\\boxed{B}$", 4, "B"),
    ("Correct answer: B", 4, "B"),
    ("the answer should be (D)", 4, "D"),
    ("Therefore, option (B) is the correct answer.", 4, "B"),
    ("B is the correct answer.", 4, "B"),
    ("(A) is incorrect. (B) is correct. Hence D is the right answer.", 4, "D"),
    ("print(answer); answer: D", 4, "D"),
    ("Answer:\n\nC", 4, "C"),
    ("The answer is Paris, which is not in Germany.", 4, "A"),  # a description, not a rejection
    ("The closest answer is Paris, but that is not listed. The answer is (C).", 4, "C"),
    # forms from the MMLU-Pro audit (bench/mmlu_pro_audit.json)
    ("The answer is (F) and (E). The answer is (I).", 10, "I"),  # a hedge, then one letter
    ("The closest answer is A1's share: $3,800. The answer is (E).", 10, "E"),  # "A1" is no letter
    ("The answer is not among the choices, but the closest is (C).", 10, "C"),
]

NO_COMMITMENT = [
    ("I think a capital is a city. A city is big.", 4),  # articles and the pronoun "I"
    ("Let me think. I am not sure about A or B.", 4),
    ("The answer is a bit harder than it looks, I think.", 4),
    ("The answer is not among the options.", 4),
    ("The answer is (None of the above).", 10),
    ("The answer is (B) or (F).", 10),  # two letters: no single answer
    ("The answer is A, C and D.", 4),
    ("The answer is (A, B, E).", 10),
    ("The correct answer is Elizabeth F. Loftus. However, the correct answer is not listed.", 10),
    ("The answer is (E).", 4),  # outside A-D
    ("", 4),
    ("   \n ", 4),
    ("We compute the value of C-14 decay. The answer is C-14 dating.", 4),
    ("The options are:\nA) Paris\nB) London\nC) Berlin\nD) Madrid", 4),
    ("Answer: Let's think step by step.", 10),
    ("answer is Avogadro's number", 4),
    ("The vitamin B12 is important. Energy is in E = mc^2.", 10),
    ("\\boxed{}", 4),
    ("answer: I think it's C", 4),  # the pronoun "I" is not option I, and "it's C" is no commitment
    ("def f(x): return 'A' if x else 'B'  # answer = eval('A')", 4),  # code-like text
    ("The answer is $1$.", 4),
    ("(A) is incorrect. (B) is correct. (D) is correct.", 4),  # evaluating options is not choosing
    # the response rules out the value it names (a truncated "closest answer" loop ends like this)
    ("The closest answer is London, but this is not among the choices. The closest answer is Berlin, "
     "but this is not among the choices", 4),
]


@pytest.mark.parametrize("text,n,expected", COMMITTED)
def test_committed_forms(text, n, expected):
    assert extract_choice(text, n, OPTS4 if n == 4 else None) == expected


@pytest.mark.parametrize("text,n", NO_COMMITMENT)
def test_no_commitment_gives_none(text, n):
    assert extract_choice(text, n, OPTS4 if n == 4 else None) is None


def test_option_text_needs_options_and_is_unique():
    assert extract_choice("The answer is Paris.", 4) is None
    assert extract_choice("The answer is 42.", 4, ["42", "42", "7", "8"]) is None  # duplicate options


def test_letter_range_comes_from_options():
    assert extract_choice("The answer is (G).", 10) == "G"
    assert extract_choice("The answer is (G).", 4) is None


def test_mmlu_pro_style_continuation():
    text = (" We refer to Wikipedia articles on psychology for help. Level 4 is the level of confusion. "
            "The answer is (E).\n\n")
    assert extract_choice(text, 10) == "E"


def test_pathological_inputs_are_fast():
    texts = ["answer " * 20000, "(" * 50000, "The answer is " + "A" * 50000, "a" * 100000 + "\nB"]
    outs = [extract_choice(t, 10) for t in texts]  # linear patterns: no catastrophic backtracking
    assert outs[-1] == "B"


def test_none_input():
    assert extract_choice(None, 4) is None
