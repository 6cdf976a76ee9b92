r"""Adversarial grading: zero false positives on near misses, no missed equivalent rewrites.

The tables live in ``grading_adversarial.py`` (pure data, fixed seeds); this module checks
them against ``answers_equivalent`` and ``grade`` and adds hypothesis property tests with
random exact values and random perturbations / rewrites. Precision comes first: a single
True for a MUST_REJECT pair fails the suite, and every failing pair is listed by family.
"""
from __future__ import annotations

import math
import os
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from grading_adversarial import (
    MUST_ACCEPT,
    MUST_REJECT,
    PROSE_ACCEPT,
    PROSE_REJECT,
    _dec,
    _factored,
    _frac,
    _poly,
    _poly_coeffs,
    _sqrt_term,
    _squarefree_split,
    _terminates,
    _term,
)
from verifiers.grading import answers_equivalent, grade_batch

PROPERTY = settings(max_examples=60, deadline=None)
_THREADS = max(2, min(8, os.cpu_count() or 2))


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _short(s: str, limit: int = 110) -> str:
    return repr(s) if len(s) <= limit else repr(s[:limit]) + f"...({len(s)} chars)"


def _report(title: str, failures: list[tuple[str, str, str, object]]) -> str:
    by_family: dict[str, list] = defaultdict(list)
    for family, gold, pred, got in failures:
        by_family[family].append((gold, pred, got))
    lines = [f"{title}: {len(failures)} pair(s) in {len(by_family)} famil(ies)"]
    for family in sorted(by_family):
        lines.append(f"[{family}] {len(by_family[family])}")
        for gold, pred, got in by_family[family]:
            lines.append(f"    gold={_short(gold)}  pred={_short(pred)}  -> {got}")
    return "\n".join(lines)


def _equivalent(gold: str, pred: str):
    try:
        return answers_equivalent(gold, pred)
    except Exception as exc:  # noqa: BLE001 - a crash is reported with the pair, not raised
        return f"raised {type(exc).__name__}: {exc}"[:200]


def _verdicts(pairs: list[tuple[str, str, str]]) -> list[object]:
    with ThreadPoolExecutor(max_workers=_THREADS) as ex:
        return list(ex.map(lambda t: _equivalent(t[1], t[2]), pairs))


def _boxed(pred: str) -> str:
    return r"The answer is $\boxed{" + pred + "}$."


# --------------------------------------------------------------------------------------------
# table tests
# --------------------------------------------------------------------------------------------

def test_table_sizes():
    reject_families = Counter(f for f, _, _ in MUST_REJECT)
    accept_families = Counter(f for f, _, _ in MUST_ACCEPT)
    assert len(MUST_REJECT) >= 300 and len(reject_families) >= 12, reject_families
    assert len(MUST_ACCEPT) >= 100 and len(accept_families) >= 10, accept_families
    assert len(PROSE_ACCEPT) >= 10 and len(PROSE_REJECT) >= 10
    for table in (MUST_REJECT, MUST_ACCEPT, PROSE_ACCEPT, PROSE_REJECT):
        assert all(isinstance(x, str) and x.strip() for row in table for x in row)
    assert not {(g, p) for _, g, p in MUST_REJECT} & {(g, p) for _, g, p in MUST_ACCEPT}


def test_must_reject_never_equivalent():
    verdicts = _verdicts(MUST_REJECT)
    failures = [(f, g, p, v) for (f, g, p), v in zip(MUST_REJECT, verdicts) if v is True or isinstance(v, str)]
    assert not failures, _report("answers_equivalent(gold, pred) said True (false positive) or raised", failures)


def test_must_reject_never_graded_correct():
    results = grade_batch([(_boxed(p), g) for _, g, p in MUST_REJECT])
    failures = [(f, g, p, f"correct={r.correct} extracted={r.extracted!r} ({r.detail})")
                for (f, g, p), r in zip(MUST_REJECT, results) if r.correct is True]
    assert not failures, _report(r"grade('... \boxed{pred}', gold).correct is True (false positive)", failures)


def test_must_accept_equivalent():
    verdicts = _verdicts(MUST_ACCEPT)
    failures = [(f, g, p, v) for (f, g, p), v in zip(MUST_ACCEPT, verdicts) if v is not True]
    assert not failures, _report("answers_equivalent(gold, pred) is not True (missed accept)", failures)


def test_prose_reject_never_graded_correct():
    results = grade_batch([(resp, g) for _, g, resp in PROSE_REJECT])
    failures = [(f, g, resp, f"correct={r.correct} extracted={r.extracted!r}")
                for (f, g, resp), r in zip(PROSE_REJECT, results) if r.correct is True]
    assert not failures, _report("prose response with wrong numbers graded correct (false positive)", failures)


def test_prose_accept_graded_correct():
    results = grade_batch([(resp, g) for _, g, resp in PROSE_ACCEPT])
    failures = [(f, g, resp, f"correct={r.correct} extracted={r.extracted!r} status={r.status}")
                for (f, g, resp), r in zip(PROSE_ACCEPT, results) if r.correct is not True]
    assert not failures, _report("prose response with the right numbers not graded correct", failures)


# --------------------------------------------------------------------------------------------
# property tests: random exact values vs perturbations (must reject)
# --------------------------------------------------------------------------------------------

def _assert_rejected(gold: str, pred: str) -> None:
    verdict = _equivalent(gold, pred)
    assert verdict is not True and not isinstance(verdict, str), f"false positive: gold={gold!r} pred={pred!r} -> {verdict}"


def _assert_accepted(gold: str, pred: str) -> None:
    verdict = _equivalent(gold, pred)
    assert verdict is True, f"missed accept: gold={gold!r} pred={pred!r} -> {verdict}"


def _scaled(value: Fraction, k: int) -> Fraction:
    """value * (1 + 10^-k): a relative error far below any float tolerance when k is large."""
    return value * (10**k + 1) / 10**k


_NONZERO_INT = st.integers(-(10**30), 10**30).filter(lambda n: n != 0)
_K = st.integers(1, 40)


@PROPERTY
@given(n=_NONZERO_INT, how=st.sampled_from(["+1", "-1", "scale", "sign"]), k=_K)
def test_integer_perturbation_rejected(n, how, k):
    pred = {"+1": lambda: str(n + 1), "-1": lambda: str(n - 1), "sign": lambda: str(-n),
            "scale": lambda: _frac(_scaled(Fraction(n), k))}[how]()
    _assert_rejected(str(n), pred)


@PROPERTY
@given(p=st.integers(1, 10**6), q=st.integers(2, 10**6), neg=st.booleans(),
       how=st.sampled_from(["num+1", "num-1", "scale", "sign"]), k=_K)
def test_fraction_perturbation_rejected(p, q, neg, how, k):
    value = Fraction(p, q) * (-1 if neg else 1)
    assume(value.denominator > 1)
    num, den = value.numerator, value.denominator
    if how == "num+1":
        pred = _frac(Fraction(num + 1, den))
    elif how == "num-1":
        pred = _frac(Fraction(num - 1, den))
    elif how == "sign":
        pred = _frac(-value)
    else:
        pred = _frac(_scaled(value, k))
    _assert_rejected(_frac(value), pred)


_SQUAREFREE = st.integers(2, 300).filter(lambda b: _squarefree_split(b)[0] == 1)


@PROPERTY
@given(a=st.integers(1, 60), b=_SQUAREFREE, how=st.sampled_from(["coef", "radicand", "sign", "scale", "round"]),
       k=_K, places=st.integers(2, 4))
def test_surd_perturbation_rejected(a, b, how, k, places):
    gold = _sqrt_term(Fraction(a), b)
    if how == "coef":
        pred = _sqrt_term(Fraction(a + 1), b)
    elif how == "radicand":
        s, r = _squarefree_split(b + 1)  # a*sqrt(b+1) written in simplest form
        pred = _sqrt_term(Fraction(a * s), r)
    elif how == "sign":
        pred = _sqrt_term(Fraction(-a), b)
    elif how == "scale":
        pred = _sqrt_term(_scaled(Fraction(a), k), b)
    else:  # a short decimal approximation of an irrational number
        pred = f"{a * math.sqrt(b):.{places}f}"
    _assert_rejected(gold, pred)


@PROPERTY
@given(b=st.integers(2, 50), e=st.integers(2, 400), how=st.sampled_from(["+1", "-1", "exp+1", "sign", "scale", "int+1"]),
       k=_K)
def test_power_perturbation_rejected(b, e, how, k):
    gold = f"{b}^{{{e}}}"
    if how == "int+1":
        assume(e * math.log10(b) < 300)
        pred = str(b**e + 1)
    else:
        pred = {"+1": f"{b}^{{{e}}}+1", "-1": f"{b}^{{{e}}}-1", "exp+1": f"{b}^{{{e + 1}}}", "sign": f"-{b}^{{{e}}}",
                "scale": rf"\frac{{(10^{{{k}}}+1) \cdot {b}^{{{e}}}}}{{10^{{{k}}}}}"}[how]
    _assert_rejected(gold, pred)


# --------------------------------------------------------------------------------------------
# property tests: random equivalent rewrites (must accept)
# --------------------------------------------------------------------------------------------

@PROPERTY
@given(p=st.integers(-999, 999).filter(lambda n: n != 0), q=st.integers(2, 400), m=st.integers(1, 9),
       form=st.sampled_from(["reduced", "decimal", "slash", "scaled"]))
def test_fraction_rewrite_accepted(p, q, m, form):
    value = Fraction(p, q)
    gold = rf"{'-' if p < 0 else ''}\frac{{{abs(p)}}}{{{q}}}"  # as written, possibly unreduced
    if form == "decimal":
        assume(_terminates(value))
        pred = _dec(value)
    elif form == "slash":
        pred = f"{value.numerator}/{value.denominator}" if value.denominator > 1 else str(value.numerator)
    elif form == "scaled":
        pred = rf"{'-' if p < 0 else ''}\frac{{{abs(p) * m}}}{{{q * m}}}"
    else:
        pred = _frac(value)
    _assert_accepted(gold, pred)


@PROPERTY
@given(roots=st.lists(st.integers(-12, 12), min_size=1, max_size=3), lead=st.sampled_from([1, 1, 2, 3, -1, -2]),
       flip=st.booleans())
def test_polynomial_expanded_vs_factored_accepted(roots, lead, flip):
    factored, expanded = _factored(lead, roots), _poly(_poly_coeffs(lead, roots))
    assume(factored != expanded)
    gold, pred = (expanded, factored) if flip else (factored, expanded)
    _assert_accepted(gold, pred)


_TERM = st.one_of(
    st.integers(1, 99).map(str),
    st.tuples(st.integers(1, 20), st.integers(2, 20)).filter(lambda t: math.gcd(*t) == 1 and t[0] % t[1])
    .map(lambda t: _frac(Fraction(*t))),
    st.tuples(st.integers(1, 9), _SQUAREFREE).map(lambda t: _sqrt_term(Fraction(t[0]), t[1])),
    st.integers(1, 9).map(lambda c: _term(Fraction(c), r"\pi")),
    st.integers(1, 9).map(lambda c: _term(Fraction(c), "x")),
)


@PROPERTY
@given(a=_TERM, b=_TERM)
def test_sum_commutes_accepted(a, b):
    assume(a != b)
    _assert_accepted(f"{a}+{b}", f"{b}+{a}")
