"""Equivalence of two parsed answers (runs inside a bounded worker: it may call sympy freely).

Structures: answer lists and sets compare unordered, tuples and intervals ordered with their
brackets, matrices element-wise (a column vector equals the same tuple), relations by their
normalized difference, expressions numerically and then symbolically.
"""
from __future__ import annotations

import contextvars
import re

import sympy as sp

from . import exact
from .exact import Undecided
from .latex_parse import Matrix, Rel, Seq, SetOf, TooLarge, Tup, Union, parse_answer
from .latex_tokens import MAX_RESULT_DIGITS, Tower, collect_decimals, lazy_towers

_RNG_POINTS = [sp.Rational(n, d) for n, d in ((7, 5), (13, 11), (23, 7), (5, 17), (31, 9), (2, 3))]


def _is_symbol_like(e) -> bool:
    from sympy.core.function import AppliedUndef

    return isinstance(e, sp.Symbol) or isinstance(e, AppliedUndef)


def _is_label(e, colon: bool = False) -> bool:
    """A name on the left of '=' or ':' ("x", "f(n)", "AB", "(f(n), g(n))"); "Sequence 2" only before ':',
    so that '2 area = 8' is never read as a label."""
    if _is_symbol_like(e):
        return True
    if colon and isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0].is_Number \
            and isinstance(e.args[1], sp.Symbol) and len(e.args[1].name) >= 3:
        return True
    if isinstance(e, sp.Expr) and not isinstance(e, sp.Add) and e.free_symbols and not e.atoms(sp.Number) - {
            sp.Integer(-1)} and all(len(s.name) == 1 and s.name.isupper() for s in e.free_symbols) \
            and not e.could_extract_minus_sign() and not (isinstance(e, sp.Pow) and e.exp.is_negative):
        return True  # AB = 4, NO/BO = 1/sqrt(6), |AB| = 1: named lengths and ratios (not -A, not 1/A)
    return isinstance(e, Tup) and all(_is_symbol_like(x) for x in e.items)


def _strip_label(node):
    """'x = 5' / 'Paolo: 18' / 'f(x) = 2x' as a list item -> its value (lhs names a thing)."""
    if isinstance(node, Rel) and node.ops[0] in ("=", ":", "in") and _is_label(node.exprs[0], node.ops[0] == ":"):
        node = _single(node)
        if len(node.ops) == 1 and node.ops[0] in ("=", ":", "in"):
            return node.exprs[-1]
    return node


def _labels(node) -> dict | None:
    """{name: value} when every item is 'name = value' or 'name: value' with distinct names
    ('x', 'P(A)', 'Paolo'), or the node is '(x, y) = (1, 2)'."""
    if isinstance(node, Rel) and node.ops == ["="] and isinstance(node.exprs[0], Tup) and \
            isinstance(node.exprs[1], Tup) and len(node.exprs[0].items) == len(node.exprs[1].items) and \
            all(_is_symbol_like(x) for x in node.exprs[0].items):
        node = Seq([Rel([k, v], ["="]) for k, v in zip(node.exprs[0].items, node.exprs[1].items)])
    items = node.items if isinstance(node, (Seq, SetOf)) else [node]
    out = {}
    for item in items:
        if not (isinstance(item, Rel) and len(item.ops) == 1 and item.ops[0] in ("=", ":")
                and _is_symbol_like(item.exprs[0])) or item.exprs[0] in out:
            return None
        out[item.exprs[0]] = item.exprs[1]
    return out if len(out) >= 2 else None


def _letter(name) -> str:
    """A name for ordering checks: (k, \\ell) is in order, (y, x) is not."""
    return {"ell": "l"}.get(str(name), str(name))


def _labelled_match(g, p) -> bool | None:
    """'x=8, y=-16' against 'y=-16, x=8' by name; against an unlabelled '8, -16' or '(8, -16)' in the
    gold's order (another order is undecided); a tuple gold against labelled values in the order
    written. None when neither side is such a labelled list."""
    gl = _labels(g)
    if gl is None:
        pl = _labels(p)
        if pl is not None and isinstance(g, Tup) and g.left == "(" and len(g.items) == len(pl):
            if [_letter(k) for k in pl] != sorted(_letter(k) for k in pl):
                raise Undecided("labelled values in an order the gold's tuple may not share ((y, x) = ...)")
            return _ordered_equal(list(g.items), list(pl.values()))
        return None
    pl = _labels(p)
    if pl is not None:
        if set(pl) != set(gl):
            if not set(pl) & set(gl):
                raise Undecided("the answers name their parts differently")
            return False
        return _ordered_equal([gl[k] for k in gl], [pl[k] for k in gl])
    items = p.items if isinstance(p, Seq) else p.items if isinstance(p, Tup) and p.left == "(" else None
    if items and all(isinstance(x, Rel) and x.ops in (["="], [":"]) and _is_symbol_like(x.exprs[0]) for x in items):
        return False  # labelled, but not one value per gold name: 'x=1, x=2' against 'x=1, y=2'
    if not items or len(items) != len(gl) or any(isinstance(x, Rel) for x in items):
        return None
    if _ordered_equal(list(gl.values()), list(items)):
        return True
    if _unordered_equal(list(gl.values()), list(items)):
        raise Undecided("the values are right but listed in another order than the gold's names")
    return False


def _flatten(node) -> list:
    items = node.items if isinstance(node, (Seq, SetOf)) else [node]
    out = []
    for item in items:
        stripped = _strip_label(item)
        if len(items) == 1 and stripped is not item and isinstance(item.exprs[0], Tup) and isinstance(stripped, Tup) \
                and len(stripped.items) == len(item.exprs[0].items):
            out.extend(stripped.items)  # (f(n), g(n)) = (n, 1) names two answers
        elif isinstance(stripped, Seq):
            out.extend(_flatten(stripped))
        else:
            out.append(stripped)
    return out


# (float_rounding, values written as decimals in the gold, in the prediction) for this comparison
_PLACES: contextvars.ContextVar[tuple] = contextvars.ContextVar(
    "places", default=(exact.DECIMAL_PLACES, frozenset(), frozenset()))
_DECIMAL_RE = re.compile(r"^-?(?:\d+\.\d*|\.\d+)$")


def _written_decimal(text: str | None) -> bool:
    return bool(text) and bool(_DECIMAL_RE.match(text.strip()))


def _pair_equal(a, b, a_decimal: bool, b_decimal: bool) -> bool | None:
    """Exact equality, except a written decimal against an exact constant (rounded to 6 places)."""
    if a_decimal != b_decimal:
        exact_side, written = (b, a) if a_decimal else (a, b)
        if isinstance(written, sp.Expr) and written.is_Rational and isinstance(exact_side, sp.Expr) \
                and not exact_side.free_symbols:
            if exact_side.is_Rational and exact_side == written:
                return True
            return exact.rounds_to(exact_side, written, _PLACES.get()[0])
    return exact.equal(a, b)


def expr_equal(a, b, pred_text: str | None = None, percent: bool = False, degrees: bool = False,
               gold_text: str | None = None) -> bool:
    """Exact equality of two expressions; raises ``Undecided`` when it cannot be settled."""
    if not isinstance(a, sp.Basic) or not isinstance(b, sp.Basic):
        return False
    if a.has(sp.nan, sp.zoo) or b.has(sp.nan, sp.zoo):
        raise Undecided("an undefined value (0/0, infinity minus infinity)")
    if a == b:
        return True
    if not (isinstance(a, sp.Expr) and isinstance(b, sp.Expr)):
        return False
    _, gold_decimals, pred_decimals = _PLACES.get()
    gd = _written_decimal(gold_text) or a.is_Rational and a in gold_decimals and b not in gold_decimals
    pd = _written_decimal(pred_text) or b.is_Rational and b in pred_decimals and a not in pred_decimals
    candidates = [(a, b)]
    if percent == "gold":  # a gold of 50% against 0.5 or 50
        candidates.append((a, b * 100))
    elif percent == "pred":
        candidates.append((a * 100, b))
    if degrees and not (a.free_symbols or b.free_symbols):  # 30 degrees against pi/6
        candidates += [(a, b * sp.pi / 180), (a * sp.pi / 180, b)]
    undecided = False
    for x, y in candidates:
        verdict = _pair_equal(x, y, gd, pd)
        if verdict:
            return True
        undecided = undecided or verdict is None
    if undecided:
        raise Undecided("equality could not be proven or refuted")
    return False


def _point_values(d1, d2):
    """Exact values of d1, d2 at rational points where both are defined."""
    free = sorted(d1.free_symbols | d2.free_symbols, key=str)
    for shift in range(4):
        point = {s: _RNG_POINTS[(i + shift) % len(_RNG_POINTS)] + i for i, s in enumerate(free)}
        try:
            v1, v2 = d1.xreplace(point), d2.xreplace(point)
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if v1.has(sp.zoo, sp.nan) or v2.has(sp.zoo, sp.nan) or v1.free_symbols or v2.free_symbols:
            continue
        yield v1, v2


def _ratio_constant(d1, d2, positive: bool) -> bool:
    """d1 = c * d2 for one constant c (c > 0 when positive is set), proven exactly."""
    if not isinstance(d1, sp.Expr) or not isinstance(d2, sp.Expr):
        return False
    if d2 == 0:
        return d1 == 0
    for v1, v2 in _point_values(d1, d2):
        if exact.constant_is_zero(v2) is not False:
            continue
        c = v1 / v2
        if exact.constant_is_zero(c) is not False:
            return False
        if positive and not c.is_positive:
            return False if c.is_positive is False else _undecided("sign of the ratio")
        verdict = exact.is_zero(d1 - c * d2)
        if verdict is None:
            raise Undecided("relation could not be proven equivalent")
        return verdict
    raise Undecided("relation sides could not be evaluated")


def _undecided(what: str):
    raise Undecided(what)


_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}


def _relation_form(rel: Rel):
    """Single relation -> (op, difference) with op in {=, !=, >, >=}: lhs op rhs <=> diff op 0."""
    lhs, op, rhs = rel.exprs[0], rel.ops[0], rel.exprs[-1]
    if not isinstance(lhs, sp.Expr) or not isinstance(rhs, sp.Expr):
        return None
    if op in ("<", "<="):
        return _FLIP[op], rhs - lhs
    return op, lhs - rhs


def _as_interval(node):
    """'a <= x < b', 'x > 5', 'x in [a,b]' -> Tup interval form, else None."""
    if not isinstance(node, Rel):
        return None
    if node.ops == ["in"]:  # x in [a, b]; '-x in (2, oo)' or 'x^2 in [..]' is another set
        ok = isinstance(node.exprs[0], sp.Symbol) and isinstance(node.exprs[1], (Tup, Union))
        return node.exprs[1] if ok else None
    ex, ops = node.exprs, node.ops
    lower, upper = ("<", "<="), (">", ">=")
    if len(ops) == 2 and _is_symbol_like(ex[1]) and _constant(ex[0]) and _constant(ex[2]):
        if ops[0] in lower and ops[1] in lower:
            return Tup([ex[0], ex[2]], "(" if ops[0] == "<" else "[", ")" if ops[1] == "<" else "]")
        if ops[0] in upper and ops[1] in upper:
            return Tup([ex[2], ex[0]], "(" if ops[1] == ">" else "[", ")" if ops[0] == ">" else "]")
    if len(ops) == 1 and ops[0] in lower + upper:
        var, val, op = ex[0], ex[1], ops[0]
        if not isinstance(var, sp.Symbol):
            var, val, op = ex[1], ex[0], _FLIP[op]
        if isinstance(var, sp.Symbol) and _constant(val):
            if op in lower:
                return Tup([-sp.oo, val], "(", ")" if op == "<" else "]")
            return Tup([val, sp.oo], "(" if op == ">" else "[", ")")
    return None


_INEQUALITY = {"<": sp.StrictLessThan, "<=": sp.LessThan, ">": sp.StrictGreaterThan, ">=": sp.GreaterThan}


def _abs_inequality_set(rel: Rel):
    """'1 <= |z| <= 3/2' or '|x - 1| < 2': the real solution set, for one variable under |.|."""
    if not rel.ops or any(op not in _INEQUALITY for op in rel.ops) or len(rel.exprs) > 3:
        return None
    if not all(isinstance(e, sp.Expr) for e in rel.exprs) or not any(e.has(sp.Abs) for e in rel.exprs):
        return None
    free = set().union(*(e.free_symbols for e in rel.exprs))
    if len(free) != 1:
        return None
    var = next(iter(free))
    result = sp.Reals
    for lhs, op, rhs in zip(rel.exprs, rel.ops, rel.exprs[1:]):
        part = sp.solveset(_INEQUALITY[op](lhs, rhs), var, sp.Reals)
        if isinstance(part, sp.ConditionSet):
            return None
        result = sp.Intersection(result, part)
    return result


def _constant(e) -> bool:
    return isinstance(e, sp.Expr) and not e.free_symbols


def _to_set(node):
    """A sympy Set for interval-like answers (intervals, unions, inequalities, 'or' lists), else None."""
    if isinstance(node, Tup) and len(node.items) == 2 and all(_constant(x) for x in node.items):
        lo, hi = node.items
        if not (lo.is_real or lo.is_infinite) or not (hi.is_real or hi.is_infinite):
            return None
        if (hi - lo).is_nonpositive:
            return None  # (3, 1) is no interval: never read as the empty set
        return sp.Interval(lo, hi, node.left == "(", node.right == ")")
    if isinstance(node, SetOf) and all(_constant(x) for x in node.items):
        return sp.FiniteSet(*node.items)
    if isinstance(node, Union):
        parts = [_to_set(x) for x in node.parts]
        if any(x is None for x in parts):
            return None
        if node.op == "minus":
            return sp.Complement(parts[0], sp.Union(*parts[1:]))
        return sp.Union(*parts) if node.op == "cup" else sp.Intersection(*parts)
    if isinstance(node, Rel) and "and" in node.ops:  # x > 1 and x < 5: both hold
        k = node.ops.index("and")
        left, right = Rel(node.exprs[: k + 1], node.ops[:k]), Rel(node.exprs[k + 1 :], node.ops[k + 1 :])
        parts = [_to_set(x) if x.ops else None for x in (left, right)]
        return None if any(x is None for x in parts) else sp.Intersection(*parts)
    if isinstance(node, Rel):
        interval = _as_interval(node)
        if interval is not None:
            return _to_set(interval)
        abs_set = _abs_inequality_set(node)
        if abs_set is not None:
            return abs_set
        if len(node.ops) == 1 and node.ops[0] in ("=", "!=") and isinstance(node.exprs[0], sp.Symbol) \
                and _constant(node.exprs[1]):
            point = sp.FiniteSet(node.exprs[1])
            return point if node.ops[0] == "=" else sp.Complement(sp.Reals, point)
        return None
    if isinstance(node, Seq) and any(isinstance(x, Rel) for x in node.items):
        parts = [_to_set(x) for x in node.items]
        return None if any(x is None for x in parts) else sp.Union(*parts)
    return None


def _sets_equal(g, p) -> bool | None:
    """Compare as point sets when one side reads as a set of reals; None when that does not apply."""
    setlike = (Union, Rel)
    if not (isinstance(g, setlike) or isinstance(p, setlike) or _rel_seq(g) or _rel_seq(p)):
        return None
    gs, ps = _node_symbols(g), _node_symbols(p)
    if gs and ps and gs != ps:
        return None  # y' = 6 is not y = 6: as point sets the names would be lost
    sg, sp_ = _to_set(g), _to_set(p)
    if sg is None or sp_ is None:
        return None
    return bool(sg == sp_) or bool(sp.simplify(sp.SymmetricDifference(sg, sp_)) == sp.EmptySet)


def _rel_seq(node) -> bool:
    return isinstance(node, Seq) and any(isinstance(x, Rel) and x.ops[0] != "=" for x in node.items)


def values_equal(g, p, pred_text: str | None = None, percent: bool = False, degrees: bool = False) -> bool:
    if isinstance(g, sp.MatrixBase):
        g = Matrix(g.tolist())
    if isinstance(p, sp.MatrixBase):
        p = Matrix(p.tolist())
    if isinstance(g, Seq) and len(g.items) == 1:
        g = g.items[0]
    if isinstance(p, Seq) and len(p.items) == 1:
        p = p.items[0]
    if isinstance(g, Rel):
        g = _single(g)
    if isinstance(p, Rel):
        p = _single(p)
    if _order_chain(g) and isinstance(p, Seq):
        return _order_matches(g, p)
    as_sets = _sets_equal(g, p)
    if as_sets:
        return True
    # Collections: answer lists and sets are unordered.
    g_coll = isinstance(g, (Seq, SetOf))
    p_coll = isinstance(p, (Seq, SetOf))
    if g_coll or p_coll:
        if isinstance(g, SetOf) and isinstance(p, Tup) or isinstance(p, SetOf) and isinstance(g, Tup):
            return False  # {1,3} is not the ordered pair (3,1)
        by_name = _labelled_match(g, p)
        if by_name is not None:
            return by_name
        gi = _flatten(g) if g_coll else _flatten(Seq([g]))
        pi = _flatten(p) if p_coll else _flatten(Seq([p]))
        if len(pi) == 1 and isinstance(pi[0], Tup) and pi[0].left == "(" and isinstance(g, SetOf) or \
                len(gi) == 1 and isinstance(gi[0], Tup) and gi[0].left == "(" and isinstance(p, SetOf):
            return False  # a set is not a tuple, labelled or not
        if len(gi) == 1 and len(pi) == 1:
            return values_equal(gi[0], pi[0], pred_text, percent, degrees)
        if len(gi) != len(pi):
            # "(1, 2)" against the list "1, 2": a parenthesised pair may list the answers, in its order.
            if len(gi) == 1 and isinstance(gi[0], Tup) and gi[0].left == "(" and gi[0].right == ")":
                return _ordered_equal(gi[0].items, pi, degrees)
            if len(pi) == 1 and isinstance(pi[0], Tup) and pi[0].left == "(" and pi[0].right == ")":
                return _ordered_equal(gi, pi[0].items, degrees)
        return _unordered_equal(gi, pi, degrees)
    if isinstance(g, Rel) or isinstance(p, Rel):
        return _relation_equal(g, p, pred_text, percent, degrees)
    if isinstance(g, Tup) and isinstance(p, Tup):
        return (g.left, g.right) == (p.left, p.right) and _ordered_equal(g.items, p.items, degrees)
    if isinstance(g, Matrix) or isinstance(p, Matrix):
        return _matrix_equal(g, p)
    if isinstance(g, Union) or isinstance(p, Union):
        if isinstance(g, Union) and isinstance(p, Union) and g.op == p.op:
            return _unordered_equal(g.parts, p.parts)
        return False
    if isinstance(g, Tup) or isinstance(p, Tup):
        return False
    return expr_equal(g, p, pred_text, percent, degrees)


def _order_chain(node) -> bool:
    """'b < a < d < c': an ordering of named quantities (3+ symbols, one strict direction)."""
    return isinstance(node, Rel) and len(node.exprs) >= 3 and len(set(node.ops)) == 1 and node.ops[0] in ("<", ">") \
        and all(isinstance(e, sp.Symbol) for e in node.exprs)


def _order_matches(chain: Rel, listed: Seq) -> bool:
    """The chain's names listed in the order written; listed backwards is ambiguous (undecided)."""
    names = list(listed.items)
    if len(names) != len(chain.exprs) or not all(isinstance(x, sp.Symbol) for x in names):
        return False
    if names == chain.exprs:
        return True
    if names == chain.exprs[::-1]:
        raise Undecided("the ordering is listed in the other direction")
    return False


def _relation_equal(g, p, pred_text, percent, degrees) -> bool:
    if isinstance(g, Rel) and "and" in g.ops or isinstance(p, Rel) and "and" in p.ops:
        raise Undecided("a conjunction of relations that is not a set of reals")
    if isinstance(g, Rel) and isinstance(p, Rel):
        if g.ops[0] == "=" and p.ops[0] == "=" and len(g.ops) == 1 and len(p.ops) == 1:
            gl, pl = g.exprs[0], p.exprs[0]
            if _is_label(gl) and _is_label(pl):
                return _same_name(gl, pl) and _rhs_equal(gl, g.exprs[1], pl, p.exprs[1], pred_text, percent)
            fg, fp = _relation_form(g), _relation_form(p)
            return bool(fg and fp) and _ratio_constant(fg[1], fp[1], positive=False)
        if g.ops[0] in ("in", ":") or p.ops[0] in ("in", ":"):
            return g.ops == p.ops and _ordered_equal(g.exprs, p.exprs, degrees)
        if len(g.ops) != 1 or len(p.ops) != 1:
            return g.ops == p.ops and _ordered_equal(g.exprs, p.exprs, degrees)
        fg, fp = _relation_form(g), _relation_form(p)
        if not fg or not fp or fg[0] != fp[0]:
            return False
        return _ratio_constant(fg[1], fp[1], positive=fg[0] not in ("!=", "="))
    # One side is a relation, the other a value: 'x = 5' vs '5', 'y + 1 = 2x' vs '2x - 1'.
    rel, val, rel_is_gold = (g, p, True) if isinstance(g, Rel) else (p, g, False)
    if rel.ops[0] in ("=", ":", "in") and _is_label(rel.exprs[0]):
        names = [_letter(x) for x in rel.exprs[0].items] if isinstance(rel.exprs[0], Tup) else None
        if names and names != sorted(names) and isinstance(val, Tup):
            raise Undecided("labelled values in an order the other tuple may not share ((y, x) = ...)")
        value = rel.exprs[-1] if len(rel.ops) == 1 else Rel(rel.exprs[1:], rel.ops[1:])
        return values_equal(value, val, pred_text, percent, degrees) if rel_is_gold \
            else values_equal(val, value, pred_text, percent, degrees)
    if rel.ops == ["="] and isinstance(val, sp.Expr) and val.free_symbols \
            and all(isinstance(x, sp.Expr) for x in rel.exprs):
        # 'y + 1 = 2x' against '2x - 1'; an equation against a constant ('x + 3 = 8' for 5) commits to nothing
        extra = (rel.exprs[0].free_symbols | rel.exprs[1].free_symbols) - val.free_symbols
        if len(extra) == 1:  # the equation defines the one variable the value leaves out
            solutions = sp.solve(sp.Eq(rel.exprs[0], rel.exprs[1]), next(iter(extra)))
            return len(solutions) == 1 and expr_equal(solutions[0], val)
    return False


def _single(rel: Rel):
    """A chain 'x = 5+5+1 = 11' keeps its first and last sides; '... = 1/3 approx 0.33' drops the estimate.

    As in Math-Verify, the last value of a chain of evaluations is the committed one ('x = 5+5+1 = 7 = 11'
    is 11) and an estimate after the exact value is not part of the answer ('x = 1/3 \\approx 1.3' is 1/3)."""
    if "approx" in rel.ops:
        k = rel.ops.index("approx")
        if k == 0 and _is_label(rel.exprs[0]):
            rel = Rel(rel.exprs, ["="] + rel.ops[1:])
            if "approx" in rel.ops:
                k = rel.ops.index("approx")
                rel = Rel(rel.exprs[: k + 1], rel.ops[:k])
        elif k == 0:
            return rel.exprs[0]
        else:
            rel = Rel(rel.exprs[: k + 1], rel.ops[:k])
    if len(rel.ops) == 1 and rel.ops[0] == ":" and _is_ratio(rel):
        return rel.exprs[0] / rel.exprs[1]
    if all(op == "=" for op in rel.ops) and _constant(rel.exprs[0]) and _constant(rel.exprs[-1]):
        return rel.exprs[-1]  # "1/2 = 10/9" written as a chain of evaluations: the last value
    if len(rel.ops) > 1 and all(op == "=" for op in rel.ops):
        return Rel([rel.exprs[0], rel.exprs[-1]], ["="])
    return rel


def _is_ratio(rel: Rel) -> bool:
    a, b = rel.exprs
    return (isinstance(a, sp.Expr) and isinstance(b, sp.Expr) and a.is_number and b.is_number and b != 0
            and not _is_label(a))


def _same_name(a, b) -> bool:
    if isinstance(a, sp.Symbol) and isinstance(b, sp.Symbol):
        return a == b
    from sympy.core.function import AppliedUndef

    if isinstance(a, AppliedUndef) and isinstance(b, AppliedUndef):
        return a.func == b.func  # f(x) names the same thing as f(t)
    return a == b  # AB is not AC


def _rhs_equal(gl, gr, pl, pr, pred_text, percent) -> bool:
    """f(x) = 2x vs f(t) = 2t: rename the function's arguments before comparing."""
    if not isinstance(gl, sp.Symbol) and not isinstance(pl, sp.Symbol):
        if len(gl.args) != len(pl.args):
            return False
        mapping = {pa: ga for pa, ga in zip(pl.args, gl.args) if isinstance(pa, sp.Symbol)}
        if isinstance(pr, sp.Basic):
            captured = {ga for pa, ga in mapping.items() if pa != ga} & _node_symbols(pr)
            if captured:
                return False  # f(t) = 6x^2 is constant in t: renaming t to x would change it
            pr = pr.xreplace(mapping)
    return values_equal(gr, pr, pred_text, percent)


def _try_equal(x, y, degrees: bool) -> bool | None:
    try:
        return values_equal(x, y, degrees=degrees)
    except Undecided:
        return None


def _ordered_equal(a: list, b: list, degrees: bool = False) -> bool:
    if len(a) != len(b):
        return False
    undecided = False
    for x, y in zip(a, b):
        verdict = _try_equal(x, y, degrees)
        if verdict is False:
            return False  # one component proven different: the whole differs
        undecided = undecided or verdict is None
    if undecided:
        raise Undecided("a component could not be decided")
    return True


def _dedupe(items: list, degrees: bool) -> list:
    out = []
    for x in items:
        if not any(_try_equal(x, y, degrees) for y in out):
            out.append(x)
    return out


def _unordered_equal(a: list, b: list, degrees: bool = False) -> bool:
    if len(a) != len(b) and len(a) <= 40 and len(b) <= 40 and len(_dedupe(a, degrees)) == len(a):
        b = _dedupe(b, degrees)  # a repeated solution is still the same set (a gold's repeats are multiplicities)
    if len(a) != len(b):
        return False
    remaining, undecided = list(b), False
    for x in a:
        for k, y in enumerate(remaining):
            verdict = _try_equal(x, y, degrees)
            if verdict:
                del remaining[k]
                break
            undecided = undecided or verdict is None
        else:
            if undecided:
                raise Undecided("an element could not be matched or ruled out")
            return False
    return True


def _matrix_equal(g, p) -> bool:
    def cells(node):
        if isinstance(node, Matrix):
            return node.rows
        if isinstance(node, Tup) and node.left == "(":
            return [[x] for x in node.items]
        return None

    a, b = cells(g), cells(p)
    if a is None or b is None:
        return False
    if isinstance(g, Tup) or isinstance(p, Tup):  # a tuple equals a row or a column vector
        a = [x for row in a for x in row] if len(a) == 1 or len(a[0]) == 1 else None
        b = [x for row in b for x in row] if b and (len(b) == 1 or len(b[0]) == 1) else None
        return a is not None and b is not None and _ordered_equal(a, b)
    return len(a) == len(b) and all(_ordered_equal(r, s) for r, s in zip(a, b))


def _compare_nodes(g, p, pred_text, percent, degrees, gold_text):
    if isinstance(g, sp.Expr) and isinstance(p, sp.Expr) and not isinstance(g, sp.MatrixBase) \
            and not isinstance(p, sp.MatrixBase):
        return expr_equal(g, p, pred_text, percent, degrees, gold_text)
    return values_equal(g, p, pred_text, percent, degrees)


# Names an answer gives an arbitrary integer or constant ("x = k\pi" vs "n\pi", "2C x" vs "2c x").
_PARAMETER_NAMES = {"k", "n", "m", "t", "c", "C", "K", "N", "M", "ell", "l", "j"}


def _node_symbols(node) -> set:
    if isinstance(node, sp.Basic):
        return set(node.free_symbols)
    parts = getattr(node, "items", None) or getattr(node, "exprs", None) or getattr(node, "parts", None)
    if parts is None and isinstance(node, Matrix):
        parts = [x for row in node.rows for x in row]
    return set().union(*(_node_symbols(x) for x in parts)) if parts else set()


def _substitute(node, mapping):
    if isinstance(node, sp.Basic):
        return node.xreplace(mapping)
    if isinstance(node, (Seq, SetOf)):
        return type(node)([_substitute(x, mapping) for x in node.items])
    if isinstance(node, Tup):
        return Tup([_substitute(x, mapping) for x in node.items], node.left, node.right)
    if isinstance(node, Rel):
        return Rel([_substitute(x, mapping) for x in node.exprs], node.ops)
    if isinstance(node, Union):
        return Union([_substitute(x, mapping) for x in node.parts], node.op)
    if isinstance(node, Matrix):
        return Matrix([[_substitute(x, mapping) for x in row] for row in node.rows])
    return node


def _value_of(node):
    if isinstance(node, Rel) and len(node.ops) == 1 and node.ops[0] == "=" and _is_label(node.exprs[0]):
        return node.exprs[-1]
    return node


def _rename_parameter(g, p, declared: set = frozenset()):
    """The prediction with its one free parameter renamed to the gold's, when each side has exactly
    one parameter-like name the other lacks (k vs n, C vs c); otherwise None."""
    gv, pv = _value_of(g), _value_of(p)
    if isinstance(gv, sp.Symbol) or isinstance(pv, sp.Symbol):
        return None  # a bare name against another name: nothing but the name to compare
    gs, ps = _node_symbols(gv), _node_symbols(pv)
    only_g, only_p = gs - ps, ps - gs
    if len(only_g) != 1 or len(only_p) != 1:
        return None
    (a,), (b,) = only_g, only_p
    if not (str(a) in _PARAMETER_NAMES and str(b) in _PARAMETER_NAMES or str(a) in declared or str(b) in declared):
        return None  # a name declared arbitrary ("for some integer t") may stand for any other
    return _substitute(p, {b: a})


_TIME_RE = re.compile(r"^\d{1,2}:\d{2}$")


def _ends_in_unknown(node) -> bool:
    """'4 + 4 = X', '7 + 1 = y': an equation whose last side is a bare unknown commits to no value."""
    return isinstance(node, Rel) and node.ops[-1] == "=" and _is_symbol_like(node.exprs[-1]) \
        and not _is_label(node.exprs[0])


def compare_texts(gold: str, pred: str, gold_percent: bool = False, pred_percent: bool = False,
                  degrees: bool = False, places: int = exact.DECIMAL_PLACES,
                  parameters: tuple[str, ...] = ()) -> tuple[bool | None, str]:
    """Entry point used by the worker: normalized strings in, (verdict, detail) out.

    The verdict is None when the comparison cannot be settled exactly (values too large to
    build, equalities that cannot be proven or refuted, text the grammar does not cover).
    """
    try:
        with collect_decimals() as gold_decimals:
            g = parse_answer(gold)
    except TooLarge as exc:
        return _huge(gold, pred, f"gold too large ({exc})")
    except ValueError as exc:
        return _as_text(gold, pred, f"gold not parsed ({exc})")
    try:
        with collect_decimals() as pred_decimals:
            p = parse_answer(pred)
    except TooLarge as exc:
        return _huge(gold, pred, f"prediction too large ({exc})")
    except ValueError as exc:
        return _as_text(gold, pred, f"prediction not parsed ({exc})")
    if _TIME_RE.match(gold.strip()) and _loose_text(gold) != _loose_text(pred):
        return None, "undecided: h:mm may be a time of day or a ratio"
    if _ends_in_unknown(p) and not isinstance(g, Rel):
        return False, "the equation ends in an unknown: no value committed"
    pred_text = pred if not isinstance(p, (Seq, Tup, SetOf, Rel)) else None
    percent = True if gold_percent and pred_percent else "gold" if gold_percent else "pred" if pred_percent else False
    token = _PLACES.set((places, frozenset(gold_decimals), frozenset(pred_decimals)))
    try:
        g = _single(g) if isinstance(g, Rel) else g
        p = _single(p) if isinstance(p, Rel) else p
        try:
            verdict, why = _compare_nodes(g, p, pred_text, percent, degrees, gold), None
        except Undecided as exc:
            verdict, why = None, exc
        if verdict is not True:
            renamed = _rename_parameter(g, p, set(parameters))
            try:
                if renamed is not None and _compare_nodes(g, renamed, None, percent, degrees, gold) is True:
                    return True, "compared after renaming the free parameter"
            except Undecided:
                pass
        if why is not None:
            raise why
        return verdict, "compared"
    except TooLarge as exc:
        return None, f"undecided: too large ({exc})"
    except Undecided as exc:
        return None, f"undecided: {exc}"
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, NotImplementedError, RecursionError) as exc:
        return None, f"comparison failed: {type(exc).__name__}"
    finally:
        _PLACES.reset(token)


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


def _as_text(gold: str, pred: str, why: str) -> tuple[bool | None, str]:
    """Outside the grammar: the same text is the same answer; anything else is undecided."""
    if _loose_text(gold) == _loose_text(pred) and _loose_text(gold):
        return True, f"{why}; same text"
    return None, f"undecided: {why}"


def _loose_text(s: str) -> str:
    """Text outside the grammar, compared as written: case, '|' and '#' kept; a space between two
    word characters kept ('1 2' is not '12'); other spaces and x^{2}/x^2 braces dropped."""
    s = re.sub(r"([\^_])\{\s*(\w)\s*\}", r"\1\2", s)
    s = re.sub(r"\s+", " ", s.strip())
    return re.sub(r"(?<!\w) | (?!\w)", "", s)
