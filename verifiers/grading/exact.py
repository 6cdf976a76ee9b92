"""Exact equality of sympy values: proven equal, proven different, or undecided.

Two exact values (integers, fractions, surds, pi, e, symbolic expressions) are equal only when
their difference is *proven* zero; there is no floating tolerance between exact values.

- Constants: sympy's adaptive ``evalf`` either returns a nonzero value with guaranteed
  precision (proof of inequality) or a precision-less zero; then algebraic numbers are
  settled by their minimal polynomial and the rest by symbolic simplification.
- Expressions in variables: evaluation at exact rational points proves inequality; equality
  is proven by ``cancel`` for rational functions and by ``simplify`` otherwise.
- Whatever none of these settles is ``None`` (undecided), never a guess either way.

The one tolerance, used only where a side is a *written* decimal (``0.333333``) against an
exact value: both rounded to 6 decimal places must agree, which is Math-Verify's default
(``float_rounding=6``) and never looser.
"""
from __future__ import annotations

import sympy as sp

from .normalize import written_places

DECIMAL_PLACES = 6  # Math-Verify's default float_rounding; never looser
_MIN_PROOF_BITS = 30  # a nonzero evalf result this precise proves the value nonzero
_POINTS = [sp.Rational(n, d) for n, d in ((7, 5), (13, 11), (23, 7), (5, 17), (31, 9), (2, 3), (41, 13))]


class Undecided(Exception):
    """The comparison cannot be settled exactly (too large, too deep, or not provable)."""


def _nonzero_by_evalf(d: sp.Expr) -> bool | None:
    """True: proven nonzero; False: evaluates to (precision-less) zero; None: not numeric."""
    try:
        v = d.evalf(30, maxn=120)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    if v.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or v.free_symbols:
        return None
    if v == 0:
        return False
    re, im = v.as_real_imag()
    for part in (re, im):
        if part.is_Float and part != 0 and part._prec >= _MIN_PROOF_BITS:
            return True
        if part.is_Rational and part != 0:
            return True
    return False


def constant_is_zero(d: sp.Expr) -> bool | None:
    """Is a constant expression exactly zero? None when it cannot be settled."""
    if d == 0:
        return True
    if d.is_Rational:
        return False
    if d.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return None
    nonzero = _nonzero_by_evalf(d)
    if nonzero:
        return False
    if nonzero is None:
        return None
    # Numerically zero to the available precision: prove it.
    try:
        if d.is_algebraic and not d.has(sp.pi, sp.E, sp.exp, sp.log):
            x = sp.Dummy("x")
            return sp.minimal_polynomial(d, x) == x
    except (NotImplementedError, ValueError, TypeError, sp.PolynomialError, RecursionError):
        pass
    try:
        if sp.simplify(d) == 0:
            return True
        verdict = d.equals(0)
    except (TypeError, ValueError, NotImplementedError, AttributeError, RecursionError):
        return None
    return verdict if verdict is True else None


def is_zero(d) -> bool | None:
    """Is ``d`` identically zero (for every value of its variables)? None when undecided."""
    if not isinstance(d, sp.Expr):
        return None
    if d == 0:
        return True
    free = sorted(d.free_symbols, key=str)
    if not free:
        return constant_is_zero(d)
    from sympy.core.function import AppliedUndef

    if d.atoms(AppliedUndef):
        return None
    for shift in range(4):
        point = {s: _POINTS[(i + shift) % len(_POINTS)] + i for i, s in enumerate(free)}
        try:
            value = d.xreplace(point)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if value.has(sp.zoo, sp.nan):
            continue
        if not value.free_symbols and _nonzero_by_evalf(value):
            return False  # a point where the two sides provably differ
    try:
        if d.is_rational_function(*free):
            return sp.cancel(sp.together(d)) == 0
        if d.has(sp.factorial, sp.binomial, sp.gamma) and sp.gammasimp(sp.expand_func(d)) == 0:
            return True
        if sp.simplify(d) == 0:
            return True
    except (TypeError, ValueError, NotImplementedError, AttributeError, sp.PolynomialError, RecursionError):
        return None
    return None


def equal(a, b) -> bool | None:
    """Exact equality of two sympy expressions."""
    if isinstance(a, sp.Basic) and a.has(sp.nan, sp.zoo) or isinstance(b, sp.Basic) and b.has(sp.nan, sp.zoo):
        return None  # 0/0 and infinity minus infinity are no value
    if a == b:
        return True
    if not isinstance(a, sp.Expr) or not isinstance(b, sp.Expr):
        return None
    if a.is_infinite or b.is_infinite:
        return bool(a == b)
    try:
        d = a - b
    except (TypeError, ValueError):
        return None
    return is_zero(d)


def rounds_to(exact: sp.Expr, written: sp.Rational, places: int = DECIMAL_PLACES) -> bool | None:
    """A written decimal with k places against an exact value: equal when k >= ``places`` and the exact
    value rounds to it at k places (0.333333 for 1/3). Tighter than Math-Verify, which rounds both
    sides to 6 places: a 5-place 0.31831 never stands for 1/pi."""
    if not written.is_Rational:
        return None
    if exact.is_Rational and exact == written:
        return True
    written_k = written_places(written)
    if written_k < places:
        return False
    places = written_k
    if exact.is_Rational:
        return _round(exact, places) == _round(written, places)
    try:
        v = exact.evalf(places + 30, maxn=600)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not v.is_Float or v._prec < 3.33 * (places + 10):
        return None
    if v.is_zero is None or not v.is_real:
        return False if v.is_real is False else None
    return _round(sp.Rational(v), places) == _round(written, places)


def _round(q: sp.Rational, places: int) -> sp.Rational:
    scaled = q * 10**places
    floor = sp.floor(scaled)
    frac = scaled - floor
    n = floor + (1 if frac > sp.Rational(1, 2) or (frac == sp.Rational(1, 2) and floor % 2) else 0)
    return sp.Rational(n, 10**places)
