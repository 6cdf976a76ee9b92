"""Equivalence tables: (gold, prediction, expected) grouped by phenomenon."""
import pytest

from verifiers.grading import answers_equivalent

NUMERIC = [
    ("0.5", "\\frac{1}{2}", True),
    ("\\frac{1}{2}", "\\dfrac12", True),
    ("10000", "10{,}000", True),
    ("10000", "10,000", True),
    ("7425000", "7,425,000", True),
    ("1000", "1 000", True),
    ("-5", "\u22125", True),
    ("3", "3.0", True),
    ("\\frac{600}{7}", "85.71", False),  # a short decimal is not the exact value (Math-Verify agrees)
    ("\\frac{1}{3}", "0.333333", True),  # a written decimal to 6 places: Math-Verify's float_rounding
    ("\\frac{1}{3}", "0.3", False),  # one place is not a rounding we accept
    ("2.5", "2.6", False),
    ("2 \\times 10^{-10}", "2 \\times 10^{-11}", False),
    ("\\sqrt{2}/2", "\\frac{1}{\\sqrt{2}}", True),
    ("1.5", "\\frac32", True),
]
UNITS = [
    ("28\\%", "28", True),
    ("28\\%", "0.28", True),
    ("18", "\\$18", True),
    ("18", "18 dollars", True),
    ("45", "45^\\circ", True),
    ("\\frac{\\pi}{6}", "30^\\circ", True),
    ("15", "15\\text{ cm}^2", True),
    ("5", "5.", True),
    ("\\text{E}", "E", True),
]
SYMBOLIC = [
    ("x^2+2x+1", "(x+1)^2", True),
    ("\\frac{9a+11}{20}", "\\frac{11+9a}{20}", True),
    ("x^2+2x+1", "(x+1)^3", False),
    ("\\frac{d !}{2 k(d-k) !}", "\\dfrac{\\dbinom{d}{k} (k - 1)!}{2}", True),
    ("\\sin^2 x + \\cos^2 x", "1", True),
    ("-x + \\frac{4}{\\sqrt{5}} \\arctan(\\tan x)", "-x + \\frac{4}{\\sqrt{5}} \\tan^{-1}(\\tan x)", True),
    ("2\\sqrt{2}", "\\sqrt{8}", True),
    ("4", "4\\sqrt{2}", False),
    ("1112112_3", "1121", True),
]
EQUATIONS = [
    ("x=5", "5", True),
    ("5", "x=5", True),
    ("k=n+1", "n+1", True),
    ("f(x)=2x", "f(z)=2z", True),
    ("f(x)=2x", "f(x)=x", False),
    ("2x+4y-3=0", "y=-\\frac{1}{2}x+\\frac{3}{4}", True),
    ("7 = 11a+c", "11a+c", False),
    ("y + 1 = -(2x-1)^2", "-4x^2+4x-2", True),
    ("x = 11", "x = 5+5+1 = 11", True),
    ("\\frac{1+\\sqrt{97}}{8} \\approx 1.36", "\\frac{1+\\sqrt{97}}{8}", True),
    ("x \\le 5", "5 \\ge x", True),
    ("x < 1", "-x > -1", True),
    ("x < 1", "x > -1", False),
]
TUPLES_SETS = [
    ("(1,2)", "(1, 2)", True),
    ("(1,2)", "(2,1)", False),
    ("1, 2", "2, 1", True),
    ("(0,2),(0,-2)", "(0,-2),(0,2)", True),
    ("\\{1,2,3\\}", "3,2,1", True),
    ("3 \\pm 2\\sqrt{2}", "3+2\\sqrt{2}, 3-2\\sqrt{2}", True),
    ("3 \\pm 2\\sqrt{2}", "3+2\\sqrt{2}", False),
    ("\\{1,3\\}", "(3,1)", False),
    ("p=5,q=2;p=7,q=2", "(5,2),(7,2)", True),
    ("10^{3},10", "x=1000, y=10", True),
    ("-5,7", "7 \\text{ and } -5", True),
    ("7,14,18", "Paolo: 18, Qing: 14, Rayna: 7", True),
]
INTERVALS = [
    ("[0,1)", "[0,1)", True),
    ("[0,1)", "[0,1]", False),
    ("(0,9)", "[0,9)", False),
    ("x \\in [-2,7]", "[-2,7]", True),
    ("0.5 \\leq x \\leq 8", "[\\frac12, 8]", True),
    ("-4<m\\leq0", "(-4,0]", True),
    ("x > 5", "(5, \\infty)", True),
    ("(-\\infty,-2] \\cup \\{1\\}", "a \\leqslant -2 \\text{ or } a = 1", True),
    ("(-\\infty,1) \\cup (1,\\infty)", "(-\\infty,1) \\cup (2,\\infty)", False),
    ("\\{x|-1 < x < 1\\}", "(-1, 1)", True),
]
MATRICES = [
    ("\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}", "\\begin{pmatrix}1&0\\\\0&1\\end{pmatrix}", True),
    ("\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}", "\\begin{pmatrix}0&1\\\\1&0\\end{pmatrix}", False),
    ("\\begin{pmatrix} -7 \\\\ 16 \\\\ 5 \\end{pmatrix}", "(-7,16,5)", True),
    ("\\begin{pmatrix} -1/3 \\\\ 2/3 \\end{pmatrix}", "\\begin{bmatrix} -\\frac{1}{3} \\\\ \\frac{2}{3} \\end{bmatrix}", True),
    ("\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
     "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}", True),
]
TABLES = {"numeric": NUMERIC, "units": UNITS, "symbolic": SYMBOLIC, "equations": EQUATIONS,
          "tuples_sets": TUPLES_SETS, "intervals": INTERVALS, "matrices": MATRICES}


@pytest.mark.parametrize(
    "gold,pred,expected",
    [pytest.param(g, p, e, id=f"{name}:{g}|{p}") for name, rows in TABLES.items() for g, p, e in rows],
)
def test_equivalence_table(gold, pred, expected):
    assert answers_equivalent(gold, pred, timeout=10) is expected
