"""Values too large to build (powers beyond MAX_RESULT_DIGITS digits), compared by their structure."""
from __future__ import annotations

import sympy as sp

from . import exact
from .exact import Undecided
from .latex_parse import parse_answer
from .latex_tokens import MAX_RESULT_DIGITS, Tower, lazy_towers


def _huge(gold: str, pred: str, why: str) -> tuple[bool | None, str]:
    """Values too large to build: powers compared by their exact structure, else undecided.

    b^x is rewritten r^(k*x) with r the smallest integer root of b (4 -> 2^2); two such
    powers are equal exactly when the roots and the exponents are. Against a value that was
    built (at most MAX_RESULT_DIGITS digits) a tower differs by its sheer magnitude.
    """
    try:
        with lazy_towers():
            g, p = parse_answer(gold), parse_answer(pred)
    except (ValueError, RecursionError):
        return None, f"undecided: {why}"
    try:
        verdict = _tower_equal(g, p)
    except (Undecided, TypeError, ValueError, OverflowError, RecursionError):
        verdict = None
    if verdict is None:
        return None, f"undecided: {why}"
    return verdict, "compared as powers too large to build"


def _root_form(base: int) -> tuple[int, int]:
    """(r, k) with base = r**k and r as small as possible."""
    for k in range(base.bit_length(), 1, -1):
        r, is_exact = sp.integer_nthroot(base, k)
        if is_exact and r > 1:
            return int(r), k
    return base, 1


def _tower_equal(a, b) -> bool | None:
    if isinstance(a, Tower) and isinstance(b, Tower):
        (ra, ka), (rb, kb) = _root_form(a.base), _root_form(b.base)
        sa, sb = _sign(a.exp), _sign(b.exp)
        if sa != sb:
            return False  # one above 1, the other below
        if ra != rb:
            return False  # r^x = s^y with r, s not perfect powers and x, y nonzero forces r = s
        if isinstance(a.exp, int) and isinstance(b.exp, int):
            return ka * a.exp == kb * b.exp
        if ka == kb:
            inner = _tower_equal(a.exp, b.exp)
            return inner
        return None
    if isinstance(a, Tower) or isinstance(b, Tower):
        tower, other = (a, b) if isinstance(a, Tower) else (b, a)
        if isinstance(other, int):
            other = sp.Integer(other)
        if not isinstance(other, sp.Expr) or other.free_symbols:
            return None
        if other == 0:
            return False  # b^x with b > 1 is never 0
        size = other.evalf(30)
        if not size.is_number or size.has(sp.zoo, sp.nan):
            return None
        digits = sp.log(abs(size), 10).evalf(30)
        bound = MAX_RESULT_DIGITS * 0.9
        if _sign(tower.exp) > 0 and digits < bound or _sign(tower.exp) < 0 and digits > -bound:
            return False
        return None
    if isinstance(a, sp.Expr) and isinstance(b, sp.Expr):
        return exact.equal(a, b)
    return None


def _sign(exp) -> int:
    if isinstance(exp, Tower):
        return 1  # a tower (base > 1) is a huge positive number
    return 1 if exp > 0 else -1
